"""Starting a stage from an earlier run (`init_from`): find its checkpoint, check it fits, restore it.

`init_from` may name a run's work dir (its parameters selected on validation, `best/`, if it selects; else its
latest checkpoint), its `checkpoints/` dir (the latest), or one step inside either. The
pretrained parameters go to the task model's backbone (its whole tree, or the `backbone`
subtree when the task adds heads); everything else keeps its fresh initialisation. Restoring
happens once, when the run starts from scratch; a resumed run reads its own checkpoints.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from absl import logging

from lm import settings
from lm.data import tokenizer as tokenizer_lib
from lm.training import checkpoint, selection
from lm.interop.tokenizer import HFTokenizer


@dataclasses.dataclass(frozen=True)
class Source:
  """A resolved `init_from`: the checkpoints directory, the step, and the run dir if known."""
  checkpoints: str
  step: int
  run_dir: str | None
  config: dict | None  # the run's config.json, if found

  @property
  def objective(self) -> str | None:
    return None if self.config is None else self.config.get("objective", self.config.get("task"))

  def tokenizer(self) -> tokenizer_lib.Tokenizer | None:
    return saved_tokenizer(self.run_dir) if self.run_dir else None


def saved_tokenizer(run_dir: str) -> tokenizer_lib.Tokenizer | HFTokenizer | None:
  """The tokenizer a run saved in its work dir (its own SentencePiece model, or a Hugging Face checkpoint's)."""
  for kind in (tokenizer_lib.Tokenizer, HFTokenizer):
    path = os.path.join(run_dir, kind.filename)
    if os.path.isfile(path):
      return kind.from_file(path)
  return None


def _latest_step(directory: str) -> int | None:
  steps = [int(d) for d in os.listdir(directory) if d.isdigit() and os.path.isdir(os.path.join(directory, d))]
  return max(steps) if steps else None


def resolve(init_from: str) -> Source:
  """The checkpoint `init_from` names; a clear error if there is none."""
  if init_from.startswith("hf:"):
    raise settings.ConfigError(
        f"{init_from} is a Hugging Face checkpoint; import it into a run first, then start from that run: "
        f"python -m experiments.convert --from={init_from} --workdir=RUN_DIR")
  path = os.path.abspath(os.path.expanduser(init_from))
  if not os.path.exists(path):
    raise FileNotFoundError(f"init_from={init_from}: no such directory. Give the --workdir of a finished "
                            "pretraining run (or its checkpoints/ directory, or one step in it).")
  best = selection.best_checkpoint(path) if os.path.isdir(os.path.join(path, "checkpoints")) else None
  if best is not None:
    checkpoints, step = best
    logging.info("init_from=%s: the parameters it selected on validation (%s).", init_from, selection.summary(path))
  elif os.path.isdir(os.path.join(path, "checkpoints")):
    checkpoints, step = os.path.join(path, "checkpoints"), None
  elif os.path.basename(path).isdigit() and os.path.isdir(path):
    checkpoints, step = os.path.dirname(path), int(os.path.basename(path))
  else:
    checkpoints, step = path, None
  if step is None:
    step = _latest_step(checkpoints) if os.path.isdir(checkpoints) else None
  if step is None:
    raise FileNotFoundError(f"init_from={init_from}: no checkpoint in {checkpoints}; has that run saved one yet?")
  run_dir = os.path.dirname(checkpoints) if os.path.basename(checkpoints) in ("checkpoints", selection.BEST_DIR) else None
  config = None
  if run_dir and os.path.isfile(os.path.join(run_dir, "config.json")):
    config = settings.load_run_config(run_dir)
  return Source(checkpoints=checkpoints, step=step, run_dir=run_dir, config=config)


def check_objective(source: Source, expected: str, task: str, architecture: str,
                    whole_model_tasks: tuple[str, ...] = ()) -> None:
  """A backbone must come from the pretraining that built that architecture, or from a fine-tuning run of
  one of `whole_model_tasks` (tasks whose parameters are the whole model, e.g. instruction tuning) on it."""
  theirs = source.config or {}
  if "task" in theirs:
    if theirs["task"] in whole_model_tasks and theirs.get("architecture") == architecture:
      if (theirs.get("adapt") or {}).get("lora_rank"):
        raise settings.ConfigError(f"init_from={source.run_dir} trained LoRA adapters; starting from a LoRA run "
                                   "is not supported. Start from its own init_from, or fine-tune it fully.")
      return
    raise settings.ConfigError(
        f"init_from={source.run_dir} is a {theirs['task']!r} fine-tuning run ({theirs.get('architecture')}); task "
        f"{task!r} with architecture {architecture!r} starts from a {expected!r} pretraining run or a fine-tuning "
        f"run of a whole {architecture} ({', '.join(whole_model_tasks)}).")
  if source.objective is not None and source.objective != expected:
    raise settings.ConfigError(
        f"init_from={source.run_dir} is a {source.objective!r} run, but task {task!r} with architecture "
        f"{architecture!r} starts from a {expected!r} pretraining run. Point init_from at one, or change "
        "config.architecture.")


# Model fields a stage may choose for itself; the others are the architecture, which the checkpoint fixes.
RUNTIME_MODEL_FIELDS = ("dropout", "dtype", "attention", "remat")


def inherit_model(config, source: Source) -> None:
  """Gives `config.model` the architecture of the run `source` (all but `RUNTIME_MODEL_FIELDS`), logging what changed.

  A stage started from a checkpoint can only have that checkpoint's shape, so asking the user to repeat it
  (every field of an imported Llama, say) would only invite mismatches.
  """
  theirs = (source.config or {}).get("model")
  if not theirs:
    return
  mine = settings.to_dict(config.model)
  merged = {**theirs, **{k: mine[k] for k in RUNTIME_MODEL_FIELDS if k in mine}}
  changed = sorted(k for k in merged if k in mine and mine[k] != merged[k])
  if changed:
    logging.info("init_from=%s: model %s taken from that run.", source.run_dir,
                 ", ".join(f"{k}={merged[k]!r} (config: {mine[k]!r})" for k in changed))
  with config.unlocked():
    config.model = type(config.model)(merged)


def describe_model_mismatch(source: Source, model_config: dict) -> str:
  """The model keys where this config and the source run's config differ, as a hint for errors."""
  theirs = (source.config or {}).get("model", {})
  keys = sorted(k for k in model_config if k in theirs and theirs[k] != model_config[k] and k != "vocab_size")
  return "; ".join(f"model.{k}: {theirs[k]!r} there, {model_config[k]!r} here" for k in keys)


def warm_start(source: Source, key: str, model_config: dict | None = None) -> Callable[[Any], Any]:
  """`params -> params` with `params[key]` (or all of them if `key` is "") read from `source`."""

  def load(params):
    target = params[key] if key else params
    where = f"the {'backbone' if key else 'model'} of this task"
    hint = describe_model_mismatch(source, model_config or {})
    advice = (f"init_from: its parameters were matched against {where}; the model config must match the "
              "pretraining run's" + (f" (differences: {hint})." if hint else "."))
    restored = checkpoint.restore_params(source.checkpoints, target, source.step, advice=advice)
    logging.info("Initialised %s from %s/%d.", where, source.checkpoints, source.step)
    return {**params, key: restored} if key else restored

  return load
