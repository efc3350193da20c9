"""The document container and the helpers that lay sentences out in lines."""

from __future__ import annotations

import dataclasses
import random

from lm.data.world.tokens import Tagged, render


@dataclasses.dataclass
class Document:
  genre: str
  lines: list[list[Tagged]]

  def sentences(self) -> list[Tagged]:
    return [s for line in self.lines for s in line]

  def text(self) -> str:
    return "\n".join(" ".join(render(s) for s in line) for line in self.lines)


def paragraphs(rng: random.Random, sentences: list[Tagged]) -> list[list[Tagged]]:
  cuts = sorted(rng.sample(range(2, len(sentences)), min(rng.randint(0, 2),
                                                          max(0, len(sentences) - 2))))
  bounds = [0] + cuts + [len(sentences)]
  return [sentences[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def name_list(items: list[Tagged]) -> Tagged:
  """``a``, ``a and b``, ``a, b and c``."""
  out: Tagged = []
  for i, item in enumerate(items):
    if i:
      out.append(("and", "O") if i == len(items) - 1 else (",", "O"))
    out.extend(item)
  return out
