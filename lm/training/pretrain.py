"""Pretraining as a library call: `run(config, workdir)` builds everything from a config and trains.

The experiment module (`experiments/pretrain.py`) and the notebooks both call this.
"""

from __future__ import annotations

import dataclasses
import math
import os

import jax
from absl import logging

from lm import settings
from lm.data import corpus, mixture, pipeline, sources, world
from lm.models.config import ModelConfig
from lm.training import loop, optimizers, recipes, rundir, sharding, tracking


def data_spec(data) -> sources.DatasetSpec:
  """`config.data` as a DatasetSpec; `data.files` maps splits to paths (comma-separated for several)."""
  files = {split: settings.names(paths) if isinstance(paths, str) else list(paths)
           for split, paths in dict(data.get("files", {}) or {}).items()}
  components = mixture.parse(data.mixture) if data.get("mixture") else ()
  return sources.DatasetSpec(
      name=f"mixture({data.mixture})" if components else data.dataset, data_dir=os.path.expanduser(data.data_dir),
      files={k: v for k, v in files.items() if v},
      world=settings.section(world.WorldConfig, data.get("world", {}), "data.world"), mixture=components)


def model_config(config, vocab_size: int) -> ModelConfig:
  """`config.model` with the vocabulary from the tokenizer (rounded up to a multiple of 128)."""
  vocab = config.model.get("vocab_size", 0) or int(math.ceil(vocab_size / 128) * 128)
  if vocab < vocab_size:
    raise settings.ConfigError(f"model.vocab_size={vocab} is smaller than the tokenizer's {vocab_size} pieces.")
  return settings.section(ModelConfig, config.model, "model", none_if_zero=("num_kv_heads", "head_dim"),
                          vocab_size=vocab)


def pipelines(config, spec: sources.DatasetSpec, tokenizer, layout: recipes.DataLayout, train_source=None,
              validation_source=None):
  """The training IterDataset and a factory of validation iterables for `layout`.

  `train_source` and `validation_source` replace those splits (e.g. a label-budget sample, one sub-task).
  """
  data = config.data
  train_cfg = pipeline.PipelineConfig(seq_len=data.seq_len, batch_size=data.batch_size, seed=config.seed,
                                      pack=layout.pack, decoder_seq_len=layout.decoder_seq_len,
                                      long_examples=layout.long_examples, shards=data.get("shards", 0),
                                      **{k: data[k] for k in ("shuffle_window", "packing_bins") if k in data})
  common = dict(transform=layout.transform, tokenizer=tokenizer, text_fields=layout.text_fields,
                seeded=layout.seeded, process_index=jax.process_index(), process_count=jax.process_count())
  train_source = sources.open_split(spec, "train") if train_source is None else train_source
  train = pipeline.build(train_source, config=train_cfg, **common)
  eval_cfg = dataclasses.replace(train_cfg, shuffle=False, num_epochs=1, drop_remainder=False)
  validation = sources.open_split(spec, "validation") if validation_source is None else validation_source
  return train, lambda: pipeline.build(validation, config=eval_cfg, **common)


def run(config, workdir: str) -> loop.Result:
  settings.prepare_workdir(workdir)
  recipe = recipes.recipe(config.objective)
  spec = data_spec(config.data)
  tokenizer = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  model_cfg = model_config(config, tokenizer.vocab_size)
  if config.data.seq_len > model_cfg.max_len:
    raise settings.ConfigError(f"data.seq_len={config.data.seq_len} exceeds model.max_len={model_cfg.max_len}.")
  layout = recipe.layout(config, sources.schema(spec), tokenizer)
  model = recipe.model(model_cfg)
  loop_cfg = settings.section(loop.LoopConfig, config.train, "train")
  optimizer, schedule = optimizers.make_optimizer(
      settings.section(optimizers.OptimizerConfig, config.optimizer, "optimizer"), loop_cfg.steps)
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  train_data, eval_data = pipelines(config, spec, tokenizer, layout)
  loss_fn, eval_loss_fn = recipe.losses(model, config, tokenizer)
  logging.info("Pretraining %s on %s with %s; workdir %s.", config.objective, spec.name, model_cfg, workdir)
  return loop.train(
      workdir=workdir, config=loop_cfg, seed=config.seed, mesh=mesh,
      init_params=recipe.init_params(model, config.data.seq_len, layout.decoder_seq_len), optimizer=optimizer,
      schedule=schedule, loss_fn=loss_fn, eval_loss_fn=eval_loss_fn, train_data=train_data, eval_data=eval_data,
      global_batch_rows=config.data.batch_size, run_files=rundir.for_run(workdir, config, tokenizer),
      logging_config=tracking.from_config(config))
