"""Metrics of generated text: exact match (overall and per group) and corpus BLEU (sacrebleu)."""

from __future__ import annotations

import collections
from collections.abc import Sequence

import jax
import numpy as np
import sacrebleu

from lm import distributed
from lm.evaluation import uncertainty
from lm.sampling import decode, seq2seq


def normalize(text: str) -> str:
  """Whitespace-insensitive comparison form: leading, trailing and repeated spaces do not count."""
  return " ".join(text.split())


def exact_match(predictions: Sequence[str], references: Sequence[str],
                groups: Sequence[str] | None = None) -> dict[str, float]:
  """`exact_match` over all items and `exact_match/<group>` per group (e.g. instruction family)."""
  if len(predictions) != len(references):
    raise ValueError(f"{len(predictions)} predictions but {len(references)} references.")
  return group_means("exact_match", [normalize(p) == normalize(r) for p, r in zip(predictions, references)], groups)


def group_means(name: str, values: Sequence[float], groups: Sequence[str] | None = None,
                group_stderr: bool = False) -> dict[str, float]:
  """`name` (the mean of `values`), `name_stderr`, and `name/<group>` per group (with `name/<group>_stderr`)."""
  out = {name: float(np.mean(values)) if len(values) else 0.0, f"{name}_stderr": uncertainty.stderr(values)}
  by_group = collections.defaultdict(list)
  for value, group in zip(values, groups or ()):
    by_group[group].append(value)
  for g, v in sorted(by_group.items()):
    out[f"{name}/{g}"] = float(np.mean(v))
    if group_stderr:
      out[f"{name}/{g}_stderr"] = uncertainty.stderr(v)
  return out


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
  """Corpus BLEU (sacrebleu defaults: 13a tokenisation, exponential smoothing), 0-100."""
  return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


def bleu_stderr(predictions: Sequence[str], references: Sequence[str], resamples: int = 100) -> float:
  """Standard error of corpus BLEU by bootstrap over sentences (about 3 ms per resample of 100 sentences)."""
  predictions, references = list(predictions), list(references)
  return uncertainty.bootstrap_stderr(
      len(predictions), lambda idx: bleu([predictions[i] for i in idx], [references[i] for i in idx]), resamples)


def translate(model, params, tokenizer, sources: Sequence[Sequence[int]], config: decode.SamplingConfig,
              rng: jax.Array, *, batch_size: int, length_multiple: int = 32) -> list[str]:
  """Encoder-decoder outputs for token `sources` (eos included by the caller), as text.

  Fixed-shape batches as in `lm.sampling.decode.complete`; sources are right-padded.
  """
  decode.check_fits(model, 1, config.max_new_tokens)  # the decoder's positions: bos, then the new tokens
  texts = []
  drop = {tokenizer.eos_id, tokenizer.pad_id}
  for start in range(0, len(sources), batch_size):
    chunk = [list(s) for s in sources[start:start + batch_size]]
    width = decode.round_up(max(map(len, chunk)), length_multiple)
    tokens = np.full((batch_size, width), tokenizer.pad_id, np.int32)
    mask = np.zeros((batch_size, width), bool)
    for row, ids in enumerate(chunk):
      tokens[row, :len(ids)], mask[row, :len(ids)] = ids, True
    mask[len(chunk):, 0] = True  # filler rows: one visible token so attention has something to read
    out, lengths = seq2seq.generate(model, params, *distributed.put_rows(distributed.mesh_of(params), (tokens, mask)),
                                    jax.random.fold_in(rng, start), config=config, bos_id=tokenizer.bos_id,
                                    eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)
    out, lengths = distributed.get_rows((out, lengths), batch_size)
    texts += [tokenizer.decode([t for t in row[:n] if int(t) not in drop]) for row, n in zip(out[:len(chunk)],
                                                                                          lengths[:len(chunk)])]
  return texts
