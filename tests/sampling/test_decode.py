"""KV-cache sampling: logit filters against numpy, greedy equals the full forward pass, eos, seeds."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.models.config import ModelConfig
from lm.models.transformer import Decoder
from lm.sampling import decode

MODEL = Decoder(ModelConfig(vocab_size=40, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32))
PARAMS = jax.jit(MODEL.init)(jax.random.key(0), jnp.ones((1, 4), jnp.int32))["params"]
PARAMS = jax.tree.map(lambda x: x.value if hasattr(x, "value") else x, PARAMS, is_leaf=lambda x: hasattr(x, "value"))


def reference_filter(logits, top_k, top_p):
  out = logits.copy()
  for row in out:
    order = np.argsort(-row)
    keep = np.ones_like(row, bool)
    if top_k:
      keep[order[top_k:]] = False
    if top_p < 1:  # over the distribution left after top-k, renormalised (as in HF transformers)
      probs = np.where(keep[order], np.exp(row[order] - row[order].max()), 0.0)
      probs /= probs.sum()
      # smallest prefix of the sorted tokens whose mass reaches top_p
      n = int(np.searchsorted(np.cumsum(probs), top_p) + 1)
      keep[order[n:]] = False
    row[~keep] = -np.inf
  return out


class FilterTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_filters_match_numpy(self):
    logits = np.random.default_rng(0).normal(size=(3, 20)).astype(np.float32)
    for top_k, top_p in [(5, 1.0), (0, 0.5), (0, 0.9), (8, 0.7), (1, 1.0)]:
      got = self.variant(decode.filter_logits, static_argnums=(1, 2))(jnp.asarray(logits), top_k, top_p)
      np.testing.assert_array_equal(np.isinf(np.asarray(got)), np.isinf(reference_filter(logits, top_k, top_p)))


def run(prompts, **config):
  tokens, mask = decode.left_pad(prompts)
  return decode.generate(MODEL, PARAMS, jnp.asarray(tokens), jnp.asarray(mask), jax.random.key(config.pop("seed", 0)),
                         config=decode.SamplingConfig(**config), eos_id=config.pop("eos", 2))


def test_greedy_matches_argmax_of_the_full_forward_pass():
  prompts = [[1, 5, 6, 7], [1, 9]]
  out, lengths = run(prompts, max_new_tokens=6, temperature=0.0, stop_at_eos=False)
  forward = jax.jit(lambda x: MODEL.apply({"params": PARAMS}, x))
  for row, prompt in enumerate(prompts):
    seq = list(prompt)
    for _ in range(6):
      seq.append(int(jnp.argmax(forward(jnp.asarray([seq]))[0, -1])))
    assert out[row].tolist() == seq[len(prompt):]
    assert int(lengths[row]) == 6


def test_rows_stop_after_eos_and_pad():
  # Find the greedy continuation, then declare its third token the eos: the row must stop there.
  prompt = [[1, 5, 6]]
  out, _ = run(prompt, max_new_tokens=5, temperature=0.0, stop_at_eos=False)
  eos = int(out[0, 2])
  tokens, mask = decode.left_pad(prompt)
  stopped, lengths = decode.generate(MODEL, PARAMS, jnp.asarray(tokens), jnp.asarray(mask), jax.random.key(0),
                                     config=decode.SamplingConfig(max_new_tokens=5, temperature=0.0), eos_id=eos)
  first = out[0].tolist().index(eos)
  assert stopped[0, : first + 1].tolist() == out[0, : first + 1].tolist()
  assert stopped[0, first + 1:].tolist() == [0] * (4 - first)
  assert int(lengths[0]) == first + 1


def test_sampling_is_reproducible_by_seed_and_varies_across_seeds():
  prompts = [[1, 5, 6]] * 4
  a, _ = run(prompts, max_new_tokens=8, temperature=1.0, seed=3)
  b, _ = run(prompts, max_new_tokens=8, temperature=1.0, seed=3)
  c, _ = run(prompts, max_new_tokens=8, temperature=1.0, seed=4)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  assert len({tuple(r) for r in np.asarray(a).tolist()}) > 1, "rows of one batch draw different samples"


def test_top_k_one_is_greedy():
  prompts = [[1, 5, 6], [1, 7]]
  greedy, _ = run(prompts, max_new_tokens=5, temperature=0.0, stop_at_eos=False)
  top1, _ = run(prompts, max_new_tokens=5, temperature=1.5, top_k=1, stop_at_eos=False, seed=9)
  np.testing.assert_array_equal(greedy, top1)


def test_left_pad():
  tokens, mask = decode.left_pad([[4, 5, 6], [7]], pad_id=0)
  np.testing.assert_array_equal(tokens, [[4, 5, 6], [0, 0, 7]])
  np.testing.assert_array_equal(mask, [[True] * 3, [False, False, True]])


@pytest.mark.parametrize("text", ["Hello world", " lead", "a\nb"])
def test_continuation_text_keeps_the_leading_space(text):
  from lm.data import tokenizer as tokenizer_lib
  tok = tokenizer_lib.train(iter(["Hello world a b lead", "world Hello"] * 50), vocab_size=300, num_sentinels=0)
  prompt, rest = "Say:", " " + text
  ids = tok.encode(prompt + rest)
  prompt_ids = tok.encode(prompt)
  assert ids[: len(prompt_ids)] == prompt_ids
  assert decode.continuation_text(tok, prompt_ids, ids[len(prompt_ids):] + [tok.eos_id]) == rest


def test_top_k_filter_keeps_exactly_what_a_sort_keeps():
  """The bisection threshold against lax.top_k's k-th value: ties, -inf, signed zeros, tiny and huge scales."""
  rng = np.random.default_rng(0)
  filtered = jax.jit(decode.filter_logits, static_argnums=(1, 2))  # one compile per k
  for trial in range(24):
    k = (1, 50, 255)[trial % 3]
    x = (rng.normal(size=(3, 257)) * (1e-3, 1.0, 1e3)[trial % 4 % 3]).astype(np.float32)
    if trial % 4 == 0:
      x = np.round(x).astype(np.float32)  # ties, and -0.0 beside 0.0
    if trial % 5 == 0:
      x[:, :64] = -np.inf
    kth = np.asarray(jax.lax.top_k(jnp.asarray(x), k)[0][:, -1:])
    np.testing.assert_array_equal(filtered(jnp.asarray(x), k, 1.0), np.where(x < kth, -np.inf, x))


def test_sampled_and_greedy_tokens_are_jax_s_own():
  """first_argmax and the Gumbel draw give exactly jnp.argmax's and jax.random.categorical's tokens."""
  rng = np.random.default_rng(1)
  for trial in range(12):
    x = rng.normal(size=(4, 97)).astype(np.float32)
    if trial % 3 == 0:
      x = np.round(x).astype(np.float32)  # ties: the first index wins
    if trial % 4 == 0:
      x[:, :20] = -np.inf
    key = jax.random.key(trial)
    np.testing.assert_array_equal(decode.sample_token(jnp.asarray(x), key, decode.SamplingConfig(top_k=0)),
                                  jax.random.categorical(key, jnp.asarray(x), axis=-1))
    np.testing.assert_array_equal(decode.first_argmax(jnp.asarray(x)), jnp.argmax(jnp.asarray(x), axis=-1))
  with_nan = jnp.asarray([[1.0, np.nan, 3.0, np.nan]], jnp.float32)
  assert int(decode.first_argmax(with_nan)[0]) == int(jnp.argmax(with_nan, axis=-1)[0]) == 1
