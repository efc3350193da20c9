r"""Config sweeps: every point its own run, as one SLURM job array (submitit) or on this machine.

  python -m experiments.sweep --config=configs/pretrain/clm.py:tiny --workdir=DIR \
      --grid=optimizer.learning_rate=1e-3,3e-3 --grid=seed=0,1 --executor=slurm \
      [--slurm.partition=gpu --slurm.nodes=1 --slurm.tasks_per_node=8 --slurm.gpus_per_node=8 --slurm.time=4:00:00]
      [--max_parallel=N]
  python -m experiments.sweep --workdir=DIR --collect      # the table and plot so far, at any time

Points come from the config module's `get_sweep(preset)` (if it has one) times the `--grid` product; each
runs the config's stage (pretrain, finetune, reward, rlhf, evaluate, pipeline) in `DIR/<point name>`. A grid
key with one value (`--grid=train.steps=2000`) sets it for every point and stays out of the point names.
Re-running the same command skips finished points, resumes interrupted ones and resubmits failed ones.
Writes DIR/sweep.json, DIR/sweep.md and DIR/sweep.png when the sweep ends.
"""

from __future__ import annotations

import os
import sys

import ml_collections
from absl import app, flags
from ml_collections import config_flags

from experiments import cli
from lm import settings
from lm.sweeps import launch, points as points_lib, report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CONFIG = flags.DEFINE_string("config", None, "Config to sweep, path.py[:preset] (as the stage's --config).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Sweep directory: one run directory per point, sweep.{json,md,png}.")
_GRID = flags.DEFINE_multi_string("grid", [], "key=v1,v2,...: a swept config key (repeat: the product).")
_EXECUTOR = flags.DEFINE_enum("executor", "local", ["slurm", "local"], "Where points run.")
_MAX_PARALLEL = flags.DEFINE_integer("max_parallel", 0, "Points running at once: locally (0: one), or the job "
                                     "array's limit on SLURM (0: as many as the scheduler allows).")
_STAGE = flags.DEFINE_enum("stage", None, list(points_lib.STAGE_MODULES),
                           "The stage to run, for configs outside configs/<stage>/.")
_METRIC = flags.DEFINE_string("metric", "eval/loss", "Headline metric for the table and plot: split/name.")
_COLLECT = flags.DEFINE_bool("collect", False, "Only gather the points' states and metrics into the table and plot.")
_SLURM = config_flags.DEFINE_config_dict("slurm", ml_collections.ConfigDict(
    {f: getattr(launch.SlurmConfig, f) for f in launch.SlurmConfig.__dataclass_fields__}),
    "Per-point SLURM resources (--slurm.partition, .nodes, .tasks_per_node, .gpus_per_node, .time, ...).")
flags.mark_flag_as_required("workdir")


def _absolute(spec: str) -> str:
  path, sep, preset = spec.partition(":")
  return os.path.abspath(path) + sep + preset


def _load_spec(workdir: str) -> dict:
  path = os.path.join(workdir, launch.SPEC_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: not found; is {workdir} a sweep directory (the --workdir of a sweep)?")
  return settings.load_json(path)


def main(argv):
  del argv
  cli.quiet_library_logs()
  workdir = os.path.abspath(_WORKDIR.value)
  try:
    if _COLLECT.value:
      spec = _load_spec(workdir)
      points = [points_lib.Point(p["name"], p["overrides"]) for p in spec["points"]]
      print(report.table(report.collect(workdir, points, _METRIC.value), _METRIC.value))
      return
    if not _CONFIG.value:
      raise settings.ConfigError("--config is required (unless --collect).")
    config_spec = _absolute(_CONFIG.value)
    module = points_lib.STAGE_MODULES[_STAGE.value] if _STAGE.value else points_lib.stage_of(config_spec)
    points = points_lib.points(config_spec, _GRID.value)
    slurm = settings.section(launch.SlurmConfig, settings.to_dict(_SLURM.value), "slurm")
    os.makedirs(workdir, exist_ok=True)
    previous = settings.load_json(os.path.join(workdir, launch.SPEC_FILE)) if os.path.isfile(
        os.path.join(workdir, launch.SPEC_FILE)) else None
    if previous is not None and previous["config"] != config_spec:
      raise settings.ConfigError(f"{workdir} holds a sweep of {previous['config']}, not {config_spec}; use another "
                                 "--workdir.")
    base = settings.to_dict(settings.load_config(config_spec))
    if previous is not None:
      launch.check_unchanged(workdir, points, previous, base)
    settings.write_json(os.path.join(workdir, launch.SPEC_FILE), {
        "config": config_spec, "module": module, "grid": _GRID.value, "base": base,
        "points": [{"name": p.name, "overrides": p.overrides} for p in points]})
  except (settings.ConfigError, FileNotFoundError) as e:
    sys.exit(f"error: {e}")

  todo, running = launch.to_run(points, workdir, _EXECUTOR.value)
  done = len(points) - len(todo) - len(running)
  print(f"sweep: {len(points)} points; {done} finished, {len(running)} still running, {len(todo)} to run "
        f"({_EXECUTOR.value}).", flush=True)
  runs = [launch.PointRun(module, config_spec, p, workdir, REPO) for p in todo]
  if _EXECUTOR.value == "local":
    launch.run_local(runs, _MAX_PARALLEL.value or 1)
  else:
    jobs = launch.run_slurm(runs, workdir, slurm, _MAX_PARALLEL.value) if runs else []
    if jobs:
      print(f"sweep: submitted job array {jobs[0].job_id.split('_')[0]} ({len(jobs)} points).", flush=True)
    launch.wait_slurm(workdir, points)
  rows = report.collect(workdir, points, _METRIC.value)
  print(report.table(rows, _METRIC.value))
  unfinished = [r["name"] for r in rows if r["state"] != launch.FINISHED]
  if unfinished:
    sys.exit(f"sweep: {len(unfinished)} point(s) did not finish: {', '.join(unfinished)}. Re-run the same command to "
             "resume them (finished points are not run again).")


if __name__ == "__main__":
  app.run(main)  # a launcher: its points join the distributed runtime, never the sweep itself
