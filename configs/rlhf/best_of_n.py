"""Best-of-n from the SFT policy, chosen by the reward model and by gold; and the SFT policy's pass@k.

  python -m experiments.best_of_n --config=configs/rlhf/best_of_n.py:tiny --workdir=/tmp/bon \
      --config.policy_from=/tmp/sft --config.reward_from=/tmp/rm

The reference curve for any RLHF result (lm/rl/best_of_n.py): no training, only sampling and scoring. Prompts,
sampling and the held-out judgement are PPO's (configs/rlhf/ppo.py), so the win rates compare directly with a PPO
run's test figures when `bon.prompts` equals its `heldout.prompts`.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:

  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"ppo.py:{preset}"))
  c.reward_from = ""                  # optional here: without one, only the choice by gold
  c.bon = ml_collections.ConfigDict()
  c.bon.prompts = 256                 # held-out test prompts (the protocol: at least 256)
  c.bon.n = 16                        # samples per prompt
  c.bon.ns = "1,2,4,8,16"             # best of the first n, for each of these n
  c.bon.pass_k = "1,4,16"             # pass@k of the SFT policy, per instruction family
  return c
