"""Entity-level span F1 against hand-worked examples (conlleval semantics)."""

import pytest

from lm.evaluation import spans


def test_bio_spans_reads_boundaries_and_types():
  assert spans.bio_spans(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 2), ("LOC", 3, 4)}
  assert spans.bio_spans(["B-PER", "B-PER"]) == {("PER", 0, 1), ("PER", 1, 2)}
  # An I- without a matching span before it opens one, as in conlleval.
  assert spans.bio_spans(["O", "I-ORG", "I-ORG"]) == {("ORG", 1, 3)}
  assert spans.bio_spans(["B-PER", "I-LOC"]) == {("PER", 0, 1), ("LOC", 1, 2)}
  assert spans.bio_spans(["O", "O"]) == set()


def test_exact_matches_score_one():
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
  scores = spans.span_f1(gold, gold)
  assert scores["span_f1"] == scores["span_precision"] == scores["span_recall"] == 1.0
  assert scores["f1_PER"] == scores["f1_LOC"] == scores["f1_ORG"] == 1.0


def test_partial_overlaps_and_wrong_types_do_not_count():
  gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
  # PER found with only its first word (partial overlap), LOC found with the wrong type, plus a spurious ORG.
  predicted = [["B-PER", "O", "O", "B-ORG", "B-ORG"]]
  scores = spans.span_f1(gold, predicted)
  assert scores["span_precision"] == 0.0 and scores["span_recall"] == 0.0 and scores["span_f1"] == 0.0


def test_micro_average_by_hand():
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]     # 4 gold spans
  predicted = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC", "B-PER"]]  # 4 predicted, 3 right
  scores = spans.span_f1(gold, predicted)
  assert scores["span_precision"] == pytest.approx(3 / 4)
  assert scores["span_recall"] == pytest.approx(3 / 4)
  assert scores["span_f1"] == pytest.approx(3 / 4)
  assert scores["f1_PER"] == 1.0 and scores["f1_ORG"] == 1.0
  assert scores["f1_LOC"] == 0.0  # one gold LOC missed, one spurious LOC predicted


def test_precision_and_recall_differ_when_counts_differ():
  gold = [["B-PER", "O", "B-PER", "O"]]
  predicted = [["B-PER", "O", "O", "O"]]
  scores = spans.span_f1(gold, predicted)
  assert scores["span_precision"] == 1.0
  assert scores["span_recall"] == 0.5
  assert scores["span_f1"] == pytest.approx(2 / 3)


def test_mismatched_lengths_are_an_error():
  with pytest.raises(ValueError, match="sentence 0"):
    spans.span_f1([["O", "O"]], [["O"]])
