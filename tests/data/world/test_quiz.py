"""Quiz pages in world/text (WorldConfig.quiz_pages, quiz_style): their share, one wording per page, right answers."""

import re

import pytest

from lm.data.world import WorldConfig
from lm.data.world.entities import build_world
from lm.data.world.quiz import TITLES, WORDINGS


def _is_quiz(text):
  return text.split("\n")[0] in TITLES and text.split("\n")[1] == ""


def test_off_by_default_and_a_set_share_of_documents_when_on(texts):
  assert not any(_is_quiz(t) for t in texts(WorldConfig(scale=0.02)))
  share = sum(_is_quiz(t) for t in texts(WorldConfig(scale=0.02, quiz_pages=0.3))) / 300
  assert 0.22 < share < 0.38
  with pytest.raises(ValueError, match="quiz_pages"):
    WorldConfig(quiz_pages=-0.1)


@pytest.mark.parametrize("style", ["seen", "fresh"])
def test_each_page_keeps_one_wording_and_its_answers_are_right(style, texts):
  pages = [t for t in texts(WorldConfig(scale=0.02, quiz_pages=0.5, quiz_style=style)) if _is_quiz(t)]
  entity_sets = [{"person", "place", "organisation", "product"}] + [set(a.values()) for _, a in
                                                                  WORDINGS["entity_type"][1:]]
  located = checked = 0
  for page in pages:
    items = page.split("\n\n")[1:]
    assert 3 <= len(items) <= 8, page
    answers = {item.split("\n")[-1].split("Answer: ")[-1] for item in items if "\nAnswer: " in item}
    if any(a in s for s in entity_sets for a in answers):  # entity_type: every answer from one set
      assert sum(answers <= s for s in entity_sets) >= 1, page
      checked += 1
    for item in items:
      # located_in: the answer is the country the facts give for the asked city
      if m := re.fullmatch(r"(.*)\nQuestion: (?:Which country is|In which country is|Where is) (.*?)(?: in)?\?"
                           r"\nAnswer: (.*)", item, flags=re.S):
        facts, city, country = m.groups()
        sentence = next(s for s in re.split(r"(?<=\.) ", facts) if s.startswith(city + " "))
        assert sentence.rstrip(".").endswith(country), item
        located += 1
  assert len(pages) > 100 and located > 50 and checked > 5


def test_fresh_pages_name_made_up_entities_and_never_ask_in_the_few_shot_wording(texts):
  config = WorldConfig(scale=0.02, quiz_pages=0.5, quiz_style="fresh")
  pages = [t for t in texts(config) if _is_quiz(t)]
  known = {c.name for split in ("train", "validation", "test") for c in build_world(config, split).cities}
  asked = []
  for page in pages:
    assert "Question: Which country is" not in page and "\nSentiment:" not in page, page
    assert not re.search(r"Answer: (person|place|organisation|product)$", page, re.M) and "In Zx, " not in page, page
    asked += re.findall(r"Question: (?:In which country is|Where is) (.*?)\?", page)
  assert len(asked) > 50 and not set(asked) & known  # every asked city was made up for its page
  assert texts(config)[:20] != texts(WorldConfig(scale=0.02, quiz_pages=0.5))[:20]
  with pytest.raises(ValueError, match="quiz_style"):
    WorldConfig(quiz_style="new")


def test_page_items_are_written_in_the_asked_wording_about_made_up_or_world_entities():
  import random  # pylint: disable=import-outside-toplevel
  from lm.data.world import quiz  # pylint: disable=import-outside-toplevel
  world = build_world(WorldConfig(scale=0.02), "test")
  cities = {c.name for c in world.cities}
  made = quiz.page_items(random.Random(0), world, "located_in", 20, 1, made_up=True)
  assert all("Question: In which country is" in i["prompt"] and "Which country is" not in i["prompt"] for i in made)
  asked = [re.search(r"In which country is (.+)\?", i["prompt"]).group(1) for i in made]
  assert sum(a in cities for a in asked) <= 2  # made up per item (a clash with the world's names is rare)
  # the answer is in the facts
  assert all(i["choices"][i["answer"]] in i["prompt"].split("\nQuestion")[0] for i in made)
  reviews = quiz.page_items(random.Random(0), world, "sentiment", 20, 1, made_up=False)
  assert all(i["prompt"].endswith("\nVerdict:") and sorted(i["choices"]) == ["bad", "good"] for i in reviews)
  assert {i["choices"][i["answer"]] for i in reviews} == {"bad", "good"}
