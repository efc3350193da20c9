"""experiments.compare: several runs' curves in one figure and a table, best first; runs found under a directory."""

import os

import pytest

from lm.evaluation import compare
from lm.training import writers
from tests.conftest import run_module


def _run(workdir, losses, accuracy=None):
  os.makedirs(workdir, exist_ok=True)
  w = writers.MetricsWriter(str(workdir), tensorboard=False)
  for i, loss in enumerate(losses):
    w.write(10 * (i + 1), "train", {"loss": loss + 0.5})
    w.write(10 * (i + 1), "eval", {"loss": loss, **({} if accuracy is None else {"accuracy": accuracy[i]})})
  w.close()
  return str(workdir)


@pytest.fixture
def sweep(tmp_path):
  _run(tmp_path / "sweep" / "lr1e-3", [3.0, 2.5, 2.6], [0.5, 0.6, 0.55])
  _run(tmp_path / "sweep" / "lr3e-3", [2.9, 2.2, 2.1], [0.5, 0.7, 0.72])
  os.makedirs(tmp_path / "sweep" / "logs")  # not a run: skipped
  return tmp_path


def test_runs_under_a_directory_are_found_and_ranked_best_first(sweep):
  runs = compare.find_runs([str(sweep / "sweep")])
  assert list(runs) == ["lr1e-3", "lr3e-3"]
  curves = compare.curves(runs, "eval/loss")
  assert curves["lr1e-3"] == [(10, 3.0), (20, 2.5), (30, 2.6)]
  table = compare.table(curves, "eval/loss", compare.mode_of("eval/loss")).splitlines()
  assert table[2] == "| lr3e-3 | 30 | 2.1 | 2.1 | 30 |" and table[3] == "| lr1e-3 | 30 | 2.6 | 2.5 | 20 |"
  accuracy = compare.table(compare.curves(runs, "eval/accuracy"), "eval/accuracy", compare.mode_of("eval/accuracy"))
  assert accuracy.splitlines()[2].startswith("| lr3e-3 | 30 | 0.72 | 0.72 |")
  assert compare.mode_of("rl/kl") == "min" and compare.mode_of("eval/loss", "max") == "max"


def test_bad_paths_and_metrics_are_named(sweep):
  with pytest.raises(FileNotFoundError, match="neither a run"):
    compare.find_runs([str(sweep / "sweep" / "logs")])
  with pytest.raises(FileNotFoundError, match="no such directory"):
    compare.find_runs([str(sweep / "nowhere")])
  runs = compare.find_runs([str(sweep / "sweep")])
  with pytest.raises(ValueError, match=r"No run logs 'eval/acc'\. Their metrics: eval/accuracy, eval/loss"):
    compare.curves(runs, "eval/acc")
  with pytest.raises(ValueError, match="expected <split>/<name>"):
    compare.curves(runs, "loss")


def test_the_command_writes_the_figure_and_the_table(sweep):
  single = _run(sweep / "baseline", [3.1, 2.9, 2.8])
  out = sweep / "out" / "cmp.png"
  proc = run_module("experiments.compare", f"--runs={sweep / 'sweep'},{single}", f"--output={out}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert out.stat().st_size > 10_000
  table = (sweep / "out" / "cmp.md").read_text()
  assert table.splitlines()[2].startswith("| sweep/lr3e-3 |") and "| baseline | 30 | 2.8 |" in table
  assert table.strip() in proc.stdout
