"""The data iterator's place in a checkpoint, restorable on another number of processes.

Each process writes its iterator's state as `process_<i>-of-<n>.json` in the checkpoint's `data`
item (the layout of grain's own orbax handler). A pipeline's state holds one position per record
shard (`lm.data.pipeline.ShardRows`), so a run resumed on m processes instead of n gathers the
positions of its shards from all n files: with `data.shards` a multiple of both, the data continues
exactly where it stopped. An on-policy source (RL) holds the same state on every process: any file restores it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp
from etils import epath

_FILE = re.compile(r"process_(\d+)-of-(\d+)\.json")


class Handler(grain.checkpoint.CheckpointHandler):
  """grain's handler, with a restore that falls back to merging every process's shard positions."""

  def restore(self, directory: epath.Path, item: Any = None, args: Any = None) -> Any:
    count = jax.process_count()
    if (directory / f"process_{jax.process_index()}-of-{count}.json").exists():
      return super().restore(directory, item, args)
    item = item or args.item
    item.set_state(_merged(directory, count, isinstance(item, grain.DatasetIterator)))
    item.start_prefetch()
    return item


def _merged(directory: epath.Path, count: int, pipeline: bool) -> dict | bytes:
  files = sorted((int(m.group(2)), int(m.group(1)), path) for path in directory.iterdir()
                 if (m := _FILE.fullmatch(path.name)))
  if not files:
    raise FileNotFoundError(f"{directory}: no data-iterator state (process_<i>-of-<n>.json) in the checkpoint.")
  saved_count = files[0][0]
  texts = [path.read_text() for _, _, path in files]
  if not pipeline:  # an on-policy source (RL): every process holds the same stream and rollout, so any file will do
    if len(set(texts)) != 1:
      raise ValueError(f"{directory}: the processes saved different on-policy states; resume this run on "
                       f"{saved_count} processes.")
    return texts[0].encode()
  states = [json.loads(text) for text in texts]
  if not all(isinstance(s, dict) and "positions" in s for s in states):
    raise ValueError(f"{directory}: the checkpoint was written by {saved_count} processes and its data state cannot "
                     f"be split for {count}; resume this run on {saved_count} processes.")
  positions = {}
  for state in states:
    positions.update(state["positions"])
  return {"shards": states[0]["shards"], "positions": positions}


@ocp.args.register_with_handler(Handler, for_save=True)
@dataclasses.dataclass
class Save(ocp.args.CheckpointArgs):
  item: Any


@ocp.args.register_with_handler(Handler, for_restore=True)
@dataclasses.dataclass
class Restore(ocp.args.CheckpointArgs):
  item: Any
