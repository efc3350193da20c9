"""Supervised fine-tuning of a decoder on prompt-response pairs: next-token loss on the response.

Batches come from `lm.data.transforms.instruction`: `weights` are 1 on response targets (and the
closing eos) only, so prompt tokens never carry loss, packed or not. `prompt_truncated` marks
examples whose prompt was cut to fit; it is summed into `truncated_count`.
"""

from __future__ import annotations

import jax.numpy as jnp

from lm.objectives import causal


def make_loss(model, z_loss: float = 0.0, *, train: bool = True) -> causal.LossFn:
  lm_loss = causal.make_loss(model, z_loss, train=train)

  def loss_fn(params, batch, rng):
    loss, metrics = lm_loss(params, batch, rng)
    if "prompt_truncated" in batch:
      metrics["truncated_count"] = jnp.sum(batch["prompt_truncated"]).astype(jnp.float32)
    return loss, metrics

  return loss_fn
