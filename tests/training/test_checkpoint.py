"""Checkpoints: parameters restored alone and straight into their shardings; unreadable checkpoints are set aside."""

import os
import shutil

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
import pytest

from lm import settings
from lm.models.transformer import Decoder
from lm.training import checkpoint, pretrain, sharding, state as state_lib, transfer
from scripts import faults
from tests.conftest import tiny_pretrain_config


def abstract_params(run_dir, mesh):
  source = transfer.resolve(run_dir)
  cfg = pretrain.model_config(ml_collections.ConfigDict(source.config), source.tokenizer().vocab_size)
  return state_lib.abstract_params(lambda r: Decoder(cfg).init(r, jnp.ones((1, 8), jnp.int32))["params"], mesh,
                                   jax.random.key(0))


def test_restore_params_reads_the_parameters_alone(causal_run, monkeypatch):
  requested = []
  original = ocp.CheckpointManager.restore

  def spy(self, step, args=None, **kwargs):
    requested.append(args)
    return original(self, step, args=args, **kwargs)

  monkeypatch.setattr(ocp.CheckpointManager, "restore", spy)
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  params = checkpoint.restore_params(os.path.join(causal_run, "checkpoints"), abstract_params(causal_run, mesh))
  (args,) = requested
  asked = args["state"].item
  assert set(asked) == {"params"}, "the optimiser's moments (twice the parameters under Adam) stay on disk"
  assert jax.tree.structure(asked["params"]) == jax.tree.structure(params)


def test_restore_params_places_arrays_in_the_target_sharding(causal_run):
  mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2), jax.devices()[:4])
  target = abstract_params(causal_run, mesh)
  params = checkpoint.restore_params(os.path.join(causal_run, "checkpoints"), target)
  kernel, wanted = params["stack"]["layer_0"]["mlp"]["up"]["kernel"], target["stack"]["layer_0"]["mlp"]["up"]["kernel"]
  assert kernel.sharding == wanted.sharding and kernel.sharding.spec[0] == "fsdp"
  one = checkpoint.restore_params(os.path.join(causal_run, "checkpoints"),
                                  abstract_params(causal_run, sharding.make_mesh(sharding.MeshConfig(data=1),
                                                                                 jax.devices()[:1])))
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), params, one)


@pytest.fixture(scope="module")
def three_checkpoints(text_files, data_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("three"))
  pretrain.run(tiny_pretrain_config(text_files, data_dir, steps=15, checkpoint_every=5, eval_every=15), workdir)
  return workdir


@pytest.mark.parametrize("how", ["truncate", "garble", "delete"])
def test_an_unreadable_latest_checkpoint_falls_back_to_the_previous_one(how, three_checkpoints, text_files, data_dir,
                                                                       tmp_path, caplog):
  workdir = str(tmp_path / "run")
  shutil.copytree(three_checkpoints, workdir)
  faults.corrupt_checkpoint(os.path.join(workdir, "checkpoints", "15"), how)
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir, steps=20, checkpoint_every=5, eval_every=20),
                        workdir)
  assert result.step == 20
  assert "Checkpoint" in caplog.text and "/15 cannot be read" in caplog.text and "trying the previous one" in caplog.text
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints")), key=int) == ["10", "15", "20"]
  assert [d.split("-")[0] for d in os.listdir(os.path.join(workdir, "checkpoints.corrupt"))] == ["15"]
  # Steps 11-15 were trained again from step 10: the same losses as the first time.
  first = {r["step"]: r["loss"] for r in settings_rows(three_checkpoints)}
  again = {r["step"]: r["loss"] for r in settings_rows(workdir)}
  assert again[15] == pytest.approx(first[15], rel=1e-5)


def settings_rows(workdir):
  from lm.training import writers  # pylint: disable=g-import-not-at-top
  return [r for r in writers.read(workdir) if r["split"] == "train"]


def test_when_no_checkpoint_can_be_read_the_run_refuses_to_start_over(three_checkpoints, text_files, data_dir, tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(three_checkpoints, workdir)
  for step in ("5", "10", "15"):
    faults.corrupt_checkpoint(os.path.join(workdir, "checkpoints", step), "truncate")
  with pytest.raises(checkpoint.UnreadableCheckpointsError,
                     match=r"None of the 3 checkpoints in .* could be read; nothing was moved or deleted"):
    pretrain.run(tiny_pretrain_config(text_files, data_dir, steps=20, checkpoint_every=5), workdir)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints")), key=int) == ["5", "10", "15"]
  assert not os.path.exists(os.path.join(workdir, "checkpoints.corrupt"))
