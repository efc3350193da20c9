"""Weights & Biases beside `metrics.jsonl` and TensorBoard: `--config.logging.wandb=True` (optional).

Every row the loop writes (train, eval, RL iterations) goes to W&B too, as `<split>/<metric>` against the run's own
`step` (a W&B step metric), so a resumed run, which re-logs the steps after its last checkpoint, is not refused as
going backwards. The project is `logging.wandb_project`, else the name of the work dir's parent (a sweep's or a
pipeline's directory); the run name is the work dir's name; the run id is derived from the work dir's absolute
path, so re-running the same command resumes the same W&B run. `logging.wandb_mode="offline"` writes to
`WORKDIR/wandb/` only (upload later with `wandb sync WORKDIR/wandb/offline-run-*`), as on a cluster without network;
"" follows W&B's own setting (`WANDB_MODE`, else online). Only process 0 logs. W&B is not a dependency of the
core package: `pip install -e ".[wandb]"`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from lm import settings

MODES = ("", "online", "offline", "disabled")
WANDB_DIR = "wandb"


@dataclasses.dataclass(frozen=True)
class LoggingConfig:
  wandb: bool = False       # also log to Weights & Biases
  wandb_project: str = ""   # "" = the work dir's parent directory name
  wandb_entity: str = ""    # "" = your W&B default entity
  wandb_mode: str = ""      # "online", "offline" (WORKDIR/wandb/ only) or "" (WANDB_MODE, else online)

  def __post_init__(self):
    if self.wandb_mode not in MODES:
      raise ValueError(f"logging.wandb_mode={self.wandb_mode!r}: expected one of {', '.join(map(repr, MODES))}.")


def config_defaults() -> dict:
  """`config.logging` of a run config: every field at its default (W&B off)."""
  return dataclasses.asdict(LoggingConfig())


def from_config(config) -> LoggingConfig:
  """`config.logging` (absent in older configs: W&B off)."""
  return settings.section(LoggingConfig, config.get("logging", {}), "logging")


def run_id(workdir: str) -> str:
  """A W&B run id that is the same for every run of one work dir."""
  return "lm-" + hashlib.sha256(os.path.abspath(workdir).encode()).hexdigest()[:16]


class WandbRun:
  """One W&B run for one work dir: `write(step, split, metrics)` and `close()`, like `writers.MetricsWriter`."""

  def __init__(self, workdir: str, config: LoggingConfig, run_config: Mapping[str, Any] | None = None):
    try:
      import wandb  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise settings.ConfigError('logging.wandb=True needs Weights & Biases: pip install -e ".[wandb]" (or pip '
                                 "install wandb), or leave it off: metrics.jsonl and TensorBoard are always written."
                                 ) from None
    workdir = os.path.abspath(workdir)
    os.makedirs(os.path.join(workdir, WANDB_DIR), exist_ok=True)
    self._run = wandb.init(
        project=config.wandb_project or os.path.basename(os.path.dirname(workdir)) or "lm",
        entity=config.wandb_entity or None, name=os.path.basename(workdir), id=run_id(workdir), resume="allow",
        dir=workdir, mode=config.wandb_mode or None, config=dict(run_config or {}),
        settings=wandb.Settings(silent=True, console="off"))
    self._run.define_metric("step")
    self._run.define_metric("*", step_metric="step")

  def write(self, step: int, split: str, metrics: Mapping[str, float]) -> None:
    self._run.log({"step": int(step), **{f"{split}/{k}": float(v) for k, v in metrics.items()}})

  def close(self) -> None:
    self._run.finish()
