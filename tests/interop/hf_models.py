"""Tiny randomly initialised `transformers` checkpoints with their tokenizers, saved to a directory (no downloads).

Each family's tokenizer is trained here with the `tokenizers` library on a few world-like sentences, in the
family's own style (GPT-2's byte-level BPE, Llama's byte-fallback BPE, BERT's WordPiece, T5's unigram with
`<extra_id_i>` sentinels), and saved by the matching `transformers` fast tokenizer class.
"""

from __future__ import annotations

import os

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

TEXTS = [
    "Ada was born in Varn. She lives in Oskel and works in Tirra.",
    "The cat sat on the mat; the dog did not. 1 2 3 4 5 6 7.",
    "Write a short note about Brin. Brin likes bread, water and quiet mornings.",
    "Good: the film was great! Bad: the plot was dull, the acting worse.",
] * 20


def _byte_bpe(vocab: int, special: list[str], texts) -> Tokenizer:
  tok = Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = decoders.ByteLevel()
  tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab, special_tokens=special,
                                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  return tok


def gpt2_tokenizer(texts=TEXTS, vocab: int = 320):
  tok = _byte_bpe(vocab, ["<|endoftext|>"], texts)
  return transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                        unk_token="<|endoftext|>")


def llama_tokenizer(texts=TEXTS, vocab: int = 320):
  tok = _byte_bpe(vocab, ["<unk>", "<s>", "</s>"], texts)
  return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                              unk_token="<unk>")


def bert_tokenizer(texts=TEXTS, vocab: int = 200):
  tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
  tok.normalizer = normalizers.BertNormalizer(lowercase=True)
  tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
  tok.decoder = decoders.WordPiece()
  tok.train_from_iterator(texts, trainers.WordPieceTrainer(
      vocab_size=vocab, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
  return transformers.BertTokenizerFast(tokenizer_object=tok)


def t5_tokenizer(texts=TEXTS, vocab: int = 200, extra_ids: int = 8):
  tok = Tokenizer(models.Unigram())
  tok.pre_tokenizer = pre_tokenizers.Metaspace()
  tok.decoder = decoders.Metaspace()
  tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=vocab, special_tokens=["<pad>", "</s>", "<unk>"],
                                                         unk_token="<unk>"))
  sentinels = [f"<extra_id_{i}>" for i in range(extra_ids)]
  return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                              unk_token="<unk>", additional_special_tokens=sentinels)


def save(model, tokenizer, directory: str) -> str:
  os.makedirs(directory, exist_ok=True)
  model.save_pretrained(directory)
  tokenizer.save_pretrained(directory)
  return directory


def build(family: str, directory: str, *, seed: int = 0, texts=None, vocab: int | None = None, **overrides):
  """A random `family` model ("gpt2", "llama", "qwen2", "bert", "t5") saved with its tokenizer; returns (model, tokenizer).

  The tokenizer is trained on `texts` (default: a few sentences) with `vocab` pieces; `overrides` change the config.
  """
  torch.manual_seed(seed)
  tok_args = {k: v for k, v in (("texts", texts), ("vocab", vocab)) if v is not None}
  if family == "gpt2":
    tokenizer = gpt2_tokenizer(**tok_args)
    config = transformers.GPT2Config(**{**dict(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2,
                                                n_head=4, bos_token_id=tokenizer.bos_token_id,
                                                eos_token_id=tokenizer.eos_token_id), **overrides})
    model = transformers.GPT2LMHeadModel(config)
  elif family in ("llama", "qwen2"):
    tokenizer = llama_tokenizer(**tok_args)
    common = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
                  bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    common.update(overrides)
    if family == "llama":
      model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common))
    else:
      model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common))
  elif family == "bert":
    tokenizer = bert_tokenizer(**tok_args)
    config = transformers.BertConfig(**{**dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                                num_attention_heads=4, intermediate_size=48, max_position_embeddings=64,
                                                pad_token_id=tokenizer.pad_token_id), **overrides})
    model = transformers.BertForPreTraining(config)
  elif family == "t5":
    tokenizer = t5_tokenizer(**tok_args)
    config = transformers.T5Config(**{**dict(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=48, num_layers=2,
                                              num_heads=4, relative_attention_num_buckets=8,
                                              relative_attention_max_distance=20, pad_token_id=tokenizer.pad_token_id,
                                              eos_token_id=tokenizer.eos_token_id,
                                              decoder_start_token_id=tokenizer.pad_token_id), **overrides})
    model = transformers.T5ForConditionalGeneration(config)
  else:
    raise ValueError(family)
  _randomise_norms(model)
  model.eval()
  save(model, tokenizer, directory)
  return model, tokenizer


def _randomise_norms(model) -> None:
  """Norm weights and biases start at 1 and 0; perturb them (and every bias) so a mix-up cannot hide."""
  with torch.no_grad():
    for name, p in model.named_parameters():
      if p.ndim == 1:
        p.add_(0.1 * torch.randn_like(p))
