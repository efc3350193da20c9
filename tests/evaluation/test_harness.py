"""The few-shot harness: prompts, demonstrations, likelihood scoring against the forward pass, standard errors."""

import json
import math

import jax
import numpy as np
import pytest

from lm import settings
from lm.data import formats
from lm.evaluation import harness, prompts, scoring, suite, uncertainty
from lm.evaluation.suite import EvalTask
from lm.training import runs


@pytest.fixture(scope="module")
def lm_run(world_causal_run):
  return runs.load(world_causal_run)


ITEMS = [
    prompts.Item("colour", "The sky is", "blue", ("blue", "green", "a very dark shade of red"), 0),
    prompts.Item("colour", "Grass is", "green", ("blue", "green", "a very dark shade of red"), 1),
    prompts.Item("colour", "Review: The design is bad.\nSentiment:", "negative", ("positive", "negative"), 1),
    prompts.Item("colour", "Alice was born in", "Varn", ("Varn", "the city of Oskel"), 0),
    prompts.Item("colour", "Snow is", "white", ("white", "black", "grey", "yellow"), 0),
]


def _by_hand(run, context, choice):
  """Summed log-probability of `choice` after `context` from one plain forward pass (no cache, no padding)."""
  ids = np.asarray([context + choice])
  logprobs = jax.nn.log_softmax(run.model.apply({"params": run.params}, ids)[0])
  return sum(float(logprobs[len(context) - 1 + j, t]) for j, t in enumerate(choice))


def test_chosen_answer_is_the_best_choice_by_the_forward_pass(lm_run):
  tok = lm_run.tokenizer
  contexts = [prompts.encode(tok, prompts.segments(prompts.Template(), [], item)) for item in ITEMS]
  choice_ids = [[tok.encode(c) for c in item.choices] for item in ITEMS]
  got = scoring.loglik(lm_run.model, lm_run.params, tok, contexts, choice_ids, batch_size=4)
  for context, ids, scores in zip(contexts, choice_ids, got):
    hand = [_by_hand(lm_run, context, c) for c in ids]
    np.testing.assert_allclose(scores, hand, rtol=1e-4, atol=1e-4)
    assert scoring.choose(scores, [len(c) for c in ids], False) == int(np.argmax(hand))
  # The harness's accuracy is the share of items whose hand-scored best choice is the answer.
  h = harness.Harness(lm_run.model, lm_run.params, tok, harness.HarnessConfig(shots=(0,), methods=("loglik",),
                                                                              batch_size=4), prompts.Template(), 256)
  metrics, records = h.evaluate(EvalTask("colour", ITEMS, []), 0)
  expected = [float(np.argmax([_by_hand(lm_run, ctx, c) for c in ids]) == item.label)
              for ctx, ids, item in zip(contexts, choice_ids, ITEMS)]
  assert metrics["accuracy"] == pytest.approx(np.mean(expected))
  assert [r["chosen"] for r in records] == [int(np.argmax(r["scores"])) for r in records]


def test_length_normalisation_divides_by_tokens(lm_run):
  assert scoring.choose([-4.0, -5.0], [1, 5], normalise=False) == 0
  assert scoring.choose([-4.0, -5.0], [1, 5], normalise=True) == 1  # -4 per token against -1 per token
  h = harness.Harness(lm_run.model, lm_run.params, lm_run.tokenizer,
                      harness.HarnessConfig(shots=(0,), methods=("loglik",), batch_size=8), prompts.Template(), 256)
  _, records = h.evaluate(EvalTask("colour", ITEMS, []), 0)
  for record, item in zip(records, ITEMS):
    lengths = [len(lm_run.tokenizer.encode(c)) for c in item.choices]
    assert record["chosen_norm"] == int(np.argmax(np.asarray(record["scores"]) / lengths))


def test_batched_scoring_equals_one_at_a_time(lm_run):
  tok = lm_run.tokenizer
  demos = ITEMS[3:]
  contexts = [prompts.encode(tok, prompts.segments(prompts.Template(), demos[:i % 3], item))
              for i, item in enumerate(ITEMS)]
  choice_ids = [[tok.encode(c) for c in item.choices] for item in ITEMS]
  together = scoring.loglik(lm_run.model, lm_run.params, tok, contexts, choice_ids, batch_size=8)
  alone = [scoring.loglik(lm_run.model, lm_run.params, tok, [c], [ids], batch_size=1)[0]
           for c, ids in zip(contexts, choice_ids)]
  for a, b in zip(together, alone):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_plain_template_on_a_golden_example():
  demos = [prompts.Item("s", "Review: Awful.\nSentiment:", "negative", ("negative", "positive"), 0),
           prompts.Item("s", "Review: Lovely.\nSentiment:", "positive", ("negative", "positive"), 1)]
  item = prompts.Item("s", "Review: Fine.\nSentiment:", "positive", ("negative", "positive"), 1)
  assert prompts.segments(prompts.Template(), demos, item) == [
      "Review: Awful.\nSentiment:", "negative",
      "\n\nReview: Lovely.\nSentiment:", "positive",
      "\n\nReview: Fine.\nSentiment:"]
  # The instruction template keeps its newline before the answer, as in instruction tuning.
  assert prompts.segments(prompts.template("instruct"), demos[:1], item) == [
      "### Instruction:\nReview: Awful.\nSentiment:\n\n### Response:\n", "negative",
      "\n\n### Instruction:\nReview: Fine.\nSentiment:\n\n### Response:\n"]
  assert prompts.segments(prompts.Template("Q: {prompt}\nA: {answer}.", "\n", "Answer briefly.\n"), demos[:1],
                          item)[:2] == ["Answer briefly.\nQ: Review: Awful.\nSentiment:\nA:", "negative."]


