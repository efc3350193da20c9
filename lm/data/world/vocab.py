"""Every English word the world's templates and word lists can emit.

A capitalised token outside this set is a name (see ``ner.tag_by_form``), and the
name generator never produces a word inside it. The set is collected from the
UPPER_CASE constants of the modules that hold templates, so adding a template
extends it automatically.
"""

from __future__ import annotations

import functools
import types

from lm.data.world.tokens import PLURAL_VERBS, template_words


def _strings(value: object):
  if isinstance(value, str):
    yield value
  elif isinstance(value, dict):
    for k, v in value.items():
      yield from _strings(k)
      yield from _strings(v)
  elif isinstance(value, (tuple, list, set, frozenset)):
    for v in value:
      yield from _strings(v)


def _modules() -> list[types.ModuleType]:
  # The words names must avoid. A module added here changes every name of the world (NameMaker's forbidden set):
  # later modules (quiz, recap, rollcall) stay out so that worlds prepared before them keep their entities.
  from lm.data.world import (english, entities, fewshot, gold, instructions, names, pages,
                             preferences, prose, sentiment, zx_lexicon)
  return [english, entities, fewshot, gold, instructions, names, pages, preferences, prose,
          sentiment, zx_lexicon]


@functools.lru_cache(maxsize=None)
def known_words() -> frozenset[str]:
  """Lower-cased words of every template and word list."""
  found = set(PLURAL_VERBS) | set(PLURAL_VERBS.values())
  for module in _modules():
    for attr, value in vars(module).items():
      if attr.isupper() and not attr.startswith("_"):
        for text in _strings(value):
          found.update(w.lower() for w in template_words(text) if w.isalpha())
  return frozenset(found)
