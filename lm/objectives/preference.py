"""Losses on preference pairs (prompt, chosen, rejected): the reward model's and DPO's.

Shapes: B pairs, T length, V vocabulary. Rows whose `weights_B` is 0 (padding of a last batch)
count in neither the loss nor the metrics.

- Bradley-Terry: a reward model r is trained so that P(chosen > rejected) = sigmoid(r_c - r_r),
  i.e. on `-log sigmoid(r_c - r_r - margin)`. The optional centring term `centring * mean((r_c + r_r)^2)`
  keeps rewards near zero, since the pairwise loss leaves their offset free.
- DPO (Rafailov et al., 2023): the policy's implicit reward is beta * log(pi / pi_ref) of a whole
  response; the same pairwise loss on it, optionally with label smoothing (conservative DPO).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lm.objectives.causal import LossFn, weighted_mean

SIDES = ("chosen", "rejected")  # batches from lm.data.supervised.preference_pair: `chosen_inputs`, ...


def bradley_terry(chosen_B: jax.Array, rejected_B: jax.Array, weights_B: jax.Array, *,
                  margin_B: jax.Array | None = None, centring: float = 0.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The reward model's pairwise loss and its metrics: `rm_accuracy` (chosen scored higher), `reward_gap`."""
  weights_B = weights_B.astype(jnp.float32)
  chosen_B, rejected_B = chosen_B.astype(jnp.float32), rejected_B.astype(jnp.float32)
  gap_B = chosen_B - rejected_B
  mean = lambda x_B: weighted_mean(x_B, weights_B)
  pairwise = mean(-jax.nn.log_sigmoid(gap_B - (0.0 if margin_B is None else margin_B)))
  loss = pairwise + centring * mean(jnp.square(chosen_B + rejected_B))
  return loss, {"loss": loss, "bt_loss": pairwise, "rm_accuracy": mean((gap_B > 0).astype(jnp.float32)),
                "reward_gap": mean(gap_B), "reward_mean": mean((chosen_B + rejected_B) / 2),
                "weight": jnp.sum(weights_B)}


def sequence_logprobs(logits_BxTxV: jax.Array, targets_BxT: jax.Array, weights_BxT: jax.Array) -> jax.Array:
  """Summed log-probability of the weighted target tokens of each row (a response's log-likelihood): [B]."""
  logprobs_BxTxV = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32))
  picked_BxT = jnp.take_along_axis(logprobs_BxTxV, targets_BxT[..., None], axis=-1)[..., 0]
  return jnp.sum(picked_BxT * weights_BxT, axis=-1)


def dpo(policy_chosen_B: jax.Array, policy_rejected_B: jax.Array, reference_chosen_B: jax.Array,
        reference_rejected_B: jax.Array, weights_B: jax.Array, *, beta: float,
        label_smoothing: float = 0.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """DPO's loss from the responses' log-likelihoods under the policy and the frozen reference."""
  weights_B = weights_B.astype(jnp.float32)
  chosen_B = beta * (policy_chosen_B - reference_chosen_B)        # implicit rewards
  rejected_B = beta * (policy_rejected_B - reference_rejected_B)
  logits_B = chosen_B - rejected_B
  per_pair_B = -(1 - label_smoothing) * jax.nn.log_sigmoid(logits_B) - label_smoothing * jax.nn.log_sigmoid(-logits_B)
  mean = lambda x_B: weighted_mean(x_B, weights_B)
  loss = mean(per_pair_B)
  return loss, {"loss": loss, "dpo_accuracy": mean((logits_B > 0).astype(jnp.float32)), "reward_chosen": mean(chosen_B),
                "reward_rejected": mean(rejected_B), "reward_margin": mean(logits_B), "weight": jnp.sum(weights_B)}


def pair_weights(batch) -> jax.Array:
  """[B] 1 for a real pair, 0 for an all-padding row."""
  return jnp.any(batch["chosen_segment_ids"] > 0, axis=1).astype(jnp.float32)


def both_sides(batch, feature: str) -> jax.Array:
  """`chosen_<feature>` over `rejected_<feature>`: [2B, ...], so one forward pass scores both."""
  return jnp.concatenate([batch[f"{side}_{feature}"] for side in SIDES], axis=0)


def pair_rewards(model, params, batch, *, train: bool = False, rng=None) -> tuple[jax.Array, jax.Array]:
  """A scalar reward model's (`Classifier` with one output) scores of the chosen and rejected responses: [B], [B]."""
  rewards_2Bx1 = model.apply({"params": params}, both_sides(batch, "inputs"), both_sides(batch, "segment_ids"),
                             both_sides(batch, "positions"), deterministic=not train,
                             rngs={"dropout": rng} if train else None)
  chosen_B, rejected_B = jnp.split(rewards_2Bx1[:, 0], 2)
  return chosen_B, rejected_B


def make_reward_loss(model, *, centring: float = 0.0, train: bool = True) -> LossFn:
  """The reward model's Bradley-Terry loss on a batch of pairs (a per-pair `margin` is used if the batch has one)."""

  def loss_fn(params, batch, rng):
    chosen_B, rejected_B = pair_rewards(model, params, batch, train=train, rng=rng)
    loss, metrics = bradley_terry(chosen_B, rejected_B, pair_weights(batch), margin_B=batch.get("margin"),
                                  centring=centring)
    if "truncated" in batch:
      metrics["truncated_count"] = jnp.sum(batch["truncated"]).astype(jnp.float32)
    return loss, metrics

  return loss_fn


def make_dpo_loss(decoder, *, beta: float, label_smoothing: float = 0.0, train: bool = True) -> LossFn:
  """DPO on a batch of pairs; `params` is `{"policy", "reference"}` (two trees of `decoder`), the reference frozen.

  Both sides of every pair go through each model in one pass; the responses' log-likelihoods sum
  the `weights` (response and eos) tokens.
  """

  def loss_fn(params, batch, rng):
    inputs = tuple(both_sides(batch, f) for f in ("inputs", "segment_ids", "positions"))
    targets, weights = both_sides(batch, "targets"), both_sides(batch, "weights")
    policy = decoder.apply({"params": params["policy"]}, *inputs, deterministic=not train,
                           rngs={"dropout": rng} if train else None)
    reference = decoder.apply({"params": jax.lax.stop_gradient(params["reference"])}, *inputs)
    policy_c, policy_r = jnp.split(sequence_logprobs(policy, targets, weights), 2)
    reference_c, reference_r = jnp.split(sequence_logprobs(reference, targets, weights), 2)
    loss, metrics = dpo(policy_c, policy_r, reference_c, reference_r, pair_weights(batch), beta=beta,
                        label_smoothing=label_smoothing)
    if "truncated" in batch:
      metrics["truncated_count"] = jnp.sum(batch["truncated"]).astype(jnp.float32)
    return loss, metrics

  return loss_fn
