"""Data faults in the middle of a run: a malformed JSONL line, files removed after preparation, a NaN storm.

Each is a clear error naming the file and line, or the steps, and the last checkpoint stays intact: fixing the
cause and re-running the same command continues the run.
"""

import glob
import json
import os
import shutil

import pytest

from lm.data import formats, sources
from lm.training import loop, pretrain, writers
from tests.conftest import tiny_pretrain_config

pytestmark = pytest.mark.xdist_group("faults")


def checkpoint_steps(workdir):
  return sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())


@pytest.fixture
def jsonl_run(text_files, tmp_path):
  """A 10-step run on .jsonl copies of the test corpus, checkpointed at step 10."""
  files = {}
  for split, path in text_files.items():
    docs = [d for d in open(path).read().split("\n\n") if d.strip()]
    files[split] = str(tmp_path / f"{split}.jsonl")
    with open(files[split], "w") as f:
      f.writelines(json.dumps({"text": d}) + "\n" for d in docs)
  data_dir, workdir = str(tmp_path / "data"), str(tmp_path / "run")

  def config(steps):
    return tiny_pretrain_config(files, data_dir, steps=steps, checkpoint_every=10, eval_every=steps)

  pretrain.run(config(10), workdir)
  return files, data_dir, workdir, config


def test_a_malformed_jsonl_line_is_named_and_the_run_continues_once_fixed(jsonl_run):
  files, _, workdir, config = jsonl_run
  good = open(files["train"]).read()
  lines = good.splitlines(keepends=True)
  lines[36] = '{"text": "a line cut short\n'
  open(files["train"], "w").write("".join(lines))
  with pytest.raises(formats.FormatError, match=r"train\.jsonl:37: "):
    pretrain.run(config(20), workdir)
  assert checkpoint_steps(workdir) == [10]
  open(files["train"], "w").write(good)
  assert pretrain.run(config(20), workdir).step == 20


def test_a_prepared_file_removed_is_named_and_the_run_continues_once_prepared_again(jsonl_run):
  _, data_dir, workdir, config = jsonl_run
  (shard,) = glob.glob(os.path.join(data_dir, "files", "text-*", "*", "*-train.array_record-*"))
  os.remove(shard)
  with pytest.raises(sources.PreparedDataError, match=rf"{shard}: prepared data file missing .* Delete .* and re-run"):
    pretrain.run(config(20), workdir)
  assert checkpoint_steps(workdir) == [10]
  shutil.rmtree(os.path.dirname(os.path.dirname(shard)))
  assert pretrain.run(config(20), workdir).step == 20


def test_a_source_file_removed_is_named(jsonl_run):
  files, _, workdir, config = jsonl_run
  os.remove(files["validation"])
  with pytest.raises(FileNotFoundError, match=rf"{files['validation']}: no such file \(split 'validation'\)"):
    pretrain.run(config(20), workdir)
  assert checkpoint_steps(workdir) == [10]


def test_a_nan_storm_mid_run_names_the_steps_and_keeps_the_checkpoint(text_files, data_dir, tmp_path, monkeypatch):
  workdir = str(tmp_path)
  config = lambda: tiny_pretrain_config(text_files, data_dir, steps=30, checkpoint_every=10, eval_every=30,
                                        max_skipped_in_a_row=4)
  original = pretrain.pipelines

  def storm(*args, **kwargs):
    train, evaluate = original(*args, **kwargs)
    count = [0]

    def poison(batch):
      count[0] += 1
      if count[0] >= 13:  # every batch from the 13th on carries a NaN weight
        batch = dict(batch, weights=batch["weights"].astype("float32"))
        batch["weights"][0, 0] = float("nan")
      return batch

    return train.map(poison), evaluate

  monkeypatch.setattr(pretrain, "pipelines", storm)
  with pytest.raises(loop.NonFiniteError, match=r"4 consecutive non-finite updates, the first at step 13, the last "
                                                r"at step 16"):
    pretrain.run(config(), workdir)
  assert checkpoint_steps(workdir) == [10]
  assert max(r["step"] for r in writers.read(workdir)) <= 16
  monkeypatch.setattr(pretrain, "pipelines", original)
  result = pretrain.run(config(), workdir)
  assert result.step == 30 and not result.preempted
  assert float(result.state.skipped) == 0, "the resumed run restarted from step 10, before the storm"
