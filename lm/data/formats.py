"""Reading a user's own files into the record schemas (`lm.data.schemas`).

Accepted layouts:
- `.txt`: plain text, documents separated by one or more blank lines (schema `text` only).
- `.jsonl` / `.json` (one JSON object per line) in any schema's field names, also accepting TRL's
  usual names: `completion` for `response`, and preference rows without a `prompt`
  (TRL's implicit-prompt format) get an empty prompt.

Every problem is reported as `path:line: what is wrong`, so a bad row in a million-line file can
be found and fixed without guessing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from lm.data import schemas

# TRL / Hugging Face names -> ours.
ALIASES = {"completion": "response", "sentence": "text", "ner": "ner_tags"}
# A sentiment label may be written as a name instead of an id.
LABEL_NAMES = {"neg": 0, "negative": 0, "pos": 1, "positive": 1}


class FormatError(ValueError):
  """A user file does not match the expected layout; the message names file and line."""


def read_records(paths: Sequence[str], schema: str) -> Iterator[dict[str, Any]]:
  """Yields validated records of `schema` from `paths`, in file order."""
  if schema not in schemas.SCHEMAS:
    raise ValueError(f"Unknown schema {schema!r}; expected one of {sorted(schemas.SCHEMAS)}.")
  for path in paths:
    if not os.path.isfile(path):
      raise FormatError(f"{path}: no such file.")
    if path.endswith(".txt"):
      if schema != "text":
        raise FormatError(f"{path}: a .txt file holds plain documents (schema 'text'), not {schema!r}; use .jsonl.")
      yield from _read_txt(path)
    elif path.endswith((".jsonl", ".json")):
      yield from _read_jsonl(path, schema)
    else:
      raise FormatError(f"{path}: unknown file type; expected .txt or .jsonl.")


def other_language(paths: Sequence[str]) -> str:
  """The non-English field of a translation file, read from its first row."""
  for path in paths:
    with open(path, encoding="utf-8") as f:
      for lineno, line in enumerate(f, 1):
        if line.strip():
          row = _parse_line(line, path, lineno)
          others = sorted(k for k in row if k != "en")
          if "en" not in row or len(others) != 1:
            raise FormatError(
                f"{path}:{lineno}: a translation row needs 'en' and exactly one other language field, got {sorted(row)}."
            )
          return others[0]
  raise FormatError(f"{', '.join(paths)}: no rows.")


def _read_txt(path: str) -> Iterator[dict[str, Any]]:
  with open(path, encoding="utf-8") as f:
    lines: list[str] = []
    for line in f:
      if line.strip():
        lines.append(line.rstrip("\n"))
      elif lines:
        yield {"text": "\n".join(lines)}
        lines = []
    if lines:
      yield {"text": "\n".join(lines)}


def _parse_line(line: str, path: str, lineno: int) -> dict[str, Any]:
  try:
    row = json.loads(line)
  except json.JSONDecodeError as e:
    raise FormatError(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno}).") from None
  if not isinstance(row, dict):
    raise FormatError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}.")
  return {ALIASES.get(k, k): v for k, v in row.items()}


def _read_jsonl(path: str, schema: str) -> Iterator[dict[str, Any]]:
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      row = _parse_line(line, path, lineno)
      try:
        yield _validate(row, schema, default_task=os.path.splitext(os.path.basename(path))[0])
      except FormatError as e:
        raise FormatError(f"{path}:{lineno}: {e}") from None


def _string(row: dict, key: str) -> str:
  if key not in row:
    raise FormatError(f"missing field {key!r} (fields present: {sorted(row)}).")
  if not isinstance(row[key], str):
    raise FormatError(f"field {key!r} must be a string, got {type(row[key]).__name__}.")
  return row[key]


def _validate(row: dict, schema: str, default_task: str) -> dict[str, Any]:
  """Checks `row` against `schema` and returns it with only the schema's fields."""
  if schema == "text":
    return {"text": _string(row, "text")}
  if schema == "sentence_pairs":
    is_next = row.get("is_next")
    if is_next not in (0, 1, True, False):
      raise FormatError(f"field 'is_next' must be 0/1 or a boolean, got {is_next!r}.")
    return {"sentence_a": _string(row, "sentence_a"), "sentence_b": _string(row, "sentence_b"), "is_next": int(is_next)}
  if schema == "sentiment":
    label = row.get("label")
    label = LABEL_NAMES.get(label, label) if isinstance(label, str) else label
    if label not in (0, 1) or isinstance(label, bool):
      raise FormatError(f"field 'label' must be 0/1 or one of {sorted(LABEL_NAMES)}, got {row.get('label')!r}.")
    return {"text": _string(row, "text"), "label": label}
  if schema == "ner":
    return _validate_ner(row)
  if schema == "translation":
    others = sorted(k for k in row if k != "en")
    if len(others) != 1:
      raise FormatError(f"a translation row needs 'en' and exactly one other language field, got {sorted(row)}.")
    return {"en": _string(row, "en"), others[0]: _string(row, others[0])}
  if schema == "instructions":
    task = row.get("task", default_task)
    return {"prompt": _string(row, "prompt"), "response": _string(row, "response"), "task": str(task)}
  if schema == "preferences":
    prompt = row.get("prompt", "")  # TRL's implicit-prompt rows carry the prompt inside both answers
    if not isinstance(prompt, str):
      raise FormatError(f"field 'prompt' must be a string, got {type(prompt).__name__}.")
    return {"prompt": prompt, "chosen": _string(row, "chosen"), "rejected": _string(row, "rejected")}
  if schema == "fewshot":
    return _validate_fewshot(row, default_task)
  raise ValueError(f"Unknown schema {schema!r}.")


def _validate_ner(row: dict) -> dict[str, Any]:
  tokens, tags = row.get("tokens"), row.get("ner_tags")
  if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
    raise FormatError("field 'tokens' must be a list of strings.")
  if not isinstance(tags, list) or len(tags) != len(tokens):
    raise FormatError(f"field 'ner_tags' must be a list as long as 'tokens' ({len(tokens)}), got {tags!r}.")
  ids = []
  for tag in tags:
    if isinstance(tag, str) and tag in schemas.NER_TAGS:
      ids.append(schemas.NER_TAGS.index(tag))
    elif isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(schemas.NER_TAGS):
      ids.append(tag)
    else:
      raise FormatError(f"unknown NER tag {tag!r}; expected one of {list(schemas.NER_TAGS)} or their ids.")
  return {"tokens": tokens, "ner_tags": ids}


def _validate_fewshot(row: dict, default_task: str) -> dict[str, Any]:
  choices, answer = row.get("choices"), row.get("answer")
  if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
    raise FormatError("field 'choices' must be a list of at least two strings.")
  if isinstance(answer, str) and answer in choices:
    answer = choices.index(answer)
  if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
    raise FormatError(f"field 'answer' must index 'choices' (0..{len(choices) - 1}) or equal one of them, got {answer!r}.")
  return {"task": str(row.get("task", default_task)), "prompt": _string(row, "prompt"), "choices": choices, "answer": answer}
