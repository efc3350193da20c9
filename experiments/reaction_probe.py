"""How often a causal LM guesses a reviewer's reaction right: polarity knowledge before any label.

  python -m experiments.reaction_probe --workdir=RUN_DIR [--split=validation --items=150]

The run must have been pretrained on a world with `review_reactions` on (its data config names the world); see
lm/evaluation/reactions.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments import cli
from lm.data import sources
from lm.evaluation import reactions
from lm.sampling import decode
from lm.training import pretrain, runs

_WORKDIR = flags.DEFINE_string("workdir", None, "A causal LM pretraining run's --workdir.")
_SPLIT = flags.DEFINE_enum("split", "validation", ["train", "validation", "test"], "Documents of this split.")
_ITEMS = flags.DEFINE_integer("items", 150, "Reactions to score.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  with cli.reported():
    run = runs.load(_WORKDIR.value, _STEP.value)
    source = sources.open_split(pretrain.data_spec(run.config.data), _SPLIT.value)
    max_len = run.model.config.max_len
    apply = jax.jit(lambda params, ids, last: jax.nn.log_softmax(run.model.apply({"params": params}, ids)[0, last]))

    def next_logprobs(ids):
      return np.asarray(apply(run.params, jnp.asarray([decode.right_pad(ids, max_len)]), len(ids) - 1))

    texts = (source[i]["text"] for i in range(len(source)))
    result = reactions.agreement(next_logprobs, run.tokenizer, texts, max_items=_ITEMS.value, max_len=max_len)
    print(f"# {run.workdir} at step {run.step}, {_SPLIT.value} documents")
    print(f"reaction polarity guessed right: {result['agreement']:.3f} ± {result['agreement_stderr']:.3f} "
          f"over {int(result['items'])} reactions (0.5 = chance)")


if __name__ == "__main__":
  cli.run(main)
