"""Running a jitted function over a split's records in fixed-shape, unshuffled batches (task evaluators)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from lm import distributed
from lm.data import pipeline
from lm.training import loop

MODEL_INPUTS = ("inputs", "segment_ids", "positions")


def batches(predict: Callable, config, layout, tok, params, records: Sequence[dict],
            keys: Sequence[str] = MODEL_INPUTS) -> Iterator[tuple[dict, np.ndarray]]:
  """`(batch, predict(params, batch[keys]))` over `records` in order; the last batch is padded to the same shape.

  `layout` is the task's `DataLayout`; outputs of the padding rows are dropped.
  """
  rows = config.eval.batch_size
  cfg = pipeline.PipelineConfig(seq_len=config.data.seq_len, batch_size=rows, shuffle=False, num_epochs=1, pack=False,
                                drop_remainder=False, long_examples="truncate")
  for batch in pipeline.build(records, config=cfg, transform=layout.transform, tokenizer=tok,
                              text_fields=layout.text_fields):
    have = len(batch[keys[0]])
    padded = distributed.put_rows(distributed.mesh_of(params), loop.pad_batch({k: batch[k] for k in keys}, rows))
    yield batch, distributed.get_rows(predict(params, padded), have)
