"""grain input pipelines: source -> shuffle -> tokenize -> transform -> pack or pad -> batch.

Every objective plugs in through one hook, `transform(example) -> features | [features, ...]`,
that turns one tokenized record into a dict of equal-length 1-D int arrays (for example
`inputs`, `targets`, `weights`) plus optional scalars (a class label). The pipeline then

- splits features longer than `seq_len` into consecutive chunks (no token is dropped), or
  truncates them (`long_examples="truncate"`),
- when shuffling, shuffles those chunks within windows of `shuffle_window` examples, so that the chunks of
  one long document land in different batches instead of filling one batch together, and
- packs several examples into one row (`pack=True`) or pads each to `seq_len` (`pack=False`).

Either way every batch carries `segment_ids` (1, 2, ... per packed example; 0 on padding) and
`positions` (restarting at 0 in each segment), so attention masks can keep examples apart and
padding has weight 0. Shapes: every sequence feature is `[B, L]` with B the per-process batch.

Sharding is by record: the source is cut into `shards` record shards (shard k holds records k,
k+K, k+2K, ...; K defaults to the number of processes), each a pipeline of its own producing B/K rows
per batch. Process p of n runs the shards p*K/n ... (p+1)*K/n - 1 and concatenates their rows, so the
global batch (processes' rows in process order) is the same whatever n divides K: with a fixed K, one
process and many give the same batches, and a run can resume on another number of processes.
Shuffling is seeded and differs per epoch. The iterator's state (`get_state`/`set_state`, one entry per
shard, saved with orbax by the trainer) resumes exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import grain
import numpy as np

Features = dict[str, Any]
Transform = Callable[[Features], Features | list[Features]]


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  seq_len: int                    # L: tokens per row
  batch_size: int                 # global batch; each process gets batch_size / process_count rows
  seed: int = 0                   # shuffling seed (each epoch reshuffles with seed + epoch)
  shuffle: bool = True
  num_epochs: int | None = None   # None repeats forever (training); 1 for evaluation
  pack: bool = True               # pack short examples into rows, or pad each to seq_len
  long_examples: str = "split"    # "split" into seq_len chunks, or "truncate"
  packing_bins: int = 128         # open rows the first-fit packer fills at once (more: less padding)
  # Examples (chunks) shuffled together after splitting, like a shuffle buffer (a window can span two epochs);
  # 0: a long document's chunks stay consecutive, and a batch then holds few distinct documents.
  shuffle_window: int = 1024
  drop_remainder: bool = True     # drop a last partial batch (training needs fixed shapes)
  shards: int = 0                 # record shards K (0: one per process); a multiple of the process count
  worker_threads: int = 4         # grain read threads
  decoder_seq_len: int = 0        # length of the "decoder_*" features of encoder-decoder examples (pad mode)


def tokenize(tokenizer, fields: Sequence[str]) -> Callable[[Features], Features]:
  """A map that encodes the string `fields` of a record into int32 token arrays."""

  def encode(record: Features) -> Features:
    out = dict(record)
    for field in fields:
      if field not in record:
        raise KeyError(f"Cannot tokenize field {field!r}: the record has {sorted(record)}.")
      out[field] = np.asarray(tokenizer.encode(record[field]), np.int32)
    return out

  return encode


def _sequence_keys(example: Features) -> list[str]:
  return [k for k, v in example.items() if isinstance(v, np.ndarray) and v.ndim == 1]


def _check_lengths(example: Features) -> int:
  keys = _sequence_keys(example)
  lengths = {k: len(example[k]) for k in keys}
  if len(set(lengths.values())) > 1:
    raise ValueError(f"Example transform returned sequence features of different lengths: {lengths}.")
  return next(iter(lengths.values()), 0)


DECODER_PREFIX = "decoder_"  # features of an encoder-decoder's target side form a second stream


def _streams(example: Features) -> dict[str, list[str]]:
  """Sequence features by stream: "" (inputs) and, for encoder-decoders, "decoder_"."""
  keys = _sequence_keys(example)
  decoder = [k for k in keys if k.startswith(DECODER_PREFIX)]
  return {"": [k for k in keys if k not in decoder], DECODER_PREFIX: decoder}


class _Fit(grain.experimental.FlatMapTransform):
  """Applies the objective's transform, then splits or truncates to seq_len."""

  max_fan_out = 1 << 16  # only bounds random-access flat maps; the iterator version ignores it

  def __init__(self, transform: Transform, seq_len: int, long_examples: str):
    if long_examples not in ("split", "truncate"):
      raise ValueError(f"long_examples must be 'split' or 'truncate', got {long_examples!r}.")
    self._transform, self._seq_len, self._split = transform, seq_len, long_examples == "split"

  def flat_map(self, record: Features) -> list[Features]:
    examples = self._transform(record)
    out = []
    for example in examples if isinstance(examples, list) else [examples]:
      streams = _streams(example)
      if streams[DECODER_PREFIX]:  # two streams of their own lengths: the transform sized them
        for keys in streams.values():
          _check_lengths({k: example[k] for k in keys})
        out.append(example)
        continue
      length = _check_lengths(example)
      if length == 0:
        continue
      keys = streams[""]
      starts = range(0, length, self._seq_len) if self._split else [0]
      for start in starts:
        chunk = dict(example)
        for k in keys:
          chunk[k] = example[k][start:start + self._seq_len]
        out.append(chunk)
    return out


