"""Throughput of the packed world/text input pipeline (tokenize -> causal transform -> pack -> batch).

  python -m benchmarks.data_throughput --data_dir=data [--seq_len=256 --batch_size=32 --batches=300]

Prints examples/s (documents read) and tokens/s (non-padding tokens delivered) on this machine.
Compare tokens/s with a train step's tokens/s (benchmarks/train_throughput.py): the input
pipeline must be many times faster so it never stalls the accelerator.
"""

from __future__ import annotations

import time

from absl import app, flags

from lm.data import corpus, pipeline, sources, transforms

_DATA_DIR = flags.DEFINE_string("data_dir", "data", "Dataset and tokenizer cache.")
_SEQ_LEN = flags.DEFINE_integer("seq_len", 256, "Tokens per row.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Rows per batch.")
_BATCHES = flags.DEFINE_integer("batches", 300, "Batches to time (after a warm-up of 10).")
_THREADS = flags.DEFINE_integer("threads", 4, "grain read threads.")


def main(argv):
  del argv
  spec = sources.DatasetSpec("world/text", _DATA_DIR.value)
  tok = corpus.load_tokenizer(corpus.TokenizerConfig(), spec)
  source = sources.open_split(spec, "train")
  config = pipeline.PipelineConfig(seq_len=_SEQ_LEN.value, batch_size=_BATCH.value, worker_threads=_THREADS.value)
  counted = []

  def transform(record):
    counted.append(1)
    return transforms.causal_lm(tok.bos_id, tok.eos_id)(record)

  it = iter(pipeline.build(source, config=config, transform=transform, tokenizer=tok, text_fields=("text",)))
  for _ in range(10):
    next(it)
  docs_before, tokens = len(counted), 0
  start = time.perf_counter()
  for _ in range(_BATCHES.value):
    tokens += int((next(it)["segment_ids"] > 0).sum())
  seconds = time.perf_counter() - start
  docs = len(counted) - docs_before
  print(f"world/text packed pipeline: seq_len={_SEQ_LEN.value} batch={_BATCH.value} threads={_THREADS.value}")
  print(f"  {docs / seconds:,.0f} examples/s  {tokens / seconds:,.0f} tokens/s  "
        f"({_BATCHES.value} batches in {seconds:.2f}s, vocab {tok.vocab_size})")


if __name__ == "__main__":
  app.run(main)
