"""kill -9 at seeded random moments (some mid-checkpoint-write), the same command re-run each time: the run ends
bit-identical to an uninterrupted one, with no step lost or logged twice and at most checkpoint_every repeated."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scripts import faults
from lm.training import writers
from tests.conftest import SMALL_WORLD, TASK_WORLD

pytestmark = pytest.mark.xdist_group("kills")  # one worker runs them in turn (they share the pipeline reference)

STEPS, EVERY = 600, 20  # long enough that the 10th kill always lands before the end


def command(data_dir):
  return faults.pretrain_command(data_dir, SMALL_WORLD, STEPS, EVERY)


def train_losses(workdir):
  return [(r["step"], r["loss"]) for r in writers.read(workdir) if r["split"] == "train"]


def test_ten_kills_end_bit_identical_to_an_uninterrupted_run(world_data_dir, tmp_path, jax_cache):
  env = faults.environment(cache_dir=jax_cache)
  reference = str(tmp_path / "reference")
  proc = faults.run(command(world_data_dir), reference, env)
  assert proc.returncode == 0, proc.stderr[-3000:]
  killed = str(tmp_path / "killed")
  outcome = faults.kill_and_resume(command(world_data_dir), killed, kills=10, seed=0, env=env)
  assert len(outcome.kills) == 10, outcome.kills
  assert sum(k.mid_write for k in outcome.kills) >= 1, outcome.kills
  assert all(k.resumed_from is not None for k in outcome.kills)
  assert max(k.repeated for k in outcome.kills) <= EVERY, outcome.kills
  assert faults.identical(faults.final_state(killed), faults.final_state(reference))
  # metrics.jsonl reads as if the run had never stopped: every step once, the same losses.
  assert train_losses(killed) == train_losses(reference)
  assert [s for s, _ in train_losses(killed)] == list(range(1, STEPS + 1))


STAGES = ("pretrain", "sft", "reward", "ppo")


@pytest.fixture(scope="module")
def pipeline_reference(task_data_dir, tmp_path_factory, jax_cache):
  """An uninterrupted tiny pipeline: pretrain -> sft -> reward -> ppo."""
  workdir = str(tmp_path_factory.mktemp("pipeline_reference"))
  proc = faults.run(faults.pipeline_command(task_data_dir, TASK_WORLD), workdir, faults.environment(cache_dir=jax_cache))
  assert proc.returncode == 0, proc.stderr[-3000:]
  return workdir


def test_killed_rl_run_ends_bit_identical(pipeline_reference, task_data_dir, tmp_path, jax_cache):
  """PPO with a separate critic and the adaptive KL coefficient: policy, critic, optimiser, controller and the
  rollout mid-way all resume exactly."""
  env = faults.environment(cache_dir=jax_cache)
  command = faults.rl_command(task_data_dir, TASK_WORLD, os.path.join(pipeline_reference, "sft"),
                              os.path.join(pipeline_reference, "reward"), iterations=30)
  reference = str(tmp_path / "reference")
  proc = faults.run(command, reference, env)
  assert proc.returncode == 0, proc.stderr[-3000:]
  killed = str(tmp_path / "killed")
  outcome = faults.kill_and_resume(command, killed, kills=4, seed=1, env=env, max_seconds=8, max_steps=10)
  assert len(outcome.kills) == 4, outcome.kills
  assert max(k.repeated for k in outcome.kills) <= 2, outcome.kills  # checkpoint_every: 1 iteration = 2 updates
  assert faults.identical(faults.final_state(killed), faults.final_state(reference))
  kl_coef = lambda d: [r["kl_coef"] for r in writers.read(d) if r["split"] == "train"]
  assert kl_coef(killed) == kl_coef(reference) and len(set(kl_coef(reference))) > 1, "the controller adapted"
  assert train_losses(killed) == train_losses(reference)


def test_killed_pipeline_ends_bit_identical_in_every_stage(pipeline_reference, task_data_dir, tmp_path, jax_cache):
  env = faults.environment(cache_dir=jax_cache)
  killed = str(tmp_path / "killed")
  outcome = faults.kill_and_resume(faults.pipeline_command(task_data_dir, TASK_WORLD), killed, kills=4, seed=2,
                                   env=env, max_seconds=10, moments=("time", "checkpoint_write"))
  assert len(outcome.kills) == 4, outcome.kills
  assert max(k.repeated for k in outcome.kills) <= 4, outcome.kills  # the largest checkpoint_every of the stages
  for stage in STAGES:
    assert faults.identical(faults.final_state(os.path.join(killed, stage)),
                            faults.final_state(os.path.join(pipeline_reference, stage))), stage
  summary = lambda d: {k: {m: v for m, v in s.items() if m != "seconds"}
                       for k, s in json.load(open(os.path.join(d, "summary.json"))).items()}
  assert summary(killed) == summary(pipeline_reference)


def test_sigterm_on_a_checkpoint_step_exits_143_from_the_command_line(world_data_dir, tmp_path, jax_cache):
  """checkpoint_every=1: every step is a checkpoint step, so SIGTERM always lands on one (orbax used to refuse the
  second save of that step and the run exited 1, as a user error)."""
  workdir = str(tmp_path / "run")
  proc = subprocess.Popen([sys.executable, "-m", *faults.pretrain_command(world_data_dir, SMALL_WORLD, 400, 1),
                           f"--workdir={workdir}"], cwd=faults.REPO, env=faults.environment(cache_dir=jax_cache),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 300
  while faults.last_logged_step(workdir) < 5 and proc.poll() is None and time.monotonic() < deadline:
    time.sleep(0.05)
  proc.send_signal(signal.SIGTERM)
  _, stderr = proc.communicate(timeout=300)
  assert proc.returncode == 143, stderr[-3000:]
  assert "Preempted at step" in stderr and "StepAlreadyExistsError" not in stderr
  steps = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
  assert steps[-1] >= faults.last_logged_step(workdir) >= 5
