"""The copying diagnostic compares a span's loss on its first and second reading."""

import numpy as np
import pytest

from lm.evaluation import copying

POOL = np.arange(10, 10_010)  # spans of 20 from 10,000 pieces rarely repeat a piece


def _model(copies: bool):
  """Uniform over 16,384 ids, except that a copier puts 0.9 on the token that followed the last occurrence."""
  def token_logprobs(ids):
    out = np.full((ids.shape[0], ids.shape[1] - 1), np.log(1 / 16_384))
    if copies:
      for r, row in enumerate(ids):
        for t in range(1, len(row)):
          earlier = [s for s in range(t - 1) if row[s] == row[t - 1]]
          if earlier and row[earlier[-1] + 1] == row[t]:
            out[r, t - 1] = np.log(0.9)
    return out
  return token_logprobs


def test_a_copier_reads_the_second_occurrence_almost_for_free():
  copier = copying.repeat_losses(_model(True), POOL, bos_id=1, spans=8, length=20)
  assert copier["first_loss"] == pytest.approx(np.log(16_384), rel=0.05)
  assert copier["second_loss"] < 0.2 and copier["gain"] > 8 and copier["gain_stderr"] < 0.5
  plain = copying.repeat_losses(_model(False), POOL, bos_id=1, spans=8, length=20)
  assert plain["gain"] == pytest.approx(0.0) and plain["first_loss"] == pytest.approx(plain["second_loss"])


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="fewer than a span of 20"):
    copying.repeat_losses(_model(False), POOL[:5], bos_id=1, length=20)
  with pytest.raises(ValueError, match="returned shape"):
    copying.repeat_losses(lambda ids: np.zeros((1, 1)), POOL, bos_id=1, spans=4, length=5)


class _Chars:
  """A tokenizer of one piece per character (its code point), bos 1."""
  bos_id = 1

  @staticmethod
  def encode(text):
    return [ord(c) for c in text]


def _mentions_model(copies: bool):
  def token_logprobs(ids):
    return _model(copies)(np.asarray([ids]))[0]
  return token_logprobs


def test_a_copier_reads_a_names_second_mention_cheaper():
  docs = [(f"Once {n} met a friend. Later {n} went home.", n) for n in ("Qorvath", "Zimbelu", "Trastok")]
  docs.append(("Nobody is named twice here.", "Qorvath"))  # skipped
  copier = copying.mention_losses(_mentions_model(True), _Chars, docs, max_len=512)
  assert copier["names"] == 3 and copier["gain"] > 3 and copier["second_loss"] < copier["first_loss"] - 3
  plain = copying.mention_losses(_mentions_model(False), _Chars, docs, max_len=512)
  assert plain["gain"] == pytest.approx(0.0)
  with pytest.raises(ValueError, match="Only 0 names"):
    copying.mention_losses(_mentions_model(True), _Chars, docs, max_len=10)
