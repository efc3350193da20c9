"""Pronounceable ASCII names whose *form* tells their kind.

Cities end in a city suffix (Kelmarvik), countries in a country suffix (Veloria,
Tarland), nationalities/languages in the matching adjective ending (Velorian),
organisations end in a suffix word (Zorvak Labs, Brimo Chess Club) and products
carry a model number (Quorix 5). People are "First Last". Real names work like
this too (-ton, -burg, Ltd), it makes entity types learnable from spelling, and
it lets ``ner.tag_by_form`` recover every entity without the world's tables.

Every generated word is unique across the whole seed (all kinds, all splits), so
the train, validation and test entity pools never share a name token.
"""

from __future__ import annotations

import random
from typing import Callable

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "dr", "kr", "tr", "st", "th", "sh", "gr", "fl", "j", "h", "w")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ei", "ou")
_CODAS = ("", "", "", "", "n", "r", "l", "s", "m", "k", "nd", "rt", "x")

CITY_SUFFIXES = ("vik", "burg", "ton", "dale", "mora", "stad", "holm", "ford",
                 "wick", "gard", "port", "haven")
# Capitalised words that may open a two-word city name ("Port Kelmarvik").
CITY_PREFIXES = ("Upper", "Lower", "Port", "Saint", "Fort")
# country ending -> nationality / language ending
COUNTRY_SUFFIXES = {"ia": "ian", "land": "landic", "esh": "eshi"}
NATIONALITY_SUFFIXES = tuple(COUNTRY_SUFFIXES.values())

COMPANY_SUFFIXES = {
    "electronics": ("Systems", "Labs", "Electronics", "Technologies"),
    "home": ("Works", "Home", "Designs"),
    "outdoor": ("Outdoors", "Gear"),
    "music": ("Instruments", "Audio"),
    "general": ("Ltd", "Group", "Industries", "Company"),
}
UNIVERSITY_SUFFIXES = ("University", "Institute", "College")
CLUB_SPORTS = ("Chess", "Football", "Rowing", "Tennis", "Hiking", "Cycling")
# Every token sequence that ends an organisation name (longest first).
ORG_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(
    sorted({(s,) for group in COMPANY_SUFFIXES.values() for s in group}
           | {(s,) for s in UNIVERSITY_SUFFIXES}
           | {(sport, "Club") for sport in CLUB_SPORTS},
           key=lambda s: (-len(s), s)))

_RESERVED_ENDINGS = CITY_SUFFIXES + tuple(COUNTRY_SUFFIXES) + NATIONALITY_SUFFIXES


def _syllable(rng: random.Random, coda: bool) -> str:
  return rng.choice(_ONSETS) + rng.choice(_VOWELS) + (rng.choice(_CODAS) if coda else "")


def _stem(rng: random.Random, syllables: int) -> str:
  return "".join(_syllable(rng, i == syllables - 1 or rng.random() < 0.25)
                 for i in range(syllables))


class NameMaker:
  """Draws names that are unique (case-insensitively) across everything it made."""

  def __init__(self, rng: random.Random, forbidden: frozenset[str]):
    self._rng = rng
    self._used: set[str] = set(forbidden)

  def _unique(self, make: Callable[[], str], plain: bool = True) -> str:
    for _ in range(1000):
      word = make()
      low = word.lower()
      if (3 <= len(word) <= 12 and low not in self._used
              and (not plain or not low.endswith(_RESERVED_ENDINGS))):
        self._used.add(low)
        return word[:1].upper() + word[1:]
    raise RuntimeError("name space exhausted; lower the entity counts")

  def first_name(self, gender: str) -> str:
    def make() -> str:
      word = _stem(self._rng, self._rng.choice((1, 2, 2, 2)))
      if gender == "f" and word[-1] not in "aei":
        word += self._rng.choice(("a", "a", "e", "i", "ella", "ine"))
      elif gender == "m" and word[-1] in "aei":
        word += self._rng.choice(("n", "r", "s", "k", "l", "m", "d", "o"))
      return word
    return self._unique(make)

  def surname(self) -> str:
    return self._unique(lambda: _stem(self._rng, self._rng.choice((2, 2, 3))))

  def stem(self) -> str:
    """An organisation or product stem."""
    return self._unique(lambda: _stem(self._rng, self._rng.choice((2, 2, 3))))

  def city(self) -> tuple[str, ...]:
    """A city name's tokens; one in five has a prefix word ("Port Kelmarvik")."""
    word = self._unique(lambda: _stem(self._rng, self._rng.choice((1, 2)))
                        + self._rng.choice(CITY_SUFFIXES), plain=False)
    if self._rng.random() < 0.2:
      prefix = self._rng.choice(CITY_PREFIXES)
      return ("Upper" if prefix.lower() in word.lower() else prefix, word)
    return (word,)

  def country(self) -> tuple[str, str]:
    """(country, nationality), e.g. ("Veloria", "Velorian")."""
    ending = self._rng.choice(tuple(COUNTRY_SUFFIXES))
    stem = self._unique(lambda: _stem(self._rng, 2).rstrip("aeiou") or "tar")
    self._used.add((stem + ending).lower())
    self._used.add((stem + COUNTRY_SUFFIXES[ending]).lower())
    return stem + ending, stem + COUNTRY_SUFFIXES[ending]
