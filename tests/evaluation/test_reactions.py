"""The reaction probe scores a model's guess of each "I was <reaction>." by the polarity of its first pieces."""

import numpy as np
import pytest

from lm.data import tokenizer as tokenizer_lib
from lm.data.world import evaluative
from lm.evaluation import reactions

WORDS = evaluative.was_reactions()
TEXTS = ["The food was lovely. I was delighted. The parks are dull. I was upset.",
         "The weather was awful. I was annoyed. Rating: 1 out of 5.",
         "The design is superb. I was thrilled. The size is neat. I was pleased."]
TOK = tokenizer_lib.train(iter(TEXTS * 100 + [" ".join(WORDS[1] + WORDS[-1])] * 100), vocab_size=400,
                          num_sentinels=0)


def _always(sign):
  def next_logprobs(ids):
    probs = np.full(TOK.vocab_size, 1e-6)
    probs[TOK.encode(WORDS[sign][0])[0]] = 1.0
    return np.log(probs / probs.sum())
  return next_logprobs


def test_agreement_is_the_share_of_reactions_whose_polarity_the_model_favours():
  positive = reactions.agreement(_always(1), TOK, TEXTS)
  assert positive["items"] == 5 and positive["agreement"] == pytest.approx(3 / 5) and positive["agreement_stderr"] > 0
  assert reactions.agreement(_always(-1), TOK, TEXTS)["agreement"] == pytest.approx(2 / 5)
  assert reactions.agreement(_always(1), TOK, TEXTS, max_items=2)["items"] == 2
  with pytest.raises(ValueError, match="review_reactions"):
    reactions.agreement(_always(1), TOK, ["No reactions here."])
