"""Sentiment classification on world/sentiment (or imdb_reviews, glue/sst2): `accuracy`.

  python -m experiments.finetune --config=configs/finetune/sentiment.py:tiny --workdir=/tmp/sentiment
  # from a BERT pretraining run (architecture encoder, the default):
  python -m experiments.finetune --config=configs/finetune/sentiment.py:tiny --workdir=/tmp/sentiment_bert \
      --config.init_from=/tmp/bert_tiny
  # from a causal LM (the label is read at the last token):
  python -m experiments.finetune --config=configs/finetune/sentiment.py:tiny --workdir=/tmp/sentiment_clm \
      --config.architecture=decoder --config.init_from=/tmp/clm_tiny
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"base.py:{preset}"))
  c.task = "sentiment"
  c.architecture = "encoder"        # "encoder": BERT's pooled [CLS]; "decoder": the last token's state
  c.data.dataset = "world/sentiment"
  c.data.seq_len = 128              # world reviews are 30-100 pieces; longer ones are cut and counted
  c.task_options = ml_collections.ConfigDict()
  c.task_options.truncate_side = "right"  # a review longer than seq_len keeps its beginning
  # Text appended to every review, e.g. "I was" (prompt-based fine-tuning): a decoder then reads the label at the
  # prompt's last piece, where a causal LM pretrained on reviews predicts the reviewer's reaction. "" = none.
  c.task_options.suffix = ""
  # Label words that start a decoder's head as the LM's own choice (lm/training/verbalizer.py), classes in label order
  # (neg|pos), e.g. "disappointed,annoyed,upset|delighted,pleased,thrilled" after the suffix "I was". "" = a fresh head.
  c.task_options.verbalizer = ""
  return c
