"""Zero- and few-shot evaluation entry point: a checkpoint on a suite of tasks at several k.

  python -m experiments.evaluate --config=configs/eval/fewshot.py --workdir=DIR --config.checkpoint=RUN_DIR \
      [--config.harness.shots=0,1,4,8] [--config.tasks.jsonl=my_task.jsonl] [--config.a.b=v ...]

Writes DIR/results.json, DIR/results.md, DIR/predictions.jsonl and DIR/fewshot.png, and prints the table.
"""

from __future__ import annotations

from experiments import cli
from lm.evaluation import evaluate, harness

_CONFIG, _WORKDIR = cli.define_run_flags("configs/eval/fewshot.py", "Output directory: results.json, results.md, "
                                         "predictions.jsonl, fewshot.png.")


def main(argv):
  del argv
  with cli.reported():
    summary = evaluate.run(_CONFIG.value, _WORKDIR.value)
  print(harness.table(summary["tasks"]))
  print(f"{_WORKDIR.value}: {summary['seconds']:.0f} s.")


if __name__ == "__main__":
  cli.run(main)
