"""Supervised example transforms: response-only SFT weights (packed too), label checks, sub-word alignment."""

import jax.numpy as jnp
import numpy as np
import pytest

from lm.data import pipeline, tokenizer as tokenizer_lib, supervised
from lm.objectives import causal

TEXTS = ["Name the capital of Varn.", "The capital of Varn is Oskel.", "Say hello politely.", "Hello, nice to meet you."]
TOK = tokenizer_lib.train(iter(TEXTS * 100), vocab_size=320, num_sentinels=0)
RECORDS = [{"prompt": TEXTS[0], "response": TEXTS[1]}, {"prompt": TEXTS[2], "response": TEXTS[3]}] * 20


def test_weights_cover_exactly_the_response_and_eos():
  ex = supervised.instruction(TOK)(RECORDS[0])
  prompt = TOK.encode(supervised.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  response = TOK.encode(TEXTS[1])
  assert ex["inputs"][0] == TOK.bos_id and ex["targets"][-1] == TOK.eos_id
  assert ex["weights"].sum() == len(response) + 1
  np.testing.assert_array_equal(ex["targets"][ex["weights"] == 1], [*response, TOK.eos_id])
  assert TOK.decode(ex["inputs"][1:len(prompt) + 1]) == supervised.PROMPT_TEMPLATE.format(prompt=TEXTS[0])


def test_long_prompts_are_truncated_from_the_left_and_flagged():
  ex = supervised.instruction(TOK, max_prompt_tokens=4)(RECORDS[0])
  full = TOK.encode(supervised.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  np.testing.assert_array_equal(ex["inputs"][1:5], full[-4:])
  assert ex["prompt_truncated"].sum() == 1
  assert supervised.instruction(TOK)(RECORDS[0])["prompt_truncated"].sum() == 0


def test_changing_prompt_targets_never_changes_the_loss_even_when_packed():
  config = pipeline.PipelineConfig(seq_len=64, batch_size=2, shuffle=False, num_epochs=1, drop_remainder=False)
  batch = next(iter(pipeline.build(RECORDS, config=config, transform=supervised.instruction(TOK))))
  assert batch["segment_ids"].max() > 1, "rows hold several packed examples"
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(*batch["targets"].shape, TOK.vocab_size)), jnp.float32)
  loss = lambda targets: float(causal.lm_metrics(logits, jnp.asarray(targets), jnp.asarray(batch["weights"]), 0.0)[0])
  scrambled = np.where(batch["weights"] == 0, rng.integers(0, TOK.vocab_size, batch["targets"].shape),
                       batch["targets"])
  assert loss(scrambled) == loss(batch["targets"])
  response_changed = np.where(batch["weights"] == 1, (batch["targets"] + 1) % TOK.vocab_size, batch["targets"])
  assert loss(response_changed) != loss(batch["targets"])


