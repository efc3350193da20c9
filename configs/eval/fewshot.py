"""Zero- and few-shot evaluation of a decoder on the built-in world's multiple-choice tasks.

  python -m experiments.evaluate --config=configs/eval/fewshot.py --workdir=DIR --config.checkpoint=RUN_DIR
  python -m experiments.evaluate --config=configs/eval/fewshot.py:heldout --workdir=DIR \
      --config.checkpoint=SFT_DIR --config.tasks.instructions=sentiment

Presets:
- `fewshot` (default): the five world/fewshot tasks, scored by likelihood and by generation, at k = 0, 1, 4, 8.
- `heldout`: the same, plus instruction families (`tasks.instructions`, e.g. the family an instruction-tuned
  run held out with task_options.held_out_families) scored by generation.
- `jsonl`: your own multiple-choice files only: --config.tasks.jsonl=a.jsonl,b.jsonl.

The checkpoint may be any decoder run: causal pretraining, instruction tuning, or multiple-choice tuning
(configs/finetune/choice.py). With `harness.template="auto"` an instruction-tuned run is prompted in
its own template, every other run plainly ("{prompt} {answer}"); see lm/evaluation/prompts.py.
"""

import os

import ml_collections

from lm.data.world import config as world_config


# The built-in world's generation (lm.data.world.WorldConfig): seed and size, and the knobs that change what it
# teaches before any label (Zx lessons in world/text; the large evaluative lexicon of reviews; reviewers' reactions in
# world/text, which reveal each adjective's polarity; quiz pages of solved questions and their style; fiction about
# made-up worlds; recaps that repeat a document's sentences; roll calls read twice). See the README.
WORLD = world_config.config_knobs()


def get_config(preset: str = "fewshot") -> ml_collections.ConfigDict:
  if preset not in ("fewshot", "heldout", "jsonl"):
    raise ValueError(f"Unknown preset {preset!r}; expected fewshot, heldout or jsonl.")
  c = ml_collections.ConfigDict()
  c.checkpoint = ""                # the --workdir of the run to evaluate (required)
  c.step = 0                       # its checkpoint step (0 = latest)

  c.data = ml_collections.ConfigDict()
  c.data.data_dir = os.environ.get("LM_DATA_DIR", "data")  # where the world is prepared (as in training)
  c.data.world = ml_collections.ConfigDict(WORLD)

  c.tasks = ml_collections.ConfigDict()
  c.tasks.fewshot = "" if preset == "jsonl" else "all"  # world/fewshot tasks: sentiment, located_in, entity_type,
  #                                                       zx_morphology, older ("all" or a comma-separated list)
  c.tasks.instructions = ""        # world/instructions families scored by generation, e.g. "sentiment"
  c.tasks.jsonl = ""               # your own {"prompt","choices","answer"[,"task"]} files, comma-separated
  c.tasks.jsonl_demos = ""         # their demonstrations ("" = drawn from the other items of the same file)
  c.tasks.split = "test"           # items come from this world split ...
  c.tasks.demo_split = "train"     # ... and demonstrations from this one
  c.tasks.max_items = 0            # items per task (0 = all: 500 per world/fewshot task at scale 1)

  c.harness = ml_collections.ConfigDict()
  c.harness.shots = (0, 1, 4, 8)   # in-context demonstrations per prompt; one row of the table per k
  c.harness.seed = 0               # which demonstrations (nested: the 1-shot one is the first of the 4-shot ones)
  c.harness.template = "auto"      # "auto" | "plain" | "instruct" | a format with {prompt} and {answer}
  c.harness.separator = "\n\n"     # between demonstrations and before the item
  c.harness.prefix = ""            # text before the first example, e.g. a task description
  c.harness.methods = ("loglik", "generate")  # likelihood of each choice; greedy generation + exact match
  c.harness.batch_size = 32        # items per compiled call
  c.harness.max_new_tokens = 24    # generation budget (world answers are under 20 tokens)
  c.harness.stop = "\n"            # generations are cut here (a plain prompt's next example starts after it)
  # Longest prompt + answer in tokens; 0 = the run's data.seq_len, since positions beyond the length a model
  # trained on were never trained. Demonstrations that do not fit are dropped (the table's "shots used").
  c.harness.max_len = 0
  c.harness.progress_bar = True
  if preset == "heldout":
    c.tasks.instructions = "sentiment"
    c.harness.max_new_tokens = 32  # instruction responses are longer
  return c
