"""Fine-tuning end to end: each task learns (metric above chance); init_from, freezing and bad input via the CLI."""

import json
import os
import random

import chex
import flax.linen as nn
import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from lm import settings
from lm.data import formats
from lm.training import adapt, checkpoint, finetune, pretrain, runs, tasks, transfer
from tests.conftest import run_module, tiny_task_config


def test_sentiment_classifier_beats_chance(task_data_dir, tmp_path):
  result = finetune.run(tiny_task_config("sentiment", task_data_dir, steps=300), str(tmp_path))
  # Chance is 50% (balanced labels); a bag of words gets 73%. 200 test reviews: one standard error is 3.5 points.
  assert result.test["accuracy"] > 0.62, result.test
  assert result.test["examples"] == 200
  saved = json.load(open(tmp_path / finetune.RESULTS_FILE))
  assert saved["test"]["accuracy"] == result.test["accuracy"] and saved["init_from"] is None
  # Re-running a finished run trains no further and reports the same results.
  again = finetune.run(tiny_task_config("sentiment", task_data_dir, steps=300), str(tmp_path))
  assert again.loop.step == 300 and again.test == result.test
  assert json.load(open(tmp_path / finetune.RESULTS_FILE))["validation"] == saved["validation"]


def test_ner_tagger_finds_entities(task_data_dir, tmp_path):
  result = finetune.run(tiny_task_config("ner", task_data_dir), str(tmp_path))
  # Tagging every word O scores 0; entities are whole names with their types.
  assert result.test["span_f1"] > 0.4, result.test
  assert {"f1_PER", "f1_LOC", "f1_ORG"} <= set(result.test)


# A word-for-word "language" whose words are common English ones (single pieces for the tokenizer): learnable
# in a few hundred steps, so BLEU can rise far above 0. (World Zx words take 3-4 pieces each and need far longer.)
WORDS = ["the", "red", "blue", "big", "small", "fox", "wolf", "bird", "sees", "finds", "eats", "a", "stone", "tree",
         "river", "near", "old", "young"]
LEXICON = dict(zip(WORDS, WORDS[7:] + WORDS[:7]))


def _translation_files(root) -> dict[str, str]:
  rng = random.Random(0)
  words = sorted(LEXICON)
  paths = {}
  for split, n in (("train", 3000), ("validation", 100), ("test", 200)):
    path = root / f"{split}.jsonl"
    with open(path, "w") as f:
      for _ in range(n):
        en = [rng.choice(words) for _ in range(rng.randint(3, 8))]
        f.write(json.dumps({"en": " ".join(en), "zx": " ".join(LEXICON[w] for w in en)}) + "\n")
    paths[split] = str(path)
  return paths


@pytest.mark.parametrize("config_name, seq_len", [("translation", 32), ("translation_decoder", 80)])
def test_translation_reaches_a_real_bleu(config_name, seq_len, task_data_dir, tmp_path):
  config = tiny_task_config(config_name, task_data_dir, steps=300)
  config.data.dataset = "files/translation"
  files = _translation_files(tmp_path)
  config.data.files.train, config.data.files.validation, config.data.files.test = (
      files["train"], files["validation"], files["test"])
  config.data.seq_len = config.data.decoder_seq_len = seq_len
  config.eval.max_new_tokens = 32
  result = finetune.run(config, str(tmp_path / "run"))
  # Word-for-word output of the right words scores 100; unrelated output of the same vocabulary about 0.
  assert result.test["bleu"] > 30, result.test


COLOURS = dict(zip(["fox", "wolf", "bird", "bear", "horse", "cat"], ["red", "grey", "blue", "brown", "white", "black"]))


def _instruction_files(root) -> dict[str, str]:
  """Two instruction families a tiny model masters in a few hundred steps: recall a fact, repeat words."""
  rng = random.Random(1)
  paths = {}
  for split, n in (("train", 2000), ("validation", 64), ("test", 120)):
    path = root / f"{split}.jsonl"
    with open(path, "w") as f:
      for _ in range(n):
        if rng.random() < 0.5:
          animal = rng.choice(sorted(COLOURS))
          row = {"prompt": f"What colour is the {animal}?", "response": f"The {animal} is {COLOURS[animal]}.",
                 "task": "colour"}
        else:
          words = " ".join(rng.choice(WORDS) for _ in range(3))
          row = {"prompt": f"Repeat after me: {words}", "response": words, "task": "repeat"}
        f.write(json.dumps(row) + "\n")
    paths[split] = str(path)
  return paths


def test_instruction_tuning_answers_exactly(task_data_dir, tmp_path):
  config = tiny_task_config("instruct", task_data_dir, steps=400)  # 250 sat on the edge: seed 0 0.15-0.51, seed 1 0.91
  config.data.dataset = "files/instructions"
  files = _instruction_files(tmp_path)
  config.data.files.train, config.data.files.validation, config.data.files.test = (
      files["train"], files["validation"], files["test"])
  config.data.seq_len, config.task_options.max_prompt_tokens, config.eval.max_new_tokens = 64, 32, 16
  result = finetune.run(config, str(tmp_path / "run"))
  # Exact match needs every piece of the response and the eos: above 50% in both families.
  assert result.test["exact_match/colour"] > 0.5 and result.test["exact_match/repeat"] > 0.5, result.test


