"""The large evaluative lexicon (WorldConfig.sentiment_lexicon="large"): same rule, far more words, core unchanged."""

import itertools
import re

import pytest

from lm.data.world import WorldConfig, generate
from lm.data.world import evaluative
from lm.data.world.entities import build_world
from lm.data.world.sentiment import NEGATIVE_ADJECTIVES, POSITIVE_ADJECTIVES, review_label

LARGE = WorldConfig(scale=0.05, sentiment_lexicon="large")
LEXICON = set(evaluative.positive) | set(evaluative.negative)


def _words(text):
  return set(re.findall(r"[a-z]+", text.lower()))


def test_large_lexicon_reviews_follow_the_rule_and_a_small_budget_meets_few_of_its_words():
  reviews = list(itertools.islice(generate("sentiment", "train", LARGE), 400))
  assert all(review_label(r["text"]) == r["label"] for r in reviews)
  assert sum(r["label"] for r in reviews) == 200
  seen_by_50 = set().union(*(_words(r["text"]) for r in reviews[:50])) & LEXICON
  assert len(seen_by_50) < 0.7 * len(LEXICON) and len(LEXICON) > 180


def test_the_core_lexicon_world_uses_only_the_core_words():
  reviews = list(itertools.islice(generate("sentiment", "train", WorldConfig(scale=0.05)), 200))
  used = set().union(*(_words(r["text"]) for r in reviews))
  assert not used & (LEXICON - set(POSITIVE_ADJECTIVES) - set(NEGATIVE_ADJECTIVES))


def test_pretraining_text_shows_every_large_lexicon_word_beside_a_star_rating():
  docs = [r["text"] for r in itertools.islice(generate("text", "train", LARGE), 3000)]
  rated = [d for d in docs if "out of 5." in d]
  seen = set().union(*(_words(d) for d in rated)) & LEXICON
  assert len(seen) > 0.95 * len(LEXICON)


def test_no_entity_name_is_an_evaluative_word_and_bad_settings_are_refused():
  for split in ("train", "validation", "test"):
    world = build_world(LARGE, split)
    assert world.lexicon == "large"
    tokens = {t.lower() for p in world.people for t in p.name.split()} | {c.name.lower() for c in world.cities}
    assert not tokens & LEXICON
  with pytest.raises(ValueError, match="sentiment_lexicon"):
    WorldConfig(sentiment_lexicon="huge")
