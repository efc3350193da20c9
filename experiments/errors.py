"""Turning the library's user-facing errors into one clear line and a non-zero exit."""

from __future__ import annotations

import contextlib
import sys

from absl import logging

from lm import settings
from lm.data import formats
from lm.training import checkpoint, loop

# Errors whose message already says what is wrong and what to do; no traceback needed.
USER_ERRORS = (settings.ConfigError, formats.FormatError, checkpoint.IncompatibleCheckpointError, loop.NonFiniteError,
               FileNotFoundError, ValueError)


@contextlib.contextmanager
def reported():
  try:
    yield
  except USER_ERRORS as e:
    logging.error("%s: %s", type(e).__name__, e)
    sys.exit(f"error: {e}")
