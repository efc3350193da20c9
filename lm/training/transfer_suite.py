"""The transfer and few-shot headline in one call: pretraining runs, transfer studies, probes and in-context tables.

`run(config, workdir)` runs, in order and each in its own sub-directory of `workdir`:

1. every pretraining run in `config.pretrain` (`pretrain_<name>/`, e.g. a BERT, a causal LM and a T5);
2. every transfer study in `config.studies` (`study_<name>/`), each from the pretraining run its `start` names, at
   its budgets and learning-rate grid, with the `probe` start where its `starts` ask for it (lm/training/study.py);
3. every in-context evaluation in `config.fewshot` (`fewshot_<name>/`) of the run its `start` names: a pretraining
   run, or a fine-tuning run given as `study:<study name>` (its pretrained start at its largest budget).

Each piece is skipped once it finished (a pretraining run's `stage_done.json`, a study's runs, an evaluation's
results), so re-running the command resumes the suite; a finished pretraining run or study run whose settings (or
start's tokenizer) changed since is refused rather than reused (lm.training.rundir.check_unchanged).
`DIR/headline.json` gathers the figures:

    {"transfer": {task: {budget: {"pretrained": {"value", "stderr"}, "scratch": {...}}}},
     "fewshot": {task: {k: {"value", "stderr"}}},
     "probe": {task: {"value", "stderr", "chance"}},
     "heldout": {"<study>/<family>": {"pretrained": {"value", "stderr"}, "scratch": {...}}}}

with budgets as strings ("50", "all") and k as strings ("0", "4"); a probe is reported at its study's largest
budget, and so is a family the study's instruction tuning held out (task_options.held_out_families), by its gold
correctness on the test split (any right answer in any wording). `DIR/summary.md` gives the same as tables and
`DIR/headline.png` as one figure. `config.only` restricts a call to some pieces (e.g. "pretrain_clm,study_instruct").
"""

from __future__ import annotations

import os
import time

from absl import logging

from lm import settings
from lm.evaluation import evaluate, plots
from lm.training import loop, pretrain, rundir, stages, study

HEADLINE_FILE = "headline.json"
TABLE_FILE = "summary.md"
PLOT_FILE = "headline.png"


def _piece_names(config) -> list[str]:
  return ([f"pretrain_{n}" for n in config.pretrain] + [f"study_{n}" for n in config.studies]
          + [f"fewshot_{n}" for n in config.fewshot])


def _start_dir(workdir: str, config, start: str, needed_by: str) -> str:
  """The run directory a study or evaluation starts from: `pretrain_<start>/`, or a study's chosen fine-tuning run."""
  if start.startswith("study:"):
    name = start.partition(":")[2]
    results = os.path.join(workdir, f"study_{name}", study.RESULTS_FILE)
    if not os.path.isfile(results):
      raise settings.ConfigError(f"{needed_by}: start {start!r} needs study {name!r} to have run in {workdir}.")
    rows = [r for r in settings.load_json(results)["runs"] if r["init"] == "pretrained"]
    return os.path.join(workdir, f"study_{name}", max(rows, key=lambda r: r["train_examples"])["run"])
  return os.path.join(workdir, f"pretrain_{start}")


