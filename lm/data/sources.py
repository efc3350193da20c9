"""Opening any dataset by name: `world/<view>`, `files/<schema>` or a catalog name.

`open_split` returns a random-access sequence of decoded records (plain `str`/`int`/lists), the
input of every grain pipeline. The dataset is prepared on first use and cached under `data_dir`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from absl import logging as absl_logging

from lm import distributed
from lm.data import builders, catalog, mixture, schemas, world


class _HideTfdsNotices(logging.Filter):
  """TFDS warns on every custom builder config (ours are all custom: per view, per file set) and on every dataset
  not yet prepared ("Variant folder ... has no dataset_info.json"): neither is news."""

  NOTICES = ("Using custom data configuration", "has no dataset_info.json")

  def filter(self, record: logging.LogRecord) -> bool:
    return not any(n in record.getMessage() for n in self.NOTICES)


logging.getLogger("absl").addFilter(_HideTfdsNotices())
tfds.disable_progress_bar()  # per-split bars for our small generated datasets only add noise


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What to read. `name` is `world/<view>`, `files/<schema>` or a key of `catalog.CATALOG`."""

  name: str
  data_dir: str
  files: Mapping[str, Sequence[str] | str] = dataclasses.field(default_factory=dict)  # split -> paths, for files/*
  world: world.WorldConfig = dataclasses.field(default_factory=world.WorldConfig)
  # A weighted mixture of datasets read instead of `name` (lm/data/mixture.py); `name` then only labels it.
  mixture: tuple[mixture.Component, ...] = ()


def _unknown(name: str) -> ValueError:
  return ValueError(
      f"Unknown dataset {name!r}: expected 'world/<view>' (views: {', '.join(world.VIEWS)}), "
      f"'files/<schema>' (schemas: {', '.join(schemas.SCHEMAS)}) or one of {sorted(catalog.CATALOG)}.")


def schema(spec: DatasetSpec) -> str:
  """The record schema of what `spec` reads: its dataset's, or its mixture's."""
  return mixture.schema(spec.mixture, schema_of) if spec.mixture else schema_of(spec.name)


def schema_of(name: str) -> str:
  """The record schema of dataset `name` (see lm/data/schemas.py)."""
  family, _, rest = name.partition("/")
  if family == "world" and rest not in world.VIEWS:
    raise ValueError(f"Unknown world view {rest!r}; expected one of {list(world.VIEWS)}.")
  if family == "files" and rest not in schemas.SCHEMAS:
    raise ValueError(f"Unknown schema {rest!r}; expected one of {sorted(schemas.SCHEMAS)}.")
  if family in ("world", "files"):
    return rest
  if name not in catalog.CATALOG:
    raise _unknown(name)
  return catalog.entry(name).schema


def builder(spec: DatasetSpec) -> tfds.core.DatasetBuilder:
  """The TFDS builder behind `spec` (not yet prepared)."""
  family, _, rest = spec.name.partition("/")
  if family == "world":
    return builders.world_builder(rest, spec.world, spec.data_dir)
  if family == "files":
    return builders.Files(config=builders.files_builder_config(rest, spec.files), data_dir=spec.data_dir)
  if spec.name in catalog.CATALOG:
    return catalog.catalog_builder(spec.name, spec.data_dir)
  raise _unknown(spec.name)


def prepare(spec: DatasetSpec) -> tfds.core.DatasetBuilder:
  """Builds the dataset if it is not cached yet; returns its builder.

  Under a lock in `data_dir`: the processes of a run, or the runs of a sweep, sharing the directory
  build each dataset once; the others wait and read it.
  """
  os.makedirs(spec.data_dir, exist_ok=True)
  b = builder(spec)
  if not b.is_prepared():
    with distributed.file_lock(os.path.join(spec.data_dir, ".prepare.lock")):
      b = builder(spec)  # another process may have prepared it while this one waited
      if not b.is_prepared():
        _download_and_prepare(b, spec)
  return b


def _download_and_prepare(b: tfds.core.DatasetBuilder, spec: DatasetSpec) -> None:
  """A generated dataset is prepared with one line of log; TFDS's "Downloading and preparing dataset Unknown
  size ..." (printed to stdout) is kept for catalog datasets only, which really download."""
  if spec.name in catalog.CATALOG:
    b.download_and_prepare(file_format="array_record")
    return
  start = time.perf_counter()
  absl_logging.info("Preparing %s in %s (once: later runs read it there)...", spec.name, b.data_dir)
  with contextlib.redirect_stdout(io.StringIO()):
    b.download_and_prepare(file_format="array_record")
  absl_logging.info("Prepared %s in %.1f s.", spec.name, time.perf_counter() - start)


