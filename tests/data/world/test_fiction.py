"""Fiction in world/text (WorldConfig.fiction): documents about entities made up for them, whose names recur."""

import re

import pytest

from lm.data.world import WorldConfig
from lm.data.world.entities import build_world


def _world_names(config):
  names = set()
  for split in ("train", "validation", "test"):
    world = build_world(config, split)
    names |= {p.name for p in world.people} | {c.name for c in world.cities} | {o.name for o in world.orgs}
  return names


def test_a_share_of_documents_names_only_made_up_entities_and_repeats_them(texts):
  config = WorldConfig(scale=0.02, fiction=0.5)
  names = _world_names(config)
  plain = texts(WorldConfig(scale=0.02), 200)
  assert sum(not any(n in t for n in names) for t in plain) < 10  # the world's own documents name its entities
  fiction = [t for t in texts(config, 200) if not any(n in t for n in names)]
  assert 70 < len(fiction) < 130
  repeated = 0
  for text in fiction:
    words = re.findall(r"\b[A-Z][a-z]{3,}\b", text)
    repeated += any(words.count(w) > 1 for w in set(words) - {"The", "They", "What", "Which", "Hello"})
  assert repeated > 0.8 * len(fiction)  # a made-up name's second mention: copying is what predicts it
  assert texts(WorldConfig(scale=0.02, fiction=0.0), 50) == plain[:50]
  with pytest.raises(ValueError, match="fiction"):
    WorldConfig(fiction=1.5)
