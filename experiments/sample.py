"""Samples text from a trained run with the KV-cache decoder.

  python -m experiments.sample --workdir=DIR --prompt="Mira Tovel was born in" \
      [--num_samples=3 --max_new_tokens=64 --temperature=0.8 --top_k=40 --top_p=0.95 --seed=0]
"""

from __future__ import annotations

import jax
from absl import flags

from experiments import cli
from lm.sampling import decode
from lm.training import runs, sharding

_WORKDIR = flags.DEFINE_string("workdir", None, "A training run's --workdir.")
_PROMPT = flags.DEFINE_multi_string("prompt", [""], "Prompt text (repeat the flag for several prompts).")
_NUM = flags.DEFINE_integer("num_samples", 3, "Samples per prompt.")
_MAX_NEW = flags.DEFINE_integer("max_new_tokens", 64, "Longest continuation, in tokens.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.8, "Softmax temperature; 0 = greedy.")
_TOP_K = flags.DEFINE_integer("top_k", 0, "Sample among the k most likely tokens (0 = all).")
_TOP_P = flags.DEFINE_float("top_p", 1.0, "Nucleus sampling mass (1 = off).")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  with cli.reported():
    run = runs.load(_WORKDIR.value, _STEP.value, mesh=sharding.make_mesh(sharding.MeshConfig()))
    tok = run.tokenizer
    prompts = [p for p in _PROMPT.value for _ in range(_NUM.value)]
    longest = max(len(tok.encode(p)) for p in prompts) + 1
    if longest + _MAX_NEW.value > run.model.config.max_len:
      raise ValueError(f"Prompt plus --max_new_tokens exceeds the model's max_len={run.model.config.max_len}.")
    config = decode.SamplingConfig(max_new_tokens=_MAX_NEW.value, temperature=_TEMPERATURE.value,
                                   top_k=_TOP_K.value, top_p=_TOP_P.value)
    texts = decode.sample_texts(run.model, run.params, tok, prompts, config, jax.random.key(_SEED.value))
  print(f"# {run.workdir} at step {run.step}")
  for prompt, text in zip(prompts, texts):
    print(f"--- {prompt!r}\n{prompt}{text}")


if __name__ == "__main__":
  cli.run(main)
