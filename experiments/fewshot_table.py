"""The few-shot comparison table: in-context k-shot accuracy beside fine-tuning on k examples.

  python -m experiments.fewshot_table --evaluation=EVAL_DIR --studies=STUDY_DIR,STUDY_DIR,... [--start=scratch]

EVAL_DIR is an `experiments.evaluate` output; each STUDY_DIR an `experiments.transfer_study` run of
configs/finetune/choice.py for one task (--config.task_options.tasks=<task>).
"""

from __future__ import annotations

from absl import flags

from experiments import cli
from lm.evaluation import report

_EVALUATION = flags.DEFINE_string("evaluation", None, "Output directory of experiments.evaluate.", required=True)
_STUDIES = flags.DEFINE_list("studies", [], "Transfer-study directories of configs/finetune/choice.py runs.")
_START = flags.DEFINE_enum("start", "pretrained", ["pretrained", "scratch"], "Which fine-tuning start to show.")


def main(argv):
  del argv
  print(report.table(_EVALUATION.value, _STUDIES.value, _START.value))


if __name__ == "__main__":
  cli.run(main)
