"""A Hugging Face checkpoint's own tokenizer (`tokenizer.json`, read by the `tokenizers` library) behind the
interface of `lm.data.tokenizer.Tokenizer`, so that every pipeline, objective and sampler takes it as it is.

Special tokens come from the checkpoint: `tokenizer_config.json` names them by role (bos, eos, unk, pad, mask,
cls, sep, T5's `<extra_id_i>` sentinels), `config.json`'s `*_token_id` fill the gaps. A tokenizer without a
padding token pads with its eos (as GPT-2 and Llama fine-tuning usually do: padding is masked by segment ids
anyway). A stage that needs a token the checkpoint lacks says so (`require`).

In a run directory the tokenizer is one file, `hf_tokenizer.json`: the checkpoint's `tokenizer.json` and
`tokenizer_config.json` verbatim plus the resolved special ids, so that export writes the tokenizer back as it came.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
import tokenizers
from absl import logging

from lm.data.tokenizer import sentinel
from lm.interop.hf_files import CheckpointError

FILENAME = "hf_tokenizer.json"  # in a run directory
ROLES = ("pad", "bos", "eos", "unk", "mask", "cls", "sep")
FORMAT = "lm-hf-tokenizer/1"


def _content(token) -> str | None:
  """A special token as tokenizer_config.json writes it: a string, or {"content": ...}."""
  return token.get("content") if isinstance(token, dict) else token


class HFTokenizer:
  """A `tokenizers.Tokenizer` with named special ids. Picklable (grain workers get a copy)."""

  filename = FILENAME

  def __init__(self, bundle: bytes, where: str = "<memory>"):
    self._bundle, self.where = bundle, where
    data = json.loads(bundle)
    if data.get("format") != FORMAT:
      raise ValueError(f"{where}: not an lm Hugging Face tokenizer bundle (format {data.get('format')!r}).")
    self.files: dict[str, str] = data["files"]  # file name -> text, as the checkpoint shipped them
    self._tok = tokenizers.Tokenizer.from_str(self.files["tokenizer.json"])
    special = data["special"]
    for role in ROLES:
      setattr(self, f"{role}_id", special.get(role))
    self.sentinel_ids: list[int] = list(special.get("sentinels", []))

  @classmethod
  def from_checkpoint(cls, directory: str, hf_config: dict | None = None, defaults: dict | None = None) -> "HFTokenizer":
    """The tokenizer saved beside a checkpoint (`tokenizer.json` + `tokenizer_config.json`); `defaults` fill roles
    the tokenizer leaves open (T5's bos is its decoder start token)."""
    path = os.path.join(directory, "tokenizer.json")
    if not os.path.isfile(path):
      spm = [f for f in ("tokenizer.model", "spiece.model") if os.path.isfile(os.path.join(directory, f))]
      hint = (f" It has {spm[0]}: load it with transformers' AutoTokenizer and save_pretrained it again, which "
              "writes tokenizer.json." if spm else "")
      raise CheckpointError(f"{directory}: no tokenizer.json.{hint}")
    files = {}
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
      if os.path.isfile(os.path.join(directory, name)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
          files[name] = f.read()
    try:
      tok = tokenizers.Tokenizer.from_str(files["tokenizer.json"])
    except Exception as e:  # tokenizers raises a plain Exception for a malformed file
      raise CheckpointError(f"{path}: not a tokenizers file ({e}).") from None
    special = _special_ids(tok, files, hf_config or {}, directory)
    for role, token_id in (defaults or {}).items():
      if special.get(role) is None:
        special[role] = token_id
    bundle = json.dumps({"format": FORMAT, "files": files, "special": special}, sort_keys=True).encode()
    return cls(bundle, where=path)

  @classmethod
  def from_file(cls, path: str) -> "HFTokenizer":
    with open(path, "rb") as f:
      return cls(f.read(), where=path)

  def __getstate__(self):
    return {"bundle": self._bundle, "where": self.where}

  def __setstate__(self, state):
    self.__init__(state["bundle"], state["where"])

  @property
  def proto(self) -> bytes:
    """The serialised tokenizer (what `from_file` reads); equal bytes mean the same ids."""
    return self._bundle

  @property
  def vocab_size(self) -> int:
    return self._tok.get_vocab_size(with_added_tokens=True)

  @property
  def special_ids(self) -> frozenset[int]:
    ids = [getattr(self, f"{role}_id") for role in ROLES] + self.sentinel_ids
    return frozenset(i for i in ids if i is not None and i >= 0)

  def require(self, name: str) -> int:
    value = getattr(self, name)
    if value is None or value < 0:
      raise ValueError(f"{self.where}: the checkpoint's tokenizer has no {name.removesuffix('_id')} token, which "
                       "this stage needs.")
    return value

  def encode(self, text: str) -> list[int]:
    return self._tok.encode(text, add_special_tokens=False).ids

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

  def decode(self, ids: Iterable[int]) -> str:
    return self._tok.decode([int(i) for i in ids], skip_special_tokens=True)

  def id_to_piece(self, i: int) -> str:
    return self._tok.id_to_token(int(i)) or ""

  def word_start_table(self) -> np.ndarray:
    """[V] bool: pieces that begin a word (WordPiece: no '##'; byte-level BPE: 'Ġ'; SentencePiece: '▁')."""
    model = json.loads(self.files["tokenizer.json"]).get("model", {}).get("type")
    pieces = [self.id_to_piece(i) for i in range(self.vocab_size)]
    if model == "WordPiece":
      return np.asarray([not p.startswith("##") for p in pieces])
    marker = "\u0120" if any(p.startswith("\u0120") for p in pieces) else "\u2581"
    return np.asarray([p.startswith(marker) for p in pieces])


def _special_ids(tok: tokenizers.Tokenizer, files: dict, hf_config: dict, directory: str) -> dict:
  config = json.loads(files.get("tokenizer_config.json", "{}"))
  config.update({k: v for k, v in json.loads(files.get("special_tokens_map.json", "{}")).items() if k not in config})
  special = {}
  for role in ROLES:
    content = _content(config.get(f"{role}_token"))
    token_id = tok.token_to_id(content) if content else None
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
  while (i := tok.token_to_id(sentinel(len(sentinels)))) is not None:
    sentinels.append(i)
  special["sentinels"] = sentinels
  return special
