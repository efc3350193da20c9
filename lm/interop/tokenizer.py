"""A Hugging Face checkpoint's own tokenizer behind the interface of `lm.data.tokenizer.Tokenizer`, so that every
pipeline, objective and sampler takes it as it is.

The checkpoint's `tokenizer.json` is read by the `tokenizers` library (GPT-2's byte-level BPE, Llama's BPE, BERT's
WordPiece, T5's unigram); a checkpoint that ships only a SentencePiece model (`tokenizer.model` or `spiece.model`,
as older Llama and T5 directories do) is read by `sentencepiece`, with T5's `<extra_id_i>` sentinels appended after
its pieces as transformers' T5 tokenizer does (`extra_ids` in tokenizer_config.json, default 100 for T5).

Special tokens come from the checkpoint: `tokenizer_config.json` (and `special_tokens_map.json`) name them by role
(bos, eos, unk, pad, mask, cls, sep), `config.json`'s `*_token_id` fill the gaps, a family may add defaults (T5's
bos is its decoder start token). A tokenizer without a padding token pads with its eos (as GPT-2 and Llama
fine-tuning usually do: padding is masked by segment ids anyway). A stage that needs a token the checkpoint lacks
says so (`require`).

In a run directory the tokenizer is one file, `hf_tokenizer.json`: the checkpoint's tokenizer files verbatim
(binary ones base64-encoded) plus the resolved special ids, so that export writes the tokenizer back as it came.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
import sentencepiece as spm
import tokenizers
from absl import logging

from lm.data.tokenizer import ROLES, SpecialTokens, sentinel
from lm.interop.hf_files import CheckpointError

FILENAME = "hf_tokenizer.json"  # in a run directory
FORMAT = "lm-hf-tokenizer/1"
TEXT_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SENTENCEPIECE_FILES = ("tokenizer.model", "spiece.model")


def _content(token) -> str | None:
  """A special token as tokenizer_config.json writes it: a string, or {"content": ...}."""
  return token.get("content") if isinstance(token, dict) else token


class _TokenizersBackend:
  def __init__(self, tokenizer_json: str):
    self.tok = tokenizers.Tokenizer.from_str(tokenizer_json)
    self.model_type = json.loads(tokenizer_json).get("model", {}).get("type")

  def encode(self, texts):
    return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

  def decode(self, ids):
    return self.tok.decode(ids, skip_special_tokens=True)

  def vocab_size(self):
    return self.tok.get_vocab_size(with_added_tokens=True)

  def id_to_token(self, i):
    return self.tok.id_to_token(i) or ""

  def token_to_id(self, token):
    return self.tok.token_to_id(token)


class _SentencePieceBackend:
  """A SentencePiece model plus `extra_ids` tokens after its pieces (T5: `<extra_id_0>` is the last id)."""

  def __init__(self, proto: bytes, extra_ids: int):
    self.sp = spm.SentencePieceProcessor(model_proto=proto)
    self.pieces, self.extra_ids, self.model_type = self.sp.get_piece_size(), extra_ids, "SentencePiece"

  def encode(self, texts):
    return self.sp.encode(list(texts))

  def decode(self, ids):
    return self.sp.decode([i for i in ids if i < self.pieces])

  def vocab_size(self):
    return self.pieces + self.extra_ids

  def id_to_token(self, i):
    return self.sp.id_to_piece(i) if i < self.pieces else sentinel(self.vocab_size() - 1 - i)

  def token_to_id(self, token):
    if token.startswith("<extra_id_") and token.endswith(">") and token[10:-1].isdigit():
      i = int(token[10:-1])
      return self.vocab_size() - 1 - i if i < self.extra_ids else None
    i = self.sp.piece_to_id(token)
    return None if i == self.sp.unk_id() and token != self.sp.id_to_piece(i) else i


class HFTokenizer(SpecialTokens):
  """A checkpoint's tokenizer with named special ids. Picklable (grain workers get a copy)."""

  filename = FILENAME
  missing = "the checkpoint's tokenizer has no {} token, which this stage needs."

  def __init__(self, bundle: bytes, where: str = "<memory>"):
    self._bundle, self.where = bundle, where  # the bundle is this tokenizer's `proto`
    data = json.loads(bundle)
    if data.get("format") != FORMAT:
      raise ValueError(f"{where}: not an lm Hugging Face tokenizer bundle (format {data.get('format')!r}).")
    self.files: dict[str, str] = data["files"]  # file name -> text (binary files: base64), as the checkpoint had them
    self._backend = _backend(self.files, data.get("extra_ids", 0))
    special = data["special"]
    for role in ROLES:
      setattr(self, f"{role}_id", special.get(role))
    self.sentinel_ids: list[int] = list(special.get("sentinels", []))

  @classmethod
  def from_checkpoint(cls, directory: str, hf_config: dict | None = None, defaults: dict | None = None) -> "HFTokenizer":
    """The tokenizer saved beside a checkpoint; `defaults` fill roles it leaves open (T5's bos: the decoder start)."""
    files = {}
    for name in TEXT_FILES:
      if os.path.isfile(os.path.join(directory, name)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
          files[name] = f.read()
    if "tokenizer.json" not in files:
      for name in SENTENCEPIECE_FILES:
        if os.path.isfile(os.path.join(directory, name)):
          with open(os.path.join(directory, name), "rb") as f:
            files[name] = base64.b64encode(f.read()).decode("ascii")
          break
      else:
        raise CheckpointError(f"{directory}: no tokenizer.json (nor a SentencePiece tokenizer.model or spiece.model).")
    config = json.loads(files.get("tokenizer_config.json", "{}"))
    extra_ids = 0
    if "tokenizer.json" not in files and (hf_config or {}).get("model_type") == "t5":
      extra_ids = int(config.get("extra_ids", 100))
    where = os.path.join(directory, "tokenizer.json" if "tokenizer.json" in files else next(
        n for n in SENTENCEPIECE_FILES if n in files))
    try:
      backend = _backend(files, extra_ids)
    except Exception as e:  # tokenizers and sentencepiece raise plain errors for a malformed file
      raise CheckpointError(f"{where}: not a readable tokenizer ({e}).") from None
    special = _special_ids(backend, files, hf_config or {}, directory)
    for role, token_id in (defaults or {}).items():
      if special.get(role) is None:
        special[role] = token_id
    bundle = json.dumps({"format": FORMAT, "files": files, "special": special, "extra_ids": extra_ids},
                        sort_keys=True).encode()
    return cls(bundle, where=where)

  @classmethod
  def from_file(cls, path: str) -> "HFTokenizer":
    with open(path, "rb") as f:
      return cls(f.read(), where=path)

  @property
  def proto(self) -> bytes:
    """The serialised tokenizer (what `from_file` reads); equal bytes mean the same ids."""
    return self._bundle

  def checkpoint_files(self) -> dict[str, bytes]:
    """The tokenizer files as the checkpoint had them (for export)."""
    return {name: base64.b64decode(text) if name in SENTENCEPIECE_FILES else text.encode("utf-8")
            for name, text in self.files.items()}

  @property
  def vocab_size(self) -> int:
    return self._backend.vocab_size()

  def encode(self, text: str) -> list[int]:
    return self._backend.encode([text])[0]

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    return self._backend.encode(texts)

  def decode(self, ids: Iterable[int]) -> str:
    return self._backend.decode([int(i) for i in ids])

  def id_to_piece(self, i: int) -> str:
    return self._backend.id_to_token(int(i))

  def word_start_table(self, marker: str = "") -> np.ndarray:
    """[V] bool: pieces that begin a word (WordPiece: no '##'; byte-level BPE: 'Ġ'; SentencePiece: '▁')."""
    if self._backend.model_type == "WordPiece":
      return ~super().word_start_table("##")
    byte_level = any(self.id_to_piece(i).startswith("\u0120") for i in range(self.vocab_size))
    return super().word_start_table(marker or ("\u0120" if byte_level else "\u2581"))


def _backend(files: dict, extra_ids: int):
  if "tokenizer.json" in files:
    return _TokenizersBackend(files["tokenizer.json"])
  name = next(n for n in SENTENCEPIECE_FILES if n in files)
  return _SentencePieceBackend(base64.b64decode(files[name]), extra_ids)


def _special_ids(backend, files: dict, hf_config: dict, directory: str) -> dict:
  config = json.loads(files.get("tokenizer_config.json", "{}"))
  config.update({k: v for k, v in json.loads(files.get("special_tokens_map.json", "{}")).items() if k not in config})
  special = {}
  for role in ROLES:
    content = _content(config.get(f"{role}_token"))
    token_id = backend.token_to_id(content) if content else None
    if token_id is None and isinstance(hf_config.get(f"{role}_token_id"), int):
      token_id = hf_config[f"{role}_token_id"]
    special[role] = token_id
  if special["pad"] is None:
    if special["eos"] is None:
      raise CheckpointError(f"{directory}: the tokenizer has neither a padding nor an end-of-sequence token.")
    logging.info("%s: no padding token; padding with eos (id %d), which segment ids mask anyway.", directory,
                 special["eos"])
    special["pad"] = special["eos"]
  sentinels = []
  while (i := backend.token_to_id(sentinel(len(sentinels)))) is not None:
    sentinels.append(i)
  special["sentinels"] = sentinels
  return special
