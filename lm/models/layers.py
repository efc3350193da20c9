"""Building blocks shared by the decoder, encoder and encoder-decoder: norms, MLP, rotary positions.

Shapes: B batch, T length, D model width, F MLP width, N heads, H head width.
Every parameter carries logical axis names; `lm.training.sharding` maps them to mesh axes.
"""

from __future__ import annotations

import math

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

from lm.models.config import ModelConfig


@flax.struct.dataclass
class _Partitioned(nn.LogicallyPartitioned):
  """A logically partitioned parameter whose flattened draft is not constrained.

  `nn.DenseGeneral` draws a multi-axis kernel flat ([embed, heads * head_dim]), unboxes it and reshapes it
  into the box. Under active axis rules (the train step's, `lm.training.sharding.activation_rules`) that
  unbox would constrain the rank-2 draft with the kernel's three axis names and fail; only a value of the
  named rank is constrained.
  """

  def unbox(self, apply_constraint: bool = True):
    return super().unbox(apply_constraint and jnp.ndim(self.value) == len(self.names))


def init(config: ModelConfig, *axes: str, scale: float = 1.0):
  """A normal initializer with logical axis names `axes` attached (for sharding)."""
  base = nn.initializers.normal(config.init_std * scale)
  return lambda rng, shape, dtype=jnp.float32: _Partitioned(base(rng, shape, dtype), axes)


def zeros(*axes: str):
  """A zeros initializer (biases) with logical axis names `axes` attached."""
  return lambda rng, shape, dtype=jnp.float32: _Partitioned(jnp.zeros(shape, dtype), axes)


def dense(config: ModelConfig, features, in_axes: tuple[str, ...], out_axes: tuple[str, ...], name: str, *,
          bias: bool = False, scale: float = 1.0, axis=-1) -> nn.DenseGeneral:
  """A projection with logically named kernel (and bias) axes, in the config's dtypes."""
  c = config
  return nn.DenseGeneral(features, axis=axis, use_bias=bias, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                         kernel_init=init(c, *in_axes, *out_axes, scale=scale), bias_init=zeros(*out_axes), name=name)


# Pointwise nonlinearities by `ModelConfig.activation`; a gated MLP applies its function to the gate.
ACTIVATIONS = {
    "gelu": lambda x: nn.gelu(x, approximate=True),
    "gelu_exact": lambda x: nn.gelu(x, approximate=False),
    "relu": nn.relu,
    "swiglu": nn.silu,
    "geglu": lambda x: nn.gelu(x, approximate=True),
}


class Norm(nn.Module):
  """LayerNorm or RMSNorm over the last axis, per `config.norm`."""

  config: ModelConfig

  @nn.compact
  def __call__(self, x_BxTxD: jax.Array) -> jax.Array:
    c = self.config
    scale_init = nn.with_logical_partitioning(nn.initializers.ones, ("norm",))
    if c.norm == "rmsnorm":
      return nn.RMSNorm(epsilon=c.norm_eps, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                        scale_init=scale_init)(x_BxTxD)
    return nn.LayerNorm(epsilon=c.norm_eps, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                        scale_init=scale_init,
                        bias_init=nn.with_logical_partitioning(nn.initializers.zeros, ("norm",)))(x_BxTxD)


class Mlp(nn.Module):
  """Position-wise feed-forward: act(x up) down (two matrices), or gated, (act(x gate) * x up) down (three)."""

  config: ModelConfig

  @nn.compact
  def __call__(self, x_BxTxD: jax.Array) -> jax.Array:
    c = self.config
    shape = x_BxTxD.shape
    x_BTxD = x_BxTxD.reshape(-1, shape[-1])  # 2-D matmuls: their backward needs no transposes on CPU
    bias = c.projection_bias == "all"
    act = ACTIVATIONS[c.activation]
    h_BTxF = dense(c, c.d_ff, ("embed",), ("mlp",), "up", bias=bias)(x_BTxD)
    if c.gated:
      h_BTxF = act(dense(c, c.d_ff, ("embed",), ("mlp",), "gate", bias=bias)(x_BTxD)) * h_BTxF
    else:
      h_BTxF = act(h_BTxF)
    # Residual-branch outputs start small so the stream's variance does not grow with depth.
    down = dense(c, c.d_model, ("mlp",), ("embed",), "down", bias=bias, scale=(2 * c.num_layers) ** -0.5)
    return down(h_BTxF).reshape(shape)


def relative_bucket(relative_BxTxS: jax.Array, bidirectional: bool, num_buckets: int, max_distance: int) -> jax.Array:
  """T5's bucket of each relative position (key position - query position), in [0, num_buckets).

  Half the buckets (per direction, when bidirectional) hold distances exactly, the rest grow
  logarithmically up to `max_distance`; a causal stack only ever sees keys at or before the query.
  """
  buckets = jnp.zeros_like(relative_BxTxS)
  if bidirectional:
    num_buckets //= 2
    buckets += (relative_BxTxS > 0).astype(buckets.dtype) * num_buckets
    distance = jnp.abs(relative_BxTxS)
  else:
    distance = -jnp.minimum(relative_BxTxS, 0)
  exact = num_buckets // 2
  far = exact + (jnp.log(jnp.maximum(distance, 1).astype(jnp.float32) / exact) / math.log(max_distance / exact)
                 * (num_buckets - exact)).astype(buckets.dtype)
  far = jnp.minimum(far, num_buckets - 1)
  return buckets + jnp.where(distance < exact, distance, far)


def rotary(x_BxTxNxH: jax.Array, positions_BxT: jax.Array, base: float) -> jax.Array:
  """Rotary position embedding (RoPE): rotates pairs of channels by position-dependent angles."""
  half = x_BxTxNxH.shape[-1] // 2
  freqs_h = base ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angles_BxTx1xh = (positions_BxT[..., None].astype(jnp.float32) * freqs_h)[:, :, None, :]
  sin, cos = jnp.sin(angles_BxTx1xh), jnp.cos(angles_BxTx1xh)
  x1, x2 = jnp.split(x_BxTxNxH.astype(jnp.float32), 2, axis=-1)
  out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  return out.astype(x_BxTxNxH.dtype)
