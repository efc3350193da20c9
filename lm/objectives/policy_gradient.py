"""Policy-gradient pieces shared by PPO, GRPO and RLOO, as pure functions.

Shapes: B responses, T response positions, G samples per prompt. `mask_BxT` is 1 on the tokens a
response produced (eos included) and 0 on the padding after it; padding never enters a mean, a
variance or a gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lm.objectives.causal import LossFn, weighted_mean

KL_ESTIMATORS = ("k1", "k2", "k3")


def kl_estimate(logp_BxT: jax.Array, ref_logp_BxT: jax.Array, estimator: str) -> jax.Array:
  """Per-token estimates of KL(policy || reference) from tokens sampled by the policy (Schulman's k1, k2, k3).

  With log r = log ref - log pi: k1 = -log r (unbiased, can be negative), k2 = (log r)^2 / 2 (biased,
  low variance), k3 = (r - 1) - log r (unbiased and never negative).
  """
  log_r = ref_logp_BxT - logp_BxT
  if estimator == "k1":
    return -log_r
  if estimator == "k2":
    return 0.5 * jnp.square(log_r)
  if estimator == "k3":
    return jnp.expm1(log_r) - log_r
  raise ValueError(f"Unknown KL estimator {estimator!r}; expected one of {KL_ESTIMATORS}.")


def whiten(x_BxT: jax.Array, mask_BxT: jax.Array, *, shift_mean: bool = True, eps: float = 1e-8) -> jax.Array:
  """`x` scaled to unit variance (and zero mean if `shift_mean`) over the valid tokens; padding stays 0."""
  mean = weighted_mean(x_BxT, mask_BxT)
  var = weighted_mean(jnp.square(x_BxT - mean), mask_BxT)
  out = (x_BxT - mean) * jax.lax.rsqrt(var + eps)
  if not shift_mean:
    out = out + mean
  return out * mask_BxT


def gae(rewards_BxT: jax.Array, values_BxT: jax.Array, mask_BxT: jax.Array, *, gamma: float,
        lam: float) -> tuple[jax.Array, jax.Array]:
  """Generalised advantage estimation over each response; `(advantages, returns)`, both 0 on padding.

  The episode ends with the response's last valid token, so the value after it is 0.
  """
  mask_BxT = mask_BxT.astype(values_BxT.dtype)
  next_values_BxT = jnp.concatenate([values_BxT[:, 1:] * mask_BxT[:, 1:], jnp.zeros_like(values_BxT[:, :1])], axis=1)
  next_mask_BxT = jnp.concatenate([mask_BxT[:, 1:], jnp.zeros_like(mask_BxT[:, :1])], axis=1)
  deltas_BxT = (rewards_BxT + gamma * next_values_BxT - values_BxT) * mask_BxT

  def step(carry_B, inputs):
    delta_B, next_mask_B = inputs
    advantage_B = delta_B + gamma * lam * next_mask_B * carry_B
    return advantage_B, advantage_B

  _, advantages_TxB = jax.lax.scan(step, jnp.zeros_like(deltas_BxT[:, 0]), (deltas_BxT.T, next_mask_BxT.T),
                                   reverse=True)
  advantages_BxT = advantages_TxB.T * mask_BxT
  return advantages_BxT, (advantages_BxT + values_BxT) * mask_BxT


def clipped_policy_loss(logp_BxT: jax.Array, old_logp_BxT: jax.Array, advantages_BxT: jax.Array, mask_BxT: jax.Array,
                        clip: float) -> tuple[jax.Array, dict[str, jax.Array]]:
  """PPO's clipped surrogate (to minimise), with the fraction of clipped tokens and the approximate KL(old || new).

  `approx_kl` is the k3 estimator on the old policy's samples, (r - 1) - log r with r = new / old, as PPO
  implementations report it (non-negative; zero when the policy has not moved)."""
  log_ratio_BxT = logp_BxT - old_logp_BxT
  ratio_BxT = jnp.exp(log_ratio_BxT)
  unclipped_BxT = -advantages_BxT * ratio_BxT
  clipped_BxT = -advantages_BxT * jnp.clip(ratio_BxT, 1 - clip, 1 + clip)
  loss = weighted_mean(jnp.maximum(unclipped_BxT, clipped_BxT), mask_BxT)
  return loss, {"policy_loss": loss,
                "clip_fraction": weighted_mean((jnp.abs(ratio_BxT - 1) > clip).astype(jnp.float32), mask_BxT),
                "approx_kl": weighted_mean(jnp.expm1(log_ratio_BxT) - log_ratio_BxT, mask_BxT)}


def clipped_value_loss(values_BxT: jax.Array, old_values_BxT: jax.Array, returns_BxT: jax.Array, mask_BxT: jax.Array,
                       clip: float) -> jax.Array:
  """PPO's value loss: the larger of the plain and the clipped squared error, halved."""
  clipped_BxT = old_values_BxT + jnp.clip(values_BxT - old_values_BxT, -clip, clip)
  error_BxT = jnp.maximum(jnp.square(values_BxT - returns_BxT), jnp.square(clipped_BxT - returns_BxT))
  return 0.5 * weighted_mean(error_BxT, mask_BxT)


def _groups(rewards_B: jax.Array, group_size: int, valid_B: jax.Array | None) -> tuple[jax.Array, jax.Array]:
  """Rewards [N, G] (invalid ones zeroed, so a NaN cannot leak) and the validity mask [N, G] as floats."""
  valid_B = jnp.ones(rewards_B.shape, bool) if valid_B is None else valid_B.astype(bool)
  valid_NxG = valid_B.reshape(-1, group_size)
  return jnp.where(valid_NxG, rewards_B.reshape(-1, group_size), 0.0), valid_NxG.astype(jnp.float32)


def group_advantages(rewards_B: jax.Array, group_size: int, valid_B: jax.Array | None = None,
                     eps: float = 1e-6) -> jax.Array:
  """GRPO: each reward minus its group's mean, over the group's standard deviation (rows are grouped G at a time).

  The standard deviation is the unbiased one (n - 1), as in the GRPO paper's code and TRL. Rows with `valid_B`
  false (a non-finite reward) take no part in their group's mean and deviation and get advantage 0.
  """
  r_NxG, v_NxG = _groups(rewards_B, group_size, valid_B)
  n_Nx1 = v_NxG.sum(axis=1, keepdims=True)
  mean_Nx1 = r_NxG.sum(axis=1, keepdims=True) / jnp.maximum(n_Nx1, 1.0)
  centred_NxG = (r_NxG - mean_Nx1) * v_NxG
  std_Nx1 = jnp.sqrt(jnp.sum(jnp.square(centred_NxG), axis=1, keepdims=True) / jnp.maximum(n_Nx1 - 1.0, 1.0))
  return (centred_NxG / (std_Nx1 + eps)).reshape(-1)


def rloo_advantages(rewards_B: jax.Array, group_size: int, valid_B: jax.Array | None = None) -> jax.Array:
  """RLOO: each reward minus the mean of the other G - 1 rewards of its prompt.

  Rows with `valid_B` false are left out of the others' means and get advantage 0, as does a row with no valid
  other row to compare with.
  """
  if group_size < 2:
    raise ValueError("RLOO needs at least two samples per prompt.")
  r_NxG, v_NxG = _groups(rewards_B, group_size, valid_B)
  others_n_NxG = v_NxG.sum(axis=1, keepdims=True) - v_NxG
  others_NxG = (r_NxG.sum(axis=1, keepdims=True) - r_NxG) / jnp.maximum(others_n_NxG, 1.0)
  return ((r_NxG - others_NxG) * v_NxG * (others_n_NxG > 0)).reshape(-1)


def entropy(logits_BxTxV: jax.Array, mask_BxT: jax.Array) -> jax.Array:
  """Mean per-token entropy of the policy over valid tokens."""
  logp_BxTxV = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32))
  return weighted_mean(-jnp.sum(jnp.exp(logp_BxTxV) * logp_BxTxV, axis=-1), mask_BxT)


