"""The whole pipeline as one call: pretraining -> instruction tuning -> reward model -> RL, each from the last.

`run(config, workdir)` runs the stages named in `config.stages` in order, each in its own
sub-directory of `workdir` (`pretrain/`, `sft/`, `reward/`, `ppo/`, ...) with the config in the
section of the same name, and wires each to the stage before it (`init_from`, `policy_from`,
`reward_from`). With a `pairs` stage (the SFT policy's own samples, labelled by noisy gold), the reward model and DPO
train on its files instead of their configured dataset. A stage that finished is skipped (refused if its config
changed since: its figures would stand for another experiment); one that was interrupted resumes from its
checkpoints. The headline figures of every stage go to `summary.json` and a table
(`summary.md`, also printed); the RLHF figures also to `headline.json`, a flat object of
`{"value": x, "stderr": s}` entries (`rm_gold_agreement`, `ppo_gold_win_rate`, `ppo_kl`, `oracle_gold_win_rate`,
`grpo_gold_win_rate`, `rloo_gold_win_rate`, `dpo_gold_win_rate`, `bon_<n>_{rm,gold}_gold_win_rate`).
"""

from __future__ import annotations

import dataclasses
import os
import time

from absl import logging

from lm import settings
from lm.rl import best_of_n, dpo, policy_pairs, train as rl_train
from lm.training import finetune, loop, pretrain, rundir, writers

SUMMARY_FILE = "summary.json"
TABLE_FILE = "summary.md"
DONE_FILE = "stage_done.json"  # written into a stage's directory when it finished


@dataclasses.dataclass(frozen=True)
class Stage:
  kind: str                      # "pretrain" | "finetune" | "rl" | "best_of_n" | "pairs"
  after: tuple[str, ...]         # stages whose directories it starts from: (init_from | policy_from, reward_from);
                                 # an RL stage without a second one keeps its config's reward_from (the oracle's "gold")
  headline: tuple[str, ...]      # metrics shown in the summary table (best_of_n: its results' own headline)
  data_from: str = ""            # a stage whose files, when it is in the pipeline, become this one's dataset


RL_HEADLINE = ("gold_win_rate", "gold_win_rate_stderr", "rm_win_rate", "rm_win_rate_stderr", "kl", "kl_stderr",
               "gold_score", "sft_gold_score")
STAGES = {
    "pretrain": Stage("pretrain", (), ("perplexity", "nll")),
    "sft": Stage("finetune", ("pretrain",), ("exact_match",)),
    # The SFT policy's own samples, labelled by noisy gold: with it, the reward model trains on them.
    "pairs": Stage("pairs", ("sft",), ()),
    "reward": Stage("finetune", ("sft",), ("rm_accuracy", "rm_accuracy_stderr", "gold_agreement",
                                           "gold_agreement_stderr", "label_ceiling"), data_from="pairs"),
    "ppo": Stage("rl", ("sft", "reward"), RL_HEADLINE),
    "ppo_gold": Stage("rl", ("sft",), RL_HEADLINE),  # PPO against the gold preference itself: the oracle
    "grpo": Stage("rl", ("sft", "reward"), RL_HEADLINE),
    "rloo": Stage("rl", ("sft", "reward"), RL_HEADLINE),
    "dpo": Stage("rl", ("sft", "reward"), RL_HEADLINE, data_from="pairs"),  # the reward model's pairs
    "bon": Stage("best_of_n", ("sft", "reward"), ()),
}
# headline.json: key -> (stage, metric); best-of-n's keys come from its own results.
HEADLINE_FILE = "headline.json"
HEADLINE = {"rm_gold_agreement": ("reward", "gold_agreement"), "rm_accuracy": ("reward", "rm_accuracy"),
            "ppo_gold_win_rate": ("ppo", "gold_win_rate"), "ppo_kl": ("ppo", "kl"),
            "oracle_gold_win_rate": ("ppo_gold", "gold_win_rate"), "oracle_kl": ("ppo_gold", "kl"),
            "grpo_gold_win_rate": ("grpo", "gold_win_rate"), "grpo_kl": ("grpo", "kl"),
            "rloo_gold_win_rate": ("rloo", "gold_win_rate"), "rloo_kl": ("rloo", "kl"),
            "dpo_gold_win_rate": ("dpo", "gold_win_rate"), "dpo_kl": ("dpo", "kl")}
STDERR = "_stderr"  # a headline metric "x_stderr" is shown beside "x" as "x=v ± s"


