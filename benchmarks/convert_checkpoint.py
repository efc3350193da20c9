"""Conversion time of a GPT-2-small-shaped (124M) checkpoint: Hugging Face -> lm run -> Hugging Face.

  python -m benchmarks.convert_checkpoint [--family=gpt2|llama] [--workdir=/tmp/convert_bench]

Builds a randomly initialised `transformers` model of the family's small shape (GPT-2: 12 layers, width 768,
vocabulary 50,257; llama: the same widths with SwiGLU, 4 kv heads), saves it with `save_pretrained` (safetensors)
and a small stand-in tokenizer (no download), then times `experiments.convert`'s two directions in this process
and compares the logits of the imported and re-exported models with the original's on one 128-token row.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np
from absl import flags
from experiments import cli

_FAMILY = flags.DEFINE_enum("family", "gpt2", ["gpt2", "llama"], "Which family's small shape.")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/convert_bench", "Scratch directory (emptied first).")


def _save_tokenizer(directory: str, special: dict) -> None:
  """A byte-level BPE trained on one sentence: enough for the importer, which needs a tokenizer.json."""
  from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # pylint: disable=import-outside-toplevel
  tok = Tokenizer(models.BPE())
  tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
  tok.train_from_iterator(["the cat sat on the mat"] * 10, trainers.BpeTrainer(
      vocab_size=300, special_tokens=sorted(set(special.values())), initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  tok.save(os.path.join(directory, "tokenizer.json"))
  with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", **{f"{k}_token": v for k, v in special.items()}}, f)


def _model(family: str):
  import transformers  # pylint: disable=import-outside-toplevel
  if family == "gpt2":
    return transformers.GPT2LMHeadModel(transformers.GPT2Config()), {"bos": "<|endoftext|>", "eos": "<|endoftext|>"}
  config = transformers.LlamaConfig(vocab_size=50_304, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                                    num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=1024)
  return transformers.LlamaForCausalLM(config), {"bos": "<s>", "eos": "</s>", "unk": "<unk>"}


def main(argv):
  del argv
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel

  from lm.interop import convert  # pylint: disable=import-outside-toplevel
  from lm.training import runs  # pylint: disable=import-outside-toplevel

  root = _WORKDIR.value
  shutil.rmtree(root, ignore_errors=True)
  hf_dir, run_dir, out_dir = (os.path.join(root, d) for d in ("hf", "run", "out"))
  torch.manual_seed(0)
  model, special = _model(_FAMILY.value)
  model.eval()
  model.save_pretrained(hf_dir)
  _save_tokenizer(hf_dir, special)
  size = os.path.getsize(os.path.join(hf_dir, "model.safetensors"))
  params = sum(p.numel() for p in model.parameters())

  started = time.perf_counter()
  imported = convert.read_checkpoint(hf_dir)
  read_seconds = time.perf_counter() - started
  del imported
  started = time.perf_counter()
  convert.import_checkpoint(hf_dir, run_dir)
  import_seconds = time.perf_counter() - started
  started = time.perf_counter()
  convert.export_run(run_dir, out_dir)
  export_seconds = time.perf_counter() - started

  ids = np.random.default_rng(0).integers(0, model.config.vocab_size, (1, 128))
  run = runs.load(run_dir)
  ours = np.asarray(run.model.apply({"params": run.params}, jnp.asarray(ids)))
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(out_dir).eval()
  with torch.no_grad():
    theirs = model(input_ids=torch.tensor(ids)).logits.numpy()
    again = reloaded(input_ids=torch.tensor(ids)).logits.numpy()
  print(f"| {_FAMILY.value} small shape, {params / 1e6:.0f}M parameters, {size / 2**20:.0f} MiB float32 safetensors "
        f"| read + convert {read_seconds:.1f} s; import into a run (+ orbax write) {import_seconds:.1f} s; "
        f"export {export_seconds:.1f} s | max |logit difference|: import {np.abs(ours - theirs).max():.2e}, "
        f"export {np.abs(again - theirs).max():.2e} |")


if __name__ == "__main__":
  cli.run(main)
