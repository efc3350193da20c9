"""One table for in-context learning and fine-tuning on k examples (the few-shot comparison).

Rows are tasks; columns are the harness's accuracy at each k in context (`experiments.evaluate`)
and the test accuracy after fine-tuning on k examples (`experiments.transfer_study` with
configs/finetune/choice.py, one study per task), each with its standard error, beside chance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from lm import settings


def _results(directory: str) -> dict:
  with open(os.path.join(directory, "results.json"), encoding="utf-8") as f:
    return json.load(f)


def _fmt(value, se) -> str:
  if value is None:
    return "-"
  return f"{value:.3f} ± {se:.3f}" if se is not None else f"{value:.3f}"


def _used(metrics: dict, k: int) -> str:
  """A note when prompts lost demonstrations to the length limit: the mean number that fitted."""
  used = metrics.get("shots_used", k)
  return f" ({used:.1f} shots fit)" if used < k - 1e-6 else ""


def finetuned(study_dirs: Sequence[str], start: str = "pretrained") -> dict[str, dict[int, tuple[float, float]]]:
  """task -> budget -> (test accuracy, its standard error) from multiple-choice transfer studies."""
  out: dict[str, dict[int, tuple[float, float]]] = {}
  for directory in study_dirs:
    summary = _results(directory)
    if summary.get("task") != "choice":
      raise ValueError(f"{directory}: a {summary.get('task')!r} study; the comparison needs multiple-choice "
                       "studies (configs/finetune/choice.py).")
    names = settings.names(summary.get("task_options", {}).get("tasks", ""))
    for row in summary["runs"]:
      if row["init"] != start:
        continue
      for name in names or sorted(k.split("/", 1)[1] for k in row["test"] if k.startswith("accuracy/")):
        value = row["test"].get(f"accuracy/{name}")
        se = row["test"].get("accuracy_stderr") if len(names) == 1 else None
        out.setdefault(name, {})[row["train_examples"]] = (value, se)
  return out


def table(evaluation_dir: str, study_dirs: Sequence[str], start: str = "pretrained") -> str:
  """Markdown: task, chance, accuracy at each k in context, accuracy after fine-tuning on each k.

  A k-shot cell whose prompts could not all hold k demonstrations says how many fitted on average.
  """
  evaluation = _results(evaluation_dir)
  tuned = finetuned(study_dirs, start) if study_dirs else {}
  shots = [str(k) for k in evaluation["shots"]]
  budgets = sorted({b for by in tuned.values() for b in by})
  head = (["task", "chance"] + [f"k={k} in context" for k in shots] + [f"fine-tuned on {b}" for b in budgets])
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for task, by_k in evaluation["tasks"].items():
    first = by_k[shots[0]]
    metric = "accuracy" if "accuracy" in first else "exact_match"
    chance = f"{first['chance']:.3f}" if "chance" in first and metric == "accuracy" else "-"
    cells = [_fmt(by_k[k].get(metric), by_k[k].get(f"{metric}_stderr")) + _used(by_k[k], int(k)) for k in shots]
    cells += [_fmt(*tuned.get(task, {}).get(b, (None, None))) for b in budgets] if metric == "accuracy" else \
        ["-"] * len(budgets)
    label = task if metric == "accuracy" else f"{task} (exact match)"
    lines.append("| " + " | ".join([label, chance] + cells) + " |")
  return "\n".join(lines)