def test_prompt_ids_are_the_pieces_encoded_one_by_one(lm_run):
  tok = lm_run.tokenizer
  pieces = prompts.segments(prompts.Template(), ITEMS[:2], ITEMS[2])
  assert prompts.encode(tok, pieces) == [tok.bos_id] + sum((tok.encode(p) for p in pieces), [])
  # A choice after "Sentiment:" is encoded as in running text "Sentiment: negative".
  assert tok.encode("Sentiment:") + tok.encode("negative") == tok.encode("Sentiment: negative")


@pytest.mark.parametrize("bad", ["{answer} {prompt}", "{prompt}", "{prompt} {answer} {answer}"])
def test_template_must_hold_prompt_then_answer(bad):
  with pytest.raises(settings.ConfigError, match="must contain"):
    prompts.Template(bad)


def test_demonstrations_never_include_the_evaluated_item():
  items = [prompts.Item("t", f"question {i % 7}", "a", ("a", "b"), 0) for i in range(40)]  # duplicated prompts
  for index, item in enumerate(items):
    demos = prompts.draw(items, item, index, 8, seed=3)
    assert len(demos) == 8 and all(d.prompt != item.prompt for d in demos)
    # Seeded, and nested across k: the 1- and 4-shot demonstrations begin the 8-shot ones.
    assert prompts.draw(items, item, index, 4, seed=3) == demos[:4]
    assert prompts.draw(items, item, index, 1, seed=3) == demos[:1]
  assert prompts.draw(items, items[0], 0, 8, seed=4) != prompts.draw(items, items[0], 0, 8, seed=3)
  with pytest.raises(ValueError, match="only 0 other items"):
    prompts.draw(items[:1], items[0], 0, 1, seed=0)


def test_prompts_that_do_not_fit_drop_demonstrations_from_the_front(lm_run):
  tok, tmpl = lm_run.tokenizer, prompts.Template()
  demos = [prompts.Item("t", f"Example number {i} is", "one", ("one",), 0) for i in range(4)]
  full = prompts.encode(tok, prompts.segments(tmpl, demos, ITEMS[0]))
  ids, used = prompts.fit(tok, tmpl, demos, ITEMS[0], len(full) - 1)
  assert used == 3 and ids == prompts.encode(tok, prompts.segments(tmpl, demos[1:], ITEMS[0]))
  with pytest.raises(ValueError, match="the item's own prompt"):
    prompts.fit(tok, tmpl, demos, ITEMS[0], 2)


def test_prompts_are_limited_to_the_length_the_run_trained_on(lm_run):
  assert lm_run.config.data.seq_len == 64 and lm_run.model.config.max_len == 256
  assert harness.context_length(harness.HarnessConfig(), lm_run.config, lm_run.model) == 64
  assert harness.context_length(harness.HarnessConfig(max_len=200), lm_run.config, lm_run.model) == 200
  with pytest.raises(settings.ConfigError, match="exceeds the model's max_len=256"):
    harness.Harness(lm_run.model, lm_run.params, lm_run.tokenizer, harness.HarnessConfig(), prompts.Template(), 300)


def test_standard_error_on_a_known_case():
  assert uncertainty.stderr([1, 0, 1, 0]) == pytest.approx(math.sqrt(1 / 3) / 2)  # sample sd sqrt(1/3), n = 4
  assert uncertainty.stderr([1.0] * 10) == 0.0
  assert math.isnan(uncertainty.stderr([1.0]))


def test_jsonl_suite_draws_demonstrations_from_the_other_items(tmp_path):
  path = tmp_path / "capitals.jsonl"
  rows = [{"prompt": f"Capital of land {i}?", "choices": ["A", "B"], "answer": i % 2} for i in range(6)]
  path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
  (task,) = suite.load(suite.SuiteConfig(fewshot="", jsonl=str(path)), str(tmp_path), None)
  assert task.name == "capitals" and len(task.items) == 6 and task.items[1].answer == "B"
  for index, item in enumerate(task.items):
    assert item not in prompts.draw(task.pool, item, index, 5, seed=0)
  bad = tmp_path / "bad.jsonl"
  bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"prompt": "x", "choices": ["A"], "answer": 0}) + "\n")
  with pytest.raises(formats.FormatError, match=r"bad.jsonl:2: field 'choices'"):
    suite.load(suite.SuiteConfig(fewshot="", jsonl=str(bad)), str(tmp_path), None)
  with pytest.raises(settings.ConfigError, match="unknown task 'colours'"):
    suite.load(suite.SuiteConfig(fewshot="colours"), str(tmp_path), None)
