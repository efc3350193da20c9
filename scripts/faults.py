"""Fault injection for `lm` runs: `kill -9` at seeded random moments, then the same command again.

`kill_and_resume(command, workdir, kills=N, seed=S)` starts `command --workdir=WORKDIR`, kills it
with SIGKILL at a moment drawn from a seeded generator (a random time after start, a random
training step, or while an asynchronous checkpoint is being written), re-runs the very same
command, and repeats until N kills landed; then lets the run finish. Each kill is recorded with
the last step the run had logged and the step the next attempt resumed from, so the steps
repeated can be checked against `checkpoint_every`. `final_state(workdir)` reads the last
checkpoint's whole train state, for a bit-for-bit comparison with an uninterrupted run.

Used by `tests/faults/` (a few kills, fast) and `scripts/soak.py` (many, with a table).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import random
import re
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESUMED = re.compile(r"Resumed from .*/(\d+)\.")
STARTED = "Model: "  # the loop logs the parameter count once the state is restored or created
MOMENTS = ("time", "step", "checkpoint_write")  # what a kill waits for (cycled, so every kind is exercised)


@dataclasses.dataclass
class Kill:
  moment: str              # one of MOMENTS
  seconds: float           # after the attempt started
  where: str               # the run directory (a pipeline's stage) that had logged last
  last_step: int           # the last step logged there when the run was killed
  mid_write: bool          # an orbax save of this attempt was under way (its temporary directory existed)
  resumed_from: int | None = None  # the step the run next resumed from (0: afresh); None until known

  @property
  def repeated(self) -> int:
    return max(self.last_step - (self.resumed_from or 0), 0)


@dataclasses.dataclass
class Outcome:
  kills: list[Kill]
  attempts: int
  finished: bool
  seconds: float
  log: str                 # stderr of the last attempt


TINY_MODEL = dict(num_layers=2, d_model=64, num_heads=4, d_ff=128)


def _flags(prefix: str, section: str, values: dict) -> list[str]:
  return [f"--config.{prefix}{section}.{k}={v}" for k, v in values.items()]


def pretrain_command(data_dir: str, scale: float, steps: int, checkpoint_every: int) -> list[str]:
  """A pretraining run small enough to be killed many times: 2 layers of width 64, 64-token rows."""
  return ["experiments.pretrain", "--config=configs/pretrain/clm.py:tiny", f"--config.data.data_dir={data_dir}",
          f"--config.data.world.scale={scale}", f"--config.train.steps={steps}",
          f"--config.train.checkpoint_every={checkpoint_every}", "--config.train.log_every=1",
          "--config.train.eval_every=1000", "--config.train.progress_bar=False", "--config.mesh.data=1",
          "--config.data.batch_size=8", "--config.data.seq_len=64", *_flags("", "model", dict(TINY_MODEL, max_len=64))]


def rl_section(prefix: str, data_dir: str, scale: float, iterations: int) -> list[str]:
  """PPO with a separate critic and the adaptive KL controller (its coefficient is state to resume)."""
  return [f"--config.{prefix}data.data_dir={data_dir}", f"--config.{prefix}data.world.scale={scale}",
          *_flags(prefix, "rollout", dict(prompts=8, max_prompt_tokens=96, max_new_tokens=8)),
          *_flags(prefix, "updates", dict(epochs=1, minibatches=2)),
          *_flags(prefix, "kl", dict(adaptive=True, target=1.0, horizon=50)),
          *_flags(prefix, "train", dict(iterations=iterations, eval_every=iterations, checkpoint_every=1,
                                        progress_bar=False)),
          *_flags(prefix, "heldout", dict(prompts=8, test_prompts=8, batch_size=8)), f"--config.{prefix}mesh.data=1"]


def rl_command(data_dir: str, scale: float, policy_from: str, reward_from: str, iterations: int) -> list[str]:
  return ["experiments.rlhf", "--config=configs/rlhf/ppo.py:tiny", f"--config.policy_from={policy_from}",
          f"--config.reward_from={reward_from}", *rl_section("", data_dir, scale, iterations)]


def pipeline_command(data_dir: str, scale: float, steps: int = 16, iterations: int = 4) -> list[str]:
  """pretrain -> sft -> reward -> ppo, each stage tiny (as tests/experiments/test_stages.py)."""
  flags = ["experiments.pipeline", "--config=configs/pipeline/tiny.py", "--config.stages=pretrain,sft,reward,ppo",
           "--config.pretrain.data.seq_len=256"]
  for stage in ("pretrain", "sft", "reward"):
    flags += [*_flags(f"{stage}.", "model", dict(TINY_MODEL, max_len=256)),
              f"--config.{stage}.data.data_dir={data_dir}", f"--config.{stage}.data.world.scale={scale}",
              f"--config.{stage}.data.batch_size=8", f"--config.{stage}.tokenizer.vocab_size=1024",
              f"--config.{stage}.tokenizer.num_sentinels=8", f"--config.{stage}.mesh.data=1",
              *_flags(f"{stage}.", "train", dict(steps=steps, log_every=1, eval_every=steps, eval_batches=2,
                                                 checkpoint_every=4, progress_bar=False))]
  for stage in ("sft", "reward"):
    flags += _flags(f"{stage}.", "eval", dict(validation_examples=8, test_examples=8, batch_size=8))
  return flags + rl_section("ppo.", data_dir, scale, iterations)


def environment(devices: int = 1, cache_dir: str | None = None) -> dict[str, str]:
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu",
             TFDS_DISABLE_PROGRESS_BAR="1")
  if cache_dir:  # restarts reuse compiled programs: kills land in training, not only in compilation
    env.update(JAX_COMPILATION_CACHE_DIR=cache_dir, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
  return env


def run(command: list[str], workdir: str, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", *command, f"--workdir={workdir}"], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=timeout)


def last_logged_step(workdir: str) -> int:
  """The largest step of a complete train row in the run's metrics.jsonl (0 if none).

  For a pipeline (one run directory per stage), the metrics of the stage written to last.
  """
  return last_logged(workdir)[1]


def last_logged(workdir: str) -> tuple[str, int]:
  """(run directory, last train step logged there); for a pipeline, the stage written to last."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    stages = glob.glob(os.path.join(workdir, "*", "metrics.jsonl"))
    path = max(stages, key=os.path.getmtime) if stages else path
  return os.path.dirname(os.path.abspath(path)), _last_step(path)


