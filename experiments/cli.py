"""What every entry point shares: user-facing errors as one clear line, and quiet library logs."""

from __future__ import annotations

import contextlib
import logging as std_logging
import sys

from absl import flags, logging
from ml_collections import config_flags

from lm import settings
from lm.data import formats
from lm.rl import kl
from lm.training import checkpoint, loop

# Errors whose message already says what is wrong and what to do; no traceback needed.
USER_ERRORS = (settings.ConfigError, formats.FormatError, checkpoint.IncompatibleCheckpointError, loop.NonFiniteError,
               kl.KLLimitError, FileNotFoundError, ValueError)


@contextlib.contextmanager
def reported():
  try:
    yield
  except USER_ERRORS as e:
    logging.error("%s: %s", type(e).__name__, e)
    sys.exit(f"error: {e}")


class _LibraryChatter(std_logging.Filter):
  """Drops INFO records from orbax, TFDS and grain internals (kept at WARNING and above)."""

  NOISY = ("/orbax/", "/tensorflow_datasets/", "/grain/", "/etils/")

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or not any(n in record.pathname for n in self.NOISY)


def quiet_library_logs() -> None:
  std_logging.getLogger("absl").addFilter(_LibraryChatter())


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
    sys.exit(143)
