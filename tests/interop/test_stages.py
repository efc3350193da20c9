"""Imported Hugging Face checkpoints through the stages on the built-in world: GPT-2 -> instruction tuning -> reward
model -> PPO (and a LoRA run), BERT -> sentiment, T5 -> translation; trained runs export back to `transformers`."""

import dataclasses
import os

import numpy as np
import pytest
import torch
import transformers

import jax.numpy as jnp

from lm.data import corpus
from lm.interop import convert
from lm.rl import train as rl_train
from lm.training import finetune, pretrain, runs, writers
from tests.conftest import _preference_files, tiny_task_config
from tests.experiments.test_rlhf import rl_config
from tests.interop import hf_models

pytestmark = pytest.mark.xdist_group("interop_stages")  # one worker builds the imported runs once


@pytest.fixture(scope="module")
def world_texts(task_data_dir):
  spec = pretrain.data_spec(tiny_task_config("instruct", task_data_dir).data)
  names = ("world/text", "world/instructions", "world/translation", "world/sentiment")
  return list(corpus.sample_texts([dataclasses.replace(spec, name=n) for n in names], 1500, 0))


def _imported(family, world_texts, root, **config):
  hf_dir, run = str(root / "hf"), str(root / "run")
  hf_models.build(family, hf_dir, texts=world_texts, vocab=1024, **config)
  convert.import_checkpoint("hf:" + hf_dir, run)
  return run


@pytest.fixture(scope="module")
def gpt2_run(world_texts, tmp_path_factory):
  return _imported("gpt2", world_texts, tmp_path_factory.mktemp("gpt2"), n_embd=64, n_layer=2, n_head=4,
                   n_positions=256)


def _losses(workdir, split="train"):
  return [r["loss"] for r in writers.read(workdir) if r["split"] == split and "loss" in r]


@pytest.fixture(scope="module")
def sft_run(task_data_dir, gpt2_run, tmp_path_factory):
  c = tiny_task_config("instruct", task_data_dir, steps=40, log_every=10, eval_every=40, checkpoint_every=40)
  c.init_from, c.data.seq_len, c.eval.validation_examples, c.eval.test_examples = gpt2_run, 256, 8, 8
  workdir = str(tmp_path_factory.mktemp("sft"))
  finetune.run(c, workdir)
  return workdir


def _lm_and_hf_logits(workdir, hf_dir, text):
  run = runs.load(workdir)
  ids = run.tokenizer.encode(text)
  ours = np.asarray(run.model.apply({"params": run.params}, jnp.asarray([ids])))
  theirs = transformers.AutoModelForCausalLM.from_pretrained(hf_dir).eval()
  with torch.no_grad():
    return ours, theirs(input_ids=torch.tensor([ids])).logits.numpy()


def test_imported_gpt2_instruction_tunes_and_exports(sft_run, tmp_path):
  losses = _losses(sft_run)
  print("imported GPT-2, instruction tuning: train loss", losses)
  assert losses[-1] < losses[0] - 1.0, losses  # from a random GPT-2: the instruction format is learned fast
  out = str(tmp_path / "hf")
  convert.export_run(sft_run, "hf:" + out)
  ours, theirs = _lm_and_hf_logits(sft_run, out, "Write a short note about Brin.")
  assert np.abs(ours - theirs).max() < 1e-4


def test_lora_run_exports_with_adapters_merged(task_data_dir, gpt2_run, tmp_path):
  c = tiny_task_config("instruct", task_data_dir, steps=4, log_every=2, eval_every=4, checkpoint_every=4)
  c.init_from, c.data.seq_len, c.eval.validation_examples, c.eval.test_examples = gpt2_run, 256, 4, 4
  c.adapt.lora_rank = 4
  finetune.run(c, str(tmp_path / "lora"))
  out = str(tmp_path / "hf")
  convert.export_run(str(tmp_path / "lora"), "hf:" + out)
  ours, theirs = _lm_and_hf_logits(str(tmp_path / "lora"), out, "Write a short note about Brin.")
  assert np.abs(ours - theirs).max() < 1e-4
  base, _ = _lm_and_hf_logits(gpt2_run, out, "Write a short note about Brin.")
  assert np.abs(base - theirs).max() > 1e-3  # the adapters changed the model, and the export carries the change


@pytest.fixture(scope="module")
def reward_run(task_data_dir, sft_run, tmp_path_factory):
  root = tmp_path_factory.mktemp("rm")
  c = tiny_task_config("rlhf/reward", task_data_dir, steps=40, log_every=10, eval_every=40, checkpoint_every=40)
  c.init_from, c.data.dataset, c.data.seq_len = sft_run, "files/preferences", 96
  c.eval.validation_examples, c.eval.test_examples = 32, 100
  files = _preference_files(root)
  c.data.files.train, c.data.files.validation, c.data.files.test = files["train"], files["validation"], files["test"]
  result = finetune.run(c, str(root / "run"))
  return str(root / "run"), result


