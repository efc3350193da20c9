"""T5 span corruption on the host: noise masks, sentinel inputs and targets, and the length arithmetic.

A row of `raw_length` tokens gets `round(raw_length * noise_density)` noise tokens in
`round(noise_tokens / mean_span_length)` spans, the spans and the kept runs between them having
random lengths that alternate (kept run first). The input keeps the non-noise tokens and puts one
sentinel where each span was; the target lists each sentinel followed by the tokens of its span.
Both end with eos:

    tokens   a b c d e f g h            (noise: c d, g)
    inputs   a b <0> e f <1> h </s>
    targets  <0> c d <1> g </s>

`lengths_for(inputs_length, ...)` finds the raw length whose corrupted input is exactly
`inputs_length` long, so inputs fill their rows without padding (T5's arithmetic).
"""

from __future__ import annotations

import numpy as np


def _counts(length: int, noise_density: float, mean_span_length: float) -> tuple[int, int]:
  noise = int(round(length * noise_density))
  noise = min(max(noise, 1), length - 1)
  spans = max(int(round(noise / mean_span_length)), 1)
  spans = min(spans, noise, length - noise)
  return noise, spans


def _partition(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
  """`parts` positive integers summing to `total`, uniformly among such compositions."""
  cuts = np.sort(rng.choice(total - 1, parts - 1, replace=False) + 1) if parts > 1 else np.zeros(0, int)
  return np.diff(np.concatenate([[0], cuts, [total]]))


def noise_mask(length: int, noise_density: float, mean_span_length: float, rng: np.random.Generator) -> np.ndarray:
  """Boolean [length]: True on noise tokens. Kept runs and noise spans alternate, kept first."""
  if length < 2:
    return np.zeros(length, bool)
  noise, spans = _counts(length, noise_density, mean_span_length)
  noise_lengths = _partition(noise, spans, rng)
  kept_lengths = _partition(length - noise, spans, rng)
  pieces = np.stack([kept_lengths, noise_lengths], axis=1).reshape(-1)
  values = np.tile([False, True], spans)
  return np.repeat(values, pieces)


def corrupt(tokens: np.ndarray, mask: np.ndarray, sentinel_ids, eos_id: int) -> tuple[np.ndarray, np.ndarray]:
  """(inputs, targets) of `tokens` under noise `mask`, one sentinel per span (see module docstring)."""
  starts = mask & ~np.concatenate([[False], mask[:-1]])  # first token of each span
  span_index = np.cumsum(starts) - 1
  if span_index.max(initial=-1) >= len(sentinel_ids):
    raise ValueError(f"{int(span_index.max()) + 1} noise spans but only {len(sentinel_ids)} sentinels; "
                     "raise tokenizer.num_sentinels or shorten the rows.")
  sentinels = np.asarray(sentinel_ids, np.int32)
  # Inputs: kept tokens, and a sentinel at each span's first position.
  keep_in = ~mask | starts
  inputs = np.where(starts, sentinels[np.maximum(span_index, 0)], tokens)[keep_in]
  # Targets: a sentinel before each span's tokens.
  target_pieces = []
  for i, start in enumerate(np.flatnonzero(starts)):
    end = start
    while end < len(mask) and mask[end]:
      end += 1
    target_pieces += [sentinels[i], *tokens[start:end]]
  targets = np.asarray(target_pieces, np.int32)
  return np.append(inputs, eos_id).astype(np.int32), np.append(targets, eos_id).astype(np.int32)


def lengths_for(inputs_length: int, noise_density: float, mean_span_length: float) -> tuple[int, int]:
  """(raw tokens per row, targets length) such that corrupted inputs are `inputs_length` long."""
  def corrupted(raw: int) -> tuple[int, int]:
    noise, spans = _counts(raw, noise_density, mean_span_length)
    return raw - noise + spans + 1, noise + spans + 1

  raw = inputs_length
  while corrupted(raw + 1)[0] <= inputs_length:
    raw += 1
  return raw, corrupted(raw)[1]


def reconstruct(inputs: np.ndarray, targets: np.ndarray, sentinel_ids, eos_id: int) -> np.ndarray:
  """The original tokens from (inputs, targets): the inverse of `corrupt`, used by tests and examples."""
  sentinels = {int(s): i for i, s in enumerate(sentinel_ids)}
  spans: dict[int, list[int]] = {}
  current = None
  for t in targets.tolist():
    if t == eos_id:
      break
    if t in sentinels:
      current = sentinels[t]
      spans[current] = []
    elif current is not None:
      spans[current].append(t)
  out = []
  for t in inputs.tolist():
    if t == eos_id:
      break
    out.extend(spans[sentinels[t]] if t in sentinels else [t])
  return np.asarray(out, np.int32)
