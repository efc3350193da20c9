"""Zero- and few-shot evaluation of a decoder: every task of a suite at every k, by likelihood and by generation.

For each task and each k in `shots`, every item gets k seeded demonstrations
(`lm.evaluation.prompts`) and is scored by
- `loglik`: the choice with the highest summed log-probability (`accuracy`) and the highest
  per-token log-probability (`accuracy_norm`), multiple-choice items only;
- `generate`: greedy decoding with the KV cache, cut at `stop`, compared with the answer after
  whitespace normalisation (`exact_match`).
Each metric is a mean over items with its standard error, std(ddof=1) / sqrt(n).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import tqdm

from lm import settings
from lm.evaluation import generation, prompts, scoring
from lm.evaluation.uncertainty import stderr
from lm.evaluation.suite import EvalTask
from lm.models.transformer import Decoder
from lm.sampling import decode

METHODS = ("loglik", "generate")


@dataclasses.dataclass(frozen=True)
class HarnessConfig:
  shots: tuple[int, ...] = (0, 1, 4, 8)  # demonstrations per prompt; one result per k
  seed: int = 0                  # demonstration draws
  template: str = "auto"         # "auto" | "plain" | "instruct" | a format with {prompt} and {answer}
  separator: str = "\n\n"        # between demonstrations, and before the item
  prefix: str = ""               # before the first example
  methods: tuple[str, ...] = METHODS
  batch_size: int = 32           # items per compiled scoring or generation call
  max_new_tokens: int = 24       # greedy generation budget
  stop: str = "\n"               # generation is cut at the first occurrence ("" = never)
  max_len: int = 0               # longest prompt + answer, in tokens (0 = the length the run trained on)
  progress_bar: bool = True

  def __post_init__(self):
    unknown = set(self.methods) - set(METHODS)
    if unknown or not self.methods:
      raise ValueError(f"methods must be some of {METHODS}, got {self.methods}.")
    if any(k < 0 for k in self.shots) or not self.shots:
      raise ValueError(f"shots must be non-negative numbers of demonstrations, got {self.shots}.")


def _mean_and_stderr(name: str, hits: Sequence[float]) -> dict[str, float]:
  return {name: float(np.mean(hits)), f"{name}_stderr": stderr(hits)}


def context_length(cfg: HarnessConfig, run_config, model) -> int:
  """`harness.max_len`, or the sequence length the run trained on (positions beyond it were never trained); an
  imported checkpoint, which lm did not train, takes the model's max_len."""
  trained = (run_config.get("data") or {}).get("seq_len") or model.config.max_len
  return cfg.max_len or min(int(trained), model.config.max_len)


def resolve_template(cfg: HarnessConfig, run_config) -> prompts.Template:
  """`auto` is the run's own prompt template (instruction-tuned and multiple-choice runs), else plain."""
  name = cfg.template
  if name == "auto":
    own = (run_config.get("task_options") or {}).get("template", "")
    name = (own if "{answer}" in own else own + "{answer}") if own else "plain"
  return prompts.template(name, cfg.separator, cfg.prefix)


def cut(text: str, stop: str) -> str:
  return text.split(stop, 1)[0] if stop else text


