"""A decoder classifier's head started as the language model's own choice among label words (a verbalizer).

Prompt-based fine-tuning (PET, LM-BFF) reads a label where a causal LM would predict a word that names it, e.g. the
reaction after "<review> I was": with `task_options.verbalizer="disappointed,annoyed,upset|delighted,pleased,thrilled"`
(classes in label order, `|` between them) the new head's column for each class is the mean output embedding of its
words' first pieces, and its bias 0, so before any step the classifier's logit for a class is the LM's mean logit for
that class's words. Every start gets the same recipe (from scratch the embeddings are random, so is the head).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from lm import settings


def parse(text: str, num_classes: int) -> list[list[str]]:
  """"a,b|c" -> [["a", "b"], ["c"]], one word list per class."""
  classes = [settings.names(part) for part in text.split("|")]
  if len(classes) != num_classes or not all(classes):
    raise settings.ConfigError(f"task_options.verbalizer={text!r}: expected {num_classes} non-empty word lists "
                               "separated by '|', in label order (e.g. 'bad,awful|good,great').")
  return classes


def first_pieces(tokenizer, classes: list[list[str]]) -> list[list[int]]:
  """Each class's words as first sub-word pieces (where the LM would start writing them); classes must not share one."""
  pieces = [sorted({tokenizer.encode(word)[0] for word in words}) for words in classes]
  for i, mine in enumerate(pieces):
    for j in range(i):
      if shared := set(mine) & set(pieces[j]):
        raise settings.ConfigError(f"task_options.verbalizer: classes {j} and {i} share first pieces "
                                   f"{[tokenizer.decode([p]) for p in sorted(shared)]} under this tokenizer.")
  return pieces


def init_head(pieces: list[list[int]], model_config) -> Callable[[Any], Any]:
  """`params -> params` with the classifier head (`head/kernel [D, C]`, `head/bias [C]`) set from the backbone's
  output embeddings (tied token embeddings, or the untied unembedding)."""

  def apply(params):  # unboxed, as every warm start sees them (lm/training/state.py)
    embedder = params["backbone"]["embedder"]
    if model_config.tie_embeddings:
      table_VxD = embedder["tokens"]["embedding"]
      if model_config.scale_tied_logits:
        table_VxD = table_VxD * model_config.d_model ** -0.5
    else:
      table_VxD = embedder["unembed"]["kernel"].T
    kernel_DxC = jnp.stack([table_VxD[jnp.asarray(ids)].mean(axis=0) for ids in pieces], axis=1)
    head = params["head"]
    if head["kernel"].shape != kernel_DxC.shape:
      raise settings.ConfigError(f"task_options.verbalizer: the head is {head['kernel'].shape}, the verbalizer "
                                 f"gives {kernel_DxC.shape} (one word list per class, per-sequence tasks only).")
    return {**params, "head": {**head, "kernel": kernel_DxC.astype(head["kernel"].dtype),
                               "bias": jnp.zeros_like(head["bias"])}}

  return apply


def then(first: Callable | None, second: Callable) -> Callable:
  """`params -> second(first(params))` (just `second` when there is no first step)."""
  return second if first is None else (lambda params: second(first(params)))

