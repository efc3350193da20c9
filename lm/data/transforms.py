"""Example transforms: one tokenized record -> the features an objective trains on.

Each returns equal-length 1-D int32 arrays (see `lm.data.pipeline`); the pipeline splits, packs or
pads them. Objectives for later stages add their transforms here.
"""

from __future__ import annotations

import numpy as np

from lm.data.pipeline import Features


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
