"""How much a causal LM gains from reading something a second time: whether it has an in-context copying mechanism.

  python -m experiments.copying_probe --workdir=RUN_DIR [--split=validation --spans=32 --length=50 --names=300 \
      --roll_calls=200]

Three probes (lm/evaluation/copying.py): random pieces of the run's own data split written twice; made-up names
mentioned twice in fiction documents of the built-in world (`--names` documents; 0 skips it); and the world's roll
calls (`lm/data/world/rollcall.py`, `--roll_calls` of them; 0 skips it), whose second reading continues the list
from a name: the loss of the rest of the list there against its first reading. A gain near 0 nats means the model
cannot use its context beyond local statistics: demonstrations and passages cannot help it.
"""

from __future__ import annotations

import itertools
import random

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments import cli
from lm import settings
from lm.data import sources, world
from lm.data.world.documents import document
from lm.data.world.entities import build_world, made_up_world
from lm.data.world.rollcall import roll_call
from lm.evaluation import copying
from lm.sampling import decode
from lm.training import pretrain, runs

_WORKDIR = flags.DEFINE_string("workdir", None, "A causal LM pretraining run's --workdir.")
_SPLIT = flags.DEFINE_enum("split", "validation", ["train", "validation", "test"], "Pieces of this split's text.")
_SPANS = flags.DEFINE_integer("spans", 32, "Spans to read twice.")
_LENGTH = flags.DEFINE_integer("length", 50, "Pieces per span.")
_NAMES = flags.DEFINE_integer("names", 300, "Fiction documents for the name probe (0: skip it).")
_ROLL_CALLS = flags.DEFINE_integer("roll_calls", 200, "Roll calls for the list probe (0: skip it).")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the selected or latest).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  with cli.reported():
    run = runs.load(_WORKDIR.value, _STEP.value)
    if 1 + 2 * _LENGTH.value > run.model.config.max_len:
      raise ValueError(f"--length={_LENGTH.value}: two spans and bos exceed the model's {run.model.config.max_len} "
                       "positions.")
    source = sources.open_split(pretrain.data_spec(run.config.data), _SPLIT.value)
    pool = np.array(list(itertools.chain.from_iterable(run.tokenizer.encode(source[i]["text"])
                                                       for i in range(min(len(source), 200)))))

    @jax.jit
    def token_logprobs(params, ids):
      logprobs = jax.nn.log_softmax(run.model.apply({"params": params}, ids)[:, :-1].astype(jnp.float32))
      return jnp.take_along_axis(logprobs, ids[:, 1:, None], axis=-1)[..., 0]

    result = copying.repeat_losses(lambda ids: token_logprobs(run.params, jnp.asarray(ids)), pool,
                                   run.tokenizer.bos_id, spans=_SPANS.value, length=_LENGTH.value)
    print(f"# {run.workdir} at step {run.step}: {_SPANS.value} spans of {_LENGTH.value} {_SPLIT.value} pieces, twice")
    print(f"loss first reading {result['first_loss']:.2f}, second {result['second_loss']:.2f} nats per piece: "
          f"gain {result['gain']:.2f} ± {result['gain_stderr']:.2f}")

    def padded(ids):
      row = decode.right_pad(ids, run.model.config.max_len)
      return token_logprobs(run.params, jnp.asarray([row]))[0, :len(ids) - 1]

    if _NAMES.value:
      names = copying.mention_losses(padded, run.tokenizer, _fiction(run.config, _NAMES.value),
                                     max_len=run.model.config.max_len)
      print(f"made-up names in {_NAMES.value} fiction documents ({int(names['names'])} mentioned twice): first "
            f"mention {names['first_loss']:.2f}, second {names['second_loss']:.2f} nats per piece: gain "
            f"{names['gain']:.2f} ± {names['gain_stderr']:.2f}")
    if _ROLL_CALLS.value:
      lists = copying.mention_losses(padded, run.tokenizer, _roll_calls(_ROLL_CALLS.value),
                                     max_len=run.model.config.max_len)
      print(f"roll calls ({int(lists['names'])} fit): the list after the name it is read again from, first reading "
            f"{lists['first_loss']:.2f}, second {lists['second_loss']:.2f} nats per piece: gain "
            f"{lists['gain']:.2f} ± {lists['gain_stderr']:.2f}")


def _roll_calls(n: int):
  """(text, the list after the name it is read again from) of `n` roll calls: the same words in both readings."""
  for i in range(n):
    text = roll_call(random.Random(f"copying/roll_call/{i}")).text()
    again = text.split("\n")[1].split(": ", 1)[1]  # "A B, C D, ... and Y Z." from its first name (3 or more)
    yield text, again[again.index(", ") + 2:].rstrip(".")


def _fiction(run_config, n: int):
  """(text, name) of `n` documents about worlds made up per document (the world's validation countries and
  lexicon): the first made-up person the document names twice."""
  config = settings.section(world.WorldConfig, (run_config.data.get("world") or {}), "data.world")
  base = build_world(config, "validation")
  for i in range(n):
    rng = random.Random(f"copying/{i}")
    made = made_up_world(rng, base)
    text = document(rng, made).text()
    twice = [p.name for p in made.people if text.count(p.name) >= 2]
    if twice:
      yield text, twice[0]


if __name__ == "__main__":
  cli.run(main)
