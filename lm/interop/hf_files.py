"""A Hugging Face checkpoint directory on disk: `config.json`, safetensors weights (one file or sharded), read
lazily and checked; and writing one that `transformers.AutoModel*.from_pretrained` loads.

Tensors are read with `safetensors` into JAX arrays (its "flax" framework: bfloat16 included, which numpy lacks),
never with torch. Every problem is reported as `CheckpointError` naming the directory and the file or tensor.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import jax
import numpy as np
import safetensors
import safetensors.flax

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"


class CheckpointError(ValueError):
  """A checkpoint directory that cannot be read or written as asked (the message names what and where)."""


def read_config(directory: str) -> dict:
  path = os.path.join(directory, CONFIG)
  if not os.path.isdir(directory):
    raise CheckpointError(f"{directory}: no such directory (expected a Hugging Face checkpoint saved by "
                          "save_pretrained: config.json + *.safetensors + tokenizer files).")
  if not os.path.isfile(path):
    raise CheckpointError(f"{path}: missing; a Hugging Face checkpoint directory has its config.json.")
  try:
    with open(path, encoding="utf-8") as f:
      config = json.load(f)
  except json.JSONDecodeError as e:
    raise CheckpointError(f"{path}: not valid JSON (line {e.lineno}: {e.msg}).") from None
  if not isinstance(config, dict):
    raise CheckpointError(f"{path}: expected a JSON object.")
  return config


class Tensors(Mapping):
  """The checkpoint's tensors by name, each read from its file when asked for: `shape(name)` reads no data."""

  def __init__(self, directory: str):
    self.directory = directory
    single, index = os.path.join(directory, WEIGHTS), os.path.join(directory, INDEX)
    if os.path.isfile(index):
      try:
        with open(index, encoding="utf-8") as f:
          weight_map = json.load(f)["weight_map"]
      except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{index}: not a safetensors index (expected {{\"weight_map\": {{name: file}}}}; {e}).")
      for name, file in sorted(weight_map.items()):
        if not os.path.isfile(os.path.join(directory, file)):
          raise CheckpointError(f"{index}: tensor {name!r} is in {file}, which is not in {directory}.")
      self._files = {name: os.path.join(directory, file) for name, file in weight_map.items()}
    elif os.path.isfile(single):
      self._files = dict.fromkeys(self._keys(single), single)
    else:
      bins = [f for f in os.listdir(directory) if f.endswith((".bin", ".pt", ".pth", ".h5", ".msgpack"))]
      hint = (f" It has {', '.join(sorted(bins))}: re-save it with save_pretrained(..., safe_serialization=True)."
              if bins else "")
      raise CheckpointError(f"{directory}: no {WEIGHTS} or {INDEX}.{hint}")
    self._shapes: dict[str, tuple[int, ...]] = {}

  @staticmethod
  def _keys(path: str) -> list[str]:
    try:
      with safetensors.safe_open(path, "flax") as f:
        return list(f.keys())
    except Exception as e:  # safetensors raises its own error types for damaged headers
      raise CheckpointError(f"{path}: not a readable safetensors file ({e}).") from None

  def __getitem__(self, name: str) -> jax.Array:
    if name not in self._files:
      raise KeyError(name)
    path = self._files[name]
    try:
      with safetensors.safe_open(path, "flax") as f:
        return f.get_tensor(name)
    except Exception as e:
      raise CheckpointError(f"{path}: cannot read tensor {name!r} ({e}).") from None

  def shape(self, name: str) -> tuple[int, ...]:
    if name not in self._shapes:
      path = self._files[name]
      try:
        with safetensors.safe_open(path, "flax") as f:
          self._shapes[name] = tuple(f.get_slice(name).get_shape())
      except Exception as e:
        raise CheckpointError(f"{path}: cannot read tensor {name!r} ({e}).") from None
    return self._shapes[name]

  def __iter__(self):
    return iter(self._files)

  def __len__(self) -> int:
    return len(self._files)


def write(directory: str, config: dict, tensors: Mapping[str, jax.Array | np.ndarray]) -> None:
  """Writes `config.json` and `model.safetensors` (one file) into `directory`, each via a temporary file."""
  os.makedirs(directory, exist_ok=True)
  weights = os.path.join(directory, WEIGHTS)
  safetensors.flax.save_file({k: jax.numpy.asarray(v) for k, v in tensors.items()}, weights + ".tmp",
                             metadata={"format": "pt"})  # transformers checks the format tag
  os.replace(weights + ".tmp", weights)
  path = os.path.join(directory, CONFIG)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2, sort_keys=True)
  os.replace(path + ".tmp", path)
