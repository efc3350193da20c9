"""Speed of multiple-choice likelihood scoring: the shared-prefix KV cache against one full pass per choice.

  python -m benchmarks.fewshot_scoring [--preset=tiny --batch_size=32 --context=448 --choices=4 --choice_len=4]

The harness (`lm.evaluation.scoring.choice_logprobs`) reads each k-shot context once into the KV
cache and scores every choice from a copy of it. The baseline is what a harness without a cache
does: run `[context + choice]` through the model once per choice. Both are jitted, on random
tokens and weights of the preset's shape; the figures are items per second (median of repeats),
and the two must agree on the scores.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from benchmarks import timing

from experiments import cli
from lm.evaluation import scoring
from lm.models.config import PRESETS, ModelConfig
from lm.models.transformer import Decoder

_PRESET = flags.DEFINE_string("preset", "tiny", f"Model shape: {', '.join(PRESETS)}.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Items per call.")
_CONTEXT = flags.DEFINE_integer("context", 448, "Context tokens per item (an 8-shot world prompt is ~400-500).")
_CHOICES = flags.DEFINE_integer("choices", 4, "Choices per item.")
_CHOICE_LEN = flags.DEFINE_integer("choice_len", 8, "Tokens per choice (padded).")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls (after one warm-up call).")


@functools.partial(jax.jit, static_argnames=("model",))
def full_passes(model, params, context_BxP, choices_BxCxL):
  """Baseline: each choice scored by a full forward pass over its context and itself."""
  b, p = context_BxP.shape
  _, c, l = choices_BxCxL.shape
  tokens_NxT = jnp.concatenate([jnp.repeat(context_BxP, c, axis=0), choices_BxCxL.reshape(b * c, l)], axis=1)
  logprobs_NxTxV = jax.nn.log_softmax(model.apply({"params": params}, tokens_NxT).astype(jnp.float32))
  picked_NxL = jnp.take_along_axis(logprobs_NxTxV[:, p - 1:-1], tokens_NxT[:, p:, None], axis=-1)[..., 0]
  return picked_NxL.sum(axis=1).reshape(b, c)


def main(argv):
  del argv
  b, p, c, l = _BATCH.value, _CONTEXT.value, _CHOICES.value, _CHOICE_LEN.value
  model = Decoder(ModelConfig(**{**PRESETS[_PRESET.value], "vocab_size": 4096, "max_len": max(p + l, 512)}))
  rng = np.random.default_rng(0)
  context = jnp.asarray(rng.integers(5, 4096, (b, p)), jnp.int32)
  choices = jnp.asarray(rng.integers(5, 4096, (b, c, l)), jnp.int32)
  params = model.init(jax.random.key(0), context[:1])["params"]
  cached = lambda: scoring.choice_logprobs(model, params, context, jnp.ones((b, p), bool), choices,
                                           jnp.ones((b, c, l), bool))
  naive = lambda: full_passes(model, params, context, choices)
  np.testing.assert_allclose(np.asarray(cached()), np.asarray(naive()), rtol=2e-3, atol=2e-3)
  t_cached, t_naive = timing.median_seconds(cached, _REPEATS.value), timing.median_seconds(naive, _REPEATS.value)
  print(f"{_PRESET.value}, {b} items x {c} choices, context {p} + choice {l} tokens, {jax.devices()[0].device_kind}:")
  print(f"  shared-prefix KV cache: {b / t_cached:8.1f} items/s ({t_cached * 1e3:.0f} ms per batch)")
  print(f"  one full pass a choice: {b / t_naive:8.1f} items/s ({t_naive * 1e3:.0f} ms per batch)")
  print(f"  speed-up: {t_naive / t_cached:.2f}x")


if __name__ == "__main__":
  cli.run(main)
