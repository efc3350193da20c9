"""Reviews whose label follows a compositional rule, and the rule itself.

The rule (``review_label``) reads only the review's **last sentence**:

1. If it contains "but" or "however", only the words after the last one count;
   if it opens with "although"/"while"/"though", only the words after the first comma.
2. The rest is split into clauses at "and"; each clause scores its first polarity
   word p = +1/-1 (``POLARITY``): negated ("not"/"never" before it) -> -p,
   else 3p after an intensifier, p after a diminisher, 2p otherwise.
3. Positive iff the clause scores sum to more than 0 (generated verdicts never tie).

Earlier sentences are distractors: in "hard" reviews their polarity is random, so
no single keyword decides the label (a bag-of-words model reaches ~75%).
"""

from __future__ import annotations

import random
import re

from lm.data.world import evaluative
from lm.data.world.entities import City, Product, World
from lm.data.world.tokens import Slot, Tagged, article, fill, tokenize

POSITIVE_ADJECTIVES = ("good", "great", "excellent", "wonderful", "impressive", "pleasant",
                       "superb", "lovely", "fantastic", "nice")
NEGATIVE_ADJECTIVES = ("bad", "poor", "terrible", "awful", "disappointing", "weak", "dull",
                       "mediocre", "unpleasant", "frustrating")
POSITIVE_VERBS = ("like", "love", "enjoy", "recommend")
NEGATIVE_VERBS = ("dislike", "hate")
INTENSIFIERS = ("very", "really", "extremely", "truly", "incredibly", "highly")
DIMINISHERS = ("somewhat", "slightly", "fairly", "rather", "mildly")
NEGATORS = ("not", "never")
POLARITY = {**{w: 1 for w in POSITIVE_ADJECTIVES + POSITIVE_VERBS},
            **{w: -1 for w in NEGATIVE_ADJECTIVES + NEGATIVE_VERBS}}
_POLARITY = {**POLARITY, **evaluative.polarity()}  # the rule reads the large lexicon too (private: see evaluative.py)

PRODUCT_ASPECTS = ("the design", "the price", "the build quality", "the packaging",
                   "the delivery", "the manual", "the colour", "the size", "the weight",
                   "customer service")
CITY_ASPECTS = ("the food", "the weather", "the people", "the museums", "the public transport",
                "the hotels", "the nightlife", "the parks", "the old town", "the markets")
PRODUCT_INTROS = ("I bought the {product} from {org} last {month}.",
                  "I have been using the {product} for {n} weeks now.",
                  "My {relative} gave me the {product}, {a} {category} made by {org}.",
                  "I ordered the {product} after reading about it online.")
CITY_INTROS = ("I spent {n} days in {city} last {month}.",
               "We visited {city}, in {country}, for a week.",
               "I travelled to {city} for work last {month}.")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
RELATIVES = ("sister", "brother", "friend", "partner", "mother", "father", "colleague")
PLURAL_ASPECTS = frozenset({"the museums", "the hotels", "the parks", "the markets", "the people"})
BODY = ("{aspect} {is} {mod} {adj}.", "{aspect} {was} {mod} {adj}.",
        "I found {aspect} {mod} {adj}.", "In my opinion, {aspect} {is} {mod} {adj}.", "{aspect} {is} not {adj}.")
VERDICT_OPENERS = ("Overall,", "All in all,", "In the end,", "To sum up,")
VERDICT_WORDS = ("I do not like it", "I would not recommend it", "I would highly recommend it",
                 "Although", "While", "but overall")
SUBJECT_PHRASES = {"product": ("it is", "the product is"), "city": ("the trip was", "it was")}


def _is(aspect: str) -> str:
  return aspect + (" are" if aspect in PLURAL_ASPECTS else " is")


def _mod(rng: random.Random, weight: int) -> str:
  return {3: rng.choice(INTENSIFIERS[:5]), 2: "", 1: rng.choice(DIMINISHERS)}[weight]


def _adj(rng: random.Random, polarity: int, lexicon: str) -> str:
  return evaluative.adjective(rng, polarity, lexicon, (POSITIVE_ADJECTIVES, NEGATIVE_ADJECTIVES))


def _clause(rng: random.Random, subject: str, polarity: int, weight: int, lexicon: str) -> str:
  return " ".join(w for w in (subject, _mod(rng, weight), _adj(rng, polarity, lexicon)) if w)


def _main_clause(rng: random.Random, kind: str, label_sign: int, negated: bool, lexicon: str) -> str:
  """A clause scoring ``label_sign``: plain, intensified or negated."""
  subject = rng.choice(SUBJECT_PHRASES[kind])
  if negated:
    if kind == "product" and rng.random() < 0.4:
      if label_sign < 0:
        return rng.choice((f"I do not {rng.choice(('like', 'love'))} it",
                           "I would not recommend it"))
      return f"I do not {rng.choice(('dislike', 'hate'))} it"
    return f"{subject} not {_adj(rng, -label_sign, lexicon)}"
  if kind == "product" and rng.random() < 0.35:
    verb = rng.choice(POSITIVE_VERBS if label_sign > 0 else NEGATIVE_VERBS)
    mod = rng.choice(("", "really", "truly"))
    if verb == "recommend":
      return f"I would {rng.choice(('', 'highly'))} recommend it".replace("  ", " ")
    return " ".join(w for w in ("I", mod, verb, "it") if w)
  return _clause(rng, subject, label_sign, rng.choice((1, 2, 3)), lexicon)


