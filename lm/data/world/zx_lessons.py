"""Zx lessons: pages of world text that teach the language (word lists, grammar notes, example translations).

Real pretraining corpora carry incidental bilingual text (dictionaries, phrase books, language-course pages), and that
is where a pretrained model's translation ability starts. With `WorldConfig.zx_lessons > 0` that share of the
`text` view's documents are lessons like

    Zx lesson: animals and people
    dog - kotal
    farmers - rasiri
    big - tumo
    The plural adds the ending ri: kotal means dog, kotalri means dogs.
    Example: The big dog sleeps. In Zx: Tumo kotal sasen.

so a model pretrained on them has seen the lexicon and the grammar before it sees any labelled pair. Example
sentences come from the translation grammar with the split's own world (names included), drawn from the lesson's
own random stream; a lesson never copies a record of the `translation` view.
"""

from __future__ import annotations

import random

from lm.data.world.entities import World
from lm.data.world.layout import Document
from lm.data.world.tokens import Tagged, tokenize
from lm.data.world.translation import english_sentence
from lm.data.world.zx import translate_to_zx
from lm.data.world.zx_lexicon import (ADJECTIVES, INTRANSITIVE_VERBS, NEGATION, NOUNS, NUMERALS, OBJECT, PLURAL,
                                      STEMS, TENSES, TIME_WORDS, TRANSITIVE_VERBS, plural)

TOPICS = {"nouns": "things and people", "verbs": "verbs", "adjectives": "describing words",
          "mixed": "useful words"}
NOTES = (
    ("The plural adds the ending {m}: {stem} means {noun}, {stem}{m} means {plural}.", "noun"),
    ("A direct object takes the ending {m}: {stem}{m} is {noun} as an object.", "noun"),
    ("The past tense ends in {m}: {stem}{m} means {past}.", "past"),
    ("The future tense ends in {m}: {stem}{m} means will {verb}.", "future"),
    ("The present tense ends in {m}: {stem}{m} means {third}.", "present"),
    ("Negation puts {m} before the verb: {m}{stem}en means does not {verb}.", "negation"),
)
_VERBS = {**TRANSITIVE_VERBS, **INTRANSITIVE_VERBS}


def _entry(rng: random.Random, kind: str) -> tuple[str, str]:
  if kind == "nouns":
    noun = rng.choice(NOUNS)
    return (plural(noun), STEMS[noun] + PLURAL) if rng.random() < 0.3 else (noun, STEMS[noun])
  if kind == "verbs":
    verb = rng.choice(tuple(_VERBS))
    third, past = _VERBS[verb]
    return rng.choice(((verb, STEMS[verb] + TENSES["present"]), (past, STEMS[verb] + TENSES["past"]),
                       (third, STEMS[verb] + TENSES["present"])))
  word = rng.choice(ADJECTIVES + NUMERALS + tuple(TIME_WORDS))
  return word, STEMS[word]


def _note(rng: random.Random) -> str:
  template, kind = rng.choice(NOTES)
  if kind == "noun":
    noun = rng.choice(NOUNS)
    slots = {"stem": STEMS[noun], "noun": noun, "plural": plural(noun)}
  else:
    verb = rng.choice(tuple(_VERBS))
    slots = {"stem": STEMS[verb], "verb": verb, "third": _VERBS[verb][0], "past": _VERBS[verb][1]}
  morpheme = {"noun": PLURAL if "plural" in template else OBJECT, "past": TENSES["past"],
              "future": TENSES["future"], "present": TENSES["present"], "negation": NEGATION}[kind]
  return template.format(m=morpheme, **slots)


def _line(text: str) -> list[Tagged]:
  return [[(token, "O") for token in tokenize(text)]]


def lesson(rng: random.Random, world: World) -> Document:
  """One lesson page: a title, 6-12 vocabulary entries, 1-2 grammar notes and 1-3 example translations."""
  kind = rng.choice(tuple(TOPICS))
  lines = [_line(f"Zx lesson: {TOPICS[kind]}")]
  entries = dict(_entry(rng, rng.choice(("nouns", "verbs", "adjectives")) if kind == "mixed" else kind)
                 for _ in range(rng.randint(6, 12)))
  lines += [_line(f"{english} - {zx}") for english, zx in entries.items()]
  lines += [_line(_note(rng)) for _ in range(rng.randint(1, 2))]
  for _ in range(rng.randint(1, 3)):
    english = english_sentence(rng, world, max_clauses=1)
    lines.append(_line(f"Example: {english} In Zx: {translate_to_zx(english)}"))
  return Document("zx_lesson", lines)
