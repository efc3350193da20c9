"""Optimisers and learning-rate schedules from config (optax)."""

from __future__ import annotations

import dataclasses

import jax
import optax


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  name: str = "adamw"             # "adamw" | "adafactor" | "sgd"
  learning_rate: float = 1e-3     # peak rate, reached at the end of warmup
  warmup_steps: int = 100         # linear warmup from 0
  decay: str = "cosine"           # after warmup: "cosine" | "linear" | "constant"
  final_fraction: float = 0.1     # decayed rate at the last step, as a fraction of the peak
  b1: float = 0.9
  b2: float = 0.95
  eps: float = 1e-8
  weight_decay: float = 0.1       # decoupled; only weight matrices and embeddings decay (not norms, biases or scalars)
  clip_norm: float = 1.0          # global gradient-norm clipping; 0 disables


def make_schedule(config: OptimizerConfig, total_steps: int) -> optax.Schedule:
  peak, warmup = config.learning_rate, max(config.warmup_steps, 0)
  decay_steps = max(total_steps - warmup, 1)
  end = peak * config.final_fraction
  if config.decay == "cosine":
    after = optax.cosine_decay_schedule(peak, decay_steps, alpha=config.final_fraction)
  elif config.decay == "linear":
    after = optax.linear_schedule(peak, end, decay_steps)
  elif config.decay == "constant":
    after = optax.constant_schedule(peak)
  else:
    raise ValueError(f"optimizer.decay must be 'cosine', 'linear' or 'constant', got {config.decay!r}.")
  if not warmup:
    return after
  return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), after], [warmup])


def decay_mask(params):
  """Which parameters weight decay applies to: weight matrices and embedding tables, as GPT-2 recipes do (every
  tensor of two or more dimensions in PyTorch's layout). Not norms, scalars, or biases, including the attention
  biases that `lm` stores per head as [heads, head_dim] (2-D here, 1-D in PyTorch)."""

  def decays(path, p):
    return p.ndim >= 2 and getattr(path[-1], "key", None) != "bias"

  return jax.tree_util.tree_map_with_path(decays, params)


def make_optimizer(config: OptimizerConfig, total_steps: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
  schedule = make_schedule(config, total_steps)
  if config.name == "adamw":
    opt = optax.adamw(schedule, b1=config.b1, b2=config.b2, eps=config.eps, weight_decay=config.weight_decay,
                      mask=decay_mask)
  elif config.name == "adafactor":
    opt = optax.adafactor(schedule, weight_decay_rate=config.weight_decay or None)
  elif config.name == "sgd":
    opt = optax.sgd(schedule, momentum=config.b1)
  else:
    raise ValueError(f"optimizer.name must be 'adamw', 'adafactor' or 'sgd', got {config.name!r}.")
  if config.clip_norm:
    opt = optax.chain(optax.clip_by_global_norm(config.clip_norm), opt)
  return opt, schedule
