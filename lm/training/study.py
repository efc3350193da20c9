"""The transfer study: the same fine-tuning from a pretrained run and from scratch, at several label budgets.

Every run has the same config, model shape and tokenizer (the pretrained run's), steps and seeds except `init_from` and
`data.train_examples`, so the gap between the two curves is what pretraining bought. Budgets are nested samples (the
50 examples are the first 50 of the 200). A third start, `probe`, trains only the new head on the frozen pretrained
backbone: whether the features, not just the initialisation, carry over.

The protocol is the same for every start: each run keeps the parameters of its best validation step (by the task's
headline metric or the config's `train.select_metric`; step 0, the start itself, is a candidate too), and with a
learning-rate grid each start and budget reports the rate whose selected validation figure is best (or, at budgets
outside `grid_budgets`, trains at the rate that start chose at a grid budget). The test split is read only for the
reported figures, each with its standard error.

Each run lives in `DIR/<init>_<budget>[_lr<rate>]/` and is skipped when its results exist, so re-running the study
resumes it. `DIR/results.json` and `DIR/transfer.png` (metric against budget with error bars, one line per start)
summarise it.
"""

from __future__ import annotations

import copy
import math
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


def parse_learning_rates(text: str) -> list[float]:
  """"1e-4,3e-4,1e-3" -> [1e-4, 3e-4, 1e-3]; "" -> [] (the config's rate only)."""
  try:
    rates = [float(item) for item in settings.names(text)] if text.strip() else []
  except ValueError as e:
    raise settings.ConfigError(f"--learning_rates: {text!r} is not a comma-separated list of numbers ({e}).")
  if any(not rate > 0 for rate in rates):
    raise settings.ConfigError(f"--learning_rates: every rate must be positive, got {text!r}.")
  return rates


def parse_grid_budgets(text: str) -> list[int] | None:
  """"50,200" -> [50, 200]; "" -> None (the grid at every budget)."""
  return parse_budgets(text) if text.strip() else None


def parse_budget_steps(text: str) -> dict[int, int]:
  """"200:400,all:1000" -> {200: 400, 0: 1000}: training steps at those budgets (the config's elsewhere)."""
  out = {}
  for item in settings.names(text):
    budget, sep, steps = item.partition(":")
    if not sep or not steps.strip().isdigit() or int(steps) < 1:
      raise settings.ConfigError(f"budget_steps: {item!r} is not <budget>:<steps>, e.g. 200:400 or all:1000.")
    out[parse_budgets(budget)[0]] = int(steps)
  return out


def _size(budget: int) -> float:
  return math.inf if budget == 0 else budget


def _run_name(init: str, budget: int, rate: float | None = None) -> str:
  return f"{init}_{budget or 'all'}" + ("" if rate is None else f"_lr{rate:g}")


# pretrained: every weight from init_from; scratch: the same recipe from random weights (the pretrained run's
# tokenizer); probe: init_from with the backbone frozen, only the new head trained (a linear probe of its features).
STARTS = ("pretrained", "scratch", "probe")
DEFAULT_STARTS = ("pretrained", "scratch")


def _run_config(config, init: str, budget: int, rate: float | None, tokenizer_file: str, headline: str,
                steps: int | None = None):
  run_config = copy.deepcopy(config)
  run_config.data.train_examples = budget
  if steps is not None:
    run_config.train.steps = steps
  run_config.init_from = "" if init == "scratch" else config.init_from
  if init == "scratch" and os.path.isfile(tokenizer_file):
    run_config.tokenizer.model_file = tokenizer_file  # the same ids as the pretrained start: a fair test
  if init == "probe":
    run_config.adapt.freeze_backbone = True
  if rate is not None:
    run_config.optimizer.learning_rate = rate
  # The reported parameters are those of the best validation step, by the config's metric or else the headline.
  run_config.train.select_metric, run_config.train.select_mode = _selection(config, headline)
  run_config.train.eval_at_start = True  # ...and the start is a candidate: a step trained on few labels may be worse
  return run_config


