"""Tiny Hugging Face checkpoints, built once per test session on demand (see hf_models)."""

import pytest

from tests.interop import hf_models

# name -> (family, config overrides)
VARIANTS = {
    "gpt2": ("gpt2", {}),
    "llama": ("llama", {}),                                   # grouped-query attention, untied output, no biases
    "llama_tied_theta": ("llama", {"tie_word_embeddings": True, "rope_theta": 500_000.0}),
    "qwen2": ("qwen2", {}),                                   # query/key/value biases
    "bert": ("bert", {}),
    "t5_v1_0": ("t5", {}),                                    # ReLU, tied and scaled output
    "t5_v1_1": ("t5", {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}),  # gated GELU, unscaled
}


@pytest.fixture(scope="session")
def hf_checkpoint(tmp_path_factory):
  """`hf_checkpoint(name)` -> (directory, transformers model, transformers tokenizer), built on first use."""
  built = {}

  def get(name):
    if name not in built:
      family, overrides = VARIANTS[name]
      directory = str(tmp_path_factory.mktemp(name))
      model, tokenizer = hf_models.build(family, directory, **overrides)
      built[name] = (directory, model, tokenizer)
    return built[name]

  return get
