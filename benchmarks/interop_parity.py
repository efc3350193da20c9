"""Logit parity with `transformers` for every Hugging Face family: the README's table.

  python -m benchmarks.interop_parity

For each test checkpoint of tests/interop (tiny random models, float32; built here, nothing downloaded): the
largest absolute logit difference between `transformers` and the imported `lm` model on two padded rows of random
ids, and between the original and its export (lm -> safetensors -> `transformers.from_pretrained`).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from experiments import cli


def main(argv):
  del argv
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel

  from lm.interop import convert  # pylint: disable=import-outside-toplevel
  from tests.interop import conftest, hf_models  # pylint: disable=import-outside-toplevel

  auto = {"bert": transformers.AutoModelForPreTraining, "t5": transformers.AutoModelForSeq2SeqLM}
  rng = np.random.default_rng(0)
  print("| checkpoint | import: max abs logit difference | export: max abs logit difference |")
  print("|---|---|---|")
  for name, (family, overrides) in conftest.VARIANTS.items():
    root = tempfile.mkdtemp()
    model, _ = hf_models.build(family, os.path.join(root, "hf"), **overrides)
    imported = convert.read_checkpoint(os.path.join(root, "hf"))
    lm_model, _ = convert.fresh_params(imported.family.objective, imported.model_config)
    ids = rng.integers(5, imported.model_config.vocab_size, (2, 24))
    mask = np.ones_like(ids)
    mask[1, 15:] = 0
    decoder_ids = ids[:, :10]

    def hf_logits(m):
      with torch.no_grad():
        kwargs = dict(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask))
        if family == "t5":
          return m(**kwargs, decoder_input_ids=torch.tensor(decoder_ids)).logits.numpy()
        out = m(**kwargs)
        return (out.prediction_logits if family == "bert" else out.logits).numpy()

    args = (jnp.asarray(ids), jnp.asarray(mask))
    if family == "t5":
      ours = lm_model.apply({"params": imported.params}, *args, None, jnp.asarray(decoder_ids))
      keep = np.ones(ours.shape[:2], bool)
    else:
      ours = lm_model.apply({"params": imported.params}, *args)
      ours = ours["mlm_logits"] if family == "bert" else ours
      keep = mask.astype(bool)
    reference = hf_logits(model)
    convert.import_checkpoint(os.path.join(root, "hf"), os.path.join(root, "run"))
    convert.export_run(os.path.join(root, "run"), os.path.join(root, "out"))
    again = auto.get(family, transformers.AutoModelForCausalLM).from_pretrained(os.path.join(root, "out")).eval()
    print(f"| {name} | {np.abs(np.asarray(ours) - reference)[keep].max():.1e} | "
          f"{np.abs(hf_logits(again) - reference)[keep].max():.1e} |")


if __name__ == "__main__":
  cli.run(main)
