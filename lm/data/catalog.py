"""TFDS catalog datasets mapped into the record schemas.

Each entry says which TFDS dataset stands behind a name, which schema it feeds, how its fields map
onto the schema's (`ours <- theirs`) and which of its splits plays train/validation/test. Real
data is then a config change: `--config.data.dataset=imdb_reviews` instead of `world/sentiment`.
These datasets download on first use (never in tests: those use `tfds.testing.mock_data`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import tensorflow_datasets as tfds


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
  tfds_name: str                 # name/config in the TFDS catalog
  schema: str                    # key of lm.data.schemas.SCHEMAS
  fields: Mapping[str, str]      # our field -> the catalog dataset's field
  splits: Mapping[str, str]      # our split -> the catalog dataset's split, or a slice of one ("train[90%:]")


# Validation and test never share records: model selection on test data would bias every result.
# Where a dataset has no split of its own for one of them, it is carved out (TFDS split slicing,
# deterministic, the same on every machine):
# - lm1b and imdb_reviews have only train and test: validation is the last 1% (lm1b) or 10% (imdb) of train.
# - glue/sst2 hides its test labels (-1): its validation split is our test, and validation is the last 5% of train.
# - c4 has only train and validation: its validation split is halved into our validation and test.
CATALOG: dict[str, CatalogEntry] = {
    "lm1b": CatalogEntry("lm1b", "text", {"text": "text"},
                         {"train": "train[:99%]", "validation": "train[99%:]", "test": "test"}),
    "c4": CatalogEntry("c4/en", "text", {"text": "text"},
                       {"train": "train", "validation": "validation[:50%]", "test": "validation[50%:]"}),
    "imdb_reviews": CatalogEntry("imdb_reviews/plain_text", "sentiment", {"text": "text", "label": "label"},
                                 {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}),
    "glue/sst2": CatalogEntry("glue/sst2", "sentiment", {"text": "sentence", "label": "label"},
                              {"train": "train[:95%]", "validation": "train[95%:]", "test": "validation"}),
    "conll2003": CatalogEntry("conll2003", "ner", {"tokens": "tokens", "ner_tags": "ner"},
                              {"train": "train", "validation": "dev", "test": "test"}),
    "wmt14_translate/de-en": CatalogEntry("wmt14_translate/de-en", "translation", {"en": "en", "de": "de"},
                                          {"train": "train", "validation": "validation", "test": "test"}),
}


def register_catalog_builders() -> None:
  """Imports the TFDS modules that define the catalog builders above.

  `import tensorflow_datasets` registers only part of the catalog lazily; glue, c4, conll2003 and
  wmt live in modules that must be imported before `tfds.builder(name)` can find them.
  """
  import tensorflow_datasets.text  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  import tensorflow_datasets.translate  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import


def entry(name: str) -> CatalogEntry:
  if name not in CATALOG:
    raise ValueError(f"Unknown catalog dataset {name!r}; mapped ones are {sorted(CATALOG)}.")
  return CATALOG[name]


def map_record(record: Mapping, entry_: CatalogEntry) -> dict:
  """Renames a catalog record's fields into our schema (fields we do not use are dropped)."""
  try:
    return {ours: record[theirs] for ours, theirs in entry_.fields.items()}
  except KeyError as e:
    raise KeyError(f"{entry_.tfds_name}: record has no field {e.args[0]!r} (fields: {sorted(record)}).") from None


def catalog_builder(name: str, data_dir: str) -> tfds.core.DatasetBuilder:
  register_catalog_builders()
  return tfds.builder(entry(name).tfds_name, data_dir=data_dir)