def _pad_row(example: Features, seq_len: int, decoder_seq_len: int) -> Features:
  """Pads (or truncates) each stream to its length; adds its segment ids and positions."""
  out = dict(example)
  for prefix, keys in _streams(example).items():
    if not keys:
      continue
    target = decoder_seq_len if prefix else seq_len
    if prefix and not target:
      raise ValueError(f"Features {keys} form a decoder stream: set PipelineConfig.decoder_seq_len.")
    length = min(len(example[keys[0]]), target)
    for k in keys:
      out[k] = np.zeros(target, example[k].dtype)
      out[k][:length] = example[k][:length]
    segments = (np.arange(target) < length).astype(np.int32)
    out[f"{prefix}segment_ids"] = segments
    out[f"{prefix}positions"] = np.where(segments > 0, np.arange(target), 0).astype(np.int32)
  return out


def _merge_packing_metadata(keys: Sequence[str]) -> Callable[[Features], Features]:
  """grain's packer emits `<k>_segment_ids` / `<k>_positions` per feature; they agree, keep one."""

  def merge(row: Features) -> Features:
    out = {k: row[k] for k in keys}
    out["segment_ids"] = row[f"{keys[0]}_segment_ids"]
    out["positions"] = row[f"{keys[0]}_positions"]
    return out

  return merge


SEED_KEY = "_seed"  # with `seeded=True`, records carry a per-record, per-epoch random seed here


def build(source: Sequence[Features], *, config: PipelineConfig, transform: Transform,
          tokenizer=None, text_fields: Sequence[str] = (), process_index: int = 0,
          process_count: int = 1, seeded: bool = False) -> grain.IterDataset:
  """This process's pipeline over `source` (random access records); iterate it with `iter(...)`.

  `text_fields` are tokenized with `tokenizer` before `transform` sees the record. With
  `seeded=True` the record also carries `record["_seed"]`, an integer drawn from the pipeline
  seed and the record's position in the (repeated) stream: random transforms such as span
  corruption differ every epoch yet resume exactly.
  """
  shards = config.shards or process_count
  if shards % process_count:
    raise ValueError(f"data.shards={shards} is not a multiple of the {process_count} processes: each process must "
                     "run the same number of record shards.")
  if config.batch_size % shards:
    raise ValueError(f"Global batch size {config.batch_size} is not divisible by the {shards} record shards "
                     f"(data.shards, or the process count).")
  if len(source) < shards:
    raise ValueError(f"The dataset has {len(source)} records, fewer than the {shards} shards reading it "
                     "(one per process unless data.shards is set).")
  per_process = shards // process_count
  owned = range(process_index * per_process, (process_index + 1) * per_process)
  parts = {k: _shard(source, k, shards, config, transform, tokenizer, text_fields, seeded) for k in owned}
  return ShardRows(parts, shards)


