"""The large evaluative lexicon (WorldConfig.sentiment_lexicon="large"): same rule, far more words, core unchanged."""

import dataclasses
import itertools
import re

import pytest

from lm.data.world import WorldConfig, generate
from lm.data.world import evaluative
from lm.data.world.entities import build_world
from lm.data.world.sentiment import NEGATIVE_ADJECTIVES, POSITIVE_ADJECTIVES, review_label, sentence_score

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


def test_review_reactions_follow_each_sentence_by_its_polarity_in_the_pretraining_text_only():
  reacting = WorldConfig(scale=0.05, sentiment_lexicon="large", review_reactions=1.0)
  docs = [r["text"] for r in itertools.islice(generate("text", "train", reacting), 600) if "out of 5." in r["text"]]
  sentences = [s for d in docs for line in d.split("\n") for s in re.split(r"(?<=\.)\s+", line) if s]
  feelings = {s: sign for sign in (1, -1) for s in evaluative._reactions[sign]}
  pairs = [(before, feelings[after]) for before, after in zip(sentences, sentences[1:]) if after in feelings]
  assert len(pairs) > 100
  assert all((sentence_score(before) > 0) == (sign > 0) for before, sign in pairs)
  # The labelled reviews are the same with or without reactions; without them, so is the text.
  plain = dataclasses.replace(reacting, review_reactions=0.0)
  assert (list(itertools.islice(generate("sentiment", "train", reacting), 50))
          == list(itertools.islice(generate("sentiment", "train", plain), 50)))
  default = WorldConfig(scale=0.05, sentiment_lexicon="large")
  assert (list(itertools.islice(generate("text", "train", plain), 50))
          == list(itertools.islice(generate("text", "train", default), 50)))
  with pytest.raises(ValueError, match="review_reactions"):
    WorldConfig(review_reactions=1.5)
