"""Checkpoints with orbax: the train state and the grain iterator, saved together, async, keep-N.

A step directory is written under a temporary name and renamed when complete (orbax's atomic
commit), so a crash or preemption mid-save leaves the previous checkpoints intact.
Restoring checks the saved shapes against the model first and names any mismatching parameter.
"""

from __future__ import annotations

import os
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp


class IncompatibleCheckpointError(ValueError):
  """The checkpoint's arrays do not fit the configured model."""


def manager(directory: str, *, keep: int = 3, async_save: bool = True) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=async_save,
                                         create=True)
  # Handlers named up front so metadata can be read before anything was saved in this process.
  handlers = {"state": ocp.StandardCheckpointHandler(), "data": grain.checkpoint.CheckpointHandler()}
  return ocp.CheckpointManager(os.path.abspath(directory), options=options, item_handlers=handlers)


def save(mngr: ocp.CheckpointManager, step: int, state: Any, data_iterator=None, *, force: bool = False) -> bool:
  items = {"state": ocp.args.StandardSave(state)}
  if data_iterator is not None:
    items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
  return mngr.save(step, args=ocp.args.Composite(**items), force=force)


def _path(keypath) -> str:
  return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in keypath)


RESUME_ADVICE = "Use the model config the checkpoint was trained with, or a fresh --workdir."


def check_compatible(saved_metadata: Any, abstract: Any, where: str, advice: str = RESUME_ADVICE) -> None:
  """Raises `IncompatibleCheckpointError` naming the first parameters whose shapes disagree."""
  saved = {_path(p): tuple(getattr(m, "shape", ())) for p, m in jax.tree_util.tree_flatten_with_path(saved_metadata)[0]}
  wanted = {_path(p): tuple(a.shape) for p, a in jax.tree_util.tree_flatten_with_path(abstract)[0]}
  problems = [f"{k}: checkpoint has shape {saved[k]}, the model expects {wanted[k]}"
              for k in sorted(wanted, key=lambda k: (not k.startswith("params"), k))
              if k in saved and saved[k] != wanted[k]]
  missing = sorted(set(wanted) - set(saved))
  extra = sorted(set(saved) - set(wanted))
  problems += [f"{k}: missing from the checkpoint" for k in missing[:5]]
  problems += [f"{k}: in the checkpoint but not in the model" for k in extra[:5]]
  if problems:
    shown = "\n  ".join(problems[:10])
    raise IncompatibleCheckpointError(
        f"{where} does not fit the configured model ({len(problems)} problem(s)):\n  {shown}\n{advice}")


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: Any, data_iterator=None) -> Any:
  """Restores the state (into `abstract_state`'s shardings) and, in place, the data iterator."""
  where = f"checkpoint {mngr.directory}/{step}"
  metadata = mngr.item_metadata(step)
  state_metadata = metadata["state"] if metadata is not None else None
  if state_metadata is not None:
    check_compatible(state_metadata, abstract_state, where)
  items = {"state": ocp.args.StandardRestore(abstract_state)}
  if data_iterator is not None:
    items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
  restored = mngr.restore(step, args=ocp.args.Composite(**items))
  return restored["state"]


def restore_params(directory: str, abstract_params: Any, step: int | None = None, *,
                   advice: str = RESUME_ADVICE) -> Any:
  """Only the parameters of a run's checkpoint (for `init_from`, sampling, evaluation).

  Works whatever device layout the checkpoint was saved with: arrays are read onto one device,
  then placed with `abstract_params`' shardings (if it has them).
  """
  mngr = manager(directory, async_save=False)
  try:
    step = mngr.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{directory}: no checkpoint found.")
    metadata = mngr.item_metadata(step)["state"]
    check_compatible(metadata["params"], abstract_params, f"checkpoint {directory}/{step}", advice)
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), metadata,
                          is_leaf=lambda m: hasattr(m, "shape"))
    restored = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))
  finally:
    mngr.close()
  params = restored["state"]["params"]
  return jax.tree.map(lambda p, a: jax.device_put(p.astype(a.dtype), getattr(a, "sharding", None)),
                      params, abstract_params)
