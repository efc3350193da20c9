"""Instruction-following records: eight task families over the world.

Every prompt is built so that ``solve.expected`` can re-derive the answer from the
prompt alone (the gold preference function depends on it); each family also
returns plausible *wrong* answers for the preference view.
"""

from __future__ import annotations

import dataclasses
import random

from lm.data.world import english as en
from lm.data.world.documents import document
from lm.data.world.pages import list_items
from lm.data.world.entities import Person, World
from lm.data.world.ner import entities_by_form
from lm.data.world.sentiment import review
from lm.data.world.tokens import Tagged, article, render, words
from lm.data.world.translation import english_sentence
from lm.data.world.zx import translate_to_zx

QA_QUESTIONS = {  # question -> (relation, answer slot, response template)
    "Where was {P} born?": ("born", "city", "{P} was born in {city}."),
    "In which year was {P} born?": ("born", "year", "{P} was born in {year}."),
    "Where does {P} live?": ("lives", "city", "{P} lives in {city}."),
    "Which organisation does {P} work for?": ("works", "org", "{P} works for {org}."),
    "What does {P} do for a living?": ("works", "prof", "{P} works as {a} {prof}."),
    "Where did {P} study?": ("studied", "org", "{P} studied at {org}."),
    "Which organisation did {P} found?": ("founded", "org", "{P} founded {org}."),
}
QA_FORMATS = ("{passage}\n\nQuestion: {question}",
              "Read the text and answer the question.\n\n{passage}\n\n{question}",
              "{question} Answer using the passage below.\n\n{passage}")
FACT_QUESTIONS = {
    "Which country is {X} in?": ("in_country", "country", "{X} is in {country}."),
    "Where is {X} based?": ("based", "city", "{X} is based in {city}."),
    "Which company makes the {X}?": ("makes", "org", "The {X} is made by {org}."),
    "How much does the {X} cost?": ("price", "price", "The {X} costs {price} crowns."),
}
FACT_FORMATS = ("Answer the question using the facts below.\n\n{passage}\n\nQuestion: {question}",
                "{passage}\n\n{question} Give a short answer.")
TRANSLATE_TO_ZX = ("Translate into Zx:\n{source}", "How do you say this in Zx?\n\n{source}",
                   "Please translate the following sentence from English to Zx.\n\n{source}")
TRANSLATE_TO_EN = ("Translate into English:\n{source}",
                   "What does this Zx sentence mean in English?\n\n{source}")
SENTIMENT_FORMATS = ("Is the following review positive or negative?\n\n{review}",
                     "Classify the sentiment of this review as positive or negative.\n\n{review}",
                     "{review}\n\nWas the reviewer happy? Answer positive or negative.")
SENTIMENT_RESPONSES = ("{label}", "The review is {label}.", "It is {label}.")
ENTITY_KINDS = {"people": "PER", "organisations": "ORG", "places": "LOC"}
ENTITY_FORMATS = ("List the {kind} mentioned in the text below.\n\n{passage}",
                  "Which {kind} are mentioned in this passage?\n\n{passage}",
                  "Name all the {kind} mentioned in the following text.\n\n{passage}")
ENTITY_RESPONSES = ("The {kind} mentioned are {list}.", "The text mentions {list}.")
ENTITY_SINGLE = {"people": "The only person mentioned is {list}.",
                 "organisations": "The only organisation mentioned is {list}.",
                 "places": "The only place mentioned is {list}."}
CONTINUE_FORMATS = ("Continue the biography with one more sentence.\n\n{passage}",
                    "Write the next sentence of this text.\n\n{passage}",
                    "Add one sentence to this biography:\n\n{passage}")
COUNT_QUESTIONS = ("How many entries are on this list?", "How many items does the list have?")
COUNT_CITY_QUESTIONS = ("How many of the people on this list live in {city}?",)
COUNT_RESPONSES = ("There are {n} entries on the list.", "The list has {n} entries.")
COUNT_CITY_RESPONSES = ("The number of people on the list who live in {city} is {n}.",)
COMPARE_QUESTIONS = {"Who is older, {A} or {B}?": "older", "Who is younger, {A} or {B}?": "younger",
                     "Which is cheaper, the {A} or the {B}?": "cheaper",
                     "Which is more expensive, the {A} or the {B}?": "dearer"}
COMPARE_RESPONSES = {"older": "{W} is older.", "younger": "{W} is younger.",
                     "cheaper": "The {W} is cheaper.", "dearer": "The {W} is more expensive."}
TASKS = ("qa", "fact", "translate", "sentiment", "entities", "continue", "count", "compare")


@dataclasses.dataclass
class Instruction:
  prompt: str
  response: str
  task: str
  wrong: list[str]  # plausible incorrect responses, for preference pairs


def _join(sentences: list[Tagged]) -> str:
  return " ".join(render(s) for s in sentences)


