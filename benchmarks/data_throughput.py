"""Throughput of the packed world/text input pipeline (tokenize -> causal transform -> pack -> batch).

  python -m benchmarks.data_throughput --data_dir=data [--seq_len=256 --batch_size=32 --batches=300]
      [--shuffle_window=1024 --packing_bins=128]

Prints examples/s (documents read) and tokens/s (non-padding tokens delivered) on this machine, and what the
batches hold: distinct documents per batch (a long document's chunks are shuffled apart in windows of
`--shuffle_window`; 0 leaves them consecutive) and the share of row positions that are not padding.
Compare tokens/s with a train step's tokens/s (benchmarks/train_throughput.py): the input
pipeline must be many times faster so it never stalls the accelerator.
"""

from __future__ import annotations

import time

import numpy as np

from absl import flags

from experiments import cli
from lm.data import corpus, pipeline, sources, transforms

_DATA_DIR = flags.DEFINE_string("data_dir", "data", "Dataset and tokenizer cache.")
_SEQ_LEN = flags.DEFINE_integer("seq_len", 256, "Tokens per row.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Rows per batch.")
_BATCHES = flags.DEFINE_integer("batches", 300, "Batches to time (after a warm-up of 10).")
_THREADS = flags.DEFINE_integer("threads", 4, "grain read threads.")
_WINDOW = flags.DEFINE_integer("shuffle_window", pipeline.PipelineConfig.shuffle_window, "Chunk shuffle window.")
_BINS = flags.DEFINE_integer("packing_bins", pipeline.PipelineConfig.packing_bins, "Rows the packer fills at once.")


def main(argv):
  del argv
  spec = sources.DatasetSpec("world/text", _DATA_DIR.value)
  tok = corpus.load_tokenizer(corpus.TokenizerConfig(), spec)
  source = sources.open_split(spec, "train")
  config = pipeline.PipelineConfig(seq_len=_SEQ_LEN.value, batch_size=_BATCH.value, worker_threads=_THREADS.value,
                                   shuffle_window=_WINDOW.value, packing_bins=_BINS.value)
  counted = []

  def transform(record):
    counted.append(1)
    example = transforms.causal_lm(tok.bos_id, tok.eos_id)(record)
    return {**example, "document": np.full_like(example["inputs"], len(counted))}  # which document each token is

  it = iter(pipeline.build(source, config=config, transform=transform, tokenizer=tok, text_fields=("text",)))
  for _ in range(10):
    next(it)
  docs_before, tokens, distinct, fill = len(counted), 0, [], []
  start = time.perf_counter()
  for _ in range(_BATCHES.value):
    batch = next(it)
    real = batch["segment_ids"] > 0
    tokens += int(real.sum())
    distinct.append(len(np.unique(batch["document"][real])))
    fill.append(real.mean())
  seconds = time.perf_counter() - start
  docs = len(counted) - docs_before
  print(f"world/text packed pipeline: seq_len={_SEQ_LEN.value} batch={_BATCH.value} threads={_THREADS.value}")
  print(f"  {docs / seconds:,.0f} examples/s  {tokens / seconds:,.0f} tokens/s  "
        f"({_BATCHES.value} batches in {seconds:.2f}s, vocab {tok.vocab_size})")
  print(f"  documents per batch {np.mean(distinct):.1f} (at least {min(distinct)}), rows {np.mean(fill):.1%} full "
        f"(shuffle_window={_WINDOW.value}, packing_bins={_BINS.value})")


if __name__ == "__main__":
  cli.run(main)
