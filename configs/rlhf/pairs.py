"""Preference pairs from the SFT policy's own samples, labelled by the noisy gold preference (lm/rl/policy_pairs.py).

  python -m experiments.policy_pairs --config=configs/rlhf/pairs.py:tiny --workdir=/tmp/pairs \
      --config.policy_from=/tmp/sft
  python -m experiments.train_reward --config=configs/rlhf/reward.py:tiny --workdir=/tmp/rm \
      --config.init_from=/tmp/sft --config.data.dataset=files/preferences --config.task_options.gold_judge=True \
      --config.data.files.train=/tmp/pairs/train.jsonl --config.data.files.validation=/tmp/pairs/validation.jsonl \
      --config.data.files.test=/tmp/pairs/test.jsonl

Sampling is PPO's (configs/rlhf/ppo.py: temperature, lengths), so the pairs are responses of the kind RL starts from.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"ppo.py:{preset}"))
  c.reward_from = ""                  # unused: gold labels the pairs
  c.pairs = ml_collections.ConfigDict()
  c.pairs.prompts = 2000              # train prompts (of world/instructions' train split, which RL trains on)
  c.pairs.eval_prompts = 256          # validation and test prompts each
  c.pairs.samples = 4                 # responses per prompt; pairs are distinct responses of different gold score
  c.pairs.per_prompt = 2              # pairs kept per prompt, at most
  c.pairs.noise = -1.0                # labels swapped with this probability; < 0: the world's preference_noise (0.1)
  c.pairs.world_pairs = 0             # world/preferences train pairs mixed into train.jsonl (styles SFT never writes)
  return c
