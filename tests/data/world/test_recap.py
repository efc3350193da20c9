"""Recaps in world/text (WorldConfig.recaps): off by default, a set share when on, and word-for-word repeats."""


import pytest

from lm.data.world import WorldConfig
from lm.data.world.recap import HEADERS


def _recap(text):
  last = text.split("\n")[-1]
  return last if text.split("\n")[-2:-1] == [""] and last.startswith(HEADERS) else None


def test_off_by_default_leaves_text_as_it_was(texts):
  assert texts(WorldConfig(scale=0.02, fiction=0.3)) == texts(WorldConfig(scale=0.02, fiction=0.3, recaps=0.0))
  assert not any(_recap(t) for t in texts(WorldConfig(scale=0.02)))
  with pytest.raises(ValueError, match="recaps"):
    WorldConfig(recaps=1.5)


def test_a_recap_repeats_sentences_of_its_own_document(texts):
  docs = texts(WorldConfig(scale=0.02, fiction=0.3, quiz_pages=0.2, recaps=0.5))
  recapped = [t for t in docs if _recap(t)]
  assert 0.25 < len(recapped) / len(docs) < 0.55  # about half of the documents other than quiz pages
  for text in recapped:
    body, last = text.rsplit("\n\n", 1)
    assert not body.startswith(("Practice questions", "Quiz")), text
    header = next(h for h in HEADERS if last.startswith(h))
    rest = last[len(header):].strip()
    parts = [p for p in rest.replace("? ", "?\n").replace("! ", "!\n").replace(". ", ".\n").split("\n") if p]
    assert len(parts) >= 2, text
    positions = [body.find(p) for p in parts]
    assert all(p >= 0 for p in positions), text
