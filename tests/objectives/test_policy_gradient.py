"""Policy-gradient pieces against plain numpy: GAE with padding, KL estimators, whitening, clipping, group baselines."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.objectives import policy_gradient as pg

MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], np.float32)


def _gae_reference(rewards, values, mask, gamma, lam):
  """Textbook GAE, one response at a time, over its valid tokens only."""
  adv = np.zeros_like(rewards)
  for b in range(len(rewards)):
    n = int(mask[b].sum())
    running = 0.0
    for t in reversed(range(n)):
      next_value = values[b, t + 1] if t + 1 < n else 0.0
      delta = rewards[b, t] + gamma * next_value - values[b, t]
      running = delta + gamma * lam * running
      adv[b, t] = running
  return adv, (adv + values) * mask


def test_gae_on_hand_worked_sequences_with_padding():
  # One response of three tokens, reward 1 at its end, values 0.5: worked by hand with gamma = lam = 1.
  rewards = np.array([[0, 0, 1, 0, 0]], np.float32)
  values = np.array([[0.5, 0.5, 0.5, 9.0, 9.0]], np.float32)  # values on padding must not leak in
  adv, ret = pg.gae(jnp.asarray(rewards), jnp.asarray(values), jnp.asarray(MASK[:1]), gamma=1.0, lam=1.0)
  np.testing.assert_allclose(adv, [[0.5, 0.5, 0.5, 0, 0]], atol=1e-6)  # 1 - 0.5 at every step
  np.testing.assert_allclose(ret, [[1, 1, 1, 0, 0]], atol=1e-6)
  rng = np.random.default_rng(0)
  rewards, values = rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=(3, 5)).astype(np.float32)
  adv, ret = pg.gae(jnp.asarray(rewards * MASK), jnp.asarray(values), jnp.asarray(MASK), gamma=0.9, lam=0.8)
  ref_adv, ref_ret = _gae_reference(rewards * MASK, values, MASK, 0.9, 0.8)
  np.testing.assert_allclose(adv, ref_adv, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(ret, ref_ret, rtol=1e-5, atol=1e-6)


def test_kl_estimators():
  logp, ref = np.log([0.5, 0.2, 0.9]), np.log([0.25, 0.4, 0.9])
  log_r = ref - logp
  for name, expected in (("k1", -log_r), ("k2", 0.5 * log_r ** 2), ("k3", np.exp(log_r) - 1 - log_r)):
    np.testing.assert_allclose(pg.kl_estimate(jnp.asarray(logp), jnp.asarray(ref), name), expected, rtol=1e-5,
                               atol=1e-7)
  assert np.all(np.asarray(pg.kl_estimate(jnp.asarray(logp), jnp.asarray(ref), "k3")) >= 0)
  # Under samples from the policy, k1 and k3 average to the true KL.
  p, q = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.5, 0.3])
  true_kl = float(np.sum(p * np.log(p / q)))
  for name in ("k1", "k3"):
    per_token = np.asarray(pg.kl_estimate(jnp.log(jnp.asarray(p)), jnp.log(jnp.asarray(q)), name))
    assert float(np.sum(p * per_token)) == pytest.approx(true_kl, rel=1e-5)
  with pytest.raises(ValueError, match="Unknown KL estimator"):
    pg.kl_estimate(jnp.asarray(logp), jnp.asarray(ref), "k4")


def test_whitening_ignores_padding():
  x = np.array([[1.0, 2.0, 3.0, 100.0, -100.0], [4.0, 5.0, 6.0, 7.0, 8.0], [9.0, 0, 0, 0, 0]], np.float32)
  out = np.asarray(pg.whiten(jnp.asarray(x), jnp.asarray(MASK)))
  valid = x[MASK > 0]
  np.testing.assert_allclose(out[MASK > 0], (valid - valid.mean()) / valid.std(), rtol=1e-5)
  assert np.all(out[MASK == 0] == 0)
  x2 = x.copy()
  x2[MASK == 0] = 1e6  # changing padding changes nothing
  np.testing.assert_allclose(pg.whiten(jnp.asarray(x2), jnp.asarray(MASK)), out, rtol=1e-6)


def test_clipped_objective_has_no_gradient_outside_the_clip_range():
  old = jnp.zeros((1, 4))
  adv = jnp.array([[1.0, 1.0, -1.0, -1.0]])
  mask = jnp.ones((1, 4))
  # Ratios 1.5 (A > 0, above 1 + eps) and 0.5 (A < 0, below 1 - eps) are clipped: no gradient.
  # Ratios 0.9 (A > 0) and 1.1 (A < 0) are inside: gradient -A * ratio / n.
  logp = jnp.log(jnp.array([[1.5, 0.9, 0.5, 1.1]]))
  grad = jax.grad(lambda lp: pg.clipped_policy_loss(lp, old, adv, mask, 0.2)[0])(logp)
  np.testing.assert_allclose(grad, [[0.0, -0.9 / 4, 0.0, 1.1 / 4]], rtol=1e-5, atol=1e-7)
  _, metrics = pg.clipped_policy_loss(logp, old, adv, mask, 0.2)
  assert float(metrics["clip_fraction"]) == pytest.approx(0.5)


def test_clipped_value_loss_by_hand():
  values, old, returns = jnp.array([[2.0, 0.0]]), jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
  # Token 0: plain error 4, clipped value 1.2 -> 1.44; the larger (4) counts. Token 1: error 1 both ways.
  assert float(pg.clipped_value_loss(values, old, returns, jnp.ones((1, 2)), 0.2)) == pytest.approx(0.5 * (4 + 1) / 2)


def test_group_advantages_with_equal_rewards_are_zero_and_give_no_gradient():
  rewards = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 3.0])
  adv = np.asarray(pg.group_advantages(rewards, 4))
  np.testing.assert_allclose(adv[:4], 0.0, atol=1e-6)
  group = np.array([0.0, 1.0, 2.0, 3.0])
  np.testing.assert_allclose(adv[4:], (group - group.mean()) / (group.std(ddof=1) + 1e-6), rtol=1e-5)  # unbiased
  logp = jnp.zeros((4, 3))
  grad = jax.grad(lambda lp: pg.clipped_policy_loss(lp, jnp.zeros((4, 3)), jnp.asarray(adv[:4])[:, None] * jnp.ones(
      (4, 3)), jnp.ones((4, 3)), 0.2)[0])(logp)
  assert np.all(np.asarray(grad) == 0)


def test_rloo_uses_the_mean_of_the_other_samples():
  rewards = jnp.array([1.0, 2.0, 6.0, 0.0, 0.0, 3.0])
  np.testing.assert_allclose(pg.rloo_advantages(rewards, 3), [1 - 4, 2 - 3.5, 6 - 1.5, -1.5, -1.5, 3.0], rtol=1e-6)
  with pytest.raises(ValueError, match="at least two"):
    pg.rloo_advantages(rewards, 1)


def test_group_baselines_leave_out_non_finite_rewards():
  rewards = jnp.array([1.0, jnp.nan, 3.0, 5.0, 0.0, 2.0, jnp.inf, 4.0])
  valid = jnp.isfinite(rewards)
  adv = np.asarray(pg.group_advantages(rewards, 4, valid))
  rloo = np.asarray(pg.rloo_advantages(rewards, 4, valid))
  assert np.all(np.isfinite(adv)) and np.all(np.isfinite(rloo))
  for group in (slice(0, 4), slice(4, 8)):
    kept = np.asarray(rewards[group])[np.asarray(valid[group])]
    np.testing.assert_allclose(adv[group][np.asarray(valid[group])],
                               (kept - kept.mean()) / (kept.std(ddof=1) + 1e-6), rtol=1e-5)
    np.testing.assert_allclose(rloo[group][np.asarray(valid[group])],
                               [x - (kept.sum() - x) / (len(kept) - 1) for x in kept], rtol=1e-6)
  assert adv[1] == adv[6] == rloo[1] == rloo[6] == 0.0
  lonely = pg.rloo_advantages(jnp.array([2.0, jnp.nan]), 2, jnp.array([True, False]))
  np.testing.assert_array_equal(lonely, [0.0, 0.0])  # nothing to compare the one valid sample with


def test_approx_kl_is_k3_of_old_to_new():
  old = jnp.log(jnp.array([[0.5, 0.25]]))
  new = jnp.log(jnp.array([[0.25, 0.5]]))
  _, metrics = pg.clipped_policy_loss(new, old, jnp.zeros((1, 2)), jnp.ones((1, 2)), 0.2)
  ratios = np.array([0.5, 2.0])  # new / old
  assert float(metrics["approx_kl"]) == pytest.approx(np.mean(ratios - 1 - np.log(ratios)), rel=1e-6)
  _, unmoved = pg.clipped_policy_loss(old, old, jnp.zeros((1, 2)), jnp.ones((1, 2)), 0.2)
  assert float(unmoved["approx_kl"]) == 0.0


def test_entropy_of_a_uniform_policy():
  logits = jnp.zeros((2, 3, 8))
  mask = jnp.array([[1, 1, 0], [1, 0, 0]])
  assert float(pg.entropy(logits, mask)) == pytest.approx(np.log(8), rel=1e-6)


def test_response_logprobs_read_the_last_n_columns():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 7, 11)).astype(np.float32)
  tokens = rng.integers(0, 11, (2, 7))
  logp, picked_logits = pg.response_logprobs(jnp.asarray(logits), jnp.asarray(tokens), 3)
  log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  for b in range(2):
    for j in range(3):  # response token j sits at column 4 + j and was chosen by the logits at column 3 + j
      np.testing.assert_allclose(logp[b, j], log_softmax[b, 3 + j, tokens[b, 4 + j]], rtol=1e-5)
  np.testing.assert_allclose(picked_logits, logits[:, 3:6], rtol=1e-6)


def test_explained_variance_against_numpy():
  rng = np.random.default_rng(2)
  returns, values = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
  valid = MASK > 0
  expected = 1 - np.var((returns - values)[valid]) / np.var(returns[valid])
  np.testing.assert_allclose(pg.explained_variance(jnp.asarray(values), jnp.asarray(returns), jnp.asarray(MASK)),
                             expected, rtol=1e-5)
  assert float(pg.explained_variance(jnp.asarray(returns), jnp.asarray(returns), jnp.asarray(MASK))) == 1.0
