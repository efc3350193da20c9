"""Entity-level precision, recall and F1 over BIO tags, as conlleval scores them.

A span counts only if both its boundaries and its type match exactly: a prediction that
overlaps a gold entity partially, or finds it with the wrong type, is one false positive and
one false negative. An `I-X` that does not continue an `X` span opens a new one (conlleval's
reading of ill-formed sequences).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np

from lm.evaluation import uncertainty

Span = tuple[str, int, int]  # (type, first word, last word + 1)


def bio_spans(tags: Sequence[str]) -> set[Span]:
  """The entity spans of one sentence's BIO tags (e.g. ["B-PER", "I-PER", "O"] -> {("PER", 0, 2)})."""
  spans, kind, start = set(), None, 0
  for i, tag in enumerate([*tags, "O"]):
    prefix, _, tag_kind = tag.partition("-")
    continues = prefix == "I" and tag_kind == kind
    if kind is not None and not continues:
      spans.add((kind, start, i))
      kind = None
    if prefix in ("B", "I") and not continues:
      kind, start = tag_kind, i
  return spans


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
  precision = tp / n_pred if n_pred else 0.0
  recall = tp / n_gold if n_gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return precision, recall, f1


def span_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
  """Micro-averaged `span_precision`, `span_recall`, `span_f1` (with `span_f1_stderr`, by bootstrap over sentences),
  and `f1_<TYPE>` per entity type.

  `gold` and `predicted` hold one tag sequence per sentence, of equal lengths.
  """
  if len(gold) != len(predicted):
    raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones.")
  tp, n_pred, n_gold = collections.Counter(), collections.Counter(), collections.Counter()
  per_sentence = np.zeros((len(gold), 3), np.int64)  # (true positives, predicted, gold) spans of each sentence
  for i, (g, p) in enumerate(zip(gold, predicted)):
    if len(g) != len(p):
      raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted ones.")
    gold_spans, pred_spans = bio_spans(g), bio_spans(p)
    for kind, *_ in gold_spans:
      n_gold[kind] += 1
    for kind, *_ in pred_spans:
      n_pred[kind] += 1
    for kind, *_ in gold_spans & pred_spans:
      tp[kind] += 1
    per_sentence[i] = len(gold_spans & pred_spans), len(pred_spans), len(gold_spans)
  precision, recall, f1 = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
  out = {"span_precision": precision, "span_recall": recall, "span_f1": f1,
         "span_f1_stderr": uncertainty.bootstrap_stderr(len(gold), lambda idx: _prf(*per_sentence[idx].sum(0))[2])}
  for kind in sorted(set(n_gold) | set(n_pred)):
    out[f"f1_{kind}"] = _prf(tp[kind], n_pred[kind], n_gold[kind])[2]
  return out
