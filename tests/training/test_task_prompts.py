"""Generation evaluators keep prompts within the model's learned positions (past them, embeddings read as NaN)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.data import corpus, sources, world
from lm.models.config import ModelConfig
from lm.models.transformer import Decoder
from lm.sampling import decode
from lm.training import tasks
from tests.conftest import SMALL_WORLD, tiny_task_config


@pytest.fixture(scope="module")
def setup(world_data_dir):
  tok = corpus.load_tokenizer(corpus.TokenizerConfig(), sources.DatasetSpec(
      "world/text", world_data_dir, world=world.WorldConfig(scale=SMALL_WORLD)))
  model = Decoder(ModelConfig(vocab_size=decode.round_up(tok.vocab_size, 128), num_layers=1, d_model=32, num_heads=2,
                              d_ff=64, max_len=48))
  params = model.init(jax.random.key(0), jnp.ones((1, 8), jnp.int32))["params"]
  config = tiny_task_config("instruct", world_data_dir)
  config.eval.max_new_tokens, config.eval.batch_size = 8, 4
  return tok, model, params, config


def test_a_prompt_longer_than_the_positions_loses_its_start_and_is_counted(setup):
  tok, model, params, config = setup
  long = {"prompt": " ".join(["the river runs past the old mill"] * 12), "response": "x", "task": "qa"}
  short = {"prompt": "Name a river.", "response": "x", "task": "qa"}
  metrics, examples = tasks.TASKS["instruct"].evaluator(model, config, tok)(params, [long, short])
  assert metrics["truncated_prompts_count"] == 1
  # The output is the model's continuation of the prompt's last 48 - 8 positions (bos kept first).
  ids = tok.encode(config.task_options.template.format(prompt=long["prompt"]))
  kept = [tok.bos_id, *ids[-(48 - 8 - 1):]]
  expected = decode.complete(model, params, tok, [kept], decode.SamplingConfig(max_new_tokens=8, temperature=0),
                             jax.random.key(config.seed))
  assert examples[0]["output"] == expected[0]
  logits = model.apply({"params": params}, jnp.asarray([kept]), jnp.ones((1, len(kept)), jnp.int32),
                       jnp.arange(len(kept))[None])
  assert np.isfinite(np.asarray(logits)).all()


def test_generation_past_the_positions_is_a_clear_error(setup):
  tok, model, params, _ = setup
  with pytest.raises(ValueError, match=r"A prompt of 45 tokens plus max_new_tokens=8 needs 53 positions; the model "
                                       r"has max_len=48 learned positions"):
    decode.complete(model, params, tok, [[tok.bos_id] * 45], decode.SamplingConfig(max_new_tokens=8),
                    jax.random.key(0))


def test_a_sentiment_suffix_ends_the_decoder_input_where_the_label_is_read(setup, world_data_dir):
  tok = setup[0]
  config = tiny_task_config("sentiment", world_data_dir)
  config.architecture = "decoder"
  review = {"text": tok.encode("The food was lovely."), "label": 1}
  plain = tasks._sentiment_layout(config, tok).transform(review)["inputs"].tolist()
  assert plain == [tok.bos_id, *review["text"], tok.eos_id]
  config.task_options.suffix = "Rating:"
  prompted = tasks._sentiment_layout(config, tok).transform(review)["inputs"].tolist()
  assert prompted == [tok.bos_id, *review["text"], *tok.encode("Rating:")]  # no eos: read at the prompt's end
