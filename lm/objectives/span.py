"""T5 span corruption's loss: the encoder-decoder predicts the sentinel-delimited spans.

Batches come from `lm.data.transforms.span_corruption`: `inputs` (corrupted text with sentinels),
`decoder_inputs` (targets shifted right after a start token), `decoder_targets`,
`decoder_weights`, and each stream's `segment_ids` / `positions`.
"""

from __future__ import annotations

from lm.objectives.causal import lm_metrics


def make_loss(model, *, z_loss: float = 0.0, train: bool = True):
  """Cross-entropy over target tokens; metrics `loss`, `nll`, `target_accuracy`, `weight`."""

  def loss_fn(params, batch, rng):
    logits_BxTxV = model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"],
                               batch["decoder_inputs"], batch["decoder_segment_ids"], batch["decoder_positions"],
                               deterministic=not train, rngs={"dropout": rng} if train else None)
    loss, metrics = lm_metrics(logits_BxTxV, batch["decoder_targets"], batch["decoder_weights"], z_loss)
    metrics["target_accuracy"] = metrics.pop("accuracy")
    return loss, metrics

  return loss_fn
