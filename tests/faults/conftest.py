"""Shared by the fault tests: one JAX compilation cache, so killed runs restart in seconds."""

import pytest


@pytest.fixture(scope="session")
def jax_cache(tmp_path_factory):
  return str(tmp_path_factory.mktemp("jax_cache"))