def _wire(name: str, config, dirs: dict[str, str], present: set[str]) -> None:
  """Points a stage's config at the directories of the stages it starts from (and reads data from, when `present`:
  run here or finished before)."""
  stage = STAGES[name]
  if stage.kind == "finetune":
    config.init_from = dirs[stage.after[0]]
  elif stage.kind in ("rl", "best_of_n", "pairs"):
    config.policy_from = dirs[stage.after[0]]
    if len(stage.after) > 1:
      config.reward_from = dirs[stage.after[1]]
  if stage.data_from in present:
    config.data.dataset = "files/preferences"
    for split, filename in policy_pairs.SPLIT_FILES.items():
      config.data.files[split] = os.path.join(dirs[stage.data_from], filename)
    if "task_options" in config:
      config.task_options.gold_judge = True  # world prompts: gold still judges the reward model


def _headline(name: str, workdir: str, seconds: float) -> dict:
  """The stage's figures: test metrics for fine-tuning and RL, the last validation for pretraining."""
  stage = STAGES[name]
  if stage.kind == "pretrain":
    rows = [r for r in writers.read(workdir) if r["split"] == "eval"]
    metrics = rows[-1] if rows else {}
  elif stage.kind == "pairs":
    splits = settings.load_json(os.path.join(workdir, policy_pairs.RESULTS_FILE))["splits"]
    # How many pairs it trains on, and what the test pairs are like (the rest is in its results.json).
    return {"seconds": seconds, "policy_pairs": splits["train"]["policy_pairs"],
            "world_pairs": splits["train"].get("world_pairs", 0), "test_label_ceiling": splits["test"]["label_ceiling"],
            "test_by_correctness": splits["test"]["by_correctness"]}
  elif stage.kind == "best_of_n":
    results = settings.load_json(os.path.join(workdir, best_of_n.RESULTS_FILE))
    figures = {"seconds": seconds}
    for key, figure in results["headline"].items():
      figures.update({key: figure["value"], key + STDERR: figure["stderr"]})
    return figures
  else:
    results = settings.load_json(os.path.join(workdir, finetune.RESULTS_FILE))
    metrics = dict(results["test"])
    if "selected_step" in results:  # the run reported the parameters selected on validation
      metrics["selected_step"] = results["selected_step"]
  return {"seconds": seconds, **{k: metrics[k] for k in (*stage.headline, "selected_step") if k in metrics}}


def _run_stage(name: str, config, workdir: str) -> None:
  kind = STAGES[name].kind
  if kind == "pretrain":
    result = pretrain.run(config, workdir)
  elif kind == "finetune":
    result = finetune.run(config, workdir).loop
  elif kind in ("best_of_n", "pairs"):
    (best_of_n.run if kind == "best_of_n" else policy_pairs.run)(config, workdir)
    return
  else:
    result = (dpo.run if config.algorithm == "dpo" else rl_train.run)(config, workdir).loop
  if result.preempted:
    raise loop.Preempted(f"Stage {name} was preempted at step {result.step} (its checkpoint is saved); re-run the "
                         "same command to resume.")


def run(config, workdir: str) -> dict[str, dict]:
  names = settings.names(config.stages) if isinstance(config.stages, str) else list(config.stages)
  unknown = [n for n in names if n not in STAGES or n not in config]
  if unknown:
    raise settings.ConfigError(f"stages: {unknown} unknown or without a config section; known: {', '.join(STAGES)}.")
  dirs = {name: os.path.join(workdir, name) for name in STAGES}
  for name in names:
    missing = [s for s in STAGES[name].after if s not in names and not os.path.isfile(os.path.join(dirs[s], DONE_FILE))]
    if missing:
      raise settings.ConfigError(f"Stage {name} starts from {missing}, which neither run here nor finished in "
                                 f"{workdir}.")
  given = settings.to_dict(config)  # as the user gave it, before the stages are wired to each other's directories
  present = {s for s in STAGES if s in names or os.path.isfile(os.path.join(dirs[s], DONE_FILE))}
  for name in names:  # every finished stage checked before anything is written (config.json included)
    _wire(name, config[name], dirs, present)
    if os.path.isfile(os.path.join(dirs[name], DONE_FILE)):
      rundir.check_unchanged(dirs[name], config[name], f"stage {name}")
  settings.prepare_workdir(workdir, given)
  print(plan(config, names, dirs), flush=True)
  summary = settings.load_json(os.path.join(workdir, SUMMARY_FILE)) if os.path.isfile(
      os.path.join(workdir, SUMMARY_FILE)) else {}
  for name in names:
    done = os.path.join(dirs[name], DONE_FILE)
    stage_config = config[name]
    if os.path.isfile(done):
      logging.info("Stage %s already finished in %s: skipped.", name, dirs[name])
      summary.setdefault(name, settings.load_json(done))
      continue
    logging.info("== Stage %s -> %s", name, dirs[name])
    started = time.perf_counter()
    _run_stage(name, stage_config, dirs[name])
    summary[name] = _headline(name, dirs[name], time.perf_counter() - started)
    settings.write_json(done, summary[name])
    settings.write_json(os.path.join(workdir, SUMMARY_FILE), summary)
    print(f"Stage {name} done in {summary[name]['seconds'] / 60:.1f} min: {_shown(summary[name]) or 'no headline'}.",
          flush=True)
  figures = headline(summary)
  if figures:
    settings.write_json(os.path.join(workdir, HEADLINE_FILE), figures)
  table = summary_table({n: summary[n] for n in names if n in summary})
  settings.write_text(os.path.join(workdir, TABLE_FILE), table + "\n")
  print(table)
  return summary


