"""Which run was better: the curves of several runs in one figure, and a Markdown table of where each ended.

A path is a run's work dir (it has `metrics.jsonl`) or a directory of runs (a sweep, a transfer study, a pipeline):
every directory beneath it, at any depth, that has a `metrics.jsonl`. A metric is `<split>/<name>` as the runs log
it ("eval/loss", "train/loss", "eval/accuracy", "rl/gold_win_rate"); the best value is the smallest for losses and
perplexities and the largest otherwise, unless `mode` says.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from lm.evaluation import plots
from lm.training import writers

METRICS_FILE = "metrics.jsonl"
LOWER_IS_BETTER = ("loss", "perplexity", "kl", "error")


def find_runs(paths: Sequence[str]) -> dict[str, str]:
  """{name: work dir} of every run under `paths`, named by their path below the directory the paths share."""
  found = []
  for path in paths:
    path = os.path.normpath(path)
    if os.path.isfile(os.path.join(path, METRICS_FILE)):
      found.append(path)
      continue
    if not os.path.isdir(path):
      raise FileNotFoundError(f"{path}: no such directory.")
    beneath = sorted(root for root, _, files in os.walk(path) if METRICS_FILE in files)
    if not beneath:
      raise FileNotFoundError(f"{path}: neither a run (no {METRICS_FILE}) nor a directory with runs beneath it.")
    found += beneath
  found = list(dict.fromkeys(found))
  common = os.path.commonpath([os.path.abspath(p) for p in found]) if len(found) > 1 else None
  names = [os.path.relpath(os.path.abspath(p), common) if common else os.path.basename(os.path.abspath(p))
           for p in found]
  return dict(zip(names, found))


def mode_of(metric: str, mode: str = "") -> str:
  if mode:
    if mode not in ("min", "max"):
      raise ValueError(f"mode={mode!r}: expected 'min', 'max' or '' (by the metric's name).")
    return mode
  return "min" if any(word in metric.rsplit("/", 1)[-1] for word in LOWER_IS_BETTER) else "max"


def _split(metric: str) -> tuple[str, str]:
  split, sep, name = metric.partition("/")
  if not sep or not name:
    raise ValueError(f"metric={metric!r}: expected <split>/<name>, e.g. eval/loss or train/loss.")
  return split, name


def curve(workdir: str, metric: str) -> list[tuple[int, float]]:
  """(step, value) of `metric` in the run's metrics.jsonl; non-finite values are left out."""
  split, name = _split(metric)
  points = {}
  for row in writers.read(workdir):
    value = row.get(name)
    if row["split"] == split and isinstance(value, (int, float)) and math.isfinite(value):
      points[int(row["step"])] = float(value)  # a resumed run's re-logged step keeps its latest value
  return sorted(points.items())


def available(workdir: str) -> list[str]:
  return sorted({f"{row['split']}/{k}" for row in writers.read(workdir) for k in row if k not in ("step", "split")})


def curves(runs: dict[str, str], metric: str) -> dict[str, list[tuple[int, float]]]:
  """{name: [(step, value), ...]}; an error names the metrics the runs have if none logs `metric`."""
  out = {name: curve(workdir, metric) for name, workdir in runs.items()}
  if not any(out.values()):
    have = sorted({m for workdir in runs.values() for m in available(workdir)})
    raise ValueError(f"No run logs {metric!r}. Their metrics: {', '.join(have) or 'none'}.")
  return out


def table(curves_by_run: dict[str, list[tuple[int, float]]], metric: str, mode: str) -> str:
  """One row per run, best first: its last step, last value, and best value and the step it came at."""
  pick = min if mode == "min" else max
  rows = []
  for name, points in curves_by_run.items():
    if not points:
      rows.append((name, None, None, None, None))
      continue
    best_step, best = pick(points, key=lambda p: p[1])
    rows.append((name, points[-1][0], points[-1][1], best, best_step))
  sign = 1.0 if mode == "min" else -1.0
  rows.sort(key=lambda r: (r[3] is None, sign * (r[3] or 0.0)))
  lines = [f"| run | last step | last {metric} | best {metric} ({mode}) | at step |", "|---|---|---|---|---|"]
  for name, step, last, best, best_step in rows:
    if step is None:
      lines.append(f"| {name} | - | not logged | - | - |")
    else:
      lines.append(f"| {name} | {step} | {last:.4g} | {best:.4g} | {best_step} |")
  return "\n".join(lines)


def figure(path: str, curves_by_run: dict[str, list[tuple[int, float]]], metric: str) -> None:
  """The runs' curves of `metric` against step, overlaid (PNG)."""
  plots.trajectories(path, [(metric, {name: pts for name, pts in curves_by_run.items() if pts}, None)],
                     title=f"{len(curves_by_run)} runs: {metric}", xlabel="step")
