"""A disk that fills up mid-run: a clear error naming the checkpoint, the earlier ones intact, and a re-run on
free space continues to the same parameters as an uninterrupted run."""

import os
import subprocess

import pytest

from lm.training import checkpoint, pretrain
from scripts import faults
from tests.conftest import tiny_pretrain_config

pytestmark = pytest.mark.xdist_group("faults")


@pytest.fixture
def small_disk(tmp_path):
  """A 64 MiB tmpfs: a real filesystem that runs out of space (mounting needs root, as CI has)."""
  mount = tmp_path / "disk"
  mount.mkdir()
  subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True, capture_output=True)
  yield mount
  subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_at(data, at, path):
  """The training batches, with the disk under `path` filled (but 64 KiB) when batch number `at` is read."""
  count = [0]

  def maybe_fill(batch):
    count[0] += 1
    if count[0] == at:
      stat = os.statvfs(os.path.dirname(path))
      with open(path, "wb") as f:
        f.write(b"\0" * max(stat.f_bavail * stat.f_frsize - 64 * 1024, 0))
    return batch

  return data.map(maybe_fill)


def test_a_full_disk_fails_clearly_keeps_the_last_checkpoint_and_resumes(small_disk, text_files, data_dir, tmp_path,
                                                                        monkeypatch):
  config = lambda: tiny_pretrain_config(text_files, data_dir, steps=30, checkpoint_every=10, eval_every=30)
  reference = str(tmp_path / "reference")
  pretrain.run(config(), reference)

  workdir, filler = str(small_disk / "run"), str(small_disk / "filler")
  original = pretrain.pipelines
  def filling(*args, **kwargs):
    train, evaluate = original(*args, **kwargs)
    return fill_at(train, 15, filler), evaluate

  monkeypatch.setattr(pretrain, "pipelines", filling)
  with pytest.raises(checkpoint.CheckpointWriteError,
                     match=r"Saving checkpoint 20 in .* failed: .*The checkpoints before it \(10\) are intact; free "
                           r"disk space .* continue from step 10\."):
    pretrain.run(config(), workdir)
  assert sorted(d for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit()) == ["10"]

  monkeypatch.setattr(pretrain, "pipelines", original)
  os.remove(filler)
  result = pretrain.run(config(), workdir)
  assert result.step == 30
  assert faults.identical(faults.final_state(workdir), faults.final_state(reference))
