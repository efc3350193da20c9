"""The transfer study end to end: both starts at two budgets, results.json, the plot, and resuming."""

import json
import math
import os

import pytest

from experiments import cli
from lm import settings
from lm.training import finetune, loop, study
from tests.conftest import TASK_WORLD, run_module, tiny_task_config


def test_transfer_study_runs_both_starts_at_each_budget_and_resumes(task_data_dir, world_causal_run, tmp_path):
  args = ["--config=configs/finetune/ner.py:tiny", f"--workdir={tmp_path}", "--budgets=100,all",
          # The tiny preset's model is wider than world_causal_run's: every start, scratch too, takes the start's.
          f"--config.init_from={world_causal_run}", "--config.architecture=decoder",
          f"--config.data.data_dir={task_data_dir}",
          f"--config.data.world.scale={TASK_WORLD}", "--config.data.batch_size=32", "--config.mesh.data=1",
          "--config.optimizer.learning_rate=0.003", "--config.train.steps=150", "--config.train.eval_every=150",
          "--config.train.progress_bar=False", "--config.eval.validation_examples=32",
          "--config.eval.test_examples=200"]
  proc = run_module("experiments.transfer_study", *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  summary = json.load(open(tmp_path / "results.json"))
  runs = {(r["init"], r["train_examples"]): r for r in summary["runs"]}
  full = summary["train_split_size"]
  assert set(runs) == {("pretrained", 100), ("scratch", 100), ("pretrained", full), ("scratch", full)}
  assert summary["headline"] == "span_f1" and os.path.getsize(tmp_path / "transfer.png") > 10_000
  # Learning happened with all the labels, from either start (tagging everything O scores 0).
  assert runs[("scratch", full)]["metric"] > 0.3 and runs[("pretrained", full)]["metric"] > 0.3, summary
  assert "| 100 |" in proc.stdout, proc.stdout
  start = settings.load_run_config(world_causal_run)["model"]
  for run in runs.values():
    model = settings.load_run_config(str(tmp_path / run["run"]))["model"]
    assert (model["num_layers"], model["d_model"]) == (start["num_layers"], start["d_model"]) == (2, 64), run
  # A second invocation finds every run finished and only rewrites the summary.
  again = run_module("experiments.transfer_study", *args)
  assert again.returncode == 0 and json.load(open(tmp_path / "results.json"))["runs"] == summary["runs"]


def test_a_preempted_run_stops_the_study_with_exit_code_143(task_data_dir, causal_run, tmp_path, monkeypatch):
  preempted = finetune.Result(loop=loop.Result(state=None, step=3, preempted=True, last_train={}, last_eval={}),
                              test={}, seconds=0.0)
  monkeypatch.setattr(finetune, "run", lambda config, workdir: preempted)
  config = tiny_task_config("ner", task_data_dir)
  config.init_from, config.architecture = causal_run, "decoder"
  with pytest.raises(SystemExit) as exit_info, cli.reported():
    study.run(config, str(tmp_path), [100])
  assert exit_info.value.code == 143


def test_a_learning_rate_grid_reports_the_rate_best_on_validation_and_probes_train_only_the_head(
    task_data_dir, world_causal_run, tmp_path):
  config = tiny_task_config("ner", task_data_dir)
  config.init_from, config.architecture = world_causal_run, "decoder"
  config.train.update(steps=150, eval_every=50, progress_bar=False)
  config.eval.update(validation_examples=32, test_examples=200)
  summary = study.run(config, str(tmp_path), [0], ("pretrained", "probe"), [3e-2, 3e-3])
  rows = {r["init"]: r for r in summary["runs"]}
  for row in rows.values():
    assert set(row["grid"]) == {"0.03", "0.003"} and row["validation_metric"] == max(row["grid"].values()), row
    assert row["learning_rate"] == float(max(row["grid"], key=row["grid"].get))
    assert row["selected_step"] in (50, 100, 150) and 0 < row["stderr"] < 0.1, row
  for rate in ("0.03", "0.003"):
    assert (tmp_path / f"probe_all_lr{rate}" / "results.json").is_file()
  # The whole model learns the tags; a head on frozen causal features learns some (all-O scores 0).
  assert rows["pretrained"]["metric"] > 0.2 and rows["probe"]["metric"] > 0.02, rows
  assert rows["probe"]["metric"] < rows["pretrained"]["metric"]
  text = study.table(summary)
  assert "| span_f1: pretrained | span_f1: probe |" in text, text
  for row in rows.values():  # Each cell names the rate validation chose for it, whichever of the grid that was.
    assert f"(lr {row['learning_rate']:g}, val {row['validation_metric']:.3f})" in text, text


def test_the_table_gives_each_start_its_error_and_the_difference_its_own():
  def row(init, metric, stderr):
    return {"init": init, "train_examples": 50, "metric": metric, "stderr": stderr, "learning_rate": 1e-3,
            "validation_metric": metric, "seconds": 60.0, "grid_seconds": 180.0}
  summary = {"headline": "accuracy", "runs": [row("pretrained", 0.8, 0.03), row("scratch", 0.6, 0.04)]}
  text = study.table(summary)
  assert ("| 50 | 0.800 ± 0.030 (lr 0.001, val 0.800) | 0.600 ± 0.040 (lr 0.001, val 0.600) "
          "| +0.200 ± 0.050 |") in text
  assert "2.0 min (6.0 min grid)" in text
  with pytest.raises(settings.ConfigError, match="learning_rates"):
    study.parse_learning_rates("1e-3,fast")
  assert study.parse_learning_rates("1e-4, 3e-4") == [1e-4, 3e-4] and study.parse_learning_rates("") == []


def test_grid_budgets_search_rates_where_asked_and_carry_each_starts_choice_to_the_others(
    task_data_dir, causal_run, tmp_path, monkeypatch):
  trained = []

  def fake_run(config, workdir):  # validation prefers 1e-3 for the pretrained start and 1e-2 for scratch
    os.makedirs(workdir)
    rate, budget, steps = config.optimizer.learning_rate, config.data.train_examples, config.train.steps
    trained.append((bool(config.init_from), budget, rate, steps))
    best = 1e-3 if config.init_from else 1e-2
    val = 0.9 - abs(math.log10(rate / best)) / 10
    settings.write_json(os.path.join(workdir, finetune.RESULTS_FILE), {
        "train_examples": budget or 500, "validation": {"span_f1": val},
        "test": {"span_f1": val, "span_f1_stderr": 0.01}, "seconds": 1.0, "selected_step": steps})
    return finetune.Result(loop=loop.Result(state=None, step=steps, preempted=False, last_train={}, last_eval={}),
                           test={}, seconds=1.0)

  monkeypatch.setattr(finetune, "run", fake_run)
  config = tiny_task_config("ner", task_data_dir)
  config.init_from, config.architecture = causal_run, "decoder"
  config.train.steps = 40
  summary = study.run(config, str(tmp_path), [200, 0, 50], ("pretrained", "scratch"), [1e-3, 1e-2],
                      grid_budgets=[50], budget_steps=study.parse_budget_steps("50:20"))
  # The grid ran at 50 only (two rates per start, 20 steps); 200 and all ran once, at each start's choice.
  assert sorted(trained) == sorted([(True, 50, 1e-3, 20), (True, 50, 1e-2, 20), (False, 50, 1e-3, 20),
                                    (False, 50, 1e-2, 20), (True, 200, 1e-3, 40), (False, 200, 1e-2, 40),
                                    (True, 0, 1e-3, 40), (False, 0, 1e-2, 40)])
  rows = {(r["init"], r["budget"]): r for r in summary["runs"]}
  assert [r["budget"] for r in summary["runs"]] == [50, 50, 200, 200, 0, 0]
  assert rows[("scratch", 200)]["learning_rate_from"] == 50 and "grid" in rows[("scratch", 50)]
  assert rows[("pretrained", 50)]["steps"] == 20 and rows[("pretrained", 0)]["steps"] == 40
  assert "lr 0.01 from 50" in study.table(summary)
  assert study.parse_budget_steps("200:400, all:1000") == {200: 400, 0: 1000}
  for bad in ("200", "200:x", "200:0"):
    with pytest.raises(settings.ConfigError, match="budget_steps"):
      study.parse_budget_steps(bad)
  with pytest.raises(settings.ConfigError, match="grid_budgets"):
    study.run(config, str(tmp_path), [200], ("pretrained",), [1e-3, 1e-2], grid_budgets=[50])


def test_the_grid_chooses_by_what_the_runs_select_by_and_every_run_evaluates_its_start(
    task_data_dir, causal_run, tmp_path, monkeypatch):
  seen = []

  def fake_run(config, workdir):  # the headline prefers 1e-2, the loss (the selection metric here) 1e-3
    os.makedirs(workdir)
    seen.append((config.train.select_metric, config.train.select_mode, config.train.eval_at_start))
    rate = config.optimizer.learning_rate
    settings.write_json(os.path.join(workdir, finetune.RESULTS_FILE), {
        "train_examples": 50, "validation": {"span_f1": rate, "loss": rate},
        "test": {"span_f1": rate, "span_f1_stderr": 0.01}, "seconds": 1.0, "selected_step": 0})
    return finetune.Result(loop=loop.Result(state=None, step=1, preempted=False, last_train={}, last_eval={}),
                           test={}, seconds=1.0)

  monkeypatch.setattr(finetune, "run", fake_run)
  config = tiny_task_config("ner", task_data_dir)
  config.init_from, config.architecture = causal_run, "decoder"
  config.train.select_metric, config.train.select_mode = "loss", "min"
  summary = study.run(config, str(tmp_path), [50], ("pretrained",), [1e-3, 1e-2])
  assert summary["runs"][0]["learning_rate"] == 1e-3 and summary["runs"][0]["grid"] == {"0.001": 1e-3, "0.01": 1e-2}
  assert set(seen) == {("loss", "min", True)}
