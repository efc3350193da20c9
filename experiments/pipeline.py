"""The whole pipeline in one command: pretraining -> instruction tuning -> reward model -> PPO (and GRPO, DPO).

  python -m experiments.pipeline --config=configs/pipeline/tiny.py --workdir=DIR [--config.stages=...]

Each stage gets DIR/<stage>; finished stages are skipped, interrupted ones resume. Ends with a
table of every stage's headline figures (DIR/summary.md).
"""

from __future__ import annotations

from experiments import cli
from lm.training import stages

_CONFIG, _WORKDIR = cli.define_run_flags("configs/pipeline/tiny.py")


def main(argv):
  del argv
  with cli.reported():
    stages.run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
  cli.run(main)
