"""lm.training.inspection's pure parts: confusion counts and tagged spans (predictions run in notebook 02's test)."""

import numpy as np
import pytest

from lm.training import inspection


def test_confusion_counts_reference_against_output():
  examples = [{"reference": "pos", "output": "pos"}, {"reference": "pos", "output": "neg"},
              {"reference": "neg", "output": "neg"}, {"reference": "neg", "output": "neg"}]
  np.testing.assert_array_equal(inspection.confusion(examples, ["neg", "pos"]), [[2, 0], [1, 1]])
  with pytest.raises(ValueError, match="'neutral' is not among"):
    inspection.confusion([{"reference": "neutral", "output": "pos"}], ["neg", "pos"])


def test_tagged_brackets_spans_by_type_and_leaves_words_past_the_tags_plain():
  example = {"input": "- Tomas Berg works for Velbury Audio in Lund .",
             "reference": "O B-PER I-PER O O B-ORG I-ORG O B-LOC O", "output": "O B-PER O O O B-ORG I-ORG O O"}
  assert inspection.tagged(example, "reference") == "- [Tomas Berg]PER works for [Velbury Audio]ORG in [Lund]LOC ."
  assert inspection.tagged(example) == "- [Tomas]PER Berg works for [Velbury Audio]ORG in Lund ."  # 9 tags, 10 words
