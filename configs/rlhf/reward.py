"""Reward model: the SFT decoder with a scalar head on its last token, trained on preference pairs.

  python -m experiments.train_reward --config=configs/rlhf/reward.py:tiny --workdir=/tmp/rm \
      --config.init_from=/tmp/sft

Each pair is scored on both sides, `[bos] template(prompt) response [eos]` read at the eos, and the
loss is Bradley-Terry, -log sigmoid(r_chosen - r_rejected). Evaluation reports `rm_accuracy` on
held-out pairs, `reward_gap`, and on the built-in world `gold_agreement` (against the hidden gold
preference) and `label_ceiling` (how often the noisy labels themselves agree with gold).
A preference JSONL file works too: --config.data.dataset=files/preferences
--config.data.files.train=pairs.jsonl (rows {"prompt", "chosen", "rejected"}).
"""

import os

import ml_collections

from lm import settings
from lm.data import supervised


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), "..", "finetune", f"base.py:{preset}"))
  c.task = "reward"
  c.architecture = "decoder"
  c.data.dataset = "world/preferences"
  c.data.seq_len = 256                # the longer side of a pair must fit: prompt (cut from the left) + response
  c.task_options = ml_collections.ConfigDict()
  # Must be the SFT run's template: the reward model reads responses the way the policy writes them.
  c.task_options.template = supervised.PROMPT_TEMPLATE
  c.task_options.max_prompt_tokens = 192  # longer prompts lose their start (counted in truncated_count)
  c.task_options.gold_judge = False      # files of world prompts (experiments.policy_pairs): report gold agreement
  c.task_options.centring = 0.0           # >0 adds centring * mean((r_c + r_r)^2): rewards stay near 0
  c.eval.validation_examples = 500
  if preset == "tiny":
    c.data.batch_size = 32            # pairs per step (both sides go through the model: 64 sequences)
    c.train.steps = 300
    c.optimizer.learning_rate = 3e-4
  return c
