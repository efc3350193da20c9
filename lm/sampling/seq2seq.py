"""Generation with an encoder-decoder: encode once, then decode with the KV cache, compiled whole.

Shapes: B batch, S source length, N new tokens. Sources are right-padded (the encoder masks
padding through segment id 0); the decoder starts every row from `bos`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lm.models.encoder_decoder import EncoderDecoder
from lm.sampling.decode import SamplingConfig, sample_loop


@functools.partial(jax.jit, static_argnames=("model", "config", "bos_id", "eos_id", "pad_id"))
def generate(model: EncoderDecoder, params, inputs_BxS: jax.Array, mask_BxS: jax.Array, rng: jax.Array, *,
             config: SamplingConfig, bos_id: int, eos_id: int, pad_id: int = 0):
  """Up to `config.max_new_tokens` target tokens per source; returns `(tokens_BxN, lengths_B)` as
  `lm.sampling.decode.generate` does (pad after a row's eos; lengths include the eos)."""
  b, n = inputs_BxS.shape[0], config.max_new_tokens
  segments_BxS = mask_BxS.astype(jnp.int32)
  positions_BxS = jnp.maximum(jnp.cumsum(segments_BxS, axis=1) - 1, 0)
  encoded_BxSxD = model.apply({"params": params}, inputs_BxS, segments_BxS, positions_BxS,
                              method=EncoderDecoder.encode)
  decoder = model.clone(decode=True, cache_len=n + 1)  # bos plus every sampled token
  start_Bx1 = jnp.full((b, 1), bos_id, jnp.int32)
  shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), inputs_BxS, segments_BxS, positions_BxS, start_Bx1))
  cache = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes["cache"])

  def step(cache, token_B, i):  # token i (0 = bos) sits at decoder position i
    logits_Bx1xV, variables = decoder.apply({"params": params, "cache": cache}, token_B[:, None],
                                            jnp.ones((b, 1), jnp.int32), jnp.full((b, 1), i, jnp.int32),
                                            encoded_BxSxD, segments_BxS, method=EncoderDecoder.decode_step,
                                            mutable=["cache"])
    return variables["cache"], logits_Bx1xV[:, -1]

  cache, first_logits_BxV = step(cache, start_Bx1[:, 0], 0)
  return sample_loop(lambda c, token_B, i: step(c, token_B, i + 1), cache, first_logits_BxV, rng, config=config,
                     eos_id=eos_id, pad_id=pad_id)
