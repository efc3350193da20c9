"""Encoder-decoder generation with the KV cache equals greedy decoding by full forward passes."""

import jax
import jax.numpy as jnp
import numpy as np

from lm.models.config import ModelConfig
from lm.models.encoder_decoder import EncoderDecoder
from lm.sampling import decode, seq2seq

CONFIG = ModelConfig(vocab_size=61, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32)
BOS, EOS = 1, 2


def test_cached_greedy_generation_matches_full_passes():
  model = EncoderDecoder(CONFIG)
  rng = np.random.default_rng(0)
  inputs = jnp.asarray(rng.integers(3, 61, (2, 8)), jnp.int32)
  mask = jnp.asarray([[True] * 8, [True] * 5 + [False] * 3])
  params = jax.tree.map(lambda x: getattr(x, "value", x),
                        model.init(jax.random.key(0), inputs, None, None, inputs[:, :3])["params"],
                        is_leaf=lambda x: hasattr(x, "value"))
  config = decode.SamplingConfig(max_new_tokens=6, temperature=0.0, stop_at_eos=False)
  tokens, lengths = seq2seq.generate(model, params, inputs, mask, jax.random.key(0), config=config, bos_id=BOS,
                                     eos_id=EOS)
  segments = mask.astype(jnp.int32)
  positions = jnp.maximum(jnp.cumsum(segments, axis=1) - 1, 0)
  expected = jnp.full((2, 1), BOS, jnp.int32)
  for _ in range(6):
    logits = model.apply({"params": params}, inputs, segments, positions, expected)
    expected = jnp.concatenate([expected, jnp.argmax(logits[:, -1], axis=-1)[:, None].astype(jnp.int32)], axis=1)
  np.testing.assert_array_equal(tokens, expected[:, 1:])
  assert lengths.tolist() == [6, 6]  # no stopping: every row runs to the budget


def test_the_shared_loop_stops_each_row_at_its_eos_and_pads_after_it():
  # A fake model: row r emits token 10 + i at step i, except eos at step r + 1.
  def step(cache, token_B, i):
    del token_B
    return cache, logits_at(i + 1)

  def logits_at(i):
    wanted = jnp.where(jnp.arange(3) + 1 == i, EOS, 10 + i)
    return jax.nn.one_hot(wanted, 61) * 10.0

  config = decode.SamplingConfig(max_new_tokens=5, temperature=0.0)
  tokens, lengths = decode.sample_loop(step, jnp.zeros(()), logits_at(0), jax.random.key(0), config=config,
                                       eos_id=EOS, pad_id=0)
  assert np.asarray(tokens).tolist() == [[10, EOS, 0, 0, 0], [10, 11, EOS, 0, 0], [10, 11, 12, EOS, 0]]
  assert np.asarray(lengths).tolist() == [2, 3, 4]
