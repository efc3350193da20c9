"""`make demo`: the main job on the built-in world, on a fresh machine, in a few minutes on 2 CPU cores.

  python -m experiments.demo --data_dir=data --workdir=runs/demo

1. prepares every view of the world (cached after the first run) and shows one example of each;
2. trains the tokenizer and computes the unigram perplexity of world/text validation;
3. pretrains the `tiny` causal LM (configs/pretrain/clm.py:tiny), resuming if interrupted;
4. prints validation perplexity next to the unigram baseline, and samples from the model.
"""

from __future__ import annotations

import json
import os
import time

import jax
from absl import app, flags

from experiments import cli
from lm import settings
from lm.data import corpus, sources, world
from lm.evaluation import unigram
from lm.sampling import decode
from lm.training import pretrain, runs, writers

_DATA_DIR = flags.DEFINE_string("data_dir", "data", "Dataset and tokenizer cache.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/demo", "Run directory of the demo's pretraining.")
_STEPS = flags.DEFINE_integer("steps", None, "Override the tiny preset's number of steps.")

PROMPTS = ("Review: the", "People who work for", "Kira: Hello")


def shorten(record: dict, limit: int = 240) -> str:
  text = json.dumps(record, ensure_ascii=False)
  return text if len(text) <= limit else text[:limit] + " ..."


def prepare_world(data_dir: str) -> None:
  print(f"== The built-in world (cached under {data_dir})")
  for view in world.VIEWS:
    start = time.time()
    spec = sources.DatasetSpec(f"world/{view}", data_dir)
    builder = sources.prepare(spec)
    sizes = " / ".join(f"{i.num_examples:,}" for i in builder.info.splits.values())
    print(f"world/{view:<15} train/val/test {sizes:<26} {time.time() - start:5.1f}s   "
          f"{shorten(sources.open_split(spec, 'train')[0], 160)}")


def main(argv):
  del argv
  cli.quiet_library_logs()
  data_dir = _DATA_DIR.value
  with cli.reported():
    prepare_world(data_dir)
    config = settings.load_config(os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs/pretrain/clm.py:tiny"))
    config.data.data_dir = data_dir
    if _STEPS.value:
      config.train.steps = _STEPS.value
    spec = pretrain.data_spec(config.data)
    start = time.time()
    tok = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
    baseline = unigram.baseline(tok, (r["text"] for r in sources.open_split(spec, "train")),
                                (r["text"] for r in sources.open_split(spec, "validation")))
    print(f"\n== Tokenizer: {tok.vocab_size} pieces ({time.time() - start:.1f}s); "
          f"unigram perplexity of world/text validation: {baseline:.1f}")

    print(f"\n== Pretraining the tiny causal LM for {config.train.steps} steps in {_WORKDIR.value}")
    start = time.time()
    result = pretrain.run(config, _WORKDIR.value)
    if result.preempted:
      raise SystemExit(143)
    if not result.last_eval:  # the run in the work dir had finished: nothing trained, its last evaluation stands
      print(f"   (already trained: {_WORKDIR.value} holds a finished run; delete it to train again)")
    ppl = (result.last_eval or writers.last_eval(_WORKDIR.value))["perplexity"]
    print(f"   {time.time() - start:.0f}s; validation perplexity {ppl:.1f} vs unigram {baseline:.1f} "
          f"({ppl / baseline:.1%} of the baseline)")

    run = runs.load(_WORKDIR.value)
    texts = decode.sample_texts(run.model, run.params, tok, PROMPTS,
                                decode.SamplingConfig(max_new_tokens=48, temperature=0.7, top_k=40), jax.random.key(0))
  print("\n== Samples (temperature 0.7, top-k 40)")
  for prompt, text in zip(PROMPTS, texts):
    print(f"-> {prompt}{text}")


if __name__ == "__main__":
  app.run(main)
