"""Multi-head attention with grouped-query heads, segment masks and a KV cache.

Shapes: B batch, T query length, S key length, D width, N query heads, K key/value heads, H head width.

Masks: a query attends to a key only if both belong to the same segment (packed rows hold several
examples; `segment_ids` 0 marks padding) and, when `causal`, the key is not in the future.
`jax.nn.dot_product_attention` does the work, so GPUs get the fused cuDNN kernel.

KV cache (`decode=True`): keys and values of every processed token are kept in the `cache`
collection, `[B, K, cache_len, H]`, with a validity mask and a write index. A call with T tokens
(a whole prompt, then one token at a time) writes them at the index and attends over everything
written so far; padding tokens (segment 0) are written but never attended to.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from lm.models import layers
from lm.models.config import ModelConfig


# Causal self-attention on CPU runs its queries in blocks of at least this many rows (at most MAX_CAUSAL_BLOCKS),
# each over the keys up to its last query: 4 blocks skip 3/8 of the scores, softmax and weighted sum, all of
# which the mask would throw away (the tiny step at 224 tokens ~7% faster; same values).
CAUSAL_BLOCK_ROWS, MAX_CAUSAL_BLOCKS = 64, 4


def segment_mask(q_segments_BxT: jax.Array, k_segments_BxS: jax.Array, causal: bool) -> jax.Array:
  """Boolean [B, 1, T, S]: True where query t may attend to key s.

  Self-attention may ask for fewer queries than keys (T < S): the queries are then the last T positions.
  """
  mask_BxTxS = q_segments_BxT[:, :, None] == k_segments_BxS[:, None, :]
  if causal:
    t, s = q_segments_BxT.shape[1], k_segments_BxS.shape[1]
    mask_BxTxS &= jnp.arange(s - t, s)[:, None] >= jnp.arange(s)[None, :]
  return mask_BxTxS[:, None]


def resolve_implementation(name: str, dtype) -> str:
  """`auto`: the cuDNN fused kernel on GPU for 16-bit compute, plain einsums on CPU, XLA elsewhere."""
  if name != "auto":
    return name
  backend = jax.default_backend()
  if backend == "gpu" and jnp.dtype(dtype).itemsize == 2:
    return "cudnn"
  return "einsum" if backend == "cpu" else "xla"


def attend(q_BxTxNxH, k_BxSxKxH, v_BxSxKxH, mask_Bx1xTxS, implementation: str = "auto", *,
           bias_BxNxTxS=None, scale: bool = True, causal_blocks: int = 1):
  """softmax(q k^T [/ sqrt(H)] [+ bias] masked) v, by `jax.nn.dot_product_attention` or, on CPU, by einsums.

  On CPU the einsum form is 2-3x faster than the generic XLA lowering of dot_product_attention
  (whose grouped 5-D contraction is slow there); grouped kv heads are repeated to the query heads.
  `bias_BxNxTxS` (T5's relative positions) is added to the logits; `scale=False` skips the 1/sqrt(H).
  `causal_blocks=n` (einsum path, T == S, a mask that is causal at least): the queries go in n blocks, each
  attending only to the keys up to its last query; the masked-out rest is never computed.
  """
  implementation = resolve_implementation(implementation, q_BxTxNxH.dtype)
  factor = q_BxTxNxH.shape[-1] ** -0.5 if scale else 1.0
  if implementation != "einsum":
    return jax.nn.dot_product_attention(q_BxTxNxH, k_BxSxKxH, v_BxSxKxH, bias=bias_BxNxTxS, mask=mask_Bx1xTxS,
                                        scale=factor, implementation=None if implementation == "xla" else implementation)
  groups = q_BxTxNxH.shape[2] // k_BxSxKxH.shape[2]
  if groups > 1:
    k_BxSxKxH = jnp.repeat(k_BxSxKxH, groups, axis=2)
    v_BxSxKxH = jnp.repeat(v_BxSxKxH, groups, axis=2)
  # Head-major operands ([B, N, T, H]): batched matmuls whose batch axes lead in both operands and the result,
  # which CPU matmul libraries run without strided copies (attention's forward and backward ~20% faster).
  q_BxNxTxH, k_BxNxSxH, v_BxNxSxH = (x.swapaxes(1, 2) for x in (q_BxTxNxH, k_BxSxKxH, v_BxSxKxH))
  t, s = q_BxNxTxH.shape[2], k_BxNxSxH.shape[2]

  def block(lo, hi, end):
    """Queries lo:hi over keys :end."""
    logits_BxNxTxS = jnp.einsum("bnth,bnsh->bnts", q_BxNxTxH[:, :, lo:hi], k_BxNxSxH[:, :, :end])
    logits_BxNxTxS = logits_BxNxTxS.astype(jnp.float32) * factor
    if bias_BxNxTxS is not None:
      logits_BxNxTxS = logits_BxNxTxS + bias_BxNxTxS[:, :, lo:hi, :end].astype(jnp.float32)
    logits_BxNxTxS = jnp.where(mask_Bx1xTxS[:, :, lo:hi, :end], logits_BxNxTxS, jnp.finfo(jnp.float32).min)
    probs_BxNxTxS = jax.nn.softmax(logits_BxNxTxS, axis=-1).astype(v_BxSxKxH.dtype)
    return jnp.einsum("bnts,bnsh->bnth", probs_BxNxTxS, v_BxNxSxH[:, :, :end])

  blocks = min(causal_blocks, t) if t == s else 1
  if blocks <= 1:
    return block(0, t, s).swapaxes(1, 2)
  edges = [t * i // blocks for i in range(blocks + 1)]
  return jnp.concatenate([block(lo, hi, hi) for lo, hi in zip(edges[:-1], edges[1:])], axis=2).swapaxes(1, 2)


class RelativeBias(nn.Module):
  """T5's relative position bias: one learned `[buckets, N]` table per stack, added to every layer's logits.

  The stack owns the table (`__call__` returns it) and each self-attention reads it by the
  query and key positions, so packed rows and the KV cache (whose key positions are cached) need
  nothing special.
  """

  config: ModelConfig

  @nn.compact
  def __call__(self) -> jax.Array:
    c = self.config
    return self.param("embedding", layers.init(c, "relative_buckets", "heads"), (c.relative_buckets, c.num_heads),
                      c.storage_dtype)


def relative_bias(table_RxN: jax.Array, q_positions_BxT: jax.Array, k_positions_BxS: jax.Array, causal: bool,
                  config: ModelConfig) -> jax.Array:
  """The bias [B, N, T, S] of each query-key pair, looked up in `table_RxN` by its relative-position bucket."""
  relative_BxTxS = k_positions_BxS[:, None, :] - q_positions_BxT[:, :, None]
  buckets_BxTxS = layers.relative_bucket(relative_BxTxS, not causal, config.relative_buckets,
                                         config.relative_max_distance)
  return jnp.transpose(table_RxN[buckets_BxTxS], (0, 3, 1, 2))


class Attention(nn.Module):
  """Self-attention (or cross-attention when `kv_BxSxD` is given).

  `queries_for_last=k` (self-attention): outputs for the last k positions only, `[B, k, D]`, with keys and values
  from all T (a final layer whose other positions nobody reads; see `Decoder`'s `outputs_for_last`).
  """

  config: ModelConfig
  causal: bool = True
  decode: bool = False
  cache_len: int = 0  # positions the KV cache holds (decode only)
  queries_for_last: int = 0

  @nn.compact
  def __call__(self, x_BxTxD: jax.Array, segment_ids_BxT: jax.Array, positions_BxT: jax.Array, *,
               kv_BxSxD: jax.Array | None = None, kv_segment_ids_BxS: jax.Array | None = None,
               relative_table_RxN: jax.Array | None = None) -> jax.Array:
    c = self.config
    n, k, h = c.num_heads, c.kv_heads, c.head_size
    qkv_bias = c.projection_bias != "none"
    proj = lambda heads, axis, name: layers.dense(c, (heads, h), ("embed",), (axis, "head_dim"), name, bias=qkv_bias)
    cross = kv_BxSxD is not None
    source_BxSxD = kv_BxSxD if cross else x_BxTxD
    last = self.queries_for_last
    if last and cross:
      raise ValueError("queries_for_last is for self-attention only.")
    keep = (lambda a_BxT: a_BxT[:, -last:]) if last else (lambda a_BxT: a_BxT)
    q_source_BxTxD, q_positions_BxT = keep(x_BxTxD), keep(positions_BxT)
    b, t, d = q_source_BxTxD.shape
    s = source_BxSxD.shape[1]
    # Projections run on [B*T, D]: plain 2-D matmuls, whose backward needs no transposes on CPU.
    q_BxTxNxH = proj(n, "heads", "query")(q_source_BxTxD.reshape(b * t, d)).reshape(b, t, n, h)
    source_BSxD = source_BxSxD.reshape(b * s, d)
    k_BxSxKxH = proj(k, "kv_heads", "key")(source_BSxD).reshape(b, s, k, h)
    v_BxSxKxH = proj(k, "kv_heads", "value")(source_BSxD).reshape(b, s, k, h)
    if c.positions == "rotary" and not cross:
      q_BxTxNxH = layers.rotary(q_BxTxNxH, q_positions_BxT, c.rope_base)
      k_BxSxKxH = layers.rotary(k_BxSxKxH, positions_BxT, c.rope_base)

    k_positions_BxS = positions_BxT
    if self.decode and not cross:
      k_BxSxKxH, v_BxSxKxH, mask_Bx1xTxS, k_positions_BxS = self._update_cache(
          k_BxSxKxH, v_BxSxKxH, segment_ids_BxT, positions_BxT)
      mask_Bx1xTxS = mask_Bx1xTxS[:, :, -t:]
    elif cross:
      mask_Bx1xTxS = ((segment_ids_BxT[:, :, None] > 0) & (kv_segment_ids_BxS[:, None, :] > 0))[:, None]
    else:
      mask_Bx1xTxS = segment_mask(keep(segment_ids_BxT), segment_ids_BxT, self.causal)
    bias_BxNxTxS = None
    if relative_table_RxN is not None and not cross:
      bias_BxNxTxS = relative_bias(relative_table_RxN, q_positions_BxT, k_positions_BxS, self.causal, c)

    blocks = min(MAX_CAUSAL_BLOCKS, t // CAUSAL_BLOCK_ROWS) if self.causal and not cross and not self.decode else 1
    out_BxTxNxH = attend(q_BxTxNxH, k_BxSxKxH, v_BxSxKxH, mask_Bx1xTxS, c.attention, bias_BxNxTxS=bias_BxNxTxS,
                         scale=c.scale_attention, causal_blocks=blocks)
    out = layers.dense(c, c.d_model, ("heads", "head_dim"), ("embed",), "out", axis=(-2, -1),
                       bias=c.projection_bias == "all", scale=(2 * c.num_layers) ** -0.5)
    return out(out_BxTxNxH.reshape(b * t, n, h)).reshape(b, t, c.d_model)

  def _update_cache(self, k_BxTxKxH, v_BxTxKxH, segment_ids_BxT, positions_BxT):
    """Writes this call's keys/values into the cache; returns the cache, the query mask and the keys' positions."""
    b, t, kh, h = k_BxTxKxH.shape
    s = self.cache_len
    if s <= 0:
      raise ValueError("decode=True needs cache_len > 0 (the longest prompt + generation).")
    # Stored [B, K, S, H], the layout the attention einsums read: stored [B, S, K, H], every step's write became a
    # transposed copy of the whole cache (a quarter of a GPT-2-small-shaped sampling call on CPU).
    cached_k = self.variable("cache", "cached_key", jnp.zeros, (b, kh, s, h), k_BxTxKxH.dtype)
    cached_v = self.variable("cache", "cached_value", jnp.zeros, (b, kh, s, h), v_BxTxKxH.dtype)
    valid = self.variable("cache", "valid", jnp.zeros, (b, s), jnp.bool_)
    index = self.variable("cache", "index", lambda: jnp.zeros((), jnp.int32))
    i = index.value
    cached_k.value = jax.lax.dynamic_update_slice(cached_k.value, k_BxTxKxH.swapaxes(1, 2), (0, 0, i, 0))
    cached_v.value = jax.lax.dynamic_update_slice(cached_v.value, v_BxTxKxH.swapaxes(1, 2), (0, 0, i, 0))
    valid.value = jax.lax.dynamic_update_slice(valid.value, segment_ids_BxT > 0, (0, i))
    k_positions_BxS = None
    if self.config.positions == "relative":  # the bias needs every cached key's position
      cached_positions = self.variable("cache", "positions", jnp.zeros, (b, s), jnp.int32)
      cached_positions.value = jax.lax.dynamic_update_slice(cached_positions.value,
                                                            positions_BxT.astype(jnp.int32), (0, i))
      k_positions_BxS = cached_positions.value
    index.value = i + t
    # Query t (absolute position i + t) sees written, valid keys at positions <= i + t.
    causal_TxS = (i + jnp.arange(t))[:, None] >= jnp.arange(s)[None, :]
    mask_Bx1xTxS = (causal_TxS[None] & valid.value[:, None, :])[:, None]
    return cached_k.value.swapaxes(1, 2), cached_v.value.swapaxes(1, 2), mask_Bx1xTxS, k_positions_BxS
