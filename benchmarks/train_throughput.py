"""Training throughput and MFU of a config's model, on this machine's devices.

  python -m benchmarks.train_throughput --config=configs/pretrain/clm.py:small \
      [--batch_size=8 --seq_len=256 --steps=10] [--config.model.remat=full ...]

Times the jitted train step (the one every stage uses; median over steps) on random tokens, so the input pipeline is
not measured here (see benchmarks/data_throughput.py). Reports tokens/s, model FLOP/s and MFU:

- model FLOPs per token = 6 * N (N: parameters used in matmuls, the tied output projection
  included, the position table not) + the attention term 12 * layers * seq_len * d_attn, halved
  for causal attention (d_attn = heads * head width);
- MFU against the float32 matmul peak measured in the same run on the same device (a large
  square matmul), and against the published peak of a known accelerator;
- with `--ceiling`: the MFU the step would reach if only its matmuls took time, each as fast as it runs alone
  on its own shape (`benchmarks/matmul_ceiling.py`): how far the model's shapes, not the rest of the step, cap it.
"""

from __future__ import annotations

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from ml_collections import config_flags

from benchmarks import causal_step, matmul_ceiling
from experiments import cli
from lm import settings
from lm.models.config import ModelConfig
from lm.training import optimizers, sharding, state as state_lib

_CONFIG = config_flags.DEFINE_config_file("config", "configs/pretrain/clm.py:small", "Pretraining config.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Global batch rows (overrides the config; CPUs need small ones).")
_SEQ = flags.DEFINE_integer("seq_len", 256, "Tokens per row.")
_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps (after 2 warm-up steps).")
_VOCAB = flags.DEFINE_integer("vocab_size", 4096, "Vocabulary size (the world tokenizer's).")
_MATMUL = flags.DEFINE_integer("matmul_size", 2048, "Side of the square matmul that measures the peak.")
_CEILING = flags.DEFINE_bool("ceiling", False, "Also time every matmul of the step alone and report the MFU ceiling.")

# Published dense peaks (FLOP/s) for a few accelerators, by device_kind prefix: (fp32, bf16).
PUBLISHED_PEAKS = {
    "NVIDIA A100": (19.5e12, 312e12),
    "NVIDIA H100": (67e12, 989e12),
    "TPU v4": (None, 275e12),
    "TPU v5e": (None, 197e12),
    "TPU v5p": (None, 459e12),
}


def measured_matmul_peak(n: int, dtype=jnp.float32, repeats: int = 9) -> tuple[float, float]:
  """FLOP/s of an n x n @ n x n matmul on the default device: (median, best) of `repeats`."""
  a = jax.random.normal(jax.random.key(0), (n, n), dtype)
  b = jax.random.normal(jax.random.key(1), (n, n), dtype)
  f = jax.jit(jnp.dot)
  f(a, b).block_until_ready()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    f(a, b).block_until_ready()
    times.append(time.perf_counter() - start)
  return 2 * n**3 / float(np.median(times)), 2 * n**3 / min(times)


def flops_per_token(params, config: ModelConfig, seq_len: int) -> tuple[float, int]:
  matmul_params = 0
  for path, p in jax.tree_util.tree_flatten_with_path(params)[0]:
    name = jax.tree_util.keystr(path)
    if p.ndim >= 2 and "position_table" not in name:
      matmul_params += p.size
  attention = 12 * config.num_layers * seq_len * config.num_heads * config.head_size / 2  # causal: half
  return 6 * matmul_params + attention, matmul_params


def main(argv):
  del argv
  config = _CONFIG.value
  model_cfg = settings.section(ModelConfig, config.model, "model", none_if_zero=("num_kv_heads", "head_dim"),
                               vocab_size=_VOCAB.value)
  b, t = _BATCH.value, _SEQ.value
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), 1000)
  built = causal_step.build(model_cfg, optimizer, mesh, b, t, schedule)
  state, train_step, batch = built.create_state(), built.step, built.random_batch()
  for _ in range(2):
    state, metrics = train_step(state, batch)
  jax.block_until_ready(metrics)
  # Steps are timed one by one and the median taken: shared machines have noisy neighbours.
  times = []
  for _ in range(_STEPS.value):
    start = time.perf_counter()
    state, metrics = train_step(state, batch)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  seconds, best_seconds = float(np.median(times)), min(times)

  per_token, n_matmul = flops_per_token(nn.unbox(state.params), model_cfg, t)
  tokens_per_sec = b * t / seconds
  model_flops = tokens_per_sec * per_token
  devices = mesh.devices.size
  peak, best_peak = (x * devices for x in measured_matmul_peak(_MATMUL.value))
  best_flops = b * t / best_seconds * per_token
  kind = jax.devices()[0].device_kind
  print(f"model {model_cfg.num_layers}x{model_cfg.d_model}, {state_lib.count_params(state.params):,} parameters "
        f"({n_matmul:,} in matmuls), batch {b} x {t}, dtype {model_cfg.dtype}, {devices} x {kind}")
  print(f"  step {seconds * 1000:.1f} ms (median of {len(times)}; best {best_seconds * 1000:.1f} ms)   "
        f"{tokens_per_sec:,.0f} tokens/s   model {model_flops / 1e9:,.1f} GFLOP/s")
  print(f"  fp32 matmul peak measured here: {peak / 1e9:,.1f} GFLOP/s median, {best_peak / 1e9:,.1f} best "
        f"({_MATMUL.value}^3, {devices} device(s))")
  print(f"  MFU {model_flops / peak:.1%} (median step / median peak), {best_flops / best_peak:.1%} (best / best)")
  if _CEILING.value:
    rows = matmul_ceiling.timed(matmul_ceiling.dots(train_step, state, batch))
    dot_seconds = sum(count * secs for _, count, secs in rows)
    dot_flops = sum(count * dot.flops for dot, count, _ in rows)
    print(f"  matmuls: {sum(count for _, count, _ in rows)} per step ({len(rows)} shapes), {dot_flops / 1e9:,.2f} "
          f"GFLOP (model FLOPs {per_token * b * t / 1e9:,.2f}); each timed alone, together {dot_seconds * 1000:.1f} "
          f"ms at {dot_flops / dot_seconds / 1e9:,.1f} GFLOP/s: MFU ceiling {per_token * b * t / dot_seconds / peak:.1%} "
          "if nothing but matmuls cost time. The costliest:")
    for dot, count, secs in rows[:8]:
      print(f"    {count:>3} x {matmul_ceiling.describe(dot):<58} {count * secs * 1000:6.1f} ms  "
            f"{dot.flops / secs / peak:4.0%} of peak")
  for prefix, (fp32, bf16) in PUBLISHED_PEAKS.items():
    if kind.startswith(prefix):
      published = bf16 if model_cfg.dtype == "bfloat16" else fp32
      if published:
        print(f"  MFU {model_flops / (published * devices):.1%} of the published {prefix} peak")


if __name__ == "__main__":
  cli.run(main)
