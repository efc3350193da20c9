"""BERT's objectives: masked language modelling (dynamic masking on device) and next-sentence prediction.

Shapes: B batch, T length, V vocabulary.

Masking is drawn inside the loss from the step's RNG, so every epoch sees new masks (RoBERTa's
dynamic masking) while a run stays reproducible. Of the chosen positions (`mask_rate`, default
15%, never special tokens or padding), 80% become `[MASK]`, 10% a random ordinary token and 10%
stay as they are; the loss is the cross-entropy of the original token at every chosen position.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from lm.objectives.causal import token_cross_entropy, weighted_mean


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
  mask_rate: float = 0.15       # share of maskable tokens chosen for prediction
  replace_rate: float = 0.8     # ... of which this share become [MASK]
  random_rate: float = 0.1      # ... this share a random ordinary token (the rest stay unchanged)
  whole_word: bool = False      # choose whole words (all their pieces) instead of single pieces


def mask_tokens(rng: jax.Array, tokens_BxT: jax.Array, maskable_BxT: jax.Array, *, config: MaskingConfig,
                mask_id: int, random_low: int, vocab_size: int,
                word_starts_BxT: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """BERT corruption. Returns (corrupted inputs [B, T], chosen positions [B, T] bool).

  `maskable_BxT` is False on special tokens and padding. Random replacements are drawn uniformly
  from the ordinary ids `[random_low, vocab_size)`. With `word_starts_BxT` (True where a piece
  starts a word), the choice is made per word and covers all of the word's pieces.
  """
  choose_key, kind_key, random_key = jax.random.split(rng, 3)
  u_BxT = jax.random.uniform(choose_key, tokens_BxT.shape)
  if word_starts_BxT is not None:
    # Each piece looks up the draw of the piece that starts its word.
    positions_BxT = jnp.broadcast_to(jnp.arange(tokens_BxT.shape[1]), tokens_BxT.shape)
    start_BxT = jax.lax.cummax(jnp.where(word_starts_BxT, positions_BxT, 0), axis=1)
    u_BxT = jnp.take_along_axis(u_BxT, start_BxT, axis=1)
  chosen_BxT = (u_BxT < config.mask_rate) & maskable_BxT
  kind_BxT = jax.random.uniform(kind_key, tokens_BxT.shape)
  to_mask_BxT = chosen_BxT & (kind_BxT < config.replace_rate)
  to_random_BxT = chosen_BxT & (kind_BxT >= config.replace_rate) & (kind_BxT < config.replace_rate + config.random_rate)
  random_BxT = jax.random.randint(random_key, tokens_BxT.shape, random_low, vocab_size, dtype=tokens_BxT.dtype)
  inputs_BxT = jnp.where(to_mask_BxT, mask_id, jnp.where(to_random_BxT, random_BxT, tokens_BxT))
  return inputs_BxT, chosen_BxT


def mlm_terms(logits_BxTxV, tokens_BxT, chosen_BxT):
  """Masked-LM loss and metrics over the chosen positions."""
  weights_BxT = chosen_BxT.astype(jnp.float32)
  nll_BxT, _ = token_cross_entropy(logits_BxTxV, tokens_BxT)
  correct_BxT = (jnp.argmax(logits_BxTxV, axis=-1) == tokens_BxT).astype(jnp.float32)
  loss = weighted_mean(nll_BxT, weights_BxT)
  return loss, {"mlm_loss": loss, "mlm_accuracy": weighted_mean(correct_BxT, weights_BxT),
                "masked_tokens": jnp.sum(weights_BxT)}


def classification_terms(logits_BxC, labels_B, weights_B=None, prefix: str = "nsp"):
  """Cross-entropy and accuracy of sequence-level logits (NSP, sentence classification)."""
  weights_B = jnp.ones(labels_B.shape, jnp.float32) if weights_B is None else weights_B.astype(jnp.float32)
  nll_B, _ = token_cross_entropy(logits_BxC, labels_B)
  correct_B = (jnp.argmax(logits_BxC, axis=-1) == labels_B).astype(jnp.float32)
  loss = weighted_mean(nll_B, weights_B)
  return loss, {f"{prefix}_loss": loss, f"{prefix}_accuracy": weighted_mean(correct_B, weights_B)}


def make_loss(model, *, masking: MaskingConfig, mask_id: int, special_ids, random_low: int, vocab_size: int,
              mlm_weight: float = 1.0, nsp_weight: float = 1.0, word_start_table=None, train: bool = True):
  """The BERT loss of a `BertModel`: `mlm_weight` * MLM + `nsp_weight` * NSP (either may be 0).

  Batches carry `inputs` (uncorrupted tokens), `segment_ids`, `positions`, `token_types` and,
  for NSP, `is_next` [B]. `word_start_table` [V] bool enables whole-word masking.
  """
  special = jnp.asarray(sorted(special_ids), jnp.int32)

  def loss_fn(params, batch, rng):
    mask_rng, dropout_rng = jax.random.split(rng)
    tokens_BxT = batch["inputs"]
    maskable_BxT = (batch["segment_ids"] > 0) & ~jnp.isin(tokens_BxT, special)
    word_starts = None if word_start_table is None else jnp.asarray(word_start_table)[tokens_BxT]
    inputs_BxT, chosen_BxT = tokens_BxT, jnp.zeros_like(maskable_BxT)
    if mlm_weight:
      inputs_BxT, chosen_BxT = mask_tokens(mask_rng, tokens_BxT, maskable_BxT, config=masking, mask_id=mask_id,
                                           random_low=random_low, vocab_size=vocab_size, word_starts_BxT=word_starts)
    outputs = model.apply({"params": params}, inputs_BxT, batch["segment_ids"], batch["positions"],
                          token_types_BxT=batch.get("token_types"), deterministic=not train,
                          rngs={"dropout": dropout_rng} if train else None)
    loss, metrics = 0.0, {}
    if mlm_weight:
      mlm_loss, mlm_metrics = mlm_terms(outputs["mlm_logits"], tokens_BxT, chosen_BxT)
      loss, metrics = loss + mlm_weight * mlm_loss, {**metrics, **mlm_metrics}
    if nsp_weight:  # rows without tokens (padding of a last evaluation batch) do not count
      rows_B = jnp.any(batch["segment_ids"] > 0, axis=1)
      nsp_loss, nsp_metrics = classification_terms(outputs["cls_logits"], batch["is_next"], rows_B)
      loss, metrics = loss + nsp_weight * nsp_loss, {**metrics, **nsp_metrics}
    metrics["loss"] = loss
    return loss, metrics

  return loss_fn
