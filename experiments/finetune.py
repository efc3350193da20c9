"""Fine-tuning entry point: instruction tuning, sentiment, NER or translation, from scratch or a pretrained run.

  python -m experiments.finetune --config=configs/finetune/sentiment.py:tiny --workdir=DIR \
      [--config.init_from=PRETRAIN_DIR] [--config.data.train_examples=200] [--config.a.b=v ...]

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import cli
from lm.training import finetune

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/finetune/sentiment.py:tiny.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: config.json, metrics.jsonl, checkpoints/.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  cli.quiet_library_logs()
  with cli.reported():
    result = finetune.run(_CONFIG.value, _WORKDIR.value)
  if result.loop.preempted:
    logging.warning("Preempted at step %d; re-run the same command to resume.", result.loop.step)
    sys.exit(143)
  print(f"Done at step {result.loop.step} in {result.seconds:.0f} s. Test: " +
        ", ".join(f"{k}={v:.4g}" for k, v in result.test.items()))


if __name__ == "__main__":
  app.run(main)
