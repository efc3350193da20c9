"""English -> Zx translation on world/translation (or wmt14_translate/de-en): `bleu` (sacrebleu).

  python -m experiments.finetune --config=configs/finetune/translation.py:tiny --workdir=/tmp/translate
  # from a T5 span-corruption run (architecture encoder_decoder, the default):
  python -m experiments.finetune --config=configs/finetune/translation.py:tiny --workdir=/tmp/translate_t5 \
      --config.init_from=/tmp/t5_tiny
  # a decoder with the source as its prompt, from a causal LM: configs/finetune/translation_decoder.py
  # real data: --config.data.dataset=wmt14_translate/de-en --config.task_options.target_field=de
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"base.py:{preset}"))
  c.task = "translation"
  c.architecture = "encoder_decoder"  # or "decoder" (see translation_decoder.py)
  c.model.num_layers = max(c.model.num_layers // 2, 1)  # per side, as in configs/pretrain/t5.py
  c.data.dataset = "world/translation"
  c.data.seq_len = 48                 # source pieces (under 44 in the world)
  c.data.decoder_seq_len = 48         # target pieces (under 46 in the world)
  c.task_options = ml_collections.ConfigDict()
  c.task_options.source_field = "en"
  c.task_options.target_field = "zx"  # "de" for wmt14_translate/de-en
  c.task_options.template = "Translate to Zx:\n{prompt}\nZx:\n"  # decoder architecture only
  c.task_options.max_prompt_tokens = 48
  c.task_options.truncate_side = "right"
  c.eval.max_new_tokens = 64
  if preset == "tiny":
    c.train.steps, c.train.eval_every, c.train.checkpoint_every = 1000, 250, 250  # a lexicon to learn: slower
  return c
