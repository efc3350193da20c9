"""Quiz pages: worksheets of solved questions, one kind of question per page (in-context structure in world text).

Real pretraining text is full of pages where many items follow one pattern (exercise sheets, FAQ pages, answer keys),
and that is where a language model learns to continue a pattern it was shown. With `WorldConfig.quiz_pages > 0` that
share of the `text` view's documents are pages like

    Practice questions

    Question: What kind of thing is Tomas Berg?
    Answer: a person

    Question: What kind of thing is Velbury?
    Answer: a place

Items are drawn like the few-shot items (`fewshot.py`) with the split's own world (train text never names a test
entity) from the page's own random stream; a page never copies a `fewshot` record. Each page picks one wording of
its question and one set of answer words, and the first wording is the few-shot one, so the page's earlier items are
what tells a reader how this page answers: the pressure that makes a model read its context.

With `WorldConfig.quiz_style="fresh"` a page names entities made up for it (`entities.made_up_world`): a located_in
or older answer is then in the page's own lines and nowhere else, which rewards looking it up in context rather than
recalling it. And a fresh page never uses the few-shot wording: a few-shot prompt then asks in a way no page did,
so at k = 0 a model has only the question, and its demonstrations are what shows how this test answers.
"""

from __future__ import annotations

import random

from lm.data.world.entities import World, made_up_world
from lm.data.world.fewshot import FEWSHOT_TASKS, fewshot_item
from lm.data.world.layout import Document
from lm.data.world.tokens import tokenize

TITLES = ("Practice questions", "Quiz", "Exercises", "Questions and answers", "Test yourself", "Worksheet")

# Per task, the wordings a page may use: (replacements in the prompt, replacements of the answer). The first is the
# few-shot wording.
WORDINGS: dict[str, tuple[tuple[dict[str, str], dict[str, str]], ...]] = {
    "sentiment": (
        ({}, {}),
        ({"\nSentiment:": "\nVerdict:"}, {"negative": "bad", "positive": "good"}),
        ({"Review:": "Customer review:", "\nSentiment:": "\nThe customer was"},
         {"negative": "unhappy", "positive": "happy"}),
    ),
    "located_in": (
        ({}, {}),
        ({"Question: Which country is": "Question: In which country is", " in?": "?"}, {}),
        ({"Question: Which country is": "Question: Where is", " in?": "?"}, {}),
    ),
    "entity_type": (
        ({}, {}),
        ({}, {"person": "a person", "place": "a place", "organisation": "an organisation",
              "product": "a product"}),
        ({"Question: What kind of thing is": "Question: What is"},
         {"person": "someone", "place": "somewhere", "organisation": "an institution", "product": "an item"}),
    ),
    "zx_morphology": (
        ({}, {}),
        ({"In Zx, ": "In the Zx language, "}, {}),
    ),
    "older": (
        ({}, {}),
        ({"Question: Who is older?": "Question: Who was born first?"}, {}),
        ({"Question: Who is older?": "Question: Which of the two is older?"}, {}),
    ),
}


def _replace(text: str, replacements: dict[str, str]) -> str:
  for old, new in replacements.items():
    text = text.replace(old, new)
  return text


def _line(text: str) -> list:
  """One line of a page: a single untagged sentence."""
  return [[(tok, "O") for tok in tokenize(text)]]


def quiz_page(rng: random.Random, world: World, fresh: bool = False) -> Document:
  """A titled page of 3 to 8 solved questions of one few-shot task, in one wording (`fresh`: see the module)."""
  task = rng.choice(FEWSHOT_TASKS)
  prompt_words, answer_words = rng.choice(WORDINGS[task][1:] if fresh else WORDINGS[task])
  if fresh:
    world = made_up_world(rng, world)
  lines: list[list] = [_line(rng.choice(TITLES))]
  for _ in range(rng.randint(3, 8)):
    item = fewshot_item(rng, world, task)
    answer = item["choices"][item["answer"]]
    solved = _replace(item["prompt"], prompt_words) + " " + answer_words.get(answer, answer)
    lines.append([])  # a blank line between items, as the few-shot harness joins demonstrations
    lines += [_line(line) for line in solved.split("\n")]
  return Document("quiz", lines)


def page_items(rng: random.Random, world: World, task: str, n: int, wording: int, made_up: bool) -> list[dict]:
  """`n` few-shot items of `task` written as a quiz page writes them: in `WORDINGS[task][wording]` (0: the few-shot
  wording), about a world made up per item (`made_up`) or `world`'s own entities. A format probe: can a model answer
  in the format its pretraining pages used, before any demonstration?"""
  prompt_words, answer_words = WORDINGS[task][wording]
  items = []
  for _ in range(n):
    item = fewshot_item(rng, made_up_world(rng, world) if made_up else world, task)
    items.append({**item, "prompt": _replace(item["prompt"], prompt_words),
                  "choices": [answer_words.get(c, c) for c in item["choices"]]})
  return items