def _last_step(path: str) -> int:
  from lm.training import writers  # pylint: disable=g-import-not-at-top

  if not os.path.exists(path):
    return 0
  return max((int(r["step"]) for r in writers.read(os.path.dirname(path)) if r.get("split") == "train"), default=0)


def writes_in_progress(workdir: str) -> set[str]:
  """Step directories an orbax save is writing (they keep a temporary name until committed)."""
  return set(glob.glob(os.path.join(workdir, "**", "*.orbax-checkpoint-tmp*"), recursive=True))


def _wait(proc: subprocess.Popen, moment: str, target: float, workdir: str, deadline: float,
          stale: set[str]) -> bool:
  """Waits for the moment to kill; False if the process ended first, TimeoutError past the deadline.

  `stale`: temporary directories left by an earlier kill, which do not count as a write of this attempt.
  """
  started = time.monotonic()
  while proc.poll() is None:
    if time.monotonic() > deadline:
      proc.kill()
      raise TimeoutError(f"the run did not finish within the time allowed (waiting to kill at {moment} {target})")
    if moment == "time" and time.monotonic() - started >= target:
      return True
    if moment == "step" and last_logged_step(workdir) >= target:
      return True
    if moment == "checkpoint_write" and writes_in_progress(workdir) - stale:
      return True
    time.sleep(0.002 if moment == "checkpoint_write" else 0.02)
  return False


