"""The unigram baseline against a hand computation."""

import math

import numpy as np

from lm.evaluation import unigram


def test_perplexity_matches_hand_computation():
  # vocab 4, eos = 3. Train: [0, 0, 1] + eos. Counts with add-one: 0:3, 1:2, 2:1, 3:2 -> total 8.
  log_probs = unigram.fit([[0, 0, 1]], vocab_size=4, eos_id=3)
  np.testing.assert_allclose(np.exp(log_probs), [3 / 8, 2 / 8, 1 / 8, 2 / 8])
  # Eval [0, 2] + eos: -(log 3/8 + log 1/8 + log 2/8) / 3.
  expected = math.exp(-(math.log(3 / 8) + math.log(1 / 8) + math.log(2 / 8)) / 3)
  assert math.isclose(unigram.perplexity(log_probs, [[0, 2]], eos_id=3), expected)


def test_uniform_data_gives_vocab_size():
  docs = [[0, 1, 2]] * 1000
  log_probs = unigram.fit(docs, vocab_size=4, eos_id=3)
  assert abs(unigram.perplexity(log_probs, docs, eos_id=3) - 4.0) < 0.01
