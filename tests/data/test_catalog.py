"""Catalog datasets map into our schemas; exercised with tfds mock data (nothing downloads)."""

import pytest
import tensorflow_datasets as tfds

from lm.data import catalog, schemas, sources


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
  assert catalog.CATALOG["imdb_reviews"].splits["validation"] == "test"


def test_missing_field_is_named():
  entry = catalog.CATALOG["glue/sst2"]
  with pytest.raises(KeyError, match="glue/sst2: record has no field 'sentence'"):
    catalog.map_record({"text": "x", "label": 1}, entry)