def run(config, workdir: str, budgets: list[int], starts: tuple[str, ...] = DEFAULT_STARTS,
        learning_rates: list[float] = (), grid_budgets: list[int] | None = None,
        budget_steps: dict[int, int] | None = None) -> dict:
  """Runs (or resumes) the study; returns what it writes to `DIR/results.json`.

  Protocol: every run selects its parameters on validation by the task's headline metric (unless the config names
  another `train.select_metric`), among its evaluations and step 0; with several `learning_rates`, each start and
  budget trains at every rate and reports the run whose selected validation figure (by the same metric) is best.
  The test split is read only for the reported figures.
  `starts` may leave out "scratch" (e.g. a second pretrained start whose scratch runs exist elsewhere).

  To fit a time budget, `grid_budgets` (default: every budget) limits the grid to some budgets: elsewhere each start
  trains once, at the rate it chose (on validation) at the largest grid budget below (else the smallest grid
  budget). `budget_steps` gives some budgets their own number of steps (the same for every start), e.g. fewer for a
  budget whose runs select an early step anyway.
  """
  if not starts or set(starts) - set(STARTS):
    raise settings.ConfigError(f"--starts: expected some of {', '.join(STARTS)}, got {', '.join(starts)}.")
  if not config.init_from:
    raise settings.ConfigError("The transfer study compares against a pretrained run: set --config.init_from.")
  task = tasks.task(config)
  if "probe" in starts and not task.heads:
    raise settings.ConfigError(f"--starts=probe trains only a new head; task {config.task!r} adds none.")
  source = transfer.resolve(config.init_from)
  # Every start gets the pretrained run's architecture, scratch and probe included: only the initialisation differs.
  config = copy.deepcopy(config)
  transfer.inherit_model(config, source)
  os.makedirs(workdir, exist_ok=True)
  train_size = len(sources.open_split(pretrain.data_spec(config.data), "train"))
  tokenizer_file = os.path.join(source.run_dir or "", rundir.TOKENIZER_FILE)
  grid = len(learning_rates) > 1  # run names carry the rate only when there is a choice
  grid_budgets = budgets if grid_budgets is None else grid_budgets
  budget_steps = budget_steps or {}
  if grid and not set(grid_budgets) & set(budgets):
    raise settings.ConfigError(f"grid_budgets: none of {grid_budgets} is a budget of this study ({budgets}).")
  if set(budget_steps) - set(budgets):
    raise settings.ConfigError(f"budget_steps: {sorted(set(budget_steps) - set(budgets))} are not budgets of this "
                               f"study ({budgets}).")
  # Grid budgets first, so the others can take the rate each start chose.
  order = sorted(budgets, key=lambda b: (b not in grid_budgets, _size(b)))
  chosen: dict[tuple[str, int], float] = {}
  rows = []
  for budget in order:
    steps = budget_steps.get(budget)
    for init in starts:
      if not grid or budget in grid_budgets:
        rates, carried = learning_rates or [None], None
      else:
        searched = sorted((b for b in grid_budgets if b in budgets), key=_size)
        carried = max((b for b in searched if _size(b) < _size(budget)), key=_size, default=searched[0])
        rates = [chosen[(init, carried)]]
      candidates = []
      for rate in rates:
        run_dir = os.path.join(workdir, _run_name(init, budget, rate if grid else None))
        path = os.path.join(run_dir, finetune.RESULTS_FILE)
        run_config = _run_config(config, init, budget, rate, tokenizer_file, task.headline, steps)
        if os.path.isfile(path):
          rundir.check_unchanged(run_dir, run_config, "this run of the study", tokenizer_file)
        else:
          logging.info("Transfer study: %s start, %s training examples, learning rate %g, %d steps.", init,
                       budget or "all", run_config.optimizer.learning_rate, run_config.train.steps)
          if finetune.run(run_config, run_dir).loop.preempted:
            raise loop.Preempted(f"Transfer study: the {init} run with {budget or 'all'} examples was preempted; "
                                 "re-run the same command to resume it.")
        candidates.append((config.optimizer.learning_rate if rate is None else rate, settings.load_json(path),
                           os.path.basename(run_dir)))
      row = {"budget": budget, "steps": steps or config.train.steps,
             **_row(init, candidates, task.headline, *_selection(config, task.headline))}
      if carried is not None:
        row["learning_rate_from"] = carried or "all"  # the budget whose grid chose this start's rate
      chosen[(init, budget)] = row["learning_rate"]
      rows.append(row)
  rows.sort(key=lambda r: (_size(r["budget"]), starts.index(r["init"])))
  summary = {"task": config.task, "task_options": settings.to_dict(config.get("task_options", {})),
             "architecture": config.architecture, "headline": task.headline,
             "init_from": config.init_from, "steps": config.train.steps, "train_split_size": train_size,
             "learning_rates": list(learning_rates), "grid_budgets": list(grid_budgets) if grid else [],
             "budget_steps": {str(b or "all"): n for b, n in budget_steps.items()}, "runs": rows}
  settings.write_json(os.path.join(workdir, RESULTS_FILE), summary)
  curves = {init: [(r["train_examples"], r["metric"], r["stderr"]) for r in rows if r["init"] == init]
            for init in starts}
  plots.learning_curves(os.path.join(workdir, PLOT_FILE), curves, chance=CHANCE.get(task.headline),
                        title=f"{config.task} ({config.architecture}, {config.train.steps} steps)",
                        xlabel="labelled training examples", ylabel=f"test {task.headline}")
  return summary