def _names(items: list[str]) -> str:
  return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def qa(rng: random.Random, world: World) -> Instruction:
  p = rng.choice(world.people)
  question = rng.choice([q for q, (rel, _, _) in QA_QUESTIONS.items()
                         if (rel != "founded" or p.founded) and (rel != "studied" or p.alma)])
  relation, slot, answer = QA_QUESTIONS[question]
  others = [r for r in ("born", "lives", "works", "studied", "age", "speaks", "likes")
            if r != relation]
  nar = en.Narrator(rng)
  relations = rng.sample(others, rng.randint(2, 4)) + [relation]
  rng.shuffle(relations)
  sentences = [s for s in (en.person_fact(rng, nar, p, r) for r in relations) if s]
  if rng.random() < 0.4:
    q = rng.choice(world.people)
    extra = [s for s in (en.person_fact(rng, nar, q, r) for r in rng.sample(others, 2)) if s]
    sentences = extra + sentences if rng.random() < 0.5 else sentences + extra
  org = {"works": p.employer, "studied": p.alma,
         "founded": p.founded[0] if p.founded else None}.get(relation)
  city = p.birth_city if relation == "born" else p.home_city
  values = {"P": p.name, "city": city.name, "year": str(p.birth_year), "prof": p.profession,
            "a": article(p.profession), "org": org.name if org else ""}
  decoys = {"city": [c.name for c in rng.sample(world.cities, 3) if c is not city],
            "year": [str(p.birth_year + d) for d in (-3, 2, 5)],
            "org": [o.name for o in rng.sample(world.orgs, 3) if o is not org],
            "prof": [x for x in ("teacher", "pilot", "nurse") if x != p.profession]}[slot]
  wrong = [answer.format(**{**values, slot: d, "a": article(d)}) for d in decoys]
  prompt = rng.choice(QA_FORMATS).format(passage=_join(sentences),
                                         question=question.format(P=p.name))
  return Instruction(prompt, answer.format(**values), "qa", wrong)


def fact(rng: random.Random, world: World) -> Instruction:
  question = rng.choice(tuple(FACT_QUESTIONS))
  relation, slot, answer = FACT_QUESTIONS[question]
  cities = rng.sample(world.cities, 2)
  orgs = rng.sample(world.orgs, 2)
  products = rng.sample(world.products, 2)
  nar = en.Narrator(rng)
  sentences = ([en.city_fact(rng, c, "in_country") for c in cities]
               + [en.org_fact(rng, nar, o, "based") for o in orgs]
               + [en.product_fact(rng, q, r) for q in products for r in ("makes", "price")])
  rng.shuffle(sentences)
  if slot == "country":
    x, right, pool = cities[0].name, cities[0].country.name, [c.name for c in world.countries]
  elif slot == "city":
    x, right, pool = orgs[0].name, orgs[0].city.name, [c.name for c in world.cities[:20]]
  elif slot == "org":
    x, right, pool = products[0].name, products[0].maker.name, [o.name for o in orgs]
    pool += [products[1].maker.name]
  else:
    x, right = products[0].name, str(products[0].price)
    pool = [str(products[1].price), str(products[0].price + 10)]
  decoys = [d for d in rng.sample(pool, min(3, len(pool))) if d != right]
  prompt = rng.choice(FACT_FORMATS).format(passage=_join(sentences),
                                           question=question.format(X=x))
  return Instruction(prompt, answer.format(X=x, **{slot: right}), "fact",
                     [answer.format(X=x, **{slot: d}) for d in decoys])


def translate(rng: random.Random, world: World) -> Instruction:
  english = english_sentence(rng, world)
  zx = translate_to_zx(english)
  other = english_sentence(rng, world)
  if rng.random() < 0.7:
    prompt, response = rng.choice(TRANSLATE_TO_ZX).format(source=english), zx
    wrong = [translate_to_zx(other), english, " ".join(reversed(zx[:-1].split())) + "."]
  else:
    prompt, response = rng.choice(TRANSLATE_TO_EN).format(source=zx), english
    wrong = [other, zx]
  return Instruction(prompt, response, "translate", wrong)


def sentiment(rng: random.Random, world: World) -> Instruction:
  label = rng.randint(0, 1)
  text = _join(review(rng, world, label, rng.random() < 0.4))
  template = rng.choice(SENTIMENT_RESPONSES)
  names = ("negative", "positive")
  return Instruction(rng.choice(SENTIMENT_FORMATS).format(review=text),
                     template.format(label=names[label]), "sentiment",
                     [template.format(label=names[1 - label])])


def entity_set(tokens: list[str], kind: str) -> list[str]:
  """Distinct entities of CoNLL ``kind`` in order; a lone first name counts only
  when no full name starts with it."""
  found = [text for text, k in entities_by_form(tokens) if k == kind]
  full = {t.split()[0] for t in found if " " in t} if kind == "PER" else set()
  out: list[str] = []
  for text in found:
    if text not in out and text not in full:
      out.append(text)
  return out


