"""Multi-process runs against the real local SLURM cluster (`scripts/local_slurm.sh`, started by `.ci/run`).

Without a reachable cluster these tests skip, unless LM_REQUIRE_SLURM=1 (CI sets it): then they fail.
"""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from scripts import faults

REPO = faults.REPO
SCALE = 0.02  # the world's size for these runs: prepared in seconds


def _slurm_reachable() -> str | None:
  """None if `sinfo` reports a usable node, else why not."""
  if shutil.which("srun") is None:
    return "srun is not installed (bash scripts/local_slurm.sh installs and starts a local cluster)"
  try:
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
  except subprocess.TimeoutExpired:
    return "sinfo timed out"
  states = out.stdout.split()
  if out.returncode or not any(s.rstrip("*") in ("idle", "mixed", "allocated") for s in states):
    return f"no usable SLURM node (sinfo: {out.stdout.strip() or out.stderr.strip()})"
  return None


@pytest.fixture(scope="session")
def slurm():
  problem = _slurm_reachable()
  if problem:
    if os.environ.get("LM_REQUIRE_SLURM") == "1":
      pytest.fail(f"LM_REQUIRE_SLURM=1 but {problem}; run `bash scripts/local_slurm.sh` first.")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def cluster_dirs(tmp_path_factory):
  """A data cache and a JAX compilation cache shared by this module's runs."""
  root = tmp_path_factory.mktemp("cluster")
  return {"data": str(root / "data"), "jax_cache": str(root / "jax_cache"), "root": str(root)}


def srun(command: list[str], workdir: str, *, tasks: int, devices: int, cache: str, timeout: float = 600,
         extra: list[str] = ()) -> subprocess.CompletedProcess:
  """`srun -n tasks python -m command --workdir=...` with `devices` forced CPU devices per task."""
  env = faults.environment(devices, cache_dir=cache)
  return subprocess.run(["srun", f"--ntasks={tasks}", "--kill-on-bad-exit=1", *extra, sys.executable, "-m", *command,
                         f"--workdir={workdir}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def local_processes(command: list[str], workdir: str, *, tasks: int, devices: int, cache: str,
                    timeout: float = 600) -> list[subprocess.CompletedProcess]:
  """The same run as `tasks` plain processes joined by explicit coordinator flags on 127.0.0.1 (no scheduler)."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  env = faults.environment(devices, cache_dir=cache)
  for key in [k for k in env if k.startswith("SLURM_")]:
    del env[key]
  procs = [subprocess.Popen([sys.executable, "-m", *command, f"--workdir={workdir}",
                             f"--coordinator_address=127.0.0.1:{port}", f"--num_processes={tasks}",
                             f"--process_id={i}"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True) for i in range(tasks)]
  results = []
  try:
    for p in procs:
      out, err = p.communicate(timeout=timeout)
      results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  return results


def single(command: list[str], workdir: str, *, devices: int, cache: str, timeout: float = 600):
  return faults.run(command, workdir, faults.environment(devices, cache_dir=cache), timeout=timeout)


def check(result: subprocess.CompletedProcess, what: str) -> None:
  assert result.returncode == 0, f"{what} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
