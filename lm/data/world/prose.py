"""Prose genres: biographies, news, reviews and dialogues."""

from __future__ import annotations

import random

from lm.data.world import english as en
from lm.data.world.entities import Org, Person, Product, World
from lm.data.world.layout import Document, name_list, paragraphs
from lm.data.world import evaluative
from lm.data.world.sentiment import MONTHS, review, sentence_score
from lm.data.world.tokens import Tagged, article, fill, name_tags, prefix, render

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
NEWS_LAUNCH = ("{city}, {month} {day}, {year} - {org} announced on {weekday} that it will "
               "release {a} {colour} {category} called the {product}.",
               "{org} said on {weekday} that its new {category}, the {product}, will be in "
               "shops from {month}.")
NEWS_LEAD = ("{city}, {month} {day}, {year} - {org} announced on {weekday} that {P} will "
             "lead its new team in {city2}.",
             "{org} said on {weekday} that {P} will head its office in {city2} from {month}.")
NEWS_QUOTE = ("{P}, {a} {prof} at {org}, said that the team had worked on it for {n} months.",
              "According to {P}, who works at {org} as {a} {prof}, the response has been "
              "very strong.")
NEWS_REACTION = ("{P}, who lives in {city}, said that {pron} ^was looking forward to it.",
                 "Not everyone is convinced: {P} from {city} said that {pron} ^was waiting "
                 "for the reviews.")
REVIEW_TITLES = ("Review: the {product}", "Customer review of the {product}",
                 "Travel review: {city}", "My week in {city}")
REVIEW_TAIL = ("Rating: {n} out of 5.", "Reviewed by {P}, {city}.")
HEADLINES = ("{org} launches the {product}", "{P} to lead {org} team in {city2}")
REVIEW_FACTS = ("Some facts about the {product}:",)
REVIEW_REPLY = ("Reply from {org}: Thank you for your review, {first}.",
                "Reply from {org}: Thanks for the feedback, {first}. We read every review.")
REVIEWER = ("About the reviewer: {P} lives in {city} and works as {a} {prof}.",)
DIALOGUE_PRODUCT = ("By the way, have you tried the {product}?", "Do you have the {product}?")
GREETINGS = ("Hi {B}!", "Hello {B}, how are you?", "Good morning, {B}.")
REPLIES = ("Hi {A}.", "Hello {A}! I am fine, thanks.", "Oh, hello {A}.")
OPENERS = ("Have you met {C}?", "I ran into {C} last week.", "Do you know {C}?")
OPENER_REPLIES = ("Yes, I know {C} quite well.", "Of course, everybody knows {C}.")
QUESTIONS = {"born": ("Where was {C} born?", "Do you know where {C} was born?"),
             "lives": ("Where does {C} live now?", "Does {C} still live nearby?"),
             "works": ("What does {C} do for a living?", "Who does {C} work for?"),
             "studied": ("Where did {C} study?", "Did {C} go to university?"),
             "founded": ("Did {C} start a company?", "Is it true that {C} founded a company?"),
             "age": ("How old is {C}?",), "likes": ("What does {C} like?",),
             "speaks": ("Which languages does {C} speak?",)}
CLOSINGS = ("Thanks, {B}!", "That is interesting, thanks.", "Good to know. See you later!")
CLOSING_REPLIES = ("You are welcome, {A}.", "See you later, {A}.", "Bye!")
ORG_STAFF = ("{P} works there as {a} {prof}.", "Among its staff is {P}, {a} {prof}.")
ORG_PRODUCTS = ("Its products include {list}.", "{org} is known for {list}.")
COLLEAGUE = ("At {org}, {S} ^works with {P}.", "One of {poss} colleagues is {P}.")


def org_profile(rng: random.Random, nar: en.Narrator, org: Org) -> list[Tagged]:
  """A paragraph about an organisation: place, history, products and staff."""
  sentences = [en.org_fact(rng, nar, org, "based"), en.org_fact(rng, nar, org, "founded")]
  if org.founder is not None and rng.random() < 0.5:
    nar.last = org.founder
    sentences.append(en.person_fact(rng, nar, org.founder, rng.choice(("born", "lives"))))
  if len(org.products) >= 2:
    sentences.append(fill(rng.choice(ORG_PRODUCTS), {"org": org.mention, "list": name_list(
        [[("the", "O")] + name_tags(q.mention) for q in org.products[:3]])}))
  elif org.products:
    sentences.append(en.product_fact(rng, org.products[0], "makes"))
  for person in org.staff[:rng.randint(0, 2)]:
    sentences.append(fill(rng.choice(ORG_STAFF), {"P": nar.name(person),
                          "a": article(person.profession), "prof": person.profession}))
  return sentences


