"""From an experiment's `ml_collections.ConfigDict` to the library's frozen dataclasses.

Each config section maps onto one dataclass (`model` -> ModelConfig, `optimizer` ->
OptimizerConfig, ...). A key the dataclass does not know is a typo until proven otherwise, so it is
an error naming the key and listing the valid ones, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from collections.abc import Mapping
from typing import Any, TypeVar

from lm import distributed

T = TypeVar("T")


class ConfigError(ValueError):
  """A config key or value is wrong; the message names it."""


def section(cls: type[T], values: Mapping[str, Any] | None, name: str, *, none_if_zero: tuple[str, ...] = (),
            **overrides) -> T:
  """`cls(**values, **overrides)`, with unknown keys reported as `name.key` and a suggestion."""
  values = dict(values or {})
  known = {f.name for f in dataclasses.fields(cls)}
  for key in values:
    if key not in known:
      close = difflib.get_close_matches(key, known, n=1)
      hint = f" Did you mean {name}.{close[0]}?" if close else ""
      raise ConfigError(f"Unknown config key {name}.{key}.{hint} Valid keys: {', '.join(sorted(known))}.")
  for key in none_if_zero:
    if values.get(key) == 0:
      values[key] = None
  values.update(overrides)
  for key, value in values.items():
    if isinstance(value, list):
      values[key] = tuple(value)
  try:
    return cls(**values)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"Invalid {name} config: {e}") from None


def names(text: str) -> list[str]:
  """A comma-separated config value as a list: "a, b,," -> ["a", "b"]."""
  return [n.strip() for n in text.split(",") if n.strip()]


def to_dict(config) -> dict:
  return json.loads(config.to_json_best_effort()) if hasattr(config, "to_json_best_effort") else dict(config)


def write_json(path: str, payload: dict) -> None:
  """Writes `payload` to `path` atomically: a crash never leaves half a file."""
  write_bytes(path, json.dumps(payload, indent=2, sort_keys=True).encode("utf-8"))


def write_text(path: str, text: str) -> None:
  write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, payload: bytes) -> None:
  """Writes `payload` to `path` atomically (a temporary file renamed over it).

  Run files are written by process 0 alone (`lm.distributed.is_lead`): in a multi-process run the
  others return without writing, so no two processes ever write (or race on the temporary of) one file.
  """
  if not distributed.is_lead():
    return
  with open(path + ".tmp", "wb") as f:
    f.write(payload)
    f.flush()
    os.fsync(f.fileno())
  os.replace(path + ".tmp", path)


def load_json(path: str) -> dict:
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def prepare_workdir(workdir: str, config=None) -> None:
  """Creates `workdir`, checks it is writable, and writes `config.json` if `config` is given.

  Training runs pass no config: `lm.training.rundir` writes theirs once the checkpoint to resume from
  is known to fit, so a refused resume leaves the directory untouched.
  """
  try:
    os.makedirs(workdir, exist_ok=True)
    if not os.access(workdir, os.W_OK):
      raise PermissionError(13, "Permission denied")
    if config is not None:
      write_json(os.path.join(workdir, "config.json"), to_dict(config))
  except OSError as e:
    raise ConfigError(f"Cannot write to --workdir={workdir}: {e.strerror}. Choose a writable directory.") from None


def load_run_config(workdir: str) -> dict:
  """The resolved config a run wrote to `workdir/config.json`."""
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: not found; is {workdir} the --workdir of a training run?")
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def load_config(spec: str):
  """`get_config(arg)` of a config file given as `path.py[:arg]` (as on the command line)."""
  import importlib.util  # pylint: disable=g-import-not-at-top

  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    raise ConfigError(f"{path}: no such config file.")
  module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()
