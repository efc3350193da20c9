"""Test-wide setup: several CPU devices for JAX, before anything imports it."""

import os

# Four host devices let single-process tests build data x fsdp meshes; must precede `import jax`.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# TFDS progress bars and absl warnings only clutter test output.
os.environ.setdefault("TFDS_DISABLE_PROGRESS_BAR", "1")
