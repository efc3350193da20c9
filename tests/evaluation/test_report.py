"""The few-shot comparison table reads an evaluation and multiple-choice studies into one row per task."""

import json

import pytest

from lm.evaluation import report


def _write(path, payload):
  path.mkdir()
  (path / "results.json").write_text(json.dumps(payload))
  return str(path)


def test_table_puts_in_context_and_fine_tuned_accuracy_side_by_side(tmp_path):
  metrics = lambda acc, used: {"items": 500, "shots_used": used, "chance": 0.5, "accuracy": acc,
                               "accuracy_stderr": 0.02}
  evaluation = _write(tmp_path / "eval", {"shots": [0, 4], "tasks": {
      "sentiment": {"0": metrics(0.5, 0), "4": metrics(0.6, 3.5)},
      "instructions/qa": {"0": {"items": 100, "shots_used": 0, "exact_match": 0.1, "exact_match_stderr": 0.03},
             "4": {"items": 100, "shots_used": 4, "exact_match": 0.2, "exact_match_stderr": 0.04}}}})
  run = lambda init, n, acc: {"init": init, "train_examples": n, "test": {"accuracy": acc, "accuracy/sentiment": acc,
                                                                           "accuracy_stderr": 0.01}}
  study = _write(tmp_path / "study", {"task": "choice", "task_options": {"tasks": "sentiment"}, "runs": [
      run("pretrained", 8, 0.55), run("scratch", 8, 0.5), run("pretrained", 32, 0.7)]})
  lines = report.table(evaluation, [study]).splitlines()
  assert lines[0] == ("| task | chance | k=0 in context | k=4 in context | fine-tuned on 8 | fine-tuned on 32 |")
  assert lines[2] == ("| sentiment | 0.500 | 0.500 ± 0.020 | 0.600 ± 0.020 (3.5 shots fit) | 0.550 ± 0.010 | "
                      "0.700 ± 0.010 |")
  assert lines[3] == "| instructions/qa (exact match) | - | 0.100 ± 0.030 | 0.200 ± 0.040 | - | - |"
  assert report.table(evaluation, [study], start="scratch").splitlines()[2].endswith("| 0.500 ± 0.010 |")
  sentiment_study = _write(tmp_path / "other", {"task": "sentiment", "runs": []})
  with pytest.raises(ValueError, match="multiple-choice studies"):
    report.table(evaluation, [sentiment_study])
