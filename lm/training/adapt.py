"""Training less than the whole model: a frozen backbone (linear probing), or LoRA adapters.

LoRA puts low-rank adapters on the attention and MLP projections, as a transformation of parameters.

A targeted kernel W (reshaped to a matrix [in, out]) is used as W + (alpha / rank) * A @ B with
A [in, rank] (small random) and B [rank, out] (zeros), so training starts exactly at the
pretrained model. The model code does not change: the train state holds
`{"base": params, "lora": adapters}`, the loss sees `merge(...)`, and the optimiser updates only
the adapters and the task's new heads (`optimizer`), so the pretrained weights stay as they were.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from lm import settings


@dataclasses.dataclass(frozen=True)
class AdaptConfig:
  freeze_backbone: bool = False                       # train only the task's new heads (linear probing)
  lora_rank: int = 0                                  # LoRA adapter rank; 0 = no LoRA
  lora_alpha: float = 16.0                            # the adapters' update is scaled by alpha / rank
  lora_targets: tuple[str, ...] = ("attention", "mlp")  # kernels whose path contains one of these get adapters

  @property
  def lora(self) -> bool:
    return self.lora_rank > 0


def _path(keypath) -> str:
  return "/".join(str(getattr(k, "key", k)) for k in keypath)


def _split(shape: tuple[int, ...], d_model: int) -> int:
  """How many leading axes of a kernel are its inputs: the d_model axis of q/k/v/up, else all but the last."""
  return 1 if shape[0] == d_model else len(shape) - 1


def _targeted(path: str, leaf, config: AdaptConfig) -> bool:
  return path.endswith("kernel") and getattr(leaf, "ndim", 0) >= 2 and any(t in path for t in config.lora_targets)


def init(params, config: AdaptConfig, d_model: int, rng: jax.Array) -> dict[str, dict[str, jax.Array]]:
  """Adapters `{kernel path: {"a": [in, r], "b": [r, out]}}` for every targeted kernel of `params`."""
  adapters = {}
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  for i, (keypath, kernel) in enumerate(leaves):
    path = _path(keypath)
    if not _targeted(path, kernel, config):
      continue
    k = _split(kernel.shape, d_model)
    fan_in, fan_out = math.prod(kernel.shape[:k]), math.prod(kernel.shape[k:])
    a = jax.random.normal(jax.random.fold_in(rng, i), (fan_in, config.lora_rank), jnp.float32) / math.sqrt(fan_in)
    adapters[path] = {"a": a.astype(kernel.dtype), "b": jnp.zeros((config.lora_rank, fan_out), kernel.dtype)}
  if not adapters:
    raise settings.ConfigError(f"adapt.lora_targets={config.lora_targets} matches no kernel of the model.")
  return adapters


def merge(params: dict, config: AdaptConfig) -> Any:
  """The effective parameters `base + (alpha / rank) * A @ B` for a `{"base", "lora"}` tree."""
  base, adapters = params["base"], params["lora"]
  scale = config.lora_alpha / config.lora_rank

  def apply(keypath, kernel):
    adapter = adapters.get(_path(keypath))
    if adapter is None:
      return kernel
    delta = (adapter["a"] @ adapter["b"]) * scale
    return kernel + delta.reshape(kernel.shape).astype(kernel.dtype)

  return jax.tree_util.tree_map_with_path(apply, base)


def wrap_loss(loss_fn: Callable, config: AdaptConfig) -> Callable:
  return lambda params, batch, rng: loss_fn(merge(params, config), batch, rng)


def wrap_evaluate(evaluate: Callable, config: AdaptConfig) -> Callable:
  return lambda params, records: evaluate(merge(params, config), records)


def wrap_warm_start(warm_start: Callable | None) -> Callable | None:
  """A warm start of the base parameters (the adapters stay freshly initialised)."""
  return None if warm_start is None else lambda params: {**params, "base": warm_start(params["base"])}


def wrap_init(init_params: Callable, config: AdaptConfig, d_model: int) -> Callable:
  """`rng -> {"base": params, "lora": adapters}` from the task's `rng -> params`."""

  def make(rng):
    base = init_params(rng)
    return {"base": base, "lora": init(jax.tree.map(lambda x: getattr(x, "value", x), base,
                                                    is_leaf=lambda x: hasattr(x, "value")),
                                       config, d_model, jax.random.fold_in(rng, 1))}

  return make


def optimizer(inner: optax.GradientTransformation, config: AdaptConfig,
              backbone_key: str) -> optax.GradientTransformation:
  """`inner` on what trains, nothing on what is frozen.

  Frozen: the backbone (`backbone_key`; "" = the whole model, when the task adds no heads) if
  `freeze_backbone` or LoRA is on. With LoRA the adapters train, and so do the new heads.
  """
  if not (config.freeze_backbone or config.lora):
    return inner
  if config.freeze_backbone and not backbone_key:
    raise settings.ConfigError("adapt.freeze_backbone needs a task with new heads (sentiment, ner); this task "
                               "trains the pretrained model itself (use adapt.lora_rank instead).")

  def base_labels(base):
    return "frozen" if not backbone_key else {k: "frozen" if k == backbone_key else "trained" for k in base}

  def labels(params):
    if config.lora:
      return {"base": base_labels(params["base"]), "lora": "trained"}
    return base_labels(params)

  return optax.multi_transform({"trained": inner, "frozen": optax.set_to_zero()}, labels)
