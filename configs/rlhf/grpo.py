"""Critic-free RLHF: GRPO (group-normalised rewards, KL in the loss), or RLOO with `:rloo`.

  python -m experiments.rlhf --config=configs/rlhf/grpo.py:tiny --workdir=/tmp/grpo \
      --config.policy_from=/tmp/sft --config.reward_from=/tmp/rm
  python -m experiments.rlhf --config=configs/rlhf/grpo.py:rloo ...

Each prompt gets rollout.samples_per_prompt responses. GRPO's advantage is a response's reward
minus its group's mean, over the group's standard deviation, and the loss adds kl.coef x KL (k3).
RLOO's is the reward (less kl.coef x KL, in the reward) minus the mean of the group's other rewards.
No critic: nothing but the policy is trained. Everything else is as in configs/rlhf/ppo.py.
"""

import os

from lm import settings


def get_config(preset: str = "tiny"):
  variant = "rloo" if preset == "rloo" else "grpo"
  c = settings.load_config(os.path.join(os.path.dirname(__file__), "ppo.py:tiny"))
  c.algorithm = variant
  c.critic.kind = "none"
  c.rollout.prompts = 16
  c.rollout.samples_per_prompt = 4    # 64 responses per iteration, as PPO's tiny preset
  if variant == "grpo":
    c.kl.in_loss, c.kl.estimator, c.kl.coef = True, "k3", 0.05
  return c