def kill_and_resume(command: list[str], workdir: str, *, kills: int, seed: int, env: dict, max_seconds: float = 8.0,
                    max_steps: int = 40, moments: tuple[str, ...] = MOMENTS, timeout: float = 1800) -> Outcome:
  """Runs `command` to completion in `workdir`, SIGKILLing it `kills` times at seeded random moments.

  A "time" kill comes 0.5 to `max_seconds` s after the start (start-up, data, compilation or
  training); a "step" kill once the run logged 1 to `max_steps` steps more than before; a
  "checkpoint_write" kill as soon as this attempt's orbax save is under way. Raises if an attempt
  fails by itself (a non-zero exit that was not our kill). `moments` chooses the kinds, cycled in order.
  """
  rng = random.Random(seed)
  started = time.monotonic()
  deadline = started + timeout
  done: list[Kill] = []
  attempts = 0
  log = ""
  while True:
    attempts += 1
    with open(os.path.join(workdir + ".attempt.log"), "w", encoding="utf-8") as err:
      proc = subprocess.Popen([sys.executable, "-m", *command, f"--workdir={workdir}"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=err)
      attempt_start = time.monotonic()
      killed = None
      if len(done) < kills:
        moment = moments[len(done) % len(moments)]
        target = (rng.uniform(0.5, max_seconds) if moment == "time" else
                  last_logged_step(workdir) + rng.randint(1, max_steps) if moment == "step" else 0.0)
        stale = writes_in_progress(workdir)
        if _wait(proc, moment, target, workdir, deadline, stale):
          proc.send_signal(signal.SIGKILL)
          proc.wait()
          mid_write = bool(writes_in_progress(workdir) - stale)
          killed = Kill(moment, time.monotonic() - attempt_start, *last_logged(workdir), mid_write)
      try:
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
      finally:
        if proc.poll() is None:  # timed out: leave no training process behind
          proc.kill()
          proc.wait()
    with open(workdir + ".attempt.log", encoding="utf-8") as f:
      log = f.read()
    for kill in done:  # where the kills before this attempt resumed from, once it got as far as restoring
      if kill.resumed_from is None:
        kill.resumed_from = _resumed_from(kill, log)
    if killed is not None:
      done.append(killed)
      continue
    if code != 0:
      raise RuntimeError(f"attempt {attempts} exited {code} by itself:\n{log[-3000:]}")
    return Outcome(done, attempts, True, time.monotonic() - started, log)


def preempt_at(command: list[str], workdir: str, step: int, env: dict, timeout: float = 900) -> int:
  """Runs `command` until it logged `step`, then sends SIGTERM (a preemption); returns the exit code (143)."""
  proc = subprocess.Popen([sys.executable, "-m", *command, f"--workdir={workdir}"], cwd=REPO, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  if _wait(proc, "step", step, workdir, time.monotonic() + timeout, set()):
    proc.send_signal(signal.SIGTERM)
  return proc.wait(timeout=timeout)


def corrupt_checkpoint(step_dir: str, how: str) -> None:
  """Damages one checkpoint step in place. `truncate`: every array file cut to half its size (a copy cut
  short, a bad disk); `garble`: the state's metadata overwritten with random bytes; `delete`: the array
  files removed."""
  if how not in ("truncate", "garble", "delete"):
    raise ValueError(f"how={how!r}")
  for root, _, files in os.walk(os.path.join(step_dir, "state")):
    for name in files:
      path = os.path.join(root, name)
      if how == "garble" and name == "_METADATA":
        with open(path, "wb") as f:
          f.write(os.urandom(512))
      elif os.sep + "d" + os.sep in path:
        if how == "delete":
          os.remove(path)
        elif how == "truncate":
          with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)


def _resumed_from(kill: Kill, log: str) -> int | None:
  """The step the run directory of `kill` continued from, read from the next attempt's log (None: not yet)."""
  from lm.training.stages import DONE_FILE  # pylint: disable=g-import-not-at-top

  if os.path.exists(os.path.join(kill.where, DONE_FILE)):
    return kill.last_step  # a pipeline stage that had finished: nothing of it was repeated
  found = re.search(rf"Resumed from {re.escape(kill.where)}/checkpoints/(\d+)\.", log)
  if found:
    return int(found.group(1))
  return 0 if STARTED in log and RESUMED.search(log) is None else None


def final_state(workdir: str) -> dict:
  """The whole train state of the run's last checkpoint, as numpy arrays."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

  checkpoints = os.path.join(workdir, "checkpoints")
  last = max(int(d) for d in os.listdir(checkpoints) if d.isdigit())
  with ocp.PyTreeCheckpointer() as checkpointer:
    state = checkpointer.restore(os.path.join(checkpoints, str(last), "state"))
  return {"step": last, "state": jax.tree.map(np.asarray, state)}


def identical(a: dict, b: dict) -> bool:
  """Bit-for-bit equality of two `final_state`s."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  if a["step"] != b["step"] or jax.tree.structure(a["state"]) != jax.tree.structure(b["state"]):
    return False
  return all(x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
             for x, y in zip(jax.tree.leaves(a["state"]), jax.tree.leaves(b["state"])))
