"""Example transforms: the instruction template masks the prompt out of the loss, packed or not."""

import jax.numpy as jnp
import numpy as np

from lm.data import pipeline, tokenizer as tokenizer_lib, transforms
from lm.objectives import causal

TEXTS = ["Name the capital of Varn.", "The capital of Varn is Oskel.", "Say hello politely.", "Hello, nice to meet you."]
TOK = tokenizer_lib.train(iter(TEXTS * 100), vocab_size=320, num_sentinels=0)
RECORDS = [{"prompt": TEXTS[0], "response": TEXTS[1]}, {"prompt": TEXTS[2], "response": TEXTS[3]}] * 20


def test_weights_cover_exactly_the_response_and_eos():
  ex = transforms.instruction(TOK)(RECORDS[0])
  prompt = TOK.encode(transforms.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  response = TOK.encode(TEXTS[1])
  assert ex["inputs"][0] == TOK.bos_id and ex["targets"][-1] == TOK.eos_id
  assert ex["weights"].sum() == len(response) + 1
  np.testing.assert_array_equal(ex["targets"][ex["weights"] == 1], [*response, TOK.eos_id])
  assert TOK.decode(ex["inputs"][1:len(prompt) + 1]) == transforms.PROMPT_TEMPLATE.format(prompt=TEXTS[0])


def test_long_prompts_are_truncated_from_the_left_and_flagged():
  ex = transforms.instruction(TOK, max_prompt_tokens=4)(RECORDS[0])
  full = TOK.encode(transforms.PROMPT_TEMPLATE.format(prompt=TEXTS[0]))
  np.testing.assert_array_equal(ex["inputs"][1:5], full[-4:])
  assert ex["prompt_truncated"].sum() == 1
  assert transforms.instruction(TOK)(RECORDS[0])["prompt_truncated"].sum() == 0


def test_changing_prompt_targets_never_changes_the_loss_even_when_packed():
  config = pipeline.PipelineConfig(seq_len=64, batch_size=2, shuffle=False, num_epochs=1, drop_remainder=False)
  batch = next(iter(pipeline.build(RECORDS, config=config, transform=transforms.instruction(TOK))))
  assert batch["segment_ids"].max() > 1, "rows hold several packed examples"
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(*batch["targets"].shape, TOK.vocab_size)), jnp.float32)
  loss = lambda targets: float(causal.lm_metrics(logits, jnp.asarray(targets), jnp.asarray(batch["weights"]), 0.0)[0])
  scrambled = np.where(batch["weights"] == 0, rng.integers(0, TOK.vocab_size, batch["targets"].shape),
                       batch["targets"])
  assert loss(scrambled) == loss(batch["targets"])
  response_changed = np.where(batch["weights"] == 1, (batch["targets"] + 1) % TOK.vocab_size, batch["targets"])
  assert loss(response_changed) != loss(batch["targets"])
