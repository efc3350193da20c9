"""What every Hugging Face family provides, and the registry from `config.json`'s `model_type` to its family.

A family maps a checkpoint config to `ModelConfig` fields (refusing what `lm` cannot reproduce), lists the
tensor `Rule`s for a model config, and writes the checkpoint config for export.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from lm.interop.hf_files import CheckpointError
from lm.interop.layouts import Rule
from lm.models.config import ModelConfig


@dataclasses.dataclass(frozen=True)
class Family:
  name: str                                     # "gpt2", "llama", "bert", "t5"
  model_types: tuple[str, ...]                  # config.json model_type values it reads
  objective: str                                # the lm pretraining objective whose model it fills
  model_config: Callable[[dict, str], dict]     # (checkpoint config, where) -> ModelConfig fields
  rules: Callable[[ModelConfig, str], Sequence[Rule]]  # (model config, tensor-name prefix) -> rules
  prefixes: tuple[str, ...]                     # tensor-name prefixes a task model adds ("transformer.", "model.")
  hf_config: Callable[[ModelConfig, dict], dict]  # (model config, special token ids) -> checkpoint config
  ignore: Callable[[str], bool] = lambda _: False  # checkpoint tensors that are not parameters (buffers)
  # Special-token roles the tokenizer leaves open, filled from the checkpoint config (T5's bos = decoder start)
  special_defaults: Callable[[dict], dict] = lambda _: {}

  def prefix_of(self, names) -> str:
    """The prefix the checkpoint's tensors carry ("" for a base model saved without its task head)."""
    for prefix in self.prefixes:
      if any(name.startswith(prefix) for name in names):
        return prefix
    return ""


def _registry() -> dict[str, Family]:
  from lm.interop import bert, gpt2, llama, t5  # pylint: disable=import-outside-toplevel
  families = (gpt2.FAMILY, llama.FAMILY, bert.FAMILY, t5.FAMILY)
  return {model_type: f for f in families for model_type in f.model_types}


def for_model_type(model_type: str | None, where: str) -> Family:
  registry = _registry()
  if model_type not in registry:
    raise CheckpointError(f"{where}: model_type={model_type!r} is not supported; lm converts "
                          f"{', '.join(sorted(registry))}.")
  return registry[model_type]


def by_name(name: str) -> Family:
  families = {f.name: f for f in _registry().values()}
  if name not in families:
    raise CheckpointError(f"no Hugging Face family {name!r}; expected one of {sorted(families)}.")
  return families[name]


def require(config: dict, key: str, where: str):
  if key not in config:
    raise CheckpointError(f"{where}: config.json has no {key!r}.")
  return config[key]