def entities(rng: random.Random, world: World) -> Instruction:
  while True:
    doc = document(rng, world)
    if doc.genre in ("list", "glossary"):
      continue
    sentences = [s for s in doc.sentences() if s[-1][0] in ".?!"]  # no headlines
    start = rng.randrange(max(1, len(sentences) - 4))
    passage = sentences[start:start + rng.randint(2, 5)]
    kind = rng.choice(tuple(ENTITY_KINDS))
    found = entity_set([w for s in passage for w in words(s)], ENTITY_KINDS[kind])
    if found:
      break
  text = "\n".join(render(s) for s in passage) if doc.genre == "dialogue" else _join(passage)
  template = rng.choice(ENTITY_RESPONSES)
  if len(found) == 1 and rng.random() < 0.7:
    template = ENTITY_SINGLE[kind]
  pool = {"PER": world.people, "LOC": world.cities, "ORG": world.orgs}[ENTITY_KINDS[kind]]
  stranger = rng.choice([x.name for x in rng.sample(pool, 5) if x.name not in found])
  decoy = [found[:-1] or [stranger], found + [stranger]]
  return Instruction(rng.choice(ENTITY_FORMATS).format(kind=kind, passage=text),
                     template.format(kind=kind, list=_names(found)), "entities",
                     [(template if len(d) == 1 else ENTITY_RESPONSES[0]).format(
                         kind=kind, list=_names(d)) for d in decoy])


def continuation(rng: random.Random, world: World) -> Instruction:
  p: Person = rng.choice(world.people)
  nar = en.Narrator(rng, pronoun_rate=1.0)
  relations = [r for r in ("born", "studied", "works", "founded", "lives", "speaks", "likes",
                           "age") if (r != "studied" or p.alma) and (r != "founded" or p.founded)]
  k = rng.randint(2, min(4, len(relations) - 1))
  sentences = [en.person_fact(rng, nar, p, r) for r in relations[:k + 1]]
  response = render(sentences[-1])
  other = rng.choice(world.people)
  swap = {"he": "she", "she": "he", "they": "she"}
  subj = p.pronouns[0]
  wrong_pronoun = " ".join(swap[subj].capitalize() if w.lower() == subj else w
                           for w in response.split(" "))
  wrong = [wrong_pronoun, response.replace(p.first, other.first) if p.first in response
           else render(en.person_fact(rng, en.Narrator(rng), other, "born")),
           render(sentences[0])]
  return Instruction(rng.choice(CONTINUE_FORMATS).format(passage=_join(sentences[:-1])),
                     response, "continue", wrong)


def count(rng: random.Random, world: World) -> Instruction:
  kind = rng.choice(("staff", "residents", "products", "cities", "orgs", "staff"))
  title, items = list_items(rng, world, kind)
  if len(items) < 2:
    return count(rng, world)
  listing = "\n".join(render(s) for s in [title] + items)
  n = len(items)
  if kind == "staff" and rng.random() < 0.6:
    cities = [t for s in items for t, k in entities_by_form(words(s)) if k == "LOC"]
    city = rng.choice(cities)
    n = sum(1 for s in items if (city, "LOC") in entities_by_form(words(s)))
    question = COUNT_CITY_QUESTIONS[0].format(city=city)
    template = COUNT_CITY_RESPONSES[0]
    answer = template.format(n=n, city=city)
    wrong = [template.format(n=m, city=city) for m in (n + 1, n + 2, max(0, n - 1)) if m != n]
  else:
    question = rng.choice(COUNT_QUESTIONS)
    template = rng.choice(COUNT_RESPONSES)
    answer = template.format(n=n)
    wrong = [template.format(n=m) for m in (n + 1, n - 1, n + 3)]
  return Instruction(f"{listing}\n\n{question}", answer, "count", wrong)


def compare(rng: random.Random, world: World) -> Instruction:
  question = rng.choice(tuple(COMPARE_QUESTIONS))
  mode = COMPARE_QUESTIONS[question]
  nar = en.Narrator(rng)
  if mode in ("older", "younger"):
    a, b = rng.sample(world.people, 2)
    while a.birth_year == b.birth_year:
      b = rng.choice(world.people)
    sentences = [en.person_fact(rng, nar, x, rng.choice(("born", "age"))) for x in (a, b)]
    older, younger = (a, b) if a.birth_year < b.birth_year else (b, a)
    win, lose = (older, younger) if mode == "older" else (younger, older)
    labels = (a.name, b.name)
  else:
    a, b = rng.sample(world.products, 2)
    while a.price == b.price:
      b = rng.choice(world.products)
    sentences = [en.product_fact(rng, x, "price") for x in (a, b)]
    cheap, dear = (a, b) if a.price < b.price else (b, a)
    win, lose = (cheap, dear) if mode == "cheaper" else (dear, cheap)
    labels = (a.name, b.name)
  rng.shuffle(sentences)
  template = COMPARE_RESPONSES[mode]
  prompt = _join(sentences) + "\n\n" + question.format(A=labels[0], B=labels[1])
  return Instruction(prompt, template.format(W=win.name), "compare",
                     [template.format(W=lose.name)])


FAMILIES = {"qa": qa, "fact": fact, "translate": translate, "sentiment": sentiment,
            "entities": entities, "continue": continuation, "count": count, "compare": compare}


def instruction(rng: random.Random, world: World, task: str | None = None) -> Instruction:
  return FAMILIES[task or rng.choice(TASKS)](rng, world)