def run(config, workdir: str) -> dict:
  """Runs (or resumes) the suite; returns what it writes to `DIR/headline.json`."""
  only = settings.names(config.get("only", ""))
  unknown = sorted(set(only) - set(_piece_names(config)))
  if unknown:
    raise settings.ConfigError(f"only: {unknown} are not pieces of this suite ({', '.join(_piece_names(config))}).")
  for kind, specs in (("studies", config.studies), ("fewshot", config.fewshot)):
    for name, spec in specs.items():
      start = spec.start
      prefix, _, study_name = start.partition(":")
      if not (start in config.pretrain or (prefix == "study" and study_name in config.studies)):
        raise settings.ConfigError(f"{kind}.{name}: start {start!r} is not a pretraining run of this suite "
                                   f"({', '.join(config.pretrain)}) nor 'study:<name>' of one of its studies.")
  # config.json is written with the headline, so a call refused on a changed piece leaves the record as it was.
  settings.prepare_workdir(workdir)
  wanted = lambda piece: not only or piece in only  # noqa: E731
  for name, pre_config in config.pretrain.items():
    run_dir = os.path.join(workdir, f"pretrain_{name}")
    done = os.path.join(run_dir, stages.DONE_FILE)
    if os.path.isfile(done):
      rundir.check_unchanged(run_dir, pre_config, f"pretraining run {name!r}")
    elif wanted(f"pretrain_{name}"):
      logging.info("== Transfer suite: pretraining %s -> %s", name, run_dir)
      started = time.perf_counter()
      result = pretrain.run(pre_config, run_dir)
      if result.preempted:
        raise loop.Preempted(f"Pretraining {name} was preempted at step {result.step}; re-run to resume.")
      settings.write_json(done, {"seconds": time.perf_counter() - started, "step": result.step,
                                 "validation": result.last_eval})
  for name, spec in config.studies.items():
    if not wanted(f"study_{name}"):
      continue
    task_config = spec.config
    task_config.init_from = _start_dir(workdir, config, spec.start, f"studies.{name}")
    logging.info("== Transfer suite: study %s from %s", name, task_config.init_from)
    summary = study.run(task_config, os.path.join(workdir, f"study_{name}"), study.parse_budgets(spec.budgets),
                        tuple(settings.names(spec.starts)), study.parse_learning_rates(spec.learning_rates),
                        study.parse_grid_budgets(spec.get("grid_budgets", "")),
                        study.parse_budget_steps(spec.get("budget_steps", "")))
    logging.info("Study %s:\n%s", name, study.table(summary))
  for name, spec in config.fewshot.items():
    out = os.path.join(workdir, f"fewshot_{name}")
    if wanted(f"fewshot_{name}") and not os.path.isfile(os.path.join(out, evaluate.RESULTS_FILE)):
      spec.config.checkpoint = _start_dir(workdir, config, spec.start, f"fewshot.{name}")
      logging.info("== Transfer suite: in-context evaluation %s of %s", name, spec.config.checkpoint)
      evaluate.run(spec.config, out)
  figures = headline(config, workdir)
  settings.write_json(os.path.join(workdir, rundir.CONFIG_FILE), settings.to_dict(config))
  settings.write_json(os.path.join(workdir, HEADLINE_FILE), figures)
  text = table(figures)
  settings.write_text(os.path.join(workdir, TABLE_FILE), text + "\n")
  figure(figures, os.path.join(workdir, PLOT_FILE), _metrics(config, workdir))
  print(text)
  return figures


def _metrics(config, workdir: str) -> dict[str, str]:
  """Each finished study's headline metric (accuracy, span_f1, ...), from its results."""
  paths = {name: os.path.join(workdir, f"study_{name}", study.RESULTS_FILE) for name in config.studies}
  return {name: settings.load_json(path)["headline"] for name, path in paths.items() if os.path.isfile(path)}


def figure(figures: dict, path: str, metrics: dict[str, str]) -> None:
  """headline.json at a glance: a panel per study (both starts against the label budget, the probe at the largest
  budget, standard-error bars) and one of in-context accuracy against k per task."""
  panels = []
  for task, budgets in figures["transfer"].items():
    order = sorted(budgets, key=lambda b: float("inf") if b == "all" else int(b))
    curves = {start: [(b, budgets[b][start]["value"], budgets[b][start]["stderr"]) for b in order
                      if start in budgets[b]] for start in ("pretrained", "scratch")}
    probe = figures["probe"].get(task)
    if probe:  # measured at the largest budget
      curves["linear probe"] = [(order[-1], probe["value"], probe["stderr"])]
    panels.append((f"{task}: {metrics.get(task, 'metric')}", "labelled examples", curves,
                   probe["chance"] if probe else study.CHANCE.get(metrics.get(task, ""))))
  if figures["fewshot"]:
    panels.append(("in context: accuracy", "demonstrations k",
                   {task: [(k, v["value"], v["stderr"]) for k, v in sorted(by_k.items(), key=lambda kv: int(kv[0]))]
                    for task, by_k in figures["fewshot"].items()}, None))
  if panels:
    plots.error_panels(path, panels, title="Transfer and in-context learning on the built-in world")


def _figure(value, stderr) -> dict:
  return {"value": value, "stderr": stderr}


