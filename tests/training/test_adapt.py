"""LoRA adapters and frozen backbones: what starts equal, what changes, what the optimiser touches."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lm import settings
from lm.models.config import ModelConfig
from lm.models.heads import Classifier
from lm.training import adapt

CONFIG = ModelConfig(vocab_size=64, num_layers=2, d_model=32, num_heads=4, d_ff=48, max_len=16)
LORA = adapt.AdaptConfig(lora_rank=2)
X = jnp.asarray(np.random.default_rng(0).integers(3, 64, (2, 8)), jnp.int32)


def params_of(model):
  return jax.tree.map(lambda x: getattr(x, "value", x), model.init(jax.random.key(0), X)["params"],
                      is_leaf=lambda x: hasattr(x, "value"))


def test_adapters_cover_attention_and_mlp_kernels_with_the_right_shapes():
  params = params_of(Classifier(CONFIG, 3, backbone="decoder"))
  adapters = adapt.init(params, LORA, CONFIG.d_model, jax.random.key(1))
  shapes = {k: (v["a"].shape, v["b"].shape) for k, v in adapters.items()}
  assert shapes["backbone/stack/layer_0/attention/query/kernel"] == ((32, 2), (2, 32))  # [D] -> [N, H]
  assert shapes["backbone/stack/layer_1/attention/out/kernel"] == ((32, 2), (2, 32))    # [N, H] -> [D]
  assert shapes["backbone/stack/layer_0/mlp/up/kernel"] == ((32, 2), (2, 48))
  assert shapes["backbone/stack/layer_0/mlp/down/kernel"] == ((48, 2), (2, 32))
  assert len(adapters) == 2 * 6 and not any("embed" in k or "head" in k for k in adapters)
  with pytest.raises(settings.ConfigError, match="matches no kernel"):
    adapt.init(params, adapt.AdaptConfig(lora_rank=2, lora_targets=("nothing",)), 32, jax.random.key(1))


def test_merged_weights_start_at_the_base_and_move_only_where_adapters_are():
  model = Classifier(CONFIG, 3, backbone="decoder")
  params = adapt.wrap_init(lambda rng: params_of(model), LORA, CONFIG.d_model)(jax.random.key(0))
  merged = adapt.merge(params, LORA)
  jax.tree.map(np.testing.assert_array_equal, merged, params["base"])  # B = 0 at the start
  path = "backbone/stack/layer_0/mlp/up/kernel"
  params["lora"][path]["b"] = jnp.ones_like(params["lora"][path]["b"])
  moved = adapt.merge(params, LORA)
  kernel = params["base"]["backbone"]["stack"]["layer_0"]["mlp"]["up"]["kernel"]
  expected = kernel + (LORA.lora_alpha / LORA.lora_rank) * params["lora"][path]["a"] @ params["lora"][path]["b"]
  np.testing.assert_allclose(moved["backbone"]["stack"]["layer_0"]["mlp"]["up"]["kernel"], expected, rtol=1e-6)
  np.testing.assert_array_equal(moved["backbone"]["stack"]["layer_1"]["mlp"]["up"]["kernel"],
                                params["base"]["backbone"]["stack"]["layer_1"]["mlp"]["up"]["kernel"])


@pytest.mark.parametrize("config", [adapt.AdaptConfig(freeze_backbone=True), LORA])
def test_the_optimiser_leaves_the_backbone_alone(config):
  model = Classifier(CONFIG, 3, backbone="decoder")
  init = (lambda rng: params_of(model))
  if config.lora:
    init = adapt.wrap_init(init, config, CONFIG.d_model)
  params = init(jax.random.key(0))
  opt = adapt.optimizer(optax.adam(0.1), config, "backbone")
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = opt.update(grads, opt.init(params), params)
  base = updates["base"] if config.lora else updates
  assert all(float(jnp.abs(u).max()) == 0 for u in jax.tree.leaves(base["backbone"]))
  assert all(float(jnp.abs(u).max()) > 0 for u in jax.tree.leaves(base["head"]))
  if config.lora:
    assert all(float(jnp.abs(u).max()) > 0 for u in jax.tree.leaves(updates["lora"]))


def test_freezing_a_task_without_heads_is_refused():
  with pytest.raises(settings.ConfigError, match="freeze_backbone needs a task with new heads"):
    adapt.optimizer(optax.adam(0.1), adapt.AdaptConfig(freeze_backbone=True), "")
