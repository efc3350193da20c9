"""Standard errors of evaluation figures: of a mean, and by bootstrap over items for corpus-level metrics.

A mean over items (accuracy, exact match, a win rate) has the closed form std(ddof=1) / sqrt(n). A figure
computed from the whole corpus at once (span F1 from summed counts, corpus BLEU) has none; its standard error is the
standard deviation of the figure over `resamples` resamplings of the items with replacement (Efron's bootstrap), with
a fixed seed so the same predictions always report the same error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 200


def stderr(values: Sequence[float]) -> float:
  """Standard error of the mean: sample standard deviation (ddof=1) over sqrt(n); nan below two values."""
  values = np.asarray(values, np.float64)
  return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def bootstrap_stderr(n: int, statistic: Callable[[np.ndarray], float], resamples: int = RESAMPLES,
                     seed: int = 0) -> float:
  """Standard deviation (ddof=1) of `statistic(indices)` over resampled index sets of n items; nan below two items."""
  if n < 2:
    return float("nan")
  rng = np.random.default_rng(seed)
  values = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
  return float(np.std(values, ddof=1))
