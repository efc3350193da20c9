"""Causal language modelling: next-token cross-entropy with loss weights and optional z-loss.

Shapes: B batch, T length, V vocabulary. Batches come from `lm.data.transforms.causal_lm`:
`inputs`, `targets` (already shifted), `weights` (0 on padding), `segment_ids`, `positions`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Metrics = dict[str, jax.Array]
LossFn = Callable[[dict, dict, jax.Array], tuple[jax.Array, Metrics]]  # (params, batch, rng) -> (loss, metrics)


def token_cross_entropy(logits_BxTxV: jax.Array, targets_BxT: jax.Array, z_loss: float = 0.0):
  """Per-token cross-entropy [B, T] and the z-loss term z_loss * logsumexp^2 [B, T], in float32."""
  logits_BxTxV = logits_BxTxV.astype(jnp.float32)
  log_z_BxT = jax.nn.logsumexp(logits_BxTxV, axis=-1)
  target_logit_BxT = jnp.take_along_axis(logits_BxTxV, targets_BxT[..., None], axis=-1)[..., 0]
  return log_z_BxT - target_logit_BxT, z_loss * jnp.square(log_z_BxT)


def top_is_target(logits_BxTxV: jax.Array, targets_BxT: jax.Array) -> jax.Array:
  """Whether the target has the largest logit (accuracy). The same as `argmax == target` but for exact ties, and
  a plain max: on CPU the argmax's index-carrying reduction over the vocabulary costs more than the loss itself."""
  logits_BxTxV = logits_BxTxV.astype(jnp.float32)
  target_logit_BxT = jnp.take_along_axis(logits_BxTxV, targets_BxT[..., None], axis=-1)[..., 0]
  return target_logit_BxT >= jnp.max(logits_BxTxV, axis=-1)


def weighted_mean(x: jax.Array, weights: jax.Array) -> jax.Array:
  return jnp.sum(x * weights) / jnp.maximum(jnp.sum(weights), 1e-8)


def lm_metrics(logits_BxTxV, targets_BxT, weights_BxT, z_loss: float) -> tuple[jax.Array, Metrics]:
  """Loss (mean NLL + z-loss over weighted tokens) and the standard metrics."""
  weights_BxT = weights_BxT.astype(jnp.float32)
  nll_BxT, z_BxT = token_cross_entropy(logits_BxTxV, targets_BxT, z_loss)
  nll = weighted_mean(nll_BxT, weights_BxT)
  loss = nll + weighted_mean(z_BxT, weights_BxT)
  correct_BxT = top_is_target(logits_BxTxV, targets_BxT).astype(jnp.float32)
  metrics = {
      "loss": loss,
      "nll": nll,
      "accuracy": weighted_mean(correct_BxT, weights_BxT),
      "weight": jnp.sum(weights_BxT),  # tokens counted: aggregation weights batches by it
  }
  if z_loss:
    metrics["z_loss"] = loss - nll
  return loss, metrics


def make_loss(model, z_loss: float = 0.0, *, train: bool = True) -> LossFn:
  """The causal-LM loss of a `Decoder`; dropout is active only when `train`."""

  def loss_fn(params, batch, rng):
    logits_BxTxV = model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"],
                               deterministic=not train, rngs={"dropout": rng} if train else None)
    return lm_metrics(logits_BxTxV, batch["targets"], batch["weights"], z_loss)

  return loss_fn
