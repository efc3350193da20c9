"""Best-of-n against the SFT policy and the SFT policy's pass@k (lm/rl/best_of_n.py).

  python -m experiments.best_of_n --config=configs/rlhf/best_of_n.py:tiny --workdir=DIR \
      --config.policy_from=SFT_DIR [--config.reward_from=RM_DIR] [--config.bon.n=16 --config.bon.prompts=256]

Writes DIR/results.json (best-of-n win rates with standard errors, pass@k per family) and DIR/best_of_n.png.
"""

from __future__ import annotations

from experiments import cli
from lm.rl import best_of_n

_CONFIG, _WORKDIR = cli.define_run_flags("configs/rlhf/best_of_n.py:tiny")


def main(argv):
  del argv
  with cli.reported():
    results = best_of_n.run(_CONFIG.value, _WORKDIR.value)
  for name, figure in results["headline"].items():
    print(f"{name}: {figure['value']:.3f} ± {figure['stderr']:.3f}")
  print("pass@k (all prompts): " + ", ".join(f"{k}={v:.3f}" for k, v in results["pass_at_k"]["all"].items()
                                             if k != "n"))


if __name__ == "__main__":
  cli.run(main)
