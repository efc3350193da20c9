"""Weights & Biases logging (`config.logging`), in offline mode: the rows of metrics.jsonl, one run per work dir."""

import glob
import json
import os
import struct
import sys

import pytest
from wandb.proto import wandb_internal_pb2

from lm import settings
from lm.training import pretrain, tracking, writers
from tests.conftest import tiny_pretrain_config


def _records(path: str, block: int = 32768):
  """The records of a W&B transaction log (`run-<id>.wandb`): a 7-byte file header, then LevelDB-style chunks
  (checksum, length, type: 1 whole, 2 first, 3 middle, 4 last) that never straddle a 32 KiB block."""
  data, pos, pending = open(path, "rb").read(), 7, b""
  while pos + 7 <= len(data):
    if block - pos % block < 7:
      pos += block - pos % block
      continue
    _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
    if kind == 0:
      break
    pending += data[pos + 7:pos + 7 + length]
    pos += 7 + length
    if kind in (1, 4):
      record = wandb_internal_pb2.Record()
      record.ParseFromString(pending)
      pending = b""
      yield record


def _history(path: str) -> list[dict]:
  return [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
          for r in _records(path) if r.WhichOneof("record_type") == "history"]


def _offline(text_files, data_dir, **logging):
  config = tiny_pretrain_config(text_files, data_dir)
  config.logging.update({"wandb": True, "wandb_mode": "offline", **logging})
  return config


def test_offline_runs_log_every_row_and_a_rerun_continues_the_same_run(text_files, data_dir, tmp_path):
  workdir = str(tmp_path / "sweep" / "lr3e-3")
  config = _offline(text_files, data_dir)
  pretrain.run(config, workdir)
  logs = glob.glob(os.path.join(workdir, "wandb", "offline-run-*", f"run-{tracking.run_id(workdir)}.wandb"))
  assert len(logs) == 1
  logged = {}
  for row in _history(logs[0]):  # train and eval rows of one step are two records
    logged.setdefault(row["step"], {}).update(row)
  for row in writers.read(workdir):
    for key, value in row.items():
      if key not in ("step", "split"):
        assert logged[row["step"]][f"{row['split']}/{key}"] == pytest.approx(value), (row["step"], key)
  assert {"eval/loss", "train/loss"} <= set(logged[20])
  header = next(r.run for r in _records(logs[0]) if r.WhichOneof("record_type") == "run")
  assert (header.project, header.display_name) == ("sweep", "lr3e-3")
  assert json.loads(header.config.update[0].value_json) is not None  # the run config travels with it
  pretrain.run(config, workdir)  # finished: nothing to train, the same W&B run id
  again = glob.glob(os.path.join(workdir, "wandb", "offline-run-*", "run-*.wandb"))
  assert len(again) == 2 and all(p.endswith(f"run-{tracking.run_id(workdir)}.wandb") for p in again)


def test_without_wandb_installed_the_error_says_how_and_nothing_is_written(text_files, data_dir, tmp_path,
                                                                         monkeypatch):
  monkeypatch.setitem(sys.modules, "wandb", None)
  with pytest.raises(settings.ConfigError, match=r'pip install -e "\.\[wandb\]"'):
    pretrain.run(_offline(text_files, data_dir), str(tmp_path))
  assert not os.path.exists(tmp_path / "metrics.jsonl") and not os.path.exists(tmp_path / "checkpoints" / "10")


def test_a_bad_mode_or_key_is_named(text_files, data_dir, tmp_path):
  with pytest.raises(settings.ConfigError, match="logging.wandb_mode='sometimes'"):
    pretrain.run(_offline(text_files, data_dir, wandb_mode="sometimes"), str(tmp_path))
  config = tiny_pretrain_config(text_files, data_dir)
  config.logging.wandb_projct = "x"
  with pytest.raises(settings.ConfigError, match="logging.wandb_projct.*Did you mean logging.wandb_project"):
    pretrain.run(config, str(tmp_path))
