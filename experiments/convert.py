"""Hugging Face checkpoints in and out of lm, with no download and no torch.

  # import: a directory saved by save_pretrained (config.json + *.safetensors + tokenizer.json) -> an lm run
  python -m experiments.convert --from=hf:/path/to/gpt2 --workdir=/tmp/gpt2_run
  python -m experiments.sample --workdir=/tmp/gpt2_run --prompt="Ada was born in"
  python -m experiments.finetune --config=configs/finetune/instruct.py --config.init_from=/tmp/gpt2_run ...

  # export: an lm run (its latest checkpoint; LoRA adapters merged) -> a directory transformers loads
  python -m experiments.convert --from=/tmp/sft_run --to=hf:/tmp/sft_hf [--dtype=bfloat16]

Families: GPT-2 (gpt2), Llama/Mistral/Qwen2 (llama, mistral, qwen2). See the README, "Starting from Hugging Face
checkpoints", for what maps onto what.
"""

from __future__ import annotations

from absl import flags

from experiments import cli
from lm import settings
from lm.interop import convert

_FROM = flags.DEFINE_string("from", None, "hf:DIR (a Hugging Face checkpoint) to import, or an lm run's work dir "
                            "to export.")
_TO = flags.DEFINE_string("to", None, "hf:DIR to export into (a new directory).")
_WORKDIR = flags.DEFINE_string("workdir", None, "The lm run directory to import into (a new one).")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16", "float16"], "Export: the weights' dtype.")
flags.mark_flag_as_required("from")


def main(argv):
  del argv
  source = _FROM.value
  with cli.reported():
    if source.startswith(convert.PREFIX):
      if not _WORKDIR.value or _TO.value:
        raise settings.ConfigError("Importing --from=hf:DIR needs --workdir=RUN (and no --to).")
      imported = convert.import_checkpoint(source, _WORKDIR.value)
      print(f"{source} -> {_WORKDIR.value}: {imported.hf_config.get('model_type')} as objective "
            f"{imported.family.objective!r}, vocabulary {imported.tokenizer.vocab_size}.")
    else:
      if not _TO.value or not _TO.value.startswith(convert.PREFIX):
        raise settings.ConfigError("Exporting --from=RUN needs --to=hf:DIR (or import with --from=hf:DIR).")
      config = convert.export_run(source, _TO.value, dtype=_DTYPE.value)
      print(f"{source} -> {_TO.value}: {config['model_type']} ({_DTYPE.value}).")


if __name__ == "__main__":
  cli.run(main)
