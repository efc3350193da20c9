"""The world's entities and the facts relating them, one pool per split."""

from __future__ import annotations

import dataclasses
import functools
import random
from typing import Optional, Union

from lm.data.world.config import CONFIG_KNOBS, SPLITS, WorldConfig
from lm.data.world.names import (CLUB_SPORTS, COMPANY_SUFFIXES, UNIVERSITY_SUFFIXES,
                                 NameMaker)
from lm.data.world.tokens import Name

CURRENT_YEAR = 2024  # "now" in the world: ages and "these days" are relative to it
REGIONS = ("north", "south", "east", "west", "centre")
COLOURS = ("red", "blue", "green", "black", "white", "grey", "yellow", "orange",
           "silver", "purple")
# field -> category -> price range in crowns (the world's currency)
CATEGORIES: dict[str, dict[str, tuple[int, int]]] = {
    "electronics": {"phone": (150, 900), "laptop": (400, 2000), "camera": (120, 1500),
                    "tablet": (150, 900), "printer": (60, 400), "smartwatch": (80, 600),
                    "speaker": (30, 400)},
    "home": {"lamp": (15, 150), "chair": (30, 400), "kettle": (15, 90),
             "coffee maker": (40, 300), "sofa": (300, 2500), "desk": (80, 700),
             "toaster": (20, 120)},
    "outdoor": {"bicycle": (150, 2000), "tent": (50, 600), "backpack": (20, 200),
                "jacket": (40, 400), "sleeping bag": (30, 250)},
    "music": {"guitar": (90, 1500), "keyboard": (100, 1200), "headphones": (25, 450),
              "violin": (120, 2000), "drum kit": (250, 2500)},
}
PROFESSIONS = {
    "company": ("engineer", "designer", "accountant", "programmer", "sales manager",
                "lawyer", "technician", "product manager", "data analyst", "marketing manager"),
    "university": ("professor", "researcher", "lecturer", "librarian", "lab technician"),
    "club": ("coach", "physiotherapist", "club secretary", "groundskeeper"),
}
PRONOUNS = {  # gender -> (subject, object, possessive)
    "f": ("she", "her", "her"), "m": ("he", "him", "his"), "n": ("they", "them", "their"),
}


@dataclasses.dataclass(eq=False)
class Country:
  name: str
  nationality: str  # also the name of its language

  @property
  def mention(self) -> Name:
    return Name((self.name,), "LOC")

  @property
  def adjective(self) -> Name:
    return Name((self.nationality,), "MISC")


@dataclasses.dataclass(eq=False)
class City:
  tokens: tuple[str, ...]
  country: Country
  population: int  # thousands of inhabitants
  region: str

  @property
  def mention(self) -> Name:
    return Name(self.tokens, "LOC")

  @property
  def name(self) -> str:
    return " ".join(self.tokens)


@dataclasses.dataclass(eq=False)
class Org:
  tokens: tuple[str, ...]
  kind: str  # company / university / club
  field: str  # product field of a company, sport of a club, "" for universities
  city: City
  founded: int
  founder: Optional["Person"] = None
  products: list["Product"] = dataclasses.field(default_factory=list)
  staff: list["Person"] = dataclasses.field(default_factory=list)

  @property
  def mention(self) -> Name:
    return Name(self.tokens, "ORG")

  @property
  def name(self) -> str:
    return " ".join(self.tokens)


@dataclasses.dataclass(eq=False)
class Product:
  stem: str
  number: int
  category: str
  colour: str
  price: int  # crowns
  maker: Org

  @property
  def mention(self) -> Name:
    return Name((self.stem, str(self.number)), "MISC")

  @property
  def name(self) -> str:
    return f"{self.stem} {self.number}"


Likeable = Union[Product, City]


