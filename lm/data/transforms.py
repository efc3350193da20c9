"""Example transforms: one tokenized record -> the features an objective trains on.

Each returns equal-length 1-D int32 arrays (see `lm.data.pipeline`); the pipeline splits, packs or
pads them. Fine-tuning tasks' transforms are in `lm.data.supervised`.
"""

from __future__ import annotations

import numpy as np

from lm.data import span_corruption as span_corruption_lib
from lm.data.pipeline import SEED_KEY, Features


def causal_lm(bos_id: int, eos_id: int, field: str = "text"):
  """Next-token prediction: `inputs = [bos] + ids`, `targets = ids + [eos]`, all weighted 1.

  Shifting here rather than in the loss means every packed position has its own target and a
  target never comes from the next document in the row.
  """

  def transform(record: Features) -> Features:
    ids = np.asarray(record[field], np.int32)
    inputs = np.concatenate([[bos_id], ids]).astype(np.int32)
    targets = np.concatenate([ids, [eos_id]]).astype(np.int32)
    return {"inputs": inputs, "targets": targets, "weights": np.ones_like(inputs)}

  return transform


def mlm_text(field: str = "text"):
  """Masked LM on plain documents: the tokens themselves (masking happens on device, per step)."""

  def transform(record: Features) -> Features:
    return {"inputs": np.asarray(record[field], np.int32)}

  return transform


def sentence_pair(cls_id: int, sep_id: int, seq_len: int):
  """BERT's input: `[CLS] A [SEP] B [SEP]` with token types 0/1 and the `is_next` label.

  Pairs longer than `seq_len` are trimmed from the end of the longer sentence first (as BERT
  does), so both sentences keep their beginnings.
  """

  def transform(record: Features) -> Features:
    a, b = list(record["sentence_a"]), list(record["sentence_b"])
    while len(a) + len(b) + 3 > seq_len:
      (a if len(a) >= len(b) else b).pop()
    inputs = [cls_id, *a, sep_id, *b, sep_id]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return {"inputs": np.asarray(inputs, np.int32), "token_types": np.asarray(types, np.int32),
            "is_next": int(record["is_next"])}

  return transform


def span_corruption(*, inputs_length: int, noise_density: float, mean_span_length: float, sentinel_ids,
                    bos_id: int, eos_id: int, field: str = "text"):
  """T5 pretraining: each document is cut into rows whose corrupted inputs fill `inputs_length`.

  Needs a seeded pipeline (`pipeline.build(..., seeded=True)`): the noise is drawn from the
  record's seed, so it differs every epoch and is reproduced exactly on resume.
  """
  raw_length, _ = span_corruption_lib.lengths_for(inputs_length, noise_density, mean_span_length)

  def transform(record: Features) -> list[Features]:
    ids = np.asarray(record[field], np.int32)
    rng = np.random.default_rng(record[SEED_KEY])
    rows = []
    for start in range(0, len(ids), raw_length):
      chunk = ids[start:start + raw_length]
      if len(chunk) < 2:
        continue
      mask = span_corruption_lib.noise_mask(len(chunk), noise_density, mean_span_length, rng)
      inputs, targets = span_corruption_lib.corrupt(chunk, mask, sentinel_ids, eos_id)
      rows.append({"inputs": inputs, "decoder_inputs": np.concatenate([[bos_id], targets[:-1]]).astype(np.int32),
                   "decoder_targets": targets, "decoder_weights": np.ones_like(targets)})
    return rows

  return transform
