"""Reading jax.profiler traces back: XLA operations, their time, and the source each was compiled from."""

from __future__ import annotations

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