def _shard(source, index: int, shards: int, config: PipelineConfig, transform, tokenizer, text_fields,
           seeded: bool) -> grain.IterDataset:
  ds = grain.MapDataset.source(source)[index::shards]
  if config.shuffle:
    ds = ds.shuffle(seed=config.seed)
  if config.num_epochs != 1:
    ds = ds.repeat(config.num_epochs)
  if seeded:
    ds = ds.random_map(lambda record, rng: {**record, SEED_KEY: int(rng.integers(1 << 62))}, seed=config.seed + 1)
  if text_fields:
    ds = ds.map(tokenize(tokenizer, text_fields))
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=config.worker_threads, prefetch_buffer_size=32))
  it = grain.experimental.FlatMapIterDataset(it, _Fit(transform, config.seq_len, config.long_examples))
  if config.shuffle and config.shuffle_window > 1:
    # Each window is reshuffled with its own seed; the state is the window's start, so resumption is exact.
    it = grain.experimental.WindowShuffleIterDataset(it, window_size=config.shuffle_window, seed=config.seed + 2)
  if config.pack:
    it = _pack(it, config)
  else:
    it = it.map(lambda ex: _pad_row(ex, config.seq_len, config.decoder_seq_len))
  return it.batch(config.batch_size // shards, drop_remainder=config.drop_remainder)


class ShardRows(grain.IterDataset):
  """The batches of several record shards, row-concatenated in shard order (this process's rows)."""

  def __init__(self, parts: dict[int, grain.IterDataset], shards: int):
    super().__init__(list(parts.values()))
    self._indices, self.shards = list(parts), shards

  def __iter__(self) -> "_ShardRowsIterator":
    return _ShardRowsIterator([iter(p) for p in self._parents], self._indices, self.shards)


class _ShardRowsIterator(grain.DatasetIterator):
  """Concatenates one batch of each shard. A finite stream (evaluation) goes on while any shard has data;
  a shard that ran out contributes no rows (the trainer pads the batch to its fixed size)."""

  def __init__(self, parents, indices: list[int], shards: int):
    super().__init__(parents)
    self._indices, self._shards = indices, shards

  def __next__(self) -> Features:
    batches = []
    for parent in self._parents:
      try:
        batches.append(next(parent))
      except StopIteration:
        continue
    if not batches:
      raise StopIteration
    if len(batches) == 1:
      return batches[0]
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}

  def get_state(self) -> dict[str, Any]:
    return {"shards": self._shards, "positions": {str(k): p.get_state() for k, p in zip(self._indices, self._parents)}}

  def set_state(self, state: dict[str, Any]) -> None:
    if not isinstance(state, dict) or "positions" not in state:
      raise ValueError("The checkpoint's data-iterator state predates record shards (lm.data.pipeline); it cannot "
                       "be resumed by this version. Use a fresh --workdir.")
    if state["shards"] != self._shards:
      raise ValueError(f"The checkpoint's data was read as {state['shards']} record shards, this run reads "
                       f"{self._shards} (data.shards, default the process count). Resume with "
                       f"--config.data.shards={state['shards']} (a multiple of the process count).")
    missing = [k for k in self._indices if str(k) not in state["positions"]]
    if missing:
      raise ValueError(f"The checkpoint's data-iterator state has no position for record shards {missing}.")
    for k, parent in zip(self._indices, self._parents):
      try:
        parent.set_state(state["positions"][str(k)])
      except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"The checkpoint's data-iterator state for record shard {k} does not fit this pipeline "
                         f"({type(e).__name__}: {e}): it was written with other data settings (data.shuffle_window "
                         "on or off, pack, or a version before the chunk shuffle). Resume with the settings it was "
                         "written with, or use a fresh --workdir.") from None


def _pack(it: grain.IterDataset, config: PipelineConfig) -> grain.IterDataset:
  """First-fit packing of the sequence features into rows of `seq_len` tokens."""
  # The feature set is only known once data flows: peek at one example for the length spec.
  first = next(iter(it))
  keys = sorted(_sequence_keys(first))
  if len(keys) != len(first):
    raise ValueError(f"Packing needs only sequence features, got scalars in {sorted(first)}; use pack=False.")
  packed = grain.experimental.FirstFitPackIterDataset(
      it, length_struct={k: config.seq_len for k in keys}, num_packing_bins=config.packing_bins,
      seed=config.seed, shuffle_bins=config.shuffle)
  return packed.map(_merge_packing_metadata(keys))
