"""The unigram baseline: the perplexity any language model must beat.

Counted on the same targets a causal LM predicts (every text token, then end-of-sequence), with
add-one smoothing so unseen validation tokens get finite probability.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def fit(train_docs: Iterable[Sequence[int]], vocab_size: int, eos_id: int) -> np.ndarray:
  """Log-probabilities [V] of a smoothed unigram model of `train_docs` (token id lists)."""
  counts = np.ones(vocab_size, np.float64)  # add-one smoothing
  for ids in train_docs:
    counts += np.bincount(np.asarray(ids, np.int64), minlength=vocab_size)[:vocab_size]
    counts[eos_id] += 1
  return np.log(counts / counts.sum())


def perplexity(log_probs: np.ndarray, docs: Iterable[Sequence[int]], eos_id: int) -> float:
  """exp of the mean negative log-likelihood per target token of `docs` under `log_probs`."""
  nll, n = 0.0, 0
  for ids in docs:
    ids = np.asarray(list(ids) + [eos_id], np.int64)
    nll -= float(log_probs[ids].sum())
    n += len(ids)
  return float(np.exp(nll / n))


def baseline(tokenizer, train_texts: Iterable[str], eval_texts: Iterable[str]) -> float:
  """Perplexity of `eval_texts` under the smoothed unigram model of `train_texts`, in `tokenizer`'s pieces."""
  log_probs = fit((tokenizer.encode(t) for t in train_texts), tokenizer.vocab_size, tokenizer.eos_id)
  return perplexity(log_probs, (tokenizer.encode(t) for t in eval_texts), tokenizer.eos_id)
