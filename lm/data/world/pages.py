"""Reference pages: lists, glossaries and city guides (repeated structure)."""

from __future__ import annotations

import random

from lm.data.world import english as en
from lm.data.world.entities import World
from lm.data.world.layout import Document, name_list, paragraphs
from lm.data.world.prose import org_profile
from lm.data.world.tokens import Tagged, article, fill, name_tags

LIST_TITLES = {"staff": "People who work for {org}:", "products": "Products made by {org}:",
               "cities": "Cities in {country}:", "orgs": "Organisations based in {city}:",
               "residents": "People who live in {city}:"}
LIST_ITEMS = {"staff": "- {P} ({prof}, {city})",
              "products": "- the {product}, {a} {colour} {category} ({price} crowns)",
              "cities": "- {city} (about {pop} thousand inhabitants)",
              "orgs": "- {org}, founded in {year}", "residents": "- {P}, {a} {prof}"}
LIST_END = ("This list has {n} entries.", "There are {n} entries on this list.")
GLOSSARY_TITLES = {"products": "Glossary of products", "places": "Glossary of places",
                   "orgs": "Glossary of organisations"}
GLOSSARY_ENTRIES = {
    "products": "{product} - {a} {colour} {category} made by {org}, sold for {price} crowns.",
    "places": "{city} - a city in the {region} of {country} with about {pop} thousand "
              "inhabitants.",
    "orgs": "{org} - {a} {kind} based in {city}, founded in {year}."}
ORG_KINDS = {"company": "company", "university": "university", "club": "sports club"}
GUIDE_ORGS = ("Organisations based in {city} include {list}.",
              "Several organisations have their home in {city}, among them {list}.")
GUIDE_NATIVE = ("{P}, {a} {prof}, was born here in {year}.",
                "The {prof} {P} was born in {city} in {year}.")
GUIDE_RESIDENT = ("{P} lives here and works for {org}.", "{P}, who works for {org}, lives here.")
GUIDE_FANS = ("{P} says that {city} is {poss} favourite place.",)


def list_items(rng: random.Random, world: World, kind: str) -> tuple[Tagged, list[Tagged]]:
  if kind in ("staff", "products"):
    orgs = [o for o in world.orgs if len(o.staff if kind == "staff" else o.products) >= 3]
    org = rng.choice(orgs)
    title = fill(LIST_TITLES[kind], {"org": org.mention})
    if kind == "staff":
      return title, [fill(LIST_ITEMS[kind], {"P": p.mention, "prof": p.profession,
                                            "city": p.home_city.mention})
                     for p in org.staff[:10]]
    return title, [fill(LIST_ITEMS[kind], {
        "product": q.mention, "a": article(q.colour), "colour": q.colour,
        "category": q.category, "price": str(q.price)}) for q in org.products[:10]]
  if kind == "cities":
    country = rng.choice(world.countries)
    cities = world.cities_in.get(id(country), [])[:10]
    return fill(LIST_TITLES[kind], {"country": country.mention}), [
        fill(LIST_ITEMS[kind], {"city": c.mention, "pop": str(c.population)}) for c in cities]
  city = rng.choice(world.cities)
  if kind == "orgs":
    return fill(LIST_TITLES[kind], {"city": city.mention}), [
        fill(LIST_ITEMS[kind], {"org": o.mention, "year": str(o.founded)})
        for o in world.orgs_in.get(id(city), [])[:10]]
  return fill(LIST_TITLES[kind], {"city": city.mention}), [
      fill(LIST_ITEMS[kind], {"P": p.mention, "a": article(p.profession), "prof": p.profession})
      for p in world.residents.get(id(city), [])[:10]]


def list_page(rng: random.Random, world: World) -> Document:
  lines: list[list[Tagged]] = []
  words = 0
  while words < 90:
    title, items = list_items(rng, world, rng.choice(tuple(LIST_TITLES)))
    if len(items) < 2:
      continue
    lines += [[title]] + [[item] for item in items]
    if rng.random() < 0.5:
      lines.append([fill(rng.choice(LIST_END), {"n": str(len(items))})])
    words += sum(len(item) for item in items)
  return Document("list", lines)


def glossary(rng: random.Random, world: World) -> Document:
  kind = rng.choice(tuple(GLOSSARY_TITLES))
  n = rng.randint(6, 12)
  if kind == "products":
    entries = [fill(GLOSSARY_ENTRIES[kind], {
        "product": q.mention, "a": article(q.colour), "colour": q.colour,
        "category": q.category, "org": q.maker.mention, "price": str(q.price)})
        for q in rng.sample(world.products, n)]
  elif kind == "places":
    entries = [fill(GLOSSARY_ENTRIES[kind], {
        "city": c.mention, "region": c.region, "country": c.country.mention,
        "pop": str(c.population)}) for c in rng.sample(world.cities, n)]
  else:
    entries = [fill(GLOSSARY_ENTRIES[kind], {
        "org": o.mention, "a": article(ORG_KINDS[o.kind]), "kind": ORG_KINDS[o.kind],
        "city": o.city.mention, "year": str(o.founded)}) for o in rng.sample(world.orgs, n)]
  entries.sort(key=lambda s: s[0][0])
  return Document("glossary", [[fill(GLOSSARY_TITLES[kind], {})]] + [[e] for e in entries])


def city_guide(rng: random.Random, world: World) -> Document:
  city = rng.choice(world.cities)
  nar = en.Narrator(rng)
  slots = {"city": city.mention}
  sentences = [en.city_fact(rng, city, "in_country"), en.city_fact(rng, city, "population")]
  orgs = world.orgs_in.get(id(city), [])[:4]
  if orgs:
    sentences.append(fill(rng.choice(GUIDE_ORGS), {**slots, "list": name_list(
        [name_tags(o.mention) for o in orgs])}))
  for p in world.natives.get(id(city), [])[:rng.randint(2, 4)]:
    sentences.append(fill(rng.choice(GUIDE_NATIVE), {**slots, "P": nar.name(p),
                     "prof": p.profession, "a": article(p.profession),
                     "year": str(p.birth_year)}))
  for p in world.residents.get(id(city), [])[:rng.randint(2, 4)]:
    sentences.append(fill(rng.choice(GUIDE_RESIDENT), {"P": nar.name(p),
                                                       "org": p.employer.mention}))
  fans = [p for p in world.residents.get(id(city), []) if any(t is city for t in p.likes)]
  for p in fans[:2]:
    sentences.append(fill(GUIDE_FANS[0], {**slots, "P": nar.name(p), "poss": p.pronouns[2]}))
  lines = [[name_tags(city.mention)]] + paragraphs(rng, sentences)
  for org in orgs[:rng.randint(0, 2)]:
    lines.append(org_profile(rng, nar, org))
  return Document("city_guide", lines)