def _selection(config, headline: str) -> tuple[str, str]:
  """(metric, mode) the study's runs select by: the config's train.select_metric, else the task's headline."""
  if config.train.get("select_metric"):
    return config.train.select_metric, config.train.get("select_mode", "max")
  return headline, "max"


def _row(init: str, candidates: list[tuple[float, dict, str]], headline: str, select: str, mode: str) -> dict:
  """The study's row for one start and budget: the candidate (rate, results, run directory name) with the best
  validation figure by `select` in `mode`, what its runs selected by (the first on ties)."""
  sign = 1.0 if mode == "max" else -1.0
  rate, result, name = max(candidates, key=lambda c: sign * c[1]["validation"].get(select, -sign * math.inf))
  row = {"init": init, "run": name, "train_examples": result["train_examples"], "metric": result["test"][headline],
         "stderr": result["test"].get(headline + "_stderr", float("nan")), "learning_rate": rate,
         "validation_metric": result["validation"].get(headline), "validation_loss": result["validation"].get("loss"),
         "selected_step": result.get("selected_step"), "seconds": result["seconds"],
         "grid_seconds": sum(c[1]["seconds"] for c in candidates), "test": result["test"]}
  if len(candidates) > 1:
    row["grid"] = {f"{c[0]:g}": c[1]["validation"].get(select) for c in candidates}
  return row


def difference(pretrained: dict, scratch: dict) -> tuple[float, float]:
  """Pretrained minus scratch test figure, with the standard error of the difference of two independent runs."""
  return pretrained["metric"] - scratch["metric"], math.hypot(pretrained["stderr"], scratch["stderr"])


def table(summary: dict) -> str:
  """The study as a Markdown table: per budget, each start's test figure ± its standard error (with the learning rate
  and validation figure that chose it), pretrained minus scratch with the difference's standard error, and the wall
  time of the chosen runs (of the whole grid in brackets when there was one)."""
  by = {(r["init"], r["train_examples"]): r for r in summary["runs"]}
  budgets = sorted({r["train_examples"] for r in summary["runs"]})
  starts = [s for s in STARTS if any(r["init"] == s for r in summary["runs"])]
  name = summary["headline"]
  both = {"pretrained", "scratch"} <= set(starts)
  lines = ["| examples | " + " | ".join(f"{name}: {s}" for s in starts) + (" | pretrained - scratch" if both else "")
           + " | time |", "|---" * (len(starts) + 2 + both) + "|"]

  def cell(row):
    if row is None:
      return "-"
    val = row.get("validation_metric")
    carried = row.get("learning_rate_from")
    detail = (f"lr {row['learning_rate']:g}" + ("" if carried is None else f" from {carried}")
              + ("" if val is None else f", val {val:.3f}"))
    return f"{row['metric']:.3f} ± {row['stderr']:.3f} ({detail})"

  for n in budgets:
    rows = [by.get((s, n)) for s in starts]
    cells = [cell(r) for r in rows]
    if both and by.get(("pretrained", n)) and by.get(("scratch", n)):
      gap, se = difference(by[("pretrained", n)], by[("scratch", n)])
      cells.append(f"{gap:+.3f} ± {se:.3f}")
    elif both:
      cells.append("-")
    seconds = sum(r["seconds"] for r in rows if r)
    grid = sum(r.get("grid_seconds", r["seconds"]) for r in rows if r)
    time = f"{seconds / 60:.1f} min" + (f" ({grid / 60:.1f} min grid)" if grid > seconds + 1 else "")
    lines.append(f"| {n:,} | " + " | ".join(cells) + f" | {time} |")
  return "\n".join(lines)