class PreparedDataError(RuntimeError):
  """A prepared dataset's files are missing or unreadable (removed or damaged after preparation)."""


def check_prepared_files(b: tfds.core.DatasetBuilder, split: str) -> None:
  """Every file of `split` (a name, or a slice such as "train[90%:]") must still exist."""
  info = b.info.splits[split.split("[")[0]]
  missing = [str(p) for p in info.filepaths if not os.path.exists(str(p))]
  if missing:
    raise PreparedDataError(
        f"{missing[0]}: prepared data file missing ({len(missing)} of {len(info.filepaths)} files of split "
        f"{split!r}); was it removed after preparation? Delete {b.data_dir} and re-run to prepare the dataset again.")


class _Decoded(Sequence):
  """A data source whose records are decoded to plain Python and mapped into our schema."""

  def __init__(self, source: Sequence, entry: catalog.CatalogEntry | None, where: str):
    self._source, self._entry, self._where = source, entry, where

  def __len__(self) -> int:
    return len(self._source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    if not -len(self) <= index < len(self):
      raise IndexError(f"{self._where}: index {index} out of range ({len(self)} records).")
    try:
      record = self._source[index % len(self)]
    except (RuntimeError, OSError) as e:  # array_record reports a vanished or damaged file as a RuntimeError
      raise PreparedDataError(f"{self._where}: reading record {index} failed: {e}. The prepared files were changed "
                              "or removed after preparation; delete that dataset's directory under data_dir and "
                              "re-run to prepare it again.") from None
    if self._entry is not None:
      record = catalog.map_record(record, self._entry)
    return schemas.decode(record)

  def __iter__(self):
    for i in range(len(self)):
      yield self[i]

  def __repr__(self) -> str:
    return f"Decoded({self._where}, {len(self)} records)"


def open_split(spec: DatasetSpec, split: str) -> Sequence[dict[str, Any]]:
  """Random access to `split` of `spec` (train, validation or test), prepared on first use."""
  if split not in world.SPLITS:
    raise ValueError(f"Unknown split {split!r}; expected one of {list(world.SPLITS)}.")
  if spec.mixture:
    mixture.schema(spec.mixture, schema_of)  # refuse a mixture of schemas before reading anything
    parts = [open_split(dataclasses.replace(spec, name=c.name, mixture=()), split) for c in spec.mixture]
    return mixture.Mixture(parts, spec.mixture, seed=0, where=f"{spec.name}:{split}")
  entry = catalog.CATALOG.get(spec.name)
  b = prepare(spec)
  their_split = entry.splits[split] if entry else split
  if b.info.splits and their_split.split("[")[0] not in b.info.splits:
    raise ValueError(f"Dataset {spec.name!r} has no split {split!r} (it has {sorted(b.info.splits)}).")
  if b.info.splits:
    check_prepared_files(b, their_split)
  source = b.as_data_source(split=their_split)
  if len(source) == 0:
    raise ValueError(f"Dataset {spec.name!r}, split {split!r} is empty.")
  return _Decoded(source, entry, f"{spec.name}:{split}")


class Subset(Sequence):
  """Records `indices` of `source`, in that order (label budgets, evaluation caps)."""

  def __init__(self, source: Sequence, indices: Sequence[int]):
    self._source, self._indices = source, [int(i) for i in indices]

  def __len__(self) -> int:
    return len(self._indices)

  def __getitem__(self, index: int) -> dict[str, Any]:
    return self._source[self._indices[index]]

  def __repr__(self) -> str:
    return f"Subset({self._source!r}, {len(self)} records)"


def sample(source: Sequence, n: int, seed: int) -> Sequence:
  """`n` records of `source` drawn without replacement by `seed` (all of them if n is 0 or too big).

  Nested: with the same seed, the first 50 of a 200-record sample are the 50-record sample, so
  label budgets of one study grow by adding examples, never by swapping them.
  """
  if not n or n >= len(source):
    return source
  return Subset(source, np.random.default_rng(seed).permutation(len(source))[:n])


def head(source: Sequence, n: int) -> Sequence:
  """The first `n` records (all if n is 0): a fixed evaluation set."""
  return source if not n or n >= len(source) else Subset(source, range(n))


def where(source: Sequence, keep, what: str) -> Sequence:
  """The records of `source` for which `keep(record)` holds (all of them if `keep` is None); an error if none.

  `what` names the filter in that error (e.g. the config key that set it).
  """
  if keep is None:
    return source
  indices = [i for i, record in enumerate(source) if keep(record)]
  if not indices:
    raise ValueError(f"{what}: no record of {source!r} is left.")
  return Subset(source, indices)
