"""`make demo`: prepares the built-in world, shows every view, trains the tokenizer and reports
the unigram perplexity that the language models of later stages must beat.

  python -m experiments.demo --data_dir=data
"""

from __future__ import annotations

import json
import textwrap
import time

from absl import app, flags

from lm.data import corpus, sources, world
from lm.evaluation import unigram

_DATA_DIR = flags.DEFINE_string("data_dir", "data", "Dataset and tokenizer cache.")


def show(record: dict, width: int = 100) -> str:
  text = json.dumps(record, ensure_ascii=False)
  return textwrap.shorten(text, 400, placeholder=" ...}") if len(text) > 400 else text


def main(argv):
  del argv
  data_dir = _DATA_DIR.value
  print(f"Preparing the built-in world under {data_dir} (cached after the first run).\n")
  for view in world.VIEWS:
    start = time.time()
    spec = sources.DatasetSpec(f"world/{view}", data_dir)
    builder = sources.prepare(spec)
    sizes = ", ".join(f"{s} {i.num_examples:,}" for s, i in builder.info.splits.items())
    print(f"world/{view}  ({sizes}; ready in {time.time() - start:.1f}s)")
    print("  " + show(sources.open_split(spec, "train")[0]) + "\n")

  start = time.time()
  spec = sources.DatasetSpec("world/text", data_dir)
  tok = corpus.load_tokenizer(corpus.TokenizerConfig(), spec)
  print(f"Tokenizer: {tok.vocab_size} pieces ({tok.where}, ready in {time.time() - start:.1f}s)")
  train = sources.open_split(spec, "train")
  validation = sources.open_split(spec, "validation")
  log_probs = unigram.fit((tok.encode(r["text"]) for r in train), tok.vocab_size, tok.eos_id)
  ppl = unigram.perplexity(log_probs, (tok.encode(r["text"]) for r in validation), tok.eos_id)
  print(f"Unigram perplexity of world/text validation: {ppl:.1f} (the baseline a language model must beat)")


if __name__ == "__main__":
  app.run(main)
