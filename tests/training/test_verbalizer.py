"""The verbalizer head: before any step a decoder classifier scores each class as the LM's mean logit for its words."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm import settings
from lm.models.config import ModelConfig
from lm.models.heads import Classifier
from lm.models.transformer import Decoder
from lm.training import verbalizer

CONFIG = ModelConfig(vocab_size=61, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32)


class Pieces:
  """A stand-in tokenizer: each word's pieces from a table."""
  table = {"bad": [7, 3], "awful": [9], "good": [11, 3], "great": [12], "grim": [9, 5]}

  def encode(self, word):
    return self.table[word]

  def decode(self, ids):
    return f"<{ids[0]}>"


@pytest.mark.parametrize("tied", [True, False])
def test_the_head_starts_as_the_lms_mean_logit_over_each_class_words(tied):
  config = dataclasses.replace(CONFIG, tie_embeddings=tied, scale_tied_logits=tied)
  tokens = jax.random.randint(jax.random.PRNGKey(0), (3, 10), 1, 61)
  lm_params = nn.unbox(Decoder(config).init(jax.random.PRNGKey(1), tokens)["params"])
  classifier = Classifier(config, 2, backbone="decoder")
  params = nn.unbox(classifier.init(jax.random.PRNGKey(2), tokens)["params"])
  params = {**params, "backbone": lm_params}
  pieces = verbalizer.first_pieces(Pieces(), verbalizer.parse("bad, awful|good,great", 2))
  assert pieces == [[7, 9], [11, 12]]
  started = verbalizer.init_head(pieces, config)(params)
  logits = np.asarray(classifier.apply({"params": started}, tokens))
  lm_last = np.asarray(Decoder(config).apply({"params": lm_params}, tokens))[:, -1]
  expected = np.stack([lm_last[:, [7, 9]].mean(axis=1), lm_last[:, [11, 12]].mean(axis=1)], axis=1)
  np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
  assert not np.allclose(np.asarray(classifier.apply({"params": params}, tokens)), expected, atol=1e-3)
  assert jnp.all(started["head"]["bias"] == 0)


def test_bad_verbalizers_are_named():
  with pytest.raises(settings.ConfigError, match="expected 2 non-empty word lists"):
    verbalizer.parse("bad,awful", 2)
  with pytest.raises(settings.ConfigError, match="expected 2"):
    verbalizer.parse("bad||good", 2)
  with pytest.raises(settings.ConfigError, match="share first pieces"):
    verbalizer.first_pieces(Pieces(), [["awful"], ["grim"]])
  assert verbalizer.then(None, abs) is abs and verbalizer.then(lambda x: x - 5, abs)(2) == 3
