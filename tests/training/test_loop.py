"""The training loop through `pretrain.run`: exact resume, preemption, non-finite stops, bad input."""

import json
import os
import signal
import stat

import pytest

from lm import settings
from lm.training import checkpoint, loop, pretrain, writers
from tests.conftest import tiny_pretrain_config


def train_rows(workdir):
  return [r for r in writers.read(workdir) if r["split"] == "train"]


@pytest.fixture(scope="module")
def straight_run(text_files, data_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir), workdir)
  return workdir, result


def test_run_writes_the_contract_files_and_learns(straight_run):
  workdir, result = straight_run
  assert result.step == 20 and not result.preempted
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["10", "20"]
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  config = json.load(open(os.path.join(workdir, "config.json")))
  assert config["data"]["dataset"] == "files/text" and config["train"]["steps"] == 20
  rows = writers.read(workdir)
  assert all("step" in r and r["split"] in ("train", "eval") for r in rows)
  train = train_rows(workdir)
  assert [r["step"] for r in train] == [5, 10, 15, 20]
  assert train[-1]["loss"] < train[0]["loss"] - 0.5, train
  evals = [r for r in rows if r["split"] == "eval"]
  assert [r["step"] for r in evals] == [10, 20] and evals[-1]["perplexity"] < evals[0]["perplexity"]


def test_resume_reaches_the_same_losses(straight_run, text_files, data_dir, tmp_path):
  reference, _ = straight_run
  workdir = str(tmp_path)
  pretrain.run(tiny_pretrain_config(text_files, data_dir, steps=10), workdir)
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir), workdir)
  assert result.step == 20
  ours, theirs = train_rows(workdir), train_rows(reference)
  assert [r["step"] for r in ours] == [r["step"] for r in theirs]
  for a, b in zip(ours, theirs):
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5), (a, b)


def sigterm_at(data, at):
  """The training batches, with SIGTERM sent to this process when batch number `at` is read."""
  count = [0]

  def maybe_signal(batch):
    count[0] += 1
    if count[0] == at:
      os.kill(os.getpid(), signal.SIGTERM)
    return batch

  return data.map(maybe_signal)


def test_sigterm_saves_a_checkpoint_that_resumes(straight_run, text_files, data_dir, tmp_path, monkeypatch):
  reference, _ = straight_run
  workdir = str(tmp_path)
  original = pretrain.pipelines
  def interrupted(*args, **kwargs):
    train, evaluate = original(*args, **kwargs)
    return sigterm_at(train, 7), evaluate

  monkeypatch.setattr(pretrain, "pipelines", interrupted)
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir), workdir)
  assert result.preempted and result.step == 7
  assert os.listdir(os.path.join(workdir, "checkpoints")) == ["7"]
  monkeypatch.setattr(pretrain, "pipelines", original)
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir), workdir)
  assert result.step == 20 and not result.preempted
  # Log intervals that the preemption cut short differ; those after it match the straight run.
  ours = {r["step"]: r["loss"] for r in train_rows(workdir)}
  theirs = {r["step"]: r["loss"] for r in train_rows(reference)}
  for step in (15, 20):
    assert ours[step] == pytest.approx(theirs[step], rel=1e-5)


def test_non_finite_losses_stop_the_run_naming_the_step(text_files, data_dir, tmp_path, monkeypatch):
  original = pretrain.pipelines

  def poisoned(*args, **kwargs):
    train, evaluate = original(*args, **kwargs)

    def poison(batch):
      batch = dict(batch, weights=batch["weights"].astype("float32"))
      batch["weights"][0, 0] = float("nan")
      return batch

    return train.map(poison), evaluate

  monkeypatch.setattr(pretrain, "pipelines", poisoned)
  with pytest.raises(loop.NonFiniteError, match=r"3 consecutive non-finite updates, the first at step 1, the last at step 3"):
    pretrain.run(tiny_pretrain_config(text_files, data_dir, max_skipped_in_a_row=3), str(tmp_path))


def test_unknown_config_key_is_named(text_files, data_dir, tmp_path):
  config = tiny_pretrain_config(text_files, data_dir)
  config.model.num_layer = 3
  with pytest.raises(settings.ConfigError, match=r"Unknown config key model\.num_layer\. Did you mean model\.num_layers\?"):
    pretrain.run(config, str(tmp_path))


def test_unwritable_workdir(text_files, data_dir, tmp_path):
  locked = tmp_path / "locked"
  locked.mkdir()
  locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
  if os.access(locked, os.W_OK):
    pytest.skip("running as a user that can write anywhere (root)")
  with pytest.raises(settings.ConfigError, match="Cannot write to --workdir"):
    pretrain.run(tiny_pretrain_config(text_files, data_dir), str(locked / "run"))


def test_unwritable_workdir_path_is_a_file(text_files, data_dir, tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  with pytest.raises(settings.ConfigError, match="Cannot write to --workdir"):
    pretrain.run(tiny_pretrain_config(text_files, data_dir), str(blocker / "run"))


def test_incompatible_checkpoint_names_the_parameter_and_keeps_the_files(straight_run, text_files, data_dir):
  workdir, _ = straight_run
  before = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
  config = tiny_pretrain_config(text_files, data_dir, steps=30)
  config.model.d_ff = 96
  with pytest.raises(checkpoint.IncompatibleCheckpointError,
                     match=r"params/stack/layer_0/mlp/down/kernel: checkpoint has shape \(128, 64\), the model expects \(96, 64\)"):
    pretrain.run(config, workdir)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == before


def test_unknown_dataset(text_files, data_dir, tmp_path):
  config = tiny_pretrain_config(text_files, data_dir)
  config.data.dataset = "wikitext"
  with pytest.raises(ValueError, match="Unknown dataset 'wikitext'"):
    pretrain.run(config, str(tmp_path))
