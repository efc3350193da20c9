"""BERT pretraining: masked language modelling plus next-sentence prediction on sentence pairs.

  python -m experiments.pretrain --config=configs/pretrain/bert.py:tiny --workdir=/tmp/bert_tiny
  # masked LM alone, on whole documents (packed):
  python -m experiments.pretrain --config=configs/pretrain/bert.py:tiny --workdir=/tmp/mlm_tiny \
      --config.data.dataset=world/text --config.bert.nsp_weight=0
  # next-sentence prediction alone:
  python -m experiments.pretrain --config=configs/pretrain/bert.py:tiny --workdir=/tmp/nsp_tiny \
      --config.bert.mlm_weight=0

Derived from configs/pretrain/clm.py (same model presets and fields); only the differences are set here.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"clm.py:{preset}"))
  c.objective = "bert"
  c.data.dataset = "world/sentence_pairs"  # [CLS] A [SEP] B [SEP], half of the B's the true next sentence
  c.data.seq_len = 128                      # two segments of 1-3 sentences each
  c.masking = ml_collections.ConfigDict()
  c.masking.mask_rate = 0.15                # share of tokens chosen for prediction (never special tokens)
  c.masking.replace_rate = 0.8              # of the chosen: become [MASK]
  c.masking.random_rate = 0.1               # of the chosen: become a random token (the rest stay unchanged)
  c.masking.whole_word = False              # choose whole words instead of single pieces
  c.bert = ml_collections.ConfigDict()
  c.bert.mlm_weight = 1.0                   # weight of the masked-LM loss (0 disables it)
  c.bert.nsp_weight = 1.0                   # weight of the next-sentence loss (0 disables it)
  c.optimizer.learning_rate = 2e-3 if preset == "tiny" else c.optimizer.learning_rate
  c.optimizer.b2 = 0.98                     # BERT/RoBERTa's setting
  if preset == "tiny":
    # NSP needs cross-segment matching, which a tiny model only finds after ~700 steps of joint training.
    c.train.steps, c.train.eval_every, c.train.checkpoint_every = 2500, 500, 500
  c.optimizer.weight_decay = 0.01
  return c
