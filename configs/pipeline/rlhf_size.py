"""The reward model against model size (issue 18's diagnostic): pretraining, SFT and the reward model of
configs/pipeline/rlhf.py at another width and depth, the preset naming them as LAYERSxWIDTH (tiny is 4x128).

  mkdir -p runs/rlhf/size/2x64 && ln -s $PWD/runs/reproduce/rlhf/pairs runs/rlhf/size/2x64/pairs
  python -m experiments.pipeline --config=configs/pipeline/rlhf_size.py:2x64 --workdir=runs/rlhf/size/2x64

With the finished `pairs` stage of the headline run linked into the work dir, the reward model trains and is judged on
the same pairs of the tiny SFT policy's samples as the headline reward model, so only its size differs.
"""

import os

from lm import settings


def get_config(preset: str = "2x64"):
  layers, _, width = preset.partition("x")
  if not (layers.isdigit() and width.isdigit() and int(width) % 32 == 0):
    raise settings.ConfigError(f"rlhf_size.py:{preset}: the preset is LAYERSxWIDTH with a width that is a multiple "
                               "of 32, e.g. 2x64.")
  c = settings.load_config(os.path.join(os.path.dirname(__file__), "rlhf.py"))
  c.stages = "pretrain,sft,reward"
  model = dict(num_layers=int(layers), d_model=int(width), num_heads=max(1, int(width) // 32),
               d_ff=4 * int(width))
  for name in ("pretrain", "sft", "reward"):
    c[name].model.update(model)
  return c
