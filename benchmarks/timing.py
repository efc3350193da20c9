"""Timing jitted work: the median of repeated calls after one warm-up call (compilation excluded)."""

from __future__ import annotations

import time

import jax
import numpy as np


def median_seconds(f, repeats: int) -> float:
  jax.block_until_ready(f())
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f())
    times.append(time.perf_counter() - start)
  return float(np.median(times))
