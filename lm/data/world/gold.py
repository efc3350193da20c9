"""The hidden gold preference function used to label preference pairs and to
score RL policies.

``gold_score(prompt, response)`` = 4 * correctness      in [0, 4]
                                 + 1 * on_topic         in [0, 1]
                                 + 0.25 if polite       (a polite phrase, no rude word)
                                 - rudeness             in [0, 1] (0.5 per rude word)
                                 - verbosity            in [0, 1] (words beyond the need)
                                 - repetition           in [0, 1] (repeated word trigrams)
so it lies in [-3, 5.25]. Correctness dominates (a correct answer beats a wrong one
unless it is rude, rambling *and* repetitive at once); the other terms are what a
policy can learn on top. Correctness comes from re-solving the prompt
(``solve.expected``); for a prompt it does not recognise the correctness term is
dropped (range [-3, 1.25]). Any string is accepted; the result is always finite.
"""

from __future__ import annotations

from lm.data.world.ner import is_name_word
from lm.data.world.solve import expected
from lm.data.world.tokens import tokenize

CORRECTNESS_WEIGHT = 4.0
POLITE_BONUS = 0.25
RUDE_WORDS = frozenset({"stupid", "idiot", "dumb", "obviously", "whatever", "ugh", "pathetic",
                        "lazy", "clueless", "useless", "shut", "annoying", "moron"})
POLITE_PHRASES = ("sure", "happy to help", "glad to help", "i hope this helps", "thank you",
                  "please", "of course", "certainly")
FUNCTION_WORDS = frozenset(
    "a an the is are was were be it its this that these those of in on at to for from by "
    "with and or but as i you he she they we his her their them him me my your our there "
    "here answer text list".split())
DEFAULT_BUDGET = 40  # words allowed when the prompt is not recognised


def _repetition(words: list[str]) -> float:
  trigrams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
  if len(trigrams) < 2:
    return 0.0
  return 1.0 - len(set(trigrams)) / len(trigrams)


def score_components(prompt: str, response: str) -> dict[str, float]:
  """The terms of ``gold_score`` (correctness is None for an unrecognised prompt)."""
  task = expected(prompt)
  tokens = tokenize(response)
  words = [t.lower() for t in tokens if t.isalnum()]
  lowered = " " + " ".join(words) + " "
  rude_count = sum(1 for w in words if w in RUDE_WORDS)
  polite = rude_count == 0 and any(f" {p} " in lowered for p in POLITE_PHRASES)
  allowed = set(tokenize(prompt.lower())) | FUNCTION_WORDS
  if task is not None:
    allowed |= task.vocabulary
  content = [t for t in tokens if t.isalnum() and t.lower() not in FUNCTION_WORDS
             and t.lower() not in RUDE_WORDS]
  if not words:
    on_topic = 0.0
  elif not content:
    on_topic = 1.0
  else:
    ok = sum(1 for t in content if t.lower() in allowed
             or (task is not None and task.open_names and is_name_word(t)))
    on_topic = ok / len(content)
  budget = task.budget if task is not None else DEFAULT_BUDGET
  return {
      "correctness": None if task is None else float(task.check(response)),
      "on_topic": on_topic,
      "polite": POLITE_BONUS if polite else 0.0,
      "rudeness": min(1.0, 0.5 * rude_count),
      "verbosity": min(1.0, max(0, len(words) - budget) / budget),
      "repetition": _repetition(words),
  }


def correctness(prompt: str, response: str) -> float | None:
  """How right `response` is for the re-solved `prompt` (in [0, 1]); None for a prompt not recognised."""
  task = expected(prompt)
  return None if task is None else float(task.check(response))


def gold_score(prompt: str, response: str) -> float:
  """Hidden reward of ``response`` to ``prompt``; see the module docstring."""
  return total(score_components(prompt, response))


def total(c: dict[str, float]) -> float:
  """``gold_score`` from its terms (``score_components``)."""
  correctness = c["correctness"] or 0.0
  return float(CORRECTNESS_WEIGHT * correctness + c["on_topic"] + c["polite"]
               - c["rudeness"] - c["verbosity"] - c["repetition"])
