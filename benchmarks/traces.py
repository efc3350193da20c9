"""Reading jax.profiler traces back: XLA operations, their time, and the source each was compiled from."""

from __future__ import annotations

import collections
import glob
import os
import re

_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = .*?metadata=\{([^}]*)\}")


def instruction_sources(hlo_text: str) -> dict[str, str]:
  """HLO instruction name -> "op_name source_file" from its metadata (fusions: their root's)."""
  sources = {}
  for line in hlo_text.splitlines():
    m = _INSTRUCTION.match(line)
    if m:
      fields = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
      sources[m.group(1)] = f"{fields.get('op_name', '')} {fields.get('source_file', '')}"
  return sources


def device_events(trace_file: str):
  """(name, start_ns, end_ns) of the XLA operations executed on the host CPU's threads."""
  from jax.profiler import ProfileData  # pylint: disable=import-outside-toplevel

  data = ProfileData.from_file(trace_file)
  for plane in data.planes:
    for line in plane.lines:
      for event in line.events:
        stats = dict(event.stats)
        if "hlo_op" in stats or "hlo_module" in stats:
          yield str(stats.get("hlo_op", event.name)), event.start_ns, event.end_ns


def union_seconds(intervals: list[tuple[int, int]]) -> float:
  """Nanosecond intervals' union length, in seconds."""
  total, current_start, current_end = 0, None, None
  for begin, end in sorted(intervals):
    if current_end is None or begin > current_end:
      if current_end is not None:
        total += current_end - current_start
      current_start, current_end = begin, end
    else:
      current_end = max(current_end, end)
  if current_end is not None:
    total += current_end - current_start
  return total / 1e9


def latest_trace(trace_dir: str) -> str:
  """The newest `*.xplane.pb` that `jax.profiler.trace(trace_dir)` wrote."""
  found = glob.glob(os.path.join(trace_dir, "plugins", "profile", "*", "*.xplane.pb"))
  if not found:
    raise FileNotFoundError(f"{trace_dir}: no plugins/profile/*/*.xplane.pb trace in it.")
  return max(found, key=os.path.getmtime)


def op_seconds(trace_file: str) -> tuple[collections.Counter, float]:
  """Seconds per XLA operation name, and the seconds during which any operation ran (their union)."""
  per_op = collections.Counter()
  intervals = []
  for name, begin, end in device_events(trace_file):
    per_op[name] += (end - begin) / 1e9
    intervals.append((begin, end))
  return per_op, union_seconds(intervals)


def print_longest(per_op: collections.Counter, sources: dict[str, str], scale: float = 1.0, n: int = 12) -> None:
  """The `n` longest operations, in ms (times `scale`), with the source each was compiled from."""
  for name, seconds in per_op.most_common(n):
    print(f"  {seconds * scale * 1000:8.2f} ms  {name:<30} {sources.get(name, '')[:110]}")
