"""SentencePiece tokenizer: trained on a sample of the data and cached, or a user's `.model` file.

Special token ids of a tokenizer trained here (documented contract; models and objectives rely on it):

| id      | piece            | use                                          |
|---------|------------------|----------------------------------------------|
| 0       | `<pad>`          | padding; never predicted, never masked       |
| 1       | `<s>`            | beginning of sequence (bos)                  |
| 2       | `</s>`           | end of sequence (eos)                        |
| 3       | `<unk>`          | unknown (rare: byte fallback covers any text) |
| 4       | `[MASK]`         | masked-LM corruption                         |
| 5       | `[CLS]`          | sequence summary for classification / NSP    |
| 6       | `[SEP]`          | segment separator                            |
| 7 + i   | `<extra_id_i>`   | T5 span-corruption sentinel i, i < num_sentinels |

Text round-trips exactly (`decode(encode(s)) == s`): normalisation is the identity, whitespace is
kept as written, and characters outside the vocabulary fall back to bytes.
A user's model keeps its own ids: pad/bos/eos/unk come from the model, the others are looked up by
piece and are `None` when the model lacks them (objectives that need one say so).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence

import numpy as np
import sentencepiece as spm

from lm import distributed

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
MASK, CLS, SEP = "[MASK]", "[CLS]", "[SEP]"


def sentinel(i: int) -> str:
  return f"<extra_id_{i}>"


ROLES = ("pad", "bos", "eos", "unk", "mask", "cls", "sep")  # special tokens by role: `<role>_id` attributes


class SpecialTokens:
  """What every tokenizer behind the pipeline shares (lm's own, and a Hugging Face checkpoint's in `lm.interop`):
  `<role>_id` attributes and `sentinel_ids`, the set objectives never corrupt, a clear error for a missing one,
  and pickling by the serialised form (`proto`, `where`: the constructor's arguments)."""

  where: str
  sentinel_ids: list[int]
  missing = "the tokenizer has no {} token, which this objective needs."  # the error `require` raises

  @property
  def proto(self) -> bytes:
    raise NotImplementedError

  @property
  def vocab_size(self) -> int:
    raise NotImplementedError

  def id_to_piece(self, i: int) -> str:
    raise NotImplementedError

  def __getstate__(self):
    return {"proto": self.proto, "where": self.where}

  def __setstate__(self, state):
    self.__init__(state["proto"], state["where"])  # pylint: disable=unnecessary-dunder-call

  @property
  def special_ids(self) -> frozenset[int]:
    """Ids that objectives never corrupt or predict as ordinary text."""
    ids = [getattr(self, f"{role}_id") for role in ROLES] + list(self.sentinel_ids)
    return frozenset(i for i in ids if i is not None and i >= 0)

  def require(self, name: str) -> int:
    """The id of special token `name` (e.g. 'mask_id'), or a clear error if the model lacks it."""
    value = getattr(self, name)
    if value is None or value < 0:
      raise ValueError(f"{self.where}: " + self.missing.format(name.removesuffix("_id")))
    return value

  def word_start_table(self, marker: str = "\u2581") -> np.ndarray:
    """[V] bool: pieces that begin a word (SentencePiece marks them with a leading '▁')."""
    return np.asarray([self.id_to_piece(i).startswith(marker) for i in range(self.vocab_size)])


class Tokenizer(SpecialTokens):
  """A SentencePiece model with named special ids. Picklable (grain workers get a copy)."""

  filename = "tokenizer.model"  # its file in a run directory

  def __init__(self, model_proto: bytes, where: str = "<memory>"):
    self._proto, self.where = model_proto, where
    self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
    piece = lambda p: (i if (i := self._sp.piece_to_id(p)) != self._sp.unk_id() or p == UNK else None)
    self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self._sp.pad_id(), self._sp.bos_id(), self._sp.eos_id(),
                                                          self._sp.unk_id())
    if self.pad_id < 0:
      raise ValueError(f"{where}: the tokenizer has no padding token; train it with pad_id set (e.g. pad_id=0).")
    self.mask_id, self.cls_id, self.sep_id = piece(MASK), piece(CLS), piece(SEP)
    self.sentinel_ids: list[int] = []
    while (i := piece(sentinel(len(self.sentinel_ids)))) is not None:
      self.sentinel_ids.append(i)

  @classmethod
  def from_file(cls, path: str) -> "Tokenizer":
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{path}: no such SentencePiece model file.")
    with open(path, "rb") as f:
      proto = f.read()
    try:
      return cls(proto, where=path)
    except RuntimeError as e:
      raise ValueError(f"{path}: not a SentencePiece model ({e}).") from None

  @property
  def proto(self) -> bytes:
    """The serialized SentencePiece model (what `from_file` reads)."""
    return self._proto

  @property
  def vocab_size(self) -> int:
    return self._sp.vocab_size()

  def encode(self, text: str) -> list[int]:
    return self._sp.encode(text)

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    return self._sp.encode(list(texts))

  def decode(self, ids: Iterable[int]) -> str:
    return self._sp.decode([int(i) for i in ids])

  def id_to_piece(self, i: int) -> str:
    return self._sp.id_to_piece(int(i))


