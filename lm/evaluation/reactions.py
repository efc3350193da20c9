"""Does a causal LM know a review sentence's polarity before any label? Its guess of the reviewer's reaction.

With `WorldConfig.review_reactions`, review documents of `world/text` follow sentences with "I was delighted." or
"I was disappointed." by the sentence's polarity. At each "I was" the model's next-token mass on the positive
reaction words (first pieces) against the negative ones is its guess; `agreement` is the share of reactions whose
polarity it guesses right (0.5 = it learned the reaction words but not what decides between them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable

import numpy as np

from lm.data.world import evaluative
from lm.evaluation import uncertainty

PROMPT = "I was"


def agreement(next_logprobs: Callable[[list[int]], np.ndarray], tokenizer, texts: Iterable[str], *,
              max_items: int = 150, max_len: int = 512) -> dict[str, float]:
  """`agreement` (with `agreement_stderr`) and `items` over the first `max_items` "I was <word>." reactions.

  `next_logprobs(ids)` gives the model's next-token log-probabilities after `ids` (bos first; the document is cut
  from the left to `max_len`).
  """
  words = evaluative.was_reactions()
  pieces = {sign: {tokenizer.encode(w)[0] for w in ws} for sign, ws in words.items()}
  if pieces[1] & pieces[-1]:
    raise ValueError(f"The reaction words share first pieces under this tokenizer: {pieces}.")
  pattern = re.compile(rf"{PROMPT} ({'|'.join(words[1] + words[-1])})\.")
  matches = itertools.islice(((text, m) for text in texts for m in pattern.finditer(text)), max_items)
  hits = []
  for text, match in matches:
    ids = tokenizer.encode(text[:match.start()] + PROMPT)[-(max_len - 1):]
    probs = np.exp(next_logprobs([tokenizer.bos_id, *ids]))
    guess = 1 if probs[list(pieces[1])].sum() > probs[list(pieces[-1])].sum() else -1
    hits.append(guess == (1 if match.group(1) in words[1] else -1))
  if not hits:
    raise ValueError("No 'I was <reaction>.' in these texts: is the world's review_reactions on?")
  return {"agreement": float(np.mean(hits)), "agreement_stderr": uncertainty.stderr(hits), "items": float(len(hits))}
