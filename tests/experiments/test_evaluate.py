"""Few-shot evaluation end to end, fine-tuning on k examples (it learns), held-out families and starting points."""

import json
import os
import types

import pytest

from lm import settings
from lm.data import sources
from lm.evaluation import evaluate, prompts
from lm.training import finetune, tasks, transfer
from tests.conftest import REPO, TASK_WORLD, run_module, tiny_task_config


def _eval_config(data_dir: str, checkpoint: str):
  c = settings.load_config(os.path.join(REPO, "configs/eval/fewshot.py:heldout"))
  c.checkpoint, c.data.data_dir, c.data.world.scale = checkpoint, data_dir, TASK_WORLD
  c.tasks.fewshot, c.tasks.max_items = "sentiment,entity_type", 12
  c.harness.shots, c.harness.batch_size, c.harness.max_new_tokens = (0, 2), 8, 8
  c.harness.progress_bar, c.harness.max_len = False, 256  # the run trained on 64-token rows; its positions go to 256
  return c


def test_evaluate_writes_a_table_per_task_and_k(task_data_dir, world_causal_run, tmp_path):
  summary = evaluate.run(_eval_config(task_data_dir, world_causal_run), str(tmp_path))
  assert list(summary["tasks"]) == ["sentiment", "entity_type", "instructions/sentiment"]
  saved = json.load(open(tmp_path / evaluate.RESULTS_FILE))
  assert saved == json.loads(json.dumps(summary))
  assert saved["template"] == prompts.PLAIN and saved["max_len"] == 256  # a pretraining run is prompted plainly
  entity = saved["tasks"]["entity_type"]
  assert set(entity) == {"0", "2"} and entity["0"]["chance"] == pytest.approx(0.25)
  assert entity["2"]["shots_used"] == 2 and entity["0"]["items"] == 12
  for metric in ("accuracy", "accuracy_norm", "exact_match"):
    assert 0 <= entity["2"][metric] <= 1 and entity["2"][f"{metric}_stderr"] >= 0
  lines = open(tmp_path / evaluate.PREDICTIONS_FILE).read().splitlines()
  records = [json.loads(line) for line in lines]
  assert len(records) == 12 * 2 * 3
  assert all("generated" in r for r in records) and sum("scores" in r for r in records) == 12 * 2 * 2
  table = open(tmp_path / evaluate.TABLE_FILE).read()
  assert "| entity_type | 2 | 12 | 2.0 | 0.250 |" in table
  assert os.path.getsize(tmp_path / evaluate.PLOT_FILE) > 1000


def test_evaluate_cli_reports_bad_input(task_data_dir, world_causal_run, tmp_path):
  config = os.path.join(REPO, "configs/eval/fewshot.py")
  missing = run_module("experiments.evaluate", f"--config={config}", f"--workdir={tmp_path}/a")
  assert missing.returncode != 0 and "Set --config.checkpoint" in missing.stderr
  typo = run_module("experiments.evaluate", f"--config={config}", f"--workdir={tmp_path}/b",
                    f"--config.checkpoint={world_causal_run}", f"--config.data.data_dir={task_data_dir}",
                    "--config.tasks.fewshot=sentimnet")
  assert typo.returncode != 0 and "unknown task 'sentimnet'" in typo.stderr
  assert not os.path.exists(f"{tmp_path}/b/results.json")


def test_multiple_choice_tuning_beats_chance(task_data_dir, world_causal_run, tmp_path):
  c = tiny_task_config("choice", task_data_dir, steps=200)
  c.init_from, c.task_options.tasks = world_causal_run, "entity_type"  # is a name a person, place, firm or product?
  c.data.world.scale = 0.4  # 200 items per task and split (the pretraining run's tokenizer is reused)
  c.eval.test_examples = 0
  result = finetune.run(c, str(tmp_path))
  # Four choices: chance is 25%. 200 test items: one standard error is about 3.5 points.
  assert result.test["examples"] == 200
  assert result.test["accuracy"] > 0.45, result.test
  assert result.test["accuracy/entity_type"] == result.test["accuracy"]
  # The harness's "auto" template for this run is the one it was tuned in.
  saved = settings.load_run_config(str(tmp_path))
  assert saved["task_options"]["template"] == prompts.PLAIN


def test_held_out_families_leave_the_train_split_only(task_data_dir):
  c = tiny_task_config("instruct", task_data_dir)
  c.task_options.held_out_families = "sentiment,count"
  spec = sources.DatasetSpec("world/instructions", task_data_dir, world=sources.world.WorldConfig(scale=TASK_WORLD))
  task = tasks.TASKS["instruct"]
  train = sources.where(sources.open_split(spec, "train"), task.select(c, "train"), "held out")
  families = {r["task"] for r in train}
  assert "sentiment" not in families and "count" not in families and len(families) == 6
  assert task.select(c, "validation") is None  # validation and test still measure the held-out families
  c.task_options.held_out_families = "sentimnt"
  with pytest.raises(settings.ConfigError, match="unknown families"):
    task.select(c, "train")


def test_selection_can_leave_the_held_out_families_out(task_data_dir, monkeypatch):
  c = tiny_task_config("instruct", task_data_dir)
  c.task_options.held_out_families = "sentiment"
  records = [{"prompt": "a?", "response": "A.", "task": "qa"}, {"prompt": "b?", "response": "B.", "task": "qa"},
             {"prompt": "c?", "response": "positive", "task": "sentiment"}]
  monkeypatch.setattr(tasks.decode, "complete", lambda *args, **kwargs: ["A.", "C.", "positive"])
  model = types.SimpleNamespace(config=types.SimpleNamespace(max_len=128))
  tok = types.SimpleNamespace(encode=lambda text: [5, 6], bos_id=1)
  metrics, _ = tasks.TASKS["instruct"].evaluator(model, c, tok)(None, records)
  assert metrics["exact_match"] == pytest.approx(2 / 3) and metrics["exact_match/sentiment"] == 1.0
  assert metrics[f"exact_match/{tasks.TRAINED_FAMILIES}"] == pytest.approx(0.5)


def _source(config):
  return transfer.Source(checkpoints="/runs/x/checkpoints", step=1, run_dir="/runs/x", config=config)


def test_decoders_start_from_pretraining_or_whole_model_tuning():
  whole = ("instruct", "translation", "choice")
  transfer.check_objective(_source({"objective": "causal"}), "causal", "choice", "decoder", whole)
  transfer.check_objective(_source({"task": "instruct", "architecture": "decoder"}), "causal", "choice", "decoder",
                           whole)
  with pytest.raises(settings.ConfigError, match="'sentiment' fine-tuning run"):
    transfer.check_objective(_source({"task": "sentiment", "architecture": "decoder"}), "causal", "choice",
                             "decoder", whole)
  with pytest.raises(settings.ConfigError, match="'translation' fine-tuning run"):
    transfer.check_objective(_source({"task": "translation", "architecture": "encoder_decoder"}), "causal",
                             "choice", "decoder", whole)
  with pytest.raises(settings.ConfigError, match="LoRA"):
    transfer.check_objective(_source({"task": "instruct", "architecture": "decoder", "adapt": {"lora_rank": 4}}),
                             "causal", "choice", "decoder", whole)
