"""Weighted mixtures of datasets (`data.mixture`), e.g. English documents and Zx sentences for one pretraining run.

    data.mixture = "world/text=3, world/translation:zx=1"

Each component is `NAME[:FIELD]=WEIGHT`. `NAME` is any dataset `open_split` reads; `:FIELD` reads that string field
of each record as a document (`{"text": ...}`), so one side of a parallel corpus or the reviews of a labelled set
can join a text mixture. Without fields, every component must have the same schema.

A split of the mixture is a random-access sequence as long as its components together. Component k supplies a share
weight_k / sum(weights) of its records, drawn from a seeded permutation of its own records that wraps around when it
is up-weighted past its size (so a small dataset repeats in a new order rather than its first records twice). Which
position holds which component is a seeded permutation too, so the mixture is the same on every process and a
resumed pipeline finds the records it left. The pipeline then shuffles and packs it like any dataset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from lm import settings


@dataclasses.dataclass(frozen=True)
class Component:
  name: str        # a dataset name: world/<view>, files/<schema> or a catalog name
  field: str = ""  # read this string field as {"text": ...}; empty: the records as they are
  weight: float = 1.0


def parse(text: str) -> tuple[Component, ...]:
  """"world/text=3, world/translation:zx=1" -> components; an error names the bad item of `data.mixture`."""
  components = []
  for item in settings.names(text):
    name_field, sep, weight = item.rpartition("=")
    name, _, field = name_field.partition(":")
    try:
      value = float(weight) if sep else float("nan")
    except ValueError:
      value = float("nan")
    if not name or not value > 0:
      raise settings.ConfigError(f"data.mixture: {item!r} is not NAME[:FIELD]=WEIGHT with a positive weight "
                                 "(e.g. 'world/text=3, world/translation:zx=1').")
    components.append(Component(name.strip(), field.strip(), value))
  if not components:
    raise settings.ConfigError("data.mixture is empty; leave it unset to read data.dataset alone.")
  return tuple(components)


def schema(components: Sequence[Component], schema_of) -> str:
  """The mixture's record schema: "text" when components read a field; else the one schema they all share."""
  schemas = {"text" if c.field else schema_of(c.name) for c in components}
  if len(schemas) > 1:
    described = ", ".join(f"{c.name} ({'text' if c.field else schema_of(c.name)})" for c in components)
    raise settings.ConfigError(f"data.mixture: components of different schemas ({described}); give each a :FIELD "
                               "to mix them as text, or mix datasets of one schema.")
  return schemas.pop()


class Mixture(Sequence):
  """Random access to a seeded weighted interleaving of `sources` (see the module docstring)."""

  def __init__(self, sources: Sequence[Sequence[dict]], components: Sequence[Component], seed: int, where: str):
    self._sources, self._components, self._where = list(sources), list(components), where
    sizes = np.array([len(s) for s in sources])
    total = int(sizes.sum())
    weights = np.array([c.weight for c in components], np.float64)
    counts = np.floor(weights / weights.sum() * total).astype(np.int64)
    counts[np.argsort(-(weights / weights.sum() * total - counts))[:total - counts.sum()]] += 1  # largest remainders
    rng = np.random.default_rng(seed)
    self._component = rng.permutation(np.repeat(np.arange(len(sources)), counts))
    self._rank = np.zeros(total, np.int64)  # position -> how many of its component's records came before it
    for k in range(len(sources)):
      self._rank[self._component == k] = np.arange(counts[k])
    self._order = [rng.permutation(n) for n in sizes]
    self.counts = {c.name + (f":{c.field}" if c.field else ""): int(n) for c, n in zip(components, counts)}

  def __len__(self) -> int:
    return len(self._component)

  def __getitem__(self, index: int) -> dict[str, Any]:
    if not -len(self) <= index < len(self):
      raise IndexError(f"{self._where}: index {index} out of range ({len(self)} records).")
    k = int(self._component[index])
    order = self._order[k]
    record = self._sources[k][int(order[self._rank[index] % len(order)])]
    field = self._components[k].field
    if not field:
      return record
    if not isinstance(record.get(field), str):
      raise settings.ConfigError(f"data.mixture: {self._components[k].name} has no string field {field!r} "
                                 f"(its fields: {', '.join(sorted(record))}).")
    return {"text": record[field]}

  def __iter__(self):
    for i in range(len(self)):
      yield self[i]

  def __repr__(self) -> str:
    return f"Mixture({self._where}: {self.counts})"
