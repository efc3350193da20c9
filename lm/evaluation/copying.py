"""In-context copying: does a causal LM predict a span better the second time it reads it?

A span of real tokens drawn at random from a text's pieces (in random order, so no knowledge of the language helps)
is written twice after bos; the figure is the mean loss on the span's second occurrence against its first. A model
with an induction mechanism (attend to what followed the previous occurrence of the current token, and copy it)
reads the second occurrence almost for free; a model without one pays the same twice. Following demonstrations,
looking a fact up in a passage and copying a name from a prompt all rest on it (Olsson et al. 2022, "In-context
learning and induction heads"), so this is the first thing to check when demonstrations do not help.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lm.evaluation import uncertainty


def repeat_losses(token_logprobs: Callable[[np.ndarray], np.ndarray], pool: np.ndarray, bos_id: int, *,
                  spans: int = 32, length: int = 50, seed: int = 0) -> dict[str, float]:
  """Losses (nats per token) of `spans` random spans of `length` pieces from `pool`, first and second reading.

  `token_logprobs(ids)` takes ids [rows, 1 + 2 * length] and returns the log-probability of ids[:, 1:] given what
  precedes each, [rows, 2 * length]. The first token of each occurrence is left out of its mean: nothing before it
  says what it is. `gain` (first minus second, with `gain_stderr` over spans) is what reading the first bought.
  """
  pool = np.asarray(pool)
  if length < 2 or spans < 2:
    raise ValueError(f"repeat_losses: expected length >= 2 and spans >= 2, got length={length}, spans={spans}.")
  if pool.size < length:
    raise ValueError(f"repeat_losses: {pool.size} pieces of text to draw from, fewer than a span of {length}.")
  rng = np.random.default_rng(seed)
  span = rng.choice(pool, size=(spans, length))
  ids = np.concatenate([np.full((spans, 1), bos_id), span, span], axis=1)
  nll = -np.asarray(token_logprobs(ids), np.float64)
  if nll.shape != (spans, 2 * length):
    raise ValueError(f"token_logprobs returned shape {nll.shape}; expected {(spans, 2 * length)}.")
  first, second = nll[:, 1:length].mean(axis=1), nll[:, length + 1:].mean(axis=1)
  return {"first_loss": float(first.mean()), "second_loss": float(second.mean()),
          "gain": float((first - second).mean()), "gain_stderr": uncertainty.stderr(first - second),
          "spans": float(spans), "length": float(length)}
