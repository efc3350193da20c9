"""Zx lessons in world/text (WorldConfig.zx_lessons): their share, and that what they teach is the language."""

import re

import pytest

from lm.data.world import WorldConfig, translate_to_zx
from lm.data.world.zx_lexicon import (ADJECTIVES, INTRANSITIVE_VERBS, NOUNS, NUMERALS, PLURAL, STEMS, TENSES,
                                      TIME_WORDS, TRANSITIVE_VERBS, plural)

CONFIG = WorldConfig(scale=0.02)


def test_off_by_default_and_a_set_share_of_documents_when_on(texts):
  assert not any(t.startswith("Zx lesson") for t in texts(CONFIG))
  share = sum(t.startswith("Zx lesson") for t in texts(WorldConfig(scale=0.02, zx_lessons=0.3))) / 300
  assert 0.22 < share < 0.38
  with pytest.raises(ValueError, match="zx_lessons"):
    WorldConfig(zx_lessons=1.5)


def _glossary() -> set[tuple[str, str]]:
  """Every (English form, Zx form) pair a lesson's vocabulary may list, built from the lexicon."""
  pairs = {(n, STEMS[n]) for n in NOUNS} | {(plural(n), STEMS[n] + PLURAL) for n in NOUNS}
  for verb, (third, past) in {**TRANSITIVE_VERBS, **INTRANSITIVE_VERBS}.items():
    pairs |= {(verb, STEMS[verb] + TENSES["present"]), (third, STEMS[verb] + TENSES["present"]),
              (past, STEMS[verb] + TENSES["past"])}
  return pairs | {(w, STEMS[w]) for w in ADJECTIVES + NUMERALS + tuple(TIME_WORDS)}


def test_vocabulary_and_examples_agree_with_the_translator(texts):
  lessons = [t for t in texts(WorldConfig(scale=0.02, zx_lessons=0.5)) if t.startswith("Zx lesson")]
  glossary = _glossary()
  entries = examples = 0
  for text in lessons:
    for line in text.split("\n")[1:]:
      if m := re.fullmatch(r"([a-z]+) - ([a-z]+)", line):
        assert m.groups() in glossary, line
        entries += 1
      elif m := re.fullmatch(r"Example: (.*) In Zx: (.*)", line):
        assert translate_to_zx(m.group(1)) == m.group(2), line
        examples += 1
  assert entries > 5 * len(lessons) and examples >= len(lessons) > 100
