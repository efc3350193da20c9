"""Building blocks shared by the decoder, encoder and encoder-decoder: norms, MLP, rotary positions.

Shapes: B batch, T length, D model width, F MLP width, N heads, H head width.
Every parameter carries logical axis names; `lm.training.sharding` maps them to mesh axes.
"""

from __future__ import annotations

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
  """Position-wise feed-forward: GELU (two matrices) or SwiGLU (three, gated)."""

  config: ModelConfig

  @nn.compact
  def __call__(self, x_BxTxD: jax.Array) -> jax.Array:
    c = self.config
    shape = x_BxTxD.shape
    x_BxTxD = x_BxTxD.reshape(-1, shape[-1])  # 2-D matmuls: their backward needs no transposes on CPU
    dense = lambda features, axes, name, scale=1.0: nn.DenseGeneral(
        features, use_bias=False, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
        kernel_init=init(c, *axes, scale=scale), name=name)
    if c.activation == "swiglu":
      gate_BxTxF = dense(c.d_ff, ("embed", "mlp"), "gate")(x_BxTxD)
      up_BxTxF = dense(c.d_ff, ("embed", "mlp"), "up")(x_BxTxD)
      h_BxTxF = nn.silu(gate_BxTxF) * up_BxTxF
    else:
      h_BxTxF = nn.gelu(dense(c.d_ff, ("embed", "mlp"), "up")(x_BxTxD))
    # Residual-branch outputs start small so the stream's variance does not grow with depth.
    return dense(c.d_model, ("mlp", "embed"), "down", scale=(2 * c.num_layers) ** -0.5)(h_BxTxF).reshape(shape)


def rotary(x_BxTxNxH: jax.Array, positions_BxT: jax.Array, base: float) -> jax.Array:
  """Rotary position embedding (RoPE): rotates pairs of channels by position-dependent angles."""
  half = x_BxTxNxH.shape[-1] // 2
  freqs_h = base ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angles_BxTx1xh = (positions_BxT[..., None].astype(jnp.float32) * freqs_h)[:, :, None, :]
  sin, cos = jnp.sin(angles_BxTx1xh), jnp.cos(angles_BxTx1xh)
  x1, x2 = jnp.split(x_BxTxNxH.astype(jnp.float32), 2, axis=-1)
  out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  return out.astype(x_BxTxNxH.dtype)
