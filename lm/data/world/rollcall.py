"""Roll calls: made-up names read out, then read again from one of them (`WorldConfig.roll_calls`).

    Roll call of the Vessen club: Aldo Prenk, Mirasel Dut, Ovin Karo, Tesla Brun and Umi Fasker.
    Again from Ovin Karo: Ovin Karo, Tesla Brun and Umi Fasker.

The names are made up for the document, so nothing but the first reading predicts the second, and where the second
starts is given by a name, not a position: to continue it a model must find that name earlier in its context and
copy what followed it, the induction mechanism (Olsson et al. 2022) that copying a name from a prompt, looking a fact
up in it and learning from demonstrations rest on. Recaps repeat ordinary sentences, which the weights partly
predict anyway; a roll call repeats nothing else.
"""

from __future__ import annotations

import random

from lm.data.world.layout import Document, name_list
from lm.data.world.names import NameMaker
from lm.data.world.tokens import tokenize

GROUPS = ("club", "choir", "crew", "class", "team", "guild")
SIZES = (6, 16)  # names per roll call


def roll_call(rng: random.Random) -> Document:
  """A roll call of made-up people (their names avoid the world's English words) and its second reading."""
  from lm.data.world.vocab import known_words  # late: vocab walks every module

  maker = NameMaker(rng, known_words())
  people = [[(maker.first_name(rng.choice("fm")), "B-PER"), (maker.surname(), "I-PER")]
            for _ in range(rng.randint(*SIZES))]
  first = rng.randrange(len(people) - 2)  # at least three names read again
  group = [(tok, "O") for tok in tokenize(f"Roll call of the {maker.stem()} {rng.choice(GROUPS)}:")]
  again = [("Again", "O"), ("from", "O"), *people[first], (":", "O")]
  return Document("roll_call", [[group + name_list(people) + [(".", "O")]],
                                [again + name_list(people[first:]) + [(".", "O")]]])
