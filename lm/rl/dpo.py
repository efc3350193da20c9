"""Direct preference optimisation (Rafailov et al., 2023): the policy learns from preference pairs, no reward model.

`run(config, workdir)` trains `config.policy_from` (an instruction-tuning run) on the pairs of
`config.data` with the DPO loss (`lm.objectives.preference.make_dpo_loss`), the same run frozen as
the reference. The train state holds `{"policy", "reference"}`; the optimiser leaves the
reference alone (`optax.set_to_zero`), so both live and are checkpointed together and a resumed
run needs nothing else. Same loop, step and checkpoints as every stage.

Evaluation: DPO's loss, accuracy and implicit reward margin on held-out pairs, and the judgement
of `lm.rl.heldout` on held-out prompts (gold win rate against the SFT policy, KL to it, and the
reward model's opinion if `config.reward_from` names one), so DPO and PPO compare directly.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import optax
from absl import logging

from lm import settings
from lm.data import sources, supervised
from lm.models.heads import ActorCritic, Classifier
from lm.models.transformer import Decoder
from lm.objectives import preference
from lm.rl import heldout, rollout as rollout_lib, train as rl_train
from lm.training import finetune, loop, optimizers, pretrain, recipes, rundir, sharding, tracking, transfer


def _frozen_reference(inner: optax.GradientTransformation) -> optax.GradientTransformation:
  return optax.multi_transform({"trained": inner, "frozen": optax.set_to_zero()},
                               lambda params: {"policy": "trained", "reference": "frozen"})


def run(config, workdir: str) -> rl_train.Result:
  started = time.perf_counter()
  policy_source, reward_source, tok = rl_train.resolve_runs(config, need_reward=False)
  settings.prepare_workdir(workdir)
  spec = pretrain.data_spec(config.data)
  if sources.schema(spec) != "preferences":
    raise settings.ConfigError(f"DPO trains on preference pairs; data.dataset={spec.name!r} is not of schema "
                               "'preferences' (e.g. world/preferences or files/preferences).")
  prompt_spec = pretrain.data_spec(config.prompts)
  model_cfg = rl_train.model_config(policy_source, tok.vocab_size)
  rollout = settings.section(rollout_lib.RolloutConfig, config.rollout, "rollout")
  judge_cfg = settings.section(heldout.HeldOutConfig, config.heldout, "heldout")
  loop_cfg = settings.section(loop.LoopConfig, config.train, "train")
  if max(config.data.seq_len, rollout.max_prompt_tokens + 1 + rollout.max_new_tokens) > model_cfg.max_len:
    raise settings.ConfigError(f"data.seq_len and rollout lengths must fit the policy's max_len={model_cfg.max_len}.")
  template = rl_train.template(config, policy_source)
  decoder = Decoder(model_cfg)
  layout = recipes.DataLayout(supervised.preference_pair(tok, template, seq_len=config.data.seq_len,
                                                         max_prompt_tokens=config.dpo.max_prompt_tokens or None),
                              (), pack=False, long_examples="truncate")
  train_data, eval_data = pretrain.pipelines(config, spec, tok, layout)
  common = dict(beta=config.dpo.beta, label_smoothing=config.dpo.label_smoothing)
  loss_fn = preference.make_dpo_loss(decoder, **common)
  eval_loss_fn = preference.make_dpo_loss(decoder, **common, train=False)
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), loop_cfg.steps)
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  tokens = jnp.ones((1, config.data.seq_len), jnp.int32)

  def init_params(rng):
    params = decoder.init(rng, tokens)["params"]
    return {"policy": params, "reference": params}

  def warm(params):
    restore = transfer.warm_start(policy_source, "")
    return {"policy": restore(params["policy"]), "reference": restore(params["reference"])}

  reward_params, reward_model = None, None
  if reward_source is not None:
    reward_model = Classifier(rl_train.model_config(reward_source, tok.vocab_size), 1, backbone="decoder")
    reward_params = rl_train.checkpoint_params(reward_model, reward_source, tokens, mesh, jax.random.key(config.seed))
  policy_only = ActorCritic(model_cfg, critic="none")
  common = dict(tok=tok, template=template, rollout=rollout, config=judge_cfg,
                sample=rollout_lib.make_sampler(decoder, tok, rollout),
                score=rollout_lib.make_scorer(policy_only, decoder, reward_model), reward_params=reward_params,
                seed=config.seed, gold=prompt_spec.name.startswith("world/"))
  judge = None

  def on_eval(step, params):
    nonlocal judge
    if judge is None:  # the state's frozen reference, copied: the train step donates (reuses) the state's buffers
      judge = heldout.Judge(prompts=rl_train.prompts(prompt_spec, "validation", judge_cfg.prompts),
                            reference_params=jax.tree.map(jnp.copy, params["reference"]), **common)
    metrics, examples = judge({"policy": params["policy"]})
    finetune.write_samples(workdir, step, "validation", examples)
    rl_train.plot(workdir, extra=metrics)
    return metrics

  logging.info("DPO (beta %g) from %s on %s; workdir %s.", config.dpo.beta, policy_source.checkpoints, spec.name,
               workdir)
  result = loop.train(workdir=workdir, config=loop_cfg, seed=config.seed, mesh=mesh, init_params=init_params,
                      optimizer=_frozen_reference(optimizer), schedule=schedule, loss_fn=loss_fn,
                      eval_loss_fn=eval_loss_fn, train_data=train_data, eval_data=eval_data,
                      global_batch_rows=config.data.batch_size, on_eval=on_eval, warm_start=warm,
                      run_files=rundir.for_run(workdir, config, tok),
                      logging_config=tracking.from_config(config))
  test: dict[str, float] = {}
  if not result.preempted:
    params = result.params
    final = heldout.Judge(prompts=rl_train.prompts(prompt_spec, "test", judge_cfg.final_prompts),
                          reference_params=params["reference"], **common)
    test, examples = final({"policy": params["policy"]})
    finetune.write_samples(workdir, result.step, "test", examples)
    settings.write_json(os.path.join(workdir, rl_train.RESULTS_FILE), {
        "algorithm": "dpo", "policy_from": config.policy_from, "reward_from": config.reward_from or None,
        **finetune.outcome(workdir, result), "test": test, "test_gold_terms": final.gold_terms,
        "seconds": time.perf_counter() - started})
    rl_train.plot(workdir)
    logging.info("Test: %s", ", ".join(f"{k}={v:.4g}" for k, v in test.items()))
  return rl_train.Result(loop=result, test=test, seconds=time.perf_counter() - started)
