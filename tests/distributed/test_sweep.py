"""Sweeps: points from get_sweep and --grid, a real SLURM job array, and re-runs that only redo what is unfinished."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lm import settings
from lm.sweeps import launch, points
from lm.training import writers
from scripts import faults
from tests.distributed.conftest import REPO, SCALE

CLM = os.path.join(REPO, "configs/pretrain/clm.py:tiny")


def test_points_from_get_sweep_and_the_grid():
  from_config = points.points(CLM, [])
  assert len(from_config) == 6 and from_config[0].overrides == {"optimizer.learning_rate": "0.0015", "seed": "0"}
  grid = points.points(CLM, ["optimizer.learning_rate=1e-3,3e-3", "seed=0,1", "train.steps=50"])
  assert len(grid) == 4  # the grid sweeps both of the config's keys: its 2 x 2 points replace the config's
  assert grid[0].name == "learning_rate=1e-3,seed=0"  # train.steps has one value: not part of the name
  seeds = points.points(CLM, ["seed=0,1,2"])
  assert len(seeds) == 3 * 3 and seeds[-1].name == "learning_rate=0.006,seed=2"  # the config's 3 rates x 3 seeds
  assert grid[0].flags() == ["--config.optimizer.learning_rate=1e-3", "--config.seed=0", "--config.train.steps=50"]
  assert points.stage_of(CLM) == "experiments.pretrain"
  assert points.stage_of(os.path.join(REPO, "configs/rlhf/reward.py:tiny")) == "experiments.train_reward"
  assert points.stage_of(os.path.join(REPO, "configs/rlhf/ppo.py:tiny")) == "experiments.rlhf"
  with pytest.raises(settings.ConfigError, match="optimizer has no key 'learning_rte'"):
    points.points(CLM, ["optimizer.learning_rte=1e-3"])
  with pytest.raises(settings.ConfigError, match="expected key=value1,value2"):
    points.parse_grid(["seed"])


def test_finished_points_are_not_reused_once_the_config_file_changed(tmp_path):
  sweep = points.points(CLM, ["seed=0,1"])
  base = settings.to_dict(settings.load_config(CLM))
  spec = {"config": CLM, "base": base, "points": [{"name": p.name, "overrides": p.overrides} for p in sweep]}
  launch.check_unchanged(str(tmp_path), sweep, spec, dict(base, seed=5))  # nothing finished: nothing to protect
  os.makedirs(tmp_path / sweep[0].name)
  settings.write_json(str(tmp_path / sweep[0].name / launch.STATE_FILE), {"state": launch.FINISHED})
  launch.check_unchanged(str(tmp_path), sweep, spec, base)
  steps = base["train"]["steps"]
  longer = dict(base, train=dict(base["train"], steps=2 * steps))
  with pytest.raises(settings.ConfigError, match=rf"clm.py:tiny changed since 1 point\(s\) of this sweep finished: "
                                                 rf"train.steps: {steps} then, {2 * steps} now"):
    launch.check_unchanged(str(tmp_path), sweep, spec, longer)
  moved = [points.Point(sweep[0].name, {**sweep[0].overrides, "train.steps": "80"}), sweep[1]]
  with pytest.raises(settings.ConfigError, match=r"finished with other overrides: train.steps: \(not set\) then, 80"):
    launch.check_unchanged(str(tmp_path), moved, spec, base)


def sweep_command(workdir: str, data_dir: str) -> list[str]:
  fixed = {"train.steps": 40, "train.checkpoint_every": 10, "train.log_every": 1, "train.eval_every": 20,
           "train.eval_batches": 2, "train.progress_bar": False, "data.data_dir": data_dir, "data.world.scale": SCALE,
           "data.batch_size": 8, "data.seq_len": 64, "mesh.data": 1,
           **{f"model.{k}": v for k, v in dict(faults.TINY_MODEL, max_len=64).items()}}
  return [sys.executable, "-m", "experiments.sweep", f"--config={CLM}", f"--workdir={workdir}", "--executor=slurm",
          "--grid=optimizer.learning_rate=1e-3,3e-3", "--grid=seed=0,1", *(f"--grid={k}={v}" for k, v in fixed.items())]


@pytest.mark.xdist_group("cluster")
def test_a_sweep_as_a_slurm_job_array_requeues_the_preempted_and_resumes_what_was_killed(slurm, cluster_dirs, tmp_path):
  del slurm
  workdir = str(tmp_path / "sweep")
  env = faults.environment(1, cache_dir=cluster_dirs["jax_cache"])
  victim = os.path.join(workdir, "learning_rate=3e-3,seed=1")      # killed with SIGKILL: failed, re-run resumes it
  preempted = os.path.join(workdir, "learning_rate=1e-3,seed=0")   # SIGTERM from the scheduler: exits 143, requeued
  sweep = subprocess.Popen(sweep_command(workdir, cluster_dirs["data"]), cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
  deadline = time.monotonic() + 600
  while min(faults.last_logged_step(victim), faults.last_logged_step(preempted)) < 12:  # past the checkpoint at 10
    assert sweep.poll() is None, sweep.stdout.read()[-3000:]
    assert time.monotonic() < deadline, "the points logged no steps in time"
    time.sleep(0.2)
  pid = subprocess.run(["pgrep", "-f", f"experiments.pretrain .*--workdir={victim}"], capture_output=True,
                       text=True).stdout.split()
  assert pid, "the point's process was not found"
  os.kill(int(pid[0]), signal.SIGKILL)
  job = json.load(open(os.path.join(preempted, launch.STATE_FILE)))["job"]
  subprocess.run(["scancel", "--signal=TERM", job], check=True)
  out, _ = sweep.communicate(timeout=900)  # the requeued point runs again once SLURM releases it (cred_expire: 30 s here)
  assert sweep.returncode == 1 and "1 point(s) did not finish: learning_rate=3e-3,seed=1" in out, out[-3000:]
  table = open(os.path.join(workdir, "sweep.md"), encoding="utf-8").read()
  assert table.count("| finished") == 3 and "| failed |" in table and "finished (2 attempts)" in table, table
  log = open(os.path.join(preempted, "run.log"), encoding="utf-8").read()
  assert "Preempted at step" in log and "Resumed from" in log, log[-3000:]
  assert [r["step"] for r in writers.read(preempted) if r["split"] == "train"] == list(range(1, 41))
  before = {p.name: launch.read_state(workdir, p) for p in points.points(CLM, ["optimizer.learning_rate=1e-3,3e-3",
                                                                            "seed=0,1"])}

  again = subprocess.run(sweep_command(workdir, cluster_dirs["data"]), cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  assert "3 finished, 0 still running, 1 to run" in again.stdout
  for name, state in before.items():
    now = launch.read_state(workdir, points.Point(name, {}))
    assert now["state"] == "finished"
    if name == "learning_rate=3e-3,seed=1":
      assert now["attempts"] == 2 and now["job"] != state["job"]
    else:
      assert now == state  # finished points were not run again
  assert "Resumed from" in open(os.path.join(victim, "run.log"), encoding="utf-8").read()
  steps = [r["step"] for r in writers.read(victim) if r["split"] == "train"]
  assert steps == list(range(1, 41))
  table = open(os.path.join(workdir, "sweep.md"), encoding="utf-8").read()
  assert table.count("| finished") == 4 and table.count("finished (2 attempts)") == 2, table
  assert os.path.isfile(os.path.join(workdir, "sweep.png"))
  rows = settings.load_json(os.path.join(workdir, "sweep.json"))["points"]
  assert all(r["eval"]["loss"] < 8.0 for r in rows), rows  # every point learned (8.3 at the start)
  # A finished point is never reused for a changed sweep: with more steps the call is refused, nothing is touched.
  finished = {name: launch.read_state(workdir, points.Point(name, {})) for name in before}
  longer = [a.replace("train.steps=40", "train.steps=80") for a in sweep_command(workdir, cluster_dirs["data"])]
  refused = subprocess.run(longer, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert refused.returncode == 1 and "finished with other overrides: train.steps: 40 then, 80 now" in refused.stderr
  assert {name: launch.read_state(workdir, points.Point(name, {})) for name in finished} == finished