@dataclasses.dataclass(eq=False)
class Person:
  first: str
  last: str
  gender: str  # f / m / n (n uses they/them)
  birth_year: int
  birth_city: City
  home_city: City
  moved_year: int  # year they settled in home_city (birth year if they never moved)
  profession: str
  employer: Org
  start_year: int
  alma: Optional[Org]
  grad_year: int
  likes: list[Likeable]
  dislikes: list[Likeable]
  languages: list[Country]  # countries whose language they speak
  founded: list[Org] = dataclasses.field(default_factory=list)

  @property
  def mention(self) -> Name:
    return Name((self.first, self.last), "PER")

  @property
  def first_mention(self) -> Name:
    return Name((self.first,), "PER")

  @property
  def name(self) -> str:
    return f"{self.first} {self.last}"

  @property
  def pronouns(self) -> tuple[str, str, str]:
    return PRONOUNS[self.gender]

  @property
  def age(self) -> int:
    return CURRENT_YEAR - self.birth_year


@dataclasses.dataclass
class World:
  countries: list[Country]
  cities: list[City]
  orgs: list[Org]
  products: list[Product]
  people: list[Person]
  lexicon: str = "core"  # evaluative adjectives of reviews: "core" or "large" (WorldConfig.sentiment_lexicon)
  reactions: float = 0.0  # share of review-document sentences followed by a reaction (WorldConfig.review_reactions)

  @functools.cached_property
  def companies(self) -> list[Org]:
    return [o for o in self.orgs if o.kind == "company"]

  @functools.cached_property
  def residents(self) -> dict[int, list[Person]]:
    """id(city) -> people living there (ids: entities hash by identity)."""
    return _group(self.people, lambda p: p.home_city)

  @functools.cached_property
  def natives(self) -> dict[int, list[Person]]:
    return _group(self.people, lambda p: p.birth_city)

  @functools.cached_property
  def orgs_in(self) -> dict[int, list[Org]]:
    return _group(self.orgs, lambda o: o.city)

  @functools.cached_property
  def cities_in(self) -> dict[int, list[City]]:
    return _group(self.cities, lambda c: c.country)


def _group(items: list, key) -> dict[int, list]:
  groups: dict[int, list] = {}
  for item in items:
    groups.setdefault(id(key(item)), []).append(item)
  return groups


def _counts(config: WorldConfig, split: str) -> dict[str, int]:
  frac = 1.0 if split == "train" else config.eval_entity_fraction
  names = ("people", "cities", "companies", "universities", "clubs", "products")
  return {n: max(4, round(getattr(config, n) * frac)) for n in names}


