"""Checkpoints with orbax: the train state and the grain iterator, saved together, async, keep-N.

A step directory is written under a temporary name and renamed when complete (orbax's atomic
commit), so a crash or preemption mid-save leaves the previous checkpoints intact; leftover
temporary directories are removed when the next manager opens.
Restoring checks the saved shapes against the model first and names any mismatching parameter.
A latest checkpoint that cannot be read (truncated, corrupted) is skipped with a warning and the previous
one is used (the bad one is then moved to `<dir>.corrupt/`); a run never restarts from scratch while
checkpoints exist.
Checkpoints hold arrays (tensorstore) and JSON (metadata, the grain iterator): nothing is pickled,
so loading a checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging

from lm.training import iterator_state


class IncompatibleCheckpointError(ValueError):
  """The checkpoint's arrays do not fit the configured model."""


class CheckpointWriteError(RuntimeError):
  """A checkpoint could not be written (disk full, permissions); the ones before it are intact."""


@contextlib.contextmanager
def writing(mngr: ocp.CheckpointManager, step: int):
  """Turns a failed save of `step` (raised when it starts, or when its asynchronous write is awaited) into a
  `CheckpointWriteError` that says what survived and how to continue."""
  try:
    yield
  except (TypeError, AttributeError, KeyError, NameError):
    raise  # a bug (e.g. an unserialisable iterator state), not the filesystem: its own traceback says more
  except Exception as e:  # pylint: disable=broad-except  # tensorstore, OSError, orbax: all mean the same here
    kept = sorted(s for s in mngr.all_steps() if s != step)
    detail = str(e).splitlines()[0][:400] if str(e) else type(e).__name__
    raise CheckpointWriteError(
        f"Saving checkpoint {step} in {mngr.directory} failed: {detail}. "
        + (f"The checkpoints before it ({', '.join(map(str, kept))}) are intact; " if kept else "No checkpoint was "
           "saved before it; ")
        + "free disk space (or fix the cause) and re-run the same command to continue"
        + (f" from step {kept[-1]}." if kept else " from the start.")) from e


class UnreadableCheckpointsError(RuntimeError):
  """Every checkpoint of a run failed to load; starting from scratch would silently lose the run."""


def manager(directory: str, *, keep: int = 3, async_save: bool = True) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=async_save,
                                         create=True, cleanup_tmp_directories=True)
  # Handlers named up front so metadata can be read before anything was saved in this process.
  handlers = {"state": ocp.StandardCheckpointHandler(), "data": iterator_state.Handler()}
  return ocp.CheckpointManager(os.path.abspath(directory), options=options, item_handlers=handlers)


def save(mngr: ocp.CheckpointManager, step: int, state: Any, data_iterator=None, *, force: bool = False) -> bool:
  items = {"state": ocp.args.StandardSave(state)}
  if data_iterator is not None:
    items["data"] = iterator_state.Save(data_iterator)
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
    items["data"] = iterator_state.Restore(data_iterator)
  restored = mngr.restore(step, args=ocp.args.Composite(**items))
  return restored["state"]


def restore_latest(mngr: ocp.CheckpointManager, abstract_state: Any, data_iterator=None) -> tuple[int, Any]:
  """`(step, state)` from the newest readable checkpoint, or `(0, None)` if there is none.

  A checkpoint that fails to load for any reason but a model mismatch (truncated or corrupted files,
  a half-deleted step) is skipped with a warning naming it, and the one before it is tried. Once an
  earlier one loads, the unreadable ones are moved aside to `<checkpoints>.corrupt/<step>-<time>`
  (kept for inspection; their steps will be saved again). If none loads, nothing is moved (the cause
  may be this machine rather than the files) and `UnreadableCheckpointsError` is raised: the run must
  not quietly start again from step 0.
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  failures: list[tuple[int, str]] = []
  for step in steps:
    try:
      state = _restore_retrying(mngr, step, abstract_state, data_iterator)
    except IncompatibleCheckpointError:
      raise
    except Exception as e:  # pylint: disable=broad-except  # orbax, tensorstore and JSON each raise their own
      if jax.process_count() > 1:  # hosts must agree on the step to fall back to; until they can, stop clearly
        raise UnreadableCheckpointsError(f"Checkpoint {mngr.directory}/{step} cannot be read on process "
                                         f"{jax.process_index()}: {e}") from e
      detail = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
      failures.append((step, detail))
      logging.warning("Checkpoint %s/%d cannot be read (%s); trying the previous one.", mngr.directory, step, detail)
      continue
    for bad, _ in failures:
      logging.warning("Checkpoint %s/%d moved to %s.", mngr.directory, bad, quarantine(mngr, bad))
    return step, state
  if steps:
    raise UnreadableCheckpointsError(
        f"None of the {len(steps)} checkpoints in {mngr.directory} could be read; nothing was moved or deleted. "
        "Refusing to start the run again from step 0. Errors:\n  "
        + "\n  ".join(f"{step}: {detail}" for step, detail in failures)
        + "\nIf the files are damaged, restore them from a copy (or use a fresh --workdir); if this machine is the "
        "cause (memory, devices), fix that and re-run.")
  return 0, None


def _restore_retrying(mngr, step, abstract_state, data_iterator):
  """`restore`, tried twice: a passing failure (a network filesystem's hiccup) must not condemn a good checkpoint."""
  try:
    return restore(mngr, step, abstract_state, data_iterator)
  except IncompatibleCheckpointError:
    raise
  except Exception:  # pylint: disable=broad-except
    time.sleep(1.0)
    return restore(mngr, step, abstract_state, data_iterator)


def quarantine(mngr: ocp.CheckpointManager, step: int) -> str:
  """Moves step `step` out of the manager's directory (kept for inspection) and refreshes its step list."""
  source = os.path.join(str(mngr.directory), str(step))
  target = os.path.join(f"{mngr.directory}.corrupt", f"{step}-{time.strftime('%Y%m%d-%H%M%S')}")
  os.makedirs(os.path.dirname(target), exist_ok=True)
  shutil.move(source, target)
  mngr.reload()
  return target


def restore_params(directory: str, abstract_params: Any, step: int | None = None, *,
                   advice: str = RESUME_ADVICE) -> Any:
  """Only the parameters of a run's checkpoint (for `init_from`, sampling, evaluation, frozen models).

  Reads the `params` subtree alone (the optimiser's moments, twice the parameters' size under Adam,
  stay on disk), straight into `abstract_params`' shardings whatever layout the checkpoint was
  saved with, and in `abstract_params`' dtypes.
  """
  # The train state was saved by StandardCheckpointHandler; its on-disk format is a PyTree checkpoint,
  # and PyTreeCheckpointHandler can restore a part of it.
  mngr = ocp.CheckpointManager(os.path.abspath(directory), options=ocp.CheckpointManagerOptions(read_only=True),
                               item_handlers={"state": ocp.PyTreeCheckpointHandler()})
  try:
    step = mngr.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{directory}: no checkpoint found.")
    metadata = mngr.item_metadata(step)["state"]
    check_compatible(metadata["params"], abstract_params, f"checkpoint {directory}/{step}", advice)
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = {"params": jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=getattr(a, "sharding", None) or device),
        abstract_params)}
    restored = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target), partial_restore=True)))
  finally:
    mngr.close()
  return restored["state"]["params"]
