"""The points of a sweep: override dicts (dotted keys, as `--config.a.b=v` takes them) and their names.

A config module may define `get_sweep(preset) -> list[dict]` beside `get_config(preset)`; the command
line may add a grid (`--grid=optimizer.learning_rate=1e-3,3e-3 --grid=seed=0,1`, the product). Both
together give every config point combined with every grid point; a key both set is swept by the grid.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from lm import settings

# Each stage's entry point, and the stage of a config by the directory its file lives in (configs/<dir>/<file>.py).
STAGE_MODULES = {"pretrain": "experiments.pretrain", "finetune": "experiments.finetune",
                 "reward": "experiments.train_reward", "rlhf": "experiments.rlhf", "evaluate": "experiments.evaluate",
                 "pipeline": "experiments.pipeline"}
STAGE_OF_DIR = {"pretrain": "pretrain", "finetune": "finetune", "rlhf": "rlhf", "eval": "evaluate",
                "pipeline": "pipeline"}
REWARD_CONFIGS = ("reward.py",)  # configs/rlhf/reward.py trains a reward model


@dataclasses.dataclass(frozen=True)
class Point:
  name: str                    # the run's directory under the sweep's, readable: "learning_rate=0.001,seed=1"
  overrides: dict[str, str]    # dotted config key -> value as given on the command line

  def flags(self) -> list[str]:
    return [f"--config.{k}={v}" for k, v in self.overrides.items()]


def stage_of(config_spec: str) -> str:
  """The entry-point module for a config file `path.py[:preset]`."""
  path = config_spec.partition(":")[0]
  folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
  if folder == "rlhf" and os.path.basename(path) in REWARD_CONFIGS:
    return STAGE_MODULES["reward"]
  if folder not in STAGE_OF_DIR:
    raise settings.ConfigError(f"{path}: cannot tell the stage of a config outside "
                               f"configs/{{{','.join(STAGE_OF_DIR)}}}/; pass --stage={'|'.join(STAGE_MODULES)}.")
  return STAGE_MODULES[STAGE_OF_DIR[folder]]


def parse_grid(entries: Sequence[str]) -> list[dict[str, str]]:
  """`["a.b=1,2", "seed=0,1"]` -> the product, as override dicts (in the order given)."""
  axes = []
  for entry in entries:
    key, sep, values = entry.partition("=")
    if not sep or not key or not values:
      raise settings.ConfigError(f"--grid={entry}: expected key=value1,value2,... (e.g. optimizer.learning_rate=1e-3,3e-3).")
    key = key.removeprefix("config.")
    axes.append([(key, v.strip()) for v in values.split(",") if v.strip()])
  if len({k for axis in axes for k, _ in axis[:1]}) != len(axes):
    raise settings.ConfigError(f"--grid names a key twice: {[axis[0][0] for axis in axes]}.")
  return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def config_sweep(config_spec: str) -> list[dict[str, str]]:
  """The config module's `get_sweep(preset)` points, or one empty point if it has none."""
  path, _, preset = config_spec.partition(":")
  if not os.path.isfile(path):
    raise settings.ConfigError(f"{path}: no such config file.")
  spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_sweep"):
    return [{}]
  points = module.get_sweep(preset) if preset else module.get_sweep()
  if not isinstance(points, list) or not all(isinstance(p, Mapping) for p in points):
    raise settings.ConfigError(f"{path}: get_sweep() must return a list of dicts of dotted keys, got {points!r:.200}.")
  return [{k: _text(v) for k, v in p.items()} for p in points]


def _text(value: Any) -> str:
  if isinstance(value, (list, tuple)):
    return ",".join(map(str, value))
  return str(value)


def check_keys(points: Sequence[Mapping[str, str]], config) -> None:
  """Every overridden key must exist in the config: a typo fails before anything is submitted."""
  for point in points:
    for key in point:
      node = config
      for depth, part in enumerate(key.split(".")):
        keys = list(node.keys()) if hasattr(node, "keys") else []
        if part not in keys:
          parent = ".".join(key.split(".")[:depth]) or "the config"
          raise settings.ConfigError(f"Sweep key {key}: {parent} has no key {part!r}. Valid keys: "
                                     f"{', '.join(sorted(keys))}.")
        node = node[part]


def points(config_spec: str, grid: Sequence[str]) -> list[Point]:
  """The sweep: the config's points times the grid's, each named by its overrides.

  A key the grid sweeps is the grid's alone: the config's points lose it (duplicates merge), so
  `--grid=seed=0,1,2` on a learning-rate x seed sweep gives learning rates x 3 seeds.
  """
  grid_points = parse_grid(grid)
  grid_keys = {k for p in grid_points for k in p}
  base = []
  for p in config_sweep(config_spec):
    kept = {k: v for k, v in p.items() if k not in grid_keys}
    if kept not in base:
      base.append(kept)
  combined = [{**a, **b} for a in base for b in grid_points]
  check_keys(combined, settings.load_config(config_spec))
  names = [name_of(p, combined) for p in combined]
  if len(set(names)) != len(names):
    raise settings.ConfigError(f"The sweep has repeated points: {sorted(n for n in names if names.count(n) > 1)}.")
  return [Point(n, p) for n, p in zip(names, combined)]


def name_of(point: Mapping[str, str], everything: Sequence[Mapping[str, str]]) -> str:
  """`learning_rate=0.001,seed=1`: the keys whose value varies across the sweep, each by its last part unless two
  of them share it; "default" if none varies."""
  keys = sorted(k for k in {k for p in everything for k in p} if len({p.get(k) for p in everything}) > 1)
  lasts = [k.rsplit(".", 1)[-1] for k in keys]
  short = {k: (last if lasts.count(last) == 1 else k) for k, last in zip(keys, lasts)}
  text = ",".join(f"{short[k]}={point[k]}" for k in keys if k in point) or "default"
  return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", text)
