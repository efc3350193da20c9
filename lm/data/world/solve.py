"""Re-solving an instruction prompt from its text alone (for ``gold_score``).

``expected(prompt)`` recognises the family from the instruction wording, parses
the passage with the known templates and spelling conventions, and returns an
``Expected``: a correctness check for any response, the number of words a full
answer needs, and the words an on-topic answer may use.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Callable, Optional

from lm.data.world import instructions as ins
from lm.data.world.english import RELATION_KEYWORDS
from lm.data.world.entities import PROFESSIONS
from lm.data.world.names import CITY_SUFFIXES, COUNTRY_SUFFIXES
from lm.data.world.ner import entities_by_form, tag_by_form
from lm.data.world.sentiment import review_label
from lm.data.world.tokens import template_words, tokenize
from lm.data.world.vocab import known_words
from lm.data.world.zx import transliterate, translate_to_zx
from lm.data.world.zx_lexicon import ENGLISH_WORDS, ZX_FORMS

_NAME = r"[A-Z][A-Za-z]*(?: [A-Z0-9][A-Za-z0-9]*)*"
_PRONOUNS = {"he", "she", "they"}
_PROFESSIONS = sorted({p for group in PROFESSIONS.values() for p in group}, key=len, reverse=True)
_NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine "
                                            "ten eleven twelve".split())}


@dataclasses.dataclass
class Expected:
  task: str
  check: Callable[[str], float]  # response -> correctness in [0, 1]
  budget: int  # words a complete, concise answer needs
  vocabulary: frozenset[str]  # lower-cased words an on-topic answer may use
  open_names: bool = False  # names not in the prompt are on topic (new facts)


def _question_regex(template: str) -> re.Pattern:
  pattern = re.escape(template)
  for slot in ("P", "X", "A", "B", "city"):
    pattern = pattern.replace(re.escape("{" + slot + "}"), f"(?P<{slot}>{_NAME})")
  return re.compile(pattern)


_QA = [(_question_regex(q), spec) for q, spec in ins.QA_QUESTIONS.items()]
_FACT = [(_question_regex(q), spec) for q, spec in ins.FACT_QUESTIONS.items()]
_COMPARE = [(_question_regex(q), mode) for q, mode in ins.COMPARE_QUESTIONS.items()]
_COUNT_CITY = _question_regex(ins.COUNT_CITY_QUESTIONS[0])
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")


def _vocab(*templates: str) -> frozenset[str]:
  return frozenset(w.lower() for t in templates for w in template_words(t))


def sentences(text: str) -> list[list[str]]:
  return [tokenize(s) for s in _SENTENCE_END.split(text) if s.strip()]


def _contains(tokens: list[str], phrase: str) -> bool:
  target = phrase.split()
  return any(tokens[i:i + len(target)] == target for i in range(len(tokens) - len(target) + 1))


def _answer_check(answer: str, rivals: list[str]) -> Callable[[str], float]:
  """1 if the response names ``answer`` and no rival, 0.5 if it hedges, else 0."""
  rivals = [r for r in rivals if r != answer and not _contains(answer.split(), r)]

  def check(response: str) -> float:
    tokens = tokenize(response)
    if not _contains(tokens, answer):
      return 0.0
    return 0.5 if any(_contains(tokens, r) for r in rivals) else 1.0
  return check


def _slot_values(tokens: list[str], slot: str) -> list[str]:
  """Candidate answers of type ``slot`` in one sentence."""
  if slot in ("year", "price", "age"):
    size = {"year": (4,), "price": (1, 2, 3, 4), "age": (1, 2, 3)}[slot]
    return [t for t, tag in zip(tokens, tag_by_form(tokens))
            if tag == "O" and t.isdigit() and len(t) in size]
  if slot == "prof":
    text = " " + " ".join(tokens).lower() + " "
    return [p for p in _PROFESSIONS if f" {p} " in text][:1]
  found = entities_by_form(tokens)
  if slot == "org":
    return [t for t, k in found if k == "ORG"]
  ending = CITY_SUFFIXES if slot == "city" else tuple(COUNTRY_SUFFIXES)
  return [t for t, k in found if k == "LOC" and t.lower().endswith(ending)]


def _person_facts(text: str) -> list[tuple[Optional[str], list[str]]]:
  """(full name of the person each sentence is about, tokens), resolving pronouns
  to the last person named and first names to full names."""
  out, current, full = [], None, {}
  for tokens in sentences(text):
    people = [t for t, k in entities_by_form(tokens) if k == "PER"]
    if people:
      name = people[0]
      if " " in name:
        full[name.split()[0]] = name
      current = full.get(name, name)
    elif not any(t.lower() in _PRONOUNS for t in tokens):
      current = None
    out.append((current, tokens))
  return out


def _keyword(tokens: list[str], relation: str) -> bool:
  tags = tag_by_form(tokens)
  return any(tag == "O" and tok.lower() in RELATION_KEYWORDS[relation]
             for tok, tag in zip(tokens, tags))


def _qa(prompt: str) -> Optional[Expected]:
  for regex, (relation, slot, template) in _QA:
    match = regex.search(prompt)
    if not match:
      continue
    person = match.group("P")
    answers, rivals = [], []
    for who, tokens in _person_facts(prompt):
      values = _slot_values(tokens, slot)
      rivals += values
      if who == person and _keyword(tokens, relation):
        answers += values
    if not answers:
      return None
    return Expected("qa", _answer_check(answers[0], rivals), 12, _vocab(template))
  return None


def _fact(prompt: str) -> Optional[Expected]:
  for regex, (relation, slot, template) in _FACT:
    match = regex.search(prompt)
    if not match:
      continue
    subject = match.group("X")
    answers, rivals = [], []
    for tokens in sentences(prompt[:match.start()]):
      values = _slot_values(tokens, slot)
      rivals += values
      if _contains(tokens, subject) and _keyword(tokens, relation):
        answers += [v for v in values if v != subject]
    if not answers:
      return None
    return Expected("fact", _answer_check(answers[0], rivals), 12, _vocab(template))
  return None


def _compare(prompt: str) -> Optional[Expected]:
  for regex, mode in _COMPARE:
    match = regex.search(prompt)
    if not match:
      continue
    a, b = match.group("A"), match.group("B")
    values: dict[str, int] = {}
    if mode in ("older", "younger"):
      for who, tokens in _person_facts(prompt[:match.start()]):
        years = _slot_values(tokens, "year")
        ages = _slot_values(tokens, "age")
        if who and years and "born" in tokens:
          values[who] = int(years[0])
        elif who and ages:
          values[who] = 2024 - int(ages[0])
    else:
      for tokens in sentences(prompt[:match.start()]):
        prices = _slot_values(tokens, "price")
        for name in (a, b):
          if _contains(tokens, name) and prices:
            values[name] = int(prices[-1])
    if a not in values or b not in values or values[a] == values[b]:
      return None
    low, high = (a, b) if values[a] < values[b] else (b, a)
    # "older" = earlier birth year = lower value; "cheaper" = lower price.
    win, lose = (low, high) if mode in ("older", "cheaper") else (high, low)
    names = [win, lose] + [n.split()[0] for n in (win, lose) if mode in ("older", "younger")]
    check_full = _answer_check(win, [lose])
    return Expected("compare", check_full, 8, _vocab(*ins.COMPARE_RESPONSES.values())
                    | {n.lower() for n in names})
  return None


def _numbers(response: str) -> list[int]:
  out = []
  for tok in tokenize(response.lower()):
    if tok.isdigit():
      out.append(int(tok))
    elif tok in _NUMBER_WORDS:
      out.append(_NUMBER_WORDS[tok])
  return out


def _count(prompt: str) -> Optional[Expected]:
  if not any(q in prompt for q in ins.COUNT_QUESTIONS) and not _COUNT_CITY.search(prompt):
    return None
  items = [line for line in prompt.split("\n") if line.startswith("- ")]
  match = _COUNT_CITY.search(prompt)
  if match:
    items = [line for line in items if _contains(tokenize(line), match.group("city"))]
  n = len(items)

  def check(response: str) -> float:
    numbers = _numbers(response)
    return 1.0 if numbers and numbers[0] == n and len(set(numbers)) == 1 else 0.0
  vocab = _vocab(*ins.COUNT_RESPONSES, *ins.COUNT_CITY_RESPONSES) | {str(n)}
  return Expected("count", check, 10, vocab)


def _sentiment(prompt: str) -> Optional[Expected]:
  if "positive or negative" not in prompt:
    return None
  text = " ".join(p for p in prompt.split("\n\n") if "positive or negative" not in p)
  label = ("negative", "positive")[review_label(text)]

  def check(response: str) -> float:
    said = {w for w in tokenize(response.lower()) if w in ("positive", "negative")}
    return 1.0 if said == {label} else 0.0
  return Expected("sentiment", check, 6, _vocab(*ins.SENTIMENT_RESPONSES) | {label})


def _entities(prompt: str) -> Optional[Expected]:
  match = re.match(r"(?:List the|Which|Name all the) (people|organisations|places) "
                   r"(?:are )?mentioned", prompt)
  if not match:
    return None
  kind = ins.ENTITY_KINDS[match.group(1)]
  passage = prompt.split("\n\n", 1)[1] if "\n\n" in prompt else ""
  expected = set(ins.entity_set(tokenize(passage), kind))
  if not expected:
    return None

  def check(response: str) -> float:
    said = set(ins.entity_set(tokenize(response), kind))
    hits = len(said & expected)
    return 0.0 if not hits else 2 * hits / (len(said) + len(expected))
  return Expected("entities", check, 6 + 3 * len(expected),
                  _vocab(*ins.ENTITY_RESPONSES, *ins.ENTITY_SINGLE.values(), match.group(1)))


def _continue(prompt: str) -> Optional[Expected]:
  if not any(f.split("\n")[0].split("{")[0] in prompt for f in ins.CONTINUE_FORMATS):
    return None
  passage = prompt.split("\n\n", 1)[1] if "\n\n" in prompt else prompt
  people = [t for t, k in entities_by_form(tokenize(passage)) if k == "PER" and " " in t]
  pronouns = [t.lower() for t in tokenize(passage) if t.lower() in _PRONOUNS]
  if not people or not pronouns:
    return None
  person, pronoun = people[0], pronouns[0]
  seen = {" ".join(s) for s in sentences(passage)}

  def check(response: str) -> float:
    found = sentences(response)
    if not found or len(found[0]) < 4 or found[0][-1] != ".":
      return 0.0
    first = found[0]
    named = [t for t, k in entities_by_form(first) if k == "PER"]
    said = [t.lower() for t in first if t.lower() in _PRONOUNS]
    if named and any(n not in (person, person.split()[0]) for n in named):
      return 0.0
    if not named and (not said or said[0] != pronoun):
      return 0.0
    if any(p != pronoun for p in said):
      return 0.0
    return 0.5 if " ".join(first) in seen else 1.0
  return Expected("continue", check, 25, known_words(), open_names=True)


def _translate(prompt: str) -> Optional[Expected]:
  lines = [line for line in prompt.split("\n") if line.strip()]
  if len(lines) < 2:
    return None
  instruction, source = " ".join(lines[:-1]), lines[-1].strip()
  if "Zx" not in instruction and "into English" not in instruction:
    return None
  names = {w for w in tokenize(source) if w[:1].isupper()}
  if "into English" in instruction or "in English" in instruction:
    def check(response: str) -> float:
      for candidate in (response.strip(), *response.strip().split("\n")):
        try:
          if translate_to_zx(candidate.strip()) == source:
            return 1.0
        except ValueError:
          continue
      return 0.0
    return Expected("translate", check, len(source.split()) + 8,
                    ENGLISH_WORDS | {n.lower() for n in names})
  try:
    reference = translate_to_zx(source)
  except ValueError:
    return None
  ref = [t.lower() for t in tokenize(reference)]

  def similarity(response: str) -> float:
    out = [t.lower() for t in tokenize(response)]
    if " ".join(ref) in " ".join(out):
      return 1.0
    scores = []
    for n in (1, 2):
      a = [tuple(out[i:i + n]) for i in range(len(out) - n + 1)]
      b = [tuple(ref[i:i + n]) for i in range(len(ref) - n + 1)]
      common = sum(min(a.count(g), b.count(g)) for g in set(b))
      scores.append(0.0 if not common else 2 * common / (len(a) + len(b)))
    return 0.8 * sum(scores) / 2
  vocab = ZX_FORMS | {transliterate(n).lower() + s for n in names for s in ("", "ko")}
  return Expected("translate", similarity, len(ref) + 6, frozenset(vocab))


_SOLVERS = (_translate, _sentiment, _entities, _continue, _count, _compare, _fact, _qa)


@functools.lru_cache(maxsize=4096)
def expected(prompt: str) -> Optional[Expected]:
  """The re-solved task of an instruction prompt, or None if it is not recognised."""
  for solver in _SOLVERS:
    result = solver(prompt)
    if result is not None:
      return result
  return None