def _verdict(rng: random.Random, kind: str, label_sign: int, easy: bool, lexicon: str) -> str:
  aspects = PRODUCT_ASPECTS if kind == "product" else CITY_ASPECTS
  opener = rng.choice(VERDICT_OPENERS)
  form = "plain" if easy else rng.choice(("plain", "negated", "contrast", "contrast",
                                          "weighted", "weighted"))
  if form == "plain":
    return f"{opener} {_main_clause(rng, kind, label_sign, False, lexicon)}."
  if form == "negated":
    return f"{opener} {_main_clause(rng, kind, label_sign, True, lexicon)}."
  if form == "contrast":
    first = _clause(rng, _is(rng.choice(aspects)), -label_sign, rng.choice((1, 2, 3)), lexicon)
    main = _main_clause(rng, kind, label_sign, rng.random() < 0.4, lexicon)
    if rng.random() < 0.5:
      return f"{first[0].upper()}{first[1:]}, but overall {main}."
    return f"{rng.choice(('Although', 'While'))} {first}, {main}."
  strong, weak = rng.choice(((3, 2), (3, 1), (2, 1)))
  a1, a2 = rng.sample(aspects, 2)
  parts = [_clause(rng, _is(a1), label_sign, strong, lexicon), _clause(rng, _is(a2), -label_sign, weak, lexicon)]
  rng.shuffle(parts)
  return f"{opener} {parts[0]} and {parts[1]}."


def review(rng: random.Random, world: World, label: int, easy: bool,
           subject: Product | City | None = None) -> list[Tagged]:
  """Sentences of a review of a product or city whose ``review_label`` is ``label``."""
  if subject is None:
    subject = (rng.choice(world.products) if rng.random() < 0.6
               else rng.choice(world.cities))
  kind = "product" if isinstance(subject, Product) else "city"
  sign = 1 if label else -1
  slots: dict[str, Slot] = {"month": rng.choice(MONTHS), "n": str(rng.randint(2, 12)),
                            "relative": rng.choice(RELATIVES)}
  if isinstance(subject, Product):
    slots.update(product=subject.mention, org=subject.maker.mention,
                 category=subject.category, a=article(subject.category))
    intro = fill(rng.choice(PRODUCT_INTROS), slots)
    aspects = PRODUCT_ASPECTS
  else:
    slots.update(city=subject.mention, country=subject.country.mention)
    intro = fill(rng.choice(CITY_INTROS), slots)
    aspects = CITY_ASPECTS
  sentences = [intro]
  for aspect in rng.sample(aspects, rng.randint(1, 3)):
    polarity = sign if easy else rng.choice((1, -1))
    template = rng.choice(BODY[:4] if easy else BODY)
    if template.endswith("not {adj}."):
      polarity = -polarity  # the sentence reads as `polarity` once negated
    many = aspect in PLURAL_ASPECTS
    sentences.append(fill(template, {"aspect": aspect, "adj": _adj(rng, polarity, world.lexicon),
                                     "mod": _mod(rng, rng.choice((1, 2, 3))),
                                     "is": "are" if many else "is",
                                     "was": "were" if many else "was"}))
  sentences.append(fill(_verdict(rng, kind, sign, easy, world.lexicon), {}))
  return sentences


def _clause_score(words: list[str]) -> int:
  for i, word in enumerate(words):
    polarity = _POLARITY.get(word)
    if polarity is None:
      continue
    if any(w in NEGATORS for w in words[:i]):
      return -polarity
    before = words[i - 1] if i else ""
    return polarity * (3 if before in INTENSIFIERS else 1 if before in DIMINISHERS else 2)
  return 0


def sentence_score(sentence: str) -> int:
  """Signed strength of one sentence under the rule in the module docstring."""
  words = [w.lower() for w in tokenize(sentence) if w.isalnum() or w == ","]
  cut = max((i for i, w in enumerate(words) if w in ("but", "however")), default=None)
  if cut is not None:
    words = words[cut + 1:]
  elif words and words[0] in ("although", "while", "though") and "," in words:
    words = words[words.index(",") + 1:]
  words = [w for w in words if w != ","]
  clauses: list[list[str]] = [[]]
  for w in words:
    if w == "and":
      clauses.append([])
    else:
      clauses[-1].append(w)
  return sum(_clause_score(c) for c in clauses)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def review_label(text: str) -> int:
  """1 (positive) or 0 (negative) by the compositional rule; 0 when undecidable."""
  sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
  return int(bool(sentences) and sentence_score(sentences[-1]) > 0)
