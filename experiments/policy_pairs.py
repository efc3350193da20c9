"""Preference pairs from the SFT policy's own samples, labelled by the noisy gold preference (lm/rl/policy_pairs.py).

  python -m experiments.policy_pairs --config=configs/rlhf/pairs.py:tiny --workdir=DIR --config.policy_from=SFT_DIR

Writes DIR/{train,validation,test}.jsonl (files/preferences rows) and DIR/results.json.
"""

from __future__ import annotations

from experiments import cli
from lm.rl import policy_pairs

_CONFIG, _WORKDIR = cli.define_run_flags("configs/rlhf/pairs.py:tiny")


def main(argv):
  del argv
  with cli.reported():
    results = policy_pairs.run(_CONFIG.value, _WORKDIR.value)
  for split, figures in results["splits"].items():
    print(f"{split}: " + ", ".join(f"{k}={v:.3g}" for k, v in figures.items()))


if __name__ == "__main__":
  cli.run(main)