class Harness:
  """A loaded decoder with its tokenizer, ready to evaluate tasks (`evaluate(task, k)`)."""

  def __init__(self, model, params, tokenizer, cfg: HarnessConfig, template: prompts.Template, max_len: int):
    if max_len > model.config.max_len:
      raise settings.ConfigError(f"harness.max_len={max_len} exceeds the model's max_len={model.config.max_len}.")
    self.model, self.params, self.tokenizer, self.cfg, self.template = model, params, tokenizer, cfg, template
    self.max_len = max_len

  def _budget(self, choice_ids: Sequence[Sequence[int]]) -> int:
    room = max([len(c) for c in choice_ids] or [0])
    if "generate" in self.cfg.methods:
      room = max(room, self.cfg.max_new_tokens)
    return self.max_len - room

  def prepare(self, task: EvalTask, k: int) -> list[tuple[list[list[int]], list[prompts.Item]]]:
    """Per item: its choices' token ids and its first `k` demonstrations (nested, so shared by every smaller k)."""
    prepared = []
    for index, item in enumerate(task.items):
      ids = [self.tokenizer.encode(c) for c in item.choices]
      if any(not x for x in ids):
        raise ValueError(f"task {task.name!r}, item {index}: a choice encodes to no tokens: {item.choices}.")
      prepared.append((ids, prompts.draw(task.pool, item, index, k, self.cfg.seed)))
    return prepared

  def evaluate(self, task: EvalTask, k: int, prepared=None) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Metrics of `task` at `k` shots, and one prediction record per item.

    `prepared` is `prepare(task, K)` for some K >= k, to draw and encode once for several k.
    """
    tok, cfg = self.tokenizer, self.cfg
    contexts, choice_ids, used = [], [], []
    for item, (ids, demos) in zip(task.items, prepared or self.prepare(task, k)):
      context, n = prompts.fit(tok, self.template, demos[:k], item, self._budget(ids))
      contexts.append(context)
      choice_ids.append(ids)
      used.append(n)
    records = [{"task": task.name, "k": k, "index": i, "prompt": item.prompt, "answer": item.answer,
                "shots_used": n} for i, (item, n) in enumerate(zip(task.items, used))]
    metrics = {"items": float(len(task.items)), "shots_used": float(np.mean(used))}
    mc = [i for i, item in enumerate(task.items) if item.multiple_choice]
    if mc:
      metrics["chance"] = float(np.mean([1 / len(task.items[i].choices) for i in mc]))
    if "loglik" in cfg.methods and mc:
      scores = scoring.loglik(self.model, self.params, tok, [contexts[i] for i in mc], [choice_ids[i] for i in mc],
                              batch_size=cfg.batch_size)
      raw, norm = [], []
      for i, s in zip(mc, scores):
        lengths = [len(x) for x in choice_ids[i]]
        chosen, chosen_norm = scoring.choose(s, lengths, False), scoring.choose(s, lengths, True)
        raw.append(float(chosen == task.items[i].label))
        norm.append(float(chosen_norm == task.items[i].label))
        records[i].update(choices=list(task.items[i].choices), label=task.items[i].label,
                          scores=[round(float(x), 4) for x in s], chosen=chosen, chosen_norm=chosen_norm)
      metrics.update(_mean_and_stderr("accuracy", raw), **_mean_and_stderr("accuracy_norm", norm))
    if "generate" in cfg.methods:
      sampling = decode.SamplingConfig(max_new_tokens=cfg.max_new_tokens, temperature=0.0)
      outputs = decode.complete(self.model, self.params, tok, contexts, sampling, jax.random.key(cfg.seed),
                                batch_size=cfg.batch_size, length_multiple=64)
      hits = []
      for record, item, output in zip(records, task.items, outputs):
        record["generated"] = generation.normalize(cut(output, cfg.stop))
        hits.append(float(record["generated"] == generation.normalize(item.answer)))
      metrics.update(_mean_and_stderr("exact_match", hits))
    return metrics, records

  def run(self, tasks: Sequence[EvalTask]) -> tuple[dict[str, dict[str, dict[str, float]]], list[dict[str, Any]]]:
    """`{task: {k: metrics}}` over every task and k, and all prediction records."""
    results, records = {}, []
    jobs = [(t, k) for t in tasks for k in self.cfg.shots]
    bar = tqdm.tqdm(jobs, desc="evaluating", unit="task-k", disable=not self.cfg.progress_bar)
    prepared = {}
    for task, k in bar:
      bar.set_postfix_str(f"{task.name} k={k}")
      if task.name not in prepared:  # demonstrations drawn and choices encoded once per task, for the largest k
        prepared[task.name] = self.prepare(task, max(self.cfg.shots))
      metrics, recs = self.evaluate(task, k, prepared[task.name])
      results.setdefault(task.name, {})[str(k)] = metrics
      records += recs
    return results, records


def _cell(metrics: dict[str, float], name: str) -> str:
  if name not in metrics:
    return "-"
  se = metrics.get(f"{name}_stderr")
  return f"{metrics[name]:.3f} ± {se:.3f}" if se is not None and np.isfinite(se) else f"{metrics[name]:.3f}"


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
  """Task x k as a Markdown table: each metric with its standard error, items, demonstrations used, chance."""
  lines = ["| task | k | items | shots used | chance | accuracy | accuracy (per token) | exact match |",
           "|---|---|---|---|---|---|---|---|"]
  for task, by_k in results.items():
    for k, m in by_k.items():
      chance = f"{m['chance']:.3f}" if "chance" in m else "-"
      lines.append(f"| {task} | {k} | {int(m['items'])} | {m['shots_used']:.1f} | {chance} | {_cell(m, 'accuracy')} | "
                   f"{_cell(m, 'accuracy_norm')} | {_cell(m, 'exact_match')} |")
  return "\n".join(lines)


def check_decoder(model, workdir: str) -> None:
  if not isinstance(model, Decoder):
    raise settings.ConfigError(f"checkpoint={workdir} holds a {type(model).__name__}; the harness scores decoder "
                               "language models (causal pretraining, instruction tuning, multiple-choice tuning).")
