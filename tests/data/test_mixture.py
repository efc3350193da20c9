"""Weighted dataset mixtures (data.mixture): parsing, proportions, determinism, fields as documents, and errors."""

import collections
import dataclasses

import pytest

from lm import settings
from lm.data import mixture, sources
from lm.training import pretrain
from tests.conftest import TASK_WORLD

A = [{"text": f"a{i}"} for i in range(300)]
B = [{"en": f"b{i}", "zx": f"zb{i}"} for i in range(100)]


def test_parse_reads_names_fields_and_weights_and_names_a_bad_item():
  assert mixture.parse("world/text=3, world/translation:zx=1") == (
      mixture.Component("world/text", "", 3.0), mixture.Component("world/translation", "zx", 1.0))
  for bad in ("world/text", "world/text=0", "world/text=-1", "world/text=lots", "=2"):
    with pytest.raises(settings.ConfigError, match="data.mixture"):
      mixture.parse(bad)


def test_shares_follow_the_weights_and_an_up_weighted_source_repeats_in_a_new_order():
  parts = (mixture.Component("a", "", 1.0), mixture.Component("b", "zx", 3.0))
  mix = mixture.Mixture([A, B], parts, seed=0, where="test")
  assert len(mix) == 400 and mix.counts == {"a": 100, "b:zx": 300}
  records = list(mix)
  texts = collections.Counter(r["text"] for r in records)
  assert sum(v for k, v in texts.items() if k.startswith("zb")) == 300  # the field read as a document
  assert all(texts[f"zb{i}"] == 3 for i in range(100))  # three whole passes over B
  assert len({r["text"] for r in records if r["text"].startswith("a")}) == 100  # 100 distinct of A's 300
  # Interleaved, not one block after the other; the same on every construction (every process, every resume).
  assert {r["text"][0] for r in records[:40]} == {"a", "z"}
  assert list(mixture.Mixture([A, B], parts, seed=0, where="test")) == records
  with pytest.raises(IndexError, match="test: index 400"):
    mix[400]


def test_a_missing_field_and_a_mixture_of_schemas_are_refused_by_name():
  mix = mixture.Mixture([A, B], (mixture.Component("a", "", 1.0), mixture.Component("b", "fr", 1.0)), 0, "t")
  with pytest.raises(settings.ConfigError, match="b has no string field 'fr'.*en, zx"):
    list(mix)
  with pytest.raises(settings.ConfigError, match="different schemas.*world/translation \\(translation\\)"):
    mixture.schema(mixture.parse("world/text=1, world/translation=1"), sources.schema_of)
  assert mixture.schema(mixture.parse("world/text=1, world/translation:zx=1"), sources.schema_of) == "text"


def test_a_pretraining_config_reads_english_documents_and_zx_sentences_in_one_pipeline(task_data_dir):
  config = settings.load_config("configs/pretrain/clm.py:tiny")
  config.data.update(data_dir=task_data_dir, mixture="world/text=1, world/translation:zx=1")
  config.data.world.scale = TASK_WORLD
  spec = pretrain.data_spec(config.data)
  assert sources.schema(spec) == "text" and spec.name.startswith("mixture(")
  train = sources.open_split(spec, "train")
  text, translation = (len(sources.open_split(dataclasses.replace(spec, name=n, mixture=()), "train"))
                       for n in ("world/text", "world/translation"))
  assert len(train) == text + translation
  zx_side = {t["zx"] for t in sources.open_split(dataclasses.replace(spec, name="world/translation", mixture=()),
                                                 "train")}
  zx = [r["text"] for r in train if r["text"] in zx_side]
  assert abs(len(zx) - len(train) / 2) <= 1
  assert len(sources.open_split(spec, "validation")) > 0