def test_prompts_can_be_cut_from_the_right():
  ex = supervised.instruction(TOK, max_prompt_tokens=4, truncate_side="right")(RECORDS[0])
  full = TOK.encode(supervised.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  np.testing.assert_array_equal(ex["inputs"][1:5], full[:4])
  with pytest.raises(ValueError, match="truncation side"):
    supervised.instruction(TOK, max_prompt_tokens=4, truncate_side="middle")(RECORDS[0])


CLS, SEP = 5, 6


def test_classification_wraps_the_text_and_checks_the_label():
  transform = supervised.classification(("neg", "pos"), start_id=CLS, end_id=SEP, seq_len=8)
  ex = transform({"text": [10, 11, 12], "label": 1})
  np.testing.assert_array_equal(ex["inputs"], [CLS, 10, 11, 12, SEP])
  assert ex["label"] == 1 and ex["truncated"].sum() == 0
  for bad in (2, -1, True, "pos"):
    with pytest.raises(ValueError, match="outside the label set"):
      transform({"text": [10], "label": bad})


def test_classification_truncates_from_the_configured_side_and_flags_it():
  record = {"text": list(range(10, 20)), "label": 0}
  right = supervised.classification(("neg", "pos"), start_id=CLS, end_id=SEP, seq_len=6)(record)
  left = supervised.classification(("neg", "pos"), start_id=CLS, end_id=SEP, seq_len=6, truncate_side="left")(record)
  np.testing.assert_array_equal(right["inputs"], [CLS, 10, 11, 12, 13, SEP])
  np.testing.assert_array_equal(left["inputs"], [CLS, 16, 17, 18, 19, SEP])
  assert right["truncated"].tolist() == [1, 0, 0, 0, 0, 0]



def test_classification_suffix_follows_the_text_uncut_and_the_end_token_may_go():
  record = {"text": list(range(10, 20)), "label": 1}
  with_end = supervised.classification(("neg", "pos"), start_id=CLS, end_id=SEP, seq_len=7, suffix=[3, 4])(record)
  np.testing.assert_array_equal(with_end["inputs"], [CLS, 10, 11, 12, 3, 4, SEP])
  prompt = supervised.classification(("neg", "pos"), start_id=CLS, end_id=None, seq_len=7, suffix=[3, 4])(record)
  np.testing.assert_array_equal(prompt["inputs"], [CLS, 10, 11, 12, 13, 3, 4])  # the decoder reads at the 4
  assert prompt["truncated"].sum() == 1
  with pytest.raises(ValueError, match="no room for text"):
    supervised.classification(("neg", "pos"), start_id=CLS, end_id=SEP, seq_len=4, suffix=[3, 4])

WORD_TOK = tokenizer_lib.train(iter(["Ada lives in Varn with Oskelmorrow and Brin."] * 200), vocab_size=300,
                               num_sentinels=0)


def test_token_labels_go_on_the_first_piece_of_each_word():
  words = ["Oskelmorrow", "lives", "in", "Zzqxv", "."]
  tags = [1, 0, 0, 5, 0]
  ex = supervised.token_classification(WORD_TOK, ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC"), start_id=CLS,
                                       end_id=SEP, seq_len=64)({"tokens": words, "ner_tags": tags})
  pieces = [WORD_TOK.encode(w) for w in words]
  assert max(map(len, pieces)) > 1, "some words split into several pieces"
  np.testing.assert_array_equal(ex["inputs"], [CLS, *[i for p in pieces for i in p], SEP])
  first = np.cumsum([1] + [len(p) for p in pieces[:-1]])  # index of each word's first piece
  np.testing.assert_array_equal(np.flatnonzero(ex["label_weights"]), first)
  np.testing.assert_array_equal(ex["labels"][first], tags)
  assert ex["labels"][ex["label_weights"] == 0].tolist() == [0] * int((ex["label_weights"] == 0).sum())
  assert ex["truncated"].sum() == 0


def test_token_labels_drop_words_that_do_not_fit_and_check_tags():
  words, tags = ["Ada", "lives", "in", "Varn", "."], [1, 0, 0, 5, 0]
  names = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC")
  ex = supervised.token_classification(WORD_TOK, names, start_id=CLS, end_id=SEP, seq_len=5)(
      {"tokens": words, "ner_tags": tags})
  assert len(ex["inputs"]) <= 5 and ex["inputs"][-1] == SEP
  assert ex["truncated"][0] == 1
  assert ex["labels"][ex["label_weights"] > 0].tolist() == tags[:int(ex["label_weights"].sum())]
  with pytest.raises(ValueError, match="outside the label set"):
    supervised.token_classification(WORD_TOK, names, start_id=CLS, end_id=SEP, seq_len=64)(
        {"tokens": ["Ada"], "ner_tags": [9]})
  with pytest.raises(ValueError, match="2 words but"):
    supervised.token_classification(WORD_TOK, names, start_id=CLS, end_id=SEP, seq_len=64)(
        {"tokens": ["Ada", "x"], "ner_tags": [0]})


def test_seq2seq_shifts_the_target_and_cuts_both_sides():
  transform = supervised.seq2seq(bos_id=1, eos_id=2, seq_len=4, decoder_seq_len=4, source_field="en",
                                 target_field="zx")
  ex = transform({"en": [10, 11], "zx": [20, 21]})
  assert ex["inputs"].tolist() == [10, 11, 2]
  assert ex["decoder_inputs"].tolist() == [1, 20, 21] and ex["decoder_targets"].tolist() == [20, 21, 2]
  assert ex["truncated"].sum() == 0
  long = transform({"en": [10, 11, 12, 13, 14], "zx": [20]})
  assert long["inputs"].tolist() == [10, 11, 12, 2] and long["truncated"][0] == 1


PAIR = {"prompt": TEXTS[0], "chosen": TEXTS[1], "rejected": "Oskel."}


def test_preference_pairs_put_both_sides_in_one_row_with_response_weights():
  ex = supervised.preference_pair(TOK, seq_len=128)(PAIR)
  prompt = TOK.encode(supervised.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  for side in ("chosen", "rejected"):
    response = TOK.encode(PAIR[side])
    n = 1 + len(prompt) + len(response) + 1
    inputs, segments = ex[f"{side}_inputs"], ex[f"{side}_segment_ids"]
    np.testing.assert_array_equal(inputs[:n], [TOK.bos_id, *prompt, *response, TOK.eos_id])
    assert segments.sum() == n and inputs[n - 1] == TOK.eos_id  # the reward head reads the eos
    np.testing.assert_array_equal(ex[f"{side}_targets"][ex[f"{side}_weights"] == 1], [*response, TOK.eos_id])
    np.testing.assert_array_equal(ex[f"{side}_positions"][:n], np.arange(n))
  assert len({len(v) for v in ex.values()}) == 1 and ex["truncated"].sum() == 0


def test_preference_pairs_that_do_not_fit_lose_the_prompt_start_and_keep_the_eos():
  response = TOK.encode(PAIR["chosen"])
  ex = supervised.preference_pair(TOK, seq_len=len(response) + 6)(PAIR)
  assert ex["truncated"].sum() == 1
  for side in ("chosen", "rejected"):
    n = int(ex[f"{side}_segment_ids"].sum())
    assert n <= len(response) + 6 and ex[f"{side}_inputs"][n - 1] == TOK.eos_id
    assert ex[f"{side}_inputs"][0] == TOK.bos_id
  np.testing.assert_array_equal(ex["chosen_targets"][ex["chosen_weights"] == 1], [*response, TOK.eos_id])
  # A response longer than the row keeps its start and its eos.
  ex = supervised.preference_pair(TOK, seq_len=5)(PAIR)
  np.testing.assert_array_equal(ex["chosen_inputs"][:5], [TOK.bos_id, *response[:3], TOK.eos_id])
