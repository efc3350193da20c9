"""In-context copying: does a causal LM predict a span better the second time it reads it?

Two probes. `repeat_losses`:
A span of real tokens drawn at random from a text's pieces (in random order, so no knowledge of the language helps)
is written twice after bos; the figure is the mean loss on the span's second occurrence against its first. A model
with an induction mechanism (attend to what followed the previous occurrence of the current token, and copy it)
reads the second occurrence almost for free; a model without one pays the same twice. Following demonstrations,
looking a fact up in a passage and copying a name from a prompt all rest on it (Olsson et al. 2022, "In-context
learning and induction heads"), so this is the first thing to check when demonstrations do not help.

`mention_losses`: in documents about entities made up for them (the world's fiction), the loss of a name's pieces
(after its first, which nothing predicts) at its first and at its second mention. Only the first mention can tell
the model the name, so the gain is copying in ordinary text: it can appear before random spans are copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


def _pieces_of(tokenizer, text: str, start: int, end: int) -> tuple[int, int]:
  """Token positions [a, b) (in bos + encode(text)) of text[start:end]: where its prefix's encoding stops agreeing."""
  before = [tokenizer.bos_id, *tokenizer.encode(text[:start].rstrip(" "))]
  through = [tokenizer.bos_id, *tokenizer.encode(text[:end])]
  a = 0
  while a < min(len(before), len(through)) and before[a] == through[a]:
    a += 1
  return a, len(through)


def mention_losses(token_logprobs: Callable[[list[int]], np.ndarray], tokenizer,
                   documents: Iterable[tuple[str, str]], *, max_len: int) -> dict[str, float]:
  """Losses (nats per piece) of a name at its first and second mention, over `(text, name)` pairs whose text names
  it at least twice and fits in `max_len` tokens (others are skipped).

  `token_logprobs(ids)` returns the log-probability of ids[1:] given what precedes each ([len(ids) - 1]).
  """
  first, second = [], []
  for text, name in documents:
    ids = [tokenizer.bos_id, *tokenizer.encode(text)]
    starts = [i for i in range(len(text)) if text.startswith(name, i)][:2]
    if len(starts) < 2 or len(ids) > max_len:
      continue
    spans = [_pieces_of(tokenizer, text, s, s + len(name)) for s in starts]
    if any(ids[:b] != [tokenizer.bos_id, *tokenizer.encode(text[:s + len(name)])] or b - a < 2
           for (a, b), s in zip(spans, starts)):
      continue  # the name's pieces depend on what follows it here: not comparable
    logprobs = np.asarray(token_logprobs(ids), np.float64)
    first_loss, second_loss = (-logprobs[a:b - 1].mean() for a, b in spans)  # position t predicts ids[t + 1]
    first.append(first_loss)
    second.append(second_loss)
  if len(first) < 2:
    raise ValueError(f"Only {len(first)} names mentioned twice fit in {max_len} tokens: nothing to compare.")
  first, second = np.asarray(first), np.asarray(second)
  return {"first_loss": float(first.mean()), "second_loss": float(second.mean()),
          "gain": float((first - second).mean()), "gain_stderr": uncertainty.stderr(first - second),
          "names": float(len(first))}
