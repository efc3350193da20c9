"""Pairs from the policy's own samples: distinct responses of different gold score, labelled as noisily as asked."""

import random

import numpy as np

from lm.rl import policy_pairs


def test_pairs_are_distinct_responses_of_different_gold_and_ordered_by_it():
  rng = random.Random(0)
  responses = ["a", "a", "b", "c", "d"]
  golds = [1.0, 1.0, 1.02, 3.0, -1.0]  # "a" twice (one candidate), "a" and "b" tie within MIN_GAP
  correct = [0.0, 0.0, 0.0, 1.0, 0.0]
  rows = policy_pairs.pairs_of("p", responses, golds, correct, rng, per_prompt=10, noise=0.0)
  pairs = {(r["chosen"], r["rejected"]) for r in rows}
  assert pairs == {("c", "a"), ("c", "b"), ("c", "d"), ("a", "d"), ("b", "d")}
  assert all(r["gold_order"] == 1 and r["prompt"] == "p" for r in rows)
  assert {(r["chosen"], r["by_correctness"]) for r in rows if r["rejected"] == "d"} == {("c", 1), ("a", 0), ("b", 0)}
  assert len(policy_pairs.pairs_of("p", responses, golds, correct, rng, per_prompt=2, noise=0.0)) == 2
  assert not policy_pairs.pairs_of("p", ["x", "x"], [1.0, 2.0], [0, 0], rng, per_prompt=2, noise=0.0)


def test_label_noise_swaps_the_asked_share_and_records_it():
  rng = random.Random(1)
  rows = []
  for _ in range(2000):
    rows += policy_pairs.pairs_of("p", ["good", "bad"], [2.0, 0.0], [1, 0], rng, per_prompt=1, noise=0.2)
  swapped = np.mean([r["chosen"] == "bad" for r in rows])
  assert abs(swapped - 0.2) < 0.03
  assert all((r["chosen"] == "good") == bool(r["gold_order"]) for r in rows)
