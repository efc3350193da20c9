"""lm against its PyTorch peer on the same CPU: Hugging Face `transformers`' GPT-2, train step and sampling.

  pip install -e ".[bench]"   # CPU torch and transformers
  python -m benchmarks.peer [--layers=8 --width=512 --heads=8 --vocab_size=8192 --batch_size=8 --seq_len=256
                             --rounds=5 --steps=5 --what=train,sample]

One model, two implementations: GPT-2's architecture (learned positions, pre-LayerNorm, tanh GELU, biases on every
projection, tied output projection) at the same shape, both in float32, both from their own random initialisation.
PyTorch runs eagerly with as many intra-op threads as JAX uses (every core). The two alternate in one process
(`--rounds` rounds, each timing `--steps` calls of one then the other), so a noisy neighbour slows both; the ratio
is taken per round and its median reported, with the range.

- train: one AdamW update on a batch of random tokens (forward, loss, backward, optimiser step): tokens per second.
- sample: batch rows of `--prompt_len` tokens, then `--new_tokens` sampled with top-k 50 and the KV cache
  (`transformers`' `generate` against `lm.sampling.decode.generate`), no early stop: new tokens per second. Also
  the per-token decode step against the memory-bandwidth bound: the bytes each step must read (every weight once,
  plus the KV cache up to the current position) over the machine's copy bandwidth measured here.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags

from benchmarks import causal_step, matmul_ceiling, traces
from experiments import cli
from lm.models.config import ModelConfig
from lm.sampling import decode
from lm.training import sharding

_LAYERS = flags.DEFINE_integer("layers", 8, "Transformer blocks.")
_WIDTH = flags.DEFINE_integer("width", 512, "Residual width (MLP 4x).")
_HEADS = flags.DEFINE_integer("heads", 8, "Attention heads.")
_VOCAB = flags.DEFINE_integer("vocab_size", 8192, "Vocabulary size.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Rows per train step and per sampling call.")
_SEQ = flags.DEFINE_integer("seq_len", 256, "Tokens per training row.")
_PROMPT = flags.DEFINE_integer("prompt_len", 32, "Prompt tokens per row when sampling.")
_NEW = flags.DEFINE_integer("new_tokens", 128, "Tokens sampled per row.")
_TOP_K = flags.DEFINE_integer("top_k", 50, "Top-k sampling.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Alternating rounds.")
_STEPS = flags.DEFINE_integer("steps", 5, "Train steps (or sampling calls) timed per round and implementation.")
_WHAT = flags.DEFINE_list("what", ["train", "sample"], "Which comparisons: train, sample.")
_TRACE = flags.DEFINE_string("trace_dir", "", "If set: a jax.profiler trace of one of lm's sampling calls goes there "
                             "(TensorBoard's Profile tab) and its longest operations are printed.")


def model_config() -> ModelConfig:
  return ModelConfig(vocab_size=_VOCAB.value, num_layers=_LAYERS.value, d_model=_WIDTH.value, num_heads=_HEADS.value,
                     d_ff=4 * _WIDTH.value, max_len=max(_SEQ.value, _PROMPT.value + _NEW.value),
                     projection_bias="all", activation="gelu", norm="layernorm", positions="learned",
                     norm_eps=1e-5, tie_embeddings=True)


def torch_model():
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(os.cpu_count())
  torch.manual_seed(0)
  config = transformers.GPT2Config(vocab_size=_VOCAB.value, n_positions=max(_SEQ.value, _PROMPT.value + _NEW.value),
                                   n_embd=_WIDTH.value, n_layer=_LAYERS.value, n_head=_HEADS.value, resid_pdrop=0.0,
                                   embd_pdrop=0.0, attn_pdrop=0.0, pad_token_id=0, eos_token_id=_VOCAB.value - 1,
                                   bos_token_id=_VOCAB.value - 1)
  return torch, transformers.GPT2LMHeadModel(config).float()


@dataclasses.dataclass
class Timings:
  ours: list[float] = dataclasses.field(default_factory=list)    # seconds per call, median of each round
  theirs: list[float] = dataclasses.field(default_factory=list)

  def report(self, what: str, units_per_call: float, unit: str) -> None:
    ours, theirs = np.asarray(self.ours), np.asarray(self.theirs)
    ratio = theirs / ours
    print(f"{what}: lm {np.median(units_per_call / ours):,.0f} {unit}/s "
          f"(rounds {np.min(units_per_call / ours):,.0f}-{np.max(units_per_call / ours):,.0f}), "
          f"transformers {np.median(units_per_call / theirs):,.0f} {unit}/s "
          f"(rounds {np.min(units_per_call / theirs):,.0f}-{np.max(units_per_call / theirs):,.0f}); "
          f"lm / transformers {np.median(ratio):.2f}x (rounds {ratio.min():.2f}-{ratio.max():.2f})")


def timed(call, steps: int) -> float:
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def alternate(ours, theirs) -> Timings:
  """Two warm-up calls each, then `--rounds` rounds timing `--steps` calls of one, then of the other."""
  for warm in (ours, theirs, ours, theirs):
    warm()
  timings = Timings()
  for _ in range(_ROUNDS.value):
    timings.ours.append(timed(ours, _STEPS.value))
    timings.theirs.append(timed(theirs, _STEPS.value))
  return timings


def compare_train() -> None:
  b, t = _BATCH.value, _SEQ.value
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  adamw = dict(learning_rate=1e-4, b1=0.9, b2=0.95, eps=1e-8, weight_decay=0.1)
  built = causal_step.build(model_config(), optax.adamw(**adamw), mesh, b, t)
  holder = {"state": built.create_state(), "batch": built.random_batch()}

  def ours():
    holder["state"], metrics = built.step(holder["state"], holder["batch"])
    jax.block_until_ready(metrics["loss"])

  torch, model = torch_model()
  model.train()
  optimizer = torch.optim.AdamW(model.parameters(), lr=adamw["learning_rate"], betas=(adamw["b1"], adamw["b2"]),
                                eps=adamw["eps"], weight_decay=adamw["weight_decay"])
  tokens = torch.from_numpy(np.random.default_rng(0).integers(0, _VOCAB.value, (b, t)).astype(np.int64))

  def theirs():
    loss = model(input_ids=tokens, labels=tokens).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)

  timings = alternate(ours, theirs)
  timings.report(f"train step (batch {b} x {t}, AdamW)", b * t, "tokens")


def copy_bandwidth(megabytes: int = 512) -> float:
  """Bytes per second moved by a large array copy (read + write) on this machine."""
  x = np.ones(megabytes * 2**20 // 4, np.float32)
  y = np.empty_like(x)
  seconds = timed(lambda: np.copyto(y, x), 7)
  return 2 * x.nbytes / seconds


def compare_sampling() -> None:
  b, p, n = _BATCH.value, _PROMPT.value, _NEW.value
  config = model_config()
  from lm.models.transformer import Decoder  # pylint: disable=import-outside-toplevel
  model = Decoder(config)
  params = jax.jit(lambda r: model.init(r, jnp.ones((1, p), jnp.int32))["params"])(jax.random.key(0))
  params = jax.tree.map(lambda x: getattr(x, "value", x), params, is_leaf=lambda x: hasattr(x, "value"))
  prompts = np.random.default_rng(0).integers(1, _VOCAB.value - 1, (b, p)).astype(np.int32)
  mask = np.ones_like(prompts, bool)
  sampling = decode.SamplingConfig(max_new_tokens=n, temperature=1.0, top_k=_TOP_K.value, stop_at_eos=False)
  rng = jax.random.key(1)

  def ours():
    tokens, _ = decode.generate(model, params, prompts, mask, rng, config=sampling, eos_id=-1)
    jax.block_until_ready(tokens)

  torch, hf = torch_model()
  hf.eval()
  prompt_tensor = torch.from_numpy(prompts.astype(np.int64))

  def theirs():
    with torch.no_grad():
      out = hf.generate(prompt_tensor, attention_mask=torch.ones_like(prompt_tensor), do_sample=True,
                        top_k=_TOP_K.value, max_new_tokens=n, min_new_tokens=n, pad_token_id=0)
    assert out.shape[1] == p + n, out.shape

  timings = alternate(ours, theirs)
  timings.report(f"sampling (batch {b}, {p}-token prompts, {n} new tokens, top-k {_TOP_K.value})", b * n, "new tokens")

  # The decode step's floor: every weight read once, and the KV cache (keys and values of every layer) up to the
  # current position; averaged over the new tokens. The prefill is a small share of the call at these lengths.
  weight_bytes = sum(x.nbytes for x in jax.tree.leaves(params))
  kv_per_position = 2 * config.num_layers * b * config.kv_heads * config.head_size * 4
  mean_cache_bytes = kv_per_position * (p + (n + 1) / 2)
  bandwidth = copy_bandwidth()
  bound = (weight_bytes + mean_cache_bytes) / bandwidth
  step = float(np.median(timings.ours)) / n
  if _TRACE.value:
    trace_sampling(model, params, prompts, mask, rng, sampling)
  floor, count = decode_matmul_floor(model, params, b, p + n)
  print(f"  decode step's matmuls alone ({count} per step, each reading its own weights or cache, one compiled loop): "
        f"{floor * 1000:.2f} ms: even if nothing else cost time, lm could sample at most {b / floor:,.0f} tokens/s, "
        f"{b / floor / float(np.median(np.asarray(timings.theirs) ** -1 * b * n)):.2f}x transformers' median here")
  print(f"  decode step: lm {step * 1000:.2f} ms per token step (prefill included); memory-bandwidth bound "
        f"{bound * 1000:.2f} ms ({(weight_bytes + mean_cache_bytes) / 2**20:.0f} MiB read per step: weights "
        f"{weight_bytes / 2**20:.0f} MiB, mean KV cache {mean_cache_bytes / 2**20:.1f} MiB; copy bandwidth "
        f"{bandwidth / 1e9:.1f} GB/s): {bound / step:.0%} of the bound")


def decode_matmul_floor(model, params, batch: int, cache_len: int) -> tuple[float, int]:
  """Seconds of one decode step's matmuls (projections, attention over a full cache, logits) run alone; their count."""
  decoder, cache = decode.init_cache(model, batch, cache_len)
  ones = jnp.ones((batch, 1), jnp.int32)
  one_step = lambda params, cache: decoder.apply({"params": params, "cache": cache}, ones, ones, ones,
                                                 mutable=["cache"])[0]
  found = matmul_ceiling.dots(one_step, params, cache)
  return matmul_ceiling.sequence_seconds(found), sum(found.values())


