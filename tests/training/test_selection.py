"""Model selection on validation (`train.select_metric`): the best evaluation's parameters are the run's result."""

import json
import os

import jax
import numpy as np
import pytest

from lm import settings
from lm.training import loop, pretrain, runs, selection, transfer, writers
from tests.conftest import tiny_pretrain_config


def evals(workdir):
  return {r["step"]: r for r in writers.read(workdir) if r["split"] == "eval"}


@pytest.fixture(scope="module")
def selecting_run(text_files, data_dir, tmp_path_factory):
  # The validation loss falls, so selecting its *largest* value picks the first evaluation: a selection that is
  # not the last step, deterministically.
  workdir = str(tmp_path_factory.mktemp("selecting"))
  config = tiny_pretrain_config(text_files, data_dir, select_metric="loss", select_mode="max")
  return workdir, config, pretrain.run(config, workdir)


def leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_the_best_evaluation_is_kept_and_is_the_result(selecting_run):
  workdir, _, result = selecting_run
  rows = evals(workdir)
  assert sorted(rows) == [10, 20] and rows[10]["loss"] > rows[20]["loss"]
  chosen = json.load(open(os.path.join(workdir, "best", "selection.json")))
  assert chosen == {"metric": "loss", "mode": "max", "step": 10, "value": pytest.approx(rows[10]["loss"])}
  assert sorted(os.listdir(os.path.join(workdir, "best"))) == ["10", "selection.json"]  # only the best is kept
  assert result.step == 20 and result.selected_step == 10
  selected, last = leaves(result.params), leaves(result.state.params)
  assert any(not np.array_equal(a, b) for a, b in zip(selected, last))
  # Later stages and sampling read the selected parameters; checkpoints/ still names the last step.
  source = transfer.resolve(workdir)
  assert (source.checkpoints, source.step, source.run_dir) == (os.path.join(workdir, "best"), 10, workdir)
  assert source.config is not None and source.config["train"]["select_metric"] == "loss"
  assert transfer.resolve(os.path.join(workdir, "checkpoints")).step == 20
  loaded = runs.load(workdir)
  assert loaded.step == 10
  for a, b in zip(leaves(loaded.params), selected):
    np.testing.assert_array_equal(a, b)
  assert runs.load(workdir, step=20).step == 20


def test_a_finished_run_rerun_returns_the_same_selection(selecting_run):
  workdir, config, result = selecting_run
  again = pretrain.run(config, workdir)
  assert again.selected_step == 10
  for a, b in zip(leaves(again.params), leaves(result.params)):
    np.testing.assert_array_equal(a, b)


def test_changing_the_selection_of_a_run_is_refused(selecting_run):
  workdir, config, _ = selecting_run
  before = open(os.path.join(workdir, "best", "selection.json")).read()
  changed = config.copy_and_resolve_references()
  changed.train.select_mode = "min"
  with pytest.raises(settings.ConfigError, match=r"selected by 'loss' \(max\)"):
    pretrain.run(changed, workdir)
  assert open(os.path.join(workdir, "best", "selection.json")).read() == before


def test_an_unknown_metric_names_the_available_ones(text_files, data_dir, tmp_path):
  config = tiny_pretrain_config(text_files, data_dir, steps=2, eval_every=2, checkpoint_every=2,
                                select_metric="accuracy_typo")
  with pytest.raises(settings.ConfigError, match=r"select_metric='accuracy_typo'.*loss.*perplexity"):
    pretrain.run(config, str(tmp_path))


def test_bad_mode_is_refused():
  with pytest.raises(ValueError, match="select_mode='best'"):
    selection.check_mode("loss", "best")


def test_selector_keeps_strictly_better_finite_values(tmp_path):
  params = lambda v: {"w": jax.numpy.full((2, 3), v, jax.numpy.float32)}
  selector = selection.Selector(str(tmp_path), "loss", "min")
  assert selector.offer(1, {"loss": 3.0}, params(1.0))
  assert not selector.offer(2, {"loss": float("nan")}, params(2.0))
  assert selector.offer(3, {"loss": 1.0}, params(3.0))
  assert not selector.offer(4, {"loss": 1.0}, params(4.0))  # a tie keeps the earlier step
  assert not selector.offer(5, {"loss": 2.0}, params(5.0))
  resumed = selection.Selector(str(tmp_path), "loss", "min")  # a resumed run continues the comparison
  assert (resumed.step, resumed.value) == (3, 1.0)
  assert not resumed.offer(6, {"loss": 1.5}, params(6.0))
  abstract = {"w": jax.ShapeDtypeStruct((2, 3), jax.numpy.float32)}
  np.testing.assert_array_equal(np.asarray(resumed.restore(abstract)["w"]), np.full((2, 3), 3.0))


def test_a_tie_with_the_start_goes_to_the_trained_step(tmp_path):
  params = lambda v: {"w": jax.numpy.full((2,), v, jax.numpy.float32)}
  selector = selection.Selector(str(tmp_path), "exact_match", "max")
  assert selector.offer(0, {"exact_match": 0.0}, params(0.0))
  assert selector.offer(100, {"exact_match": 0.0}, params(1.0))  # nothing learnt either way: keep what trained
  assert not selector.offer(200, {"exact_match": 0.0}, params(2.0)) and selector.step == 100


def test_a_damaged_selection_file_is_named(tmp_path):
  os.makedirs(tmp_path / "best")
  (tmp_path / "best" / "selection.json").write_text("{not json")
  with pytest.raises(ValueError, match=r"best/selection.json: not JSON"):
    selection.Selector(str(tmp_path), "loss", "min")


def test_early_stopping_ends_the_run_and_a_rerun_trains_no_further(text_files, data_dir, tmp_path):
  workdir = str(tmp_path)
  # Selecting the largest loss: step 5 stays best, so with patience 1 the evaluation at step 10 stops the run.
  config = tiny_pretrain_config(text_files, data_dir, eval_every=5, select_metric="loss", select_mode="max",
                                select_patience=1)
  result = pretrain.run(config, workdir)
  assert (result.step, result.selected_step) == (10, 5)
  assert sorted(evals(workdir)) == [5, 10]
  assert "10" in os.listdir(os.path.join(workdir, "checkpoints"))  # saved where it stopped
  assert json.load(open(os.path.join(workdir, "best", "selection.json")))["stopped_early_at"] == 10
  again = pretrain.run(config, workdir)
  assert (again.step, again.selected_step) == (10, 5) and sorted(evals(workdir)) == [5, 10]


def test_patience_needs_a_metric():
  with pytest.raises(ValueError, match="select_patience=2"):
    loop.LoopConfig(select_patience=2)


def test_eval_at_start_makes_the_start_a_candidate(text_files, data_dir, tmp_path):
  workdir = str(tmp_path)
  # Selecting the largest loss keeps the untrained start: step 0, evaluated before the first update.
  config = tiny_pretrain_config(text_files, data_dir, select_metric="loss", select_mode="max", eval_at_start=True)
  result = pretrain.run(config, workdir)
  rows = evals(workdir)
  assert sorted(rows) == [0, 10, 20] and rows[0]["loss"] > rows[10]["loss"] > rows[20]["loss"]
  assert (result.step, result.selected_step) == (20, 0)
  assert runs.load(workdir).step == 0
  assert any(not np.array_equal(a, b) for a, b in zip(leaves(result.params), leaves(result.state.params)))
  again = pretrain.run(config, workdir)  # a finished run re-run: no second evaluation of step 0
  assert again.selected_step == 0 and sorted(evals(workdir)) == [0, 10, 20]
