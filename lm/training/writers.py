"""Metrics to disk: `metrics.jsonl` (one JSON object per event) and TensorBoard scalars (and to W&B if asked).

Every line has `step` and `split` ("train", "eval", ...) plus the metric names. On resume, lines
from beyond the restored step (written after the last checkpoint by the interrupted run) are
dropped, so the file reads as if the run had never stopped. In a multi-process run only process 0
writes (the others' writers do nothing): one row per logged step.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping

from lm import distributed
from lm.training import tracking


def _import_tensorboardx():
  """tensorboardX, imported without torch.

  When torch is installed, tensorboardX imports it at once (2.2 s of every process's start here) only to accept torch
  tensors, which lm never passes. Hiding torch during the import skips that; a torch already imported is left alone.
  """
  if "torch" in sys.modules:
    import tensorboardX  # pylint: disable=g-import-not-at-top
    return tensorboardX
  sys.modules["torch"] = None  # `import torch` raises ImportError while this is set
  try:
    import tensorboardX  # pylint: disable=g-import-not-at-top
  finally:
    del sys.modules["torch"]
  return tensorboardX


tensorboardX = _import_tensorboardx()

TENSORBOARD_DIR = "tensorboard"  # scalars here; `train.profile_steps` traces under its plugins/profile/


class MetricsWriter:

  def __init__(self, workdir: str, resume_step: int = 0, tensorboard: bool = True,
               logging_config: tracking.LoggingConfig | None = None, run_config: Mapping | None = None):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._file = self._tb = self._wandb = None
    if not distributed.is_lead():
      return
    if logging_config is not None and logging_config.wandb:  # first: a missing wandb fails before any file changes
      self._wandb = tracking.WandbRun(workdir, logging_config, run_config)
    self._truncate_after(resume_step)
    self._file = open(self.path, "a", encoding="utf-8")
    self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, TENSORBOARD_DIR), purge_step=resume_step or None) \
        if tensorboard else None

  def _truncate_after(self, step: int) -> None:
    if not os.path.exists(self.path):
      return
    kept = []
    with open(self.path, encoding="utf-8") as f:
      for line in f:
        row = _parse(line)
        if row is not None and row.get("step", 0) <= step:
          kept.append(line if line.endswith("\n") else line + "\n")
    tmp = self.path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.writelines(kept)
    os.replace(tmp, self.path)

  def write(self, step: int, split: str, metrics: Mapping[str, float]) -> None:
    if self._file is None:
      return
    row = {"step": int(step), "split": split}
    for key, value in metrics.items():
      value = float(value)
      row[key] = value if math.isfinite(value) else str(value)  # JSON has no NaN/inf
      if self._tb is not None:
        self._tb.add_scalar(f"{split}/{key}", value, int(step))
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    if self._wandb is not None:
      self._wandb.write(step, split, metrics)

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
    if self._tb is not None:
      self._tb.close()
    if self._wandb is not None:
      self._wandb.close()


def _parse(line: str) -> dict | None:
  """A row, or None for a blank line or one cut short (a process killed mid-write leaves half a line)."""
  if not line.strip():
    return None
  try:
    return json.loads(line)
  except json.JSONDecodeError:
    return None


def read(workdir: str) -> list[dict]:
  """All complete rows of a run's metrics.jsonl (for notebooks, tests and summaries)."""
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [row for row in map(_parse, f) if row is not None]


def last_eval(workdir: str, step: int | None = None) -> dict[str, float]:
  """The validation metrics in metrics.jsonl at `step` (default: the latest; a re-run of a finished run evaluates
  no more, so this is what it reports)."""
  rows = [r for r in read(workdir) if r["split"] == "eval" and step in (None, r["step"])] if os.path.exists(
      os.path.join(workdir, "metrics.jsonl")) else []
  return {k: v for k, v in rows[-1].items() if k not in ("step", "split")} if rows else {}
