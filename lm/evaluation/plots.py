"""Figures written beside results (matplotlib, headless): people would rather look than read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on training machines
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position


def learning_curves(path: str, curves: Mapping[str, Sequence[tuple[float, float]]], *, title: str, xlabel: str,
                    ylabel: str, chance: float | None = None, log_x: bool = True) -> None:
  """One line per curve (label -> [(x, y), ...]), markers at the measured points; saved as PNG."""
  fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
  for label, points in curves.items():
    points = sorted(points)
    ax.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
  if chance is not None:
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
  if log_x:
    ax.set_xscale("log")
  ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
  ax.grid(True, alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
