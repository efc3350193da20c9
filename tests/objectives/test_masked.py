"""BERT masking and span corruption checked against their definitions over many draws."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.data import span_corruption
from lm.objectives import masked

V, SPECIAL = 500, 10  # ids 0..9 are special (pad, bos, eos, [MASK]=4, ...)
CONFIG = masked.MaskingConfig()


def draw(n_rows=400, length=128, seed=0, whole_word=False):
  rng = np.random.default_rng(seed)
  tokens = rng.integers(SPECIAL, V, (n_rows, length)).astype(np.int32)
  tokens[:, 0] = 1                   # bos: special
  tokens[:, -10:] = 0                # padding
  tokens[::7, 50] = 2                # an eos in some rows
  maskable = (tokens >= SPECIAL)
  starts = rng.random((n_rows, length)) < 0.4 if whole_word else None
  if whole_word:
    starts[:, 0] = True
  inputs, chosen = masked.mask_tokens(jax.random.key(seed), jnp.asarray(tokens), jnp.asarray(maskable),
                                      config=masked.MaskingConfig(whole_word=whole_word), mask_id=4,
                                      random_low=SPECIAL, vocab_size=V,
                                      word_starts_BxT=None if starts is None else jnp.asarray(starts))
  return tokens, maskable, np.asarray(inputs), np.asarray(chosen), starts


def within(observed, expected_rate, n, sigmas=5):
  return abs(observed - expected_rate * n) <= sigmas * np.sqrt(n * expected_rate * (1 - expected_rate))


def test_masking_rate_and_80_10_10_split():
  tokens, maskable, inputs, chosen, _ = draw()
  n = int(maskable.sum())
  assert within(chosen.sum(), 0.15, n), chosen.sum() / n
  c = int(chosen.sum())
  became_mask = (inputs == 4) & chosen
  changed_other = (inputs != tokens) & (inputs != 4) & chosen
  # A random replacement equals the original with probability 1/(V - SPECIAL): "kept" absorbs those.
  assert within(became_mask.sum(), 0.8, c)
  assert within(changed_other.sum(), 0.1 * (1 - 1 / (V - SPECIAL)), c)
  assert within(((inputs == tokens) & chosen).sum(), 0.1 + 0.1 / (V - SPECIAL), c)
  assert np.all(inputs[~chosen] == tokens[~chosen]), "unchosen positions are never altered"
  assert np.all((inputs[changed_other] >= SPECIAL) & (inputs[changed_other] < V)), "random tokens are ordinary"


def test_special_tokens_and_padding_are_never_chosen():
  tokens, maskable, inputs, chosen, _ = draw()
  assert not chosen[~maskable].any()
  assert np.all(inputs[~maskable] == tokens[~maskable])


def test_masks_change_with_the_rng_and_repeat_with_it():
  a = draw(seed=1)[3]
  b = draw(seed=1)[3]
  c = draw(seed=2)[3]
  np.testing.assert_array_equal(a, b)
  assert (a != c).mean() > 0.1


def test_whole_word_masking_takes_all_pieces_of_a_word():
  tokens, maskable, inputs, chosen, starts = draw(whole_word=True)
  word_id = np.cumsum(starts, axis=1)
  for row in range(50):
    for w in np.unique(word_id[row][chosen[row]]):
      pieces = (word_id[row] == w) & maskable[row]
      assert chosen[row][pieces].all(), "a chosen word is chosen whole"
  words = [(r, w) for r in range(len(tokens)) for w in np.unique(word_id[r][maskable[r]])]
  chosen_words = sum(1 for r, w in words if chosen[r][(word_id[r] == w) & maskable[r]].any())
  assert within(chosen_words, 0.15, len(words))


class LossTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_mlm_terms_only_count_chosen_positions(self):
    logits = jax.random.normal(jax.random.key(0), (2, 5, 7))
    tokens = jnp.asarray([[1, 2, 3, 4, 5], [6, 1, 2, 3, 4]])
    chosen = jnp.asarray([[True, False, False, True, False], [False] * 5])
    loss, metrics = self.variant(masked.mlm_terms)(logits, tokens, chosen)
    log_probs = jax.nn.log_softmax(logits)
    expected = -(log_probs[0, 0, 1] + log_probs[0, 3, 4]) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    assert float(metrics["masked_tokens"]) == 2


# --- span corruption -----------------------------------------------------------------------------

SENTINELS = list(range(100, 164))


@pytest.mark.parametrize("length", [12, 57, 141, 568])
def test_span_corruption_reconstructs_the_original(length):
  rng = np.random.default_rng(length)
  for _ in range(50):
    tokens = rng.integers(200, 1000, length).astype(np.int32)
    mask = span_corruption.noise_mask(length, 0.15, 3.0, rng)
    inputs, targets = span_corruption.corrupt(tokens, mask, SENTINELS, eos_id=2)
    np.testing.assert_array_equal(span_corruption.reconstruct(inputs, targets, SENTINELS, eos_id=2), tokens)
    spans = int(np.sum(mask & ~np.concatenate([[False], mask[:-1]])))
    assert np.isin(inputs, SENTINELS).sum() == spans == np.isin(targets, SENTINELS).sum()
    assert inputs[-1] == 2 and targets[-1] == 2


def test_span_statistics_match_density_and_mean_length():
  rng = np.random.default_rng(0)
  noise, spans, lengths = 0, 0, []
  total = 0
  for _ in range(400):
    mask = span_corruption.noise_mask(568, 0.15, 3.0, rng)
    total += mask.size
    noise += mask.sum()
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    spans += len(starts)
    lengths += (ends - starts).tolist()
    assert not mask[0], "rows start with kept text (T5's layout)"
  assert abs(noise / total - 0.15) < 0.002
  assert abs(np.mean(lengths) - 3.0) < 0.05
  assert min(lengths) >= 1


@pytest.mark.parametrize("inputs_length,expected", [(512, (568, 114)), (128, (141, 29))])
def test_length_arithmetic_fills_the_inputs(inputs_length, expected):
  raw, targets_length = span_corruption.lengths_for(inputs_length, 0.15, 3.0)
  assert (raw, targets_length) == expected  # T5's published pair for 512 is (568, 114)
  rng = np.random.default_rng(1)
  for _ in range(20):
    inputs, targets = span_corruption.corrupt(np.arange(raw) + 200, span_corruption.noise_mask(raw, 0.15, 3.0, rng),
                                              SENTINELS, 2)
    assert len(inputs) == inputs_length and len(targets) == targets_length


def test_too_few_sentinels_is_a_clear_error():
  mask = np.tile([False, False, True], 10)
  with pytest.raises(ValueError, match="10 noise spans but only 4 sentinels"):
    span_corruption.corrupt(np.arange(30), mask, [1, 2, 3, 4], 0)


def test_nsp_and_mlm_gradients_reach_the_encoder_and_fit_a_batch():
  """The full BERT loss (masking, both heads, token types) can fit a batch whose label is visible."""
  import flax.linen as nn
  import optax

  from lm.models.config import ModelConfig
  from lm.models.encoder import BertModel

  model = BertModel(ModelConfig(vocab_size=64, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32))
  rng = np.random.default_rng(0)
  x = rng.integers(10, 64, (16, 12)).astype(np.int32)
  x[:, 0] = 5
  batch = {"inputs": jnp.asarray(x), "segment_ids": jnp.ones((16, 12), jnp.int32),
           "positions": jnp.tile(jnp.arange(12), (16, 1)), "token_types": jnp.zeros((16, 12), jnp.int32),
           "is_next": jnp.asarray((x[:, 1] > 37).astype(np.int32))}
  params = nn.unbox(model.init(jax.random.key(0), batch["inputs"], token_types_BxT=batch["token_types"])["params"])
  loss_fn = masked.make_loss(model, masking=CONFIG, mask_id=4, special_ids=range(10), random_low=10, vocab_size=64)
  optimizer = optax.adam(3e-3)

  @jax.jit
  def step(params, opt_state, i):
    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch, jax.random.key(i))
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, metrics, grads

  opt_state = optimizer.init(params)
  params, opt_state, first, grads = step(params, opt_state, 0)
  assert float(jnp.abs(grads["stack"]["layer_0"]["attention"]["query"]["kernel"]).max()) > 0
  for i in range(1, 150):
    params, opt_state, metrics, _ = step(params, opt_state, i)
  assert float(metrics["nsp_accuracy"]) == 1.0 and float(metrics["nsp_loss"]) < 0.1 * float(first["nsp_loss"])
  # Tokens are uniform over 54 ids: beating log(54) means the masked tokens are predicted from context.
  assert float(metrics["mlm_loss"]) < np.log(54) - 0.4
