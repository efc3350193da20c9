"""Shared by the world tests: the first documents of world/text under a config."""

import itertools

import pytest

from lm.data.world import generate


@pytest.fixture(scope="session")
def texts():
  """texts(config, n=300): the first n world/text train documents under `config`, as strings."""
  def first(config, n=300):
    return [r["text"] for r in itertools.islice(generate("text", "train", config), n)]
  return first
