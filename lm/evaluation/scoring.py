"""Log-likelihood of answer choices, batched and compiled, reading each shared context once.

Shapes: B items, P context length, C choices, L choice length, V vocabulary.

The context (demonstrations and the item) is written into the KV cache by one prefill call;
the cache is then copied for each of the item's choices and all choices are scored in one more
call, so a k-shot prompt costs one pass however many choices follow it. Contexts are left-padded
(as in `lm.sampling.decode`) so that they all end at the same column.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lm import distributed
from lm.sampling import decode


def _repeat_batch(small, large, times: int):
  """Each cache array of `small` repeated `times` along its batch axis (the axis where `large` differs)."""

  def repeat(x, like):
    if x.shape == like.shape:
      return x  # scalars such as the write index, or times == 1
    axis = next(i for i, (a, b) in enumerate(zip(x.shape, like.shape)) if a != b)
    return jnp.repeat(x, times, axis=axis)

  return jax.tree.map(repeat, small, large)


@functools.partial(jax.jit, static_argnames=("model",))
def choice_logprobs(model, params, context_BxP: jax.Array, context_mask_BxP: jax.Array, choices_BxCxL: jax.Array,
                    choices_mask_BxCxL: jax.Array) -> jax.Array:
  """Summed log-probability of each choice's tokens after its row's context: `[B, C]` (0 where masked)."""
  b, p = context_BxP.shape
  _, c, l = choices_BxCxL.shape
  decoder, cache = decode.init_cache(model, b, p + l)
  segments_BxP = context_mask_BxP.astype(jnp.int32)
  positions_BxP = jnp.maximum(jnp.cumsum(segments_BxP, axis=1) - 1, 0)
  logits_Bx1xV, variables = decoder.apply({"params": params, "cache": cache}, context_BxP, segments_BxP, positions_BxP,
                                          outputs_for_last=1, mutable=["cache"])
  first_BxV = jax.nn.log_softmax(logits_Bx1xV[:, -1].astype(jnp.float32))

  large = jax.eval_shape(lambda: decode.init_cache(model, b * c, p + l)[1])  # shapes only: where the batch axis is
  cache_N = _repeat_batch(variables["cache"], large, c)  # N = B * C rows, row b * C + j is choice j of item b
  tokens_NxL = choices_BxCxL.reshape(b * c, l)
  mask_NxL = choices_mask_BxCxL.reshape(b * c, l)
  positions_NxL = jnp.repeat(positions_BxP[:, -1] + 1, c)[:, None] + jnp.arange(l)[None, :]
  logits_NxLxV, _ = decoder.apply({"params": params, "cache": cache_N}, tokens_NxL, mask_NxL.astype(jnp.int32),
                                  positions_NxL, mutable=["cache"])
  logprobs_NxLxV = jax.nn.log_softmax(logits_NxLxV.astype(jnp.float32))
  # Token 0 of a choice is predicted by the context's last position; token j > 0 by choice position j - 1.
  first_N = jnp.take_along_axis(jnp.repeat(first_BxV, c, axis=0), tokens_NxL[:, :1], axis=-1)[:, 0]
  rest_NxL1 = jnp.take_along_axis(logprobs_NxLxV[:, :-1], tokens_NxL[:, 1:, None], axis=-1)[..., 0]
  token_NxL = jnp.concatenate([first_N[:, None], rest_NxL1], axis=1) * mask_NxL
  return token_NxL.sum(axis=1).reshape(b, c)


def loglik(model, params, tokenizer, contexts: Sequence[Sequence[int]], choices: Sequence[Sequence[Sequence[int]]], *,
           batch_size: int, length_multiple: int = 64, choice_multiple: int = 8) -> list[np.ndarray]:
  """Per item, the summed log-probability of each of its choices (token ids) after its context.

  Fixed-shape batches of `batch_size` items; contexts padded to a multiple of `length_multiple`,
  choices to a multiple of `choice_multiple` tokens, and to the most choices in the batch.
  """
  out = []
  for start in range(0, len(contexts), batch_size):
    ctx = [list(x) for x in contexts[start:start + batch_size]]
    chs = [[list(c) for c in cs] for cs in choices[start:start + batch_size]]
    have = len(ctx)
    ctx += [[tokenizer.bos_id]] * (batch_size - have)  # filler rows keep the shape fixed
    chs += [[[tokenizer.bos_id]]] * (batch_size - have)
    tokens, mask = decode.left_pad(ctx, tokenizer.pad_id, decode.round_up(max(map(len, ctx)), length_multiple))
    c = max(map(len, chs))
    width = decode.round_up(max(len(x) for cs in chs for x in cs), choice_multiple)
    choice_ids = np.full((batch_size, c, width), tokenizer.pad_id, np.int32)
    choice_mask = np.zeros((batch_size, c, width), bool)
    for row, cs in enumerate(chs):
      for j, ids in enumerate(cs):
        choice_ids[row, j, :len(ids)], choice_mask[row, j, :len(ids)] = ids, True
    arrays = distributed.put_rows(distributed.mesh_of(params), (tokens, mask, choice_ids, choice_mask))
    scores = distributed.get_rows(choice_logprobs(model, params, *arrays), batch_size)
    out += [scores[row, :len(cs)] for row, cs in enumerate(chs[:have])]
  return out


def choose(scores: np.ndarray, lengths: Sequence[int], normalise: bool) -> int:
  """The chosen choice: the highest summed log-probability, or per token when `normalise`.

  Per-token normalisation removes the bias towards short answers that a sum has (every extra
  token can only lower it).
  """
  values = np.asarray(scores, np.float64) / (np.asarray(lengths, np.float64) if normalise else 1.0)
  return int(np.argmax(values))
