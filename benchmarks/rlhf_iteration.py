"""Where an RLHF iteration's time goes: sampling, scoring, and the policy updates.

  python -m benchmarks.rlhf_iteration [--preset=tiny --rows=64 --prompt_len=193 --new_tokens=32 --critic=separate]

One PPO iteration of `lm.rl`: the KV-cache sampler generates `new_tokens` for `rows` prompts (no
early stop: every row runs to the end), the scorer runs the policy with its critic, the frozen
reference and the reward model over the rows, and `epochs x minibatches` updates of the shared
train step follow. Random weights of the preset's shape; each phase is timed after a warm-up
(median of repeats) and reported in seconds and tokens per second.
"""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags

from benchmarks import timing, traces

from experiments import cli
from lm.models.config import PRESETS, ModelConfig
from lm.models.heads import ActorCritic, Classifier
from lm.models.transformer import Decoder
from lm.objectives import policy_gradient as pg
from lm.rl import rollout as rollout_lib
from lm.training import sharding, state as state_lib, step as step_lib

_PRESET = flags.DEFINE_string("preset", "tiny", f"Model shape: {', '.join(PRESETS)}.")
_ROWS = flags.DEFINE_integer("rows", 64, "Responses per iteration.")
_PROMPT = flags.DEFINE_integer("prompt_len", 193, "Prompt columns (max_prompt_tokens + 1).")
_NEW = flags.DEFINE_integer("new_tokens", 32, "Tokens sampled per response.")
_CRITIC = flags.DEFINE_enum("critic", "separate", ["separate", "shared", "none"], "The value function's form.")
_EPOCHS = flags.DEFINE_integer("epochs", 4, "Passes over the rollout.")
_MINIBATCHES = flags.DEFINE_integer("minibatches", 2, "Updates per pass.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats of each phase.")
_TRACE = flags.DEFINE_string("trace_dir", "", "If set: a jax.profiler trace of one iteration's updates goes there "
                             "(TensorBoard's Profile tab) and their longest operations are printed.")


def main(argv):
  del argv
  rows, p, n = _ROWS.value, _PROMPT.value, _NEW.value
  config = ModelConfig(**{**PRESETS[_PRESET.value], "vocab_size": 4096, "max_len": max(p + n, 512)})
  actor_critic, decoder = ActorCritic(config, critic=_CRITIC.value), Decoder(config)
  reward = Classifier(config, 1, backbone="decoder")
  tokens = jnp.ones((1, p + n), jnp.int32)
  rng = jax.random.key(0)
  unbox = lambda tree: jax.tree.map(lambda x: getattr(x, "value", x), tree, is_leaf=lambda x: hasattr(x, "value"))
  reference, reward_params = unbox(decoder.init(rng, tokens)["params"]), unbox(reward.init(rng, tokens)["params"])
  # No eos among the ids sampled, so every row generates all its tokens (the slowest case).
  tok = types.SimpleNamespace(eos_id=-1, pad_id=0)
  rollout = rollout_lib.RolloutConfig(max_prompt_tokens=p - 1, max_new_tokens=n)
  sample = rollout_lib.make_sampler(decoder, tok, rollout)
  score = rollout_lib.make_scorer(actor_critic, decoder, reward)
  prompts = np.random.default_rng(0).integers(5, 4096, (rows, p)).astype(np.int32)
  mask = np.ones_like(prompts, bool)

  mesh = sharding.make_mesh(sharding.MeshConfig())
  optimizer = optax.adamw(1e-5)
  state, shardings = state_lib.create(lambda r: actor_critic.init(r, tokens)["params"], optimizer, mesh, rng)
  batch = sample(state.params["policy"], prompts, mask, rng)
  batch.pop("finished")
  scored = jax.device_get(score(state.params, reference, reward_params, batch))
  per = rows // _MINIBATCHES.value
  minibatch = {**{k: v[:per] for k, v in batch.items()}, "old_logprobs": scored["logprobs"][:per],
               "advantages": np.random.default_rng(1).normal(size=(per, n)).astype(np.float32)}
  if _CRITIC.value != "none":
    minibatch.update(old_values=scored["values"][:per], returns=scored["values"][:per] + 0.1)
  train_step = step_lib.make_train_step(pg.make_loss(actor_critic, clip=0.2), optimizer, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0)
  holder = {"state": state}

  def updates():
    for _ in range(_EPOCHS.value * _MINIBATCHES.value):
      holder["state"], metrics = train_step(holder["state"], minibatch)
    return metrics["loss"]

  seconds = {
      "sample": timing.median_seconds(lambda: sample(holder["state"].params["policy"], prompts, mask, rng)["inputs"],
                                _REPEATS.value),
      "score": timing.median_seconds(lambda: score(holder["state"].params, reference, reward_params, batch)["scores"],
                               _REPEATS.value),
      "update": timing.median_seconds(updates, _REPEATS.value),
  }
  total = sum(seconds.values())
  print(f"{_PRESET.value}, {rows} rows x ({p} prompt + {n} new) tokens, critic {_CRITIC.value}, "
        f"{_EPOCHS.value} epochs x {_MINIBATCHES.value} minibatches, {jax.device_count()} device(s):")
  token_counts = {"sample": rows * n, "score": rows * (p + n),
                  "update": rows * (p + n) * _EPOCHS.value}
  for phase, s in seconds.items():
    print(f"  {phase:<7} {s:7.2f} s  {token_counts[phase] / s:>10,.0f} tokens/s  {100 * s / total:5.1f}%")
  print(f"  iteration {total:.2f} s")
  if _TRACE.value:
    sources = traces.instruction_sources(train_step.lower(holder["state"], minibatch).compile().as_text())
    with jax.profiler.trace(_TRACE.value):
      jax.block_until_ready(updates())
    per_op, busy = traces.op_seconds(traces.latest_trace(_TRACE.value))
    print(f"one iteration's updates, traced: ops ran {busy:.2f} s (their union), {sum(per_op.values()):.2f} s "
          f"summed over threads; trace in {_TRACE.value}")
    traces.print_longest(per_op, sources, n=15)


if __name__ == "__main__":
  cli.run(main)
