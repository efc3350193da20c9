"""Text for tokenizer training, and the tokenizer a config asks for.

One tokenizer serves a whole pipeline (pretraining -> fine-tuning -> RLHF must share ids), so by
default it is trained on a mix of the world's views: documents, both sides of the translation
pairs (so the generated language gets its own pieces) and instructions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from lm.data import sources, tokenizer as tokenizer_lib


def record_texts(record: dict) -> list[str]:
  """Every piece of text in a record of any schema (labels and ids are skipped)."""
  texts = []
  for key, value in sorted(record.items()):
    if isinstance(value, str):
      texts.append(value)
    elif key in ("tokens", "choices") and isinstance(value, list):
      texts.append(" ".join(value))
  return texts


def sample_texts(specs: Sequence[sources.DatasetSpec], per_dataset: int, seed: int) -> Iterator[str]:
  """Up to `per_dataset` seeded-random train records of each dataset, as text."""
  for i, spec in enumerate(specs):
    source = sources.open_split(spec, "train")
    rng = np.random.default_rng([seed, i])
    indices = rng.permutation(len(source))[:per_dataset]
    for index in sorted(indices.tolist()):  # sorted: sequential reads are faster
      yield from record_texts(source[index])


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
  model_file: str = ""                                   # a user's SentencePiece .model; empty = train one
  datasets: tuple[str, ...] = ("world/text", "world/translation", "world/instructions")  # trained on these
  sample_per_dataset: int = 20_000                       # records sampled from each dataset's train split
  vocab_size: int = 4096
  num_sentinels: int = 64                                # T5 span-corruption sentinels <extra_id_i>
  model_type: str = "unigram"                            # or "bpe"
  seed: int = 0


def load_tokenizer(config: TokenizerConfig, data_spec: sources.DatasetSpec) -> tokenizer_lib.Tokenizer:
  """The user's model file, or one trained on `config.datasets` and cached under the data dir."""
  if config.model_file:
    return tokenizer_lib.Tokenizer.from_file(config.model_file)
  specs = [dataclasses.replace(data_spec, name=name, mixture=()) for name in config.datasets]
  # The builder config names encode the world settings or the files' content digest.
  key = {"datasets": [f"{s.name}:{getattr(sources.builder(s).builder_config, 'name', '')}" for s in specs],
         "sample": config.sample_per_dataset, "seed": config.seed}
  return tokenizer_lib.cached(
      key, lambda: sample_texts(specs, config.sample_per_dataset, config.seed), data_spec.data_dir,
      vocab_size=config.vocab_size, num_sentinels=config.num_sentinels, model_type=config.model_type)
