"""NER records and the form-based tagger that recovers entities from text alone.

``tag_by_form`` relies on the spelling conventions of ``names``: any capitalised
word outside ``vocab.known_words()`` is part of a name; a name followed by an
organisation suffix is ORG, by a model number MISC (product); a lone word with a
city or country ending is LOC, with a nationality ending MISC; anything else is
PER; a city prefix word (Port, Saint, ...) before a LOC word joins it. On world
text it reproduces the generator's tags exactly (tested), which is what lets
``gold_score`` judge entity answers without the world's tables.
"""

from __future__ import annotations

from typing import Sequence

from lm.data.world.config import NER_TAGS
from lm.data.world.names import (CITY_PREFIXES, CITY_SUFFIXES, COUNTRY_SUFFIXES,
                                 NATIONALITY_SUFFIXES, ORG_SUFFIXES)
from lm.data.world.tokens import Tagged
from lm.data.world.vocab import known_words

TAG_IDS = {tag: i for i, tag in enumerate(NER_TAGS)}
_LOC_ENDINGS = CITY_SUFFIXES + tuple(COUNTRY_SUFFIXES)


def ner_record(sentence: Tagged) -> dict[str, list]:
  return {"tokens": [tok for tok, _ in sentence],
          "ner_tags": [TAG_IDS[tag] for _, tag in sentence]}


def is_name_word(token: str) -> bool:
  return (token[:1].isupper() and token.isalpha()
          and token.lower() not in known_words())


def tag_by_form(tokens: Sequence[str]) -> list[str]:
  """CoNLL tags for ``tokens`` from the spelling of names alone."""
  tags = ["O"] * len(tokens)
  i = 0
  while i < len(tokens):
    if not is_name_word(tokens[i]):
      i += 1
      continue
    j = i
    while j < len(tokens) and is_name_word(tokens[j]):
      j += 1
    kind, end = "PER", j
    suffix = next((s for s in ORG_SUFFIXES if tuple(tokens[j:j + len(s)]) == s), None)
    if suffix is not None:
      kind, end = "ORG", j + len(suffix)
    elif j < len(tokens) and tokens[j].isdigit() and len(tokens[j]) <= 2:
      kind, end = "MISC", j + 1
    elif j - i == 1:
      low = tokens[i].lower()
      if low.endswith(_LOC_ENDINGS):
        kind = "LOC"
        if i and tokens[i - 1] in CITY_PREFIXES:
          i -= 1  # "Port Kelmarvik"
      elif low.endswith(NATIONALITY_SUFFIXES):
        kind = "MISC"
    tags[i] = "B-" + kind
    for k in range(i + 1, end):
      tags[k] = "I-" + kind
    i = end
  return tags


def entities_by_form(tokens: Sequence[str]) -> list[tuple[str, str]]:
  """[(entity text, type)] in order of appearance, from ``tag_by_form``."""
  out: list[tuple[str, str]] = []
  for tok, tag in zip(tokens, tag_by_form(tokens)):
    if tag.startswith("B-"):
      out.append((tok, tag[2:]))
    elif tag.startswith("I-"):
      out[-1] = (out[-1][0] + " " + tok, out[-1][1])
  return out
