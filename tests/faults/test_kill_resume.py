"""kill -9 at seeded random moments (some mid-checkpoint-write), the same command re-run each time: the run ends
bit-identical to an uninterrupted one, with no step lost or logged twice and at most checkpoint_every repeated."""

import json
import os

import pytest

from scripts import faults
from tests.conftest import SMALL_WORLD

pytestmark = pytest.mark.xdist_group("faults")  # one worker: the runs are timed kills, not to be starved of CPU

STEPS, EVERY = 400, 20


def command(data_dir):
  return ["experiments.pretrain", "--config=configs/pretrain/clm.py:tiny", f"--config.data.data_dir={data_dir}",
          f"--config.data.world.scale={SMALL_WORLD}", f"--config.train.steps={STEPS}",
          f"--config.train.checkpoint_every={EVERY}", "--config.train.log_every=1", "--config.train.eval_every=1000",
          "--config.train.progress_bar=False", "--config.mesh.data=1", "--config.data.batch_size=8",
          "--config.data.seq_len=64", "--config.model.num_layers=2", "--config.model.d_model=64",
          "--config.model.d_ff=128", "--config.model.max_len=64"]


def train_losses(workdir):
  rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  return [(r["step"], r["loss"]) for r in rows if r["split"] == "train"]


def test_ten_kills_end_bit_identical_to_an_uninterrupted_run(world_data_dir, tmp_path):
  env = faults.environment(cache_dir=str(tmp_path / "jax_cache"))
  reference = str(tmp_path / "reference")
  proc = faults.run(command(world_data_dir), reference, env)
  assert proc.returncode == 0, proc.stderr[-3000:]
  killed = str(tmp_path / "killed")
  outcome = faults.kill_and_resume(command(world_data_dir), killed, kills=10, seed=0, env=env)
  assert len(outcome.kills) == 10, outcome.kills
  assert sum(k.mid_write for k in outcome.kills) >= 2, outcome.kills
  assert all(k.resumed_from is not None for k in outcome.kills)
  assert max(k.repeated for k in outcome.kills) <= EVERY, outcome.kills
  assert faults.identical(faults.final_state(killed), faults.final_state(reference))
  # metrics.jsonl reads as if the run had never stopped: every step once, the same losses.
  assert train_losses(killed) == train_losses(reference)
  assert [s for s, _ in train_losses(killed)] == list(range(1, STEPS + 1))
