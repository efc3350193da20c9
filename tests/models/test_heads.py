"""Classification heads: the backbone keeps the pretraining layout; what each head reads."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.models.config import ModelConfig
from lm.models.encoder import BertModel
from lm.models.heads import Classifier
from lm.models.transformer import Decoder

CONFIG = ModelConfig(vocab_size=61, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32)
X = jnp.asarray(np.random.default_rng(0).integers(3, 61, (2, 10)), jnp.int32)
# Row 0 has 7 real tokens then padding; row 1 is full.
SEGMENTS = jnp.asarray([[1] * 7 + [0] * 3, [1] * 10], jnp.int32)


def init(model):
  return jax.tree.map(lambda x: getattr(x, "value", x), model.init(jax.random.key(0), X)["params"],
                      is_leaf=lambda x: hasattr(x, "value"))


@pytest.mark.parametrize("backbone, pretraining", [("encoder", BertModel), ("decoder", Decoder)])
def test_backbone_parameters_have_the_pretraining_layout(backbone, pretraining):
  params = init(Classifier(CONFIG, 3, backbone=backbone))
  assert set(params) == {"backbone", "head"}
  pretrained = init(pretraining(CONFIG))
  chex.assert_trees_all_equal_shapes(params["backbone"], pretrained)


def test_decoder_classifier_reads_the_last_real_token():
  model = Classifier(CONFIG, 3, backbone="decoder")
  params = init(model)
  forward = jax.jit(lambda x: model.apply({"params": params}, x, SEGMENTS))
  out = forward(X)
  chex.assert_shape(out, (2, 3))
  np.testing.assert_allclose(forward(X.at[0, 8].set(5)), out, atol=1e-6)  # padding never matters
  assert not np.allclose(forward(X.at[0, 6].set((X[0, 6] + 1) % 61))[0], out[0], atol=1e-6)  # the last real token does
  # Computing only the last 4 columns (they hold both rows' last real tokens) reads the same token.
  last = jax.jit(lambda x: model.apply({"params": params}, x, SEGMENTS, outputs_for_last=4))(X)
  np.testing.assert_allclose(last, out, rtol=1e-5, atol=1e-5)


def test_token_classifier_gives_one_distribution_per_token_and_sees_both_sides():
  model = Classifier(CONFIG, 9, backbone="encoder", per_token=True)
  params = init(model)
  forward = jax.jit(lambda x: model.apply({"params": params}, x))
  out = forward(X)
  chex.assert_shape(out, (2, 10, 9))
  assert not np.allclose(forward(X.at[:, 8].set(4))[:, 2], out[:, 2], atol=1e-6), "later words inform earlier tags"


def test_the_last_real_token_is_found_with_padding_on_either_side():
  from lm.models.heads import last_token_index  # pylint: disable=g-import-not-at-top
  segments = jnp.asarray([[1, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
  np.testing.assert_array_equal(last_token_index(segments), [2, 3, 0, 4])


@pytest.mark.parametrize("critic", ["none", "shared", "separate"])
def test_actor_critic_policy_is_a_plain_decoder(critic):
  from lm.models.heads import ActorCritic  # pylint: disable=g-import-not-at-top
  model = ActorCritic(CONFIG, critic=critic)
  params = init(model)
  chex.assert_trees_all_equal_shapes(params["policy"], init(Decoder(CONFIG)))
  logits, values = model.apply({"params": params}, X, SEGMENTS)
  np.testing.assert_allclose(logits, Decoder(CONFIG).apply({"params": params["policy"]}, X, SEGMENTS), atol=1e-5)
  last_logits, last_values = model.apply({"params": params}, X, SEGMENTS, outputs_for_last=3)
  np.testing.assert_allclose(last_logits, logits[:, -3:], rtol=1e-5, atol=1e-5)
  if critic == "none":
    assert values is None and last_values is None and set(params) == {"policy"}
  else:
    chex.assert_shape(values, (2, 10))
    np.testing.assert_allclose(last_values, values[:, -3:], rtol=1e-5, atol=1e-5)
  if critic == "separate":  # the reward model's layout, with one value per token
    chex.assert_trees_all_equal_shapes(params["critic"], init(Classifier(CONFIG, 1, backbone="decoder")))
