"""TFDS builders: the world's views and a user's files, prepared as array_record."""

import glob
import json
import os

import pytest

from lm.data import builders, formats, schemas, sources, world

TINY = world.WorldConfig(seed=0, scale=0.01)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
  data_dir = str(tmp_path_factory.mktemp("world"))
  for view in world.VIEWS:
    sources.prepare(sources.DatasetSpec(f"world/{view}", data_dir, world=TINY))
  return data_dir


@pytest.mark.parametrize("view", world.VIEWS)
def test_every_view_reads_back_in_its_schema(world_dir, view):
  spec = sources.DatasetSpec(f"world/{view}", world_dir, world=TINY)
  sizes = world.split_sizes(view, TINY)
  for split in world.SPLITS:
    records = sources.open_split(spec, split)
    assert len(records) == sizes[split] > 0
    record = records[0]
    assert set(record) == set(schemas.SCHEMAS[view]), record
    for key, value in record.items():
      assert isinstance(value, (str, int, list)), (key, type(value))
  # The stored records are the generated ones (TFDS stores them shuffled by key).
  generated = sorted(json.dumps(r, sort_keys=True) for r in world.generate(view, "validation", TINY))
  stored = sorted(json.dumps(r, sort_keys=True) for r in sources.open_split(spec, "validation"))
  assert stored == generated


def test_same_seed_same_bytes(world_dir, tmp_path):
  sources.prepare(sources.DatasetSpec("world/text", str(tmp_path), world=TINY))
  files = lambda d: sorted(glob.glob(os.path.join(d, "world", "text-*", "*", "*.array_record*")))
  ours, theirs = files(world_dir), files(str(tmp_path))
  assert ours and [os.path.basename(f) for f in ours] == [os.path.basename(f) for f in theirs]
  for a, b in zip(ours, theirs):
    assert open(a, "rb").read() == open(b, "rb").read(), a


def test_world_settings_get_their_own_cache():
  assert builders.world_builder_config("text").name == "text"
  other = builders.world_builder_config("text", world.WorldConfig(seed=1, scale=0.01))
  assert other.name.startswith("text-seed1-scale0.01-")
  with pytest.raises(ValueError, match="Unknown world view 'txt'"):
    builders.world_builder_config("txt")


def write_jsonl(path, rows):
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  return str(path)


def test_files_builder_reads_user_jsonl(tmp_path):
  train = write_jsonl(tmp_path / "train.jsonl", [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(10)])
  val = write_jsonl(tmp_path / "val.jsonl", [{"prompt": "q", "response": "a", "task": "qa"}])
  spec = sources.DatasetSpec("files/instructions", str(tmp_path / "data"), files={"train": train, "validation": val})
  records = sources.open_split(spec, "train")
  assert sorted(r["prompt"] for r in records) == sorted(f"q{i}" for i in range(10))
  assert sources.open_split(spec, "validation")[0] == {"prompt": "q", "response": "a", "task": "qa"}
  with pytest.raises(ValueError, match="has no split 'test'"):
    sources.open_split(spec, "test")


def test_files_builder_translation_keeps_the_language_key(tmp_path):
  train = write_jsonl(tmp_path / "t.jsonl", [{"en": "hello", "de": "hallo"}, {"en": "cat", "de": "Katze"}])
  spec = sources.DatasetSpec("files/translation", str(tmp_path / "data"), files={"train": train})
  assert set(sources.open_split(spec, "train")[0]) == {"en", "de"}


def test_files_cache_follows_content(tmp_path):
  path = tmp_path / "docs.txt"
  path.write_text("one\n\ntwo\n")
  first = builders.files_builder_config("text", {"train": str(path)}).name
  path.write_text("one\n\ntwo\n\nthree\n")
  second = builders.files_builder_config("text", {"train": str(path)}).name
  assert first != second
  spec = sources.DatasetSpec("files/text", str(tmp_path / "data"), files={"train": str(path)})
  assert len(sources.open_split(spec, "train")) == 3


def prepared_dirs(data_dir):
  return [d for d in glob.glob(os.path.join(data_dir, "files", "*", "*")) if os.listdir(d)]


def test_malformed_line_fails_before_anything_is_written(tmp_path):
  rows = [{"prompt": "p", "response": "r"}] * 5
  path = tmp_path / "train.jsonl"
  path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"prompt": "p"}\n')
  data_dir = str(tmp_path / "data")
  spec = sources.DatasetSpec("files/instructions", data_dir, files={"train": str(path)})
  with pytest.raises(formats.FormatError, match=r"train\.jsonl:6: missing field 'response'"):
    sources.prepare(spec)
  assert not prepared_dirs(data_dir)
  assert not glob.glob(os.path.join(data_dir, "**", "*incomplete*"), recursive=True)


def test_empty_split_is_a_clear_error(tmp_path):
  train = write_jsonl(tmp_path / "train.jsonl", [{"text": "a"}])
  empty = tmp_path / "val.jsonl"
  empty.write_text("\n\n")
  data_dir = str(tmp_path / "data")
  spec = sources.DatasetSpec("files/text", data_dir, files={"train": train, "validation": str(empty)})
  with pytest.raises(formats.FormatError, match=r"val\.jsonl: split 'validation' has no records"):
    sources.prepare(spec)
  assert not prepared_dirs(data_dir)


def test_unknown_dataset_names(tmp_path):
  for name, message in [("world/txt", "Unknown world view"), ("files/csv", "Unknown schema"),
                        ("wikipedia", "Unknown dataset 'wikipedia'"), ("imdb", "Unknown dataset 'imdb'")]:
    with pytest.raises(ValueError, match=message):
      sources.builder(sources.DatasetSpec(name, str(tmp_path)))
