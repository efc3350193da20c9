"""Bring-your-own files: layouts, TRL names, and errors that name the file and line."""

import json

import pytest

from lm.data import formats


def write(tmp_path, name, lines):
  path = tmp_path / name
  path.write_text("\n".join(json.dumps(l) if not isinstance(l, str) else l for l in lines) + "\n")
  return str(path)


def test_txt_documents_split_on_blank_lines(tmp_path):
  path = tmp_path / "docs.txt"
  path.write_text("first doc\nstill first\n\n\nsecond doc\n\nthird\n")
  records = list(formats.read_records([str(path)], "text"))
  assert records == [{"text": "first doc\nstill first"}, {"text": "second doc"}, {"text": "third"}]


def test_trl_names_are_accepted(tmp_path):
  sft = write(tmp_path, "sft.jsonl", [{"prompt": "Say hi.", "completion": "Hi."}])
  prefs = write(tmp_path, "prefs.jsonl", [{"chosen": "good", "rejected": "bad"}])
  assert list(formats.read_records([sft], "instructions")) == [{"prompt": "Say hi.", "response": "Hi.", "task": "sft"}]
  assert list(formats.read_records([prefs], "preferences")) == [{"prompt": "", "chosen": "good", "rejected": "bad"}]


def test_labels_and_tags_by_name_or_id(tmp_path):
  sent = write(tmp_path, "s.jsonl", [{"text": "a", "label": "positive"}, {"text": "b", "label": 0}])
  ner = write(tmp_path, "n.jsonl", [{"tokens": ["Ada", "Lovelace"], "ner_tags": ["B-PER", 2]}])
  assert [r["label"] for r in formats.read_records([sent], "sentiment")] == [1, 0]
  assert list(formats.read_records([ner], "ner"))[0]["ner_tags"] == [1, 2]


def test_fewshot_answer_by_text(tmp_path):
  path = write(tmp_path, "fs.jsonl", [{"prompt": "2+2=", "choices": ["3", "4"], "answer": "4"}])
  assert list(formats.read_records([path], "fewshot")) == [
      {"task": "fs", "prompt": "2+2=", "choices": ["3", "4"], "answer": 1}]


@pytest.mark.parametrize(
    "schema,bad_line,message",
    [
        ("instructions", '{"prompt": "x", "response": ', "not valid JSON"),
        ("instructions", '["a list"]', "expected a JSON object"),
        ("instructions", '{"prompt": "x"}', "missing field 'response'"),
        ("instructions", '{"prompt": 3, "response": "y"}', "must be a string"),
        ("sentiment", '{"text": "x", "label": 7}', "field 'label'"),
        ("ner", '{"tokens": ["a", "b"], "ner_tags": ["O"]}', "as long as 'tokens'"),
        ("ner", '{"tokens": ["a"], "ner_tags": ["B-FOO"]}', "unknown NER tag"),
        ("fewshot", '{"prompt": "x", "choices": ["a", "b"], "answer": 2}', "must index 'choices'"),
        ("translation", '{"en": "x", "de": "y", "fr": "z"}', "exactly one other language"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, schema, bad_line, message):
  good = {"instructions": '{"prompt": "p", "response": "r"}', "sentiment": '{"text": "t", "label": 1}',
          "ner": '{"tokens": ["a"], "ner_tags": ["O"]}', "fewshot": '{"prompt": "p", "choices": ["a", "b"], "answer": 0}',
          "translation": '{"en": "x", "de": "y"}'}[schema]
  path = tmp_path / "data.jsonl"
  path.write_text(f"{good}\n\n{good}\n{bad_line}\n{good}\n")
  with pytest.raises(formats.FormatError, match=rf"data\.jsonl:4: .*{message}"):
    list(formats.read_records([str(path)], schema))


def test_unknown_file_type_and_missing_file(tmp_path):
  csv = tmp_path / "x.csv"
  csv.write_text("a,b\n")
  with pytest.raises(formats.FormatError, match="x.csv: unknown file type"):
    list(formats.read_records([str(csv)], "text"))
  with pytest.raises(formats.FormatError, match="nope.jsonl: no such file"):
    list(formats.read_records([str(tmp_path / "nope.jsonl")], "text"))
