"""The train state, and creating it directly in its sharded layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from lm.training import sharding


@flax.struct.dataclass
class TrainState:
  step: jax.Array               # updates applied (skipped non-finite steps count too: data moved on)
  params: Any
  opt_state: Any
  skipped: jax.Array            # non-finite updates skipped so far
  skipped_in_a_row: jax.Array   # ... consecutively, up to this step


def _maker(init_params: Callable[[jax.Array], Any], optimizer: optax.GradientTransformation):
  def make(rng):
    boxed = init_params(rng)
    return TrainState(step=jnp.zeros((), jnp.int32), params=boxed, opt_state=optimizer.init(boxed),
                      skipped=jnp.zeros((), jnp.int32), skipped_in_a_row=jnp.zeros((), jnp.int32))

  return make


def abstract_state(init_params, optimizer, mesh: Mesh, rng: jax.Array) -> tuple[TrainState, Any]:
  """Shapes, dtypes and shardings of the state, without computing it (for checkpoint restore).

  `init_params(rng)` returns parameters, possibly boxed with logical axis names (`nn.Partitioned`);
  the boxes decide each array's sharding.
  """
  boxed = jax.eval_shape(_maker(init_params, optimizer), rng)
  shardings = sharding.logical_shardings(boxed, mesh)
  shapes = nn.unbox(boxed)
  abstract = jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), shapes, shardings)
  return abstract, shardings


def abstract_params(init_params, mesh: Mesh, rng: jax.Array) -> Any:
  """Shapes, dtypes and shardings of `init_params(rng)` alone (a frozen model restored from a checkpoint)."""
  boxed = jax.eval_shape(init_params, rng)
  shardings = sharding.logical_shardings(boxed, mesh)
  return jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), nn.unbox(boxed), shardings)


def create(init_params, optimizer, mesh: Mesh, rng: jax.Array) -> tuple[TrainState, Any]:
  """Initialises parameters and optimiser state directly in their sharded layout.

  Returns the state and its sharding tree (for the jitted step and checkpoint restore).
  """
  _, shardings = abstract_state(init_params, optimizer, mesh, rng)
  make = _maker(init_params, optimizer)
  state = jax.jit(lambda r: nn.unbox(make(r)), out_shardings=shardings)(rng)
  return state, shardings


def count_params(params) -> int:
  return sum(int(p.size) for p in jax.tree.leaves(params))