def headline(config, workdir: str) -> dict:
  """The suite's figures from whatever finished in `workdir` (see the module docstring for the layout)."""
  out: dict = {"transfer": {}, "fewshot": {}, "probe": {}, "heldout": {}}
  for name, spec in config.studies.items():
    path = os.path.join(workdir, f"study_{name}", study.RESULTS_FILE)
    if not os.path.isfile(path):
      continue
    results = settings.load_json(path)
    task = out["transfer"].setdefault(name, {})
    largest = max(results["runs"], key=lambda r: r["train_examples"])["budget"]
    for row in results["runs"]:
      budget = str(row["budget"] or "all")
      if row["init"] == "probe":
        if row["budget"] == largest:
          out["probe"][name] = {**_figure(row["metric"], row["stderr"]),
                                "chance": study.CHANCE.get(results["headline"], float("nan"))}
      else:
        task.setdefault(budget, {})[row["init"]] = _figure(row["metric"], row["stderr"])
      for family in settings.names(spec.config.get("task_options", {}).get("held_out_families", "")):
        if row["budget"] == largest and f"correct/{family}" in row["test"]:  # gold correctness, never trained on
          out["heldout"].setdefault(f"{name}/{family}", {})[row["init"]] = _figure(
              row["test"][f"correct/{family}"], row["test"].get(f"correct/{family}_stderr", float("nan")))
  for name in config.fewshot:
    path = os.path.join(workdir, f"fewshot_{name}", evaluate.RESULTS_FILE)
    if not os.path.isfile(path):
      continue
    for task, by_k in settings.load_json(path)["tasks"].items():
      key = task if len(config.fewshot) == 1 else f"{name}/{task}"
      for k, metrics in by_k.items():
        metric = "accuracy" if "accuracy" in metrics else "exact_match"
        out["fewshot"].setdefault(key, {})[str(k)] = _figure(metrics[metric], metrics[f"{metric}_stderr"])
  return out


def table(figures: dict) -> str:
  """headline.json as Markdown: transfer (both starts and their difference per budget, in standard errors of the
  difference: the target reads two), probes, few-shot by k."""
  lines = ["| task | budget | pretrained | scratch | pretrained - scratch |", "|---|---|---|---|---|"]
  for task, budgets in figures["transfer"].items():
    for budget, starts in budgets.items():
      cells = [_cell(starts.get(s)) for s in ("pretrained", "scratch")]
      both = {"pretrained", "scratch"} <= set(starts)
      cells.append(_gap(*_difference(starts["pretrained"], starts["scratch"])) if both else "-")
      lines.append(f"| {task} | {budget} | " + " | ".join(cells) + " |")
  if figures["probe"]:
    lines += ["", "| task | linear probe | chance |", "|---|---|---|"]
    lines += [f"| {t} | {_cell(p)} | {p['chance']:.3f} |" for t, p in figures["probe"].items()]
  if figures.get("heldout"):
    lines += ["", "| held-out family (zero-shot, gold correctness) | pretrained | scratch |", "|---|---|---|"]
    lines += [f"| {t} | {_cell(s.get('pretrained'))} | {_cell(s.get('scratch'))} |"
              for t, s in figures["heldout"].items()]
  if figures["fewshot"]:
    shots = sorted({k for by_k in figures["fewshot"].values() for k in by_k}, key=int)
    lines += ["", "| task | " + " | ".join(f"k={k}" for k in shots) + " | best k - k=0 |",
              "|---" * (len(shots) + 2) + "|"]
    for task, by_k in figures["fewshot"].items():
      lines.append(f"| {task} | " + " | ".join(_cell(by_k.get(k)) for k in shots) + f" | {_demonstration_gain(by_k)} |")
  return "\n".join(lines)


def _demonstration_gain(by_k: dict) -> str:
  """The best of k = 4 and 8 against k = 0 (the issue's in-context target), in standard errors of the difference
  (the two accuracies' errors taken as independent: conservative, as both are measured on the same items)."""
  if "0" not in by_k or not {"4", "8"} & set(by_k):
    return "-"
  best = max((k for k in ("4", "8") if k in by_k), key=lambda k: by_k[k]["value"])
  gain, se = _difference(by_k[best], by_k["0"])
  return f"{gain:+.3f} ± {se:.3f} at k={best} ({gain / se:.1f} SE)" if se > 0 else f"{gain:+.3f} at k={best}"


def _cell(figure: dict | None) -> str:
  """A figure as value ± stderr, or - where there is none."""
  return f"{figure['value']:.3f} ± {figure['stderr']:.3f}" if figure else "-"


def _difference(a: dict, b: dict) -> tuple[float, float]:
  """a - b and its standard error, for two {"value", "stderr"} figures."""
  return study.difference({"metric": a["value"], "stderr": a["stderr"]}, {"metric": b["value"], "stderr": b["stderr"]})


def _gap(gap: float, se: float) -> str:
  """A difference with its standard error, and in standard errors when there is one."""
  return f"{gap:+.3f} ± {se:.3f}" + (f" ({gap / se:.1f} SE)" if se > 0 else "")
