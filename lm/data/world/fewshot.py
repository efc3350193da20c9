"""Multiple-choice items for zero- and few-shot evaluation.

Each item is self-contained (any needed facts are in the prompt) and carries no
demonstrations; a harness prepends k solved items of the same task from the train
split. ``answer`` indexes ``choices``.
"""

from __future__ import annotations

import random

from lm.data.world import english as en
from lm.data.world.entities import World
from lm.data.world.sentiment import review
from lm.data.world.tokens import render
from lm.data.world.zx_lexicon import (NEGATION, NOUNS, OBJECT, PLURAL, STEMS, TENSES,
                                      TRANSITIVE_VERBS, plural)

FEWSHOT_TASKS: tuple[str, ...] = ("sentiment", "located_in", "entity_type", "zx_morphology",
                                  "older")
SENTIMENT_PROMPT = "Review: {review}\nSentiment:"
SENTIMENT_CHOICES = ("negative", "positive")
LOCATED_PROMPT = "{facts}\nQuestion: Which country is {city} in?\nAnswer:"
ENTITY_PROMPT = "Question: What kind of thing is {name}?\nAnswer:"
ENTITY_CHOICES = ("person", "place", "organisation", "product")
ZX_NOUN_PROMPT = "In Zx, {stem} means {word}. In Zx, {target} is"
OLDER_PROMPT = "{facts}\nQuestion: Who is older?\nAnswer:"


def _shuffled(rng: random.Random, right: str, wrong: list[str]) -> tuple[list[str], int]:
  choices = [right] + [w for w in dict.fromkeys(wrong) if w != right]
  rng.shuffle(choices)
  return choices, choices.index(right)


def _sentiment(rng: random.Random, world: World) -> dict:
  label = rng.randint(0, 1)
  sentences = review(rng, world, label, rng.random() < 0.5)
  text = " ".join(render(s) for s in sentences[:1] + sentences[-2:])
  return {"prompt": SENTIMENT_PROMPT.format(review=text), "choices": list(SENTIMENT_CHOICES),
          "answer": label}


def _located_in(rng: random.Random, world: World) -> dict:
  cities = []
  for city in rng.sample(world.cities, 12):
    if all(c.country is not city.country for c in cities):
      cities.append(city)
    if len(cities) == 3:
      break
  facts = " ".join(render(en.city_fact(rng, c, "in_country")) for c in cities)
  target = rng.choice(cities)
  choices, answer = _shuffled(rng, target.country.name, [c.country.name for c in cities])
  return {"prompt": LOCATED_PROMPT.format(facts=facts, city=target.name), "choices": choices,
          "answer": answer}


def _entity_type(rng: random.Random, world: World) -> dict:
  answer = rng.randrange(len(ENTITY_CHOICES))
  pool = (world.people, world.cities + world.countries, world.orgs, world.products)[answer]
  return {"prompt": ENTITY_PROMPT.format(name=rng.choice(pool).name),
          "choices": list(ENTITY_CHOICES), "answer": answer}


def _zx_morphology(rng: random.Random, world: World) -> dict:
  if rng.random() < 0.5:
    noun = rng.choice(NOUNS)
    stem = STEMS[noun]
    target, right = plural(noun), stem + PLURAL
    wrong = [stem, stem + OBJECT, stem + TENSES["past"]]
    given = noun
  else:
    verb = rng.choice(tuple(TRANSITIVE_VERBS))
    third, past = TRANSITIVE_VERBS[verb]
    stem = STEMS[verb]
    given, shown = third, stem + TENSES["present"]
    forms = {past: stem + TENSES["past"], f"will {verb}": stem + TENSES["future"],
             f"does not {verb}": NEGATION + stem + TENSES["present"]}
    target = rng.choice(tuple(forms))
    right = forms[target]
    wrong = [f for f in forms.values() if f != right] + [shown, stem + PLURAL]
    stem = shown
  choices, answer = _shuffled(rng, right, rng.sample(wrong, 3))
  return {"prompt": ZX_NOUN_PROMPT.format(stem=stem, word=given, target=target),
          "choices": choices, "answer": answer}


def _older(rng: random.Random, world: World) -> dict:
  a, b = rng.sample(world.people, 2)
  while a.birth_year == b.birth_year:
    b = rng.choice(world.people)
  nar = en.Narrator(rng)
  facts = " ".join(render(en.person_fact(rng, nar, p, "born")) for p in (a, b))
  choices = [a.name, b.name]
  rng.shuffle(choices)
  older = a if a.birth_year < b.birth_year else b
  return {"prompt": OLDER_PROMPT.format(facts=facts), "choices": choices,
          "answer": choices.index(older.name)}


_TASKS = {"sentiment": _sentiment, "located_in": _located_in, "entity_type": _entity_type,
          "zx_morphology": _zx_morphology, "older": _older}


def fewshot_item(rng: random.Random, world: World, task: str) -> dict:
  item = _TASKS[task](rng, world)
  return {"task": task, "prompt": item["prompt"], "choices": item["choices"],
          "answer": item["answer"]}