def test_imported_gpt2_through_reward_model_and_ppo(task_data_dir, sft_run, reward_run, tmp_path):
  workdir, result = reward_run
  print("reward model from it:", result.test)
  assert result.test["rm_accuracy"] > 0.7, result.test  # chance: 0.5
  c = rl_config("ppo.py:tiny", task_data_dir, sft_run, workdir, **{"kl.limit": 40.0})
  c.train.update(iterations=2, eval_every=2, checkpoint_every=2)
  result = rl_train.run(c, str(tmp_path))
  rows = [r for r in writers.read(str(tmp_path)) if r["split"] == "train"]
  print("PPO:", [{k: r[k] for k in ("rm_score", "kl")} for r in rows], result.test)
  assert len(rows) == 2 and all(np.isfinite(r["rm_score"]) and np.isfinite(r["kl"]) for r in rows), rows
  assert 0.0 <= result.test["gold_win_rate"] <= 1.0


def test_imported_bert_fine_tunes_on_world_sentiment(task_data_dir, world_texts, tmp_path):
  run = _imported("bert", world_texts, tmp_path, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=128, max_position_embeddings=256)
  c = tiny_task_config("sentiment", task_data_dir, steps=200, log_every=50)
  c.init_from, c.optimizer.learning_rate = run, 1e-3  # post-norm BERT stalls at the tiny configs' 3e-3
  result = finetune.run(c, str(tmp_path / "sentiment"))
  print("imported BERT, world sentiment:", result.test, _losses(str(tmp_path / "sentiment")))
  assert result.test["accuracy"] > 0.6, result.test  # chance: 0.5 (balanced labels)


def test_imported_t5_fine_tunes_on_world_translation(task_data_dir, world_texts, tmp_path):
  run = _imported("t5", world_texts, tmp_path, d_model=64, d_kv=16, d_ff=128, num_heads=4,
                  relative_attention_num_buckets=32, relative_attention_max_distance=128)
  c = tiny_task_config("translation", task_data_dir, steps=60, log_every=10, eval_every=60)
  c.init_from, c.eval.test_examples, c.eval.validation_examples = run, 32, 32
  finetune.run(c, str(tmp_path / "translation"))
  losses = _losses(str(tmp_path / "translation"))
  print("imported T5, world translation: train loss", losses)
  assert losses[-1] < losses[0] - 1.0, losses


def test_lm_pretrained_run_exports_as_gpt2_with_its_sentencepiece_tokenizer(world_causal_run, tmp_path):
  """A run pretrained in lm (bias-free GPT shape, lm's own tokenizer) -> GPT2LMHeadModel with zero biases."""
  out = str(tmp_path / "hf")
  config = convert.export_run(world_causal_run, "hf:" + out)
  assert config["model_type"] == "gpt2"
  text = "Mira Tovel was born in  Varn.\nShe works in Oskel."
  ours, theirs = _lm_and_hf_logits(world_causal_run, out, text)
  assert np.abs(ours - theirs).max() < 1e-4
  tokenizer = transformers.AutoTokenizer.from_pretrained(out)
  assert tokenizer(text, add_special_tokens=False)["input_ids"] == runs.load(world_causal_run).tokenizer.encode(text)


def test_imported_gpt2_is_evaluated_few_shot(task_data_dir, gpt2_run, tmp_path):
  from lm import settings  # pylint: disable=import-outside-toplevel
  from lm.evaluation import evaluate  # pylint: disable=import-outside-toplevel
  from tests.conftest import REPO, TASK_WORLD  # pylint: disable=import-outside-toplevel
  c = settings.load_config(os.path.join(REPO, "configs/eval/fewshot.py"))
  c.checkpoint, c.data.data_dir, c.data.world.scale = gpt2_run, task_data_dir, TASK_WORLD
  c.tasks.fewshot, c.tasks.max_items = "sentiment", 16
  c.harness.update(shots=(0, 1), methods=("loglik",), progress_bar=False)
  summary = evaluate.run(c, str(tmp_path))
  by_k = summary["tasks"]["sentiment"]
  assert set(by_k) == {"0", "1"} and all(0.0 <= m["accuracy"] <= 1.0 for m in by_k.values()), by_k
  assert summary["max_len"] == 256  # an imported run did not train in lm: its context is the model's max_len
