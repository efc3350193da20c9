"""RLHF with PPO: an SFT policy moves towards a reward model's preferences, paying a per-token KL to itself.

  python -m experiments.rlhf --config=configs/rlhf/ppo.py:tiny --workdir=/tmp/ppo \
      --config.policy_from=/tmp/sft --config.reward_from=/tmp/rm

Each iteration samples `rollout.prompts` responses from world/instructions prompts, scores them with
the reward model at their last token, subtracts kl.coef x KL(policy || SFT) per token, computes
advantages with the critic (GAE) and applies updates.epochs x updates.minibatches clipped updates.
Held-out prompts are judged against the SFT policy every train.eval_every iterations:
gold_win_rate, rm_win_rate, gold and reward-model scores, KL (DIR/overoptimization.png).
configs/rlhf/grpo.py and :rloo are the critic-free variants.
"""

import os

import ml_collections

from lm.data.world import config as world_config
from lm.training import tracking


# The built-in world's generation (lm.data.world.WorldConfig): seed and size, and the knobs that change what it
# teaches before any label (Zx lessons in world/text; the large evaluative lexicon of reviews; reviewers' reactions in
# world/text, which reveal each adjective's polarity; quiz pages of solved questions and their style; fiction about
# made-up worlds; recaps that repeat a document's sentences; roll calls read twice). See the README.
WORLD = world_config.config_knobs()


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.algorithm = "ppo"                 # "ppo" | "grpo" | "rloo"
  c.policy_from = ""                  # an instruction-tuning run: the initial policy and the frozen reference
  c.reward_from = ""                  # an experiments.train_reward run on the same tokenizer; "gold": the world's
                                      # hidden gold preference itself (an oracle reward, with critic.start=policy)
  c.template = ""                     # prompt template; "": the policy run's (task_options.template)

  c.data = ml_collections.ConfigDict()
  c.data.dataset = "world/instructions"  # prompts: any dataset with a "prompt" field (instructions, preferences)
  c.data.data_dir = os.environ.get("LM_DATA_DIR", "data")
  c.data.files = ml_collections.ConfigDict({"train": "", "validation": "", "test": ""})  # for files/instructions
  c.data.world = ml_collections.ConfigDict(WORLD)

  c.rollout = ml_collections.ConfigDict()
  c.rollout.prompts = 64              # prompts per iteration
  c.rollout.samples_per_prompt = 1    # responses per prompt (GRPO/RLOO: a group of at least 2)
  c.rollout.max_prompt_tokens = 192   # longer prompts lose their start (counted: truncated_prompts_count)
  c.rollout.max_new_tokens = 32       # responses still going here are cut (counted: unfinished_count)
  # PPO, GRPO and RLOO sample from the policy itself (these three as they are; other values are refused, since the
  # loss's log-probabilities are the plain softmax's). DPO uses them only for its held-out judgement.
  c.rollout.temperature = 1.0
  c.rollout.top_k = 0
  c.rollout.top_p = 1.0
  c.rollout.missing_eos_penalty = 0.0  # subtracted from the reward of a cut response

  c.updates = ml_collections.ConfigDict()
  c.updates.epochs = 4                 # passes over each rollout
  c.updates.minibatches = 2            # updates per pass

  c.loss = ml_collections.ConfigDict()
  c.loss.clip = 0.2
  c.loss.value_clip = 0.2
  c.loss.value_coef = 0.1
  c.loss.entropy_coef = 0.0

  c.critic = ml_collections.ConfigDict()
  c.critic.kind = "separate"          # "separate" | "shared" (value head on the policy) | "none" (GRPO, RLOO)
  c.critic.start = "reward"           # a separate critic starts from the "reward" model or the "policy"

  c.advantage = ml_collections.ConfigDict()
  c.advantage.gamma = 1.0
  c.advantage.lam = 0.95
  c.advantage.whiten = True           # PPO advantages to zero mean, unit variance over the rollout's tokens

  c.kl = ml_collections.ConfigDict()
  c.kl.coef = 0.05                    # per-token KL penalty in the reward
  c.kl.adaptive = False               # adapt coef towards kl.target (Ziegler et al.)
  c.kl.target = 6.0                   # nats per response
  c.kl.horizon = 10_000
  c.kl.limit = 50.0                   # stop the run past this KL (nats per response; 0 = never)
  c.kl.estimator = "k1"               # "k1" | "k2" | "k3"
  c.kl.in_loss = False                # GRPO puts it in the loss instead

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adamw"
  # The tiny 1.4M model needs a larger step than real ones; at 2e-4 it already outran its reward model
  # (reward-model win rate 79%, gold 50% after 10 iterations).
  c.optimizer.learning_rate = 1e-5 if preset != "tiny" else 1e-4
  c.optimizer.warmup_steps = 10
  c.optimizer.decay = "constant"
  c.optimizer.weight_decay = 0.0
  c.optimizer.clip_norm = 1.0

  c.train = ml_collections.ConfigDict()
  c.train.iterations = 40 if preset == "tiny" else 1000
  c.train.eval_every = 5              # iterations (each point of the over-optimisation plot is one evaluation)
  c.train.checkpoint_every = 10       # iterations
  c.train.keep_checkpoints = 3
  c.train.max_skipped_in_a_row = 20
  c.train.progress_bar = True
  c.train.profile_steps = ""          # "a,b": profiler trace of iterations a..b into workdir/tensorboard
  # Model selection on the validation prompts' judgement: "" keeps the last iteration; "rm_win_rate" uses only the
  # reward model (what a practitioner without gold can do), "gold_win_rate" the gold judge.
  c.train.select_metric = ""
  c.train.select_mode = "max"
  c.train.select_patience = 0         # early stopping after this many evaluations without a better value

  c.heldout = ml_collections.ConfigDict()
  c.heldout.prompts = 128             # validation prompts judged at each evaluation
  c.heldout.test_prompts = 256        # test prompts judged at the end (results.json); 0: as many as heldout.prompts
  c.heldout.batch_size = 64
  c.heldout.temperature = -1.0        # < 0: the rollout temperature
  c.heldout.samples = 3

  c.logging = ml_collections.ConfigDict(tracking.config_defaults())  # Weights & Biases (see configs/pretrain/clm.py)
  c.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "tensor": 1})
  return c
