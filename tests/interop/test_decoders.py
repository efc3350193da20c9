"""Decoder families imported from Hugging Face: logits and greedy generation equal `transformers`' (float32)."""

import numpy as np
import pytest
import torch

import jax
import jax.numpy as jnp

from lm.interop import convert
from lm.sampling import decode

TOLERANCE = 1e-4


@pytest.fixture(scope="module", params=["gpt2", "llama", "llama_tied_theta", "qwen2"])
def pair(request, hf_checkpoint):
  directory, model, tokenizer = hf_checkpoint(request.param)
  imported = convert.read_checkpoint(directory)
  lm_model, _ = convert.fresh_params(imported.family.objective, imported.model_config)
  return model, tokenizer, lm_model, imported


def _hf_logits(model, ids, mask=None, positions=None):
  with torch.no_grad():
    out = model(input_ids=torch.tensor(ids), attention_mask=None if mask is None else torch.tensor(mask),
                position_ids=None if positions is None else torch.tensor(positions))
  return out.logits.numpy()


def test_logits_match_with_padding(pair):
  model, _, lm_model, imported = pair
  rng = np.random.default_rng(0)
  ids = rng.integers(0, imported.model_config.vocab_size, (2, 12))
  mask = np.ones((2, 12), np.int64)
  mask[1, 9:] = 0  # right padding: the second row has 9 tokens
  expected = _hf_logits(model, ids, mask)
  got = np.asarray(lm_model.apply({"params": imported.params}, jnp.asarray(ids), jnp.asarray(mask)))
  assert got.shape == expected.shape
  diff = np.abs(got - expected)[mask.astype(bool)]
  assert diff.max() < TOLERANCE, diff.max()


def test_logits_match_on_packed_rows(pair):
  """Two documents packed in one row (segment ids 1, 2; positions restarting) equal each run alone."""
  model, _, lm_model, imported = pair
  rng = np.random.default_rng(1)
  a, b = rng.integers(0, imported.model_config.vocab_size, 7), rng.integers(0, imported.model_config.vocab_size, 5)
  tokens = np.concatenate([a, b])[None]
  segments = np.array([[1] * 7 + [2] * 5])
  positions = np.array([list(range(7)) + list(range(5))])
  got = np.asarray(lm_model.apply({"params": imported.params}, jnp.asarray(tokens), jnp.asarray(segments),
                                  jnp.asarray(positions)))[0]
  expected = np.concatenate([_hf_logits(model, a[None])[0], _hf_logits(model, b[None])[0]])
  assert np.abs(got - expected).max() < TOLERANCE


def test_greedy_generation_matches(pair):
  model, tokenizer, lm_model, imported = pair
  prompt = tokenizer("Ada was born in")["input_ids"]
  with torch.no_grad():
    expected = model.generate(torch.tensor([prompt]), max_new_tokens=16, do_sample=False, eos_token_id=None,
                              pad_token_id=0, min_new_tokens=16)[0, len(prompt):].tolist()
  config = decode.SamplingConfig(max_new_tokens=16, temperature=0.0, stop_at_eos=False)
  out, _ = decode.generate(lm_model, imported.params, jnp.asarray([prompt]), jnp.ones((1, len(prompt)), jnp.int32),
                           jax.random.key(0), config=config, eos_id=-1, pad_id=-2)
  assert np.asarray(out)[0].tolist() == expected


def test_tokenizer_matches_transformers(pair):
  _, tokenizer, _, imported = pair
  text = "Brin likes bread, water and quiet mornings. 1 2 3! Zoë?"
  ids = imported.tokenizer.encode(text)
  assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
  assert imported.tokenizer.decode(ids) == text
  assert imported.tokenizer.eos_id == tokenizer.eos_token_id
  assert imported.tokenizer.vocab_size == len(tokenizer)


def test_a_token_the_checkpoint_lacks_is_named(pair):
  _, _, _, imported = pair
  with pytest.raises(ValueError, match=r"tokenizer.json: the checkpoint's tokenizer has no mask token, which this "
                     "stage needs"):
    imported.tokenizer.require("mask_id")


def test_mistral_sliding_window_bounds_the_context_and_scaled_rope_is_refused():
  from lm.interop import llama  # pylint: disable=import-outside-toplevel
  from lm.interop.hf_files import CheckpointError  # pylint: disable=import-outside-toplevel
  mistral = {"model_type": "mistral", "vocab_size": 100, "hidden_size": 32, "intermediate_size": 48,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 32768, "sliding_window": 4096, "rope_theta": 1e6, "hidden_act": "silu"}
  fields = llama.model_config(mistral, "mistral/config.json")
  assert fields["max_len"] == 4096 and fields["rope_base"] == 1e6 and fields["projection_bias"] == "none"
  with pytest.raises(CheckpointError, match=r"llama/config.json: rope type 'llama3' is not supported"):
    llama.model_config({**mistral, "model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}},
                       "llama/config.json")
