"""Fine-tuning as a library call: `run(config, workdir)` trains a task, optionally from a pretrained run.

Same loop, step, checkpoints and resume as pretraining; what differs is the recipe
(`lm.training.tasks`), the warm start from `config.init_from`, a label budget
(`data.train_examples`), optionally a frozen backbone or LoRA adapters (`adapt`), and the task metric, measured on the
validation split at every evaluation and on the test split at the end (`DIR/results.json`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

from absl import logging

from lm import distributed, settings
from lm.data import corpus, sources
from lm.training import (adapt, loop, optimizers, pretrain, rundir, sharding, tasks, tracking, transfer,
                         verbalizer, writers)

RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  validation_examples: int = 200   # validation records scored by the task metric at each evaluation (0 = all)
  test_examples: int = 0           # test records scored at the end (0 = all)
  batch_size: int = 64             # rows per prediction or generation batch
  max_new_tokens: int = 48         # generation budget (instructions, translation), greedy
  samples: int = 3                 # examples (input, reference, output) logged at each evaluation


@dataclasses.dataclass
class Result:
  loop: loop.Result
  test: dict[str, float]
  seconds: float


def write_samples(workdir: str, step: int, split: str, examples: list[dict]) -> None:
  if not distributed.is_lead():  # one writer per run
    return
  with open(os.path.join(workdir, SAMPLES_FILE), "a", encoding="utf-8") as f:
    for example in examples:
      f.write(json.dumps({"step": step, "split": split, **example}, ensure_ascii=False) + "\n")


def outcome(workdir: str, result: loop.Result) -> dict:
  """What results.json says of the training: steps, and the validation metrics of the parameters it reports
  (those of the step selected on validation, if the run selects)."""
  if result.selected_step is not None:
    return {"steps": result.step, "selected_step": result.selected_step,
            "validation": writers.last_eval(workdir, result.selected_step)}
  return {"steps": result.step, "validation": result.last_eval or writers.last_eval(workdir)}


def run(config, workdir: str) -> Result:
  started = time.perf_counter()
  task = tasks.task(config)
  source = transfer.resolve(config.init_from) if config.init_from else None  # fail before writing anything
  expected = tasks.PRETRAINED_BY[config.architecture]
  if source is not None:
    whole = tuple(name for name, t in tasks.TASKS.items() if not t.heads and config.architecture in t.architectures)
    transfer.check_objective(source, expected, config.task, config.architecture, whole)
    transfer.inherit_model(config, source)
  settings.prepare_workdir(workdir)
  spec = pretrain.data_spec(config.data)
  schema = sources.schema(spec)
  if schema != task.schema:
    raise settings.ConfigError(f"task {config.task!r} trains on datasets of schema {task.schema!r}; "
                               f"data.dataset={spec.name!r} has schema {schema!r}.")
  # The pretrained run's own tokenizer when it saved one: ids must agree with its embeddings.
  tokenizer = source.tokenizer() if source is not None else None
  if tokenizer is None:
    tokenizer = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  model_cfg = pretrain.model_config(config, tokenizer.vocab_size)
  if config.data.seq_len > model_cfg.max_len:
    raise settings.ConfigError(f"data.seq_len={config.data.seq_len} exceeds model.max_len={model_cfg.max_len}.")
  model = task.model(model_cfg, config)
  layout = task.layout(config, tokenizer)
  eval_cfg = settings.section(EvalConfig, config.eval, "eval")

  def split(name):  # the records of split `name` this task uses (all but held-out families, one sub-task, ...)
    return sources.where(sources.open_split(spec, name), task.select(config, name),
                         f"task {config.task!r} with task_options={settings.to_dict(config.get('task_options', {}))}")

  train_source = sources.sample(split("train"), config.data.train_examples, config.data.sample_seed)
  validation_split = split("validation")
  validation = sources.head(validation_split, eval_cfg.validation_examples)
  loop_cfg = settings.section(loop.LoopConfig, config.train, "train")
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), loop_cfg.steps)
  key = tasks.backbone_key(task)
  adapt_cfg = settings.section(adapt.AdaptConfig, config.adapt, "adapt")
  optimizer = adapt.optimizer(optimizer, adapt_cfg, key)
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  train_data, eval_data = pretrain.pipelines(config, spec, tokenizer, layout, train_source=train_source,
                                              validation_source=validation_split)
  loss_fn, eval_loss_fn = task.losses(model, config)
  evaluate = task.evaluator(model, config, tokenizer)
  init_params = tasks.init_params(model, config.architecture, config.data.seq_len, layout.decoder_seq_len)
  warm = transfer.warm_start(source, key, settings.to_dict(config.model)) if source is not None else None
  if words := config.get("task_options", {}).get("verbalizer", ""):
    if config.architecture != "decoder" or getattr(model, "per_token", True):
      raise settings.ConfigError("task_options.verbalizer starts a decoder's sequence classifier from label words; "
                                 f"task {config.task!r} with architecture {config.architecture!r} has none.")
    pieces = verbalizer.first_pieces(tokenizer, verbalizer.parse(words, model.num_classes))
    warm = verbalizer.then(warm, verbalizer.init_head(pieces, model_cfg))
  if adapt_cfg.lora:  # the state holds {"base", "lora"}; everything else sees the merged weights
    if model_cfg.scan_layers:
      raise settings.ConfigError("adapt.lora_rank needs model.scan_layers=False (adapters are per layer).")
    init_params = adapt.wrap_init(init_params, adapt_cfg, model_cfg.d_model)
    loss_fn, eval_loss_fn = adapt.wrap_loss(loss_fn, adapt_cfg), adapt.wrap_loss(eval_loss_fn, adapt_cfg)
    evaluate = adapt.wrap_evaluate(evaluate, adapt_cfg)
    warm = adapt.wrap_warm_start(warm)

  def on_eval(step, params):
    metrics, examples = evaluate(params, validation)
    write_samples(workdir, step, "validation", examples)
    for example in examples:
      logging.info("step %d sample:\n  input: %s\n  reference: %s\n  output: %s", step, example["input"],
                   example["reference"], example["output"])
    return metrics

  logging.info("Fine-tuning %s (%s) on %s: %d training records, %s; workdir %s.", config.task, config.architecture,
               spec.name, len(train_source), f"from {source.checkpoints}/{source.step}" if source else "from scratch",
               workdir)
  result = loop.train(
      workdir=workdir, config=loop_cfg, seed=config.seed, mesh=mesh,
      init_params=init_params, optimizer=optimizer, schedule=schedule, loss_fn=loss_fn, eval_loss_fn=eval_loss_fn,
      train_data=train_data, eval_data=eval_data, global_batch_rows=config.data.batch_size, on_eval=on_eval,
      warm_start=warm, run_files=rundir.for_run(workdir, config, tokenizer),
      logging_config=tracking.from_config(config))
  test: dict[str, float] = {}
  if not result.preempted:
    test_records = sources.head(split("test"), eval_cfg.test_examples)
    test, examples = evaluate(result.params, test_records)
    write_samples(workdir, result.step, "test", examples)
    seconds = time.perf_counter() - started
    settings.write_json(os.path.join(workdir, RESULTS_FILE), {
        "task": config.task, "architecture": config.architecture, "init_from": config.init_from or None,
        "train_examples": len(train_source), **outcome(workdir, result), "headline": task.headline, "test": test,
        "seconds": seconds})
    logging.info("Test %s: %s", task.headline, test.get(task.headline))
  return Result(loop=result, test=test, seconds=time.perf_counter() - started)
