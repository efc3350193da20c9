"""Hugging Face checkpoint <-> `lm` run directory.

Import (`import_checkpoint`) turns `config.json` + safetensors + tokenizer files into an ordinary run directory
(`config.json` with the derived model section, an orbax checkpoint at step 0, the tokenizer), which every entry
point takes as it takes a run of its own: `sample --workdir`, `evaluate --config.checkpoint`, `init_from`,
`policy_from`. Nothing is written until the whole checkpoint has been read and checked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import flax.linen as nn
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
  params = layouts.to_lm(rules, tensors, abstract, directory,
                         lambda: fresh_params(family.objective, model_config, jax.random.key(0))[1], family.ignore)
  tokenizer = HFTokenizer.from_checkpoint(directory, hf, family.special_defaults(hf)) if with_tokenizer else None
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


def family_of(config: dict, model_config: ModelConfig) -> families.Family:
  """The family a run exports as: the one it was imported from, else the one its architecture resembles."""
  origin = (config.get("converted_from") or {}).get("family")
  if origin:
    return families.by_name(origin)
  objective = config.get("objective") or ("causal" if config.get("architecture", "decoder") == "decoder" else None)
  if objective == "causal":
    return families.by_name("gpt2" if model_config.positions == "learned" else "llama")
  if objective == "bert" or config.get("architecture") == "encoder":
    return families.by_name("bert")
  return families.by_name("t5")


def model_params(params: dict) -> dict:
  """The language model's own parameters in a run's tree: a task's backbone or an RL run's policy (heads dropped)."""
  for key in ("policy", "backbone"):
    if key in params:
      logging.info("Exporting the run's %s (%s not exported).", key, ", ".join(k for k in params if k != key))
      return params[key]
  return params


def export_run(workdir: str, hf_dir: str, *, dtype: str = "float32") -> dict:
  """Writes the run in `workdir` (latest checkpoint, LoRA adapters merged) as a Hugging Face checkpoint in `hf_dir`.

  Returns the checkpoint's config. A run whose architecture maps onto no family gets an error naming what does
  not map, before anything is written.
  """
  from lm.training import runs  # pylint: disable=import-outside-toplevel  (runs imports most of lm.training)
  hf_dir = strip_prefix(hf_dir)
  run = runs.load(workdir)
  config = settings.to_dict(run.config)
  model_config = run.model.config
  family = family_of(config, model_config)
  special = {role: getattr(run.tokenizer, f"{role}_id", None) for role in ("pad", "bos", "eos", "unk")}
  hf_config = {**family.hf_config(model_config, special), "dtype": dtype}
  params = model_params(run.params)
  tensors = layouts.to_hf(family.rules(model_config, family.prefixes[0] if family.prefixes else ""), params)
  tensors = {k: v.astype(jnp.dtype(dtype)) for k, v in tensors.items()}
  tokenizer = tokenizer_files(run.tokenizer)
  if os.path.isfile(os.path.join(hf_dir, hf_files.CONFIG)):
    raise settings.ConfigError(f"{hf_dir} already holds a checkpoint (config.json); export into a new directory.")
  hf_files.write(hf_dir, hf_config, tensors)
  for name, data in tokenizer.items():
    with open(os.path.join(hf_dir, name), "wb") as f:
      f.write(data)
  logging.info("Exported %s (step %d) as %s into %s.", workdir, run.step, hf_config["model_type"], hf_dir)
  return hf_config


def tokenizer_files(tokenizer) -> dict[str, bytes]:
  """The tokenizer files `transformers.AutoTokenizer` reads: an imported checkpoint's own, as they came; or lm's
  SentencePiece model as `tokenizer.model`, read by transformers' SentencePiece backend (the same ids: it runs
  sentencepiece itself)."""
  if isinstance(tokenizer, HFTokenizer):
    return tokenizer.checkpoint_files()
  special = {f"{role}_token": tokenizer.id_to_piece(i) for role in ("bos", "eos", "unk", "pad", "mask", "cls", "sep")
             if (i := getattr(tokenizer, f"{role}_id", None)) is not None and i >= 0}
  config = {"tokenizer_class": "SentencePieceBackend", **special,
            "additional_special_tokens": [tokenizer.id_to_piece(i) for i in tokenizer.sentinel_ids]}
  return {"tokenizer.model": tokenizer.proto, "tokenizer_config.json": json.dumps(config, indent=2).encode("utf-8")}
