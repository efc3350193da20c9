"""The training loop through `pretrain.run`: exact resume, preemption, non-finite stops, bad input."""

import glob
import json
import os
import signal
import stat

import pytest

from lm import settings
from lm.training import checkpoint, loop, pretrain, transfer, writers
from tests.conftest import tiny_pretrain_config


def train_rows(workdir):
  return [r for r in writers.read(workdir) if r["split"] == "train"]


@pytest.fixture(scope="module")
def straight_run(text_files, data_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir, profile_steps="3,4"), workdir)
  return workdir, result


def test_run_writes_the_contract_files_and_learns(straight_run):
  workdir, result = straight_run
  assert result.step == 20 and not result.preempted
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["10", "20"]
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  # train.profile_steps=3,4: one trace, where TensorBoard's profile plugin looks for it.
  traces = glob.glob(os.path.join(workdir, "tensorboard", "plugins", "profile", "*", "*.xplane.pb"))
  assert len(traces) == 1 and os.path.getsize(traces[0]) > 1000, traces
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


def run_dir_files(workdir):
  """Every file of a run directory (but TensorBoard's) with its bytes."""
  out = {}
  for root, _, files in os.walk(workdir):
    for name in files:
      path = os.path.join(root, name)
      if "tensorboard" not in path:
        out[os.path.relpath(path, workdir)] = open(path, "rb").read()
  return out


def test_incompatible_checkpoint_names_the_parameter_and_keeps_the_files(straight_run, text_files, data_dir):
  workdir, _ = straight_run
  before = run_dir_files(workdir)
  config = tiny_pretrain_config(text_files, data_dir, steps=30)
  config.model.d_ff = 96
  with pytest.raises(checkpoint.IncompatibleCheckpointError,
                     match=r"params/stack/layer_0/mlp/down/kernel: checkpoint has shape \(128, 64\), the model expects \(96, 64\)"):
    pretrain.run(config, workdir)
  # Nothing was touched: config.json still describes the checkpoints, so the run still loads as init_from.
  assert run_dir_files(workdir) == before
  source = transfer.resolve(workdir)
  assert source.config["model"]["d_ff"] == 128
  transfer.warm_start(source, "", source.config["model"])(init_params_of(source))


def init_params_of(source):
  import jax  # pylint: disable=g-import-not-at-top
  import ml_collections  # pylint: disable=g-import-not-at-top

  from lm.models.transformer import Decoder  # pylint: disable=g-import-not-at-top
  from lm.training import sharding, state as state_lib  # pylint: disable=g-import-not-at-top

  cfg = pretrain.model_config(ml_collections.ConfigDict(source.config), source.tokenizer().vocab_size)
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  return state_lib.abstract_params(lambda r: Decoder(cfg).init(r, jax.numpy.ones((1, 8), "int32"))["params"], mesh,
                                   jax.random.key(0))


def test_a_changed_tokenizer_of_the_same_size_is_refused(straight_run, text_files, data_dir):
  workdir, _ = straight_run
  before = run_dir_files(workdir)
  config = tiny_pretrain_config(text_files, data_dir, steps=30)
  config.tokenizer.model_type = "bpe"  # the same 512 embedding rows: the shapes agree, the ids do not
  with pytest.raises(settings.ConfigError, match=r"tokenizer\.model: this run's checkpoints were trained with that "
                     r"tokenizer, but the config now builds a different one"):
    pretrain.run(config, workdir)
  assert run_dir_files(workdir) == before


@pytest.mark.parametrize("at", [10, 20], ids=["checkpoint_step", "last_step"])
def test_sigterm_on_a_checkpoint_step_saves_once_and_reports_preemption(at, text_files, data_dir, tmp_path,
                                                                         monkeypatch):
  original = pretrain.pipelines
  def interrupted(*args, **kwargs):
    train, evaluate = original(*args, **kwargs)
    return sigterm_at(train, at), evaluate

  monkeypatch.setattr(pretrain, "pipelines", interrupted)
  result = pretrain.run(tiny_pretrain_config(text_files, data_dir), str(tmp_path))
  assert result.preempted and result.step == at
  assert str(at) in os.listdir(tmp_path / "checkpoints")


def test_unknown_dataset(text_files, data_dir, tmp_path):
  config = tiny_pretrain_config(text_files, data_dir)
  config.data.dataset = "wikitext"
  with pytest.raises(ValueError, match="Unknown dataset 'wikitext'"):
    pretrain.run(config, str(tmp_path))


@pytest.mark.parametrize("value, message", [("4", "expected 'first,last'"), ("5,3", "expected 1 <= first <= last"),
                                            ("a,b", "expected 'first,last'")])
def test_bad_profile_steps_are_a_config_error(value, message):
  with pytest.raises(settings.ConfigError, match=f"train.profile_steps='{value}': {message}"):
    settings.section(loop.LoopConfig, {"profile_steps": value}, "train")
