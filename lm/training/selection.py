"""Model selection on validation: the parameters of the best evaluation so far, kept in `workdir/best/`.

With `train.select_metric` set (an evaluation metric such as `loss`, `exact_match` or `gold_agreement`, and
`train.select_mode` "min" or "max"), every evaluation that beats the best value so far (strictly: ties keep the
earlier step, except step 0, the start `train.eval_at_start` evaluates, which a trained step's tie replaces) saves
the parameters to `workdir/best/<step>` (one kept) and then `workdir/best/selection.json` (`{"metric", "mode",
"step", "value"}`). A stage's test figures, `init_from=workdir` of a later stage and
`runs.load(workdir)` then use those parameters; `init_from=workdir/checkpoints` still names the last step.
Selection reads validation only, never test. A resumed run continues the comparison from selection.json.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging
from jax.experimental import multihost_utils

from lm import distributed, settings
from lm.training import checkpoint

BEST_DIR = "best"
SELECTION_FILE = "selection.json"
MODES = ("min", "max")


def check_mode(metric: str, mode: str) -> None:
  if mode not in MODES:
    raise ValueError(f"train.select_mode={mode!r}: expected one of {', '.join(MODES)}.")
  if metric and metric != metric.strip():
    raise ValueError(f"train.select_metric={metric!r} has surrounding spaces.")


def read(workdir: str) -> dict | None:
  """The run's selection.json ({metric, mode, step, value}), or None if it selected nothing."""
  path = os.path.join(workdir, BEST_DIR, SELECTION_FILE)
  if not os.path.isfile(path):
    return None
  try:
    chosen = settings.load_json(path)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path}: not JSON ({e}). Delete the best/ directory to select again from the next "
                     "evaluation.") from e
  if not isinstance(chosen, dict) or not {"metric", "mode", "step", "value"} <= set(chosen):
    raise ValueError(f"{path}: expected an object with metric, mode, step and value; found {chosen!r}. "
                     "Delete the best/ directory to select again from the next evaluation.")
  return chosen


def best_checkpoint(workdir: str) -> tuple[str, int] | None:
  """`(directory, step)` of the selected parameters, or None when the run did not select (or not yet)."""
  chosen = read(workdir)
  if chosen is None:
    return None
  directory = os.path.join(workdir, BEST_DIR)
  if not os.path.isdir(os.path.join(directory, str(chosen["step"]))):
    raise FileNotFoundError(f"{directory}/{SELECTION_FILE} names step {chosen['step']}, which is not in {directory}. "
                            "Delete the best/ directory to select again from the next evaluation.")
  return directory, int(chosen["step"])


class Selector:
  """Offered every evaluation's metrics and parameters; keeps the best."""

  def __init__(self, workdir: str, metric: str, mode: str):
    check_mode(metric, mode)
    self.metric, self.mode = metric, mode
    self.directory = os.path.abspath(os.path.join(workdir, BEST_DIR))
    chosen = read(workdir)
    if chosen is not None and (chosen["metric"], chosen["mode"]) != (metric, mode):
      raise settings.ConfigError(
          f"train.select_metric={metric!r}, train.select_mode={mode!r}: this run selected by {chosen['metric']!r} "
          f"({chosen['mode']}) so far ({self.directory}/{SELECTION_FILE}). Use those settings, or a fresh --workdir.")
    self.step = None if chosen is None else int(chosen["step"])
    self.value = None if chosen is None else float(chosen["value"])
    self.stopped_at = None if chosen is None else chosen.get("stopped_early_at")

  def _better(self, value: float) -> bool:
    if not math.isfinite(value):
      return False
    if self.value is None:
      return True
    if value == self.value and self.step == 0:  # a tie with the untrained start goes to the trained step
      return True
    return value < self.value if self.mode == "min" else value > self.value

  def offer(self, step: int, metrics: dict[str, float], params: Any) -> bool:
    """Saves `params` if `metrics[metric]` is the best so far; True if it was."""
    if self.metric not in metrics:
      raise settings.ConfigError(f"train.select_metric={self.metric!r} is not among this stage's evaluation "
                                 f"metrics: {', '.join(sorted(metrics))}.")
    value = float(metrics[self.metric])
    if not math.isfinite(value):
      logging.warning("Step %d: %s=%s is not finite; not a candidate for model selection.", step, self.metric, value)
    if not self._better(value):
      return False
    mngr = checkpoint.manager(self.directory, keep=1, async_save=False)  # the one every run uses
    try:
      if step in mngr.all_steps():  # an interrupted earlier offer of this step: replace it
        mngr.delete(step)
      mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave({"params": params})))
      mngr.wait_until_finished()
    finally:
      mngr.close()
    self._write(step=step, value=value)  # after the parameters are committed: it never names a missing step
    logging.info("Step %d: best %s so far (%.4g%s); parameters kept in %s.", step, self.metric, value,
                 "" if self.value is None else f", was {self.value:.4g} at step {self.step}", self.directory)
    self.step, self.value = step, value
    return True

  def _write(self, **fields) -> None:
    chosen = {"metric": self.metric, "mode": self.mode, "step": self.step, "value": self.value, **fields}
    if self.stopped_at is not None:
      chosen["stopped_early_at"] = self.stopped_at
    if distributed.is_lead():
      settings.write_json(os.path.join(self.directory, SELECTION_FILE), chosen)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices("lm.selection")

  def stop(self, step: int) -> None:
    """Records that early stopping ended the run at `step`: a re-run of the command trains no further."""
    self.stopped_at = step
    self._write()

  def restore(self, abstract_params: Any) -> Any:
    """The selected parameters, laid out as `abstract_params` (ShapeDtypeStructs with shardings)."""
    return checkpoint.restore_params(self.directory, abstract_params, self.step)


def summary(workdir: str) -> str:
  chosen = read(workdir)
  return "" if chosen is None else f"selected step {chosen['step']} by {chosen['metric']}={chosen['value']:.4g}"
