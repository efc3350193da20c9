"""What a sweep shows: `sweep.json` (every point's overrides, state and metrics), `sweep.md` (one row per
point) and `sweep.png` (the headline metric against each swept value). Written when the sweep ends and by
`python -m experiments.sweep --workdir=DIR --collect` at any time (it reads only the points' own files).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from lm import settings
from lm.evaluation import plots
from lm.sweeps import launch
from lm.sweeps.points import Point
from lm.training import writers

SWEEP_FILE, TABLE_FILE, PLOT_FILE = "sweep.json", "sweep.md", "sweep.png"
HEADLINE = ("loss", "accuracy", "exact_match", "bleu", "reward", "gold_win_rate")  # shown first when present


def point_row(sweep_dir: str, point: Point) -> dict:
  workdir = os.path.join(sweep_dir, point.name)
  state = launch.read_state(sweep_dir, point)
  status = state.get("state", "not started")
  if status == launch.RUNNING and state.get("job") and not launch.alive(state["job"]):
    status = "interrupted"  # its job is gone without a word (killed, node lost): re-running resumes it
  row = {"name": point.name, "overrides": point.overrides, "state": status, "attempts": state.get("attempts", 0),
         "seconds": state.get("seconds"), "job": state.get("job", ""), "step": None, "train": {}, "eval": {}}
  if os.path.isfile(os.path.join(workdir, "metrics.jsonl")):
    rows = writers.read(workdir)
    for split in ("train", "eval"):
      last = [r for r in rows if r["split"] == split]
      if last:
        row[split] = {k: v for k, v in last[-1].items() if k not in ("step", "split")}
        row["step"] = max(row["step"] or 0, last[-1]["step"])
  return row


def collect(sweep_dir: str, points: Sequence[Point], metric: str = "eval/loss") -> list[dict]:
  """Reads every point, writes sweep.json, sweep.md and sweep.png; returns the rows."""
  rows = [point_row(sweep_dir, p) for p in points]
  settings.write_json(os.path.join(sweep_dir, SWEEP_FILE), {"metric": metric, "points": rows})
  settings.write_text(os.path.join(sweep_dir, TABLE_FILE), table(rows, metric) + "\n")
  plot(os.path.join(sweep_dir, PLOT_FILE), rows, metric)
  return rows


def _value(row: dict, metric: str) -> float | None:
  split, _, name = metric.partition("/")
  value = row.get(split, {}).get(name)
  return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _metric_columns(rows: Sequence[dict], metric: str) -> list[str]:
  present = {f"{s}/{k}" for r in rows for s in ("eval", "train") for k in r[s]}
  ordered = [metric] + [f"eval/{k}" for k in HEADLINE] + ["train/loss"]
  return list(dict.fromkeys(c for c in ordered if c in present))[:5]


def swept(rows: Sequence[dict]) -> list[str]:
  """The keys whose value differs between points (a one-value grid key is a setting, not an axis)."""
  keys = sorted({k for r in rows for k in r["overrides"]})
  return [k for k in keys if len({r["overrides"].get(k) for r in rows}) > 1]


def table(rows: Sequence[dict], metric: str) -> str:
  keys = swept(rows)
  fixed = {k: v for k, v in (rows[0]["overrides"].items() if rows else ()) if k not in keys}
  metrics = _metric_columns(rows, metric)
  head = ["point", *keys, "state", "step", *metrics, "wall (s)"]
  lines = [f"Every point: {', '.join(f'{k}={v}' for k, v in fixed.items())}.", ""] if fixed else []
  lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for r in rows:
    cells = [r["name"], *(r["overrides"].get(k, "") for k in keys), r["state"] +
             (f" ({r['attempts']} attempts)" if r["attempts"] > 1 else ""), str(r["step"] or "")]
    cells += ["" if _value(r, m) is None else f"{_value(r, m):.4g}" for m in metrics]
    cells.append("" if r["seconds"] is None else f"{r['seconds']:.0f}")
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _number(text: str) -> float | None:
  try:
    return float(text)
  except ValueError:
    return None


def plot(path: str, rows: Sequence[dict], metric: str) -> None:
  """One panel per swept key: the metric at each of its values, one line per setting of the other keys."""
  keys = swept(rows)
  panels = []
  for key in keys:
    others = [k for k in keys if k != key]
    values = sorted({r["overrides"].get(key, "") for r in rows}, key=lambda v: (_number(v) is None, _number(v) or 0, v))
    curves: dict[str, dict[str, float]] = {}
    for r in rows:
      y = _value(r, metric)
      if y is not None:
        label = ",".join(f"{k.rsplit('.', 1)[-1]}={r['overrides'].get(k, '')}" for k in others) or metric
        curves.setdefault(label, {})[r["overrides"].get(key, "")] = y
    panels.append((key, values, curves))
  if panels:
    plots.categorical_panels(path, panels, title=f"sweep: {metric}", ylabel=metric)
