"""``generate(view, split, config)``: the records of every world view.

Record i of a view is drawn from ``random.Random(f"{seed}/{view}/{split}/{i}")``
(string seeds hash with SHA-512, independent of PYTHONHASHSEED), so output is
byte-identical across runs and processes. Views that cut several records from one
document (sentence_pairs, ner) number documents instead of records.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator

from lm.data.world.config import WorldConfig, check_split, check_view, split_sizes
from lm.data.world.documents import Document, document
from lm.data.world.entities import World, build_world, made_up_world
from lm.data.world.fewshot import FEWSHOT_TASKS, fewshot_item
from lm.data.world.instructions import instruction
from lm.data.world.ner import ner_record
from lm.data.world.preferences import preference_pair
from lm.data.world.quiz import quiz_page
from lm.data.world.recap import with_recap
from lm.data.world.rollcall import roll_call
from lm.data.world.sentiment import review
from lm.data.world.tokens import render
from lm.data.world.translation import translation_pair
from lm.data.world.zx_lessons import lesson

_SEGMENT_SENTENCES = 3  # longest NSP segment, in sentences
_PAIRS_PER_DOCUMENT = 3  # sentence pairs cut from one document
_SENTENCES_PER_DOCUMENT = 4  # NER sentences cut from one document


def _rngs(config: WorldConfig, view: str, split: str) -> Iterator[random.Random]:
  i = 0
  while True:
    yield random.Random(f"{config.seed}/{view}/{split}/{i}")
    i += 1


def _documents(world: World, config: WorldConfig, view: str, split: str) -> Iterator[Document]:
  for rng in _rngs(config, view, split):
    yield document(rng, world)


def _text(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for rng in _rngs(config, "text", split):
    # Each share test draws from the record's stream only when its share is on: without them, text is unchanged.
    if config.zx_lessons and rng.random() < config.zx_lessons:
      doc = lesson(rng, world)
    elif config.quiz_pages and rng.random() < config.quiz_pages:
      doc = quiz_page(rng, world, fresh=config.quiz_style == "fresh")
    elif config.roll_calls and rng.random() < config.roll_calls:
      doc = roll_call(rng)
    else:
      fiction = config.fiction and rng.random() < config.fiction
      doc = document(rng, made_up_world(rng, world) if fiction else world)
      if config.recaps and rng.random() < config.recaps:
        doc = with_recap(rng, doc)
    yield {"text": doc.text()}


def _span(sentences: list, start: int, rng: random.Random) -> tuple[str, int]:
  """1 to 3 consecutive sentences from `start` (BERT's NSP segments are text spans, not single
  sentences: several sentences carry enough topic and entity cues to judge continuity)."""
  end = min(start + rng.randint(1, _SEGMENT_SENTENCES), len(sentences))
  return " ".join(render(s) for s in sentences[start:end]), end


def _sentence_pairs(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  docs = _documents(world, config, "sentence_pairs", split)
  rng = random.Random(f"{config.seed}/sentence_pairs/{split}/choices")
  previous = next(docs).sentences()
  for doc in docs:
    sentences = doc.sentences()
    if len(sentences) < 2:
      continue
    for k in sorted(rng.sample(range(len(sentences) - 1),
                               min(_PAIRS_PER_DOCUMENT, len(sentences) - 1))):
      a, end = _span(sentences[:-1], k, rng)  # leave at least one sentence for a true next segment
      is_next = rng.random() < 0.5
      if is_next:
        b, _ = _span(sentences, end, rng)
      else:
        b, _ = _span(previous, rng.randrange(len(previous)), rng)
      if a == b:
        continue  # e.g. two identical list lines: no signal either way
      yield {"sentence_a": a, "sentence_b": b, "is_next": int(is_next)}
    previous = sentences


def _sentiment(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for i, rng in enumerate(_rngs(config, "sentiment", split)):
    # Records 2j and 2j+1 get opposite labels (order drawn per pair): exact balance.
    flip = random.Random(f"{config.seed}/sentiment/{split}/pair/{i // 2}").random() < 0.5
    label = (i % 2) ^ int(flip)
    sentences = review(rng, world, label, rng.random() < config.easy_review_share)
    yield {"text": " ".join(render(s) for s in sentences), "label": label}


def _ner(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  rng = random.Random(f"{config.seed}/ner/{split}/choices")
  for doc in _documents(world, config, "ner", split):
    sentences = doc.sentences()
    picked = sorted(rng.sample(range(len(sentences)),
                               min(_SENTENCES_PER_DOCUMENT, len(sentences))))
    for k in picked:
      yield ner_record(sentences[k])


def _translation(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for rng in _rngs(config, "translation", split):
    yield translation_pair(rng, world)


def _instructions(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for rng in _rngs(config, "instructions", split):
    inst = instruction(rng, world)
    yield {"prompt": inst.prompt, "response": inst.response, "task": inst.task}


def _preferences(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for rng in _rngs(config, "preferences", split):
    yield preference_pair(rng, world, config.preference_noise)


def _fewshot(world: World, config: WorldConfig, split: str) -> Iterator[dict]:
  for i, rng in enumerate(_rngs(config, "fewshot", split)):
    yield fewshot_item(rng, world, FEWSHOT_TASKS[i % len(FEWSHOT_TASKS)])


_GENERATORS: dict[str, Callable[[World, WorldConfig, str], Iterator[dict]]] = {
    "text": _text, "sentence_pairs": _sentence_pairs, "sentiment": _sentiment, "ner": _ner,
    "translation": _translation, "instructions": _instructions, "preferences": _preferences,
    "fewshot": _fewshot,
}


def generate(view: str, split: str, config: WorldConfig = WorldConfig()) -> Iterator[dict]:
  """Yields exactly ``split_sizes(view, config)[split]`` records of ``view``."""
  check_view(view)
  check_split(split)
  count = split_sizes(view, config)[split]
  return _take(_GENERATORS[view](build_world(config, split), config, split), count)


def _take(records: Iterator[dict], count: int) -> Iterator[dict]:
  for _, record in zip(range(count), records):
    yield record
