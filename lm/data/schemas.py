"""Record schemas: every dataset view has the layout of the catalog dataset it stands for.

Switching from the built-in world to real data is then a config change: a pipeline written for
`world/sentiment` reads `imdb_reviews` unchanged, because both yield `{"text", "label"}`.

| schema           | fields                                        | stands for                 |
|------------------|-----------------------------------------------|----------------------------|
| `text`           | text                                          | lm1b, c4                   |
| `sentence_pairs` | sentence_a, sentence_b, is_next               | BERT's NSP pairs           |
| `sentiment`      | text, label (0 neg, 1 pos)                    | imdb_reviews, glue/sst2    |
| `ner`            | tokens, ner_tags (conll2003 BIO tags)         | conll2003                  |
| `translation`    | en, and one other language                    | wmt14_translate            |
| `instructions`   | prompt, response, task                        | instruction-tuning sets    |
| `preferences`    | prompt, chosen, rejected                      | RLHF preference pairs      |
| `fewshot`        | task, prompt, choices, answer                 | multiple-choice eval sets  |
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

# conll2003's tag set, in the order tfds' conll2003 ClassLabel uses, so ids agree.
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
# imdb_reviews' ClassLabel names.
SENTIMENT_LABELS = ("neg", "pos")


def _text() -> tfds.features.Text:
  return tfds.features.Text()


def features(schema: str, *, other_language: str = "zx") -> tfds.features.FeaturesDict:
  """The TFDS feature spec of `schema` (a key of `SCHEMAS`)."""
  text = _text
  specs = {
      "text": lambda: {"text": text()},
      "sentence_pairs": lambda: {
          "sentence_a": text(),
          "sentence_b": text(),
          "is_next": tfds.features.ClassLabel(names=["not_next", "is_next"]),
      },
      "sentiment": lambda: {"text": text(), "label": tfds.features.ClassLabel(names=SENTIMENT_LABELS)},
      "ner": lambda: {
          "tokens": tfds.features.Sequence(text()),
          "ner_tags": tfds.features.Sequence(tfds.features.ClassLabel(names=NER_TAGS)),
      },
      "translation": lambda: {"en": text(), other_language: text()},
      "instructions": lambda: {"prompt": text(), "response": text(), "task": text()},
      "preferences": lambda: {"prompt": text(), "chosen": text(), "rejected": text()},
      "fewshot": lambda: {
          "task": text(),
          "prompt": text(),
          "choices": tfds.features.Sequence(text()),
          "answer": tfds.features.Scalar(dtype=np.int32),
      },
  }
  if schema not in specs:
    raise ValueError(f"Unknown schema {schema!r}; expected one of {sorted(specs)}.")
  return tfds.features.FeaturesDict(specs[schema]())


# Field names of each schema (translation's second language varies; `zx` is the world's).
SCHEMAS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "sentence_pairs": ("sentence_a", "sentence_b", "is_next"),
    "sentiment": ("text", "label"),
    "ner": ("tokens", "ner_tags"),
    "translation": ("en", "zx"),
    "instructions": ("prompt", "response", "task"),
    "preferences": ("prompt", "chosen", "rejected"),
    "fewshot": ("task", "prompt", "choices", "answer"),
}


def decode(record: dict) -> dict:
  """Turns a record read from an array_record source into plain Python values.

  Data sources return text as `bytes` and sequences as lists of numpy scalars; downstream code
  (tokenizers, metrics, printing) wants `str` and `int`.
  """
  return {key: _plain(value) for key, value in record.items()}


def _plain(value):
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  if hasattr(value, "tolist"):  # numpy scalars and arrays
    return _plain(value.tolist())
  return value
