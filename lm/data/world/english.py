"""English sentences stating world facts, several templates per fact.

Each single-fact template contains one keyword of its relation (``RELATION_KEYWORDS``)
and none of another's, so ``gold`` can find the sentence that answers a question
without the world's tables. ``Narrator`` keeps references consistent: a person is
introduced by full name, then referred to by pronoun (only right after being the
subject) or first name.
"""

from __future__ import annotations

import random
from typing import Sequence

from lm.data.world.entities import City, Likeable, Org, Person, Product
from lm.data.world.tokens import Name, Slot, Tagged, article, fill, name_tags

BORN = ("{S} ^was born in {city} in {year}.", "{S} ^was born in {year} in {city}.",
        "In {year}, {S} ^was born in {city}.",
        "{S} ^was born in {city}, a city in {country}, in {year}.",
        "{city} is where {S} ^was born, back in {year}.",
        "{S} ^was born in the {region} of {country}, in {city}, in {year}.")
LIVES = ("{S} ^lives in {city}.", "{S} now ^lives in {city}, {country}.",
         "These days, {S} ^lives in {city}.", "{S} ^has lived in {city} since {year}.",
         "Today, {S} ^makes {poss} home in {city}.")
MOVED = ("{S} moved to {city} in {year} and still ^lives there.",
         "In {year}, {S} moved to {city}, where {pron} still ^lives.")
WORKS = ("{S} ^works for {org} as {a} {prof}.", "{S} ^works as {a} {prof} at {org}.",
         "At {org}, {S} ^works as {a} {prof}.", "{S} ^is employed by {org} as {a} {prof}.",
         "{S} ^has worked at {org} since {year} as {a} {prof}.",
         "{S} ^has a job as {a} {prof} at {org}.")
STUDIED = ("{S} studied at {uni}.", "{S} graduated from {uni} in {year}.",
           "{S} studied at {uni} and graduated in {year}.",
           "After school, {S} went to {uni}, graduating in {year}.")
FOUNDED = ("{S} founded {org} in {year}.", "In {year}, {S} started {org}.",
           "{S} set up {org} in {year}.", "{S} ^is the founder of {org}, which opened in {year}.")
LIKES = ("{S} ^likes {thing}.", "{S} ^is fond of {thing}.", "{S} really ^enjoys {thing}.",
         "{S} ^loves {thing}.", "{S} ^says that {thing} is {poss} favourite.")
DISLIKES = ("{S} ^dislikes {thing}.", "{S} ^does not like {thing}.",
            "{S} ^is not a fan of {thing}.", "{S} ^avoids {thing} whenever possible.")
AGE = ("{S} ^is {age} years old.", "{S} turned {age} this year.", "{S} ^is now {age}.")
SPEAKS = ("{S} ^speaks {lang}.", "{S} ^is {nat} and ^speaks {lang}.")
SPEAKS_TWO = ("{S} ^speaks {lang} and {lang2}.", "Besides {lang}, {S} also ^speaks {lang2}.")
INTRO = ("{S} (born {year}) ^is {a} {nat} {prof}.", "{S} ^is {a} {prof} from {city}.",
         "{S} ^is {a} {nat} {prof} who ^works for {org}.",
         "{S} ^is {a} {prof} and a well-known figure in {city}.")
BASED = ("{org} is based in {city}.", "{org} has its headquarters in {city}, {country}.",
         "The headquarters of {org} are in {city}.", "{org} is located in {city}.",
         "{org} has its main office in {city}.")
ORG_FOUNDER = ("{org} was founded by {P} in {year}.", "{P} founded {org} in {year}.",
               "{org} was set up by {P} in {year}.")
ORG_YEAR = ("{org} was founded in {year}.", "{org} has existed since {year}.",
            "{org} opened in {year}.")
MAKES = ("{org} makes the {product}, {a} {colour} {category}.",
         "The {product} is {a} {category} made by {org}.",
         "{org} produces {a} {category} called the {product}.",
         "The {product} is made by {org}.", "{org} manufactures the {product}.")
PRICE = ("The {product} costs {price} crowns.", "The {product} sells for {price} crowns.",
         "The price of the {product} is {price} crowns.")
LOOKS = ("The {product} is {a} {colour} {category}.", "The {product} comes in {colour}.")
IN_COUNTRY = ("{city} is a city in {country}.", "{city} lies in the {region} of {country}.",
              "{city} is located in {country}.", "{city} is one of the cities of {country}.")
POPULATION = ("{city} has about {pop} thousand inhabitants.",
              "About {pop} thousand people live in {city}.",
              "The population of {city} is about {pop} thousand.")
# Connectives that may open a fact sentence: temporal ones only before events.
CONNECTIVES = {"studied": ("Later,", "After that,"), "founded": ("Later,", "After that,"),
               "likes": ("In addition,", "Also,"), "dislikes": ("On the other hand,",),
               "speaks": ("In addition,", "Also,")}

# Relation -> words (outside entity names) that mark a sentence stating it.
RELATION_KEYWORDS: dict[str, frozenset[str]] = {
    "born": frozenset({"born"}),
    "lives": frozenset({"lives", "live", "lived", "home", "moved"}),
    "works": frozenset({"works", "work", "worked", "employed", "job"}),
    "studied": frozenset({"studied", "graduated", "graduating", "went"}),
    "founded": frozenset({"founded", "started", "set", "founder"}),
    "based": frozenset({"based", "headquarters", "located", "office"}),
    "makes": frozenset({"makes", "made", "produces", "manufactures"}),
    "price": frozenset({"costs", "sells", "price"}),
    "in_country": frozenset({"city", "lies", "located", "cities"}),
}
PERSON_RELATIONS = {"born": BORN, "lives": LIVES, "works": WORKS, "studied": STUDIED,
                    "founded": FOUNDED}


