"""Running the points of a sweep: each its own run, on SLURM (one submitit job array) or locally, N at a time.

Every point runs its stage's entry point (`python -m experiments.<stage> --config=... --workdir=DIR/<point>
--config.a.b=v ...`) and keeps its state in `DIR/<point>/point.json`: `running`, `finished`, `failed` or
`preempted`, with attempts, exit code and wall time. Re-running the sweep skips finished points, leaves
points whose job is still alive alone, and runs the others again; their runs resume from their own
checkpoints. On SLURM a point that exits 143 (SIGTERM from the scheduler) is requeued; one that nears its
time limit gets SIGTERM forwarded by submitit's USR2 warning, saves, and is requeued likewise.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from lm import settings
from lm.sweeps.points import Point
from lm.training import rundir
from lm.training.loop import PREEMPTED_EXIT

STATE_FILE = "point.json"
SPEC_FILE = "sweep_spec.json"  # the sweep's config, stage, points and the config file's settings (what --collect needs)
FINISHED, FAILED, PREEMPTED, RUNNING = "finished", "failed", "preempted", "running"


@dataclasses.dataclass(frozen=True)
class SlurmConfig:
  partition: str = ""          # "" = the cluster's default partition
  nodes: int = 1               # nodes per point (a point may span several: one multi-process run)
  tasks_per_node: int = 1      # processes per node (one per GPU is usual)
  gpus_per_node: int = 0
  cpus_per_task: int = 0       # 0 = the cluster's default
  time: str = "60"             # time limit per point: minutes, or H:MM:SS
  mem: str = ""                # e.g. "32G"; "" = the cluster's default
  account: str = ""
  qos: str = ""
  setup: str = ""              # shell lines run before each point (module load ..., source venv)


def state_path(sweep_dir: str, point: Point) -> str:
  return os.path.join(sweep_dir, point.name, STATE_FILE)


def read_state(sweep_dir: str, point: Point) -> dict:
  path = state_path(sweep_dir, point)
  return settings.load_json(path) if os.path.isfile(path) else {}


def _write_state(workdir: str, **changes) -> dict:
  path = os.path.join(workdir, STATE_FILE)
  state = settings.load_json(path) if os.path.isfile(path) else {}
  state.update(changes)
  settings.write_json(path, state)
  return state


class PointRun:
  """One point's run (a submitit callable; also what the local executor calls in a thread)."""

  def __init__(self, module: str, config_spec: str, point: Point, sweep_dir: str, repo: str):
    self.module, self.config_spec, self.point, self.sweep_dir, self.repo = module, config_spec, point, sweep_dir, repo
    self._child: subprocess.Popen | None = None

  @property
  def workdir(self) -> str:
    return os.path.join(self.sweep_dir, self.point.name)

  def command(self) -> list[str]:
    return [sys.executable, "-m", self.module, f"--config={self.config_spec}", f"--workdir={self.workdir}",
            *self.point.flags()]

  def __call__(self) -> int:
    rank = int(os.environ.get("SLURM_PROCID", "0"))  # a multi-task point calls this once per task
    os.makedirs(self.workdir, exist_ok=True)
    if rank == 0:
      attempts = read_state(self.sweep_dir, self.point).get("attempts", 0) + 1
      _write_state(self.workdir, overrides=self.point.overrides, command=self.command(), state=RUNNING,
                   job=os.environ.get("SLURM_JOB_ID", ""), host=os.uname().nodename, started=time.time(),
                   attempts=attempts)
    started = time.perf_counter()
    log = os.path.join(self.workdir, "run.log" if rank == 0 else f"run.task{rank}.log")
    with open(log, "a", encoding="utf-8") as out:
      # The child ignores SLURM's USR2 time-limit warning (an ignored signal stays ignored across exec):
      # submitit's handler in this process forwards SIGTERM instead, so the run saves before it stops.
      self._child = subprocess.Popen(["/bin/sh", "-c", 'trap "" USR2; exec "$@"', "sh", *self.command()],
                                     cwd=self.repo, stdout=out, stderr=subprocess.STDOUT)
      code = self._child.wait()
    if rank == 0:
      state = {0: FINISHED, PREEMPTED_EXIT: PREEMPTED}.get(code, FAILED)
      seconds = read_state(self.sweep_dir, self.point).get("seconds", 0.0) + time.perf_counter() - started
      _write_state(self.workdir, state=state, exit_code=code, seconds=seconds, ended=time.time())
    if code == PREEMPTED_EXIT and os.environ.get("SLURM_JOB_ID") and rank == 0:
      _requeue_and_exit()
    if code != 0:
      raise RuntimeError(f"Point {self.point.name} exited with code {code}; see {log}.")
    return code

  def checkpoint(self):  # submitit calls this on the USR2 time-limit warning, then requeues what it returns
    import submitit  # pylint: disable=g-import-not-at-top

    if self._child is not None and self._child.poll() is None:
      self._child.send_signal(signal.SIGTERM)  # the run saves a checkpoint and exits 143
      self._child.wait()
    return submitit.helpers.DelayedSubmission(PointRun(self.module, self.config_spec, self.point, self.sweep_dir,
                                                       self.repo))


