"""Many processes, one run: starting JAX's distributed runtime, and the rules every stage follows.

- `initialize()` joins the processes of a run into one JAX runtime (every process then sees the
  global device list) when the run was launched as several tasks: by SLURM (`srun -n N`, several
  tasks in the step), by explicit settings (`--coordinator_address/--num_processes/--process_id` or
  `LM_COORDINATOR_ADDRESS/LM_NUM_PROCESSES/LM_PROCESS_ID`, for machines without a scheduler), or on
  request (`LM_DISTRIBUTED=1`: JAX detects the cluster itself, as on Cloud TPU pod slices). Launched
  as one process, it does nothing and everything runs as before.
- Process 0 alone writes run files (`is_lead()`): config, metrics, TensorBoard, results, samples,
  plots, the tokenizer. Checkpoints are written collectively by orbax. Shared caches (prepared data,
  trained tokenizers) are filled under a file lock (`file_lock`), which also keeps concurrent runs of
  a sweep from building the same dataset twice.
- Collective steps must see the same number of batches on every process: `any_process(flag)` lets
  processes agree whether anyone still has data.
- Generation, scoring and prediction work on host arrays that every process holds in full (prompts,
  choices, rollouts: derived from the config alike everywhere). `put_rows` makes them global arrays
  split by rows over the mesh's batch axes, each process uploading only the rows its devices hold;
  `get_rows` gathers the results once, as numpy on every process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec

COORDINATOR_ENV = "LM_COORDINATOR_ADDRESS"   # host:port of process 0
NUM_PROCESSES_ENV = "LM_NUM_PROCESSES"
PROCESS_ID_ENV = "LM_PROCESS_ID"
AUTO_ENV = "LM_DISTRIBUTED"                  # "1": let JAX detect the cluster (TPU pods, Kubernetes, MPI)
BATCH_AXES = ("data", "fsdp")                # the mesh axes rows are split over (lm.training.sharding's mesh)


def slurm_tasks() -> int:
  """Tasks in the current SLURM job step (1 outside SLURM or in a batch script's own shell)."""
  if "SLURM_STEP_ID" not in os.environ and "SLURM_STEPID" not in os.environ:
    return 1
  return int(os.environ.get("SLURM_STEP_NUM_TASKS", os.environ.get("SLURM_NTASKS", "1")))


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
  """Starts the distributed runtime if this process is one of several; returns whether it did.

  Explicit arguments win over the environment variables above; under SLURM the tasks of the job
  step are found by JAX itself. Must run before anything touches a device.
  """
  if jax.distributed.is_initialized():
    return True
  coordinator_address = coordinator_address or os.environ.get(COORDINATOR_ENV) or None
  if num_processes is None and os.environ.get(NUM_PROCESSES_ENV):
    num_processes = int(os.environ[NUM_PROCESSES_ENV])
  if process_id is None and os.environ.get(PROCESS_ID_ENV):
    process_id = int(os.environ[PROCESS_ID_ENV])
  explicit = (coordinator_address, num_processes, process_id)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise ValueError("Explicit multi-process settings need all three of coordinator_address, num_processes and "
                       f"process_id (flags or {COORDINATOR_ENV}/{NUM_PROCESSES_ENV}/{PROCESS_ID_ENV}); got "
                       f"coordinator_address={coordinator_address}, num_processes={num_processes}, "
                       f"process_id={process_id}.")
    if not 0 <= process_id < num_processes:
      raise ValueError(f"process_id={process_id} must lie in [0, num_processes={num_processes}).")
    if num_processes == 1:
      return False
    how = f"explicit settings ({coordinator_address})"
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
  elif slurm_tasks() > 1:
    how = f"SLURM job {os.environ.get('SLURM_JOB_ID')} step {os.environ.get('SLURM_STEP_ID')}"
    jax.distributed.initialize()
  elif os.environ.get(AUTO_ENV, "") not in ("", "0"):
    how = "cluster detection"
    jax.distributed.initialize()
  else:
    return False
  logging.info("Distributed runtime via %s: process %d of %d, %d local / %d global devices.", how,
               jax.process_index(), jax.process_count(), jax.local_device_count(), jax.device_count())
  return True


def is_lead() -> bool:
  """Whether this process writes the run's files (process 0; the only process when there is one).

  Asks JAX only once the distributed runtime is up: a single process (a sweep driver on a login node)
  must not start a device backend just to learn that it is alone.
  """
  return not jax.distributed.is_initialized() or jax.process_index() == 0


def any_process(flag: bool) -> bool:
  """True on every process if `flag` is true on any one (a collective: every process must call it)."""
  if jax.process_count() == 1:
    return bool(flag)
  return bool(np.any(multihost_utils.process_allgather(np.asarray(bool(flag)))))


def mesh_of(tree) -> jax.sharding.Mesh | None:
  """The mesh of the first array in `tree` laid out on one (parameters from the loop or a checkpoint), or None."""
  for leaf in jax.tree.leaves(tree):
    if isinstance(getattr(leaf, "sharding", None), NamedSharding):
      return leaf.sharding.mesh
  return None


def put_rows(mesh: jax.sharding.Mesh | None, tree):
  """Host arrays (the same on every process) -> global arrays split by rows over the mesh's batch axes.

  Rows are padded with zeros to a multiple of the batch axes' size (`get_rows` drops them). Without a
  mesh (parameters on one device) the arrays simply go to the default device.
  """
  if mesh is None:
    return jax.tree.map(jnp.asarray, tree)
  sharding = NamedSharding(mesh, PartitionSpec(BATCH_AXES))
  multiple = int(np.prod([mesh.shape[a] for a in BATCH_AXES]))

  def put(x):
    x = np.asarray(x)
    if len(x) % multiple:
      x = np.concatenate([x, np.zeros((multiple - len(x) % multiple, *x.shape[1:]), x.dtype)])
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

  return jax.tree.map(put, tree)


def get_rows(tree, rows: int):
  """The first `rows` rows of each (global) array in `tree`, as numpy on every process."""

  def get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)[:rows]

  return jax.tree.map(get, tree)


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
  """An exclusive lock on `path` (created if missing) across processes and jobs sharing the filesystem."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "a", encoding="utf-8") as f:
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f.fileno(), fcntl.LOCK_UN)
