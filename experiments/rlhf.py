"""RLHF entry point: PPO, GRPO or RLOO from an SFT run and a reward model; or DPO from the SFT run and pairs.

  python -m experiments.rlhf --config=configs/rlhf/ppo.py:tiny --workdir=DIR \
      --config.policy_from=SFT_DIR --config.reward_from=RM_DIR [--config.kl.adaptive=True] [--config.a.b=v ...]
  python -m experiments.rlhf --config=configs/rlhf/grpo.py:tiny ...   (:rloo for RLOO)
  python -m experiments.rlhf --config=configs/rlhf/dpo.py:tiny --workdir=DIR --config.policy_from=SFT_DIR

Re-running the same command on the same DIR resumes from its latest checkpoint.
"""

from __future__ import annotations

from experiments import cli
from lm.rl import dpo, train

_CONFIG, _WORKDIR = cli.define_run_flags("configs/rlhf/ppo.py:tiny")


def main(argv):
  del argv
  with cli.reported():
    run = dpo.run if _CONFIG.value.algorithm == "dpo" else train.run
    result = run(_CONFIG.value, _WORKDIR.value)
  cli.exit_if_preempted(result.loop)
  print(f"Done at step {result.loop.step} in {result.seconds:.0f} s. Test: " +
        ", ".join(f"{k}={v:.4g}" for k, v in result.test.items()))


if __name__ == "__main__":
  cli.run(main)
