"""Figures written beside results (matplotlib, headless): people would rather look than read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on training machines
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position

from lm import distributed  # pylint: disable=wrong-import-position


def learning_curves(path: str, curves: Mapping[str, Sequence[tuple[float, ...]]], *, title: str, xlabel: str,
                    ylabel: str, chance: float | None = None, log_x: bool = True, sort: bool = True) -> None:
  """One line per curve (label -> [(x, y), ...] or [(x, y, stderr), ...], drawn with error bars), markers at the
  measured points; saved as PNG.

  `sort=False` joins the points in the given order (a trajectory, e.g. over training) instead of by x.
  """
  fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
  for label, points in curves.items():
    points = sorted(points) if sort else list(points)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if points and all(len(p) > 2 for p in points):
      ax.errorbar(xs, ys, yerr=[p[2] for p in points], marker="o", capsize=3, label=label)
    else:
      ax.plot(xs, ys, marker="o", label=label)
  if chance is not None:
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
  if log_x:
    ax.set_xscale("log")
  ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
  _save(fig, ax, path)


def _write(fig, path: str) -> None:
  fig.tight_layout()
  if distributed.is_lead():  # one writer per run
    fig.savefig(path)
  plt.close(fig)


def _save(fig, ax, path: str, legend_size: str = "medium") -> None:
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=legend_size)
  _write(fig, path)


def shots_curves(path: str, curves: Mapping[str, Sequence[tuple[int, float, float]]], chance: Mapping[str, float], *,
                 title: str, ylabel: str) -> None:
  """Metric against in-context examples k, one line per task with standard-error bars and its chance level dotted."""
  fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
  for i, (label, points) in enumerate(curves.items()):
    points = sorted(points)
    color = f"C{i % 10}"
    ax.errorbar([str(k) for k, _, _ in points], [y for _, y, _ in points], yerr=[e for _, _, e in points],
                marker="o", capsize=3, color=color, label=label)
    if label in chance:
      ax.axhline(chance[label], color=color, linestyle=":", linewidth=1)
  ax.set(title=title, xlabel="in-context examples k", ylabel=ylabel, ylim=(0, 1))
  _save(fig, ax, path, legend_size="small")


def trajectories(path: str, panels: Sequence[tuple[str, Mapping[str, Sequence[tuple[float, float]]], float | None]], *,
                 title: str, xlabel: str) -> None:
  """Side-by-side panels of (x, y) points joined in the given order (e.g. over training).

  Each panel is `(ylabel, {label: points}, reference)`; a reference level, if given, is dotted.
  """
  fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), dpi=120, squeeze=False)
  for ax, (ylabel, curves, reference) in zip(axes[0], panels):
    for label, points in curves.items():
      ax.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
    if reference is not None:
      ax.axhline(reference, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
  fig.suptitle(title)
  _write(fig, path)


def categorical_panels(path: str, panels: Sequence[tuple[str, Sequence[str], Mapping[str, Mapping[str, float]]]], *,
                       title: str, ylabel: str) -> None:
  """One panel per `(xlabel, categories, {label: {category: y}})`: y at each category, one line per label."""
  fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), dpi=120, squeeze=False)
  for ax, (xlabel, categories, curves) in zip(axes[0], panels):
    for label, values in curves.items():
      xs = [c for c in categories if c in values]
      ax.plot(xs, [values[c] for c in xs], marker="o", label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
  fig.suptitle(title)
  _write(fig, path)


def error_panels(path: str, panels: Sequence[tuple[str, str, Mapping[str, Sequence[tuple[str, float, float]]],
                                                  float | None]], *, title: str, columns: int = 3) -> None:
  """A grid of panels, each `(title, xlabel, {label: [(category, y, stderr), ...]}, chance)`: y at each category
  (budgets, k) with standard-error bars, one line per label, the chance level dashed."""
  rows = -(-len(panels) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), dpi=110, squeeze=False)
  for ax, (name, xlabel, curves, chance) in zip(axes.flat, panels):
    # Categories at evenly spaced positions, in the order the curves give them (numbers as strings, e.g. budgets,
    # would otherwise make matplotlib log that it treats them as categories, once per call).
    categories = list(dict.fromkeys(c for points in curves.values() for c, _, _ in points))
    for label, points in curves.items():
      ax.errorbar([categories.index(c) for c, _, _ in points], [y for _, y, _ in points],
                  yerr=[e for _, _, e in points], marker="o", capsize=3, label=label)
    ax.set_xticks(range(len(categories)), categories)
    if chance is not None:
      ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set(title=name, xlabel=xlabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
  for ax in list(axes.flat)[len(panels):]:
    ax.axis("off")
  fig.suptitle(title)
  _write(fig, path)
