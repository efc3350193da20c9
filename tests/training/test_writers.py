"""The metrics writer: JSON lines and TensorBoard events, and a start that does not pay for torch."""

import glob
import json
import subprocess
import sys

import numpy as np

from lm.training import writers
from tests.conftest import REPO


def test_rows_and_tensorboard_events_are_written_and_a_resume_drops_later_rows(tmp_path):
  writer = writers.MetricsWriter(str(tmp_path))
  writer.write(1, "train", {"loss": np.float32(2.5)})
  writer.write(2, "train", {"loss": 2.0})
  writer.close()
  assert [json.loads(line)["loss"] for line in open(tmp_path / "metrics.jsonl")] == [2.5, 2.0]
  assert glob.glob(str(tmp_path / writers.TENSORBOARD_DIR / "events.out.tfevents.*"))
  writers.MetricsWriter(str(tmp_path), resume_step=1).close()
  assert [json.loads(line)["step"] for line in open(tmp_path / "metrics.jsonl")] == [1]


def test_importing_the_writer_leaves_torch_unimported_and_importable():
  # torch is in the [test] extra (interop parity); tensorboardX would import it at every run's start.
  code = ("import sys; import lm.training.writers; assert 'torch' not in sys.modules, 'torch imported'; "
          "import torch; torch.zeros(1)")
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
