"""The whole pipeline on the built-in world: pretraining -> instruction tuning -> reward model -> PPO.

  python -m experiments.pipeline --config=configs/pipeline/tiny.py --workdir=runs/pipeline
  python -m experiments.pipeline --config=configs/pipeline/tiny.py --workdir=runs/pipeline \
      --config.stages=pretrain,sft,reward,ppo,ppo_gold,grpo,rloo,dpo,bon --config.ppo.train.iterations=20

Each stage runs in DIR/<stage> with the config in the section of that name (any field can be
overridden, e.g. --config.sft.train.steps=800) and starts from the stage before it. Finished
stages are skipped and interrupted ones resume, so re-running the command continues the pipeline.
The tiny model (1.4M parameters) is pretrained on 256-token rows so that every position the later
stages use was trained. DIR/summary.md holds each stage's headline figures.
"""

import os

import ml_collections

from lm import settings

CONFIGS = os.path.join(os.path.dirname(__file__), "..")


def _load(path: str) -> ml_collections.ConfigDict:
  return settings.load_config(os.path.join(CONFIGS, path))


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  del preset
  c = ml_collections.ConfigDict()
  # Any of pretrain, sft, pairs (the reward model's pairs from the SFT policy's own samples, labelled by noisy
  # gold; without it the reward model trains on world/preferences), reward, ppo, ppo_gold (PPO against gold itself:
  # the oracle), grpo, rloo, dpo and bon (best-of-n from the SFT policy and its pass@k), in this order.
  c.stages = "pretrain,sft,reward,ppo"
  c.pretrain = _load("pretrain/clm.py:tiny")
  c.pretrain.data.seq_len = 256          # SFT and RL prompts reach 256 tokens: train those positions
  c.pretrain.data.batch_size = 16
  c.pretrain.train.steps = 800
  c.sft = _load("finetune/instruct.py:tiny")
  c.pairs = _load("rlhf/pairs.py:tiny")
  c.reward = _load("rlhf/reward.py:tiny")
  c.ppo = _load("rlhf/ppo.py:tiny")
  c.ppo_gold = _load("rlhf/ppo.py:tiny")
  c.ppo_gold.reward_from = "gold"        # the oracle: the hidden gold preference is the reward
  c.ppo_gold.critic.start = "policy"     # there is no reward model to start the critic from
  c.grpo = _load("rlhf/grpo.py:tiny")
  c.rloo = _load("rlhf/grpo.py:rloo")
  c.dpo = _load("rlhf/dpo.py:tiny")
  c.bon = _load("rlhf/best_of_n.py:tiny")
  # Minutes each stage took in `make demo` on 2 CPU cores (2026-12-04, world already prepared; 28.1 min in all),
  # printed in the plan before the stages start. A stage without an entry shows "?".
  c.expected_minutes = {"pretrain": 7.1, "sft": 4.1, "reward": 8.7, "ppo": 8.1}
  return c
