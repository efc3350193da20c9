"""The built-in synthetic world: a seeded fictional world and text about it.

It is the only data the tests, demos and benchmarks use (no network). Each split
(train/validation/test) has its own people, cities, organisations and products, so
no entity name crosses splits; countries, common words and the Zx language are
shared. Views keep the schemas of the catalog datasets they stand in for:

    text            {"text"}                                  like lm1b / c4
    sentence_pairs  {"sentence_a", "sentence_b", "is_next"}   BERT next-sentence prediction
    sentiment       {"text", "label"}                         like imdb_reviews (0 neg, 1 pos)
    ner             {"tokens", "ner_tags"}                    like conll2003 (NER_TAGS order)
    translation     {"en", "zx"}                              like wmt (English -> Zx)
    instructions    {"prompt", "response", "task"}            8 task families
    preferences     {"prompt", "chosen", "rejected"}          labelled by ``gold_score``
    fewshot         {"task", "prompt", "choices", "answer"}   multiple choice

Example::

    from lm.data.world import WorldConfig, generate
    for record in generate("text", "train", WorldConfig(scale=0.01)):
        ...
"""

from lm.data.world.config import (NER_TAGS, SENTIMENT_LABELS, SPLITS, VIEWS, WorldConfig,
                                  split_sizes)
from lm.data.world.gold import gold_score
from lm.data.world.views import generate
from lm.data.world.zx import translate_to_zx

__all__ = ["NER_TAGS", "SENTIMENT_LABELS", "SPLITS", "VIEWS", "WorldConfig", "generate",
           "gold_score", "split_sizes", "translate_to_zx"]
