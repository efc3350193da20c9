"""Pretraining entry point.

  python -m experiments.pretrain --config=configs/pretrain/clm.py:tiny --workdir=DIR [--config.a.b=v ...]

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import cli
from lm.training import pretrain

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/pretrain/clm.py:tiny.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: config.json, metrics.jsonl, checkpoints/.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  cli.quiet_library_logs()
  with cli.reported():
    result = pretrain.run(_CONFIG.value, _WORKDIR.value)
  if result.preempted:
    logging.warning("Preempted at step %d; re-run the same command to resume.", result.step)
    sys.exit(143)
  logging.info("Done at step %d. Last eval: %s", result.step, result.last_eval)


if __name__ == "__main__":
  app.run(main)
