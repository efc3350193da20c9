"""Pretraining entry point.

  python -m experiments.pretrain --config=configs/pretrain/clm.py:tiny --workdir=DIR [--config.a.b=v ...]

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

from absl import logging

from experiments import cli
from lm.training import pretrain

_CONFIG, _WORKDIR = cli.define_run_flags("configs/pretrain/clm.py:tiny")


def main(argv):
  del argv
  with cli.reported():
    result = pretrain.run(_CONFIG.value, _WORKDIR.value)
  cli.exit_if_preempted(result)
  logging.info("Done at step %d. Last eval: %s", result.step, result.last_eval)


if __name__ == "__main__":
  cli.run(main)
