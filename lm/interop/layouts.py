"""Name and layout maps between a Hugging Face state dict and an `lm` parameter tree, in both directions.

A family (`gpt2.py`, `llama.py`, ...) lists `Rule`s: one checkpoint tensor, the `lm` parameter(s) it
becomes, and the two layout functions. Layouts are written with `jax.numpy` so that `jax.eval_shape`
derives the checkpoint shape a config implies, and a tensor of another shape is refused by name before
anything is converted.

`lm` kernels are `[in..., out...]` with heads split out (`query`: [D, N, H], `out`: [N, H, D]); PyTorch's
`nn.Linear` stores `[out, in]` and GPT-2's `Conv1D` `[in, out]`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
from absl import logging
from flax import traverse_util

from lm.interop.hf_files import CheckpointError

Layout = tuple[Callable, Callable]  # (checkpoint tensor -> lm arrays tuple, lm arrays -> checkpoint tensor)


@dataclasses.dataclass(frozen=True)
class Rule:
  hf: str                      # tensor name in the checkpoint
  lm: tuple[str, ...]          # the parameter path(s) it fills, "/"-separated
  layout: Layout
  optional: bool = False       # a head the checkpoint may lack (e.g. BertModel without the pretraining heads)


def rule(hf: str, lm: str | Sequence[str], layout: Layout, optional: bool = False) -> Rule:
  return Rule(hf, (lm,) if isinstance(lm, str) else tuple(lm), layout, optional)


IDENTITY: Layout = (lambda a: (a,), lambda a: a)


def linear(in_dims: Sequence[int], out_dims: Sequence[int]) -> Layout:
  """torch `nn.Linear.weight` [out, in] <-> kernel [*in_dims, *out_dims]."""
  i, o = math.prod(in_dims), math.prod(out_dims)
  return (lambda w: (w.T.reshape(*in_dims, *out_dims),), lambda k: k.reshape(i, o).T)


def conv1d(in_dims: Sequence[int], out_dims: Sequence[int]) -> Layout:
  """GPT-2's `Conv1D.weight` [in, out] <-> kernel [*in_dims, *out_dims]."""
  i, o = math.prod(in_dims), math.prod(out_dims)
  return (lambda w: (w.reshape(*in_dims, *out_dims),), lambda k: k.reshape(i, o))


def reshape(dims: Sequence[int]) -> Layout:
  """A flat checkpoint vector (a bias) <-> an array of shape `dims`."""
  return (lambda a: (a.reshape(*dims),), lambda a: a.reshape(-1))


def transpose() -> Layout:
  """A matrix stored the other way round (an untied output projection [V, D] <-> kernel [D, V])."""
  return (lambda a: (a.T,), lambda a: a.T)


def zeros(shape: Sequence[int]) -> Layout:
  """A checkpoint tensor with no `lm` parameter behind it, exported as zeros (GPT-2's biases of a bias-free model)."""
  return (lambda a: (), lambda: jnp.zeros(tuple(shape), jnp.float32))


def fused(axis: int, parts: Sequence[Layout], sizes: Sequence[int]) -> Layout:
  """One checkpoint tensor holding several parameters side by side along `axis` (GPT-2's fused qkv)."""
  cuts = [sum(sizes[:i + 1]) for i in range(len(sizes) - 1)]

  def to_lm(a):
    return tuple(part[0](piece)[0] for part, piece in zip(parts, jnp.split(a, cuts, axis=axis)))

  def to_hf(*arrays):
    return jnp.concatenate([part[1](x) for part, x in zip(parts, arrays)], axis=axis)

  return to_lm, to_hf


def _flat(params) -> dict[str, jax.Array]:
  return {"/".join(k): v for k, v in traverse_util.flatten_dict(params).items()}


def to_lm(rules: Sequence[Rule], tensors, abstract_params, where: str, fresh: Callable[[], object],
          ignore: Callable[[str], bool] = lambda _: False):
  """The `lm` parameter tree (the shapes and dtypes of `abstract_params`) with every rule's tensor converted into it.

  A required tensor that is missing, or any tensor whose shape is not the one the config implies, raises
  `CheckpointError` naming it. Optional heads the checkpoint lacks take their values from `fresh()` (an
  initialised model, built only then; logged).
  """
  flat = _flat(abstract_params)
  for r in rules:
    missing = [p for p in r.lm if p not in flat]
    if missing:
      raise AssertionError(f"rule for {r.hf} names unknown parameters {missing}")  # a bug in the family's rules
  problems = []
  for r in rules:
    if r.hf not in tensors:
      if not r.optional:
        problems.append(f"no tensor {r.hf!r}")
      continue
    expected = jax.eval_shape(r.layout[1], *(flat[p] for p in r.lm)).shape
    if tuple(tensors.shape(r.hf)) != tuple(expected):
      problems.append(f"tensor {r.hf!r} has shape {tuple(tensors.shape(r.hf))}, but the config implies {tuple(expected)}")
  if problems:
    raise CheckpointError(f"{where}: {problems[0]}" + (f" (and {len(problems) - 1} more problems)"
                                                         if len(problems) > 1 else "") + ".")
  kept = []
  for r in rules:
    if r.hf not in tensors:
      kept.extend(r.lm)
      continue
    for path, value in zip(r.lm, r.layout[0](jnp.asarray(tensors[r.hf]))):
      flat[path] = value.astype(flat[path].dtype)
  if kept:
    initialised = _flat(fresh())
    flat.update({path: initialised[path] for path in kept})
    logging.warning("%s lacks %s; those parameters keep a fresh initialisation.", where, ", ".join(kept))
  unset = [path for path, value in flat.items() if isinstance(value, jax.ShapeDtypeStruct)]
  if unset:
    raise AssertionError(f"no rule fills {unset}")  # a bug in the family's rules
  used = {r.hf for r in rules}
  unused = sorted(name for name in tensors if name not in used and not ignore(name))
  if unused:
    logging.warning("%s: %d tensors are not used: %s", where, len(unused), ", ".join(unused[:8]))
  return traverse_util.unflatten_dict({tuple(k.split("/")): v for k, v in flat.items()})


def to_hf(rules: Sequence[Rule], params) -> dict[str, jax.Array]:
  """The checkpoint's tensors from an `lm` parameter tree (every rule's, optional heads included)."""
  flat = _flat(params)
  return {r.hf: r.layout[1](*(flat[p] for p in r.lm)) for r in rules}


def check_keys(config: Mapping, supported: Mapping[str, Callable[[object], bool]], where: str) -> None:
  """Refuses a checkpoint config whose value at a key `lm` cannot reproduce (the key and the value named)."""
  for key, ok in supported.items():
    if key in config and not ok(config[key]):
      raise CheckpointError(f"{where}: {key}={config[key]!r} is not supported by lm's models.")
