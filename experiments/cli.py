"""What every entry point shares: user-facing errors as one clear line, and quiet library logs."""

from __future__ import annotations

import contextlib
import difflib
import logging as std_logging
import os
import sys
from collections.abc import Callable

from absl import app, flags, logging
from ml_collections import config_flags

from lm import distributed, settings
from lm.data import formats, sources
from lm.rl import kl
from lm.training import checkpoint, loop

# Errors whose message already says what is wrong and what to do; no traceback needed.
USER_ERRORS = (settings.ConfigError, formats.FormatError, checkpoint.IncompatibleCheckpointError, loop.NonFiniteError,
               kl.KLLimitError, FileNotFoundError, ValueError, checkpoint.CheckpointWriteError,
               checkpoint.UnreadableCheckpointsError, sources.PreparedDataError)


@contextlib.contextmanager
def reported():
  try:
    yield
  except loop.Preempted as e:
    logging.warning("%s", e)
    sys.exit(loop.PREEMPTED_EXIT)
  except USER_ERRORS as e:
    logging.error("%s: %s", type(e).__name__, e)
    sys.exit(f"error: {e}")


# Multi-process runs without a scheduler (SLURM and TPU pods are detected): the same command on every
# machine, each with its own --process_id. Environment equivalents: LM_COORDINATOR_ADDRESS etc.
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-process runs "
                                   f"without SLURM; or ${distributed.COORDINATOR_ENV}).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, f"Processes in the run (or ${distributed.NUM_PROCESSES_ENV}).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, f"This process's index, 0-based (or ${distributed.PROCESS_ID_ENV}).")


def run(main: Callable[[list[str]], None]) -> None:
  """`app.run(main)` after joining the distributed runtime (when launched as several processes), with a config
  override that names no key, or a bad value, reported in one line, and the libraries' chatter left out of the log."""

  def start(argv):
    quiet_library_logs()
    try:
      distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    except ValueError as e:
      sys.exit(f"error: {e}")
    if not distributed.is_lead():  # tables and results are printed once, by process 0; logs (stderr) stay per process
      sys.stdout.flush()
      os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # also what C++ prints (gloo's connection messages)
      sys.stdout = open(os.devnull, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    main(argv)

  app.run(start, flags_parser=_parse_flags)


def _parse_flags(argv: list[str]) -> list[str]:
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    lines = [line for line in str(e).splitlines() if line.strip()]
    # A config file that raised while loading: ml_collections embeds its whole traceback; its last line is the error.
    shown = f"{lines[0].rstrip(':')}: {lines[-1]}" if len(lines) > 1 else str(e)
    sys.exit(f"error: {shown}\nPass --helpshort for the flags.")
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    sys.exit(f"error: {_explain_override(argv) or e}")


def _explain_override(argv: list[str]) -> str | None:
  """`Unknown config key a.b. Did you mean a.c?` for the first `--config.a.b=...` whose path the config lacks."""
  spec = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
  if spec is None:
    return None
  try:
    config = settings.load_config(spec)
  except Exception:  # pylint: disable=broad-except  # the config file itself is broken: let its error speak
    return None
  for arg in argv:
    if not arg.startswith("--config."):
      continue
    path = arg[len("--config."):].split("=", 1)[0].split(".")
    node = config
    for depth, key in enumerate(path):
      keys = list(node.keys()) if hasattr(node, "keys") else []
      if key not in keys:
        where = ".".join(path[:depth + 1])
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f" Did you mean {'.'.join(path[:depth] + close)}?" if close else ""
        parent = f" of {'.'.join(path[:depth])}" if depth else ""
        valid = f" Valid keys{parent}: {', '.join(sorted(keys))}." if keys else ""
        return f"Unknown config key {where} (from {arg}).{hint}{valid}"
      node = node[key]
  return None


class _LibraryChatter(std_logging.Filter):
  """Drops INFO records from orbax, TFDS and grain internals (kept at WARNING and above), JAX's notes on the
  backends it looked for and did not find (libtpu on a CPU machine), and orbax's warning that a checkpoint holds an
  item this restore did not ask for (the data iterator's state, when only parameters are loaded)."""

  NOISY = ("/orbax/", "/tensorflow_datasets/", "/grain/", "/etils/", "/jax/_src/xla_bridge.py")
  EXPECTED = ("was found in the checkpoint, but could not be restored", "read_only=True, setting",
              "Given directory is read only")

  def filter(self, record: std_logging.LogRecord) -> bool:
    if any(e in record.getMessage() for e in self.EXPECTED):
      return False
    return record.levelno >= std_logging.WARNING or not any(n in record.pathname for n in self.NOISY)


def quiet_library_logs() -> None:
  # On absl's handler (what every propagated record reaches: JAX logs through its own loggers) and on its logger.
  chatter = _LibraryChatter()
  logging.get_absl_handler().addFilter(chatter)
  std_logging.getLogger("absl").addFilter(chatter)


def define_run_flags(example: str, workdir_help: str = "Run directory: config.json, metrics.jsonl, checkpoints/."):
  """The `--config` and `--workdir` flags every stage takes (both required)."""
  config = config_flags.DEFINE_config_file("config", None, f"Config file, e.g. {example}.")
  workdir = flags.DEFINE_string("workdir", None, workdir_help)
  flags.mark_flags_as_required(["config", "workdir"])
  return config, workdir


def exit_if_preempted(result: loop.Result) -> None:
  """Exit code 143 (SIGTERM's) after a preemption, so schedulers requeue the same command."""
  if result.preempted:
    logging.warning("Preempted at step %d; re-run the same command to resume.", result.step)
    sys.exit(loop.PREEMPTED_EXIT)
