"""Seconds to trace, lower and compile the train step as the model deepens, with and without `scan_layers`.

  python -m benchmarks.compile_time [--preset=small --layers=4,8,16,32 --batch_size=8 --seq_len=256]

Each depth is built fresh (no compilation cache) and compiled ahead of time: the figures are what a run pays before
its first step. Unrolled layers give XLA one copy of the block per layer, so compile time grows with depth;
`nn.scan` gives it one block and a loop, so it stays flat.
"""

from __future__ import annotations

import time

import jax
import optax
from absl import flags

from benchmarks import causal_step
from experiments import cli
from lm.models.config import PRESETS, ModelConfig
from lm.training import sharding

_PRESET = flags.DEFINE_string("preset", "small", f"Layer shape: {', '.join(PRESETS)}.")
_LAYERS = flags.DEFINE_list("layers", ["4", "8", "16", "32"], "Depths to compile.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Global rows per step.")
_SEQ = flags.DEFINE_integer("seq_len", 256, "Tokens per row.")
_VOCAB = flags.DEFINE_integer("vocab_size", 8192, "Vocabulary size.")


def compile_seconds(layers: int, scan: bool) -> tuple[float, float]:
  """(trace + lower, compile) seconds of one fresh train step."""
  jax.clear_caches()
  config = ModelConfig(**dict(PRESETS[_PRESET.value], num_layers=layers, vocab_size=_VOCAB.value,
                              max_len=max(_SEQ.value, 256), scan_layers=scan))
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  built = causal_step.build(config, optax.adamw(1e-3), mesh, _BATCH.value, _SEQ.value)
  start = time.perf_counter()
  lowered = built.lower()
  lowered_at = time.perf_counter()
  lowered.compile()
  return lowered_at - start, time.perf_counter() - lowered_at


def main(argv):
  del argv
  print(f"train step of {_PRESET.value}-width layers, batch {_BATCH.value} x {_SEQ.value}, AdamW, "
        f"{jax.devices()[0].device_kind}: seconds to trace + lower, and to compile")
  print("| layers | unrolled: lower | unrolled: compile | scan: lower | scan: compile |")
  print("|---|---|---|---|---|")
  for layers in (int(n) for n in _LAYERS.value):
    (ul, uc), (sl, sc) = compile_seconds(layers, False), compile_seconds(layers, True)
    print(f"| {layers} | {ul:.1f} | {uc:.1f} | {sl:.1f} | {sc:.1f} |", flush=True)


if __name__ == "__main__":
  cli.run(main)
