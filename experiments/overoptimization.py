"""The over-optimisation figure of several RL runs (e.g. PPO at three KL coefficients), best-of-n beside them.

  python -m experiments.overoptimization --runs=RUN,RUN,RUN [--best_of_n=BON_DIR] --out=DIR

Writes DIR/overoptimization_kl.png and DIR/overoptimization_sqrt_kl.png: the gold and reward-model scores' gains
over the SFT policy and the gold win rate, on held-out validation prompts over training, against KL and sqrt(KL)
(lm/rl/overoptimization.py). Each RUN is an experiments.rlhf work dir; BON_DIR an experiments.best_of_n one.
"""

from __future__ import annotations

import os

from absl import flags

from experiments import cli
from lm import settings
from lm.rl import best_of_n, overoptimization

_RUNS = flags.DEFINE_list("runs", None, "Work dirs of experiments.rlhf runs.", required=True)
_BON = flags.DEFINE_string("best_of_n", "", "Work dir of an experiments.best_of_n run (optional).")
_OUT = flags.DEFINE_string("out", None, "Directory for the figures.", required=True)


def main(argv):
  del argv
  runs = overoptimization.collect(_RUNS.value)
  table = None
  if _BON.value:
    table = settings.load_json(os.path.join(_BON.value, best_of_n.RESULTS_FILE))["best_of_n"]
  os.makedirs(_OUT.value, exist_ok=True)
  for name, sqrt_kl in (("overoptimization_kl.png", False), ("overoptimization_sqrt_kl.png", True)):
    path = os.path.join(_OUT.value, name)
    overoptimization.figure(path, runs, table, sqrt_kl=sqrt_kl)
    print(path)
  for name, rows in runs.items():
    peak = max(rows, key=lambda r: r["gold_score"] - r["sft_gold_score"])
    last = rows[-1]
    print(f"{name}: gold gain peaks at {peak['gold_score'] - peak['sft_gold_score']:+.3f} (KL {peak['kl']:.2f}, "
          f"step {peak['step']}); at the end {last['gold_score'] - last['sft_gold_score']:+.3f} (KL {last['kl']:.2f}), "
          f"reward-model gain {last.get('rm_score', float('nan')) - last.get('sft_rm_score', float('nan')):+.3f}")


if __name__ == "__main__":
  cli.run(main)
