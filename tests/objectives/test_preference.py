"""Preference losses against plain numpy: Bradley-Terry (with margin and centring) and DPO."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.objectives import preference


def _log_sigmoid(x):
  return -np.log1p(np.exp(-x))


CHOSEN = np.array([1.5, -0.2, 0.3, 2.0])
REJECTED = np.array([0.5, 0.4, 0.3, -1.0])
WEIGHTS = np.array([1.0, 1.0, 1.0, 0.0])  # the last pair is padding


def test_bradley_terry_loss_and_accuracy_by_hand():
  loss, metrics = preference.bradley_terry(jnp.asarray(CHOSEN), jnp.asarray(REJECTED), jnp.asarray(WEIGHTS))
  gap = (CHOSEN - REJECTED)[:3]
  np.testing.assert_allclose(loss, np.mean(-_log_sigmoid(gap)), rtol=1e-6)
  assert float(metrics["rm_accuracy"]) == pytest.approx(1 / 3)  # a tie is not a win
  assert float(metrics["reward_gap"]) == pytest.approx(np.mean(gap))
  assert float(metrics["weight"]) == 3
  # A margin asks for a larger gap; centring adds the mean squared reward sum.
  margin = np.array([0.5, 0.5, 0.5, 0.5])
  loss_m, _ = preference.bradley_terry(jnp.asarray(CHOSEN), jnp.asarray(REJECTED), jnp.asarray(WEIGHTS),
                                       margin_B=jnp.asarray(margin), centring=0.1)
  expected = np.mean(-_log_sigmoid(gap - 0.5)) + 0.1 * np.mean(((CHOSEN + REJECTED)[:3]) ** 2)
  np.testing.assert_allclose(loss_m, expected, rtol=1e-6)


def test_bradley_terry_gradient_pushes_the_pair_apart():
  grad_c, grad_r = jax.grad(lambda c, r: preference.bradley_terry(c, r, jnp.ones(1))[0], argnums=(0, 1))(
      jnp.array([0.0]), jnp.array([0.0]))
  assert float(grad_c[0]) == pytest.approx(-0.5) and float(grad_r[0]) == pytest.approx(0.5)


def test_dpo_loss_by_hand():
  pc, pr = np.array([-10.0, -12.0, -8.0, 0.0]), np.array([-11.0, -9.0, -8.5, 0.0])
  rc, rr = np.array([-10.5, -11.0, -8.0, 0.0]), np.array([-10.5, -10.0, -8.0, 0.0])
  beta, smooth = 0.1, 0.2
  loss, metrics = preference.dpo(*map(jnp.asarray, (pc, pr, rc, rr, WEIGHTS)), beta=beta, label_smoothing=smooth)
  logits = (beta * ((pc - rc) - (pr - rr)))[:3]
  expected = np.mean(-(1 - smooth) * _log_sigmoid(logits) - smooth * _log_sigmoid(-logits))
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  assert float(metrics["dpo_accuracy"]) == pytest.approx(np.mean(logits > 0))
  assert float(metrics["reward_chosen"]) == pytest.approx(np.mean(beta * (pc - rc)[:3]))
  # The policy equal to the reference: every implicit reward is 0 and the loss is log 2.
  same, _ = preference.dpo(*map(jnp.asarray, (pc, pr, pc, pr, WEIGHTS)), beta=beta)
  assert float(same) == pytest.approx(np.log(2))


def test_sequence_logprobs_sum_weighted_targets():
  logits = jax.random.normal(jax.random.key(0), (2, 3, 5))
  targets = jnp.array([[1, 2, 3], [4, 0, 0]])
  weights = jnp.array([[0, 1, 1], [1, 0, 0]])
  logp = np.asarray(jax.nn.log_softmax(logits))
  expected = [logp[0, 1, 2] + logp[0, 2, 3], logp[1, 0, 4]]
  np.testing.assert_allclose(preference.sequence_logprobs(logits, targets, weights), expected, rtol=1e-5)
