"""The transfer study: the same fine-tuning from a pretrained run and from scratch, at several label budgets.

Every run has the same config, steps, seeds and tokenizer (the pretrained run's) except
`init_from` and `data.train_examples`, so the gap between the two curves is what pretraining bought. Budgets are nested samples (the 50
examples are the first 50 of the 200). Each run lives in `DIR/<init>_<budget>/` and is skipped
when its results exist, so re-running the study resumes it. `DIR/results.json` and
`DIR/transfer.png` (metric against budget, one line per start) summarise it.
"""

from __future__ import annotations

import copy
import json
import os

from absl import logging

from lm import settings
from lm.data import sources
from lm.evaluation import plots
from lm.training import finetune, loop, pretrain, rundir, tasks, transfer

RESULTS_FILE = "results.json"
PLOT_FILE = "transfer.png"
# Chance level of each task's headline metric (drawn on the plot).
CHANCE = {"accuracy": 0.5, "span_f1": 0.0, "bleu": 0.0, "exact_match": 0.0}


def parse_budgets(text: str) -> list[int]:
  """"50,200,all" -> [50, 200, 0] (0 = the whole train split)."""
  budgets = []
  for item in text.split(","):
    item = item.strip().lower()
    if item in ("all", "0"):
      budgets.append(0)
    elif item.isdigit():
      budgets.append(int(item))
    else:
      raise settings.ConfigError(f"--budgets: {item!r} is not a number of examples or 'all'.")
  return budgets


def _run_name(init: str, budget: int) -> str:
  return f"{init}_{budget or 'all'}"


STARTS = ("pretrained", "scratch")


def run(config, workdir: str, budgets: list[int], starts: tuple[str, ...] = STARTS) -> dict:
  """Runs (or resumes) the study; returns what it writes to `DIR/results.json`.

  `starts` may leave out "scratch" (e.g. a second pretrained start whose scratch runs exist elsewhere).
  """
  if not starts or set(starts) - set(STARTS):
    raise settings.ConfigError(f"--starts: expected some of {', '.join(STARTS)}, got {', '.join(starts)}.")
  if not config.init_from:
    raise settings.ConfigError("The transfer study compares against a pretrained run: set --config.init_from.")
  task = tasks.task(config)
  source = transfer.resolve(config.init_from)
  os.makedirs(workdir, exist_ok=True)
  train_size = len(sources.open_split(pretrain.data_spec(config.data), "train"))
  rows = []
  for budget in budgets:
    for init in starts:
      run_dir = os.path.join(workdir, _run_name(init, budget))
      path = os.path.join(run_dir, finetune.RESULTS_FILE)
      if not os.path.isfile(path):
        run_config = copy.deepcopy(config)
        run_config.data.train_examples = budget
        run_config.init_from = config.init_from if init == "pretrained" else ""
        tokenizer_file = os.path.join(source.run_dir or "", rundir.TOKENIZER_FILE)
        if init == "scratch" and os.path.isfile(tokenizer_file):
          run_config.tokenizer.model_file = tokenizer_file  # the same ids as the pretrained start: a fair test
        logging.info("Transfer study: %s start, %s training examples.", init, budget or "all")
        if finetune.run(run_config, run_dir).loop.preempted:
          raise loop.Preempted(f"Transfer study: the {init} run with {budget or 'all'} examples was preempted; "
                               "re-run the same command to resume it.")
      with open(path, encoding="utf-8") as f:
        result = json.load(f)
      rows.append({"init": init, "train_examples": result["train_examples"],
                   "metric": result["test"][task.headline], "seconds": result["seconds"], "test": result["test"],
                   "validation_loss": result["validation"].get("loss")})
  summary = {"task": config.task, "task_options": settings.to_dict(config.get("task_options", {})),
             "architecture": config.architecture, "headline": task.headline,
             "init_from": config.init_from, "steps": config.train.steps, "train_split_size": train_size,
             "runs": rows}
  settings.write_json(os.path.join(workdir, RESULTS_FILE), summary)
  curves = {init: [(r["train_examples"], r["metric"]) for r in rows if r["init"] == init]
            for init in starts}
  plots.learning_curves(os.path.join(workdir, PLOT_FILE), curves, chance=CHANCE.get(task.headline),
                        title=f"{config.task} ({config.architecture}, {config.train.steps} steps)",
                        xlabel="labelled training examples", ylabel=f"test {task.headline}")
  return summary


def table(summary: dict) -> str:
  """The study as a Markdown table: per budget, the test metric, validation loss and wall time of each start.

  The validation loss (cross-entropy of the targets: labels, tags or response tokens) shows
  transfer that a thresholded metric such as exact match can hide at small sizes.
  """
  by = {(r["init"], r["train_examples"]): r for r in summary["runs"]}
  budgets = sorted({r["train_examples"] for r in summary["runs"]})
  name = summary["headline"]
  lines = [f"| examples | {name}: pretrained | {name}: scratch | val loss: pretrained | val loss: scratch "
           "| time: pretrained | time: scratch |", "|---|---|---|---|---|---|---|"]

  def cell(init, n, key, fmt):
    value = (by.get((init, n)) or {}).get(key)
    return "-" if value is None else format(value, fmt)

  for n in budgets:
    lines.append(f"| {n:,} | {cell('pretrained', n, 'metric', '.3f')} | {cell('scratch', n, 'metric', '.3f')} | "
                 f"{cell('pretrained', n, 'validation_loss', '.3f')} | {cell('scratch', n, 'validation_loss', '.3f')} | "
                 f"{cell('pretrained', n, 'seconds', '.0f')} s | {cell('scratch', n, 'seconds', '.0f')} s |")
  return "\n".join(lines)