def _build_split(names: NameMaker, rng: random.Random, countries: list[Country],
                 counts: dict[str, int]) -> World:
  cities = [City(names.city(), countries[i % len(countries)] if i < 2 * len(countries)
                 else rng.choice(countries), rng.randint(5, 900), rng.choice(REGIONS))
            for i in range(counts["cities"])]
  orgs: list[Org] = []
  for _ in range(counts["companies"]):
    field = rng.choice(tuple(COMPANY_SUFFIXES))
    orgs.append(Org((names.stem(), rng.choice(COMPANY_SUFFIXES[field])), "company",
                    field, rng.choice(cities), rng.randint(1880, 2020)))
  for _ in range(counts["universities"]):
    orgs.append(Org((names.stem(), rng.choice(UNIVERSITY_SUFFIXES)), "university", "",
                    rng.choice(cities), rng.randint(1650, 1990)))
  for _ in range(counts["clubs"]):
    sport = rng.choice(CLUB_SPORTS)
    orgs.append(Org((names.stem(), sport, "Club"), "club", sport.lower(),
                    rng.choice(cities), rng.randint(1870, 2015)))
  companies = [o for o in orgs if o.kind == "company"]
  universities = [o for o in orgs if o.kind == "university"]
  products = []
  for _ in range(counts["products"]):
    maker = rng.choice(companies)
    field = maker.field if maker.field in CATEGORIES else rng.choice(tuple(CATEGORIES))
    category = rng.choice(tuple(CATEGORIES[field]))
    lo, hi = CATEGORIES[field][category]
    product = Product(names.stem(), rng.choice((2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 20)),
                      category, rng.choice(COLOURS), rng.randint(lo, hi), maker)
    maker.products.append(product)
    products.append(product)
  employers = companies * 3 + universities + [o for o in orgs if o.kind == "club"]
  people = []
  for _ in range(counts["people"]):
    gender = rng.choices(("f", "m", "n"), (0.45, 0.45, 0.1))[0]
    birth_year = rng.randint(1950, 2002)
    birth_city = rng.choice(cities)
    home_city = birth_city if rng.random() < 0.4 else rng.choice(cities)
    moved_year = (birth_year if home_city is birth_city
                  else rng.randint(birth_year + 18, min(CURRENT_YEAR - 1, birth_year + 50)))
    employer = rng.choice(employers)
    alma = rng.choice(universities) if rng.random() < 0.7 else None
    pool: list[Likeable] = rng.sample(products, 3) + rng.sample(cities, 2)
    rng.shuffle(pool)
    languages = [birth_city.country]
    if rng.random() < 0.35:
      other = rng.choice(countries)
      if other is not birth_city.country:
        languages.append(other)
    person = Person(
        names.first_name(gender), names.surname(), gender, birth_year, birth_city,
        home_city, moved_year, rng.choice(PROFESSIONS[employer.kind]), employer,
        rng.randint(max(employer.founded, birth_year + 22), CURRENT_YEAR - 1)
        if max(employer.founded, birth_year + 22) < CURRENT_YEAR else CURRENT_YEAR,
        alma, min(birth_year + rng.randint(21, 25), CURRENT_YEAR - 1), pool[:2], pool[2:3], languages)
    employer.staff.append(person)
    people.append(person)
  for org in orgs:  # some organisations were founded by a person of this split
    if org.kind != "university" and org.founded >= 1975 and rng.random() < 0.6:
      for person in rng.sample(people, min(20, len(people))):
        if person.birth_year + 22 <= org.founded:
          org.founder = person
          person.founded.append(org)
          break
  return World(countries, cities, orgs, products, people)


@functools.lru_cache(maxsize=8)
def _build_all(config: WorldConfig) -> dict[str, World]:
  from lm.data.world.vocab import known_words  # late: vocab walks every module

  names = NameMaker(random.Random(f"names/{config.seed}"), known_words())
  countries = [Country(*names.country()) for _ in range(config.countries)]
  return {split: _build_split(names, random.Random(f"world/{config.seed}/{split}"),
                              countries, _counts(config, split))
          for split in SPLITS}


# Entities of a made-up world: enough for every genre of document (lists of 3 or more staff or products) and quiz page.
MADE_UP_COUNTS = {"people": 60, "cities": 16, "companies": 6, "universities": 3, "clubs": 3, "products": 24}


def made_up_world(rng: random.Random, world: World) -> World:
  """A small world made up for one document (`MADE_UP_COUNTS`), named afresh from `rng`, in the countries of
  `world` and with its reviews' lexicon and reactions. Its names avoid every English word of the world's templates,
  not the world's own names: a clash is possible, and rare."""
  from lm.data.world.vocab import known_words  # late: vocab walks every module

  made = _build_split(NameMaker(rng, known_words()), rng, world.countries, MADE_UP_COUNTS)
  return dataclasses.replace(made, lexicon=world.lexicon, reactions=world.reactions)


def build_world(config: WorldConfig, split: str) -> World:
  """The entity pool of ``split``; names never repeat across splits of one seed."""
  # Knobs that do not change the entities (all of a run's knobs but the seed, and the noise) share one build.
  defaults = WorldConfig()
  key = dataclasses.replace(config, preference_noise=0.0,
                            **{k: getattr(defaults, k) for k in CONFIG_KNOBS if k != "seed"})
  world = _build_all(key)[split]
  if (config.sentiment_lexicon, config.review_reactions) == (world.lexicon, world.reactions):
    return world
  return dataclasses.replace(world, lexicon=config.sentiment_lexicon, reactions=config.review_reactions)
