"""Hugging Face checkpoint <-> `lm` run directory.

Import (`import_checkpoint`) turns `config.json` + safetensors + tokenizer files into an ordinary run directory
(`config.json` with the derived model section, an orbax checkpoint at step 0, the tokenizer), which every entry
point takes as it takes a run of its own: `sample --workdir`, `evaluate --config.checkpoint`, `init_from`,
`policy_from`. Nothing is written until the whole checkpoint has been read and checked.
"""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import jax.numpy as jnp
from absl import logging

from lm import settings
from lm.interop import families, hf_files, layouts
from lm.interop.tokenizer import HFTokenizer
from lm.models.config import ModelConfig
from lm.training import checkpoint, recipes, rundir

PREFIX = "hf:"


@dataclasses.dataclass
class Imported:
  family: families.Family
  model_config: ModelConfig
  params: dict
  tokenizer: HFTokenizer | None
  hf_config: dict


def strip_prefix(spec: str) -> str:
  """`hf:DIR` -> DIR (the prefix marks a Hugging Face directory where a run directory is also accepted)."""
  return os.path.abspath(os.path.expanduser(spec[len(PREFIX):] if spec.startswith(PREFIX) else spec))


def fresh_params(objective: str, config: ModelConfig, rng: jax.Array | None = None):
  """An `objective`'s model and its parameters (abstract shapes when `rng` is None)."""
  recipe = recipes.recipe(objective)
  model = recipe.model(config)
  init = recipe.init_params(model, 8, 8)
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  if rng is None:
    return model, nn.unbox(jax.eval_shape(init, jax.random.key(0)))
  return model, nn.unbox(init(rng))


def read_checkpoint(directory: str, *, with_tokenizer: bool = True) -> Imported:
  """The `lm` model config, parameters and tokenizer of a Hugging Face checkpoint directory."""
  hf = hf_files.read_config(directory)
  where = os.path.join(directory, hf_files.CONFIG)
  family = families.for_model_type(hf.get("model_type"), where)
  try:
    model_config = ModelConfig(**family.model_config(hf, where))
  except ValueError as e:
    raise hf_files.CheckpointError(f"{where}: {e}") from None
  tensors = hf_files.Tensors(directory)
  rules = family.rules(model_config, family.prefix_of(tensors))
  _, abstract = fresh_params(family.objective, model_config)
  if any(r.optional and r.hf not in tensors for r in rules):
    _, base = fresh_params(family.objective, model_config, jax.random.key(0))
  else:
    base = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), abstract)
  params = layouts.to_lm(rules, tensors, base, directory, family.ignore)
  tokenizer = HFTokenizer.from_checkpoint(directory, hf) if with_tokenizer else None
  if tokenizer is not None and tokenizer.vocab_size > model_config.vocab_size:
    raise hf_files.CheckpointError(f"{directory}: the tokenizer has {tokenizer.vocab_size} tokens but the model's "
                                   f"vocab_size is {model_config.vocab_size}.")
  return Imported(family, model_config, params, tokenizer, hf)


def run_config(imported: Imported, source: str) -> dict:
  """The config.json of an imported run: enough for every entry point to rebuild its model and tokenizer."""
  return {"objective": imported.family.objective, "seed": 0,
          "model": {k: (0 if v is None else v) for k, v in dataclasses.asdict(imported.model_config).items()},
          "converted_from": {"path": source, "model_type": imported.hf_config.get("model_type"),
                             "family": imported.family.name}}


def import_checkpoint(hf_dir: str, workdir: str) -> Imported:
  """Writes the run directory `workdir` from the Hugging Face checkpoint in `hf_dir` (refuses an existing run)."""
  started = time.perf_counter()
  hf_dir = strip_prefix(hf_dir)
  if os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise settings.ConfigError(f"{workdir} already holds a run (checkpoints/); convert into a new --workdir.")
  imported = read_checkpoint(hf_dir)
  files = rundir.RunFiles(workdir, run_config(imported, hf_dir), imported.tokenizer.proto, imported.tokenizer.filename)
  settings.prepare_workdir(workdir)
  mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"), async_save=False)
  try:
    checkpoint.save(mngr, 0, {"params": imported.params}, force=True)
    mngr.wait_until_finished()
  finally:
    mngr.close()
  files.write()
  logging.info("Imported %s (%s, %d parameters) into %s in %.1f s.", hf_dir, imported.hf_config.get("model_type"),
               sum(x.size for x in jax.tree.leaves(imported.params)), workdir, time.perf_counter() - started)
  return imported
