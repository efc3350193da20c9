"""Pretraining objectives as recipes: the model, example transform, losses and data layout of each.

`RECIPES[config.objective]` is all `lm.training.pretrain` needs to know about an objective, so a
new one is a new entry here (plus its loss in `lm/objectives/`), never a new loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from lm import settings
from lm.data import span_corruption, transforms
from lm.models.config import ModelConfig
from lm.models.encoder import BertModel
from lm.models.encoder_decoder import EncoderDecoder
from lm.models.transformer import Decoder
from lm.objectives import causal, masked, span


@dataclasses.dataclass(frozen=True)
class DataLayout:
  transform: Any                      # record -> features (lm.data.pipeline's hook)
  text_fields: tuple[str, ...]        # fields the pipeline tokenizes first
  pack: bool                          # pack several examples per row, or pad each
  seeded: bool = False                # the transform draws randomness from the record's seed
  decoder_seq_len: int = 0            # length of the decoder stream (encoder-decoders)
  long_examples: str = "split"        # examples longer than seq_len: "split" into chunks, or "truncate"


@dataclasses.dataclass(frozen=True)
class Recipe:
  model: Callable[[ModelConfig], Any]
  init_params: Callable[[Any, int, int], Callable]          # (model, seq_len, decoder_len) -> rng -> params
  layout: Callable[[Any, str, Any], DataLayout]              # (config, dataset schema, tokenizer)
  losses: Callable[[Any, Any, Any], tuple[Callable, Callable]]  # (model, config, tokenizer) -> (train, eval)


def _check_schema(schema: str, allowed: tuple[str, ...], objective: str) -> None:
  if schema not in allowed:
    raise settings.ConfigError(f"objective {objective!r} trains on datasets of schema {' or '.join(allowed)}; "
                               f"data.dataset has schema {schema!r}.")


# --- causal LM -------------------------------------------------------------------------------------

def _causal_layout(config, schema, tok):
  _check_schema(schema, ("text",), "causal")
  return DataLayout(transforms.causal_lm(tok.bos_id, tok.eos_id), ("text",), config.data.get("pack", True))


def _causal_losses(model, config, tok):
  z = config.get("z_loss", 0.0)
  return causal.make_loss(model, z), causal.make_loss(model, z, train=False)


def _decoder_init(model, seq_len, decoder_len):
  del decoder_len
  return lambda rng: model.init(rng, jnp.ones((1, seq_len), jnp.int32))["params"]


# --- BERT: masked LM and next-sentence prediction -------------------------------------------------

def _bert_layout(config, schema, tok):
  _check_schema(schema, ("text", "sentence_pairs"), "bert")
  if schema == "text":
    if config.bert.nsp_weight:
      raise settings.ConfigError("bert.nsp_weight must be 0 on a text dataset: next-sentence prediction needs "
                                 "sentence pairs (data.dataset=world/sentence_pairs).")
    return DataLayout(transforms.mlm_text(), ("text",), config.data.get("pack", True))
  return DataLayout(transforms.sentence_pair(tok.require("cls_id"), tok.require("sep_id"), config.data.seq_len),
                    ("sentence_a", "sentence_b"), pack=False)


def _bert_losses(model, config, tok):
  masking = settings.section(masked.MaskingConfig, config.masking, "masking")
  common = dict(masking=masking, mask_id=tok.require("mask_id"), special_ids=tok.special_ids,
                random_low=max(tok.special_ids) + 1, vocab_size=tok.vocab_size, mlm_weight=config.bert.mlm_weight,
                nsp_weight=config.bert.nsp_weight,
                word_start_table=tok.word_start_table() if masking.whole_word else None)
  return masked.make_loss(model, **common, train=True), masked.make_loss(model, **common, train=False)


def _bert_init(model, seq_len, decoder_len):
  del decoder_len
  tokens = jnp.ones((1, seq_len), jnp.int32)
  return lambda rng: model.init(rng, tokens, token_types_BxT=jnp.zeros_like(tokens))["params"]


# --- T5: span corruption ----------------------------------------------------------------------------

def _span_layout(config, schema, tok):
  _check_schema(schema, ("text",), "span")
  density, mean = config.span.noise_density, config.span.mean_span_length
  _, targets_length = span_corruption.lengths_for(config.data.seq_len, density, mean)
  transform = transforms.span_corruption(inputs_length=config.data.seq_len, noise_density=density,
                                         mean_span_length=mean, sentinel_ids=tok.sentinel_ids, bos_id=tok.bos_id,
                                         eos_id=tok.eos_id)
  return DataLayout(transform, ("text",), pack=False, seeded=True, decoder_seq_len=targets_length)


def _span_losses(model, config, tok):
  z = config.get("z_loss", 0.0)
  return span.make_loss(model, z_loss=z, train=True), span.make_loss(model, z_loss=z, train=False)


def _encoder_decoder_init(model, seq_len, decoder_len):
  inputs, targets = jnp.ones((1, seq_len), jnp.int32), jnp.ones((1, max(decoder_len, 1)), jnp.int32)
  return lambda rng: model.init(rng, inputs, None, None, targets)["params"]


RECIPES: dict[str, Recipe] = {
    "causal": Recipe(Decoder, _decoder_init, _causal_layout, _causal_losses),
    "bert": Recipe(BertModel, _bert_init, _bert_layout, _bert_losses),
    "span": Recipe(EncoderDecoder, _encoder_decoder_init, _span_layout, _span_losses),
}


def recipe(name: str) -> Recipe:
  if name not in RECIPES:
    raise settings.ConfigError(f"Unknown objective {name!r}; expected one of {sorted(RECIPES)}.")
  return RECIPES[name]
