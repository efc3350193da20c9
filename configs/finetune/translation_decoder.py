"""English -> Zx translation with a decoder: the source in the prompt template, the target as the response.

  python -m experiments.finetune --config=configs/finetune/translation_decoder.py:tiny --workdir=/tmp/translate_clm \
      --config.init_from=/tmp/clm_tiny

Derived from translation.py (same data, metric and generation budget); the decoder has the causal
LM's full depth, and one row holds template, source and target.
"""

import os

import ml_collections

from lm import settings
from lm.models import config as model_presets


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"translation.py:{preset}"))
  c.architecture = "decoder"
  c.model.num_layers = model_presets.preset(preset)["num_layers"]  # as in configs/pretrain/clm.py
  c.data.seq_len = 128                  # template (8) + source (< 44) + target (< 46) + bos/eos
  c.data.pack = True                    # loss weights are response-only, so packing is safe
  return c
