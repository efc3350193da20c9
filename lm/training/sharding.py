"""The device mesh and the one table that maps logical axis names to mesh axes.

Mesh axes: `data` (batch split, parameters replicated), `fsdp` (batch split, parameters and
optimiser state split too), `tensor` (heads / MLP / vocabulary split inside a layer).
Parallelism is chosen by the mesh sizes in the config; the model code never changes.
"""

from __future__ import annotations

import contextlib
import dataclasses

import flax.linen as nn
import jax
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from lm import distributed

MESH_AXES = ("data", "fsdp", "tensor")

# logical axis -> mesh axis (or axes, or None for replicated). Parameters first, then activations.
LOGICAL_RULES: tuple[tuple[str, str | tuple[str, ...] | None], ...] = (
    ("embed", "fsdp"),
    ("vocab", "tensor"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("head_dim", None),
    ("position", None),
    ("relative_buckets", None),
    ("norm", None),
    ("layers", None),
    ("classes", None),
    ("act_batch", ("data", "fsdp")),
    ("act_length", None),
    ("act_embed", None),
)


@dataclasses.dataclass(frozen=True)
class MeshConfig:
  data: int = -1    # -1: all devices not used by the other axes
  fsdp: int = 1
  tensor: int = 1


def make_mesh(config: MeshConfig, devices=None) -> Mesh:
  devices = list(devices if devices is not None else jax.devices())
  sizes = {"data": config.data, "fsdp": config.fsdp, "tensor": config.tensor}
  fixed = int(np.prod([s for s in sizes.values() if s != -1]))
  free = [a for a, s in sizes.items() if s == -1]
  if len(free) > 1:
    raise ValueError(f"At most one mesh axis may be -1, got {sizes}.")
  if free:
    if len(devices) % fixed:
      raise ValueError(f"mesh: {len(devices)} devices cannot be split into {sizes} (product of fixed axes {fixed}).")
    sizes[free[0]] = len(devices) // fixed
  total = int(np.prod(list(sizes.values())))
  if total > len(devices):
    raise ValueError(f"mesh {sizes} needs {total} devices, but only {len(devices)} are available.")
  if total < len(devices):
    logging.warning("mesh %s uses %d of the %d devices (set mesh.data=-1 to use all).", sizes, total, len(devices))
  shape = tuple(sizes[a] for a in MESH_AXES)
  return Mesh(np.asarray(devices[:total]).reshape(shape), MESH_AXES)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Batches are split over `data` and `fsdp` on their leading axis."""
  return NamedSharding(mesh, P(distributed.BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


@contextlib.contextmanager
def activation_rules(mesh: Mesh):
  """Inside a traced function: the model's `nn.with_logical_constraint` annotations take effect.

  They are no-ops unless logical-axis rules and a mesh are both active while tracing; the train and
  eval steps trace their bodies inside this context, so activations are constrained on `mesh`
  (for example the residual stream split on `data` x `fsdp` between blocks).
  """
  with nn.logical_axis_rules(LOGICAL_RULES), jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
    yield


def logical_shardings(abstract_tree, mesh: Mesh):
  """NamedShardings for a tree whose leaves may carry `nn.LogicallyPartitioned` metadata."""
  specs = nn.get_partition_spec(abstract_tree)
  return nn.logical_to_mesh_sharding(specs, mesh, LOGICAL_RULES)
