"""Configuration, view/split names and per-split sizes of the synthetic world."""

from __future__ import annotations

import dataclasses

VIEWS: tuple[str, ...] = ("text", "sentence_pairs", "sentiment", "ner", "translation",
                          "instructions", "preferences", "fewshot")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
NER_TAGS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC",
                             "B-MISC", "I-MISC")
SENTIMENT_LABELS: tuple[str, ...] = ("neg", "pos")

# Examples per split at scale 1.0: (train, validation, test).
_DEFAULT_SIZES: dict[str, tuple[int, int, int]] = {
    "text": (20_000, 1_000, 1_000),
    "sentence_pairs": (50_000, 2_000, 2_000),
    "sentiment": (20_000, 2_000, 2_000),
    "ner": (20_000, 2_000, 2_000),
    "translation": (40_000, 2_000, 2_000),
    "instructions": (20_000, 1_000, 1_000),
    "preferences": (20_000, 1_000, 1_000),
    "fewshot": (500, 500, 500),  # per few-shot task; times the number of tasks
}


@dataclasses.dataclass(frozen=True)
class WorldConfig:
  """Knobs of the world. Entity counts are for the train split; validation and
  test each get ``eval_entity_fraction`` of them (never scaled by ``scale``, so a
  tiny test config still sees a realistic world)."""

  seed: int = 0  # world, names and every view derive from it; Zx is seed-independent
  scale: float = 1.0  # multiplies every default split size (tests use ~0.02)
  preference_noise: float = 0.1  # share of preference pairs whose labels are swapped
  countries: int = 12  # shared by all splits (like real countries)
  people: int = 2_000  # train-split people
  cities: int = 150  # train-split cities
  companies: int = 250  # train-split companies (they make the products)
  universities: int = 40  # train-split universities
  clubs: int = 60  # train-split clubs
  products: int = 600  # train-split products
  eval_entity_fraction: float = 0.25  # validation/test entity pools relative to train
  easy_review_share: float = 0.5  # reviews whose every clause agrees with the label
  # Share of `text` documents that are Zx lessons (word lists, grammar notes, example translations; see
  # zx_lessons.py): the bilingual text a pretrained model learns a language from. 0 keeps `text` as it was.
  zx_lessons: float = 0.0
  # Evaluative adjectives of reviews (sentiment, review documents, few-shot and instruction reviews): "core" (10 per
  # polarity) or "large" (about 95 per polarity, see evaluative.py), whose polarity a small labelled set cannot
  # cover but the pretraining text's rated reviews reveal.
  sentiment_lexicon: str = "core"
  # Share of the scoring sentences of review documents (world/text only; never the labelled reviews) that the
  # reviewer follows with a reaction of the sentence's polarity ("I was delighted.", "I was upset."; see
  # evaluative.py): context that reveals each adjective's polarity before any label. 0 keeps `text` as it was.
  review_reactions: float = 0.0
  # Share of `text` documents that are quiz pages (solved questions of one few-shot task per page, in one of a few
  # wordings; see quiz.py): in-context structure that rewards reading a page's earlier items. 0 keeps `text` as is.
  quiz_pages: float = 0.0
  # What a quiz page names and how it asks: "seen" (the world's entities, in any of the task's wordings, the few-shot
  # one included) or "fresh" (entities made up for the page, so only the page's own lines answer its located_in and
  # older questions, and never the few-shot wording, so a few-shot prompt asks in a way no page did and its
  # demonstrations are what shows how to answer: see quiz.py).
  quiz_style: str = "seen"
  # Share of `text` documents about a small world made up for the document (`entities.made_up_world`): fiction,
  # whose names occur nowhere else, so a name's second mention is predicted only by copying its first. The pressure
  # that makes a model look things up in its context instead of recalling them. 0 keeps `text` as is.
  fiction: float = 0.0
  # Share of the other `text` documents (world and fiction, not lessons or quiz pages) that end with a recap: "To
  # recap:" and two to four of the document's own sentences again, word for word (see recap.py). A span read a second
  # time is predicted by copying its first reading: the plainest pressure for an induction mechanism, which looking a
  # fact up in a prompt rests on. 0 keeps `text` as is.
  recaps: float = 0.0
  # Share of `text` documents that are roll calls: made-up names read out, then read again from one of them (see
  # rollcall.py). Only the first reading predicts the second, found by a name: pressure for an induction mechanism
  # with nothing else to learn. Drawn after lessons and quiz pages, before the others. 0 keeps `text` as is.
  roll_calls: float = 0.0

  def __post_init__(self) -> None:
    if not 0.0 <= self.preference_noise <= 0.5:
      raise ValueError(f"WorldConfig.preference_noise must be in [0, 0.5], "
                       f"got {self.preference_noise}")
    for share in ("zx_lessons", "fiction", "recaps", "quiz_pages", "review_reactions", "roll_calls"):
      if not 0.0 <= getattr(self, share) <= 1.0:
        raise ValueError(f"WorldConfig.{share} must be in [0, 1], got {getattr(self, share)}")
    if self.quiz_style not in ("seen", "fresh"):
      raise ValueError(f"WorldConfig.quiz_style must be 'seen' or 'fresh', got {self.quiz_style!r}")
    if self.sentiment_lexicon not in ("core", "large"):
      raise ValueError(f"WorldConfig.sentiment_lexicon must be 'core' or 'large', got {self.sentiment_lexicon!r}")
    if self.scale <= 0:
      raise ValueError(f"WorldConfig.scale must be positive, got {self.scale}")


# The knobs a run's config sets (`data.world`): seed and size, and the ones that change what world/text teaches before
# any label. The others (entity counts, noise) keep their defaults.
CONFIG_KNOBS: tuple[str, ...] = ("seed", "scale", "zx_lessons", "sentiment_lexicon", "review_reactions", "quiz_pages",
                                "quiz_style", "fiction", "recaps", "roll_calls")


def config_knobs() -> dict:
  """`data.world` of a run config: `CONFIG_KNOBS` at their defaults."""
  defaults = WorldConfig()
  return {name: getattr(defaults, name) for name in CONFIG_KNOBS}


def check_view(view: str) -> None:
  if view not in VIEWS:
    raise ValueError(f"unknown world view {view!r}; valid views: {', '.join(VIEWS)}")


def check_split(split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"unknown world split {split!r}; valid splits: {', '.join(SPLITS)}")


def split_sizes(view: str, config: WorldConfig = WorldConfig()) -> dict[str, int]:
  """Number of records ``generate(view, split, config)`` yields for each split."""
  check_view(view)
  from lm.data.world.fewshot import FEWSHOT_TASKS  # late: fewshot imports config

  sizes = _DEFAULT_SIZES[view]
  per = len(FEWSHOT_TASKS) if view == "fewshot" else 1
  return {split: max(1, round(n * config.scale)) * per for split, n in zip(SPLITS, sizes)}
