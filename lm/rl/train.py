"""RLHF as a library call: `run(config, workdir)` moves an SFT policy towards a reward model, on a KL leash.

The policy starts from `config.policy_from` (an instruction-tuning run), the frozen reference is
that same run, and `config.reward_from` is a reward-model run (`experiments.train_reward`). Each
iteration samples a rollout (`lm.rl.source`), and the shared loop and train step apply
`updates.epochs x updates.minibatches` clipped policy-gradient updates to it
(`lm.objectives.policy_gradient.make_loss`): PPO with a critic and GAE, or the critic-free GRPO
and RLOO. Checkpoints hold the policy, the critic, the optimiser and the rollout source (KL
coefficient, iteration, the current rollout), so a resumed run continues exactly.

Held-out prompts are judged every `train.eval_every` iterations against the SFT policy
(`lm.rl.heldout`): gold and reward-model scores, win rates and KL, drawn in
`DIR/overoptimization.png`; `DIR/results.json` holds the final judgement on the test prompts.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
from absl import logging

from lm import settings
from lm.data import sources, supervised
from lm.models.heads import CRITICS, ActorCritic, Classifier
from lm.models.transformer import Decoder
from lm.objectives import policy_gradient as pg
from lm.rl import heldout, kl as kl_lib, rollout as rollout_lib
from lm.rl.source import RolloutSource, UpdateConfig
from lm.training import (checkpoint, finetune, loop, optimizers, pretrain, rundir, selection, sharding,
                         state as state_lib, tasks, tracking, transfer, writers)

RESULTS_FILE = "results.json"
PLOT_FILE = "overoptimization.png"
PROMPT_SCHEMAS = ("instructions", "preferences")  # datasets whose records carry a "prompt"
# reward_from=ORACLE: the reward is the built-in world's hidden gold preference itself, not a reward model's
# estimate of it. An upper bound for research: what the RL loop achieves with a perfect reward model.
ORACLE = "gold"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  iterations: int = 100            # rollouts; each is followed by updates.epochs x updates.minibatches updates
  eval_every: int = 10             # judge held-out prompts every N iterations (and at the end)
  checkpoint_every: int = 10       # save every N iterations (and at the end, and on SIGTERM)
  keep_checkpoints: int = 3
  max_skipped_in_a_row: int = 20   # stop after this many consecutive non-finite updates
  progress_bar: bool = True
  profile_steps: str = ""          # "a,b": a profiler trace of iterations a..b (rollouts and updates), see loop
  # Model selection on the validation prompts' judgement (see loop.LoopConfig): "" keeps the last iteration; e.g.
  # "rm_win_rate" (what a practitioner without gold can do) or "gold_win_rate" (selection by the gold judge).
  select_metric: str = ""
  select_mode: str = "max"
  select_patience: int = 0         # early stopping: evaluations without a better value (0: never)

  def __post_init__(self):
    loop.profile_range(self.profile_steps)
    selection.check_mode(self.select_metric, self.select_mode)


@dataclasses.dataclass(frozen=True)
class LossConfig:
  clip: float = 0.2                # PPO's ratio clip
  value_clip: float = 0.2          # the critic's values may move this far from the rollout's per update
  value_coef: float = 0.1          # weight of the value loss (PPO)
  entropy_coef: float = 0.0        # entropy bonus


@dataclasses.dataclass(frozen=True)
class CriticConfig:
  kind: str = "separate"           # "separate" (own decoder) | "shared" (value head on the policy) | "none"
  start: str = "reward"            # a separate critic starts from the "reward" model or the "policy"


@dataclasses.dataclass(frozen=True)
class AdvantageSection:
  gamma: float = 1.0
  lam: float = 0.95
  whiten: bool = True


@dataclasses.dataclass
class Result:
  loop: loop.Result
  test: dict[str, float]
  seconds: float


def _sections(config):
  algorithm = config.algorithm
  if algorithm not in rollout_lib.ALGORITHMS:
    raise settings.ConfigError(f"algorithm={algorithm!r}; expected one of {', '.join(rollout_lib.ALGORITHMS)}.")
  critic = settings.section(CriticConfig, config.critic, "critic")
  if critic.kind not in CRITICS or critic.start not in ("reward", "policy"):
    raise settings.ConfigError(f"critic.kind must be one of {CRITICS} and critic.start 'reward' or 'policy'; got "
                               f"{critic.kind!r}, {critic.start!r}.")
  if (algorithm == "ppo") != (critic.kind != "none"):
    raise settings.ConfigError(f"algorithm={algorithm!r} with critic.kind={critic.kind!r}: PPO needs a critic "
                               "('separate' or 'shared'); GRPO and RLOO use none.")
  rollout = settings.section(rollout_lib.RolloutConfig, config.rollout, "rollout")
  if algorithm != "ppo" and rollout.samples_per_prompt < 2:
    raise settings.ConfigError(f"algorithm={algorithm!r} compares several responses per prompt: set "
                               "rollout.samples_per_prompt to 2 or more.")
  if rollout.temperature != 1.0 or rollout.top_k or rollout.top_p < 1.0:
    # The loss, the old log-probabilities and the KL to the reference all read the policy's plain softmax: samples
    # drawn from a tempered or truncated distribution would make the importance ratios and the KL describe another
    # policy than the one that sampled.
    raise settings.ConfigError(
        f"rollout.temperature={rollout.temperature}, rollout.top_k={rollout.top_k}, rollout.top_p={rollout.top_p}: "
        f"{algorithm} samples from the policy itself (temperature 1, no top-k or top-p), so that the log-probabilities "
        "in its loss and KL are those of the distribution that sampled. To judge at another temperature, set "
        "heldout.temperature.")
  kl = settings.section(kl_lib.KLConfig, config.kl, "kl")
  if kl.estimator not in pg.KL_ESTIMATORS:
    raise settings.ConfigError(f"kl.estimator={kl.estimator!r}; expected one of {pg.KL_ESTIMATORS}.")
  advantage = settings.section(AdvantageSection, config.advantage, "advantage")
  advantage = rollout_lib.AdvantageConfig(algorithm=algorithm, gamma=advantage.gamma, lam=advantage.lam,
                                          whiten=advantage.whiten, kl_estimator=kl.estimator, kl_in_loss=kl.in_loss)
  return (critic, rollout, kl, advantage, settings.section(UpdateConfig, config.updates, "updates"),
          settings.section(LossConfig, config.loss, "loss"), settings.section(TrainConfig, config.train, "train"),
          settings.section(heldout.HeldOutConfig, config.heldout, "heldout"))


def resolve_runs(config, need_reward: bool = True):
  """The policy run and the reward-model run (None if optional and unset), checked: what they are, and that they
  share a tokenizer. Returns (policy source, reward source, tokenizer)."""
  if not config.policy_from:
    raise settings.ConfigError("Set config.policy_from: an instruction-tuning run (the policy and the frozen "
                               "reference).")
  if need_reward and not config.get("reward_from"):
    raise settings.ConfigError(f"Set config.reward_from: an experiments.train_reward run (or {ORACLE!r}).")
  policy = transfer.resolve(config.policy_from)
  whole = tuple(name for name, t in tasks.TASKS.items() if not t.heads and "decoder" in t.architectures)
  transfer.check_objective(policy, "causal", "rlhf", "decoder", whole)
  tok = policy.tokenizer()
  if tok is None:
    raise settings.ConfigError(f"policy_from={config.policy_from} must be a run directory with its tokenizer "
                               "(tokenizer.model, or hf_tokenizer.json for an imported checkpoint).")
  if config.get("reward_from", "") in ("", ORACLE):
    return policy, None, tok
  reward = transfer.resolve(config.reward_from)
  if (reward.config or {}).get("task") != "reward":
    raise settings.ConfigError(f"reward_from={config.reward_from} is not a reward-model run (its task is "
                               f"{(reward.config or {}).get('task', (reward.config or {}).get('objective'))!r}); "
                               "train one with experiments.train_reward.")
  reward_tok = reward.tokenizer()
  if reward_tok is None or tok.proto != reward_tok.proto:
    raise settings.ConfigError(f"policy_from={config.policy_from} and reward_from={config.reward_from} use different "
                               "tokenizers; train the reward model from the policy's SFT run.")
  return policy, reward, tok


def template(config, policy_source) -> str:
  """`config.template`, or else the template the policy was instruction-tuned with."""
  return config.template or ((policy_source.config or {}).get("task_options") or {}).get(
      "template", supervised.PROMPT_TEMPLATE)


def model_config(source, vocab_size: int):
  return pretrain.model_config(ml_collections.ConfigDict(source.config), vocab_size)


def prompts(spec, split: str, limit: int = 0) -> list[str]:
  records = sources.open_split(spec, split)
  return [records[i]["prompt"] for i in range(len(records) if not limit else min(limit, len(records)))]


def _iteration_updates(profile_steps: str, per: int) -> str:
  """Iterations "a,b" as the loop's update numbers: from the first update of a (whose rollout it samples) to the
  last of b."""
  iterations = loop.profile_range(profile_steps)
  return f"{(iterations[0] - 1) * per + 1},{iterations[1] * per}" if iterations else ""


def run(config, workdir: str) -> Result:
  started = time.perf_counter()
  critic, rollout, kl, advantage, update, loss_cfg, train_cfg, judge_cfg = _sections(config)
  policy_source, reward_source, tok = resolve_runs(config)
  settings.prepare_workdir(workdir)
  spec = pretrain.data_spec(config.data)
  if sources.schema(spec) not in PROMPT_SCHEMAS:
    raise settings.ConfigError(f"data.dataset={spec.name!r} has no prompts; use a dataset of schema "
                               f"{' or '.join(PROMPT_SCHEMAS)} (e.g. world/instructions).")
  oracle = reward_source is None
  if oracle and (not spec.name.startswith("world/") or critic.start == "reward"):
    raise settings.ConfigError(f"reward_from={ORACLE!r} scores responses with the world's gold preference: it needs "
                               "world prompts (data.dataset=world/...) and, for PPO, critic.start='policy'.")
  policy_cfg = model_config(policy_source, tok.vocab_size)
  reward_cfg = policy_cfg if oracle else model_config(reward_source, tok.vocab_size)
  length = rollout.max_prompt_tokens + 1 + rollout.max_new_tokens
  if length > min(policy_cfg.max_len, reward_cfg.max_len):
    raise settings.ConfigError(f"rollout.max_prompt_tokens + 1 + rollout.max_new_tokens = {length} exceeds the "
                               f"models' max_len ({policy_cfg.max_len}, reward model {reward_cfg.max_len}).")
  if critic.kind == "separate" and critic.start == "reward" and dataclasses.replace(
      reward_cfg, dropout=policy_cfg.dropout) != policy_cfg:
    raise settings.ConfigError("critic.start='reward' needs a reward model of the policy's shape; set "
                               "critic.start='policy' or train the reward model from the policy's SFT run.")

  actor_critic = ActorCritic(policy_cfg, critic=critic.kind)
  decoder = Decoder(policy_cfg)
  reward_model = None if oracle else Classifier(reward_cfg, 1, backbone="decoder")
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  tokens = jnp.ones((1, length), jnp.int32)
  rng = jax.random.key(config.seed)
  frozen = lambda module, source: checkpoint_params(module, source, tokens, mesh, rng)
  reference_params = frozen(decoder, policy_source)
  reward_params = None if oracle else frozen(reward_model, reward_source)

  def warm(params):
    params = {**params, "policy": transfer.warm_start(policy_source, "")(params["policy"])}
    if critic.kind == "separate":
      if critic.start == "reward":
        params["critic"] = transfer.warm_start(reward_source, "")(params["critic"])
      else:
        params["critic"] = transfer.warm_start(policy_source, "backbone")(params["critic"])
    return params

  sample = rollout_lib.make_sampler(decoder, tok, rollout)
  score = rollout_lib.make_scorer(actor_critic, decoder, reward_model)
  gold = spec.name.startswith("world/")
  common = dict(tok=tok, template=template(config, policy_source), rollout=rollout, sample=sample, score=score,
                reference_params=reference_params, reward_params=reward_params, seed=config.seed, gold=gold)
  source = RolloutSource(prompts=prompts(spec, "train"), advantage=advantage, kl=kl, update=update,
                         on_samples=lambda step, rows: finetune.write_samples(workdir, step, "rollout", rows),
                         oracle=oracle, **common)
  judge = heldout.Judge(prompts=prompts(spec, "validation", judge_cfg.prompts), config=judge_cfg, **common)

  def on_eval(step, params):
    metrics, examples = judge(params)
    finetune.write_samples(workdir, step, "validation", examples)
    for example in examples:
      logging.info("step %d held-out sample:\n  prompt: %s\n  %s\n  policy: %s", step, example["input"][-200:],
                   example["reference"], example["output"])
    plot(workdir, extra=metrics)
    return metrics

  per = update.per_rollout
  loop_cfg = loop.LoopConfig(steps=train_cfg.iterations * per, log_every=per, eval_every=train_cfg.eval_every * per,
                             checkpoint_every=train_cfg.checkpoint_every * per,
                             keep_checkpoints=train_cfg.keep_checkpoints,
                             max_skipped_in_a_row=train_cfg.max_skipped_in_a_row, progress_bar=train_cfg.progress_bar,
                             profile_steps=_iteration_updates(train_cfg.profile_steps, per),
                             select_metric=train_cfg.select_metric, select_mode=train_cfg.select_mode,
                             select_patience=train_cfg.select_patience)
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), loop_cfg.steps)
  loss_fn = pg.make_loss(actor_critic, clip=loss_cfg.clip, value_clip=loss_cfg.value_clip,
                         value_coef=loss_cfg.value_coef, entropy_coef=loss_cfg.entropy_coef,
                         kl_coef=kl.coef if kl.in_loss else 0.0, kl_estimator=kl.estimator)
  logging.info("RLHF (%s, critic %s) from %s with reward model %s: %d prompts x %d samples per iteration, %d "
               "iterations; workdir %s.", config.algorithm, critic.kind, policy_source.checkpoints,
               "gold (oracle)" if oracle else reward_source.checkpoints, rollout.prompts, rollout.samples_per_prompt, train_cfg.iterations, workdir)
  result = loop.train(workdir=workdir, config=loop_cfg, seed=config.seed, mesh=mesh,
                      init_params=lambda r: actor_critic.init(r, tokens)["params"], optimizer=optimizer,
                      schedule=schedule, loss_fn=loss_fn, eval_loss_fn=None, train_data=source, eval_data=None,
                      global_batch_rows=rollout.rows // update.minibatches, on_eval=on_eval, warm_start=warm,
                      run_files=rundir.for_run(workdir, config, tok),
                      logging_config=tracking.from_config(config))
  test: dict[str, float] = {}
  if not result.preempted:
    final = heldout.Judge(prompts=prompts(spec, "test", judge_cfg.final_prompts), config=judge_cfg, **common)
    test, examples = final(result.params)
    finetune.write_samples(workdir, result.step, "test", examples)
    settings.write_json(os.path.join(workdir, RESULTS_FILE), {
        "algorithm": config.algorithm, "policy_from": config.policy_from, "reward_from": config.reward_from,
        "iterations": result.step // per, **finetune.outcome(workdir, result), "test": test,
        "test_gold_terms": final.gold_terms, "seconds": time.perf_counter() - started})
    plot(workdir)
    logging.info("Test: %s", ", ".join(f"{k}={v:.4g}" for k, v in test.items()))
  return Result(loop=result, test=test, seconds=time.perf_counter() - started)


def checkpoint_params(module, source: transfer.Source, tokens, mesh, rng):
  """A frozen model's parameters (reference policy, reward model), read from `source` into their sharded layout."""
  abstract = state_lib.abstract_params(lambda r: module.init(r, tokens)["params"], mesh, rng)
  advice = (f"The model was built from {source.run_dir}/config.json, and that run's checkpoint does not match it: "
            "was the config edited, or the checkpoint copied from another run?")
  return checkpoint.restore_params(source.checkpoints, abstract, source.step, advice=advice)


def plot(workdir: str, extra: dict | None = None) -> None:
  """`DIR/overoptimization.png` from the held-out evaluations so far (plus `extra`, one not yet written)."""
  rows = [r for r in writers.read(workdir) if r["split"] == "eval"] if os.path.exists(
      os.path.join(workdir, "metrics.jsonl")) else []
  heldout.plot_overoptimization(os.path.join(workdir, PLOT_FILE), rows + ([extra] if extra else []))
