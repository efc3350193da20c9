"""Roll calls in world/text (WorldConfig.roll_calls): off by default, a set share when on, and a second reading that
continues the first from a name."""

import pytest

from lm.data.world import WorldConfig
from lm.data.world.vocab import known_words


def _names(listed: str) -> list[str]:
  return listed.rstrip(".").replace(" and ", ", ").split(", ")


def test_off_by_default_leaves_text_as_it_was(texts):
  assert texts(WorldConfig(scale=0.02, quiz_pages=0.1)) == texts(WorldConfig(scale=0.02, quiz_pages=0.1,
                                                                             roll_calls=0.0))
  assert not any(t.startswith("Roll call") for t in texts(WorldConfig(scale=0.02)))
  with pytest.raises(ValueError, match="roll_calls"):
    WorldConfig(roll_calls=-0.1)


def test_a_roll_call_is_read_again_from_one_of_its_names(texts):
  docs = texts(WorldConfig(scale=0.02, zx_lessons=0.1, roll_calls=0.2), n=500)
  calls = [t for t in docs if t.startswith("Roll call of the ")]
  assert 0.12 < len(calls) / len(docs) < 0.25  # a fifth of the documents that are not lessons
  seen = set()
  for text in calls:
    first, again = text.split("\n")
    names = _names(first.split(": ", 1)[1])
    start, second = again.removeprefix("Again from ").split(": ", 1)
    assert 6 <= len(names) <= 16 and len(set(names)) == len(names), text
    i = names.index(start)
    assert _names(second) == names[i:] and len(names) - i >= 3, text  # the rest of the list, word for word
    words = {w.lower() for name in names for w in name.split()}
    assert not words & known_words(), text  # made up: no English word of the world
    seen |= words
  assert len(seen) > 0.9 * sum(len(_names(t.split("\n")[0].split(": ", 1)[1])) * 2 for t in calls)  # names recur rarely
