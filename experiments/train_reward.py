"""Reward-model entry point: a scalar head on an SFT decoder, trained on preference pairs (Bradley-Terry).

  python -m experiments.train_reward --config=configs/rlhf/reward.py:tiny --workdir=DIR \
      --config.init_from=SFT_DIR [--config.task_options.centring=0.01] [--config.a.b=v ...]

The reward model is the fine-tuning task `reward` (lm/training/rewards.py), so this is
`experiments.finetune` under the name people look for. Re-running the same command on the same DIR
resumes from its latest checkpoint.
"""

from __future__ import annotations

from experiments import cli
from experiments.finetune import main

if __name__ == "__main__":
  cli.run(main)
