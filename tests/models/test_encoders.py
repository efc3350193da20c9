"""Encoder and encoder-decoder: bidirectional vs causal attention, heads, cached decoding."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from lm.models.config import ModelConfig
from lm.models.encoder import BertModel
from lm.models.encoder_decoder import EncoderDecoder

CONFIG = ModelConfig(vocab_size=61, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32)
X = jnp.asarray(np.random.default_rng(0).integers(3, 61, (2, 10)), jnp.int32)


def unbox(tree):
  return jax.tree.map(lambda x: x.value if hasattr(x, "value") else x, tree, is_leaf=lambda x: hasattr(x, "value"))


def test_encoder_attention_is_bidirectional():
  model = BertModel(CONFIG)
  params = unbox(jax.jit(lambda r: model.init(r, X, token_types_BxT=jnp.zeros_like(X)))(jax.random.key(0))["params"])
  forward = jax.jit(lambda x: model.apply({"params": params}, x, token_types_BxT=jnp.zeros_like(x)))
  out = forward(X)
  chex.assert_shape(out["mlm_logits"], (2, 10, 61))
  chex.assert_shape(out["cls_logits"], (2, 2))
  changed = forward(X.at[:, 8].set((X[:, 8] + 1) % 61))
  assert not np.allclose(out["hidden"][:, 2], changed["hidden"][:, 2], atol=1e-5), "a later token changes earlier outputs"
  assert not np.allclose(out["cls_logits"], changed["cls_logits"], atol=1e-6)


def test_token_types_matter():
  model = BertModel(CONFIG)
  params = unbox(jax.jit(lambda r: model.init(r, X, token_types_BxT=jnp.zeros_like(X)))(jax.random.key(0))["params"])
  a = model.apply({"params": params}, X, token_types_BxT=jnp.zeros_like(X))["hidden"]
  b = model.apply({"params": params}, X, token_types_BxT=jnp.ones_like(X))["hidden"]
  assert not np.allclose(a, b)


def encoder_decoder():
  model = EncoderDecoder(CONFIG)
  params = unbox(jax.jit(lambda r: model.init(r, X, None, None, X[:, :6]))(jax.random.key(1))["params"])
  return model, params


def test_encoder_decoder_decoder_is_causal_and_encoder_is_not():
  model, params = encoder_decoder()
  forward = jax.jit(lambda x, y: model.apply({"params": params}, x, None, None, y))
  y = X[:, :6]
  base = forward(X, y)
  chex.assert_shape(base, (2, 6, 61))
  later_target = forward(X, y.at[:, 4].set((y[:, 4] + 1) % 61))
  np.testing.assert_allclose(base[:, :4], later_target[:, :4], atol=1e-5)
  later_input = forward(X.at[:, 9].set((X[:, 9] + 1) % 61), y)
  assert not np.allclose(base[:, 0], later_input[:, 0], atol=1e-5), "every decoder position sees the whole input"


def test_encoder_decoder_cached_decoding_matches_the_full_pass():
  model, params = encoder_decoder()
  y = X[:, :6]
  full = model.apply({"params": params}, X, None, None, y)
  segments = jnp.ones_like(X)
  encoded = model.apply({"params": params}, X, method=EncoderDecoder.encode)
  decoder = model.clone(decode=True, cache_len=6)
  cache = jax.eval_shape(lambda: decoder.init(jax.random.key(0), X, None, None, y[:, :1]))["cache"]
  cache = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), cache)
  step = jax.jit(lambda c, tok, pos: decoder.apply({"params": params, "cache": c}, tok, jnp.ones_like(tok), pos,
                                                    encoded, segments, method=EncoderDecoder.decode_step,
                                                    mutable=["cache"]))
  outputs = []
  for i in range(6):
    logits, state = step(cache, y[:, i:i + 1], jnp.full((2, 1), i))
    cache = state["cache"]
    outputs.append(logits[:, 0])
  np.testing.assert_allclose(jnp.stack(outputs, axis=1), full, atol=1e-4)
