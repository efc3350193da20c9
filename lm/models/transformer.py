"""Transformer blocks and the decoder-only language model.

Shapes: B batch, T length, D width, V vocabulary.

The model returns logits (or the final hidden states for heads such as a reward or value head);
losses live in `lm.objectives`. Inputs always come with `segment_ids` and `positions` from the
input pipeline, so packed rows and padding need no special casing here.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from lm.models import layers
from lm.models.attention import Attention, RelativeBias
from lm.models.config import ModelConfig


class Block(nn.Module):
  """Residual block: self-attention [, cross-attention to `encoded`], MLP, each with a norm.

  Pre-norm (default): x + f(norm(x)); post-norm (`config.norm_position="post"`, BERT): norm(x + f(x)).
  `causal=False` gives the encoder's bidirectional block; `cross=True` the encoder-decoder's
  decoder block, which also attends to the encoder's output. `queries_for_last=k`: outputs for the last k
  positions only, `[B, k, D]` (the stack's final layer when only those are read).
  """

  config: ModelConfig
  causal: bool = True
  decode: bool = False
  cache_len: int = 0
  cross: bool = False
  queries_for_last: int = 0

  @nn.compact
  def __call__(self, x_BxTxD, segment_ids_BxT, positions_BxT, deterministic: bool, encoded_BxSxD=None,
               encoded_segment_ids_BxS=None, relative_table_RxN=None):
    c = self.config
    drop = nn.Dropout(c.dropout, deterministic=deterministic)
    post = c.norm_position == "post"

    def residual(x_BxTxD, name, branch, last=0):
      """x + branch(x) (normed before or after); a branch returning the last `last` positions only keeps those."""
      norm = layers.Norm(c, name=f"{name}_norm")
      skip_BxTxD = x_BxTxD[:, -last:] if last else x_BxTxD
      if post:
        return norm(skip_BxTxD + drop(branch(x_BxTxD)))
      return skip_BxTxD + drop(branch(norm(x_BxTxD)))

    if self.queries_for_last and self.cross:
      raise ValueError("queries_for_last is not supported in a cross-attending block.")
    attention = Attention(c, self.causal, self.decode, self.cache_len, queries_for_last=self.queries_for_last,
                          name="attention")
    x_BxTxD = residual(x_BxTxD, "attention", lambda h: attention(
        h, segment_ids_BxT, positions_BxT, relative_table_RxN=relative_table_RxN), last=self.queries_for_last)
    if self.cross:
      x_BxTxD = residual(x_BxTxD, "cross_attention", lambda h: Attention(c, causal=False, name="cross_attention")(
          h, segment_ids_BxT, positions_BxT, kv_BxSxD=encoded_BxSxD, kv_segment_ids_BxS=encoded_segment_ids_BxS))
    x_BxTxD = residual(x_BxTxD, "mlp", layers.Mlp(c, name="mlp"))
    return nn.with_logical_constraint(x_BxTxD, ("act_batch", "act_length", "act_embed"))


class _ScannedBlock(Block):
  """A Block with the (carry, per-layer input) -> (carry, output) signature nn.scan needs."""

  @nn.compact
  def __call__(self, x_BxTxD, *args):  # pylint: disable=arguments-differ
    return super().__call__(x_BxTxD, *args), None


_REMAT_POLICIES = {
    "full": jax.checkpoint_policies.nothing_saveable,
    "dots": jax.checkpoint_policies.checkpoint_dots_with_no_batch_dims,
}


class Stack(nn.Module):
  """`num_layers` blocks, optionally scanned (one compiled layer) and rematerialised.

  `outputs_for_last=k`: returns the last k positions only, `[B, k, D]`; unrolled, the final layer computes only
  those (its other queries feed nothing), scanned, every layer runs whole and the result is sliced.
  """

  config: ModelConfig
  causal: bool = True
  decode: bool = False
  cache_len: int = 0
  cross: bool = False
  outputs_for_last: int = 0

  @nn.compact
  def __call__(self, x_BxTxD, segment_ids_BxT, positions_BxT, deterministic: bool, encoded_BxSxD=None,
               encoded_segment_ids_BxS=None):
    c = self.config
    block = _ScannedBlock if c.scan_layers else Block
    if c.remat != "none":
      block = nn.remat(block, policy=_REMAT_POLICIES[c.remat], static_argnums=(4,))
    relative_table_RxN = RelativeBias(c, name="relative_bias")() if c.positions == "relative" else None
    args = (segment_ids_BxT, positions_BxT, deterministic, encoded_BxSxD, encoded_segment_ids_BxS, relative_table_RxN)
    make = lambda cls, name, last=0: cls(c, self.causal, self.decode, self.cache_len, self.cross, last, name=name)
    last = self.outputs_for_last
    if c.scan_layers:
      scanned = nn.scan(block, variable_axes={"params": 0, "cache": 0}, split_rngs={"params": True, "dropout": True},
                        in_axes=(nn.broadcast,) * 6, length=c.num_layers,
                        metadata_params={nn.PARTITION_NAME: "layers"})
      x_BxTxD, _ = make(scanned, "layers")(x_BxTxD, *args)
      return x_BxTxD[:, -last:] if last else x_BxTxD
    for i in range(c.num_layers):
      x_BxTxD = make(block, f"layer_{i}", last if i == c.num_layers - 1 else 0)(x_BxTxD, *args)
    return x_BxTxD


def default_segments_and_positions(tokens_BxT, segment_ids_BxT=None, positions_BxT=None):
  """One segment and positions 0..T-1 when the caller gives none (unpacked, unpadded input)."""
  if segment_ids_BxT is None:
    segment_ids_BxT = jnp.ones_like(tokens_BxT)
  if positions_BxT is None:
    positions_BxT = jnp.broadcast_to(jnp.arange(tokens_BxT.shape[1]), tokens_BxT.shape)
  return segment_ids_BxT, positions_BxT


def embedding_norm(config: ModelConfig, x_BxTxD):
  """Post-norm models (BERT) normalise the summed embeddings; pre-norm ones pass them on as they are."""
  return layers.Norm(config, name="embedding_norm")(x_BxTxD) if config.norm_position == "post" else x_BxTxD


def final_norm(config: ModelConfig, x_BxTxD, name: str = "final_norm"):
  """Pre-norm stacks end with a norm (their last residual sum is unnormalised); post-norm ones already did."""
  return layers.Norm(config, name=name)(x_BxTxD) if config.norm_position == "pre" else x_BxTxD


class Embedder(nn.Module):
  """Token (+ learned position) embeddings in, tied or separate output projection to logits."""

  config: ModelConfig

  def setup(self):
    c = self.config
    self.tokens = nn.Embed(c.vocab_size, c.d_model, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                           embedding_init=layers.init(c, "vocab", "embed"))
    if c.positions == "learned":
      self.position_table = nn.Embed(c.max_len, c.d_model, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                                     embedding_init=layers.init(c, "position", "embed"))
    if not c.tie_embeddings:
      self.unembed = nn.DenseGeneral(c.vocab_size, use_bias=False, dtype=c.compute_dtype,
                                     param_dtype=c.storage_dtype, kernel_init=layers.init(c, "embed", "vocab"))

  def embed(self, tokens_BxT, positions_BxT):
    x_BxTxD = self.tokens(tokens_BxT)
    if self.config.positions == "learned":
      x_BxTxD = x_BxTxD + self.position_table(positions_BxT)
    return x_BxTxD

  def logits(self, x_BxTxD):
    if self.config.scale_tied_logits and self.config.tie_embeddings:
      x_BxTxD = x_BxTxD * self.config.d_model ** -0.5
    b, t, d = x_BxTxD.shape
    x_BTxD = x_BxTxD.reshape(b * t, d)  # a 2-D matmul (see layers.Mlp)
    logits_BTxV = self.tokens.attend(x_BTxD) if self.config.tie_embeddings else self.unembed(x_BTxD)
    return logits_BTxV.reshape(b, t, -1)


class Decoder(nn.Module):
  """Decoder-only (GPT-style) language model: tokens -> next-token logits [B, T, V] (float32).

  `return_hidden=True` returns the final normalised hidden states [B, T, D] instead, for heads
  that read the representation (reward model, value head); `with_hidden=True` returns both,
  `(logits, hidden)` (a policy with a value head on the same trunk).
  `outputs_for_last=k` computes the outputs of the last k positions only (logits `[B, k, V]`, hidden states
  `[B, k, D]`): RL losses and scorers read only the response's positions, sampling's prefill only the prompt's last.
  The final layer then runs its queries, MLP and norms for those k positions only (keys and values still come from
  all T; their other outputs feed nothing), and the output projection covers only them: on the tiny model with a
  193-token prompt and a 32-token response that skips most of a layer and, with vocabulary 4,096 and width 128,
  most of the output projection (about 40% of the full pass's FLOPs).
  `decode=True` (set with `.replace`) keeps a KV cache of `cache_len` positions; see `lm.sampling`.
  """

  config: ModelConfig
  decode: bool = False
  cache_len: int = 0

  @nn.compact
  def __call__(self, tokens_BxT, segment_ids_BxT=None, positions_BxT=None, *, deterministic: bool = True,
               return_hidden: bool = False, with_hidden: bool = False, outputs_for_last: int = 0):
    c = self.config
    segment_ids_BxT, positions_BxT = default_segments_and_positions(tokens_BxT, segment_ids_BxT, positions_BxT)
    embedder = Embedder(c, name="embedder")
    x_BxTxD = embedder.embed(tokens_BxT, positions_BxT)
    x_BxTxD = nn.Dropout(c.dropout, deterministic=deterministic)(embedding_norm(c, x_BxTxD))
    x_BxKxD = Stack(c, causal=True, decode=self.decode, cache_len=self.cache_len, outputs_for_last=outputs_for_last,
                    name="stack")(x_BxTxD, segment_ids_BxT, positions_BxT, deterministic)
    x_BxKxD = final_norm(c, x_BxKxD)
    if return_hidden:
      return x_BxKxD
    logits_BxKxV = embedder.logits(x_BxKxD).astype(jnp.float32)
    return (logits_BxKxV, x_BxKxD) if with_hidden else logits_BxKxV
