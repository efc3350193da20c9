"""Tagged tokens: the one representation every world sentence is built in.

A sentence is a list of ``(token, conll_tag)`` pairs, so the text views, the NER
view and the sentence-pair view all come from the same object and can never
disagree. Templates are plain strings with ``{slot}`` placeholders; a literal word
written ``^lives`` agrees in number with the sentence subject (``they live``).
"""

from __future__ import annotations

import functools
import re
from typing import Mapping, NamedTuple, Sequence, Union

Tagged = list[tuple[str, str]]  # [(token, conll tag)]

# Words, numbers and hyphen/apostrophe compounds stay whole; any other
# non-space character (punctuation) is its own token.
_TOKEN_RE = re.compile(r"\^?[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|\S")
_SLOT_RE = re.compile(r"\{(\w+)\}")
_NO_SPACE_BEFORE = frozenset({".", ",", "!", "?", ":", ";", ")"})
_NO_SPACE_AFTER = frozenset({"("})

# Third-person singular -> plural verb forms for subjects referred to as "they".
PLURAL_VERBS = {
    "is": "are", "was": "were", "has": "have", "does": "do", "lives": "live",
    "works": "work", "likes": "like", "enjoys": "enjoy", "dislikes": "dislike",
    "loves": "love", "hates": "hate", "speaks": "speak", "makes": "make",
    "earns": "earn", "says": "say", "thinks": "think", "visits": "visit",
    "spends": "spend", "prefers": "prefer", "admires": "admire", "owns": "own",
    "teaches": "teach", "plays": "play", "writes": "write", "recommends": "recommend",
    "remembers": "remember", "misses": "miss", "avoids": "avoid", "calls": "call",
    "comes": "come", "knows": "know", "uses": "use", "finds": "find",
}


class Name(NamedTuple):
  """An entity mention: its tokens and its CoNLL type (PER, ORG, LOC or MISC)."""

  tokens: tuple[str, ...]
  kind: str

  @property
  def text(self) -> str:
    return " ".join(self.tokens)


Slot = Union[str, Name, Tagged]


def tokenize(text: str) -> list[str]:
  """Whitespace tokenisation with punctuation split off (CoNLL style)."""
  return [t for t in _TOKEN_RE.findall(text) if t != "^"]


def detokenize(tokens: Sequence[str]) -> str:
  """Inverse of ``tokenize`` for world text: ``tokenize(detokenize(t)) == t``."""
  out: list[str] = []
  prev = ""
  for tok in tokens:
    if out and tok not in _NO_SPACE_BEFORE and prev not in _NO_SPACE_AFTER:
      out.append(" ")
    out.append(tok)
    prev = tok
  return "".join(out)


def words(sentence: Tagged) -> list[str]:
  return [tok for tok, _ in sentence]


def render(sentence: Tagged) -> str:
  return detokenize([tok for tok, _ in sentence])


def name_tags(name: Name) -> Tagged:
  return [(tok, ("B-" if i == 0 else "I-") + name.kind) for i, tok in enumerate(name.tokens)]


@functools.lru_cache(maxsize=None)
def _parts(template: str) -> tuple[tuple[bool, str], ...]:
  parts: list[tuple[bool, str]] = []
  for i, piece in enumerate(_SLOT_RE.split(template)):
    if i % 2:
      parts.append((True, piece))
    else:
      parts.extend((False, tok) for tok in _TOKEN_RE.findall(piece))
  return tuple(parts)


def template_words(template: str) -> list[str]:
  """The literal words of a template (slots dropped, agreement marks removed)."""
  return [tok.lstrip("^") for is_slot, tok in _parts(template) if not is_slot]


def fill(template: str, slots: Mapping[str, Slot], plural: bool = False) -> Tagged:
  """Realises ``template``; the first token is capitalised.

  ``plural`` says the subject is referred to as "they", so ``^verb`` words take
  their plural form.
  """
  out: Tagged = []
  for is_slot, tok in _parts(template):
    if is_slot:
      value = slots[tok]
      if isinstance(value, Name):
        out.extend(name_tags(value))
      elif isinstance(value, str):
        out.extend((t, "O") for t in tokenize(value))
      else:
        out.extend(value)
    elif tok[0] == "^":
      verb = tok[1:]
      out.append((PLURAL_VERBS.get(verb, verb) if plural else verb, "O"))
    else:
      out.append((tok, "O"))
  return capitalize(out)


def capitalize(sentence: Tagged) -> Tagged:
  if sentence and sentence[0][1] == "O":
    tok = sentence[0][0]
    sentence[0] = (tok[:1].upper() + tok[1:], "O")
  return sentence


def lower_first(sentence: Tagged) -> Tagged:
  """Undoes sentence-initial capitalisation (for prefixing a connective)."""
  if sentence and sentence[0][1] == "O" and sentence[0][0] != "I":
    tok = sentence[0][0]
    sentence = [(tok[:1].lower() + tok[1:], "O")] + sentence[1:]
  return sentence


def prefix(words_: str, sentence: Tagged) -> Tagged:
  """``prefix("Later,", "He moved.")`` -> ``Later, he moved.``"""
  return capitalize([(t, "O") for t in tokenize(words_)] + lower_first(sentence))


def article(word: str) -> str:
  return "an" if word[:1].lower() in "aeiou" else "a"
