"""The libraries' chatter is dropped wherever it is logged from: JAX's backend notes reach absl's handler through
the root logger, not through the `absl` logger."""

import glob
import logging as std_logging
import os

from absl import logging

from experiments import cli


def _record(name: str, path: str, level: int, message: str) -> std_logging.LogRecord:
  return std_logging.LogRecord(name, level, path, 849, message, None, None)


def test_backend_notes_and_library_info_are_dropped_by_absl_handler_but_warnings_and_ours_are_kept():
  handler = logging.get_absl_handler()
  before = list(handler.filters)
  try:
    cli.quiet_library_logs()
    tpu = _record("jax._src.xla_bridge", "/x/site-packages/jax/_src/xla_bridge.py", std_logging.INFO,
                  "Unable to initialize backend 'tpu'")
    tfds = _record("absl", "/x/site-packages/tensorflow_datasets/core/builder.py", std_logging.INFO, "Done writing")
    warning = _record("absl", "/x/site-packages/orbax/checkpoint/a.py", std_logging.WARNING, "disk nearly full")
    ours = _record("absl", "/work/lm/training/loop.py", std_logging.INFO, "Model: 1,383,168 parameters.")
    assert [bool(handler.filter(r)) for r in (tpu, tfds, warning, ours)] == [False, False, True, True]
  finally:
    handler.filters[:] = before


def test_every_entry_point_quiets_the_libraries():
  """Each `python -m experiments.X` / `benchmarks.X` starts through `cli.run` (or quiets the logs itself), so none
  opens with JAX's backend notes."""
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  loud = []
  for path in sorted(glob.glob(os.path.join(root, "experiments", "*.py")) +
                     glob.glob(os.path.join(root, "benchmarks", "*.py"))):
    text = open(path, encoding="utf-8").read()
    if 'if __name__ == "__main__":' in text and not ("cli.run(main)" in text or "cli.quiet_library_logs()" in text):
      loud.append(os.path.relpath(path, root))
  assert not loud, f"entry points that do not start through experiments.cli: {loud}"
