"""Win rates with standard errors, gold terms by family, pass@k and best-of-n against plain references."""

import itertools
import math

import numpy as np
import pytest

from lm.data.world.gold import gold_score
from lm.evaluation import preference
from lm.training import stages


def test_win_rate_counts_ties_half_and_gives_the_standard_error():
  ours, theirs = np.array([2.0, 1.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0, 0.0])
  rate, stderr = preference.win_rate(ours, theirs)
  outcomes = np.array([1.0, 0.5, 0.0, 1.0])
  assert rate == pytest.approx(outcomes.mean())
  assert stderr == pytest.approx(outcomes.std(ddof=1) / 2)


def test_pass_at_k_equals_counting_every_subset():
  for n, correct, k in [(5, 0, 1), (5, 1, 1), (5, 2, 3), (8, 3, 4), (4, 4, 2), (16, 1, 16)]:
    outcomes = [1] * correct + [0] * (n - correct)
    subsets = list(itertools.combinations(range(n), k))
    brute = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
    assert preference.pass_at_k(correct, n, k) == pytest.approx(brute), (n, correct, k)
  with pytest.raises(ValueError, match="at least 4 samples"):
    preference.pass_at_k(1, 3, 4)


def test_best_of_n_picks_the_highest_of_the_first_n():
  scores = np.array([[0.1, 0.9, 0.5, 2.0], [3.0, 1.0, 3.0, 0.0]])
  np.testing.assert_array_equal(preference.best_of(scores, 1), [0, 0])
  np.testing.assert_array_equal(preference.best_of(scores, 2), [1, 0])
  np.testing.assert_array_equal(preference.best_of(scores, 4), [3, 0])  # ties: the first
  assert preference.best_of_n_kl(1) == 0.0
  assert preference.best_of_n_kl(16) == pytest.approx(math.log(16) - 15 / 16)


def test_gold_terms_add_up_to_the_gold_score_and_split_by_family():
  prompts = ["Instruction: Where was Ada born?\\nResponse:", "Something the solver does not know."] * 2
  responses = ["Ada was born in Varn.", "ugh whatever", "Sure, happy to help: Varn.", ""]
  rows = preference.components(prompts, responses)
  for p, r, row in zip(prompts, responses, rows):
    assert row["gold"] == pytest.approx(gold_score(p, r))
  table = preference.by_family(prompts, rows)
  assert table["all"]["n"] == 4 and sum(v["n"] for k, v in table.items() if k != "all") == 4
  assert "other" in table
  assert table["all"]["gold"] == pytest.approx(np.mean([gold_score(p, r) for p, r in zip(prompts, responses)]))


def test_the_pipeline_summary_shows_win_rates_with_their_standard_errors():
  table = stages.summary_table({"ppo": {"seconds": 60.0, "gold_win_rate": 0.55, "gold_win_rate_stderr": 0.031,
                                        "kl": 3.2}})
  assert table.splitlines()[2] == "| ppo | gold_win_rate=0.55 ± 0.031, kl=3.2 | 1.0 |"
