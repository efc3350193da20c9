"""The fault-injection soak: many faults of every kind against real runs of the command line, and a table.

  python -m scripts.soak --out=runs/soak [--kills=30] [--seed=0] [--only=kill_pretrain,corrupt,...]

Each fault kind runs a tiny run (or the tiny pipeline) to completion through its faults, re-running
the same command after each, and compares the end with an uninterrupted run of the same command:
recovered = the run finished and its final train state is bit-identical to the uninterrupted one;
steps repeated = the most steps any one fault made the run do again; data lost = train rows of
metrics.jsonl missing, doubled or different from the uninterrupted run's (0 is the only good value).
Writes OUT/soak.json and OUT/soak.md (the README's table). Needs root for the full-disk kind (tmpfs).
The `tests/faults/` suite runs a few of each quickly; this runs many.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
import time

from absl import app, flags

from lm.training import writers
from scripts import faults

_OUT = flags.DEFINE_string("out", "runs/soak", "Directory for the runs and the table.")
_KILLS = flags.DEFINE_integer("kills", 30, "kill -9 faults per kill kind (pretraining; RL and pipeline get a third).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the fault moments.")
_ONLY = flags.DEFINE_list("only", [], "Fault kinds to run (default: all).")

SCALE, TASK_SCALE = 0.02, 0.1
STEPS, EVERY = 400, 20          # the pretraining run of the checkpoint, disk and data faults
STEPS_PER_KILL = 40             # the killed pretraining run is long enough for every kill to land before its end


@dataclasses.dataclass
class Row:
  fault: str
  trials: int
  recovered: int
  steps_repeated: int      # the most steps one fault made the run do again
  data_lost: int           # train rows missing, doubled or changed against the uninterrupted run
  note: str = ""


def train_rows(workdir: str) -> list[tuple[int, float]]:
  """(step, loss) of every train row of the run, or of each pipeline stage in turn."""
  rows = []
  for path in [os.path.join(workdir, "metrics.jsonl")] + sorted(glob.glob(os.path.join(workdir, "*", "metrics.jsonl"))):
    if os.path.exists(path):
      rows += [(r["step"], r["loss"]) for r in writers.read(os.path.dirname(path)) if r["split"] == "train"]
  return rows


def data_lost(workdir: str, reference: str) -> int:
  ours, theirs = train_rows(workdir), train_rows(reference)
  return sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))


def same_end(workdir: str, reference: str, stages=("",)) -> bool:
  end = lambda root, stage: faults.final_state(os.path.join(root, stage))
  return all(faults.identical(end(workdir, s), end(reference, s)) for s in stages)


class Soak:

  def __init__(self, out: str, seed: int):
    self.out, self.seed = os.path.abspath(out), seed
    self.env = faults.environment(cache_dir=os.path.join(self.out, "jax_cache"))
    self.data = os.path.join(self.out, "data")
    self.rows: list[Row] = []
    saved = os.path.join(self.out, "soak.json")
    if os.path.exists(saved):  # rows of kinds run earlier stay in the table unless run again
      with open(saved, encoding="utf-8") as f:
        self.rows = [Row(**r) for r in json.load(f)]

  def add(self, row: Row) -> None:
    self.rows = [r for r in self.rows if r.fault != row.fault] + [row]
    with open(os.path.join(self.out, "soak.json"), "w", encoding="utf-8") as f:
      json.dump([dataclasses.asdict(r) for r in self.rows], f, indent=2)

  def fresh(self, name: str) -> str:
    path = os.path.join(self.out, name)
    shutil.rmtree(path, ignore_errors=True)
    return path

  def reference(self, name: str, command: list[str]) -> str:
    """The uninterrupted run of `command` (run once, kept under a digest of the command)."""
    digest = hashlib.sha1(" ".join(command).encode()).hexdigest()[:8]
    path = os.path.join(self.out, "reference", name if name == "pipeline" else f"{name}-{digest}")
    if not os.path.exists(os.path.join(path, "checkpoints")) and not os.path.exists(os.path.join(path, "summary.json")):
      shutil.rmtree(path, ignore_errors=True)
      proc = faults.run(command, path, self.env, timeout=3600)
      if proc.returncode:
        raise RuntimeError(f"reference run {name} failed:\n{proc.stderr[-3000:]}")
    return path

  def kills(self, name: str, command: list[str], kills: int, stages=("",), **kwargs) -> None:
    reference = self.reference(name, command)
    workdir = self.fresh(f"{name}_killed")
    outcome = faults.kill_and_resume(command, workdir, kills=kills, seed=self.seed, env=self.env, timeout=7200,
                                     **kwargs)
    ok = same_end(workdir, reference, stages)
    mid = sum(k.mid_write for k in outcome.kills)
    if len(outcome.kills) < kills:
      print(f"{name}: the run finished after {len(outcome.kills)} of {kills} kills; lengthen it", flush=True)
    self.add(Row(f"kill -9 ({name.split('_')[0]})", len(outcome.kills), len(outcome.kills) if ok else 0,
                         max((k.repeated for k in outcome.kills), default=0), data_lost(workdir, reference),
                         f"{mid} during a checkpoint write; {outcome.attempts} attempts, {outcome.seconds:.0f} s"))

  def pretrain(self) -> list[str]:
    return faults.pretrain_command(self.data, SCALE, STEPS, EVERY)

  def corrupt(self, trials_per_mode: int) -> None:
    """The latest checkpoint truncated, garbled or deleted after the run stopped half-way; then re-run."""
    command = self.pretrain()
    reference = self.reference("pretrain", command)
    rng = random.Random(self.seed)
    for how in ("truncate", "garble", "delete"):
      recovered, repeated, lost = 0, 0, 0
      for trial in range(trials_per_mode):
        workdir = self.fresh(f"corrupt_{how}_{trial}")
        faults.preempt_at(command, workdir, rng.randint(3 * EVERY, STEPS - EVERY), self.env)
        steps = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
        victim = steps[-1] if trial % 2 == 0 else rng.choice(steps[1:])  # the latest, or a later one of the kept
        for later in steps:  # everything from the victim on is corrupted, so the run must fall back before it
          if later >= victim:
            faults.corrupt_checkpoint(os.path.join(workdir, "checkpoints", str(later)), how)
        proc = faults.run(command, workdir, self.env)
        fell_back = f"/{victim} cannot be read" in proc.stderr
        if proc.returncode == 0 and fell_back and same_end(workdir, reference):
          recovered += 1
        repeated = max(repeated, steps[-1] - max(s for s in steps if s < victim))  # redone from the fallback
        lost += data_lost(workdir, reference)
      self.add(Row(f"corrupted checkpoint ({how})", trials_per_mode, recovered, repeated, lost,
                           "resumed from the previous good checkpoint with a warning naming the bad step"))

  def disk_full(self, trials: int) -> None:
    """The disk fills while the run trains; the next save fails; space is freed and the command re-run."""
    command = self.pretrain()
    reference = self.reference("pretrain", command)
    recovered, repeated, lost, messages = 0, 0, 0, 0
    rng = random.Random(self.seed + 1)
    for trial in range(trials):
      mount = self.fresh(f"disk_{trial}")
      os.makedirs(mount)
      subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mount], check=True)
      try:
        workdir, filler = os.path.join(mount, "run"), os.path.join(mount, "filler")
        at = rng.randint(EVERY + 1, STEPS - EVERY)
        stop = threading.Event()

        def fill():
          while not stop.is_set() and faults.last_logged_step(workdir) < at:
            time.sleep(0.01)
          if not stop.is_set():
            stat = os.statvfs(mount)
            with open(filler, "wb") as f:
              f.write(b"\0" * max(stat.f_bavail * stat.f_frsize - 64 * 1024, 0))

        thread = threading.Thread(target=fill)
        thread.start()
        proc = faults.run(command, workdir, self.env)
        stop.set()
        thread.join()
        messages += proc.returncode != 0 and "Saving checkpoint" in proc.stderr and "are intact" in proc.stderr
        failed_at = faults.last_logged_step(workdir)
        kept = max(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
        os.remove(filler)
        proc = faults.run(command, workdir, self.env)
        recovered += proc.returncode == 0 and same_end(workdir, reference)
        repeated = max(repeated, failed_at - kept)
        lost += data_lost(workdir, reference)
      finally:
        subprocess.run(["umount", "-l", mount], check=False)
    self.add(Row("disk full during a save", trials, recovered, repeated, lost,
                         f"{messages}/{trials} stopped with the CheckpointWriteError naming the intact checkpoints"))

  def data_faults(self) -> None:
    """A prepared array_record file removed between two runs of the same command."""
    reference = self.reference("pretrain", self.pretrain())
    data = os.path.join(self.out, "data_removed")
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(self.data, data)
    command = [a.replace(self.data, data) for a in self.pretrain()]
    workdir = self.fresh("removed_file")
    faults.preempt_at(command, workdir, STEPS // 2, self.env)
    (shard,) = glob.glob(os.path.join(data, "world", f"text-seed0-scale{SCALE:g}-*", "*", "*-train.array_record-*"))
    os.remove(shard)
    proc = faults.run(command, workdir, self.env)
    named = proc.returncode != 0 and f"{shard}: prepared data file missing" in proc.stderr
    shutil.rmtree(os.path.dirname(os.path.dirname(shard)))
    proc = faults.run(command, workdir, self.env)
    ok = named and proc.returncode == 0 and same_end(workdir, reference)
    self.add(Row("prepared data file removed", 1, int(ok), 0, data_lost(workdir, reference),
                         "named in a one-line error; prepared again and resumed"))

  def table(self) -> str:
    lines = ["| fault | trials | recovered | steps repeated (max) | data lost | notes |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.fault} | {r.trials} | {r.recovered} | {r.steps_repeated} | {r.data_lost} | {r.note} |"
              for r in self.rows]
    return "\n".join(lines)


def main(argv):
  del argv
  soak = Soak(_OUT.value, _SEED.value)
  os.makedirs(soak.out, exist_ok=True)
  few = max(_KILLS.value // 3, 10)
  kinds = {
      "kill_pretrain": lambda: soak.kills(
          "pretrain_long", faults.pretrain_command(soak.data, SCALE, STEPS_PER_KILL * _KILLS.value, EVERY),
          _KILLS.value),
      "kill_rl": lambda: soak.kills(
          "ppo", faults.rl_command(soak.data, TASK_SCALE, os.path.join(soak.out, "reference", "pipeline", "sft"),
                                   os.path.join(soak.out, "reference", "pipeline", "reward"), iterations=10 * few),
          few, max_seconds=10, max_steps=10),
      "kill_pipeline": lambda: soak.kills("pipeline_long", faults.pipeline_command(soak.data, TASK_SCALE, steps=4 * few,
                                                                                   iterations=few),
                                          few, stages=("pretrain", "sft", "reward", "ppo"), max_seconds=10,
                                          moments=("time", "checkpoint_write")),
      "corrupt": lambda: soak.corrupt(4),
      "disk_full": lambda: soak.disk_full(3),
      "data": soak.data_faults,
  }
  if "kill_rl" in (_ONLY.value or kinds):  # the RL run starts from the reference pipeline's SFT and reward runs
    soak.reference("pipeline", faults.pipeline_command(soak.data, TASK_SCALE))
  for name, run in kinds.items():
    if not _ONLY.value or name in _ONLY.value:
      started = time.time()
      run()
      print(f"{name}: {time.time() - started:.0f} s", flush=True)
  table = soak.table()
  with open(os.path.join(soak.out, "soak.md"), "w", encoding="utf-8") as f:
    f.write(table + "\n")
  print(table)


if __name__ == "__main__":
  app.run(main)