def test_frozen_backbone_stays_exactly_pretrained_and_the_head_learns(task_data_dir, world_causal_run, tmp_path):
  config = tiny_task_config("sentiment", task_data_dir, steps=20, eval_every=20, checkpoint_every=20)
  config.architecture, config.init_from, config.adapt.freeze_backbone = "decoder", world_causal_run, True
  result = finetune.run(config, str(tmp_path))
  assert json.load(open(tmp_path / finetune.RESULTS_FILE))["init_from"] == world_causal_run
  tuned, pretrained = runs.load(str(tmp_path)), runs.load(world_causal_run)
  chex.assert_trees_all_equal(tuned.params["backbone"], pretrained.params)
  initial = tasks.init_params(tuned.model, "decoder", 8, 0)(jax.random.key(config.seed))["head"]
  assert not np.allclose(tuned.params["head"]["kernel"], getattr(initial["kernel"], "value", initial["kernel"]))
  assert result.loop.step == 20 and result.test["examples"] == 200


def test_cli_reports_bad_init_from_and_mismatched_architecture(task_data_dir, causal_run, tmp_path):
  base = ["--config=configs/finetune/sentiment.py:tiny", f"--workdir={tmp_path / 'run'}",
          f"--config.data.data_dir={task_data_dir}", f"--config.data.world.scale={0.1}"]
  missing = run_module("experiments.finetune", *base, f"--config.init_from={tmp_path / 'no_such_run'}")
  assert missing.returncode != 0 and "no_such_run: no such directory" in missing.stderr, missing.stderr[-2000:]
  assert not os.path.exists(tmp_path / "run" / "checkpoints"), "nothing was trained"
  wrong = run_module("experiments.finetune", *base, f"--config.init_from={causal_run}")
  assert wrong.returncode != 0 and "is a 'causal' run" in wrong.stderr and "config.architecture" in wrong.stderr


def test_an_empty_task_split_is_a_clear_error(task_data_dir, tmp_path):
  (tmp_path / "train.jsonl").write_text("")
  (tmp_path / "test.jsonl").write_text(json.dumps({"text": "A superb trip.", "label": "pos"}) + "\n")
  config = tiny_task_config("sentiment", task_data_dir)
  config.data.dataset = "files/sentiment"
  config.data.files.train = str(tmp_path / "train.jsonl")
  config.data.files.validation = config.data.files.test = str(tmp_path / "test.jsonl")
  with pytest.raises(formats.FormatError, match=r"train.jsonl: split 'train' has no records"):
    finetune.run(config, str(tmp_path / "run"))


@pytest.mark.parametrize("task, dataset, options", [
    ("sentiment", "imdb_reviews", {}),
    ("translation", "wmt14_translate/de-en", {"target_field": "de"}),
])
def test_catalog_datasets_are_a_config_change(task, dataset, options, world_causal_run, tmp_path):
  config = tiny_task_config(task, str(tmp_path / "data"), steps=2, eval_every=2, checkpoint_every=2)
  config.data.dataset = dataset
  config.task_options.update(options)
  # The world tokenizer, read from a file: mock data would otherwise stand in for the world too.
  config.tokenizer.model_file = os.path.join(world_causal_run, "tokenizer.model")
  config.eval.max_new_tokens = 4
  with tfds.testing.mock_data(num_examples=24, policy=tfds.testing.MockPolicy.USE_CODE):
    result = finetune.run(config, str(tmp_path / "run"))
  assert result.loop.step == 2 and json.load(open(tmp_path / "run" / finetune.RESULTS_FILE))["test"]


def test_lora_trains_only_the_adapters_and_the_head(task_data_dir, world_causal_run, tmp_path):
  config = tiny_task_config("sentiment", task_data_dir, steps=20, eval_every=20, checkpoint_every=20)
  config.architecture, config.init_from, config.adapt.lora_rank = "decoder", world_causal_run, 4
  finetune.run(config, str(tmp_path))
  state = checkpoint.restore_params(str(tmp_path / "checkpoints"), _abstract_lora_params(config, tmp_path))
  pretrained = runs.load(world_causal_run).params
  chex.assert_trees_all_equal(state["base"]["backbone"], pretrained)  # the pretrained weights never moved
  assert all(float(np.abs(a["b"]).max()) > 0 for a in state["lora"].values()), "every adapter trained"
  merged = runs.load(str(tmp_path)).params  # loading a LoRA run folds the adapters in
  kernel = "stack/layer_0/mlp/up/kernel".split("/")
  base_kernel, merged_kernel = pretrained, merged["backbone"]
  for k in kernel:
    base_kernel, merged_kernel = base_kernel[k], merged_kernel[k]
  assert not np.allclose(base_kernel, merged_kernel)


def _abstract_lora_params(config, workdir):
  tok = transfer.saved_tokenizer(str(workdir))
  model_cfg = pretrain.model_config(config, tok.vocab_size)
  model = tasks.task(config).model(model_cfg, config)
  init = adapt.wrap_init(tasks.init_params(model, "decoder", 8, 0), settings.section(
      adapt.AdaptConfig, config.adapt, "adapt"), model_cfg.d_model)
  return nn.unbox(jax.eval_shape(lambda: init(jax.random.key(0))))