def biography(rng: random.Random, world: World) -> Document:
  p = rng.choice(world.people)
  nar = en.Narrator(rng)
  sentences = [en.person_fact(rng, nar, p, "intro")] if rng.random() < 0.6 else []
  later = ["speaks", "likes", "dislikes", "age", "likes"]
  rng.shuffle(later)
  for relation in ["born", "studied", "works", "founded", "lives"] + later[:rng.randint(4, 5)]:
    sentence = en.person_fact(rng, nar, p, relation)
    if sentence is None:
      continue
    if sentences and relation in en.CONNECTIVES and rng.random() < 0.25:
      sentence = prefix(rng.choice(en.CONNECTIVES[relation]), sentence)
    sentences.append(sentence)
    extra = []
    if relation == "born" and rng.random() < 0.5:
      extra.append(en.city_fact(rng, p.birth_city, rng.choice(("in_country", "population"))))
    if relation == "studied" and p.alma is not None and rng.random() < 0.5:
      extra.append(en.org_fact(rng, nar, p.alma, rng.choice(("based", "founded"))))
    if relation == "works" and rng.random() < 0.7:
      extra.append(en.org_fact(rng, nar, p.employer, "based"))
      if p.employer.products and rng.random() < 0.5:
        extra.append(en.product_fact(rng, rng.choice(p.employer.products), "makes"))
    if relation == "founded":
      extra.append(en.org_fact(rng, nar, p.founded[0], "based"))
    if relation == "lives" and p.home_city is not p.birth_city and rng.random() < 0.5:
      extra.append(en.city_fact(rng, p.home_city, rng.choice(("in_country", "population"))))
    if relation == "likes" and isinstance(p.likes[0], Product) and rng.random() < 0.5:
      extra.append(en.product_fact(rng, p.likes[0], rng.choice(("makes", "price", "looks"))))
    sentences += extra
  colleagues = [q for q in p.employer.staff if q is not p]
  if colleagues and rng.random() < 0.5:
    slots, plural = nar.subject(p)
    colleague = rng.choice(colleagues)
    slots.update(org=p.employer.mention, P=nar.name(colleague))
    sentences.append(en.say(rng, COLLEAGUE, slots, plural))
    nar.last = colleague
    for relation in rng.sample(("born", "lives", "works", "age", "speaks"), 3):
      sentences.append(en.person_fact(rng, nar, colleague, relation))
  lines = paragraphs(rng, sentences)
  if rng.random() < 0.8:
    lines.append(org_profile(rng, nar, p.employer))
  if rng.random() < 0.3:
    lines.insert(0, [name_tags(p.mention)])
  return Document("biography", lines)


def news(rng: random.Random, world: World) -> Document:
  nar = en.Narrator(rng)
  makers = [o for o in world.companies if o.products and o.staff]
  org = rng.choice(makers)
  year = rng.randint(max(2015, org.founded + 1), 2023)
  slots = {"city": org.city.mention, "month": rng.choice(MONTHS), "day": str(rng.randint(1, 28)),
           "year": str(year), "org": org.mention, "weekday": rng.choice(WEEKDAYS),
           "n": str(rng.randint(3, 30))}
  staff = rng.choice(org.staff)
  if rng.random() < 0.6:
    product = rng.choice(org.products)
    slots.update(product=product.mention, category=product.category, colour=product.colour,
                 a=article(product.colour))
    headline = fill(HEADLINES[0], slots)
    sentences = [fill(rng.choice(NEWS_LAUNCH), slots),
                 en.product_fact(rng, product, rng.choice(("price", "looks")))]
    slots.update(P=nar.name(staff), prof=staff.profession, a=article(staff.profession))
    sentences.append(fill(rng.choice(NEWS_QUOTE), slots))
    sentences.append(en.product_fact(rng, product, "makes"))
    for fan in rng.sample(world.people, rng.randint(1, 2)):
      slots.update(P=nar.name(fan), city=fan.home_city.mention, pron=fan.pronouns[0])
      sentences.append(fill(rng.choice(NEWS_REACTION), slots, plural=fan.gender == "n"))
  else:
    city2 = rng.choice(world.cities)
    slots.update(P=nar.name(staff), city2=city2.mention)
    headline = fill(HEADLINES[1], slots)
    sentences = [fill(rng.choice(NEWS_LEAD), slots)]
    nar.last = staff
    for relation in rng.sample(["born", "studied", "works", "lives", "age", "speaks"], 4):
      sentence = en.person_fact(rng, nar, staff, relation)
      if sentence is not None:
        sentences.append(sentence)
    sentences.append(en.city_fact(rng, city2, rng.choice(("in_country", "population"))))
  return Document("news", [[headline]] + paragraphs(rng, sentences)
                  + [org_profile(rng, nar, org)])


