"""English -> Zx translation (deterministic) for the translation grammar.

Zx grammar: clauses are [time] subject [postpositional phrases] [object] verb (SOV);
adjectives and numerals follow the noun; plural ``-ri`` and object case ``-ko`` are
noun suffixes; tense is a verb suffix (``-en`` present, ``-ot`` past, ``-ir`` future)
and negation the prefix ``ne-``; "be" is the verb ``es``; "a" is the particle ``u``
and "the" is dropped; prepositions become postpositions; "A because B" becomes
"B zan A". Names are transliterated letter by letter (``transliterate``).
"""

from __future__ import annotations

from lm.data.world.tokens import tokenize
from lm.data.world.zx_lexicon import (ADJECTIVES, CONJUNCTIONS, COPULA, ENGLISH_WORDS,
                                      INDEFINITE, NEGATION, NOUN_FORMS, NUMERALS, OBJECT,
                                      OBJECT_PRONOUNS, PLURAL, POSTPOSITIONS, STEMS,
                                      SUBJECT_PRONOUNS, TENSES, TIME_WORDS,
                                      TRANSITIVE_VERBS, VERB_FORMS)

_LETTERS = {"c": "k", "q": "k", "x": "ks", "w": "v", "v": "w", "y": "i", "j": "dj"}
_DIGRAPHS = {"th": "z", "sh": "s", "ch": "tj"}
_COPULAS = {"am": "present", "is": "present", "are": "present", "was": "past", "were": "past"}


def transliterate(name: str) -> str:
  """Zx spelling of a (capitalised) name token: "Thavik" -> "Zawik"."""
  low, out, i = name.lower(), [], 0
  while i < len(low):
    if low[i:i + 2] in _DIGRAPHS:
      out.append(_DIGRAPHS[low[i:i + 2]])
      i += 2
    else:
      out.append(_LETTERS.get(low[i], low[i]))
      i += 1
  word = "".join(out)
  return word[:1].upper() + word[1:]


def _is_name(token: str) -> bool:
  return token[:1].isupper() and token.isalpha() and token.lower() not in ENGLISH_WORDS


class _Parser:
  def __init__(self, tokens: list[str], sentence: str):
    self.toks, self.i, self.sentence = tokens, 0, sentence

  def error(self, what: str) -> ValueError:
    return ValueError(f"translate_to_zx: expected {what} at word {self.i + 1} of "
                      f"{self.sentence!r}; only the translation view's grammar is supported")

  def peek(self) -> str:
    return self.toks[self.i].lower() if self.i < len(self.toks) else ""

  def take(self) -> str:
    tok = self.toks[self.i]
    self.i += 1
    return tok

  def noun_phrase(self, case: str) -> list[str]:
    """case: "subject", "object" (suffix -ko) or "oblique" (before a postposition)."""
    suffix = OBJECT if case == "object" else ""
    word = self.peek()
    pronouns = OBJECT_PRONOUNS if case != "subject" else SUBJECT_PRONOUNS
    if word in pronouns:
      self.take()
      return [pronouns[word] + suffix]
    if self.i < len(self.toks) and _is_name(self.toks[self.i]):
      names = []
      while self.i < len(self.toks) and _is_name(self.toks[self.i]):
        names.append(transliterate(self.take()))
      names[-1] += suffix
      return names
    out: list[str] = []
    if word in ("a", "an"):
      self.take()
      out.append(INDEFINITE)
    elif word == "the":
      self.take()
    number = [STEMS[self.take().lower()]] if self.peek() in NUMERALS else []
    adjectives = []
    while self.peek() in ADJECTIVES:
      adjectives.append(STEMS[self.take().lower()])
    if self.peek() not in NOUN_FORMS:
      raise self.error("a noun")
    lemma, is_plural = NOUN_FORMS[self.take().lower()]
    return out + [STEMS[lemma] + (PLURAL if is_plural else "") + suffix] + adjectives + number

  def clause(self) -> list[str]:
    time = [STEMS[self.take().lower()]] if self.peek() in TIME_WORDS else []
    subject = self.noun_phrase("subject")
    word, negated = self.peek(), False
    after = [t.lower() for t in self.toks[self.i + 1:self.i + 3]]
    if word in _COPULAS or (word == "will" and (after[:1] == ["be"] or after == ["not", "be"])):
      tense = _COPULAS.get(self.take().lower(), "future")
      if self.peek() == "not":
        self.take()
        negated = True
      if tense == "future":
        if self.peek() != "be":
          raise self.error('"be"')
        self.take()
      if self.peek() in POSTPOSITIONS:
        predicate = self.postpositional()
      elif self.peek() in ADJECTIVES:
        predicate = [STEMS[self.take().lower()]]
      else:
        raise self.error("an adjective or a preposition")
      verb = (NEGATION if negated else "") + COPULA + TENSES[tense]
      return time + subject + predicate + [verb]
    if word in ("will", "does", "do", "did"):
      self.take()
      tense = {"will": "future", "did": "past"}.get(word, "present")
      if self.peek() == "not":
        self.take()
        negated = True
      elif word != "will":
        raise self.error('"not"')
      form = VERB_FORMS.get(self.peek())
      if form is None or form[1] != "base":
        raise self.error("a verb")
      lemma = form[0]
    elif word in VERB_FORMS:
      lemma, kind = VERB_FORMS[word]
      tense = "past" if kind == "past" else "present"
    else:
      raise self.error("a verb")
    self.take()
    obj = self.noun_phrase("object") if lemma in TRANSITIVE_VERBS else []
    phrases: list[str] = []
    while self.peek() in POSTPOSITIONS:
      phrases += self.postpositional()
    if self.i != len(self.toks):
      raise self.error("the end of the clause")
    verb = (NEGATION if negated else "") + STEMS[lemma] + TENSES[tense]
    return time + subject + phrases + obj + [verb]

  def postpositional(self) -> list[str]:
    preposition = self.take().lower()
    return self.noun_phrase("oblique") + [POSTPOSITIONS[preposition]]


def translate_to_zx(english: str) -> str:
  """Deterministic Zx translation of a sentence of the translation view's grammar.

  Raises ValueError (naming the word) on English outside that grammar.
  """
  tokens = [t for t in tokenize(english.strip()) if t != ","]
  if len(tokens) < 3 or tokens[-1] != ".":
    raise ValueError(f"translate_to_zx: expected one sentence ending in '.', "
                     f"got {english!r}")
  clauses: list[list[str]] = [[]]
  conjunctions: list[str] = []
  for tok in tokens[:-1]:
    if tok.lower() in CONJUNCTIONS:
      conjunctions.append(tok.lower())
      clauses.append([])
    else:
      clauses[-1].append(tok)
  zx = _Parser(clauses[0], english).clause()
  for conjunction, clause in zip(conjunctions, clauses[1:]):
    nxt = _Parser(clause, english).clause()
    if conjunction == "because":
      zx = nxt + [CONJUNCTIONS[conjunction]] + zx
    else:
      zx = zx + [CONJUNCTIONS[conjunction]] + nxt
  zx[0] = zx[0][:1].upper() + zx[0][1:]
  return " ".join(zx) + "."
