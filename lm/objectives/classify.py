"""Classification losses: one label per sequence (sentiment) or per token (NER).

Shapes: B batch, T length, C classes. Batches come from `lm.data.transforms.classification`
(`label` [B]) or `token_classification` (`labels` [B, T] with `label_weights` [B, T]: 1 on the
first piece of each word, 0 on the other pieces, specials and padding). Both carry `truncated`
[B, T], 1 on the first position of an example that was cut to fit, summed into `truncated_count`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lm.objectives.causal import LossFn, token_cross_entropy, weighted_mean


def classification_metrics(logits, labels, weights) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Mean cross-entropy and accuracy over weighted labels; logits [..., C], labels and weights [...]."""
  weights = weights.astype(jnp.float32)
  nll, _ = token_cross_entropy(logits, labels)
  loss = weighted_mean(nll, weights)
  correct = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
  return loss, {"loss": loss, "accuracy": weighted_mean(correct, weights), "weight": jnp.sum(weights)}


def make_loss(model, *, per_token: bool, train: bool = True) -> LossFn:
  """The loss of a `lm.models.heads.Classifier`; `weight` counts labelled examples (or words)."""

  def loss_fn(params, batch, rng):
    logits = model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"],
                         deterministic=not train, rngs={"dropout": rng} if train else None)
    if per_token:
      labels, weights = batch["labels"], batch["label_weights"]
    else:  # rows without tokens (padding of a last evaluation batch) do not count
      labels, weights = batch["label"], jnp.any(batch["segment_ids"] > 0, axis=1)
    loss, metrics = classification_metrics(logits, labels, weights)
    if "truncated" in batch:
      metrics["truncated_count"] = jnp.sum(batch["truncated"]).astype(jnp.float32)
    return loss, metrics

  return loss_fn
