"""Named-entity recognition on world/ner (or conll2003): entity-level `span_f1` and per-type F1.

  python -m experiments.finetune --config=configs/finetune/ner.py:tiny --workdir=/tmp/ner
  python -m experiments.finetune --config=configs/finetune/ner.py:tiny --workdir=/tmp/ner_bert \
      --config.init_from=/tmp/bert_tiny

Each word's first sub-word piece carries its BIO tag; the other pieces are not scored.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"base.py:{preset}"))
  c.task = "ner"
  c.architecture = "encoder"        # "encoder" sees both sides of a word; "decoder" only its left
  c.data.dataset = "world/ner"
  c.data.seq_len = 64               # sentences that do not fit lose their last words (counted)
  c.task_options = ml_collections.ConfigDict()
  return c
