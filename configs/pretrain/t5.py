"""T5 pretraining: span corruption on the encoder-decoder.

  python -m experiments.pretrain --config=configs/pretrain/t5.py:tiny --workdir=/tmp/t5_tiny

Each document is cut into rows whose corrupted inputs are exactly `data.seq_len` tokens (T5's
length arithmetic, lm/data/span_corruption.py); the targets' length follows from the noise
settings (seq_len 128 -> targets 29; 512 -> 114). `model.num_layers` layers are used on each side.
Derived from configs/pretrain/clm.py; only the differences are set here.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"clm.py:{preset}"))
  c.objective = "span"
  c.data.dataset = "world/text"
  c.span = ml_collections.ConfigDict()
  c.span.noise_density = 0.15              # share of tokens corrupted
  c.span.mean_span_length = 3.0            # average corrupted span, in tokens (one sentinel per span)
  c.model.num_layers = max(c.model.num_layers // 2, 1)  # per side: about the decoder-only model's size
  c.model.projection_bias = "none"         # T5's projections have no biases (clm.py's GPT-2 default has)
  c.optimizer.learning_rate = 2e-3 if preset == "tiny" else c.optimizer.learning_rate
  return c