def trace_sampling(model, params, prompts, mask, rng, sampling) -> None:
  """Traces one sampling call and prints its longest operations per decode step."""
  call = lambda: decode.generate(model, params, prompts, mask, rng, config=sampling, eos_id=-1)[0]
  sources = traces.instruction_sources(
      decode.generate.lower(model, params, prompts, mask, rng, config=sampling, eos_id=-1).compile().as_text())
  with jax.profiler.trace(_TRACE.value):
    jax.block_until_ready(call())
  per_op, busy = traces.op_seconds(traces.latest_trace(_TRACE.value))
  n = sampling.max_new_tokens
  print(f"  one sampling call, traced: ops ran {busy * 1000 / n:.2f} ms per token step (their union), "
        f"{sum(per_op.values()) * 1000 / n:.2f} ms summed over threads; trace in {_TRACE.value}; per token step:")
  traces.print_longest(per_op, sources, scale=1 / n, n=25)


def main(argv):
  del argv
  print(f"GPT-2 architecture, {_LAYERS.value} layers x {_WIDTH.value}, {_HEADS.value} heads, vocabulary "
        f"{_VOCAB.value}, float32, {os.cpu_count()} CPU cores, {_ROUNDS.value} alternating rounds of {_STEPS.value}")
  if "train" in _WHAT.value:
    compare_train()
  if "sample" in _WHAT.value:
    compare_sampling()


if __name__ == "__main__":
  cli.run(main)
