"""Which run was better: several runs' curves overlaid in one figure, and a Markdown table, best first.

  python -m experiments.compare --runs=runs/a,runs/b [--metric=eval/loss] [--output=compare.png]
  python -m experiments.compare --runs=runs/sweeps/lr --metric=eval/accuracy   # every run of a sweep or study

A path is a run's work dir or a directory of runs (lm/evaluation/compare.py). Writes the figure and, beside it, the
table as Markdown (compare.md), and prints the table.
"""

from __future__ import annotations

import os

from absl import flags

from experiments import cli
from lm import settings
from lm.evaluation import compare

_RUNS = flags.DEFINE_list("runs", None, "Run work dirs, or directories of runs (a sweep, a study, a pipeline).")
_METRIC = flags.DEFINE_string("metric", "eval/loss", "<split>/<name> as the runs log it, e.g. train/loss, "
                              "eval/accuracy, rl/gold_win_rate.")
_MODE = flags.DEFINE_enum("mode", "", ["", "min", "max"], "Which way is better (default: min for losses and "
                          "perplexities, else max).")
_OUTPUT = flags.DEFINE_string("output", "compare.png", "The figure; the table goes beside it as .md.")
flags.mark_flag_as_required("runs")


def main(argv):
  del argv
  with cli.reported():
    runs = compare.find_runs(_RUNS.value)
    curves = compare.curves(runs, _METRIC.value)
    table = compare.table(curves, _METRIC.value, compare.mode_of(_METRIC.value, _MODE.value))
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
    compare.figure(_OUTPUT.value, curves, _METRIC.value)
    settings.write_text(os.path.splitext(_OUTPUT.value)[0] + ".md", table + "\n")
  print(table)
  print(f"{_OUTPUT.value}: {len(runs)} runs.")


if __name__ == "__main__":
  cli.run(main)