def _requeue_and_exit() -> None:
  """Back into the queue (the same job id, so the sweep keeps tracking it); no result is written meanwhile."""
  job = os.environ.get("SLURM_ARRAY_JOB_ID")
  job = f"{job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if job else os.environ["SLURM_JOB_ID"]
  subprocess.run(["scontrol", "requeue", job], check=True, timeout=60)
  time.sleep(120)  # SLURM stops this instance; exiting first would report the point as done
  os._exit(PREEMPTED_EXIT)  # pylint: disable=protected-access


def alive(job: str) -> bool:
  """Whether a SLURM job (or array task) is still pending or running."""
  if not job:
    return False
  try:
    out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True, timeout=60)
  except (OSError, subprocess.TimeoutExpired):
    return False
  return out.returncode == 0 and bool(out.stdout.strip())


def check_unchanged(sweep_dir: str, points: Sequence[Point], previous: dict, base: dict) -> None:
  """Finished points are skipped, so they must have run with what the sweep asks now: the config file's settings
  (`base`, against those `previous`, the sweep's last spec, recorded) and each point's own overrides. Otherwise their
  figures would stand in the table for the changed experiment."""
  finished = [p for p in points if read_state(sweep_dir, p).get("state") == FINISHED]
  if not finished:
    return
  spec = os.path.join(sweep_dir, SPEC_FILE)
  changed = rundir.differences(previous.get("base", base), base)
  if changed:
    raise settings.ConfigError(
        f"{spec}: {previous['config']} changed since {len(finished)} point(s) of this sweep finished: {changed}. "
        "Restore it, or sweep into another --workdir. Nothing was changed.")
  then = {p["name"]: p["overrides"] for p in previous.get("points", [])}
  for point in finished:
    was = then.get(point.name, point.overrides)
    changed = "; ".join(f"{k}: {was.get(k, '(not set)')} then, {point.overrides.get(k, '(not set)')} now"
                        for k in sorted(was.keys() | point.overrides.keys()) if was.get(k) != point.overrides.get(k))
    if changed:
      raise settings.ConfigError(
          f"{spec}: point {point.name} finished with other overrides: {changed}. Move "
          f"{os.path.join(sweep_dir, point.name)} away to run it again, or sweep into another --workdir. Nothing was "
          "changed.")


def to_run(points: Sequence[Point], sweep_dir: str, executor: str) -> tuple[list[Point], list[Point]]:
  """(points to launch, points still running from an earlier launch); finished points are in neither."""
  launch, running = [], []
  for point in points:
    state = read_state(sweep_dir, point)
    if state.get("state") == FINISHED:
      continue
    if state.get("state") == RUNNING and executor == "slurm" and alive(state.get("job", "")):
      running.append(point)
    else:
      launch.append(point)
  return launch, running


def run_local(runs: Sequence[PointRun], max_parallel: int) -> None:
  """Runs the points on this machine, `max_parallel` at a time; a failed point does not stop the others."""
  with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
    for future in concurrent.futures.as_completed([pool.submit(r) for r in runs]):
      try:
        future.result()
      except RuntimeError as e:
        print(f"sweep: {e}", file=sys.stderr)


def _minutes(text: str) -> int:
  parts = [int(p) for p in str(text).split(":")]
  if len(parts) == 1:
    return parts[0]
  h, m, s = ([0] * (3 - len(parts)) + parts)
  return h * 60 + m + (1 if s else 0)


def run_slurm(runs: Sequence[PointRun], sweep_dir: str, slurm: SlurmConfig, max_parallel: int) -> list:
  """Submits the points as one job array with submitit; returns the submitit jobs."""
  import submitit  # pylint: disable=g-import-not-at-top

  executor = submitit.SlurmExecutor(folder=os.path.join(sweep_dir, ".submitit", "%j"))
  params = dict(nodes=slurm.nodes, ntasks_per_node=slurm.tasks_per_node, time=_minutes(slurm.time),
                job_name=f"sweep:{os.path.basename(os.path.abspath(sweep_dir))}", stderr_to_stdout=True)
  if max_parallel:
    params["array_parallelism"] = max_parallel
  for key in ("partition", "mem", "account", "qos"):
    if getattr(slurm, key):
      params[key] = getattr(slurm, key)
  if slurm.gpus_per_node:
    params["gpus_per_node"] = slurm.gpus_per_node
  if slurm.cpus_per_task:
    params["cpus_per_task"] = slurm.cpus_per_task
  if slurm.setup:
    params["setup"] = slurm.setup.splitlines()
  executor.update_parameters(**params)
  jobs = executor.submit_array(list(runs))
  for run, job in zip(runs, jobs):
    os.makedirs(run.workdir, exist_ok=True)
    _write_state(run.workdir, overrides=run.point.overrides, state=RUNNING, job=str(job.job_id),
                 submitted=time.time())
  return jobs


def wait_slurm(sweep_dir: str, points: Sequence[Point], poll: float = 5.0) -> None:
  """Until every point's job (submitted now, or still running from an earlier launch) has left the queue."""
  while True:
    pending = [p for p in points if alive(read_state(sweep_dir, p).get("job", ""))]
    if not pending:
      return
    time.sleep(poll)
