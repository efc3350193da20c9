"""BERT and T5 imported from Hugging Face: logits (and T5's greedy generation) equal `transformers`' (float32)."""

import numpy as np
import pytest
import torch

import jax
import jax.numpy as jnp

from lm.interop import convert
from lm.sampling import decode, seq2seq

TOLERANCE = 1e-4


def _import(directory, model, tokenizer):
  imported = convert.read_checkpoint(directory)
  lm_model, _ = convert.fresh_params(imported.family.objective, imported.model_config)
  return model, tokenizer, lm_model, imported


@pytest.fixture(scope="module")
def bert(hf_checkpoint):
  return _import(*hf_checkpoint("bert"))


@pytest.fixture(scope="module", params=["t5_v1_0", "t5_v1_1"])
def t5(request, hf_checkpoint):
  return _import(*hf_checkpoint(request.param))


def test_bert_logits_match_with_padding_and_token_types(bert):
  model, _, lm_model, imported = bert
  rng = np.random.default_rng(0)
  ids = rng.integers(5, imported.model_config.vocab_size, (2, 12))
  mask = np.ones((2, 12), np.int64)
  mask[1, 8:] = 0
  types = np.zeros((2, 12), np.int64)
  types[:, 6:] = 1
  with torch.no_grad():
    out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
  got = lm_model.apply({"params": imported.params}, jnp.asarray(ids), jnp.asarray(mask), token_types_BxT=jnp.asarray(types))
  mlm = np.abs(np.asarray(got["mlm_logits"]) - out.prediction_logits.numpy())[mask.astype(bool)]
  assert mlm.max() < TOLERANCE
  assert np.abs(np.asarray(got["cls_logits"]) - out.seq_relationship_logits.numpy()).max() < TOLERANCE


def test_bert_tokenizer_and_special_tokens(bert):
  _, tokenizer, _, imported = bert
  text = "the cat sat on the mat, 1 2 3."
  ids = imported.tokenizer.encode(text)
  assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
  assert imported.tokenizer.decode(ids) == text  # lowercase, spaced text round-trips through WordPiece
  for role in ("pad", "cls", "sep", "mask", "unk"):
    assert getattr(imported.tokenizer, f"{role}_id") == getattr(tokenizer, f"{role}_token_id")


def test_t5_logits_match_with_padding(t5):
  model, _, lm_model, imported = t5
  rng = np.random.default_rng(0)
  vocab = imported.model_config.vocab_size
  inputs, targets = rng.integers(3, vocab, (2, 30)), rng.integers(3, vocab, (2, 25))  # beyond the exact buckets
  mask = np.ones((2, 30), np.int64)
  mask[1, 20:] = 0
  with torch.no_grad():
    expected = model(input_ids=torch.tensor(inputs), attention_mask=torch.tensor(mask),
                     decoder_input_ids=torch.tensor(targets)).logits.numpy()
  got = np.asarray(lm_model.apply({"params": imported.params}, jnp.asarray(inputs), jnp.asarray(mask), None,
                                  jnp.asarray(targets)))
  assert np.abs(got - expected).max() < TOLERANCE


def test_t5_greedy_generation_matches(t5):
  model, tokenizer, lm_model, imported = t5
  source = tokenizer("Ada was born in Varn.")["input_ids"]
  with torch.no_grad():
    expected = model.generate(torch.tensor([source]), max_new_tokens=16, min_new_tokens=16, do_sample=False,
                              eos_token_id=None)[0, 1:].tolist()  # after the decoder start token
  config = decode.SamplingConfig(max_new_tokens=16, temperature=0.0, stop_at_eos=False)
  out, _ = seq2seq.generate(lm_model, imported.params, jnp.asarray([source]), jnp.ones((1, len(source)), jnp.int32),
                            jax.random.key(0), config=config, bos_id=imported.tokenizer.bos_id, eos_id=-1, pad_id=-2)
  assert np.asarray(out)[0].tolist() == expected


def test_t5_tokenizer_has_sentinels_and_decoder_start(t5):
  _, tokenizer, _, imported = t5
  assert imported.tokenizer.sentinel_ids == [tokenizer.convert_tokens_to_ids(f"<extra_id_{i}>") for i in range(8)]
  assert imported.tokenizer.bos_id == t5[0].config.decoder_start_token_id
  text = "Brin likes bread and water."
  assert imported.tokenizer.encode(text) == tokenizer(text, add_special_tokens=False)["input_ids"]
  assert imported.tokenizer.decode(imported.tokenizer.encode(text)) == text


@pytest.mark.parametrize("bidirectional, buckets, max_distance", [(True, 32, 128), (False, 32, 128), (True, 8, 20)])
def test_relative_buckets_equal_transformers(bidirectional, buckets, max_distance):
  from lm.models import layers  # pylint: disable=import-outside-toplevel
  from transformers.models.t5.modeling_t5 import T5Attention  # pylint: disable=import-outside-toplevel
  relative = np.arange(-400, 401)[None, None, :]
  expected = T5Attention._relative_position_bucket(torch.tensor(relative), bidirectional=bidirectional,  # pylint: disable=protected-access
                                                   num_buckets=buckets, max_distance=max_distance).numpy()
  got = np.asarray(layers.relative_bucket(jnp.asarray(relative), bidirectional, buckets, max_distance))
  np.testing.assert_array_equal(got, expected)