def train(texts: Iterable[str], *, vocab_size: int, num_sentinels: int = 64, model_type: str = "unigram") -> Tokenizer:
  """Trains a tokenizer with the special-token layout in the module docstring.

  Deterministic: one training thread and the texts in the order given.
  """
  model = io.BytesIO()
  try:
    _train(texts, model, vocab_size, num_sentinels, model_type)
  except RuntimeError as e:
    needed = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(e))
    if needed:
      raise ValueError(f"tokenizer.vocab_size={vocab_size} is too small: the special tokens, {num_sentinels} sentinels, "
                       f"256 byte pieces and the corpus' characters need more than {needed.group(1)}.") from None
    raise
  return Tokenizer(model.getvalue())


def _train(texts, model, vocab_size: int, num_sentinels: int, model_type: str) -> None:
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type=model_type,
      pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece=PAD, bos_piece=BOS, eos_piece=EOS, unk_piece=UNK,
      user_defined_symbols=[MASK, CLS, SEP] + [sentinel(i) for i in range(num_sentinels)],
      # Exact round trips: no normalisation, whitespace as written, bytes for unseen characters.
      normalization_rule_name="identity", remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
      byte_fallback=True, character_coverage=1.0, split_digits=True,
      # A small corpus may not support the requested size; take what it supports rather than fail.
      hard_vocab_limit=False, max_sentence_length=1 << 16, input_sentence_size=0,
      num_threads=1, minloglevel=2)


def cached(key: dict, make_texts, cache_dir: str, **train_kwargs) -> Tokenizer:
  """Trains (or loads) the tokenizer identified by `key` + `train_kwargs` under `cache_dir`.

  The cache path is a digest of everything that determines the model, so a changed vocab size or
  dataset gets a new tokenizer instead of a stale one. Written via a temporary file and `rename`,
  so a crash never leaves a truncated model behind.
  """
  spec = json.dumps({**key, **train_kwargs, "sentencepiece": spm.__version__}, sort_keys=True, default=str)
  digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
  directory = os.path.join(cache_dir, "tokenizers", digest)
  path = os.path.join(directory, "spm.model")
  if os.path.isfile(path):
    return Tokenizer.from_file(path)
  with distributed.file_lock(directory + ".lock"):  # one trainer among the processes and runs sharing the cache
    if not os.path.isfile(path):
      tokenizer = train(make_texts(), **train_kwargs)
      os.makedirs(directory, exist_ok=True)
      with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as f:
        f.write(tokenizer._proto)  # pylint: disable=protected-access
      os.replace(f.name, path)
      with open(os.path.join(directory, "spec.json"), "w") as f:
        f.write(spec)
  return Tokenizer.from_file(path)
