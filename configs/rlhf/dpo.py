"""DPO: the SFT policy learns straight from preference pairs (no reward model, no sampling in training).

  python -m experiments.rlhf --config=configs/rlhf/dpo.py:tiny --workdir=/tmp/dpo \
      --config.policy_from=/tmp/sft [--config.reward_from=/tmp/rm]

The loss is -log sigmoid(beta * [log pi/pi_ref (chosen) - log pi/pi_ref (rejected)]) over whole
responses, the SFT run frozen as pi_ref. Validation reports dpo_accuracy and the implicit reward
margin on held-out pairs; held-out prompts are judged as for PPO (gold_win_rate against the SFT
policy, KL; rm_win_rate too if reward_from is set), so the two compare directly.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  ppo = settings.load_config(os.path.join(os.path.dirname(__file__), f"ppo.py:{preset}"))
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.algorithm = "dpo"
  c.policy_from = ""                  # an instruction-tuning run: the initial policy and the frozen reference
  c.reward_from = ""                  # optional: a reward-model run, only to report its opinion (rm_win_rate)
  c.template = ""                     # "": the policy run's

  c.data = ml_collections.ConfigDict(ppo.data.to_dict())
  c.data.dataset = "world/preferences"  # pairs {"prompt", "chosen", "rejected"}; or files/preferences + data.files
  c.data.seq_len = 256                # the longer side of a pair must fit (the prompt loses its start otherwise)
  c.data.batch_size = 32              # pairs per step
  c.data.shards = 0                   # record shards (0: one per process); fixed, the batches ignore the process count
  c.prompts = ml_collections.ConfigDict(ppo.data.to_dict())  # held-out prompts to judge the policy on

  c.dpo = ml_collections.ConfigDict()
  c.dpo.beta = 0.1                    # strength of the KL leash: lower lets the policy move further
  c.dpo.label_smoothing = 0.0         # > 0: conservative DPO, for noisy labels
  c.dpo.max_prompt_tokens = 192

  c.rollout = ppo.rollout             # sampling for the held-out judgement (max_new_tokens, temperature)
  c.heldout = ppo.heldout
  c.optimizer = ppo.optimizer
  c.optimizer.learning_rate = 5e-5 if preset == "tiny" else 5e-7

  c.train = ml_collections.ConfigDict()
  c.train.steps = 300 if preset == "tiny" else 5000
  c.train.log_every = 25
  c.train.eval_every = 100
  c.train.eval_batches = 10
  c.train.eval_at_start = False           # also evaluate step 0 (the SFT policy), a candidate for model selection
  c.train.checkpoint_every = 100
  c.train.keep_checkpoints = 3
  c.train.progress_bar = True
  c.train.profile_steps = ""              # "a,b": profiler trace of updates a..b into workdir/tensorboard
  c.train.select_metric = ""              # model selection on validation, e.g. "gold_win_rate" (see clm.py)
  c.train.select_mode = "max"
  c.train.select_patience = 0             # early stopping after this many evaluations without a better value
  c.logging = ppo.logging  # Weights & Biases (configs/pretrain/clm.py)
  c.mesh = ppo.mesh
  return c
