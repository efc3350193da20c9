"""init_from: finding a run's checkpoint, restoring exactly the backbone, clear errors otherwise."""

import dataclasses
import os

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from lm import settings
from lm.models.config import ModelConfig
from lm.models.heads import Classifier
from lm.training import checkpoint, pretrain, runs, transfer


def model_config(run_dir, **changes) -> ModelConfig:
  config = ml_collections.ConfigDict(settings.load_run_config(run_dir))
  vocab = transfer.resolve(run_dir).tokenizer().vocab_size
  return dataclasses.replace(pretrain.model_config(config, vocab), **changes)


def fresh(model, seed=0):
  tokens = jnp.ones((1, 8), jnp.int32)
  return jax.tree.map(lambda x: getattr(x, "value", x), model.init(jax.random.key(seed), tokens)["params"],
                      is_leaf=lambda x: hasattr(x, "value"))


def test_warm_start_restores_exactly_the_backbone_and_keeps_the_head_fresh(causal_run):
  model = Classifier(model_config(causal_run), 3, backbone="decoder")
  params = fresh(model)
  loaded = transfer.warm_start(transfer.resolve(causal_run), "backbone")(params)
  pretrained = runs.load(causal_run).params
  chex.assert_trees_all_equal(loaded["backbone"], pretrained)
  chex.assert_trees_all_equal(loaded["head"], params["head"])
  assert not np.allclose(loaded["backbone"]["embedder"]["tokens"]["embedding"],
                         params["backbone"]["embedder"]["tokens"]["embedding"]), "the backbone really changed"


def test_init_from_accepts_the_run_its_checkpoints_or_one_step(causal_run):
  by_run = transfer.resolve(causal_run)
  assert by_run.step == 4 and by_run.objective == "causal" and by_run.tokenizer() is not None
  by_dir = transfer.resolve(os.path.join(causal_run, "checkpoints"))
  by_step = transfer.resolve(os.path.join(causal_run, "checkpoints", "4"))
  assert by_dir == by_run and by_step == by_run


def test_missing_init_from_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="init_from=.*no such directory"):
    transfer.resolve(str(tmp_path / "nope"))
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    transfer.resolve(str(tmp_path))


def test_a_backbone_of_another_shape_is_named(causal_run):
  model = Classifier(model_config(causal_run, d_ff=96), 3, backbone="decoder")
  with pytest.raises(checkpoint.IncompatibleCheckpointError, match=r"(?s)mlp.*shape .*96.*model.d_ff: 128 there, 96 here"):
    transfer.warm_start(transfer.resolve(causal_run), "backbone", {"d_ff": 96})(fresh(model))


def test_a_run_of_the_wrong_objective_is_refused(causal_run):
  with pytest.raises(settings.ConfigError, match="'causal' run.*'bert'"):
    transfer.check_objective(transfer.resolve(causal_run), "bert", "sentiment", "encoder")
