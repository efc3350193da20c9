"""Which tasks an evaluation runs, and where their items and demonstrations come from.

Three kinds of task, any mix of them in one suite:
- `world/fewshot` tasks (multiple choice): sentiment, located_in, entity_type, zx_morphology, older;
- families of `world/instructions` (qa, fact, translate, sentiment, entities, continue, count,
  compare), scored by greedy generation and exact match: e.g. the family held out of instruction
  tuning; they are named `instructions/<family>`;
- JSONL files of `{"prompt", "choices", "answer"}` rows (optionally `"task"`; else the file name is
  the task), with demonstrations from `jsonl_demos` or, without one, from the file's other items.

Items come from `split` (test by default), demonstrations from `demo_split` of the same task.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

from lm import settings
from lm.data import formats, sources, world
from lm.data.world.fewshot import FEWSHOT_TASKS
from lm.data.world.instructions import TASKS as INSTRUCTION_FAMILIES
from lm.evaluation import prompts


@dataclasses.dataclass(frozen=True)
class SuiteConfig:
  fewshot: str = "all"         # world/fewshot tasks, comma-separated ("all"; "" for none)
  instructions: str = ""       # world/instructions families, comma-separated ("all"; "" for none)
  jsonl: str = ""              # JSONL files of {"prompt","choices","answer"[,"task"]}, comma-separated
  jsonl_demos: str = ""        # JSONL file(s) of demonstrations for them ("": the other items of the same file)
  split: str = "test"          # world split the items come from
  demo_split: str = "train"    # world split demonstrations are drawn from
  max_items: int = 0           # items per task (the first ones; 0 = all)


@dataclasses.dataclass(frozen=True)
class EvalTask:
  name: str
  items: Sequence[prompts.Item]
  pool: Sequence[prompts.Item]  # demonstrations are drawn from here


def _names(text: str, known: Sequence[str], key: str) -> list[str]:
  if text.strip().lower() == "all":
    return list(known)
  names = settings.names(text)
  for name in names:
    if name not in known:
      raise settings.ConfigError(f"{key}: unknown task {name!r}; expected some of {', '.join(known)} (or 'all').")
  return names


def _by_task(items) -> dict[str, list[prompts.Item]]:
  groups = collections.defaultdict(list)
  for item in items:
    groups[item.task].append(item)
  return groups


def _world(view: str, split: str, data_dir: str, world_cfg: world.WorldConfig, convert) -> dict[str, list]:
  spec = sources.DatasetSpec(name=f"world/{view}", data_dir=data_dir, world=world_cfg)
  return _by_task(convert(r) for r in sources.open_split(spec, split))


def load(cfg: SuiteConfig, data_dir: str, world_cfg: world.WorldConfig) -> list[EvalTask]:
  """The suite's tasks, in config order; an error if it names none or a task has no items."""
  tasks = []
  for view, text, known, convert in (("fewshot", cfg.fewshot, FEWSHOT_TASKS, prompts.from_fewshot),
                                     ("instructions", cfg.instructions, INSTRUCTION_FAMILIES,
                                      prompts.from_instruction)):
    names = _names(text, known, f"tasks.{view}")
    if names:
      items = _world(view, cfg.split, data_dir, world_cfg, convert)
      pool = _world(view, cfg.demo_split, data_dir, world_cfg, convert)
      prefix = "" if view == "fewshot" else f"{view}/"  # "instructions/sentiment" is not fewshot's "sentiment"
      tasks += [EvalTask(prefix + n, items[n], pool[n]) for n in names]
  if cfg.jsonl:
    items = _by_task(prompts.from_fewshot(r) for r in formats.read_records(settings.names(cfg.jsonl), "fewshot"))
    pool = _by_task(prompts.from_fewshot(r) for r in formats.read_records(settings.names(cfg.jsonl_demos), "fewshot")) \
        if cfg.jsonl_demos else items
    tasks += [EvalTask(n, v, pool.get(n, [])) for n, v in items.items()]
  if not tasks:
    raise settings.ConfigError("The suite has no tasks: set tasks.fewshot, tasks.instructions or tasks.jsonl.")
  names = [t.name for t in tasks]
  if len(set(names)) < len(names):
    raise settings.ConfigError(f"Two tasks share a name in {names}: give JSONL rows a distinct \"task\" field.")
  out = []
  for t in tasks:
    if not t.items:
      raise settings.ConfigError(f"task {t.name!r} has no items in split {cfg.split!r}.")
    out.append(dataclasses.replace(t, items=t.items[:cfg.max_items] if cfg.max_items else t.items))
  return out

