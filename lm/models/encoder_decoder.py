"""Encoder-decoder transformer (T5-style): a bidirectional encoder and a causal decoder with cross-attention.

Shapes: B batch, S encoder length, T decoder length, D width, V vocabulary.
One embedding table serves encoder inputs, decoder inputs and the (tied) output projection.
`decode=True` (set with `.clone`) keeps the decoder's self-attention KV cache for generation;
use `method=EncoderDecoder.encode` once, then `method=EncoderDecoder.decode_step` per token.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from lm.models import layers
from lm.models.config import ModelConfig
from lm.models.transformer import Embedder, Stack, default_segments_and_positions


class EncoderDecoder(nn.Module):
  config: ModelConfig
  decode: bool = False
  cache_len: int = 0

  def setup(self):
    c = self.config
    if c.norm_position != "pre":
      raise ValueError("EncoderDecoder has pre-norm blocks only (T5); model.norm_position must be 'pre'.")
    self.embedder = Embedder(c)
    self.encoder = Stack(c, causal=False)
    self.encoder_norm = layers.Norm(c)
    self.decoder = Stack(c, causal=True, decode=self.decode, cache_len=self.cache_len, cross=True)
    self.decoder_norm = layers.Norm(c)
    self.dropout = nn.Dropout(c.dropout)

  def encode(self, inputs_BxS, segment_ids_BxS=None, positions_BxS=None, deterministic: bool = True):
    """Encoder output [B, S, D]."""
    segment_ids_BxS, positions_BxS = default_segments_and_positions(inputs_BxS, segment_ids_BxS, positions_BxS)
    x_BxSxD = self.dropout(self.embedder.embed(inputs_BxS, positions_BxS), deterministic=deterministic)
    return self.encoder_norm(self.encoder(x_BxSxD, segment_ids_BxS, positions_BxS, deterministic))

  def decode_step(self, decoder_inputs_BxT, decoder_segment_ids_BxT, decoder_positions_BxT, encoded_BxSxD,
                  encoder_segment_ids_BxS, deterministic: bool = True):
    """Next-token logits [B, T, V] (float32) of the decoder given the encoder output."""
    x_BxTxD = self.dropout(self.embedder.embed(decoder_inputs_BxT, decoder_positions_BxT), deterministic=deterministic)
    x_BxTxD = self.decoder(x_BxTxD, decoder_segment_ids_BxT, decoder_positions_BxT, deterministic, encoded_BxSxD,
                           encoder_segment_ids_BxS)
    return self.embedder.logits(self.decoder_norm(x_BxTxD)).astype(jnp.float32)

  def __call__(self, inputs_BxS, segment_ids_BxS, positions_BxS, decoder_inputs_BxT, decoder_segment_ids_BxT=None,
               decoder_positions_BxT=None, *, deterministic: bool = True):
    segment_ids_BxS, positions_BxS = default_segments_and_positions(inputs_BxS, segment_ids_BxS, positions_BxS)
    decoder_segment_ids_BxT, decoder_positions_BxT = default_segments_and_positions(
        decoder_inputs_BxT, decoder_segment_ids_BxT, decoder_positions_BxT)
    encoded_BxSxD = self.encode(inputs_BxS, segment_ids_BxS, positions_BxS, deterministic)
    return self.decode_step(decoder_inputs_BxT, decoder_segment_ids_BxT, decoder_positions_BxT, encoded_BxSxD,
                            segment_ids_BxS, deterministic)
