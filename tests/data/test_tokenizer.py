"""SentencePiece tokenizer: special ids, exact round trips, caching, user model files."""

import os
import pickle
import random

import pytest

from lm.data import tokenizer as tokenizer_lib

WORDS = "the city of Varn lies north of Oskel ; she works for Meridian Labs and likes green tea".split()


def corpus(n=3000, seed=0):
  rng = random.Random(seed)
  for _ in range(n):
    yield " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))) + "."


@pytest.fixture(scope="module")
def tok():
  return tokenizer_lib.train(corpus(), vocab_size=400, num_sentinels=8)


def test_special_ids_follow_the_documented_layout(tok):
  assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
  assert (tok.mask_id, tok.cls_id, tok.sep_id) == (4, 5, 6)
  assert tok.sentinel_ids == list(range(7, 15))
  assert tok.id_to_piece(tok.mask_id) == "[MASK]" and tok.id_to_piece(9) == "<extra_id_2>"
  assert tok.special_ids == frozenset(range(15))


@pytest.mark.parametrize("text", [
    "the city of Varn lies north of Oskel.",
    "  two  spaces,\nnew lines\n\nand a tab\there ",
    "unseen: Zürich 東京 ☃ 12345",
    "",
])
def test_round_trip_is_exact(tok, text):
  ids = tok.encode(text)
  assert tok.decode(ids) == text
  assert all(0 <= i < tok.vocab_size for i in ids)


def test_common_words_are_single_pieces(tok):
  assert len(tok.encode("the city of")) <= 4


def test_batch_encoding_matches_single(tok):
  texts = ["the city", "of Varn lies", ""]
  assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


def test_picklable_for_worker_processes(tok):
  clone = pickle.loads(pickle.dumps(tok))
  assert clone.encode("she likes green tea") == tok.encode("she likes green tea")


def test_cache_trains_once_and_keys_on_settings(tmp_path):
  calls = []

  def texts():
    calls.append(1)
    return corpus(500)

  a = tokenizer_lib.cached({"data": "x"}, texts, str(tmp_path), vocab_size=300, num_sentinels=4)
  b = tokenizer_lib.cached({"data": "x"}, texts, str(tmp_path), vocab_size=300, num_sentinels=4)
  assert len(calls) == 1 and a.where == b.where and os.path.isfile(a.where)
  c = tokenizer_lib.cached({"data": "x"}, texts, str(tmp_path), vocab_size=320, num_sentinels=4)
  assert len(calls) == 2 and c.where != a.where
  assert not [f for f in os.listdir(os.path.dirname(a.where)) if f.endswith(".tmp")]


def test_user_model_file_without_optional_specials(tmp_path):
  import io
  import sentencepiece as spm

  model = io.BytesIO()
  spm.SentencePieceTrainer.train(sentence_iterator=corpus(500), model_writer=model, vocab_size=200, pad_id=3,
                                 unk_id=0, bos_id=1, eos_id=2, hard_vocab_limit=False, minloglevel=2)
  path = tmp_path / "user.model"
  path.write_bytes(model.getvalue())
  tok = tokenizer_lib.Tokenizer.from_file(str(path))
  assert (tok.pad_id, tok.unk_id) == (3, 0)
  assert tok.mask_id is None and tok.sentinel_ids == []
  with pytest.raises(ValueError, match=r"user\.model: the tokenizer has no mask token"):
    tok.require("mask_id")


def test_bad_model_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="missing.model"):
    tokenizer_lib.Tokenizer.from_file(str(tmp_path / "missing.model"))
  junk = tmp_path / "junk.model"
  junk.write_bytes(b"not a model")
  with pytest.raises(ValueError, match="junk.model: not a SentencePiece model"):
    tokenizer_lib.Tokenizer.from_file(str(junk))


def test_too_small_a_vocabulary_is_a_clear_error():
  with pytest.raises(ValueError, match=r"tokenizer.vocab_size=100 is too small"):
    tokenizer_lib.train(corpus(200), vocab_size=100, num_sentinels=8)
