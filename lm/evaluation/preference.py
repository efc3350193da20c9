"""Judging responses under a preference: win rates with standard errors, the gold score by family and component,
pass@k and best-of-n.

The gold preference (`lm.data.world.gold`) scores a response as 4 x correctness + on_topic + polite - rudeness
- verbosity - repetition. Splitting it by instruction family and by term shows where a policy gained or lost:
a policy can raise the score by being concise while its answers stay wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lm.data.world.gold import score_components, total
from lm.data.world.solve import expected
from lm.evaluation import uncertainty

COMPONENTS = ("correctness", "on_topic", "polite", "rudeness", "verbosity", "repetition")
UNRECOGNISED = "other"  # the family of a prompt the gold solver does not recognise


def win_rate(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
  """Share of pairs where `ours` is higher, ties counting half, and its standard error over the pairs."""
  outcomes = (np.asarray(ours) > np.asarray(theirs)) + 0.5 * (np.asarray(ours) == np.asarray(theirs))
  return float(outcomes.mean()), uncertainty.stderr(outcomes)


def family(prompt: str) -> str:
  """The instruction family of a world prompt (qa, fact, translate, ...), or "other"."""
  task = expected(prompt)
  return UNRECOGNISED if task is None else task.task


def components(prompts: Sequence[str], responses: Sequence[str]) -> list[dict[str, float]]:
  """Each response's gold terms (correctness 0 where the prompt is unrecognised) and its total `gold`."""
  rows = []
  for prompt, response in zip(prompts, responses):
    c = score_components(prompt, response)
    rows.append({**c, "correctness": c["correctness"] or 0.0, "gold": total(c)})
  return rows


def by_family(prompts: Sequence[str], rows: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
  """Mean of every term (and `gold`) per family and over `all`, with the prompt count `n`."""
  groups: dict[str, list[dict[str, float]]] = {"all": list(rows)}
  for prompt, row in zip(prompts, rows):
    groups.setdefault(family(prompt), []).append(row)
  return {name: {"n": float(len(members)), **{k: float(np.mean([m[k] for m in members]))
                                              for k in (*COMPONENTS, "gold")}}
          for name, members in sorted(groups.items())}


def pass_at_k(correct: int, n: int, k: int) -> float:
  """The unbiased pass@k of Chen et al. (2021) from `correct` successes among `n` samples: the chance that k of
  them drawn without replacement include a success."""
  if k > n:
    raise ValueError(f"pass@{k} needs at least {k} samples, got {n}.")
  if n - correct < k:
    return 1.0
  return 1.0 - math.prod((n - correct - i) / (n - i) for i in range(k))


def best_of(scores_PxN: np.ndarray, n: int) -> np.ndarray:
  """Index of the highest-scoring of the first `n` samples of each prompt (the first of ties)."""
  return np.argmax(np.asarray(scores_PxN)[:, :n], axis=1)


def best_of_n_kl(n: int) -> float:
  """KL(best-of-n || policy) in nats, the analytic value for distinct samples: log n - (n - 1) / n."""
  return math.log(n) - (n - 1) / n
