"""The decoder: shapes, causal and segment masking, KV-cache decoding, a golden loss value."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.models.config import ModelConfig
from lm.models.transformer import Decoder
from lm.objectives import causal
from lm.sampling import decode

BASE = dict(vocab_size=61, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32)
VARIANTS = {
    "gpt": {},
    "llama": dict(positions="rotary", norm="rmsnorm", activation="swiglu", num_kv_heads=2),
    "scanned_remat": dict(scan_layers=True, remat="full", tie_embeddings=False),
}


def make(variant="gpt", **overrides):
  model = Decoder(ModelConfig(**{**BASE, **VARIANTS[variant], **overrides}))
  params = jax.jit(model.init)(jax.random.key(0), jnp.ones((1, 8), jnp.int32))["params"]
  return model, jax.tree.map(lambda x: x.value if hasattr(x, "value") else x, params,
                             is_leaf=lambda x: hasattr(x, "value"))


def forward(model, params, *args, **kwargs):
  """A jitted forward pass (eager flax dispatches op by op and is far slower to test)."""
  return jax.jit(lambda p, *a: model.apply({"params": p}, *a, **kwargs))(params, *args)


def tokens(b=2, t=12, seed=0):
  return jnp.asarray(np.random.default_rng(seed).integers(3, BASE["vocab_size"], (b, t)), jnp.int32)


@pytest.mark.parametrize("variant", VARIANTS)
def test_output_shapes(variant):
  model, params = make(variant)
  x = tokens()
  logits = forward(model, params, x)
  chex.assert_shape(logits, (2, 12, BASE["vocab_size"]))
  assert logits.dtype == jnp.float32
  hidden = forward(model, params, x, return_hidden=True)
  chex.assert_shape(hidden, (2, 12, BASE["d_model"]))
  # Outputs of the last positions only (RL losses, sampling's prefill; unrolled, the final layer runs only their
  # queries): the same numbers as the full pass's, for padded rows too.
  last = forward(model, params, x, outputs_for_last=5)
  chex.assert_shape(last, (2, 5, BASE["vocab_size"]))
  np.testing.assert_allclose(last, logits[:, -5:], rtol=1e-5, atol=1e-5)
  last_hidden = forward(model, params, x, return_hidden=True, outputs_for_last=5)
  np.testing.assert_allclose(last_hidden, hidden[:, -5:], rtol=1e-5, atol=1e-5)
  segments = jnp.asarray([[0] * 3 + [1] * 9, [1] * 10 + [0] * 2])  # left- and right-padded rows
  positions = jnp.maximum(jnp.cumsum(segments, axis=1) - 1, 0)
  padded = forward(model, params, x, segments, positions)
  np.testing.assert_allclose(forward(model, params, x, segments, positions, outputs_for_last=3), padded[:, -3:],
                             rtol=1e-5, atol=1e-5)


def test_bfloat16_compute_returns_float32_logits():
  model, params = make(dtype="bfloat16")
  assert forward(model, params, tokens()).dtype == jnp.float32


@pytest.mark.parametrize("variant", VARIANTS)
def test_changing_a_future_token_never_changes_earlier_logits(variant):
  model, params = make(variant)
  x = tokens(b=1)
  y = x.at[0, 7].set((x[0, 7] + 1) % BASE["vocab_size"])
  a, b = forward(model, params, x), forward(model, params, y)
  np.testing.assert_allclose(a[0, :7], b[0, :7], atol=1e-6)
  assert not np.allclose(a[0, 7:], b[0, 7:], atol=1e-4), "the changed token must matter from its position on"


@pytest.mark.parametrize("variant", VARIANTS)
def test_packed_segments_never_attend_to_each_other(variant):
  model, params = make(variant)
  first, second = tokens(b=1, t=5, seed=1), tokens(b=1, t=7, seed=2)
  packed = jnp.concatenate([first, second], axis=1)
  segments = jnp.asarray([[1] * 5 + [2] * 7])
  positions = jnp.asarray([list(range(5)) + list(range(7))])
  out = forward(model, params, packed, segments, positions)
  alone_first = forward(model, params, first)
  alone_second = forward(model, params, second)
  np.testing.assert_allclose(out[:, :5], alone_first, atol=1e-5)
  np.testing.assert_allclose(out[:, 5:], alone_second, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_kv_cache_decoding_matches_the_full_forward_pass(variant):
  model, params = make(variant)
  prompts = [[5, 6, 7, 8, 9], [10, 11]]
  continuation = tokens(b=2, t=6, seed=3)
  prompt, mask = decode.left_pad(prompts)
  decoder, cache = decode.init_cache(model, 2, prompt.shape[1] + 6)
  segments = jnp.asarray(mask, jnp.int32)
  positions = jnp.maximum(jnp.cumsum(segments, axis=1) - 1, 0)
  apply = jax.jit(lambda c, *a: decoder.apply({"params": params, "cache": c}, *a, mutable=["cache"]))
  logits, state = apply(cache, jnp.asarray(prompt), segments, positions)
  stepwise = [logits[:, -1]]
  for i in range(5):
    out, state = apply(state["cache"], continuation[:, i:i + 1], jnp.ones((2, 1), jnp.int32), positions[:, -1:] + 1 + i)
    stepwise.append(out[:, 0])
  for row, p in enumerate(prompts):
    full = forward(model, params, jnp.concatenate([jnp.asarray([p]), continuation[row:row + 1, :5]], axis=1))
    np.testing.assert_allclose(jnp.stack([s[row] for s in stepwise]), full[0, len(p) - 1:], atol=1e-4)


GOLDEN_LOSS = 4.151299476623535  # recorded from this code at the commit that added the test


def test_golden_loss_on_a_fixed_seed():
  """Guards against silent changes to initialisation, masking or the loss (update deliberately)."""
  model, params = make("gpt")
  x = tokens(b=2, t=9)
  batch = {"inputs": x[:, :-1], "targets": x[:, 1:], "weights": jnp.ones((2, 8)).at[1, 6:].set(0),
           "segment_ids": jnp.ones((2, 8), jnp.int32), "positions": jnp.tile(jnp.arange(8), (2, 1))}
  loss, metrics = jax.jit(causal.make_loss(model, train=False))(params, batch, None)
  # ln(61) = 4.1109: a fresh model is close to uniform over the vocabulary.
  np.testing.assert_allclose(float(loss), GOLDEN_LOSS, rtol=1e-5)
  assert float(metrics["weight"]) == 14.0


def test_config_errors():
  with pytest.raises(ValueError, match="multiple of model.num_kv_heads"):
    ModelConfig(num_heads=4, num_kv_heads=3)
  with pytest.raises(ValueError, match="divisible by model.num_heads"):
    ModelConfig(d_model=30, num_heads=4)


def test_causal_blocks_compute_the_same_attention():
  """Queries in blocks over the keys up to each block's end: the full masked attention's values and gradients, with
  packed segments, padding, a bias, and blocks of unequal length."""
  from lm.models import attention  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  q, k, v = (jnp.asarray(rng.normal(size=(2, 11, 4, 8)), jnp.float32) for _ in range(3))
  bias = jnp.asarray(rng.normal(size=(2, 4, 11, 11)), jnp.float32)
  segments = jnp.asarray([[1] * 5 + [2] * 6, [0] * 3 + [1] * 8])
  mask = attention.segment_mask(segments, segments, causal=True)
  loss = lambda blocks: lambda q, k, v: jnp.sum(jnp.sin(attention.attend(
      q, k, v, mask, "einsum", bias_BxNxTxS=bias, causal_blocks=blocks)))
  full, full_grads = jax.value_and_grad(loss(1), argnums=(0, 1, 2))(q, k, v)
  for blocks in (2, 3, 4):
    value, grads = jax.value_and_grad(loss(blocks), argnums=(0, 1, 2))(q, k, v)
    np.testing.assert_allclose(value, full, rtol=1e-5)
    for a, b in zip(grads, full_grads):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
