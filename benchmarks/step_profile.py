"""Where a train step's time goes: a jax.profiler trace of a few steps, summed by part of the model.

  python -m benchmarks.step_profile --config=configs/pretrain/clm.py:tiny [--batch_size=32 --seq_len=128 --steps=5
                                    --trace_dir=runs/profile] [--config.model.<field>=...]

Traces `--steps` train steps (after warm-up) into `--trace_dir` (open it with `tensorboard --logdir=DIR`, Profile
tab, for the timeline), then reads the trace back and sums the time of every XLA operation, filed by what it
computes. Each compiled operation's source (the flax module path and the Python file in its metadata) decides the
part it belongs to:

- embedding and output projection (the token table, the tied or separate unembedding, positions),
- attention (q/k/v/output projections, scores, softmax and the weighted sum),
- MLP, norms, the loss (log-softmax and cross-entropy on the logits),
- optimizer (AdamW, the gradient norm and clipping, the finite check),
- other device work, and host overhead: the step's wall time not covered by any device operation (dispatch,
  Python, waiting).

A fusion that mixes parts is filed by its root operation. Times are per step (the mean of the traced steps).
"""

from __future__ import annotations

import collections
import re
import tempfile
import time

import jax
from absl import flags
from ml_collections import config_flags

from benchmarks import causal_step, traces
from experiments import cli
from lm import settings
from lm.models.config import ModelConfig
from lm.training import optimizers, sharding

_CONFIG = config_flags.DEFINE_config_file("config", "configs/pretrain/clm.py:tiny", "Pretraining config.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Global batch rows.")
_SEQ = flags.DEFINE_integer("seq_len", 128, "Tokens per row.")
_STEPS = flags.DEFINE_integer("steps", 5, "Traced steps (after 3 warm-up steps).")
_VOCAB = flags.DEFINE_integer("vocab_size", 4096, "Vocabulary size (the world tokenizer's).")
_TRACE_DIR = flags.DEFINE_string("trace_dir", "", "Where the trace goes (default: a temporary directory).")

# (part, pattern on "op_name source_file"), first match wins.
PARTS = (
    ("optimizer", r"optax|/cond/|clip_by_global_norm|_all_finite|isfinite"),
    ("loss", r"objectives/"),
    ("embedding and output projection", r"embedder|Embed|position_table"),
    ("attention", r"attention"),
    ("MLP", r"mlp"),
    ("norms", r"_norm|Norm"),
)

def part_of(source: str) -> str:
  for part, pattern in PARTS:
    if re.search(pattern, source):
      return part
  return "other device work"


def main(argv):
  del argv
  config = _CONFIG.value
  model_cfg = settings.section(ModelConfig, config.model, "model", none_if_zero=("num_kv_heads", "head_dim"),
                               vocab_size=_VOCAB.value)
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), 1000)
  built = causal_step.build(model_cfg, optimizer, mesh, _BATCH.value, _SEQ.value, schedule)
  state, batch = built.create_state(), built.random_batch()
  sources = traces.instruction_sources(built.step.lower(state, batch).compile().as_text())
  for _ in range(3):
    state, metrics = built.step(state, batch)
  jax.block_until_ready(metrics)

  trace_dir = _TRACE_DIR.value or tempfile.mkdtemp(prefix="lm_profile_")
  start = time.perf_counter()
  with jax.profiler.trace(trace_dir):
    for _ in range(_STEPS.value):
      state, metrics = built.step(state, batch)
      jax.block_until_ready(metrics)
  wall = (time.perf_counter() - start) / _STEPS.value
  per_op, busy = traces.op_seconds(traces.latest_trace(trace_dir))
  per_op = collections.Counter({name: seconds / _STEPS.value for name, seconds in per_op.items()})
  busy /= _STEPS.value
  per_part = collections.Counter()
  for name, seconds in per_op.items():
    per_part[part_of(sources.get(name, name))] += seconds
  tokens = _BATCH.value * _SEQ.value
  print(f"model {model_cfg.num_layers}x{model_cfg.d_model} (heads {model_cfg.num_heads}, mlp {model_cfg.d_ff}, "
        f"vocab {model_cfg.vocab_size}), batch {_BATCH.value} x {_SEQ.value}: {wall * 1000:.1f} ms per traced step "
        f"({tokens / wall:,.0f} tokens/s under the profiler); trace in {trace_dir}")
  total = sum(per_part.values())
  print(f"| part | ms per step | share of op time |\n|---|---|---|")
  for part, seconds in per_part.most_common():
    print(f"| {part} | {seconds * 1000:.1f} | {seconds / total:.0%} |")
  print(f"| (sum of op times; ops on several threads overlap) | {total * 1000:.1f} | |")
  print(f"| host overhead: wall time with no op running | {max(wall - busy, 0.0) * 1000:.1f} | "
        f"{max(wall - busy, 0.0) / wall:.0%} of wall |")
  print("\nlongest operations (per step, source):")
  traces.print_longest(per_op, sources)


if __name__ == "__main__":
  cli.run(main)
