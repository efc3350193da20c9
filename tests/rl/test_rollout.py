"""Rollouts and the on-policy source: row layout, seeded sampling, advantages, the KL controller, exact resume."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.data import tokenizer as tokenizer_lib
from lm.models.config import ModelConfig
from lm.models.heads import ActorCritic, Classifier
from lm.models.transformer import Decoder
from lm.rl import kl as kl_lib, rollout as rollout_lib, source as source_lib

TEXTS = ["Name the capital of Varn.", "The capital of Varn is Oskel.", "Say hello politely.", "Hello, nice to meet you."]
TOK = tokenizer_lib.train(iter(TEXTS * 100), vocab_size=320, num_sentinels=0)
CONFIG = ModelConfig(vocab_size=384, num_layers=1, d_model=32, num_heads=2, d_ff=64, max_len=128)
TEMPLATE = "Q: {prompt}\nA:"
ROLLOUT = rollout_lib.RolloutConfig(prompts=4, samples_per_prompt=2, max_prompt_tokens=24, max_new_tokens=8)


def _params(module, seed):
  return module.init(jax.random.key(seed), jnp.ones((1, 8), jnp.int32))["params"]


@pytest.fixture(scope="module")
def models():
  actor_critic, decoder = ActorCritic(CONFIG, critic="shared"), Decoder(CONFIG)
  reward = Classifier(CONFIG, 1, backbone="decoder")
  params = jax.tree.map(lambda x: getattr(x, "value", x), _params(actor_critic, 0), is_leaf=lambda x: hasattr(x, "value"))
  unbox = lambda p: jax.tree.map(lambda x: getattr(x, "value", x), p, is_leaf=lambda x: hasattr(x, "value"))
  return types.SimpleNamespace(
      params=params, reference=unbox(_params(decoder, 1)), reward=unbox(_params(reward, 2)),
      sample=rollout_lib.make_sampler(decoder, TOK, ROLLOUT), score=rollout_lib.make_scorer(actor_critic, decoder, reward))


def test_rows_are_left_padded_prompts_then_responses():
  prompt, mask, truncated = rollout_lib.encode_prompts(TOK, TEMPLATE, [TEXTS[0], TEXTS[2] * 5], 30)
  assert prompt.shape == (2, 31) and truncated.tolist() == [False, True]
  assert prompt[0, -int(mask[0].sum())] == TOK.bos_id and mask[1].all()
  new = np.asarray([[5, 6, TOK.eos_id, 0], [7, 8, 9, 10]])
  rows = rollout_lib.sequences(prompt, mask, new, np.asarray([3, 4]))
  np.testing.assert_array_equal(rows["response_mask"], [[1, 1, 1, 0], [1, 1, 1, 1]])
  np.testing.assert_array_equal(rows["inputs"][:, -4:], new)
  # Positions count real tokens only: the first response token follows the last prompt token.
  n = int(mask[0].sum())
  np.testing.assert_array_equal(rows["positions"][0, -4:-1], [n, n + 1, n + 2])
  assert rows["segment_ids"][0, -1] == 0


def test_rollouts_are_reproducible_under_a_fixed_seed(models):
  prompt, mask, _ = rollout_lib.encode_prompts(TOK, TEMPLATE, TEXTS, ROLLOUT.max_prompt_tokens)
  first = models.sample(models.params["policy"], prompt, mask, jax.random.key(3))
  again = models.sample(models.params["policy"], prompt, mask, jax.random.key(3))
  other = models.sample(models.params["policy"], prompt, mask, jax.random.key(4))
  for key in first:
    np.testing.assert_array_equal(first[key], again[key])
  assert not np.array_equal(first["inputs"], other["inputs"])


def test_the_prompt_stream_visits_every_prompt_once_per_epoch():
  order = source_lib.prompt_order(5, seed=0, start=0, count=15)
  for epoch in range(3):
    assert sorted(order[5 * epoch:5 * epoch + 5]) == [0, 1, 2, 3, 4]
  np.testing.assert_array_equal(source_lib.prompt_order(5, 0, 7, 4), order[7:11])
  assert not np.array_equal(order[:5], order[5:10])


SCORED = {"logprobs": np.log(np.full((4, 3), 0.5, np.float32)), "ref_logprobs": np.log(np.full((4, 3), 0.25, np.float32)),
          "values": np.zeros((4, 3), np.float32)}
MASK = np.asarray([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], np.float32)


def test_ppo_rewards_pay_the_kl_per_token_and_get_the_score_at_the_end():
  config = rollout_lib.AdvantageConfig(algorithm="ppo", gamma=1.0, lam=1.0, whiten=False)
  out = rollout_lib.advantages(SCORED, MASK, np.asarray([1.0, 2.0, 3.0, 4.0]), 0.1, config, 1)
  kl = np.log(2.0)  # k1 = log pi - log ref
  np.testing.assert_allclose(out["kl"], kl * MASK, rtol=1e-6)
  expected = -0.1 * kl * MASK
  expected[[0, 1, 2, 3], [2, 1, 0, 2]] += [1, 2, 3, 4]
  np.testing.assert_allclose(out["token_rewards"], expected, rtol=1e-5)
  # gamma = lam = 1 and zero values: the advantage is the reward still to come.
  np.testing.assert_allclose(out["advantages"][0], np.cumsum(expected[0][::-1])[::-1], rtol=1e-5)


def test_group_baselines_ignore_what_the_group_shares():
  equal = np.asarray([2.0, 2.0, 5.0, 5.0])
  grpo = rollout_lib.AdvantageConfig(algorithm="grpo", kl_in_loss=True)
  np.testing.assert_allclose(rollout_lib.advantages(SCORED, MASK, equal, 0.1, grpo, 2)["advantages"], 0, atol=1e-6)
  rloo = rollout_lib.AdvantageConfig(algorithm="rloo")
  out = rollout_lib.advantages(SCORED, np.ones((4, 3), np.float32), np.asarray([1.0, 3.0, 0.0, 0.0]), 0.0, rloo, 2)
  np.testing.assert_allclose(out["advantages"][:, 0], [-2, 2, 0, 0], atol=1e-6)


def test_the_adaptive_kl_coefficient_moves_towards_its_target_and_the_limit_stops():
  config = kl_lib.KLConfig(adaptive=True, target=2.0, horizon=100, limit=10.0)
  assert kl_lib.update(0.1, 4.0, 50, config) == pytest.approx(0.1 * (1 + 0.2 * 0.5))  # error clipped to +20%
  assert kl_lib.update(0.1, 1.8, 50, config) == pytest.approx(0.1 * (1 - 0.1 * 0.5))
  assert kl_lib.update(0.1, 4.0, 50, kl_lib.KLConfig()) == 0.1  # fixed
  kl_lib.check_limit(9.0, config, 3, 24)
  with pytest.raises(kl_lib.KLLimitError, match="Iteration 3 \\(step 24\\).*kl.limit=10"):
    kl_lib.check_limit(11.0, config, 3, 24)
  with pytest.raises(kl_lib.KLLimitError):
    kl_lib.check_limit(float("nan"), config, 3, 24)


def _source(models, **kwargs):
  options = dict(prompts=TEXTS * 3, tok=TOK, template=TEMPLATE, rollout=ROLLOUT,
                 advantage=rollout_lib.AdvantageConfig(), kl=kl_lib.KLConfig(adaptive=True, horizon=16),
                 update=source_lib.UpdateConfig(epochs=2, minibatches=2), sample=models.sample, score=models.score,
                 reference_params=models.reference, reward_params=models.reward, seed=0, gold=True)
  return source_lib.RolloutSource(**{**options, **kwargs})


def test_the_source_resumes_exactly_mid_rollout(models):
  state = types.SimpleNamespace(params=models.params, step=0)
  straight = _source(models)
  batches = [straight.next_batch(state) for _ in range(7)]  # two rollouts: 4 updates each
  assert straight.iteration == 2
  metrics = straight.pop_metrics()
  assert {"rm_score", "gold_score", "kl", "kl_coef", "entropy", "explained_variance", "unfinished_count"} <= set(metrics)
  assert batches[0]["inputs"].shape == (4, 25 + 8) and set(batches[0]) >= {"old_logprobs", "advantages", "returns"}
  interrupted = _source(models)
  for _ in range(5):
    interrupted.next_batch(state)
  resumed = _source(models)
  resumed.set_state(interrupted.get_state())
  assert resumed.kl_coef == interrupted.kl_coef != 0.05
  for expected in batches[5:]:
    got = resumed.next_batch(state)
    for key in expected:
      np.testing.assert_array_equal(got[key], expected[key])


def test_non_finite_rewards_are_left_out_and_counted(models):
  broken = lambda *args: {**models.score(*args), "scores": jnp.asarray([jnp.nan] + [1.0] * 7)}
  source = _source(models, score=broken)
  state = types.SimpleNamespace(params=models.params, step=0)
  batches = [source.next_batch(state) for _ in range(2)]
  assert source.pop_metrics()["nonfinite_reward_count"] == 1
  rows = np.concatenate([b["response_mask"] for b in batches])
  assert (rows.sum(axis=1) == 0).sum() == 1  # that response has no valid token left
  assert all(np.isfinite(b["advantages"]).all() for b in batches)


def test_the_oracle_reward_is_the_gold_score(models):
  from lm.data.world.gold import gold_score  # pylint: disable=g-import-not-at-top
  written = []
  source = _source(models, oracle=True, on_samples=lambda step, rows: written.extend(rows),
                   samples=8)
  state = types.SimpleNamespace(params=models.params, step=0)
  source.next_batch(state)
  metrics = source.pop_metrics()
  assert "rm_score" not in metrics and "gold_score" in metrics
  assert len(written) == 8 and all(r["reward"] == gold_score(r["prompt"], r["response"]) for r in written)
  np.testing.assert_allclose(np.mean([r["reward"] for r in written]), metrics["gold_score"], rtol=1e-6)
