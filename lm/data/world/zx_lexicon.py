"""The lexicon and morphology of Zx, the world's second language.

Zx is one fixed language: it does not depend on the world seed, the split or the
view, so a model that learned Zx from seed 0 data translates seed 1 data, and
``translate_to_zx``/``gold_score`` need no configuration. Content words get
generated stems; the grammatical morphemes below are fixed by hand.
"""

from __future__ import annotations

import random

_IRREGULAR_PLURALS = {"child": "children", "wolf": "wolves", "mouse": "mice"}
NOUNS = ("bird", "dog", "cat", "horse", "tree", "river", "house", "road", "boat", "book",
         "letter", "song", "bread", "apple", "child", "friend", "farmer", "teacher",
         "doctor", "king", "queen", "garden", "door", "window", "mountain", "lake",
         "forest", "village", "market", "school", "stone", "ship", "car", "field",
         "flower", "key", "table", "cup", "sword", "wolf", "sister", "brother", "mother",
         "father", "student", "soldier", "baker", "singer", "painter", "gift", "coin",
         "story", "bridge", "island", "star", "city", "mouse", "box", "dish", "fox")
# lemma -> (third person singular present, past)
TRANSITIVE_VERBS = {
    "see": ("sees", "saw"), "find": ("finds", "found"), "buy": ("buys", "bought"),
    "sell": ("sells", "sold"), "carry": ("carries", "carried"), "open": ("opens", "opened"),
    "build": ("builds", "built"), "paint": ("paints", "painted"), "write": ("writes", "wrote"),
    "love": ("loves", "loved"), "help": ("helps", "helped"), "watch": ("watches", "watched"),
    "follow": ("follows", "followed"), "visit": ("visits", "visited"),
    "clean": ("cleans", "cleaned"), "cook": ("cooks", "cooked"), "eat": ("eats", "ate"),
    "take": ("takes", "took"), "bring": ("brings", "brought"), "hear": ("hears", "heard"),
    "draw": ("draws", "drew"), "catch": ("catches", "caught"), "hold": ("holds", "held"),
}
INTRANSITIVE_VERBS = {
    "sleep": ("sleeps", "slept"), "run": ("runs", "ran"), "walk": ("walks", "walked"),
    "sing": ("sings", "sang"), "swim": ("swims", "swam"), "laugh": ("laughs", "laughed"),
    "wait": ("waits", "waited"), "arrive": ("arrives", "arrived"),
    "dance": ("dances", "danced"), "rest": ("rests", "rested"), "play": ("plays", "played"),
}
ADJECTIVES = ("big", "small", "old", "young", "red", "blue", "green", "white", "black",
              "happy", "sad", "tall", "quiet", "loud", "new", "fast", "slow", "rich", "poor",
              "cold", "warm", "bright", "dark", "kind", "brave", "tired", "hungry",
              "beautiful", "heavy", "clever", "strong", "angry")
TIME_WORDS = {"yesterday": "past", "tomorrow": "future", "often": "present",
              "now": "present", "today": "present"}
NUMERALS = ("two", "three", "four", "five", "many")

# Fixed grammatical morphemes (postpositions, pronouns, affixes, particles).
POSTPOSITIONS = {"in": "ma", "near": "tel", "with": "sum", "from": "dar", "to": "vi",
                 "under": "nok", "behind": "pas", "on": "hal"}
SUBJECT_PRONOUNS = {"i": "mi", "you": "tu", "he": "lo", "she": "la", "it": "le", "we": "nu",
                    "they": "sei"}
OBJECT_PRONOUNS = {"me": "mi", "you": "tu", "him": "lo", "her": "la", "it": "le", "us": "nu",
                   "them": "sei"}
