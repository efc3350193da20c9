"""Transfer study entry point: fine-tune from a pretrained run and from scratch at several label budgets.

  python -m experiments.transfer_study --config=configs/finetune/sentiment.py:tiny --workdir=DIR \
      --config.init_from=PRETRAIN_DIR [--budgets=50,200,1000,all] [--starts=pretrained,scratch,probe] \
      [--learning_rates=3e-4,1e-3,3e-3] [--grid_budgets=50] [--budget_steps=50:200]

Writes DIR/results.json, DIR/transfer.png and one fine-tuning run per (start, budget) under DIR;
re-running the command skips the runs that finished.
"""

from __future__ import annotations

from absl import flags

from experiments import cli
from lm.training import study

_CONFIG, _WORKDIR = cli.define_run_flags("configs/finetune/ner.py:tiny",
                                         "Study directory: results.json, transfer.png, one dir per run.")
_BUDGETS = flags.DEFINE_string("budgets", "50,200,1000,all", "Label budgets: numbers of training examples, or all.")
_STARTS = flags.DEFINE_list("starts", list(study.DEFAULT_STARTS),
                            "Which starts to run: pretrained (init_from), scratch, probe (init_from, backbone frozen).")
_RATES = flags.DEFINE_string("learning_rates", "", "A learning-rate grid: every start and budget trains at each rate "
                             "and reports the one best on validation (empty: the config's rate).")


_GRID_BUDGETS = flags.DEFINE_string("grid_budgets", "", "Budgets where the grid runs (empty: every budget); elsewhere "
                                    "each start trains at the rate it chose at the largest grid budget below.")
_BUDGET_STEPS = flags.DEFINE_string("budget_steps", "", "Steps at some budgets, e.g. 50:200,all:2000 (the same for "
                                    "every start; the config's train.steps elsewhere).")


def main(argv):
  del argv
  with cli.reported():
    summary = study.run(_CONFIG.value, _WORKDIR.value, study.parse_budgets(_BUDGETS.value),
                        tuple(_STARTS.value), study.parse_learning_rates(_RATES.value),
                        study.parse_grid_budgets(_GRID_BUDGETS.value),
                        study.parse_budget_steps(_BUDGET_STEPS.value))
  print(study.table(summary))
  print(f"Wrote {_WORKDIR.value}/{study.RESULTS_FILE} and {_WORKDIR.value}/{study.PLOT_FILE}.")


if __name__ == "__main__":
  cli.run(main)
