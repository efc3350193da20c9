"""Multiple-choice tuning of a decoder on world/fewshot tasks: fine-tuning on k examples, scored like few-shot.

  python -m experiments.finetune --config=configs/finetune/choice.py:tiny --workdir=DIR \\
      --config.init_from=PRETRAIN_DIR --config.task_options.tasks=sentiment --config.data.train_examples=32
  python -m experiments.transfer_study --config=configs/finetune/choice.py:tiny --workdir=DIR \\
      --config.init_from=PRETRAIN_DIR --config.task_options.tasks=sentiment --budgets=8,32,128

The model learns to continue an item's prompt with its answer, in the evaluation harness's own template
(task_options.template, "{prompt} {answer}"), loss on the answer only. It is scored as the harness
scores it at k=0: the choice with the highest log-likelihood (`accuracy`, `accuracy/<task>`), so
the numbers sit in one table with in-context k-shot (configs/eval/fewshot.py).
"""

import os

import ml_collections

from lm import settings
from lm.evaluation import prompts


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"base.py:{preset}"))
  c.task = "choice"
  c.architecture = "decoder"
  c.init_from = ""                  # a causal pretraining run, or an instruction-tuned one
  c.data.dataset = "world/fewshot"  # or files/fewshot with --config.data.files.train=... (JSONL)
  c.data.seq_len = 128              # the longest world item (older: two facts and a question) is under 90 pieces
  c.task_options = ml_collections.ConfigDict()
  c.task_options.tasks = ""         # train and score only these tasks (comma-separated; "" = all of them)
  c.task_options.template = prompts.PLAIN  # how an item reads; the harness prompts in the same template
  if preset == "tiny":
    # Few examples: a short run at a low rate (every budget gets the same steps; 8 examples are seen ~200 times).
    c.data.batch_size = 16
    c.train.steps, c.train.eval_every, c.train.checkpoint_every, c.train.log_every = 100, 50, 100, 25
    c.optimizer.learning_rate = 3e-4
    c.optimizer.warmup_steps = 10
  return c
