"""TFDS builders written as `array_record`: the built-in world and a user's own files.

Both are ordinary `tfds.core.GeneratorBasedBuilder`s, so their data is read with
`builder.as_data_source(split)` (random access, no TensorFlow) like any catalog dataset.
Preparation happens in a temporary `incomplete.*` directory that TFDS renames only on success,
so a failed preparation (a malformed line, an empty split) leaves nothing half-written behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping, Sequence

import tensorflow_datasets as tfds

from lm.data import formats, schemas, world

# Bump when generated content changes, so caches of an older world are not read as the new one.
_VERSION = tfds.core.Version("1.1.0")
_RELEASE_NOTES = {
    "1.0.0": "First release.",
    "1.1.0": "sentence_pairs: segments of 1-3 sentences (as BERT's NSP); graduation years never after 2024.",
}


@dataclasses.dataclass(eq=False)
class WorldBuilderConfig(tfds.core.BuilderConfig):
  """One view of the world, generated with `world_config`."""

  view: str = "text"
  world_config: world.WorldConfig = dataclasses.field(default_factory=world.WorldConfig)


# Knobs added after the first cached worlds: left out of the digest at their default, so caches prepared before a
# knob existed keep their names.
_LATER_KNOBS = {name: getattr(world.WorldConfig(), name)
                for name in ("quiz_pages", "quiz_style", "fiction", "recaps", "roll_calls")}


def _settings(world_config: world.WorldConfig) -> str:
  """The config's repr without later knobs at their defaults."""
  fields = [(f.name, getattr(world_config, f.name)) for f in dataclasses.fields(world_config)]
  kept = [f"{name}={value!r}" for name, value in fields
          if name not in _LATER_KNOBS or value != _LATER_KNOBS[name]]
  return f"{type(world_config).__qualname__}({', '.join(kept)})"


def world_builder_config(view: str, world_config: world.WorldConfig | None = None) -> WorldBuilderConfig:
  """The builder config of `view`; non-default world settings get their own cache directory."""
  if view not in world.VIEWS:
    raise ValueError(f"Unknown world view {view!r}; expected one of {list(world.VIEWS)}.")
  world_config = world_config or world.WorldConfig()
  name = view
  if world_config != world.WorldConfig():
    # Readable for the common knobs, a digest for the rest, so two settings never share a cache.
    digest = hashlib.sha1(_settings(world_config).encode()).hexdigest()[:8]
    name = f"{view}-seed{world_config.seed}-scale{world_config.scale:g}-{digest}"
  return WorldBuilderConfig(name=name, version=_VERSION, view=view, world_config=world_config,
                            description=f"world/{view}")


class World(tfds.core.GeneratorBasedBuilder):
  """The built-in synthetic world (`lm.data.world`), one builder config per view."""

  VERSION = _VERSION
  RELEASE_NOTES = _RELEASE_NOTES
  BUILDER_CONFIGS = [world_builder_config(v) for v in world.VIEWS]

  def _info(self) -> tfds.core.DatasetInfo:
    view = self.builder_config.view
    return tfds.core.DatasetInfo(
        builder=self,
        description=f"The built-in world, view {view!r} (schema {view!r}, see lm/data/schemas.py).",
        features=schemas.features(view),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Everything is generated; nothing is downloaded.
    return {split: self._generate_examples(split) for split in world.SPLITS}

  def _generate_examples(self, split: str):
    for i, record in enumerate(world.generate(self.builder_config.view, split, self.builder_config.world_config)):
      yield i, record


def world_builder(view: str, world_config: world.WorldConfig | None, data_dir: str) -> World:
  config = world_builder_config(view, world_config)
  # TFDS wants the registered configs by name; only non-default settings pass a config object.
  registered = {c.name for c in World.BUILDER_CONFIGS}
  return World(config=config.name if config.name in registered else config, data_dir=data_dir)


@dataclasses.dataclass(eq=False)
class FilesBuilderConfig(tfds.core.BuilderConfig):
  """A user's files, by split, read as `schema`."""

  schema: str = "text"
  files: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)


def files_builder_config(schema: str, files: Mapping[str, Sequence[str] | str]) -> FilesBuilderConfig:
  """A config naming the files' schema and a digest of their contents (the cache key)."""
  if schema not in schemas.SCHEMAS:
    raise ValueError(f"Unknown schema {schema!r}; expected one of {sorted(schemas.SCHEMAS)}.")
  if not files:
    raise ValueError("No files given: pass a mapping of split -> path(s), e.g. {'train': 'train.jsonl'}.")
  files = {split: [paths] if isinstance(paths, str) else list(paths) for split, paths in files.items()}
  digest = hashlib.sha256(schema.encode())
  for split in sorted(files):
    digest.update(split.encode())
    for path in files[split]:
      if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (split {split!r}).")
      with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
          digest.update(block)
  return FilesBuilderConfig(name=f"{schema}-{digest.hexdigest()[:12]}", version=_VERSION, schema=schema, files=files,
                            description=f"{schema} records from {dict(files)}")


class Files(tfds.core.GeneratorBasedBuilder):
  """A user's `.txt` / `.jsonl` files (see `lm.data.formats`), cached by content digest."""

  VERSION = _VERSION

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    other = "zx"
    if config.schema == "translation":
      other = formats.other_language([p for paths in config.files.values() for p in paths])
    return tfds.core.DatasetInfo(builder=self, description=config.description,
                                 features=schemas.features(config.schema, other_language=other))

  def _split_generators(self, dl_manager):
    del dl_manager
    config = self.builder_config
    for split, paths in config.files.items():
      # Read everything once before TFDS starts writing: an empty split or a bad line fails
      # here, with the file and line in the message, and nothing is written.
      if not any(True for _ in formats.read_records(paths, config.schema)):
        raise formats.FormatError(f"{', '.join(paths)}: split {split!r} has no records.")
    return {split: self._generate_examples(paths) for split, paths in config.files.items()}

  def _generate_examples(self, paths: Sequence[str]):
    for i, record in enumerate(formats.read_records(paths, self.builder_config.schema)):
      yield i, record
