"""Documents of several genres about one split's world.

A document is lines of tagged sentences (``layout.Document``); ``text()`` joins
sentences with spaces and lines with "\\n" (dialogue turns, list items, glossary
entries and paragraphs).
"""

from __future__ import annotations

import random

from lm.data.world.entities import World
from lm.data.world.layout import Document
from lm.data.world.pages import city_guide, glossary, list_page
from lm.data.world.prose import biography, dialogue, news, review_document

GENRES = {biography: 0.28, news: 0.14, review_document: 0.12, dialogue: 0.14,
          list_page: 0.10, glossary: 0.10, city_guide: 0.12}
_GENRE_FNS, _GENRE_WEIGHTS = tuple(GENRES), tuple(GENRES.values())


_SECTIONED = frozenset({"biography", "news", "review", "city_guide"})


def document(rng: random.Random, world: World) -> Document:
  """A document of a random genre; short prose genres get extra sections (a news
  digest, a page of biographies) until they reach a sampled length of 60-300 words."""
  genre = rng.choices(_GENRE_FNS, _GENRE_WEIGHTS)[0]
  doc = genre(rng, world)
  if doc.genre in _SECTIONED:
    target = rng.randint(60, 240)
    length = sum(len(s) for s in doc.sentences())
    while length < target:
      extra = genre(rng, world)
      doc.lines += extra.lines
      length += sum(len(s) for s in extra.sentences())
  return doc
