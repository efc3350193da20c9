"""Standard errors: the closed form for means, the bootstrap for corpus-level figures (span F1, BLEU)."""

import math

import numpy as np
import pytest

from lm.evaluation import generation, spans, uncertainty


def test_bootstrap_of_a_mean_agrees_with_the_closed_form():
  hits = np.random.default_rng(0).random(400) < 0.3
  closed = uncertainty.stderr(hits)
  boot = uncertainty.bootstrap_stderr(len(hits), lambda idx: hits[idx].mean(), resamples=1000)
  assert boot == pytest.approx(closed, rel=0.1)
  # Seeded: the same items report the same error.
  assert boot == uncertainty.bootstrap_stderr(len(hits), lambda idx: hits[idx].mean(), resamples=1000)
  assert math.isnan(uncertainty.bootstrap_stderr(1, lambda idx: 0.0))


def test_span_f1_stderr_shrinks_with_more_sentences_and_vanishes_when_perfect():
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]
  predicted = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC", "B-PER"]]
  few = spans.span_f1(gold * 10, predicted * 10)["span_f1_stderr"]
  many = spans.span_f1(gold * 160, predicted * 160)["span_f1_stderr"]
  assert 0 < many < few / 2  # 16 times the sentences: about a quarter of the error
  assert spans.span_f1(gold * 10, gold * 10)["span_f1_stderr"] == 0.0


def test_bleu_and_exact_match_report_standard_errors():
  references = [f"zi ka mo {i} lu" for i in range(60)]
  predictions = [r if i % 3 else "ka lu" for i, r in enumerate(references)]
  se = generation.bleu_stderr(predictions, references)
  assert 0 < se < generation.bleu(predictions, references) / 4
  assert generation.bleu_stderr(references, references) == pytest.approx(0.0, abs=1e-9)
  match = generation.exact_match(predictions, references)
  assert match["exact_match"] == pytest.approx(40 / 60)
  assert match["exact_match_stderr"] == pytest.approx(uncertainty.stderr([i % 3 > 0 for i in range(60)]))


def test_group_means_report_the_mean_its_error_and_each_group():
  out = generation.group_means("correct", [1.0, 0.0, 1.0, 1.0], ["a", "a", "b", "b"], group_stderr=True)
  assert out["correct"] == 0.75 and out["correct/a"] == 0.5 and out["correct/b"] == 1.0
  assert out["correct/a_stderr"] == pytest.approx(0.5) and out["correct/b_stderr"] == 0.0
  assert out["correct_stderr"] == pytest.approx(uncertainty.stderr([1.0, 0.0, 1.0, 1.0]))
