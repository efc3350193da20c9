"""A large evaluative vocabulary for reviews (`WorldConfig.sentiment_lexicon = "large"`).

With the core lexicon (sentiment.py: 10 positive and 10 negative adjectives) fifty labelled reviews already show
every polarity word, so pretraining has nothing to add. With the large one, most adjectives of a review come from
the lists below: a labelled set of 50-200 reviews meets a fraction of them, while the pretraining text (reviews
with their star ratings) shows each of them dozens of times. Whether a model learned their polarity before it saw a
label is then what a transfer study measures.

With `WorldConfig.review_reactions`, the review documents of the pretraining text (never the labelled reviews) also
follow sentences with the reviewer's reaction ("I was delighted.", "That made me sad."), by the sentence's score under
the labelling rule: context from which a language model can learn each adjective's polarity, as people learn it.

The lists are module-private names on purpose: `vocab.known_words` collects the UPPER_CASE word lists of the
template modules, and the name generator avoids those words, so listing them there would rename every entity of the
world even with the core lexicon.
"""

from __future__ import annotations

import random

_positive = """
admirable amazing appealing astonishing attractive awesome brilliant captivating charming cheerful commendable
comfortable convenient dazzling delightful dependable divine effective efficient elegant enchanting engaging
enjoyable exceptional exciting exquisite fabulous fascinating faultless favourable flawless generous glorious
gorgeous graceful gracious handsome heavenly ideal impeccable incredible inspiring joyful likeable lively
luxurious magnificent majestic marvellous masterful memorable neat nifty outstanding peaceful perfect phenomenal
pleasing polished praiseworthy pristine radiant reassuring refined relaxing reliable remarkable respectable
rewarding robust satisfying sensational smooth solid spectacular splendid stellar sterling stunning sturdy
stylish sublime superior supreme tasteful terrific thoughtful thrilling tremendous trustworthy useful valuable
vibrant welcoming wholesome wondrous worthwhile
"""
_negative = """
abysmal appalling atrocious awkward bland boring careless clumsy confusing cramped crude cumbersome
defective deficient deplorable depressing dire dirty disastrous disgraceful disgusting dismal displeasing drab
dreadful dreary faulty feeble filthy flawed flimsy forgettable fragile gaudy gloomy grim grubby hideous hopeless
horrible horrid inadequate inconvenient inferior irritating joyless lacklustre lame lifeless lousy messy
miserable mouldy nasty noisy offensive overpriced painful pitiful pointless rickety rotten rude
shabby shoddy sloppy sluggish sour squalid stale stuffy substandard tacky tasteless tedious tiresome
troublesome ugly unbearable unfriendly unhelpful unreliable unsatisfying unusable upsetting vile
wasteful woeful worthless wretched
"""
# The reviewer's reaction after a sentence (WorldConfig.review_reactions), by the sentence's polarity. Private for the
# same reason as the lists above.
_reactions = {1: ("I was delighted.", "I was pleased.", "I was thrilled.", "That made me happy."),
              -1: ("I was disappointed.", "I was annoyed.", "I was upset.", "That made me sad.")}
positive: tuple[str, ...] = tuple(_positive.split())
negative: tuple[str, ...] = tuple(_negative.split())
LEXICONS = ("core", "large")
CORE_SHARE = 0.2  # with the large lexicon, the share of adjectives still drawn from the core ten per polarity


def polarity() -> dict[str, int]:
  return {**{w: 1 for w in positive}, **{w: -1 for w in negative}}


def adjective(rng: random.Random, sign: int, lexicon: str, core: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
  """An adjective of polarity `sign`: from `core` (positive, negative), or mostly from the large lists."""
  if lexicon == "large" and rng.random() >= CORE_SHARE:
    return rng.choice(positive if sign > 0 else negative)
  return rng.choice(core[0] if sign > 0 else core[1])


def reaction(rng: random.Random, sign: int) -> str:
  """What the reviewer felt about a sentence of polarity `sign` (+1 or -1), e.g. "I was delighted."."""
  return rng.choice(_reactions[1 if sign > 0 else -1])


def was_reactions() -> dict[int, tuple[str, ...]]:
  """The words of the "I was <word>." reactions by polarity: {1: ("delighted", ...), -1: ("disappointed", ...)}."""
  return {sign: tuple(r[len("I was "):-1] for r in options if r.startswith("I was "))
          for sign, options in _reactions.items()}