def response_logprobs(logits_BxLxV: jax.Array, tokens_BxL: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
  """Log-probabilities [B, N] of the last `n` tokens of each row (the response) and the logits [B, N, V] that chose them.

  Rows are `prompt response` with the prompt left-padded, so every response starts at column L - n. The logits may
  cover only the last n + 1 positions (`outputs_for_last=n + 1`): the last n + 1 columns are all that is read.
  """
  logits_BxNxV = logits_BxLxV[:, -n - 1:-1].astype(jnp.float32)
  logp_BxNxV = jax.nn.log_softmax(logits_BxNxV)
  return jnp.take_along_axis(logp_BxNxV, tokens_BxL[:, -n:, None], axis=-1)[..., 0], logits_BxNxV


def explained_variance(values_BxT: jax.Array, returns_BxT: jax.Array, mask_BxT: jax.Array) -> jax.Array:
  """1 - Var(returns - values) / Var(returns) over valid tokens: 1 is a perfect critic, 0 no better than a constant."""
  var = lambda x: weighted_mean(jnp.square(x - weighted_mean(x, mask_BxT)), mask_BxT)
  return 1.0 - var(returns_BxT - values_BxT) / jnp.maximum(var(returns_BxT), 1e-8)


def make_loss(model, *, clip: float, value_clip: float = 0.2, value_coef: float = 0.1, entropy_coef: float = 0.0,
              kl_coef: float = 0.0, kl_estimator: str = "k3") -> LossFn:
  """The policy update of PPO, GRPO and RLOO on a rollout minibatch (`lm.rl.rollout` makes the batches).

  `model` is an `ActorCritic`. The batch holds the sequences (`inputs`, `segment_ids`, `positions`:
  left-padded prompt, then the response) and per response token: `response_mask`, `old_logprobs`,
  `advantages`; with a critic also `old_values` and `returns`; with `kl_coef` > 0 (GRPO keeps the
  KL to the reference in the loss rather than in the reward) `ref_logprobs`. Loss = clipped
  surrogate + value_coef * clipped value loss - entropy_coef * entropy + kl_coef * KL.
  """

  def loss_fn(params, batch, rng):
    del rng  # no dropout in the policy update: the ratio must compare the same function
    mask_BxN = batch["response_mask"].astype(jnp.float32)
    n = mask_BxN.shape[1]
    logits_BxKxV, values_BxL = model.apply({"params": params}, batch["inputs"], batch["segment_ids"],
                                           batch["positions"], outputs_for_last=n + 1)  # the response's only
    logp_BxN, logits_BxNxV = response_logprobs(logits_BxKxV, batch["inputs"], n)
    loss, metrics = clipped_policy_loss(logp_BxN, batch["old_logprobs"], batch["advantages"], mask_BxN, clip)
    ent = entropy(logits_BxNxV, mask_BxN)
    loss = loss - entropy_coef * ent
    metrics["entropy"] = ent
    if values_BxL is not None:
      values_BxN = values_BxL[:, -n - 1:-1]
      value_loss = clipped_value_loss(values_BxN, batch["old_values"], batch["returns"], mask_BxN, value_clip)
      loss = loss + value_coef * value_loss
      metrics["value_loss"] = value_loss
    if kl_coef:
      kl = weighted_mean(kl_estimate(logp_BxN, batch["ref_logprobs"], kl_estimator), mask_BxN)
      loss = loss + kl_coef * kl
      metrics["kl_loss"] = kl
    metrics.update(loss=loss, weight=jnp.sum(mask_BxN))
    return loss, metrics

  return loss_fn
