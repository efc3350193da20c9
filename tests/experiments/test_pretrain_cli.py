"""End to end through the command line: pretrain on the world, sample, and the bad-input exits."""

import json
import os
import re

import pytest

from lm.data import corpus, sources, world
from lm.evaluation import unigram
from tests.conftest import SMALL_WORLD, run_module

CONFIG = "--config=configs/pretrain/clm.py:tiny"
pytestmark = pytest.mark.xdist_group("pretrain_cli")  # one worker trains the shared run once


def tiny_flags(world_data_dir, steps=150):
  return [CONFIG, f"--config.data.data_dir={world_data_dir}", f"--config.data.world.scale={SMALL_WORLD}",
          f"--config.train.steps={steps}", "--config.train.log_every=25", "--config.train.eval_every=75",
          "--config.train.eval_batches=4", "--config.train.checkpoint_every=75", "--config.train.progress_bar=False",
          "--config.optimizer.warmup_steps=20", "--config.mesh.data=1", "--config.data.batch_size=16"]


@pytest.fixture(scope="module")
def pretrained(world_data_dir, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("clm"))
  proc = run_module("experiments.pretrain", *tiny_flags(world_data_dir), f"--workdir={workdir}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "libtpu" not in proc.stderr and "Unable to initialize backend" not in proc.stderr  # no news on a CPU machine
  return workdir


def test_pretraining_learns_and_beats_the_unigram_baseline(pretrained, world_data_dir):
  rows = [json.loads(line) for line in open(os.path.join(pretrained, "metrics.jsonl"))]
  train = [r for r in rows if r["split"] == "train"]
  evals = [r for r in rows if r["split"] == "eval"]
  assert train[-1]["loss"] < train[0]["loss"] - 1.5, (train[0]["loss"], train[-1]["loss"])
  spec = sources.DatasetSpec("world/text", world_data_dir, world=world.WorldConfig(scale=SMALL_WORLD))
  tok = corpus.load_tokenizer(corpus.TokenizerConfig(), spec)
  baseline = unigram.baseline(tok, (r["text"] for r in sources.open_split(spec, "train")),
                              (r["text"] for r in sources.open_split(spec, "validation")))
  assert evals[-1]["perplexity"] < 0.5 * baseline, (evals[-1]["perplexity"], baseline)


def test_sample_prints_continuations(pretrained):
  proc = run_module("experiments.sample", f"--workdir={pretrained}", "--prompt=Review: the", "--num_samples=2",
                    "--max_new_tokens=12", "--temperature=0.7")
  assert proc.returncode == 0, proc.stderr[-3000:]
  blocks = [b for b in proc.stdout.split("--- ") if b.startswith("'Review: the'")]
  assert len(blocks) == 2
  assert all(len(b.split("\n", 1)[1].strip()) > len("Review: the") for b in blocks)


def test_copying_probe_reports_both_readings_and_refuses_spans_past_the_positions(pretrained):
  proc = run_module("experiments.copying_probe", f"--workdir={pretrained}", "--spans=8", "--length=20", "--names=40",
                    "--roll_calls=20")
  assert proc.returncode == 0, proc.stderr[-3000:]
  first, second, gain = (float(x) for x in re.search(
      r"loss first reading ([\d.]+), second ([\d.]+) nats per piece: gain (-?[\d.]+) ±", proc.stdout).groups())
  assert first > 1 and second > 0 and gain == pytest.approx(first - second, abs=0.011)
  names, first, second = re.search(r"\((\d+) mentioned twice\): first mention ([\d.]+), second ([\d.]+)",
                                   proc.stdout).groups()
  assert int(names) > 5 and float(first) > 0 and float(second) > 0
  lists, first, second, gain = re.search(r"roll calls \((\d+) fit\): .* first reading ([\d.]+), second ([\d.]+) nats "
                                         r"per piece: gain (-?[\d.]+)", proc.stdout).groups()
  assert int(lists) == 20 and float(first) > 0 and float(gain) == pytest.approx(float(first) - float(second), abs=0.011)
  proc = run_module("experiments.copying_probe", f"--workdir={pretrained}", "--length=300")
  assert proc.returncode != 0 and "exceed the model's 512 positions" in proc.stderr, proc.stderr[-2000:]


def test_rerunning_a_finished_run_resumes_and_does_nothing(pretrained, world_data_dir):
  before = open(os.path.join(pretrained, "metrics.jsonl")).read()
  proc = run_module("experiments.pretrain", *tiny_flags(world_data_dir), f"--workdir={pretrained}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert open(os.path.join(pretrained, "metrics.jsonl")).read() == before


@pytest.mark.parametrize("flags,message", [
    (["--config.model.num_layer=3"], "error: Unknown config key model.num_layer (from --config.model.num_layer=3). "
                                     "Did you mean model.num_layers?"),
    (["--config.trian.steps=3"], "error: Unknown config key trian (from --config.trian.steps=3). Did you mean train?"),
    (["--config.train.steps=many"], "error: flag --config.train.steps=many: invalid literal for int()"),
    (["--config=configs/pretrain/clm.py:huge"], "ValueError: Unknown model preset 'huge'"),
    (["--config.data.dataset=world/txt"], "Unknown world view 'txt'"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(flags, message, world_data_dir, tmp_path):
  base = [f for f in tiny_flags(world_data_dir) if not (flags[0].startswith("--config=") and f == CONFIG)]
  proc = run_module("experiments.pretrain", *base, *flags, f"--workdir={tmp_path}")
  assert proc.returncode != 0
  assert message in proc.stderr, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_sample_without_a_run_is_a_clear_error(tmp_path):
  proc = run_module("experiments.sample", f"--workdir={tmp_path}")
  assert proc.returncode != 0 and "config.json: not found" in proc.stderr


def test_prepare_data_prints_json_lines(world_data_dir):
  proc = run_module("experiments.prepare_data", "--dataset=world/sentiment", f"--data_dir={world_data_dir}",
                    f"--world_scale={SMALL_WORLD}", "--show=2")
  assert proc.returncode == 0, proc.stderr[-2000:]
  rows = [json.loads(line) for line in proc.stdout.splitlines()]
  assert len(rows) == 2 and set(rows[0]) == {"text", "label"}


def test_a_first_run_prepares_its_data_with_one_line_and_no_library_chatter(tmp_path):
  proc = run_module("experiments.prepare_data", "--dataset=world/sentiment", f"--data_dir={tmp_path}",
                    "--world_scale=0.005", "--show=1")  # a fresh data dir: prepared now
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert [set(json.loads(line)) for line in proc.stdout.splitlines()] == [{"text", "label"}]  # nothing else on stdout
  assert "Preparing world/sentiment in" in proc.stderr and "Prepared world/sentiment in" in proc.stderr
  for chatter in ("Downloading and preparing", "dataset_info.json", "Done writing", "libtpu"):
    assert chatter not in proc.stderr, chatter


def test_prepare_data_reports_a_malformed_line(tmp_path):
  path = tmp_path / "mine.jsonl"
  path.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "c"}\n')
  proc = run_module("experiments.prepare_data", "--dataset=files/instructions", f"--files=train={path}",
                    f"--data_dir={tmp_path / 'data'}")
  assert proc.returncode != 0
  assert "mine.jsonl:2: missing field 'response'" in proc.stderr
