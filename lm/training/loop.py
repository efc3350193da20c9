"""The training loop every stage shares: train, log, evaluate, checkpoint, resume, preempt.

- Resumes automatically from the latest checkpoint in `workdir/checkpoints` (train state and
  data-iterator position), so re-running a command continues it and reaches the same losses.
- SIGTERM (preemption) saves a checkpoint at the current step and returns `preempted=True`. With several
  processes, JAX's preemption service (which then owns SIGTERM) has them agree on one step to save.
- Evaluation runs until every process ran out of validation batches: one that ran out early feeds
  all-padding batches (weight 0), so collective steps never wait on a process that stopped.
- Checkpoints are written asynchronously while the next step runs; that step does not complete before
  the write is committed, so a crash (even `kill -9` mid-write) repeats at most `checkpoint_every` steps.
- Metrics go to `metrics.jsonl` and TensorBoard; a progress bar shows loss, tokens/s and ETA.
- Non-finite updates are skipped by the step; `max_skipped_in_a_row` of them stop the run.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np
import optax
import tqdm
from absl import logging
from jax.experimental import multihost_utils

from lm import distributed, settings
from lm.training import (checkpoint, rundir, selection, sharding, state as state_lib, step as step_lib, tracking,
                         writers)


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  steps: int = 1000                   # total optimiser steps
  log_every: int = 50                 # average and write train metrics every N steps
  eval_every: int = 250               # evaluate on the validation split every N steps (and at the end)
  # Also evaluate the starting parameters (step 0) of a fresh run: model selection may then keep them, e.g. a
  # pretrained start whose verbalizer head already does the task better than any step trained on a few labels.
  eval_at_start: bool = False
  eval_batches: int = 20              # validation batches per evaluation; 0 = the whole split
  checkpoint_every: int = 500         # save every N steps (and at the end, and on SIGTERM)
  keep_checkpoints: int = 3           # newest checkpoints kept on disk
  accum_steps: int = 1                # gradient-accumulation microbatches per step
  max_skipped_in_a_row: int = 20      # stop after this many consecutive non-finite updates
  progress_bar: bool = True
  # "a,b": a profiler trace of updates a..b (inclusive, counted from 1) into workdir/tensorboard (TensorBoard's
  # Profile tab: `tensorboard --logdir=WORKDIR/tensorboard`); "" for none.
  profile_steps: str = ""
  # Model selection on validation: "" keeps the last step; else an evaluation metric (e.g. "loss", "exact_match",
  # "gold_agreement", "gold_win_rate") whose best value so far keeps its parameters in workdir/best/. The stage's
  # test figures, a later stage's init_from=workdir and sampling then use them (lm/training/selection.py).
  select_metric: str = ""
  select_mode: str = "max"            # "max" (accuracies, win rates) or "min" (losses)
  select_patience: int = 0            # early stopping: stop after this many evaluations without a better one (0: never)

  def __post_init__(self):
    profile_range(self.profile_steps)
    selection.check_mode(self.select_metric, self.select_mode)
    if self.select_patience < 0 or (self.select_patience and not self.select_metric):
      raise ValueError(f"train.select_patience={self.select_patience}: expected >= 0, and a train.select_metric.")


def profile_range(text: str) -> tuple[int, int] | None:
  """`"a,b"` -> (a, b), first and last update traced; "" -> None."""
  if not text.strip():
    return None
  try:
    first, last = (int(x) for x in text.split(","))
  except ValueError:
    raise ValueError(f"train.profile_steps={text!r}: expected 'first,last' update numbers, e.g. '10,12'.") from None
  if not 1 <= first <= last:
    raise ValueError(f"train.profile_steps={text!r}: expected 1 <= first <= last.")
  return first, last


class _Profiler:
  """Traces updates first..last with jax.profiler into `log_dir` (TensorBoard's profile plugin layout)."""

  def __init__(self, steps: str, log_dir: str, start: int):
    self._range = profile_range(steps)
    self._log_dir = log_dir
    self._on = False
    if self._range and start >= self._range[0]:
      logging.info("train.profile_steps=%s: update %d already done; no trace this run.", steps, self._range[0])
      self._range = None

  def before(self, update: int) -> None:
    if self._range and update == self._range[0] and jax.process_index() == 0:
      jax.profiler.start_trace(self._log_dir)
      self._on = True

  def after(self, update: int, outputs) -> None:
    if self._on and update == self._range[1]:
      jax.block_until_ready(outputs)
      self.stop()
      logging.info("Profile of updates %d-%d written under %s (tensorboard --logdir=%s, Profile tab).",
                   *self._range, os.path.join(self._log_dir, "plugins", "profile"), self._log_dir)

  def stop(self) -> None:
    if self._on:
      self._on = False
      jax.profiler.stop_trace()


class OnPolicySource(abc.ABC):
  """Training data made from the current parameters (RL: rollouts of the policy being trained).

  The loop calls `next_batch(state)` before each update and merges `pop_metrics()` (statistics
  gathered since the last call, e.g. rewards of the rollouts) into each train row. The source is
  checkpointed beside the state: `get_state() -> bytes` must capture everything a resumed run needs to
  continue identically, and `set_state(bytes)` restore it.
  """

  @abc.abstractmethod
  def next_batch(self, state) -> dict[str, np.ndarray]: ...

  @abc.abstractmethod
  def pop_metrics(self) -> dict[str, float]: ...

  @abc.abstractmethod
  def get_state(self) -> bytes: ...

  @abc.abstractmethod
  def set_state(self, state: bytes) -> None: ...

  def start_prefetch(self) -> None:  # called by grain's checkpoint handler after a restore
    pass


class NonFiniteError(RuntimeError):
  """Too many consecutive non-finite losses or gradients."""


PREEMPTED_EXIT = 143  # SIGTERM's exit code: what a preempted entry point returns; schedulers requeue the same command


class Preempted(Exception):
  """Raised by callers that chain runs (the pipeline) when one was preempted; entry points exit 143 on it."""


@dataclasses.dataclass
class Result:
  state: Any
  step: int
  preempted: bool
  last_train: dict[str, float]
  last_eval: dict[str, float]
  selected_step: int | None = None  # with train.select_metric: the step whose parameters `params` holds
  selected_params: Any = None

  @property
  def params(self):
    """The stage's result: the parameters selected on validation if the run selects, else the last step's."""
    return self.state.params if self.selected_params is None else self.selected_params


COUNT_SUFFIX = "_count"  # metrics named "*_count" (e.g. truncated_count) are totals: summed, not averaged


def aggregate(metrics: list[dict[str, Any]]) -> dict[str, float]:
  """Averages per-batch metrics, weighting by each batch's `weight` (e.g. target tokens) if present.

  `skipped` and `*_count` metrics are summed instead.
  """
  if not metrics:
    return {}
  host = [{k: float(np.asarray(v)) for k, v in m.items()} for m in metrics]
  weights = np.asarray([m.get("weight", 1.0) for m in host])
  total = weights.sum()
  out = {}
  for key in host[0]:
    if key in ("weight", "skipped_in_a_row"):
      continue
    values = np.asarray([m[key] for m in host])
    out[key] = float((values * weights).sum() / total) if total > 0 else float(values.mean())
  for key in out:
    if key == "skipped" or key.endswith(COUNT_SUFFIX):
      out[key] = float(sum(m.get(key, 0.0) for m in host))
  if "nll" in out:
    out["perplexity"] = float(math.exp(min(out["nll"], 50.0)))
  return out


def pad_batch(batch: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
  """Pads a short final batch with all-zero rows (segment 0, weight 0: they count for nothing)."""
  have = len(next(iter(batch.values())))
  if have == rows:
    return batch
  return {k: np.concatenate([v, np.zeros((rows - have, *v.shape[1:]), v.dtype)]) for k, v in batch.items()}


class _Preemption:
  """Turns SIGTERM into a decision the loop takes after each step: stop (and save) here?

  One process: our own SIGTERM handler sets a flag. Several: JAX's preemption service owns SIGTERM;
  when any process receives it, all of them agree on the same step (`reached_preemption_sync_point`,
  which every process must call after every step) so they save one checkpoint together.
  """

  def __init__(self):
    self.requested = False
    self._previous = None
    self._shared = False

  def __enter__(self):
    self._shared = jax.process_count() > 1
    if self._shared:
      return self
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    except ValueError:  # not the main thread (e.g. inside a notebook worker): no preemption support
      self._previous = None
    return self

  def _handle(self, signum, frame):
    del signum, frame
    self.requested = True

  def stop_at(self, step: int) -> bool:
    if self._shared:
      self.requested = self.requested or multihost_utils.reached_preemption_sync_point(step)
    return self.requested

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def train(*, workdir: str, config: LoopConfig, seed: int, mesh: jax.sharding.Mesh,
          init_params: Callable[[jax.Array], Any], optimizer: optax.GradientTransformation,
          schedule: optax.Schedule | None, loss_fn: Callable, eval_loss_fn: Callable | None,
          train_data, eval_data: Callable[[], Iterable[dict]] | None, global_batch_rows: int,
          on_eval: Callable[[int, Any], dict[str, float] | None] | None = None,
          warm_start: Callable[[Any], Any] | None = None, run_files: rundir.RunFiles | None = None,
          logging_config: tracking.LoggingConfig | None = None) -> Result:
  """Runs (or resumes) training to `config.steps`.

  `train_data` is a grain IterDataset of numpy batches (this process's rows), or an on-policy
  source whose batches depend on the current parameters (RL rollouts, see `OnPolicySource`);
  `eval_data()` returns a fresh finite iterable of validation batches. `on_eval(step, params)` may add metrics
  (for example generated samples' scores) to each evaluation. `warm_start(params) -> params`
  (e.g. restoring a pretrained backbone) is applied once, when the run starts from scratch.
  `run_files` (config.json, tokenizer.model) are written once the state is ready: after a checkpoint
  passed the compatibility check, or for a fresh start; a refused resume changes nothing on disk.
  `logging_config` (config.logging) may add a Weights & Biases run beside metrics.jsonl (lm/training/tracking.py).
  """
  os.makedirs(workdir, exist_ok=True)
  rng = jax.random.key(seed)
  batch_sharding = sharding.batch_sharding(mesh)
  abstract, shardings = state_lib.abstract_state(init_params, optimizer, mesh, rng)
  mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"), keep=config.keep_checkpoints)
  on_policy = isinstance(train_data, OnPolicySource)
  train_iter = train_data if on_policy else iter(train_data)
  try:
    if mngr.latest_step() is not None and run_files is not None:
      run_files.check_resume()
    start, state = checkpoint.restore_latest(mngr, abstract, train_iter)
    if state is None and selection.read(workdir) is not None:
      raise settings.ConfigError(
          f"{workdir}/{selection.BEST_DIR} holds parameters selected by an earlier run, but there is no checkpoint "
          "to resume that run from; move best/ away (nothing was changed) or use a fresh --workdir.")
    selector = selection.Selector(workdir, config.select_metric, config.select_mode) if config.select_metric else None
    if state is None:
      state, _ = state_lib.create(init_params, optimizer, mesh, rng)
      if warm_start is not None:
        state = state.replace(params=warm_start(state.params))
    else:
      logging.info("Resumed from %s/%d.", mngr.directory, start)
    if run_files is not None:
      run_files.write()
    writer = writers.MetricsWriter(workdir, resume_step=start, logging_config=logging_config,
                                   run_config=None if run_files is None else run_files.config)
  except BaseException:
    mngr.close()
    raise
  logging.info("Model: %s parameters.", f"{state_lib.count_params(state.params):,}")

  train_step = step_lib.make_train_step(loss_fn, optimizer, state_shardings=shardings, batch_sharding=batch_sharding,
                                        seed=seed, accum_steps=config.accum_steps, schedule=schedule)
  eval_step = None
  if eval_loss_fn is not None and eval_data is not None:
    eval_step = step_lib.make_eval_step(eval_loss_fn, params_shardings=shardings.params, batch_sharding=batch_sharding,
                                        seed=seed)
  to_device = lambda b: jax.make_array_from_process_local_data(batch_sharding, b)

  def evaluate(step: int) -> dict[str, float]:
    results = []
    batches = iter(eval_data() if eval_step is not None else ())
    rows = global_batch_rows // jax.process_count()
    template = None
    while not (config.eval_batches and len(results) >= config.eval_batches):
      batch = next(batches, None)
      if not distributed.any_process(batch is not None):  # every process agrees: nobody has data left
        break
      if batch is None:  # this process's shards ran out first: a batch of padding (weight 0)
        if template is None:
          raise ValueError(f"Process {jax.process_index()} has no validation batch at all; use fewer processes or "
                           "data.shards, or a larger validation split.")
        batch = {k: np.zeros_like(v) for k, v in template.items()}
      template = batch = pad_batch(batch, rows)
      results.append(eval_step(state.params, to_device(batch)))
    metrics = aggregate(results)
    if on_eval is not None:
      metrics.update(on_eval(step, state.params) or {})
    writer.write(step, "eval", metrics)
    return metrics

  pending: list[dict] = []
  previous = None
  last_train: dict[str, float] = {}
  last_eval: dict[str, float] = {}
  tokens = 0
  interval_start = time.perf_counter()
  preempted = False
  step = saved = start
  saving = False
  profiler = _Profiler(config.profile_steps, os.path.join(workdir, writers.TENSORBOARD_DIR), start)
  bar = tqdm.tqdm(total=config.steps, initial=start, disable=not config.progress_bar or jax.process_index() != 0,
                  dynamic_ncols=True, desc="train",
                  mininterval=0.5 if sys.stderr.isatty() else 30)  # logs to a file get a line per 30 s
  with _Preemption() as preemption:
    try:
      stopped_early = selector is not None and selector.stopped_at is not None
      if stopped_early:
        logging.info("This run stopped early at step %d (no better %s in %d evaluations).", selector.stopped_at,
                     selector.metric, config.select_patience)
      if config.eval_at_start and start == 0 and (eval_step is not None or on_eval is not None):
        last_eval = evaluate(0)
        logging.info("step 0 eval: %s", _short(last_eval))
        if selector is not None:
          selector.offer(0, last_eval, state.params)
        interval_start = time.perf_counter()
      while step < config.steps and not stopped_early:
        profiler.before(step + 1)
        batch = train_iter.next_batch(state) if on_policy else next(train_iter)
        tokens += int(np.sum(batch["segment_ids"] > 0)) * jax.process_count()
        state, metrics = train_step(state, to_device(batch))
        profiler.after(step + 1, metrics)
        if saving:  # the write overlapped this step's dispatch; no step completes before it is committed, so a
          with checkpoint.writing(mngr, saved):  # crash repeats at most checkpoint_every steps
            mngr.wait_until_finished()
          saving = False
        if previous is not None:  # check the previous step (done by now) so dispatch stays asynchronous
          _check_skipped(previous, step, config)
        previous = metrics
        pending.append(metrics)
        step += 1
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
          last_train = aggregate(pending)
          seconds = time.perf_counter() - interval_start
          last_train.update(tokens_per_sec=tokens / seconds, steps_per_sec=len(pending) / seconds,
                            skipped_total=float(np.asarray(state.skipped)))
          if on_policy:
            last_train.update(train_iter.pop_metrics())
          writer.write(step, "train", last_train)
          bar.set_postfix(loss=f"{last_train['loss']:.3f}", tok_s=f"{last_train['tokens_per_sec']:,.0f}")
          pending, tokens, interval_start = [], 0, time.perf_counter()
        if (eval_step is not None or on_eval is not None) and (step % config.eval_every == 0 or step == config.steps):
          last_eval = evaluate(step)
          logging.info("step %d eval: %s", step, _short(last_eval))
          if selector is not None:
            selector.offer(step, last_eval, state.params)
            patience = config.select_patience * config.eval_every  # in steps
            stopped_early = bool(patience) and selector.step is not None and step - selector.step >= patience
          interval_start = time.perf_counter()
        if stopped_early:
          logging.info("Early stopping at step %d: no better %s than step %d's %.4g in %d evaluations.", step,
                       selector.metric, selector.step, selector.value, config.select_patience)
        if step % config.checkpoint_every == 0 or step == config.steps or (stopped_early and saved != step):
          with checkpoint.writing(mngr, step):
            saving = checkpoint.save(mngr, step, state, train_iter)
          saved = step
        if preemption.stop_at(step):
          logging.warning("SIGTERM at step %d: %s and stopping.", step,
                          "checkpoint saved" if saved == step else "saving a checkpoint")
          if saved != step:  # a second save of the same step would be refused by orbax
            with checkpoint.writing(mngr, step):
              checkpoint.save(mngr, step, state, train_iter, force=True)
            saved = step
          preempted = True
          break
      if previous is not None:
        _check_skipped(previous, step, config)
      with checkpoint.writing(mngr, saved):
        mngr.wait_until_finished()
    except BaseException:
      profiler.stop()
      _close(mngr, writer, bar, after_error=True)
      raise
    profiler.stop()
    _close(mngr, writer, bar, after_error=False)
  if stopped_early and selector.stopped_at is None:  # recorded once the checkpoint of this step is committed
    selector.stop(step)
  result = Result(state=state, step=step, preempted=preempted, last_train=last_train, last_eval=last_eval)
  if selector is not None and selector.step is not None and not preempted:
    result.selected_step = selector.step
    result.selected_params = state.params if selector.step == step else selector.restore(abstract.params)
    logging.info("Model selection: step %d, %s=%.4g (validation).", selector.step, selector.metric, selector.value)
  return result


def _close(mngr, writer, bar, after_error: bool) -> None:
  """Closes everything; after an error, a second failure (e.g. the same full disk) must not hide the first."""
  for close in (mngr.wait_until_finished, mngr.close, writer.close, bar.close):
    try:
      close()
    except Exception as e:  # pylint: disable=broad-except
      if not after_error:
        raise
      logging.warning("While stopping after an error, %s failed too: %s", getattr(close, "__qualname__", close), e)


def _check_skipped(metrics: dict, step: int, config: LoopConfig) -> None:
  """`metrics` are those of update number `step`."""
  if float(np.asarray(metrics["skipped"])) == 0:
    return
  in_a_row = int(np.asarray(metrics["skipped_in_a_row"]))
  logging.warning("Step %d: non-finite loss or gradient; update skipped (%d in a row).", step, in_a_row)
  if in_a_row >= config.max_skipped_in_a_row:
    raise NonFiniteError(
        f"{in_a_row} consecutive non-finite updates, the first at step {step - in_a_row + 1}, the last at step {step}: "
        "stopping (loop.max_skipped_in_a_row). Lower the learning rate, check the data, or resume from an earlier "
        "checkpoint; checkpoints saved so far are intact.")


def _short(metrics: dict[str, float]) -> str:
  return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
