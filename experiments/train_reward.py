"""Reward-model entry point: a scalar head on an SFT decoder, trained on preference pairs (Bradley-Terry).

  python -m experiments.train_reward --config=configs/rlhf/reward.py:tiny --workdir=DIR \
      --config.init_from=SFT_DIR [--config.task_options.centring=0.01] [--config.a.b=v ...]

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

from absl import app

from experiments import cli
from lm.training import finetune

_CONFIG, _WORKDIR = cli.define_run_flags("configs/rlhf/reward.py:tiny")


def main(argv):
  del argv
  cli.quiet_library_logs()
  with cli.reported():
    result = finetune.run(_CONFIG.value, _WORKDIR.value)
  cli.exit_if_preempted(result.loop)
  print(f"Done at step {result.loop.step} in {result.seconds:.0f} s. Test: " +
        ", ".join(f"{k}={v:.4g}" for k, v in result.test.items()))


if __name__ == "__main__":
  app.run(main)
