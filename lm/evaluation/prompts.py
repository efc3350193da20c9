"""In-context prompts: evaluation items, the documented template, and seeded demonstrations.

A k-shot prompt is k solved demonstrations of the same task followed by the item, joined by a
separator. With the default ("plain") template `"{prompt} {answer}"` and separator `"\\n\\n"`:

    Review: The food was cold.
    Sentiment: negative

    Review: A fine, friendly place.
    Sentiment:

and the model is asked for what follows the last line (" positive" or " negative"). The text
before `{answer}` is the item's context, the answer is its continuation. Each piece is
tokenized on its own: `[bos] enc(context_1) enc(answer_1) enc(sep + context_2) ... enc(sep + context)`,
and a choice is `enc(choice)`. A space just before `{answer}` is dropped from the context, because
SentencePiece marks a word start on the answer's first piece itself (its "dummy prefix"); this is
how `lm.data.supervised.instruction` encodes a prompt and its response in training, so a model
is scored on exactly the token sequences it was trained on.

Demonstrations are drawn per item from a pool (the train split of the same task) with a seed,
nested across k (the 1-shot demonstration is the first of the 4-shot ones), and never include the
evaluated item: a pool entry with the same prompt is skipped. When a prompt does not fit the
model's context, whole demonstrations are dropped from the front; the harness reports how many
were used on average.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

import numpy as np

from lm import settings
from lm.data import supervised

PLAIN = "{prompt} {answer}"
INSTRUCT = supervised.PROMPT_TEMPLATE + "{answer}"  # "### Instruction:\n{prompt}\n\n### Response:\n{answer}"
TEMPLATES = {"plain": PLAIN, "instruct": INSTRUCT}


@dataclasses.dataclass(frozen=True)
class Item:
  """One evaluation item. Multiple choice when `choices` is set (`label` indexes it), else generation only."""
  task: str
  prompt: str
  answer: str                      # the reference text: choices[label] for multiple choice
  choices: tuple[str, ...] = ()
  label: int = -1

  @property
  def multiple_choice(self) -> bool:
    return bool(self.choices)


def from_fewshot(record: dict) -> Item:
  """A `fewshot` schema record ({task, prompt, choices, answer}) as an Item."""
  choices = tuple(record["choices"])
  return Item(record["task"], record["prompt"], choices[record["answer"]], choices, int(record["answer"]))


def from_instruction(record: dict) -> Item:
  """An `instructions` schema record ({prompt, response, task}) as a generation Item."""
  return Item(record["task"], record["prompt"], record["response"])


@dataclasses.dataclass(frozen=True)
class Template:
  """How one example reads: `example` holds `{prompt}` then `{answer}`; `separator` joins examples."""
  example: str = PLAIN
  separator: str = "\n\n"
  prefix: str = ""          # text before the first example (e.g. a task description)

  def __post_init__(self):
    if self.example.count("{prompt}") != 1 or self.example.count("{answer}") != 1 or (
        self.example.index("{prompt}") > self.example.index("{answer}")):
      raise settings.ConfigError(f"template {self.example!r} must contain {{prompt}} once, then {{answer}} once.")

  def context(self, prompt: str) -> str:
    """What precedes the answer (a trailing space is the answer's word boundary, see the module doc)."""
    before = self.example[:self.example.index("{answer}")]
    return before.replace("{prompt}", prompt).rstrip(" ")

  @property
  def after_answer(self) -> str:
    return self.example[self.example.index("{answer}") + len("{answer}"):]


def template(name_or_format: str, separator: str = "\n\n", prefix: str = "") -> Template:
  """A preset by name ("plain", "instruct") or a format with {prompt} and {answer}."""
  return Template(TEMPLATES.get(name_or_format, name_or_format), separator, prefix)


def segments(tmpl: Template, demos: Sequence[Item], item: Item) -> list[str]:
  """The prompt's pieces, each tokenized on its own: context, answer, ..., and the item's context."""
  out = []
  for i, demo in enumerate(demos):
    out += [(tmpl.prefix if i == 0 else tmpl.separator) + tmpl.context(demo.prompt), demo.answer + tmpl.after_answer]
  out.append((tmpl.separator if demos else tmpl.prefix) + tmpl.context(item.prompt))
  return out


def encode(tokenizer, pieces: Sequence[str], encode_piece=None) -> list[int]:
  """`[bos]` and each piece's ids (`encode_piece` defaults to `tokenizer.encode`; `fit` passes a memo)."""
  encode_piece = encode_piece or tokenizer.encode
  ids = [tokenizer.bos_id]
  for piece in pieces:
    ids += encode_piece(piece) if piece else []
  return ids


def fit(tokenizer, tmpl: Template, demos: Sequence[Item], item: Item, budget: int) -> tuple[list[int], int]:
  """The prompt's token ids with as many of `demos` as fit in `budget` tokens (dropped from the front).

  Returns `(ids, demonstrations used)`; an item whose own context does not fit is an error.
  """
  demos, memo = list(demos), {}

  def encode_piece(piece: str) -> list[int]:
    if piece not in memo:
      memo[piece] = tokenizer.encode(piece)
    return memo[piece]

  while True:  # dropping a demonstration re-uses every piece encoded so far
    ids = encode(tokenizer, segments(tmpl, demos, item), encode_piece)
    if len(ids) <= budget:
      return ids, len(demos)
    if not demos:
      raise ValueError(f"task {item.task!r}: the item's own prompt is {len(ids)} tokens, more than the {budget} "
                       f"the model's context leaves (model.max_len minus the answer): {item.prompt[:80]!r}...")
    demos.pop(0)


def draw(pool: Sequence[Item], item: Item, index: int, k: int, seed: int) -> list[Item]:
  """`k` demonstrations for the `index`-th item of its task, seeded and nested across k.

  Pool entries with the item's own prompt are never drawn, so an item cannot be its own example
  even when the pool is the evaluation set itself (a JSONL file without a train file).
  """
  if k == 0:
    return []
  rng = np.random.default_rng([seed, zlib.crc32(item.task.encode()), index])
  out = []
  for j in rng.permutation(len(pool)):
    if pool[j].prompt != item.prompt:
      out.append(pool[j])
      if len(out) == k:
        break
  if len(out) < k:
    raise ValueError(f"task {item.task!r}: {k} demonstrations asked for, but the pool has only {len(out)} other items.")
  return out
