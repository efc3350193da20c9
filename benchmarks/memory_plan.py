"""Will it fit? Per-device memory and FLOPs of the train step under several layouts, from the compiler alone.

  python -m benchmarks.memory_plan [--models=base,1b --layouts=data,fsdp,fsdp_tensor --remat=none,full
                                    --batch_size=256 --seq_len=1024 --dtype=bfloat16 --devices=8]

Memory comes from the program with scanned layers (how deep models are run: one layer's buffers, reused; the CPU
compiler does not keep remat's savings in an unrolled program, whose peak barely moves with remat), FLOPs from the
unrolled program (XLA's cost analysis counts a loop body once, not once per layer).

Forces `--devices` CPU devices, then lowers and compiles (ahead of time: nothing is allocated or run) the causal
train step that every stage uses, AdamW included, for each model x layout x remat, and prints XLA's memory analysis of
one device's program: its arguments (parameters, optimiser state, batch shard), its outputs (aliased with the
arguments: the state is donated) and its temporaries (activations kept for the backward pass, gradients, workspace).
The peak is arguments + outputs - aliased + temporaries. FLOPs are XLA's count for one device's program per step.

Layouts over 8 devices: `data` (8-way data parallel: every device holds all of the state), `fsdp` (8-way fully
sharded: parameters, gradients and optimiser state split 8 ways), `fsdp_tensor` (4-way FSDP x 2-way tensor parallel).
A layout "fits" a device of C GiB when its peak is at most 90% of C (runtimes keep some memory for themselves).
The CPU compiler's buffer assignment and fusion differ from a GPU's or TPU's: treat the figures as a plan, within
tens of percent, not as a guarantee.
"""

from __future__ import annotations

import os
import sys


def _force_devices(argv: list[str]) -> None:
  n = next((a.split("=", 1)[1] for a in argv if a.startswith("--devices=")), "8")
  os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n}".strip()
  os.environ.setdefault("JAX_PLATFORMS", "cpu")


if __name__ == "__main__":
  _force_devices(sys.argv)

import dataclasses  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import optax  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import causal_step  # noqa: E402
from experiments import cli  # noqa: E402
from lm.models.config import PRESETS, ModelConfig  # noqa: E402
from lm.training import sharding  # noqa: E402

# A GPT-shaped ~1.1B model (GPT-3 XL's width and heads, 20 layers), beside the presets.
MODELS = {
    "base": dict(PRESETS["base"], vocab_size=50304, max_len=1024),
    "1b": dict(num_layers=20, d_model=2048, num_heads=16, d_ff=8192, vocab_size=50304, max_len=2048),
}
LAYOUTS = {"data": dict(data=8, fsdp=1, tensor=1), "fsdp": dict(data=1, fsdp=8, tensor=1),
           "fsdp_tensor": dict(data=1, fsdp=4, tensor=2)}
DEVICE_GIB = (16, 40, 80)

_MODELS = flags.DEFINE_list("models", ["base", "1b"], f"Of {', '.join(MODELS)}.")
_LAYOUTS = flags.DEFINE_list("layouts", list(LAYOUTS), f"Of {', '.join(LAYOUTS)} (sizes for 8 devices).")
_REMAT = flags.DEFINE_list("remat", ["none", "full"], "model.remat values.")
_BATCH = flags.DEFINE_integer("batch_size", 256, "Global rows per step.")
_SEQ = flags.DEFINE_integer("seq_len", 1024, "Tokens per row.")
_DTYPE = flags.DEFINE_string("dtype", "bfloat16", "Compute dtype (parameters and optimiser state stay float32).")
flags.DEFINE_integer("devices", 8, "Forced CPU devices (read before JAX starts).")

GIB = 1024**3


@dataclasses.dataclass
class Plan:
  model: str
  layout: str
  remat: str
  params: int
  arguments: float   # bytes per device
  outputs: float
  aliased: float
  temporaries: float
  flops: float       # per device per step
  compile_seconds: float

  @property
  def peak(self) -> float:
    return self.arguments + self.outputs - self.aliased + self.temporaries

  def fits(self, gib: float) -> bool:
    return self.peak <= 0.9 * gib * GIB


def _compiled(name: str, layout: str, remat: str, scan: bool):
  model_cfg = ModelConfig(**MODELS[name], dtype=_DTYPE.value, remat=remat, scan_layers=scan)
  mesh = sharding.make_mesh(sharding.MeshConfig(**LAYOUTS[layout]))
  built = causal_step.build(model_cfg, optax.adamw(1e-4, b1=0.9, b2=0.95, weight_decay=0.1), mesh, _BATCH.value,
                            _SEQ.value)
  start = time.perf_counter()
  compiled = built.lower().compile()
  params = sum(int(x.size) for x in jax.tree.leaves(built.abstract_state.params))
  return compiled, params, time.perf_counter() - start


def plan(name: str, layout: str, remat: str) -> Plan:
  """Memory from the scanned program (one layer's buffers, reused: how deep models run), FLOPs from the unrolled
  one (XLA's cost analysis counts a loop body once, not once per layer)."""
  scanned, params, seconds = _compiled(name, layout, remat, scan=True)
  memory = scanned.memory_analysis()
  unrolled, _, more = _compiled(name, layout, remat, scan=False)
  cost = unrolled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return Plan(name, layout, remat, params, memory.argument_size_in_bytes, memory.output_size_in_bytes,
              memory.alias_size_in_bytes, memory.temp_size_in_bytes, float(cost.get("flops", 0.0)), seconds + more)


def table(plans: list[Plan]) -> str:
  lines = ["| model | params | layout | remat | state + batch | temporaries | peak / device | TFLOP / device-step | "
           + " | ".join(f"fits {g} GiB" for g in DEVICE_GIB) + " |",
           "|---|---|---|---|---|---|---|---|" + "---|" * len(DEVICE_GIB)]
  for p in plans:
    fits = " | ".join("yes" if p.fits(g) else "no" for g in DEVICE_GIB)
    lines.append(f"| {p.model} | {p.params / 1e6:,.0f}M | {p.layout} | {p.remat} | {p.arguments / GIB:.2f} GiB | "
                 f"{p.temporaries / GIB:.2f} GiB | {p.peak / GIB:.2f} GiB | {p.flops / 1e12:.1f} | {fits} |")
  return "\n".join(lines)


def main(argv):
  del argv
  for name in _MODELS.value:
    if name not in MODELS:
      raise app.UsageError(f"--models: unknown model {name!r}; expected some of {', '.join(MODELS)}.")
  for layout in _LAYOUTS.value:
    if layout not in LAYOUTS:
      raise app.UsageError(f"--layouts: unknown layout {layout!r}; expected some of {', '.join(LAYOUTS)}.")
  if jax.device_count() != 8:
    raise app.UsageError(f"the layouts are for 8 devices; {jax.device_count()} are visible (--devices=8).")
  print(f"train step, global batch {_BATCH.value} x {_SEQ.value}, compute {_DTYPE.value}, float32 parameters and "
        f"AdamW state, {jax.device_count()} forced CPU devices (compiled, not run)")
  plans = []
  for name in _MODELS.value:
    for layout in _LAYOUTS.value:
      for remat in _REMAT.value:
        p = plan(name, layout, remat)
        print(f"  {name} {layout} remat={remat}: peak {p.peak / GIB:.2f} GiB/device, {p.flops / 1e12:.1f} TFLOP/device "
              f"(compiled in {p.compile_seconds:.1f} s)", flush=True)
        plans.append(p)
  print()
  print(table(plans))


if __name__ == "__main__":
  cli.run(main)
