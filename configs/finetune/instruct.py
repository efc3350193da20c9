"""Instruction tuning of a decoder on world/instructions: loss on response tokens only; `exact_match`.

  python -m experiments.finetune --config=configs/finetune/instruct.py:tiny --workdir=/tmp/sft
  python -m experiments.finetune --config=configs/finetune/instruct.py:tiny --workdir=/tmp/sft_clm \
      --config.init_from=/tmp/clm_tiny

The prompt template (task_options.template) is "### Instruction:\\n{prompt}\\n\\n### Response:\\n";
evaluation generates greedily after it and scores exact match overall and per task family.
"""

import os

import ml_collections

from lm import settings
from lm.data import supervised


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"base.py:{preset}"))
  c.task = "instruct"
  c.architecture = "decoder"
  c.data.dataset = "world/instructions"
  c.data.seq_len = 256              # prompts are up to ~240 pieces with the template; responses under 32
  c.data.pack = True                # the response-only weights survive packing
  c.task_options = ml_collections.ConfigDict()
  c.task_options.template = supervised.PROMPT_TEMPLATE  # must contain {prompt}
  c.task_options.max_prompt_tokens = 224  # longer prompts (under 1% in the world) are cut and counted in truncated_count
  c.task_options.truncate_side = "left"   # cut the start: the question usually comes last
  # Families left out of training (comma-separated, e.g. "sentiment"), to measure zero- and few-shot transfer
  # to them: validation and test keep them (exact_match/<family>); see configs/eval/fewshot.py:heldout. Select with
  # --config.train.select_metric=exact_match/trained_families, which leaves them out.
  c.task_options.held_out_families = ""
  c.eval.max_new_tokens = 32
  if preset == "tiny":
    c.data.batch_size = 16          # packed rows: about 3 examples each
    c.train.steps = 400
  return c
