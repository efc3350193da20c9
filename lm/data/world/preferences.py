"""Preference pairs: two responses of different gold quality to one instruction.

Candidates vary in correctness (right vs. wrong answer), topic (an unrelated
world fact), politeness, verbosity (filler sentences) and repetition. The pair's
order follows ``gold_score``; with probability ``noise`` it is swapped, like
disagreeing human raters. Pairs whose gold scores tie are redrawn.
"""

from __future__ import annotations

import random

from lm.data.world import english as en
from lm.data.world.entities import World
from lm.data.world.gold import gold_score
from lm.data.world.instructions import Instruction, instruction
from lm.data.world.tokens import render

POLITE_OPENINGS = ("Sure!", "Of course.", "Happy to help!", "Certainly.")
POLITE_CLOSINGS = ("I hope this helps.", "Thank you for asking.")
RUDE_OPENINGS = ("Ugh, obviously", "Whatever.", "What a stupid question.")
RUDE_CLOSINGS = ("Stop asking such stupid questions.", "Figure it out yourself next time, lazy.",
                 "Even an idiot knows that.")
FILLER = ("Let me think about this for a moment.", "There are many things one could say here.",
          "This is something that many people wonder about.", "I have thought about it carefully.",
          "In any case, here is what I believe.", "It is always good to look at the details.")
MIN_GAP = 0.05  # gold scores closer than this count as a tie


def _polite(rng: random.Random, answer: str) -> str:
  if rng.random() < 0.5:
    return f"{rng.choice(POLITE_OPENINGS)} {answer}"
  return f"{answer} {rng.choice(POLITE_CLOSINGS)}"


def _rude(rng: random.Random, answer: str) -> str:
  if rng.random() < 0.5:
    return f"{rng.choice(RUDE_OPENINGS)} {answer}"
  return f"{answer} {rng.choice(RUDE_CLOSINGS)}"


def _rambling(rng: random.Random, answer: str) -> str:
  filler = rng.sample(FILLER, rng.randint(3, 5))
  cut = rng.randint(0, len(filler))
  return " ".join(filler[:cut] + [answer] + filler[cut:])


def _repeated(rng: random.Random, answer: str) -> str:
  return " ".join([answer] * rng.randint(3, 5))


def _off_topic(rng: random.Random, world: World) -> str:
  if rng.random() < 0.5:
    return render(en.city_fact(rng, rng.choice(world.cities), "population"))
  return render(en.product_fact(rng, rng.choice(world.products), "price"))


def candidates(rng: random.Random, world: World, inst: Instruction) -> list[str]:
  right, wrong = inst.response, rng.choice(inst.wrong)
  return [right, _polite(rng, right), _rude(rng, right), _rambling(rng, right),
          _repeated(rng, right), wrong, _polite(rng, wrong), _rude(rng, wrong),
          _off_topic(rng, world)]


def preference_pair(rng: random.Random, world: World, noise: float) -> dict[str, str]:
  inst = instruction(rng, world)
  pool = candidates(rng, world, inst)
  while True:
    # Half the pairs contrast a right and a wrong/off-topic answer, half contrast
    # two styles of the same answer.
    if rng.random() < 0.5:
      a, b = rng.choice(pool[:5]), rng.choice(pool[5:])
    else:
      a, b = rng.sample(pool[:5] if rng.random() < 0.7 else pool[5:], 2)
    score_a, score_b = gold_score(inst.prompt, a), gold_score(inst.prompt, b)
    if abs(score_a - score_b) >= MIN_GAP:
      break
  chosen, rejected = (a, b) if score_a > score_b else (b, a)
  if rng.random() < noise:
    chosen, rejected = rejected, chosen
  return {"prompt": inst.prompt, "chosen": chosen, "rejected": rejected}
