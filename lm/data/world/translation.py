"""Random English sentences of the translation grammar, paired with their Zx.

Both sides come from one sampled frame: the English is realised here and the Zx is
``translate_to_zx`` of it, so the same English always has the same Zx.
"""

from __future__ import annotations

import random

from lm.data.world.entities import World
from lm.data.world.zx import translate_to_zx
from lm.data.world.zx_lexicon import (ADJECTIVES, INTRANSITIVE_VERBS, NOUNS, NUMERALS,
                                      POSTPOSITIONS, TRANSITIVE_VERBS, plural)

_SUBJECT_PRONOUNS = ("I", "you", "he", "she", "it", "we", "they")
_OBJECT_FORM = {"I": "me", "you": "you", "he": "him", "she": "her", "it": "it", "we": "us",
                "they": "them"}
_TIME = {"past": "yesterday", "future": "tomorrow", "present": ("often", "now", "today")}
_CONJUNCTIONS = ("and", "but", "because")


def _noun_phrase(rng: random.Random, world: World, role: str) -> tuple[list[str], str]:
  """English words of a noun phrase and its person/number ("1sg", "3sg" or "pl")."""
  roll = rng.random()
  if roll < 0.18:
    pronoun = rng.choice(_SUBJECT_PRONOUNS)
    person = "1sg" if pronoun == "I" else "3sg" if pronoun in ("he", "she", "it") else "pl"
    return [pronoun if role == "subject" else _OBJECT_FORM[pronoun]], person
  if roll < 0.3:
    if role == "oblique":
      return [rng.choice(world.cities).name], "3sg"
    person_ = rng.choice(world.people)
    return [person_.first, person_.last] if rng.random() < 0.5 else [person_.first], "3sg"
  noun = rng.choice(NOUNS)
  adjectives = rng.sample(ADJECTIVES, rng.choice((0, 0, 1, 1, 1, 2)))
  if rng.random() < 0.35:
    det = [rng.choice(NUMERALS)] if rng.random() < 0.4 else ["the"]
    return det + adjectives + [plural(noun)], "pl"
  det = "a" if rng.random() < 0.3 else "the"
  first = (adjectives + [noun])[0]
  if det == "a" and first[0] in "aeiou":
    det = "an"
  return [det] + adjectives + [noun], "3sg"


def _verb(lemma: str, tense: str, person: str, negated: bool) -> list[str]:
  third, past = {**TRANSITIVE_VERBS, **INTRANSITIVE_VERBS}[lemma]
  if tense == "future":
    return ["will", "not", lemma] if negated else ["will", lemma]
  if tense == "past":
    return ["did", "not", lemma] if negated else [past]
  if negated:
    return ["does" if person == "3sg" else "do", "not", lemma]
  return [third if person == "3sg" else lemma]


def _copula(tense: str, person: str, negated: bool) -> list[str]:
  if tense == "future":
    return ["will", "not", "be"] if negated else ["will", "be"]
  if tense == "past":
    form = "were" if person == "pl" else "was"
  else:
    form = {"1sg": "am", "3sg": "is", "pl": "are"}[person]
  return [form, "not"] if negated else [form]


def _clause(rng: random.Random, world: World) -> list[str]:
  tense = rng.choice(("present", "past", "future"))
  negated = rng.random() < 0.25
  time = []
  if rng.random() < 0.3:
    choice = _TIME[tense]
    time = [choice if isinstance(choice, str) else rng.choice(choice)]
  subject, person = _noun_phrase(rng, world, "subject")
  kind = rng.choices(("transitive", "intransitive", "adjective", "place"),
                     (0.45, 0.25, 0.15, 0.15))[0]
  if kind in ("adjective", "place"):
    predicate = ([rng.choice(ADJECTIVES)] if kind == "adjective" else
                 [rng.choice(tuple(POSTPOSITIONS))] + _noun_phrase(rng, world, "oblique")[0])
    return time + subject + _copula(tense, person, negated) + predicate
  lemma = rng.choice(tuple(TRANSITIVE_VERBS if kind == "transitive" else INTRANSITIVE_VERBS))
  words = time + subject + _verb(lemma, tense, person, negated)
  if kind == "transitive":
    words += _noun_phrase(rng, world, "object")[0]
  if rng.random() < (0.3 if kind == "transitive" else 0.6):
    words += [rng.choice(tuple(POSTPOSITIONS))] + _noun_phrase(rng, world, "oblique")[0]
  return words


def english_sentence(rng: random.Random, world: World, max_clauses: int = 2) -> str:
  words = _clause(rng, world)
  if max_clauses > 1 and rng.random() < 0.35:
    words += [rng.choice(_CONJUNCTIONS)] + _clause(rng, world)
  words[0] = words[0][:1].upper() + words[0][1:]
  return " ".join(words) + "."


def translation_pair(rng: random.Random, world: World) -> dict[str, str]:
  english = english_sentence(rng, world)
  return {"en": english, "zx": translate_to_zx(english)}
