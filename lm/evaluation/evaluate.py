"""Evaluation as a library call: `run(config, workdir)` scores a checkpoint on a suite at every k.

Writes `DIR/results.json` (task -> k -> metrics with standard errors), `DIR/results.md` (the
table), `DIR/predictions.jsonl` (per item: its prompt, scores, choice and generation) and
`DIR/fewshot.png` (accuracy against k per task, chance dotted). `experiments/evaluate.py` and
the notebooks call this.
"""

from __future__ import annotations

import json
import math
import os
import time

from absl import logging

from lm import settings
from lm.data import world
from lm.evaluation import harness, plots, suite
from lm.training import runs, sharding

RESULTS_FILE = "results.json"
TABLE_FILE = "results.md"
PREDICTIONS_FILE = "predictions.jsonl"
PLOT_FILE = "fewshot.png"


def _finite(value):
  return None if isinstance(value, float) and not math.isfinite(value) else value


def run(config, workdir: str) -> dict:
  """Evaluates `config.checkpoint`; returns what it writes to `DIR/results.json`."""
  started = time.perf_counter()
  if not config.checkpoint:
    raise settings.ConfigError("Set --config.checkpoint to the --workdir of the run to evaluate.")
  cfg = settings.section(harness.HarnessConfig, config.harness, "harness")
  suite_cfg = settings.section(suite.SuiteConfig, config.tasks, "tasks")
  world_cfg = settings.section(world.WorldConfig, config.data.world, "data.world")
  loaded = runs.load(config.checkpoint, config.step or None, mesh=sharding.make_mesh(sharding.MeshConfig()))
  harness.check_decoder(loaded.model, config.checkpoint)
  tasks = suite.load(suite_cfg, os.path.expanduser(config.data.data_dir), world_cfg)
  settings.prepare_workdir(workdir, config)
  template = harness.resolve_template(cfg, loaded.config)
  max_len = harness.context_length(cfg, loaded.config, loaded.model)
  logging.info("Evaluating %s at step %d on %s at k=%s; template %r; prompts up to %d tokens.", config.checkpoint,
               loaded.step, ", ".join(f"{t.name} ({len(t.items)})" for t in tasks), list(cfg.shots), template.example,
               max_len)
  results, records = harness.Harness(loaded.model, loaded.params, loaded.tokenizer, cfg, template, max_len).run(tasks)
  summary = {"checkpoint": os.path.abspath(config.checkpoint), "step": loaded.step, "template": template.example,
             "separator": template.separator, "max_len": max_len, "shots": list(cfg.shots),
             "methods": list(cfg.methods),
             "seconds": time.perf_counter() - started,
             "tasks": {t: {k: {n: _finite(v) for n, v in m.items()} for k, m in by_k.items()}
                       for t, by_k in results.items()}}
  settings.write_json(os.path.join(workdir, RESULTS_FILE), summary)
  text = harness.table(results)
  settings.write_text(os.path.join(workdir, TABLE_FILE), text + "\n")
  settings.write_text(os.path.join(workdir, PREDICTIONS_FILE),
                      "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
  curves, chance = {}, {}
  for t, by_k in results.items():  # multiple-choice accuracy where there is one, else exact match
    first = next(iter(by_k.values()))
    metric = "accuracy" if "accuracy" in first else "exact_match"
    curves[t] = [(int(k), m[metric], m[f"{metric}_stderr"]) for k, m in by_k.items()]
    if metric == "accuracy":
      chance[t] = first["chance"]
  plots.shots_curves(os.path.join(workdir, PLOT_FILE), curves, chance,
                     title=f"{os.path.basename(os.path.abspath(config.checkpoint))} at step {loaded.step}",
                     ylabel="accuracy (generation: exact match)")
  logging.info("Results (%s):\n%s", workdir, text)
  return summary
