"""Few-shot items written as the world's quiz pages write them, as JSONL tasks for the evaluation harness.

  python -m experiments.format_probe --out=runs/probe_items
  python -m experiments.evaluate --config=configs/eval/fewshot.py:jsonl --workdir=runs/probe_eval \
      --config.checkpoint=RUN --config.tasks.jsonl=$(ls runs/probe_items/*.jsonl | paste -sd,) --config.harness.shots=0,4

Asks whether a model can do a task in the format its pretraining pages used (README, issue 19's sixth levers):
`located_in` and `older` about entities made up per item (the answer is only in the prompt), in a page's wording and
in the test's; `sentiment` in each page wording, on the world's test reviews. Demonstrations are drawn from the other
items of the same file.
"""

import json
import os
import random

from absl import flags

from experiments import cli
from lm.data.world import config as world_config
from lm.data.world import entities, quiz

_OUT = flags.DEFINE_string("out", None, "Directory for the JSONL files (one per probe).", required=True)
_ITEMS = flags.DEFINE_integer("items", 500, "Items per probe.")
_SEED = flags.DEFINE_integer("seed", 7, "Seed of the items.")

# (task, wording index in quiz.WORDINGS, made-up entities)
PROBES = (("located_in", 1, True), ("located_in", 0, True), ("older", 1, True), ("older", 0, True),
          ("sentiment", 1, False), ("sentiment", 2, False))


def main(argv):
  del argv
  world = entities.build_world(world_config.WorldConfig(sentiment_lexicon="large", review_reactions=1.0), "test")
  os.makedirs(_OUT.value, exist_ok=True)
  for task, wording, made_up in PROBES:
    name = f"{task}_wording{wording}" + ("_made_up" if made_up else "")
    items = quiz.page_items(random.Random(f"{_SEED.value}/{name}"), world, task, _ITEMS.value, wording, made_up)
    with open(os.path.join(_OUT.value, f"{name}.jsonl"), "w", encoding="utf-8") as f:
      for item in items:
        f.write(json.dumps({**item, "task": name}, ensure_ascii=False) + "\n")
    print(f"{name}: {len(items)} items -> {os.path.join(_OUT.value, name)}.jsonl")


if __name__ == "__main__":
  cli.run(main)