def thing_mention(thing: Likeable) -> Tagged:
  if isinstance(thing, Product):
    return [("the", "O"), (thing.stem, "B-MISC"), (str(thing.number), "I-MISC")]
  return name_tags(thing.mention)


class Narrator:
  """Decides how each person is mentioned as a document goes on."""

  def __init__(self, rng: random.Random, pronoun_rate: float = 0.65):
    self.rng = rng
    self.pronoun_rate = pronoun_rate
    self._seen: list[Person] = []
    self.last: Person | None = None

  def name(self, person: Person) -> Name:
    """A non-subject mention: full name the first time, then often the first name."""
    if self.last is not person:
      self.last = None  # a pronoun after another person's name would be ambiguous
    if any(p is person for p in self._seen) and self.rng.random() < 0.6:
      return person.first_mention
    self._seen.append(person)
    return person.mention

  def subject(self, person: Person) -> tuple[dict[str, Slot], bool]:
    """Slots S/pron/poss for ``person`` as subject, and whether verbs go plural."""
    subj, _, poss = person.pronouns
    if self.last is person and self.rng.random() < self.pronoun_rate:
      mention: Slot = subj
      plural = person.gender == "n"
    else:
      mention = self.name(person)
      plural = False
    self.last = person
    return {"S": mention, "pron": subj, "poss": poss}, plural


def say(rng: random.Random, templates: Sequence[str], slots: dict[str, Slot],
        plural: bool = False) -> Tagged:
  return fill(rng.choice(templates), slots, plural)


def person_fact(rng: random.Random, nar: Narrator, p: Person, relation: str) -> Tagged | None:
  """One sentence stating ``relation`` of ``p`` (None if it does not hold)."""
  if (relation == "studied" and p.alma is None) or (relation == "founded" and not p.founded):
    return None  # before nar.subject: an unsaid sentence must not use up the full name
  slots, plural = nar.subject(p)
  if relation == "born":
    slots.update(city=p.birth_city.mention, year=str(p.birth_year),
                 country=p.birth_city.country.mention, region=p.birth_city.region)
    return say(rng, BORN, slots, plural)
  if relation == "lives":
    slots.update(city=p.home_city.mention, country=p.home_city.country.mention,
                 year=str(p.moved_year))
    moved = p.home_city is not p.birth_city and rng.random() < 0.5
    return say(rng, MOVED if moved else LIVES, slots, plural)
  if relation == "works":
    slots.update(org=p.employer.mention, prof=p.profession, a=article(p.profession),
                 year=str(p.start_year))
    return say(rng, WORKS, slots, plural)
  if relation == "studied":
    assert p.alma is not None
    slots.update(uni=p.alma.mention, year=str(p.grad_year))
    return say(rng, STUDIED, slots, plural)
  if relation == "founded":
    org = rng.choice(p.founded)
    slots.update(org=org.mention, year=str(org.founded))
    return say(rng, FOUNDED, slots, plural)
  if relation in ("likes", "dislikes"):
    things = p.likes if relation == "likes" else p.dislikes
    slots["thing"] = thing_mention(rng.choice(things))
    return say(rng, LIKES if relation == "likes" else DISLIKES, slots, plural)
  if relation == "age":
    slots["age"] = str(p.age)
    return say(rng, AGE, slots, plural)
  if relation == "speaks":
    langs = p.languages
    slots.update(lang=langs[0].adjective, nat=p.birth_city.country.adjective)
    if len(langs) > 1:
      slots["lang2"] = langs[1].adjective
      return say(rng, SPEAKS_TWO, slots, plural)
    return say(rng, SPEAKS, slots, plural)
  if relation == "intro":
    template = rng.choice(INTRO)
    a = article(p.birth_city.country.nationality if "{a} {nat}" in template
                else p.profession)
    slots.update(year=str(p.birth_year), nat=p.birth_city.country.adjective, a=a,
                 prof=p.profession, city=p.home_city.mention, org=p.employer.mention)
    return fill(template, slots, plural)
  raise ValueError(f"unknown person relation {relation!r}")


def org_fact(rng: random.Random, nar: Narrator, org: Org, relation: str) -> Tagged | None:
  if relation == "based":
    return say(rng, BASED, {"org": org.mention, "city": org.city.mention,
                            "country": org.city.country.mention})
  if relation == "founded":
    if org.founder is not None:
      return say(rng, ORG_FOUNDER, {"org": org.mention, "P": nar.name(org.founder),
                                    "year": str(org.founded)})
    return say(rng, ORG_YEAR, {"org": org.mention, "year": str(org.founded)})
  raise ValueError(f"unknown organisation relation {relation!r}")


def product_fact(rng: random.Random, product: Product, relation: str) -> Tagged:
  slots: dict[str, Slot] = {"product": product.mention, "org": product.maker.mention,
                            "colour": product.colour, "category": product.category,
                            "price": str(product.price)}
  if relation == "makes":
    template = rng.choice(MAKES)
    slots["a"] = article(product.colour if "{a} {colour}" in template else product.category)
    return fill(template, slots)
  if relation == "price":
    return say(rng, PRICE, slots)
  if relation == "looks":
    template = rng.choice(LOOKS)
    slots["a"] = article(product.colour)
    return fill(template, slots)
  raise ValueError(f"unknown product relation {relation!r}")


def city_fact(rng: random.Random, city: City, relation: str) -> Tagged:
  slots: dict[str, Slot] = {"city": city.mention, "country": city.country.mention,
                            "region": city.region, "pop": str(city.population)}
  if relation == "in_country":
    return say(rng, IN_COUNTRY, slots)
  if relation == "population":
    return say(rng, POPULATION, slots)
  raise ValueError(f"unknown city relation {relation!r}")
