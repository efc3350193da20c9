"""The gold preference function, the instruction families and the preference labels."""

import dataclasses
import math
import random

import pytest

from lm.data.world import WorldConfig, generate, gold, gold_score
from lm.data.world.entities import build_world
from lm.data.world.instructions import FAMILIES, TASKS
from lm.data.world.solve import expected
from lm.training import rewards

CONFIG = WorldConfig(scale=0.02)


def test_instructions_cover_the_families_and_solve_to_their_responses():
  records = list(generate("instructions", "train", CONFIG))
  assert {r["task"] for r in records} == set(TASKS) and len(TASKS) >= 7
  for r in records:
    task = expected(r["prompt"])
    assert task is not None and task.task == r["task"], r
    assert task.check(r["response"]) == 1.0, r


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_correct_answer_outscores_every_wrong_one(family):
  world = build_world(CONFIG, "validation")
  for i in range(25):
    inst = FAMILIES[family](random.Random(f"gold/{family}/{i}"), world)
    right = gold_score(inst.prompt, inst.response)
    # entities and translate give partial credit (F1); the others are all-or-nothing.
    margin = 0.0 if family in ("entities", "translate") else 1.0
    for wrong in inst.wrong:
      assert right > gold_score(inst.prompt, wrong) + margin, (inst.prompt, wrong)


def test_style_terms_rank_polite_concise_above_rude_rambling_repetitive():
  record = next(r for r in generate("instructions", "test", CONFIG) if r["task"] == "qa")
  prompt, answer = record["prompt"], record["response"]
  plain = gold_score(prompt, answer)
  assert gold_score(prompt, "Sure! " + answer) > plain
  assert gold_score(prompt, answer + " Stop asking such stupid questions.") < plain
  assert gold_score(prompt, " ".join([answer] * 4)) < plain
  rambling = " ".join(["Let me think about this for a moment, there is a lot to say."] * 1
                      + [answer] + ["It is always good to look at all the details here."] * 5)
  assert gold_score(prompt, rambling) < plain


@pytest.mark.parametrize("response", ["", " ", "!!!???", "the the the the the the",
                                      "\x00\uffff" * 50, "zzz " * 2000, "Ünïcödé 😀 text."])
@pytest.mark.parametrize("prompt", ["", "Hello?", "Translate into Zx:\nColourless ideas.",
                                    "Is the following review positive or negative?\n\n."])
def test_gold_score_is_finite_on_garbage(prompt, response):
  score = gold_score(prompt, response)
  assert isinstance(score, float) and math.isfinite(score) and -3.0 <= score <= 5.25


def test_gold_score_range_on_real_prompts():
  for r in generate("preferences", "validation", CONFIG):
    for response in (r["chosen"], r["rejected"]):
      assert -3.0 <= gold_score(r["prompt"], response) <= 5.25


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_preference_labels_agree_with_gold_at_one_minus_noise(noise):
  config = dataclasses.replace(CONFIG, scale=0.03, preference_noise=noise)
  records = list(generate("preferences", "train", config))
  n = len(records)
  agree = sum(gold_score(r["prompt"], r["chosen"]) > gold_score(r["prompt"], r["rejected"])
              for r in records)
  ties = sum(gold_score(r["prompt"], r["chosen"]) == gold_score(r["prompt"], r["rejected"])
             for r in records)
  assert ties == 0
  if noise == 0.0:
    assert agree == n
  else:
    assert abs(agree / n - (1 - noise)) < 4 * math.sqrt(noise * (1 - noise) / n)


def test_pairs_are_told_apart_by_what_decides_them():
  world = build_world(CONFIG, "validation")
  inst = FAMILIES["qa"](random.Random("pairs/qa"), world)
  wrong = inst.wrong[0]
  records = [{"prompt": inst.prompt, "chosen": inst.response, "rejected": wrong},
             {"prompt": inst.prompt, "chosen": f"Sure! {inst.response}", "rejected": inst.response},
             {"prompt": inst.prompt, "chosen": wrong, "rejected": f"Ugh, obviously {wrong}"}]
  assert rewards.correctness_pairs(records).tolist() == [1.0, 0.0, 0.0]


def test_correctness_credits_any_right_wording_and_none_for_unknown_prompts():
  world = build_world(CONFIG, "validation")
  inst = FAMILIES["sentiment"](random.Random("gold/correctness"), world)
  label = "positive" if "positive" in inst.response else "negative"
  assert gold.correctness(inst.prompt, inst.response) == 1.0
  assert gold.correctness(inst.prompt, f"I would say the review is {label}.") == 1.0  # another wording
  assert gold.correctness(inst.prompt, inst.wrong[0]) == 0.0
  assert gold.correctness("Hum a tune.", "la la") is None
