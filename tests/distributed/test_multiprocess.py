"""One run on many processes: the same losses as one process, one writer, agreed preemption, exact resume.

Every run here is `clm.py:tiny` shrunk (2 layers of width 64) with `data.shards=2`, so one process with 4
devices and 2 processes with 2 devices each read the same global batches.
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from lm.training import writers
from scripts import faults
from tests.distributed.conftest import SCALE, check, local_processes, single, srun

pytestmark = pytest.mark.xdist_group("cluster")  # one worker runs them in turn: they share caches and the cores


def command(data_dir: str, steps: int = 20, checkpoint_every: int = 10, extra: tuple[str, ...] = ()) -> list[str]:
  return [*faults.pretrain_command(data_dir, SCALE, steps, checkpoint_every), "--config.data.shards=2",
          "--config.mesh.data=-1", "--config.train.eval_every=10", "--config.train.eval_batches=0", *extra]


def rows(workdir: str, split: str) -> list[dict]:
  return [r for r in writers.read(workdir) if r["split"] == split]


def losses(workdir: str, split: str = "train") -> np.ndarray:
  return np.asarray([r["loss"] for r in rows(workdir, split)])


@pytest.mark.parametrize("mesh", [(), ("--config.mesh.fsdp=2",)], ids=["data", "data_x_fsdp"])
def test_two_processes_on_slurm_give_the_losses_of_one(slurm, cluster_dirs, tmp_path, mesh):
  del slurm
  cmd = command(cluster_dirs["data"], extra=mesh)
  check(single(cmd, str(tmp_path / "one"), devices=4, cache=cluster_dirs["jax_cache"]), "1 process x 4 devices")
  check(srun(cmd, str(tmp_path / "two"), tasks=2, devices=2, cache=cluster_dirs["jax_cache"]), "srun -n 2 x 2 devices")
  one, two = str(tmp_path / "one"), str(tmp_path / "two")
  assert [r["step"] for r in rows(two, "train")] == list(range(1, 21))  # exactly one row per logged step
  assert [r["step"] for r in rows(two, "eval")] == [10, 20]
  np.testing.assert_allclose(losses(two), losses(one), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(losses(two, "eval"), losses(one, "eval"), rtol=1e-5, atol=1e-5)
  assert losses(two)[-1] < losses(two)[0] - 0.5  # and it learned (still in warmup: 8.3 -> 7.5 measured)
  leftovers = [f for f in os.listdir(two) if f.endswith(".tmp")]
  assert not leftovers, leftovers


def test_explicit_coordinator_without_slurm(cluster_dirs, tmp_path):
  cmd = command(cluster_dirs["data"])
  check(single(cmd, str(tmp_path / "one"), devices=4, cache=cluster_dirs["jax_cache"]), "1 process x 4 devices")
  for i, result in enumerate(local_processes(cmd, str(tmp_path / "two"), tasks=2, devices=2,
                                             cache=cluster_dirs["jax_cache"])):
    check(result, f"process {i} of 2 (127.0.0.1 coordinator)")
  assert [r["step"] for r in rows(str(tmp_path / "two"), "train")] == list(range(1, 21))
  np.testing.assert_allclose(losses(str(tmp_path / "two")), losses(str(tmp_path / "one")), rtol=1e-5, atol=1e-5)


def test_scancel_term_saves_one_step_everywhere_and_the_rerun_matches(slurm, cluster_dirs, tmp_path):
  del slurm
  steps = 150
  cmd = command(cluster_dirs["data"], steps=steps, checkpoint_every=1000)
  cache = cluster_dirs["jax_cache"]
  reference = str(tmp_path / "reference")
  check(srun(cmd, reference, tasks=2, devices=2, cache=cache), "the uninterrupted run")

  workdir, log = str(tmp_path / "preempted"), str(tmp_path / "job.log")
  env = faults.environment(2, cache_dir=cache)
  script = " ".join(["srun", "--kill-on-bad-exit=1", sys.executable, "-m", *cmd, f"--workdir={workdir}"])
  job = subprocess.Popen(["sbatch", "--parsable", "--wait", "--ntasks=2", f"--output={log}", f"--chdir={faults.REPO}",
                          "--wrap", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  job_id = job.stdout.readline().strip().split(";")[0]
  deadline = time.monotonic() + 600
  while faults.last_logged_step(workdir) < 10:
    assert job.poll() is None, f"the job ended before it could be preempted:\n{open(log).read()[-3000:]}"
    assert time.monotonic() < deadline, "the job logged no steps in time"
    time.sleep(0.2)
  subprocess.run(["scancel", "--signal=TERM", job_id], check=True)
  job.wait(timeout=600)
  text = open(log, encoding="utf-8").read()
  assert job.returncode == 143, f"sbatch --wait returned {job.returncode}:\n{text[-3000:]}"
  said = [line.split("Preempted at step ")[1].split(";")[0] for line in text.splitlines() if "Preempted at step" in line]
  assert len(said) == 2 and said[0] == said[1], text[-3000:]  # both processes stopped at the same step
  stopped = int(said[0])
  assert 10 <= stopped < steps
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [str(stopped)]

  check(srun(cmd, workdir, tasks=2, devices=2, cache=cache), "the re-run")
  assert [r["step"] for r in rows(workdir, "train")] == list(range(1, steps + 1))
  np.testing.assert_allclose(losses(workdir)[-1], losses(reference)[-1], rtol=1e-6, atol=1e-6)


def test_a_run_resumes_on_another_number_of_processes(slurm, cluster_dirs, tmp_path):
  """1 process x 4 devices to step 10, then 2 processes x 2 devices to step 20: the curve of the uninterrupted run."""
  del slurm
  cmd = command(cluster_dirs["data"])
  whole, resumed = str(tmp_path / "whole"), str(tmp_path / "resumed")
  check(single(cmd, whole, devices=4, cache=cluster_dirs["jax_cache"]), "1 process x 4 devices")
  shutil.copytree(whole, resumed)
  shutil.rmtree(os.path.join(resumed, "checkpoints", "20"))  # as if stopped after the checkpoint at step 10
  result = srun(cmd, resumed, tasks=2, devices=2, cache=cluster_dirs["jax_cache"])
  check(result, "the resume on srun -n 2")
  assert "Resumed from" in result.stderr and "/10." in result.stderr
  assert [r["step"] for r in rows(resumed, "train")] == list(range(1, 21))
  np.testing.assert_allclose(losses(resumed), losses(whole), rtol=1e-5, atol=1e-5)
  # Sampling from it on 2 processes: rows split over them, the text printed once, as one process samples it.
  sample = ["experiments.sample", "--prompt=Mira was born in", "--prompt=The city of", "--num_samples=2",
            "--max_new_tokens=8", "--temperature=0.8"]
  two = srun(sample, resumed, tasks=2, devices=2, cache=cluster_dirs["jax_cache"])
  one = single(sample, resumed, devices=4, cache=cluster_dirs["jax_cache"])
  check(two, "sampling on 2 processes")
  check(one, "sampling on 1 process")
  printed = [[line for line in r.stdout.splitlines() if not line.startswith("[Gloo]") and "peer ranks" not in line] for r in (two, one)]
  assert sum(line.startswith("--- ") for line in printed[0]) == 4 and printed[0] == printed[1], printed