def headline(summary: dict[str, dict]) -> dict[str, dict[str, float]]:
  """The RLHF headline figures of a pipeline's summary: `{key: {"value": x, "stderr": s}}` for those it ran."""
  out = {}
  for key, (stage, metric) in HEADLINE.items():
    figures = summary.get(stage, {})
    if metric in figures:
      out[key] = {"value": figures[metric], "stderr": figures.get(metric + STDERR, float("nan"))}
  for key, value in summary.get("bon", {}).items():
    if key.startswith("bon_") and not key.endswith(STDERR):
      out[key] = {"value": value, "stderr": summary["bon"].get(key + STDERR, float("nan"))}
  return out


def _shown(figures: dict) -> str:
  """A stage's headline figures in one line: "x=v ± s, y=w"."""
  return ", ".join(f"{k}={v:.4g}" + (f" ± {figures[k + STDERR]:.2g}" if k + STDERR in figures else "")
                   for k, v in figures.items() if k != "seconds" and not k.endswith(STDERR))


def summary_table(summary: dict[str, dict]) -> str:
  lines = ["| stage | headline | minutes |", "|---|---|---|"]
  for name, figures in summary.items():
    lines.append(f"| {name} | {_shown(figures)} | {figures.get('seconds', 0) / 60:.1f} |")
  return "\n".join(lines)


def _work(name: str, config) -> str:
  """What a stage trains: "800 steps", "40 iterations", or "sampling and scoring" (pairs, best-of-n)."""
  kind = STAGES[name].kind
  if kind == "rl":
    return f"{config.train.iterations} iterations"
  if kind in ("pretrain", "finetune"):
    return f"{config.train.steps} steps"
  return "sampling and scoring"


def plan(config, names: list[str], dirs: dict[str, str]) -> str:
  """The stages about to run, what each starts from and trains, and the minutes `config.expected_minutes` gives
  (measured on 2 CPU cores for the shipped pipelines; "?" where it gives none), in one table."""
  expected = dict(config.get("expected_minutes", {}) or {})
  lines = ["Plan:", "| stage | starts from | trains | expected minutes | state |", "|---|---|---|---|---|"]
  total, unknown = 0.0, 0
  for name in names:
    finished = os.path.isfile(os.path.join(dirs[name], DONE_FILE))
    minutes = expected.get(name)
    if not finished:
      total += minutes or 0.0
      unknown += minutes is None
    lines.append(f"| {name} | {', '.join(STAGES[name].after) or '-'} | {_work(name, config[name])} | "
                 f"{'?' if minutes is None else f'{minutes:g}'} | {'finished: skipped' if finished else 'to run'} |")
  to_run = sum(not os.path.isfile(os.path.join(dirs[n], DONE_FILE)) for n in names)
  if unknown == to_run:
    estimate = "No estimate of the minutes (config.expected_minutes: {stage: minutes})."
  elif unknown:
    estimate = f"Expected: about {total:.0f} min for the stages with an estimate, {unknown} without."
  else:
    estimate = f"Expected: about {total:.0f} min on 2 CPU cores (less on more)."
  return "\n".join(lines + [estimate + " Interrupted stages resume: re-run the same command."])
