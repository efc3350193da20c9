"""The transfer study end to end: both starts at two budgets, results.json, the plot, and resuming."""

import json
import os

import pytest

from experiments import cli
from lm.training import finetune, loop, study
from tests.conftest import TASK_WORLD, run_module, tiny_task_config


def test_transfer_study_runs_both_starts_at_each_budget_and_resumes(task_data_dir, world_causal_run, tmp_path):
  args = ["--config=configs/finetune/ner.py:tiny", f"--workdir={tmp_path}", "--budgets=100,all",
          f"--config.init_from={world_causal_run}", "--config.architecture=decoder",
          # The shape of tiny_task_config's model, which world_causal_run was trained with.
          "--config.model.num_layers=2", "--config.model.d_model=64", "--config.model.d_ff=128",
          "--config.model.max_len=256", f"--config.data.data_dir={task_data_dir}",
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
