"""The over-optimisation figure across runs: labels from each run's config, best-of-n beside, clear errors."""

import json
import os

import numpy as np
import pytest

from lm.rl import best_of_n, overoptimization


def fake_run(directory, coef, gains, reward_from="runs/rm"):
  os.makedirs(directory)
  with open(os.path.join(directory, "config.json"), "w") as f:
    json.dump({"algorithm": "ppo", "reward_from": reward_from, "kl": {"coef": coef}}, f)
  with open(os.path.join(directory, "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 1, "split": "train", "loss": 1.0}) + "\n")
    for i, (kl, gold, rm) in enumerate(gains):
      f.write(json.dumps({"step": 8 * (i + 1), "split": "eval", "kl": kl, "gold_score": 1.0 + gold,
                          "sft_gold_score": 1.0, "rm_score": rm, "sft_rm_score": 0.0, "gold_win_rate": 0.5 + gold / 4,
                          "rm_win_rate": 0.6}) + "\n")
  return str(directory)


def test_figures_of_several_runs_with_best_of_n(tmp_path):
  runs = [fake_run(tmp_path / "a", 0.01, [(1.0, 0.2, 0.5), (4.0, -0.1, 1.5)]),
          fake_run(tmp_path / "b", 0.1, [(0.5, 0.1, 0.2), (1.0, 0.15, 0.4)]),
          fake_run(tmp_path / "c", 0.05, [(2.0, 0.3, 0.3)], reward_from="gold")]
  collected = overoptimization.collect(runs)
  assert list(collected) == ["PPO kl.coef=0.01", "PPO kl.coef=0.1", "PPO (gold reward) kl.coef=0.05"]
  assert [r["step"] for r in collected["PPO kl.coef=0.01"]] == [8, 16]
  gold = best_of_n.curves(None, np.array([[0.0, 1.0], [2.0, 0.0]]), None,
                          np.array([0.5, 0.5]), [1, 2])
  for sqrt_kl in (False, True):
    path = str(tmp_path / f"figure_{sqrt_kl}.png")
    overoptimization.figure(path, collected, gold, sqrt_kl=sqrt_kl)
    assert os.path.getsize(path) > 10_000
  rows = overoptimization._bon_rows(gold, "gold")  # pylint: disable=protected-access
  assert [r["gold_score"] for r in rows] == [1.0, 1.5] and rows[1]["sft_gold_score"] == 0.5


def test_a_directory_without_evaluations_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="no metrics.jsonl"):
    overoptimization.collect([str(tmp_path)])
  fake_run(tmp_path / "empty", 0.05, [])
  with pytest.raises(ValueError, match="empty/metrics.jsonl: no held-out evaluation"):
    overoptimization.collect([str(tmp_path / "empty")])
