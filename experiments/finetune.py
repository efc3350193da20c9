"""Fine-tuning entry point: instruction tuning, sentiment, NER or translation, from scratch or a pretrained run.

  python -m experiments.finetune --config=configs/finetune/sentiment.py:tiny --workdir=DIR \
      [--config.init_from=PRETRAIN_DIR] [--config.data.train_examples=200] [--config.a.b=v ...]

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

from experiments import cli
from lm.training import finetune

_CONFIG, _WORKDIR = cli.define_run_flags("configs/finetune/sentiment.py:tiny")


def main(argv):
  del argv
  with cli.reported():
    result = finetune.run(_CONFIG.value, _WORKDIR.value)
  cli.exit_if_preempted(result.loop)
  print(f"Done at step {result.loop.step} in {result.seconds:.0f} s. Test: " +
        ", ".join(f"{k}={v:.4g}" for k, v in result.test.items()))


if __name__ == "__main__":
  cli.run(main)
