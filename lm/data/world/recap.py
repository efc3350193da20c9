"""Recaps: a document ends by repeating some of its own sentences word for word (`WorldConfig.recaps`).

    Lomvik Trand was born in 1961 in Port Azel. He studied at Velbury College. He works for Grenholt.

    To recap: Lomvik Trand was born in 1961 in Port Azel. He works for Grenholt.

Summaries, quotations and repeated choruses make real text say things twice; a model that reads the second time by
looking back at the first has the induction mechanism that in-context learning and looking a fact up in a prompt rest
on (`experiments.copying_probe` measures it). Names of fiction documents are made up per document, so only the first
reading predicts the second.
"""

from __future__ import annotations

import random

from lm.data.world.layout import Document
from lm.data.world.tokens import tokenize

HEADERS = ("To recap:", "In short:", "Once more:", "Summary:")


def with_recap(rng: random.Random, doc: Document) -> Document:
  """`doc` and a last line: a header and 2 to 4 of its sentences, in their order (unchanged if it has fewer than 3)."""
  sentences = [s for s in doc.sentences() if s and s[-1][0] in ".?!"]  # not headlines or list items without a stop
  if len(sentences) < 3:
    return doc
  picked = sorted(rng.sample(range(len(sentences)), min(len(sentences) - 1, rng.randint(2, 4))))
  header = [(tok, "O") for tok in tokenize(rng.choice(HEADERS))]
  return Document(doc.genre, doc.lines + [[], [header] + [sentences[i] for i in picked]])
