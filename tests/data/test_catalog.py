"""Catalog datasets map into our schemas; exercised with tfds mock data (nothing downloads)."""

import pytest
import tensorflow_datasets as tfds

from lm.data import catalog, schemas, sources
from tests.conftest import SMALL_WORLD


@pytest.mark.parametrize("name", sorted(catalog.CATALOG))
def test_catalog_dataset_maps_into_its_schema(name, tmp_path):
  entry = catalog.CATALOG[name]
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    records = sources.open_split(sources.DatasetSpec(name, str(tmp_path)), "train")
    record = records[3]
  assert len(records) == 6
  assert set(record) == set(entry.fields)
  expected = set(schemas.SCHEMAS[entry.schema])
  if entry.schema == "translation":
    expected = {"en", next(k for k in entry.fields if k != "en")}
  assert set(record) == expected
  for key, value in record.items():
    if key in ("text", "sentence_a", "sentence_b", "en", "de", "prompt", "response"):
      assert isinstance(value, str)
    if key == "label":
      assert isinstance(value, int)
    if key in ("tokens", "ner_tags"):
      assert isinstance(value, list)
  if entry.schema == "ner":  # (mock data draws the two lengths independently, so only values are checked)
    assert all(isinstance(t, str) for t in record["tokens"])
    assert all(0 <= t < len(schemas.NER_TAGS) for t in record["ner_tags"])


def test_split_names_are_mapped():
  assert catalog.CATALOG["conll2003"].splits["validation"] == "dev"
  assert catalog.CATALOG["imdb_reviews"].splits["validation"] == "train[90%:]"


@pytest.mark.parametrize("name", sorted(catalog.CATALOG))
def test_validation_and_test_never_share_records(name):
  """Model selection must not see test data: each of our splits is its own set of the catalog's records."""
  splits = catalog.CATALOG[name].splits
  assert len(set(splits.values())) == 3, splits

  def records(split):  # the catalog records one of our splits reads: (their split, index range)
    base, _, piece = split.partition("[")
    start, _, stop = piece.rstrip("]").partition(":")
    percent = lambda p, default: int(p.rstrip("%")) if p else default
    return base, set(range(percent(start, 0), percent(stop, 100)))

  for a in ("train", "validation", "test"):
    for b in ("train", "validation", "test"):
      if a < b:
        (base_a, range_a), (base_b, range_b) = records(splits[a]), records(splits[b])
        assert base_a != base_b or not range_a & range_b, (name, a, b, splits)


def test_carved_splits_are_read_as_slices(world_data_dir, monkeypatch):
  """imdb_reviews' validation is the last 10% of its train split (TFDS mock data ignores slices, so a prepared
  world builder with the same fields stands in for the catalog's)."""
  from lm.data import world  # pylint: disable=g-import-not-at-top

  world_spec = sources.DatasetSpec("world/sentiment", world_data_dir, world=world.WorldConfig(scale=SMALL_WORLD))
  whole = [r["text"] for r in sources.open_split(world_spec, "train")]
  stand_in = sources.prepare(world_spec)
  monkeypatch.setattr(sources, "prepare", lambda spec: stand_in)
  spec = sources.DatasetSpec("imdb_reviews", world_data_dir)
  train, validation = sources.open_split(spec, "train"), sources.open_split(spec, "validation")
  n = len(whole) // 10
  assert (len(train), len(validation)) == (len(whole) - n, n)
  assert [r["text"] for r in train] == whole[:-n] and [r["text"] for r in validation] == whole[-n:]


def test_missing_field_is_named():
  entry = catalog.CATALOG["glue/sst2"]
  with pytest.raises(KeyError, match="glue/sst2: record has no field 'sentence'"):
    catalog.map_record({"text": "x", "label": 1}, entry)