CONJUNCTIONS = {"and": "ta", "but": "mes", "because": "zan"}
INDEFINITE = "u"  # "a bird" -> "u <bird>"; "the" has no Zx counterpart
PLURAL = "ri"  # noun suffix
OBJECT = "ko"  # suffix on the head of a direct object (after the plural)
TENSES = {"present": "en", "past": "ot", "future": "ir"}  # verb suffixes
NEGATION = "ne"  # verb prefix
COPULA = "es"  # "to be"; takes tense and negation like any verb
_RESERVED = ({INDEFINITE, PLURAL, OBJECT, NEGATION, COPULA} | set(TENSES.values())
             | set(POSTPOSITIONS.values()) | set(SUBJECT_PRONOUNS.values())
             | set(CONJUNCTIONS.values()))


def plural(noun: str) -> str:
  if noun in _IRREGULAR_PLURALS:
    return _IRREGULAR_PLURALS[noun]
  if noun.endswith("y") and noun[-2] not in "aeiou":
    return noun[:-1] + "ies"
  if noun.endswith(("s", "x", "sh", "ch")):
    return noun + "es"
  return noun + "s"


def _make_stems() -> dict[str, str]:
  rng = random.Random("zx-lexicon-v1")  # fixed: the language never changes
  consonants = "ktmnlrsvdgpbhz"
  used = set(_RESERVED)
  stems = {}
  lemmas = (NOUNS + tuple(TRANSITIVE_VERBS) + tuple(INTRANSITIVE_VERBS) + ADJECTIVES
            + tuple(TIME_WORDS) + NUMERALS)
  for lemma in lemmas:
    while True:
      stem = "".join(rng.choice(consonants) + rng.choice("aeiou")
                     for _ in range(rng.choice((2, 2, 3))))
      if rng.random() < 0.4:
        stem += rng.choice("nlrsk")
      if stem not in used:
        used.add(stem)
        stems[lemma] = stem
        break
  return stems


STEMS: dict[str, str] = _make_stems()  # English lemma -> Zx stem
NOUN_FORMS = {**{n: (n, False) for n in NOUNS}, **{plural(n): (n, True) for n in NOUNS}}
VERB_FORMS: dict[str, tuple[str, str]] = {}  # surface -> (lemma, "base"/"3sg"/"past")
for _lemma, (_third, _past) in {**TRANSITIVE_VERBS, **INTRANSITIVE_VERBS}.items():
  VERB_FORMS.update({_lemma: (_lemma, "base"), _third: (_lemma, "3sg"),
                     _past: (_lemma, "past")})
assert not set(NOUN_FORMS) & set(VERB_FORMS), "a Zx English form is both noun and verb"

# Every Zx word form the translator can emit (names aside), for recognising Zx text.
ZX_FORMS: frozenset[str] = frozenset(
    {STEMS[n] + p + o for n in NOUNS for p in ("", PLURAL) for o in ("", OBJECT)}
    | {neg + STEMS[v] + t for v in (*TRANSITIVE_VERBS, *INTRANSITIVE_VERBS)
       for neg in ("", NEGATION) for t in TENSES.values()}
    | {neg + COPULA + t for neg in ("", NEGATION) for t in TENSES.values()}
    | {STEMS[w] for w in ADJECTIVES + NUMERALS + tuple(TIME_WORDS)}
    | set(POSTPOSITIONS.values()) | set(CONJUNCTIONS.values()) | {INDEFINITE}
    | {p + o for p in SUBJECT_PRONOUNS.values() for o in ("", OBJECT)})
# English words of the translation grammar (for telling names from words).
ENGLISH_WORDS: frozenset[str] = frozenset(
    set(NOUN_FORMS) | set(VERB_FORMS) | set(ADJECTIVES) | set(TIME_WORDS) | set(NUMERALS)
    | set(POSTPOSITIONS) | set(SUBJECT_PRONOUNS) | set(OBJECT_PRONOUNS) | set(CONJUNCTIONS)
    | {"the", "a", "an", "not", "will", "be", "does", "do", "did", "am", "is", "are",
       "was", "were"})