def _with_reactions(rng: random.Random, sentences: list[Tagged], share: float) -> list[Tagged]:
  """The review's sentences, each scoring one (not the opening one) followed, with probability `share`, by the
  reviewer's reaction of its polarity under the labelling rule (evaluative.reaction)."""
  out = sentences[:1]
  for sentence in sentences[1:]:
    out.append(sentence)
    score = sentence_score(render(sentence))
    if score and rng.random() < share:
      out.append(fill(evaluative.reaction(rng, score), {}))
  return out


def review_document(rng: random.Random, world: World) -> Document:
  label = rng.randint(0, 1)
  subject = rng.choice(world.products) if rng.random() < 0.6 else rng.choice(world.cities)
  body = review(rng, world, label, rng.random() < 0.5, subject)
  if world.reactions:  # draws from the stream only when on: without reactions, text is unchanged
    body = _with_reactions(rng, body, world.reactions)
  is_product = isinstance(subject, Product)
  title = rng.choice(REVIEW_TITLES[:2] if is_product else REVIEW_TITLES[2:])
  slots = {"product": subject.mention, "city": subject.mention}
  reviewer = rng.choice(world.people)
  stars = rng.choice((4, 5) if label else (1, 2))
  tail = [fill(REVIEW_TAIL[0], {"n": str(stars)}),
          fill(REVIEW_TAIL[1], {"P": reviewer.mention, "city": reviewer.home_city.mention})]
  lines = [[fill(title, slots)], body, tail]
  if isinstance(subject, Product) and rng.random() < 0.6:
    facts = [en.product_fact(rng, subject, r) for r in ("makes", "price", "looks")]
    lines.insert(2, [fill(REVIEW_FACTS[0], slots)] + facts)
  elif not isinstance(subject, Product):
    lines.insert(2, [en.city_fact(rng, subject, r) for r in ("in_country", "population")])
  if isinstance(subject, Product) and rng.random() < 0.5:
    lines.append([fill(rng.choice(REVIEW_REPLY), {"org": subject.maker.mention,
                                                  "first": reviewer.first_mention})])
  if rng.random() < 0.5:
    lines.append([fill(REVIEWER[0], {"P": reviewer.first_mention, "prof": reviewer.profession,
                                     "city": reviewer.home_city.mention,
                                     "a": article(reviewer.profession)})])
  return Document("review", lines)


def dialogue(rng: random.Random, world: World) -> Document:
  a, b, c = rng.sample(world.people, 3)
  nar = en.Narrator(rng, pronoun_rate=0.8)
  names = {"A": a.first_mention, "B": b.first_mention}

  def turn(speaker: Person, sentences: list[Tagged]) -> list[Tagged]:
    return [name_tags(speaker.first_mention) + [(":", "O")] + sentences[0]] + sentences[1:]

  lines = [turn(a, [fill(rng.choice(GREETINGS), names)]),
           turn(b, [fill(rng.choice(REPLIES), names)]),
           turn(a, [fill(rng.choice(OPENERS), {"C": nar.name(c)})]),
           turn(b, [fill(rng.choice(OPENER_REPLIES), {"C": nar.name(c)})])]
  relations = [r for r in QUESTIONS if r != "founded" or c.founded]
  for relation in rng.sample(relations, rng.randint(3, 6)):
    asker, answerer = (a, b) if rng.random() < 0.7 else (b, a)
    question = fill(rng.choice(QUESTIONS[relation]), {"C": nar.name(c)})
    nar.last = c
    answer = en.person_fact(rng, nar, c, relation)
    if answer is None:
      continue
    lines += [turn(asker, [question]), turn(answerer, [answer])]
  if rng.random() < 0.6:
    product = rng.choice(world.products)
    opinion = review(rng, world, rng.randint(0, 1), rng.random() < 0.5, product)[1:]
    lines += [turn(a, [fill(rng.choice(DIALOGUE_PRODUCT), {"product": product.mention})]),
              turn(b, opinion)]
  lines += [turn(a, [fill(rng.choice(CLOSINGS), names)]),
            turn(b, [fill(rng.choice(CLOSING_REPLIES), names)])]
  return Document("dialogue", lines)


