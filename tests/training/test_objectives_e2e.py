"""BERT and T5 pretraining through the shared loop: they learn, and they resume exactly."""

import collections

import pytest

from lm import settings
from lm.data import corpus, sources, span_corruption
from lm.training import pretrain, writers
from tests.conftest import REPO, tiny_pretrain_config


def config_for(objective_file, text_files, data_dir, **train):
  """The tiny files/text setup of tests/conftest.py with another objective's settings."""
  config = tiny_pretrain_config(text_files, data_dir, **train)
  objective = settings.load_config(f"{REPO}/configs/pretrain/{objective_file}:tiny")
  config.objective = objective.objective
  for section in ("masking", "bert", "span"):
    if section in objective:
      config[section] = objective[section]
  return config


def rows(workdir, split):
  return [r for r in writers.read(workdir) if r["split"] == split]


@pytest.fixture(scope="module")
def t5_run(text_files, data_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("t5"))
  pretrain.run(config_for("t5.py", text_files, data_dir, steps=100, eval_every=50, checkpoint_every=50), workdir)
  return workdir


@pytest.mark.xdist_group("t5_run")  # with the next test: one worker trains the shared run once
def test_span_corruption_learns(t5_run):
  train, evals = rows(t5_run, "train"), rows(t5_run, "eval")
  assert train[-1]["loss"] < train[0]["loss"] - 1.0, (train[0]["loss"], train[-1]["loss"])
  # Sentinels and eos are free: beating their share of the targets means spans are being predicted.
  raw, targets_length = span_corruption.lengths_for(64, 0.15, 3.0)
  free = (targets_length - round(raw * 0.15)) / targets_length
  assert evals[-1]["target_accuracy"] > free + 0.1, (evals[-1]["target_accuracy"], free)


@pytest.mark.xdist_group("t5_run")
def test_span_corruption_resumes_exactly(t5_run, text_files, data_dir, tmp_path):
  workdir = str(tmp_path)
  config = config_for("t5.py", text_files, data_dir, steps=100, eval_every=50, checkpoint_every=50)
  stop_early = config_for("t5.py", text_files, data_dir, steps=50, eval_every=50, checkpoint_every=50)
  stop_early.optimizer = config.optimizer  # same schedule: it does not depend on train.steps here
  pretrain.run(stop_early, workdir)
  pretrain.run(config, workdir)
  for ours, theirs in zip(rows(workdir, "train"), rows(t5_run, "train"), strict=True):
    assert ours["step"] == theirs["step"] and ours["loss"] == pytest.approx(theirs["loss"], rel=1e-5)


def test_masked_lm_beats_the_most_frequent_token(text_files, data_dir, tmp_path):
  config = config_for("bert.py", text_files, data_dir, steps=60, eval_every=60, checkpoint_every=60)
  config.bert.nsp_weight = 0.0  # plain documents: masked LM alone
  config.optimizer.learning_rate = 3e-3
  pretrain.run(config, str(tmp_path))
  spec = pretrain.data_spec(config.data)
  tok = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  counts = collections.Counter(t for r in sources.open_split(spec, "validation") for t in tok.encode(r["text"]))
  most_frequent = counts.most_common(1)[0][1] / sum(counts.values())
  final = rows(str(tmp_path), "eval")[-1]
  assert final["mlm_accuracy"] > most_frequent + 0.15, (final["mlm_accuracy"], most_frequent)


def topic_pairs(path, n, seed):
  """Sentence pairs over four disjoint vocabularies ("topics"): the true next segment stays on topic,
  a random one from another document usually does not (the cue real NSP is learned from)."""
  import json  # pylint: disable=g-import-not-at-top
  import random  # pylint: disable=g-import-not-at-top

  rng = random.Random(seed)
  topics = [[f"{t}{w}" for w in ("ra", "mo", "ki", "lu", "zen", "pa", "do", "fi")] for t in ("sel", "bor", "tam", "gu")]
  with open(path, "w") as f:
    for _ in range(n):
      topic = rng.randrange(4)
      is_next = rng.random() < 0.5
      other = topic if is_next else rng.choice([t for t in range(4) if t != topic])
      a = " ".join(rng.choice(topics[topic]) for _ in range(rng.randint(4, 10))) + "."
      b = " ".join(rng.choice(topics[other]) for _ in range(rng.randint(4, 10))) + "."
      f.write(json.dumps({"sentence_a": a, "sentence_b": b, "is_next": int(is_next)}) + "\n")
  return str(path)


def test_bert_learns_next_sentence_prediction_and_masked_lm(data_dir, tmp_path):
  files = {"train": topic_pairs(tmp_path / "train.jsonl", 4000, 0),
           "validation": topic_pairs(tmp_path / "validation.jsonl", 400, 1)}
  config = config_for("bert.py", files, data_dir, steps=300, eval_every=100, checkpoint_every=300, eval_batches=0)
  config.data.dataset = "files/sentence_pairs"
  config.tokenizer.datasets = ("files/sentence_pairs",)
  config.data.seq_len, config.data.batch_size = 48, 32
  config.optimizer.learning_rate = 1e-3
  pretrain.run(config, str(tmp_path / "run"))
  final = rows(str(tmp_path / "run"), "eval")[-1]
  assert final["nsp_accuracy"] > 0.8, final
  # 8 words per topic: knowing the topic from context beats the 1/32 of guessing among all words.
  assert final["mlm_accuracy"] > 0.15, final


def test_bert_resumes_exactly(text_files, data_dir, tmp_path):
  """Dynamic masking comes from the step's RNG, so a resumed run sees the same masks."""
  def config(steps):
    c = config_for("bert.py", text_files, data_dir, steps=steps, eval_every=20, checkpoint_every=10)
    c.bert.nsp_weight = 0.0
    return c

  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  pretrain.run(config(20), straight)
  pretrain.run(config(10), resumed)
  pretrain.run(config(20), resumed)
  for ours, theirs in zip(rows(resumed, "train"), rows(straight, "train"), strict=True):
    assert ours["step"] == theirs["step"] and ours["mlm_loss"] == pytest.approx(theirs["mlm_loss"], rel=1e-5)
