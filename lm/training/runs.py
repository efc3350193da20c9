"""Loading a training run from its work dir: config, tokenizer, model and latest parameters.

Used by sampling, evaluation and later stages (`init_from`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from lm import settings
from lm.data import corpus, tokenizer as tokenizer_lib
from lm.models.transformer import Decoder
from lm.training import checkpoint, pretrain


@dataclasses.dataclass
class Run:
  workdir: str
  config: ml_collections.ConfigDict
  tokenizer: tokenizer_lib.Tokenizer
  model: Decoder
  params: Any
  step: int


def load(workdir: str, step: int | None = None) -> Run:
  """The run in `workdir` at `step` (default: its latest checkpoint)."""
  config = ml_collections.ConfigDict(settings.load_run_config(workdir))
  spec = pretrain.data_spec(config.data)
  tokenizer = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  model = Decoder(pretrain.model_config(config, tokenizer.vocab_size))
  example = jnp.ones((1, 8), jnp.int32)
  abstract = nn.unbox(jax.eval_shape(lambda: model.init(jax.random.key(0), example)["params"]))
  directory = os.path.join(workdir, "checkpoints")
  mngr = checkpoint.manager(directory, async_save=False)
  step = mngr.latest_step() if step is None else step
  mngr.close()
  if step is None:
    raise FileNotFoundError(f"{directory}: no checkpoint yet; train first (python -m experiments.pretrain ...).")
  params = checkpoint.restore_params(directory, abstract, step)
  return Run(workdir=workdir, config=config, tokenizer=tokenizer, model=model, params=params, step=step)
