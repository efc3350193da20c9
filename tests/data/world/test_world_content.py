"""Content properties of the world views: leakage, NER, pairs, sentiment, Zx, few-shot."""

import collections
import math
import re

import pytest

from lm.data.world import NER_TAGS, WorldConfig, generate, translate_to_zx
from lm.data.world.entities import build_world
from lm.data.world.ner import tag_by_form
from lm.data.world.sentiment import review_label, sentence_score

CONFIG = WorldConfig(scale=0.02)


def _name_tokens(split: str) -> set[str]:
  world = build_world(CONFIG, split)
  tokens = set()
  for person in world.people:
    tokens |= {person.first, person.last}
  tokens |= {c.tokens[-1] for c in world.cities}
  tokens |= {o.tokens[0] for o in world.orgs}
  tokens |= {p.stem for p in world.products}
  return tokens


def _words(split: str, view: str) -> set[str]:
  found = set()
  for record in generate(view, split, CONFIG):
    for value in record.values():
      for text in (value if isinstance(value, list) else [value]):
        if isinstance(text, str):
          found |= set(re.findall(r"[A-Za-z]+", text))
  return found


def test_entity_pools_are_disjoint_across_splits():
  pools = {split: _name_tokens(split) for split in ("train", "validation", "test")}
  assert not pools["train"] & pools["test"]
  assert not pools["train"] & pools["validation"]
  assert not pools["validation"] & pools["test"]


@pytest.mark.parametrize("view", ["text", "instructions", "translation", "ner"])
def test_no_train_entity_in_test_text_and_vice_versa(view):
  train_names, test_names = _name_tokens("train"), _name_tokens("test")
  test_words = _words("test", view)
  assert test_words & test_names, "the check must see test names to be meaningful"
  assert not test_words & train_names
  assert not _words("train", view) & test_names


def test_ner_tags_aligned_well_formed_and_recoverable_from_form():
  kinds = collections.Counter()
  for record in generate("ner", "train", CONFIG):
    tokens, ids = record["tokens"], record["ner_tags"]
    assert len(tokens) == len(ids) > 0
    tags = [NER_TAGS[i] for i in ids]
    for prev, tag in zip(["O"] + tags, tags):
      if tag.startswith("I-"):
        assert prev[2:] == tag[2:], (tokens, tags)
    assert tag_by_form(tokens) == tags, list(zip(tokens, tags))
    kinds.update(t for t in tags if t != "O")
  assert all(kinds[t] > 0 for t in NER_TAGS[1:]), kinds


def test_sentence_pairs_are_about_half_true():
  records = list(generate("sentence_pairs", "train", CONFIG))
  n = len(records)
  positives = sum(r["is_next"] for r in records)
  assert abs(positives - n / 2) < 4 * math.sqrt(n / 4)
  assert all(r["sentence_a"] != r["sentence_b"] for r in records)


def test_sentiment_balanced_follows_rule_and_no_keyword_decides():
  records = list(generate("sentiment", "train", CONFIG))
  labels = [r["label"] for r in records]
  assert abs(sum(labels) - len(labels) / 2) <= 1
  assert all(review_label(r["text"]) == r["label"] for r in records)
  words = collections.defaultdict(list)
  for i, r in enumerate(records):
    for w in set(re.findall(r"[a-z]+", r["text"].lower())):
      words[w].append(i)
  for w, idx in words.items():
    hit = sum(labels[i] for i in idx) + sum(1 - labels[i] for i in range(len(labels))
                                            if i not in set(idx))
    accuracy = max(hit, len(labels) - hit) / len(labels)
    assert accuracy < 0.8, (w, accuracy)


def test_sentiment_rule_composition():
  assert sentence_score("Overall, it is not bad.") > 0
  assert sentence_score("Overall, it is not good.") < 0
  assert sentence_score("The design is great, but overall it is disappointing.") < 0
  assert sentence_score("Although the price is bad, I really like it.") > 0
  assert sentence_score("The design is extremely good and the price is slightly bad.") > 0
  assert sentence_score("The design is slightly good and the price is very bad.") < 0


def test_translation_deterministic_and_reordered():
  records = list(generate("translation", "train", CONFIG))
  reordered = 0
  for r in records:
    assert translate_to_zx(r["en"]) == r["zx"]
    assert r["en"] != r["zx"]
    assert 2 <= len(r["en"].split()) <= 25
    en_words = r["en"].rstrip(".").split()
    # SOV: an English transitive clause ends in its object; Zx ends in the verb.
    reordered += en_words[-1].lower() != r["zx"].rstrip(".").split()[-1].lower()
  assert reordered == len(records)
  assert translate_to_zx("The dog sees the cats.") == translate_to_zx("The dog sees the cats.")
  assert translate_to_zx("The dogs saw a cat.").split()[-1] != translate_to_zx(
      "The dogs see a cat.").split()[-1]  # tense is a verb suffix
  with pytest.raises(ValueError):
    translate_to_zx("Colourless green ideas sleep furiously.")


def test_fewshot_items_are_valid():
  records = list(generate("fewshot", "validation", CONFIG))
  tasks = collections.Counter(r["task"] for r in records)
  assert len(tasks) >= 4 and len(set(tasks.values())) == 1
  for r in records:
    assert 0 <= r["answer"] < len(r["choices"]) and len(r["choices"]) >= 2
    assert len(set(r["choices"])) == len(r["choices"])
    if r["task"] == "sentiment":
      assert r["choices"] == ["negative", "positive"]
      assert r["answer"] == review_label(r["prompt"].split("Review: ")[1].split("\n")[0])


def test_documents_length_and_genres():
  texts = [r["text"] for r in generate("text", "validation", CONFIG)]
  lengths = sorted(len(t.split()) for t in texts)
  assert 60 <= lengths[len(lengths) // 2] <= 300
  assert any(re.search(r"^\w+: ", t, re.M) for t in texts)  # dialogue turns
  assert any("\n- " in t for t in texts)  # list pages
