"""rundir.check_unchanged: a finished run's figures are reused only for the settings and tokenizer it trained with."""

import os

import ml_collections
import pytest

from lm import settings
from lm.training import rundir


def _finished(tmp_path, config, tokenizer=b"pieces"):
  run = str(tmp_path / "run")
  os.makedirs(run)
  rundir.RunFiles(run, settings.to_dict(config), tokenizer).write()
  return run


def _config(**train):
  c = ml_collections.ConfigDict({"train": {"steps": 100, "learning_rate": 1e-3}, "init_from": "runs/a",
                                 "data": {"data_dir": "/data/here", "shape": (8, 512)}})
  c.train.update(train)
  return c


def test_the_same_settings_pass_whatever_the_data_dir_or_the_form_of_a_path(tmp_path, monkeypatch):
  run = _finished(tmp_path, _config())
  same = _config()
  same.data.data_dir = "/elsewhere"  # the machine's cache, not the experiment
  monkeypatch.chdir(tmp_path)
  same.init_from = str(tmp_path / "runs" / "a")  # the same directory, given absolute
  rundir.check_unchanged(run, same, "the run")
  settings_only = _config()
  settings_only.added_later = 3  # a setting the saved config never had
  rundir.check_unchanged(run, settings_only, "the run")


def test_a_changed_setting_is_named_and_nothing_is_touched(tmp_path):
  run = _finished(tmp_path, _config())
  before = open(os.path.join(run, rundir.CONFIG_FILE)).read()
  with pytest.raises(settings.ConfigError, match=r"the run finished with other settings: train.steps: 100 then, "
                                                 r"200 now\. .*Move the directory away"):
    rundir.check_unchanged(run, _config(steps=200), "the run")
  assert open(os.path.join(run, rundir.CONFIG_FILE)).read() == before


def test_a_start_retrained_with_another_tokenizer_is_refused(tmp_path):
  run = _finished(tmp_path, _config(), tokenizer=b"old pieces")
  start = tmp_path / "start.model"
  start.write_bytes(b"old pieces")
  rundir.check_unchanged(run, _config(), "the run", str(start))
  start.write_bytes(b"new pieces")
  with pytest.raises(settings.ConfigError, match=r"run/tokenizer.model: the run finished with another tokenizer"):
    rundir.check_unchanged(run, _config(), "the run", str(start))
