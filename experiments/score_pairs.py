"""A reward model's judgement of preference pairs it did not train on: accuracy against their labels, the reward gap
and, for world prompts, agreement with the hidden gold preference (split by correctness and style pairs).

  python -m experiments.score_pairs --run=RM_DIR --pairs=runs/pairs/test.jsonl --pairs=world/preferences:test

`--pairs` is a JSONL file of {"prompt", "chosen", "rejected"} rows (files/preferences) or `world/preferences:SPLIT`.
Gold agreement is reported for world pairs, and for files with `--gold` (on by default: the files written by
experiments.policy_pairs hold world prompts). `--out=FILE` also writes the figures as JSON.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from experiments import cli
from lm import settings
from lm.data import sources
from lm.training import pretrain, rewards, runs

_RUN = flags.DEFINE_string("run", None, "A reward-model run directory (experiments.train_reward).", required=True)
_PAIRS = flags.DEFINE_multi_string("pairs", None, "A JSONL file of pairs, or world/preferences:SPLIT.", required=True)
_GOLD = flags.DEFINE_bool("gold", True, "Judge files by the world's gold preference too (their prompts are the "
                          "world's).")
_OUT = flags.DEFINE_string("out", "", "Write {pairs: figures} as JSON here.")


def score(run: runs.Run, pairs: str, gold: bool) -> dict[str, float]:
  """The reward model's figures on one set of pairs (see the module docstring)."""
  if run.config.get("task") != "reward":
    raise settings.ConfigError(f"--run={run.workdir} is not a reward-model run (task "
                               f"{run.config.get('task', run.config.get('objective'))!r}).")
  config = run.config.copy_and_resolve_references()
  spec = pretrain.data_spec(config.data)
  if pairs.startswith("world/"):
    name, _, split = pairs.partition(":")
    if name != "world/preferences":
      raise settings.ConfigError(f"--pairs={pairs}: the world's pairs are world/preferences:SPLIT.")
    spec, config.data.dataset = dataclasses.replace(spec, name=name), name
  else:
    spec, split = dataclasses.replace(spec, name="files/preferences", files={"test": [pairs]}), "test"
    config.data.dataset = "files/preferences"
  config.task_options.gold_judge = gold
  evaluate = rewards.evaluator(run.model, config, run.tokenizer)
  metrics, _ = evaluate(run.params, sources.open_split(spec, split or "test"))
  return metrics


def main(argv):
  del argv
  with cli.reported():
    run = runs.load(_RUN.value)
    figures = {pairs: score(run, pairs, _GOLD.value) for pairs in _PAIRS.value}
  for pairs, m in figures.items():
    shown = [f"{k}={m[k]:.3f} ± {m[k + '_stderr']:.3f}" for k in ("rm_accuracy", "gold_agreement") if k in m]
    shown += [f"{k}={m[k]:.3f}" for k in ("gold_agreement/correctness", "gold_agreement/style", "label_ceiling",
                                           "reward_gap") if k in m]
    print(f"{pairs} ({int(m['examples'])} pairs): " + ", ".join(shown))
  if _OUT.value:
    settings.write_json(_OUT.value, figures)


if __name__ == "__main__":
  cli.run(main)
