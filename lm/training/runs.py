"""Loading a training run from its work dir: config, tokenizer, model and latest parameters.

Used by sampling, evaluation and later stages (`init_from`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import ml_collections

from lm import settings
from lm.data import corpus, tokenizer as tokenizer_lib
from lm.training import adapt, checkpoint, pretrain, recipes, selection, sharding, tasks, transfer


@dataclasses.dataclass
class Run:
  workdir: str
  config: ml_collections.ConfigDict
  tokenizer: tokenizer_lib.Tokenizer
  model: Any  # by the run's objective or task: Decoder, BertModel, EncoderDecoder or Classifier
  params: Any
  step: int


def load(workdir: str, step: int | None = None, mesh: jax.sharding.Mesh | None = None) -> Run:
  """The run in `workdir` (pretraining or fine-tuning) at `step` (default: the parameters it selected on
  validation if it selects, else its latest checkpoint).

  With a `mesh`, the parameters are laid out on it by their logical axes (over every process's devices),
  so sampling and scoring split their rows over the mesh; without one they sit on this process's first device.
  """
  config = ml_collections.ConfigDict(settings.load_run_config(workdir))
  tokenizer = transfer.saved_tokenizer(workdir)
  if tokenizer is None:  # runs from before tokenizers were saved beside the checkpoints
    spec = pretrain.data_spec(config.data)
    tokenizer = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  model_cfg = pretrain.model_config(config, tokenizer.vocab_size)
  adapt_cfg = None
  if "task" in config:
    model = tasks.task(config).model(model_cfg, config)
    init = tasks.init_params(model, config.architecture, 8, 8)
    adapt_cfg = settings.section(adapt.AdaptConfig, config.get("adapt", {}), "adapt")
    if adapt_cfg.lora:
      init = adapt.wrap_init(init, adapt_cfg, model_cfg.d_model)
  else:
    recipe = recipes.recipe(config.get("objective", "causal"))
    model = recipe.model(model_cfg)
    init = recipe.init_params(model, 8, 8)
  boxed = jax.eval_shape(lambda: init(jax.random.key(0)))
  abstract = nn.unbox(boxed)
  if mesh is not None:
    abstract = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract,
                            sharding.logical_shardings(boxed, mesh))
  directory = os.path.join(workdir, "checkpoints")
  best = selection.best_checkpoint(workdir) if step is None else None
  if best is not None:
    directory, step = best
  else:
    mngr = checkpoint.manager(directory, async_save=False)
    step = mngr.latest_step() if step is None else step
    mngr.close()
  if step is None:
    raise FileNotFoundError(f"{directory}: no checkpoint yet; train first (python -m experiments.pretrain ...).")
  params = checkpoint.restore_params(directory, abstract, step)
  if adapt_cfg is not None and adapt_cfg.lora:
    params = adapt.merge(params, adapt_cfg)  # the model's weights with the adapters folded in
  return Run(workdir=workdir, config=config, tokenizer=tokenizer, model=model, params=params, step=step)
