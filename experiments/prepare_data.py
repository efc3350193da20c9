"""Prepares a dataset and prints examples as JSON lines.

  python -m experiments.prepare_data --dataset=world/text --data_dir=DIR --show=3
  python -m experiments.prepare_data --dataset=files/instructions \
      --files=train=my_train.jsonl,validation=my_val.jsonl --data_dir=DIR --show=2
  python -m experiments.prepare_data --dataset=imdb_reviews --data_dir=DIR   # downloads

Datasets: `world/<view>`, `files/<schema>` (with --files) or a mapped catalog name
(lm/data/catalog.py). Examples go to stdout (one JSON object per line), sizes to the log.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

from absl import app, flags, logging

from experiments import cli
from lm.data import sources, world

_DATASET = flags.DEFINE_string("dataset", "world/text", "world/<view>, files/<schema> or a catalog name.")
_DATA_DIR = flags.DEFINE_string("data_dir", "data", "Where prepared datasets and tokenizers are cached.")
_SHOW = flags.DEFINE_integer("show", 3, "Examples to print as JSON lines.")
_SPLIT = flags.DEFINE_enum("split", "train", list(world.SPLITS), "Split to print examples from.")
_FILES = flags.DEFINE_list("files", [], "For files/<schema>: split=path pairs, e.g. train=a.jsonl,validation=b.jsonl.")
_WORLD_SEED = flags.DEFINE_integer("world_seed", 0, "Seed of the built-in world.")
_WORLD_SCALE = flags.DEFINE_float("world_scale", 1.0, "Multiplies every default world split size.")


def parse_files(pairs: list[str]) -> dict[str, list[str]]:
  files: dict[str, list[str]] = {}
  for pair in pairs:
    split, sep, path = pair.partition("=")
    if not sep or split not in world.SPLITS:
      raise app.UsageError(f"--files entries look like train=path.jsonl (splits: {', '.join(world.SPLITS)}), got {pair!r}.")
    files.setdefault(split, []).append(path)
  return files


def main(argv):
  del argv
  spec = sources.DatasetSpec(name=_DATASET.value, data_dir=_DATA_DIR.value, files=parse_files(_FILES.value),
                             world=world.WorldConfig(seed=_WORLD_SEED.value, scale=_WORLD_SCALE.value))
  start = time.time()
  cli.quiet_library_logs()
  with cli.reported(), contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
    builder = sources.prepare(spec)
    records = sources.open_split(spec, _SPLIT.value)
  sizes = {name: info.num_examples for name, info in builder.info.splits.items()}
  logging.info("%s ready in %.1fs at %s: %s", spec.name, time.time() - start, builder.data_dir, sizes)
  for i in range(min(_SHOW.value, len(records))):
    print(json.dumps(records[i], ensure_ascii=False))


if __name__ == "__main__":
  app.run(main)
