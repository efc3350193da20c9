"""Looking inside a fine-tuned run (for notebooks): its predictions on a split, a confusion matrix, tagged spans.

  metrics, examples = inspection.predictions("runs/sentiment", "test", limit=500)
  counts = inspection.confusion(examples, ["neg", "pos"])      # [reference, output]
  inspection.tagged(examples[0])                               # "[Tomas Berg]PER works for [Velbury Audio]ORG ..."
  inspection.reward_scores("runs/reward", prompt, ["Velbury.", "I will not tell you."])  # a reward model's scores

The predictions are the task's own evaluator's (the figures match the run's results.json on the same records), from
the parameters `runs.load` gives: those selected on validation, if the run selects, else the latest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lm.data import sources
from lm.evaluation import spans
from lm.training import predict, pretrain, rewards, runs, tasks


def predictions(workdir: str, split: str = "test", limit: int = 500) -> tuple[dict[str, float], list[dict]]:
  """The run's metrics on the first `limit` records of `split` that its task uses, and every prediction as
  {"input", "reference", "output"} (for NER: words, and tags joined by spaces)."""
  run = runs.load(workdir)
  if "task" not in run.config:
    raise ValueError(f"{workdir} is a pretraining run: predictions need a fine-tuned task (python -m "
                     "experiments.finetune).")
  config = run.config.copy_and_resolve_references()
  config.eval.samples = limit
  task = tasks.task(config)
  records = sources.head(sources.where(sources.open_split(pretrain.data_spec(config.data), split),
                                       task.select(config, split), f"task {config.task!r}"), limit)
  return task.evaluator(run.model, config, run.tokenizer)(run.params, records)


def confusion(examples: Sequence[dict], labels: Sequence[str]) -> np.ndarray:
  """Counts [reference, output] over `labels` (in that order); a label outside them is an error."""
  index = {label: i for i, label in enumerate(labels)}
  counts = np.zeros((len(labels), len(labels)), np.int64)
  for example in examples:
    try:
      counts[index[example["reference"]], index[example["output"]]] += 1
    except KeyError as e:
      raise ValueError(f"label {e.args[0]!r} is not among {list(labels)}") from None
  return counts


def tagged(example: dict, which: str = "output") -> str:
  """An NER example's words with the spans of its `which` tags ("output" or "reference") bracketed by type; words
  past those that fitted in data.seq_len (which have no tags) follow untagged."""
  words, tags = example["input"].split(), example[which].split()
  starts = {start: (kind, end) for kind, start, end in spans.bio_spans(tags)}
  out, i = [], 0
  while i < len(words):
    if i in starts:
      kind, end = starts[i]
      out.append(f"[{' '.join(words[i:end])}]{kind}")
      i = end
    else:
      out.append(words[i])
      i += 1
  return " ".join(out)


def reward_scores(workdir: str, prompt: str, responses: Sequence[str]) -> np.ndarray:
  """A reward-model run's score of each response to `prompt` (the run's template and truncation), as in training."""
  run = runs.load(workdir)
  if run.config.get("task") != "reward":
    raise ValueError(f"{workdir} is not a reward-model run (task {run.config.get('task')!r}).")
  records = [{"prompt": prompt, "chosen": r, "rejected": r} for r in responses]  # a pair scores both of its sides
  scored = [rewards_Bx2 for _, rewards_Bx2 in predict.batches(rewards.scorer(run.model), run.config,
                                                               rewards.layout(run.config, run.tokenizer),
                                                               run.tokenizer, run.params, records, rewards.PAIR_KEYS)]
  return np.concatenate(scored)[:, 0]
