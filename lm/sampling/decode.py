"""Autoregressive sampling with the KV cache, compiled whole (`lax.while_loop`, no Python loop per token).

Shapes: B batch, P prompt length, N new tokens, V vocabulary.

Prompts are left-padded so that every prompt ends at the same column: one prefill call writes
the whole prompt into the cache, then each step feeds one token per row. Padding keeps segment
id 0, so it is cached but never attended to, and positions count real tokens only. Shared by
`experiments.sample`, evaluation and RL rollouts. With parameters on a mesh the rows are split over
its batch axes (and over processes), and the outputs gathered once (`lm.distributed.put_rows`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lm import distributed


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
  max_new_tokens: int = 64
  temperature: float = 1.0   # 0 = greedy (argmax)
  top_k: int = 0             # keep the k most likely tokens; 0 = all
  top_p: float = 1.0         # keep the smallest set of tokens with this much probability; 1 = all
  stop_at_eos: bool = True   # rows stop (and pad) after emitting eos


def _ordered_keys(x: jax.Array) -> jax.Array:
  """float32 -> uint32 keys in the same order (negative floats' bits flipped, positive ones' sign bit set; -0 is 0)."""
  x = x.astype(jnp.float32)
  bits = jax.lax.bitcast_convert_type(jnp.where(x == 0, jnp.zeros_like(x), x), jnp.uint32)
  return jnp.where(bits >> 31 == 1, ~bits, bits | jnp.uint32(0x80000000))


def kth_largest_key(keys_BxV: jax.Array, k: int) -> jax.Array:
  """The k-th largest of each row's `_ordered_keys` [B, 1], exactly, by bisection over the 32 key bits.

  `lax.top_k` lowers to a full sort of the vocabulary on CPU, which took 44% of a GPT-2-small-shaped sampling call
  (vocabulary 8,192); 32 compare-and-count passes over the row cost a small fraction of that.
  """
  b = keys_BxV.shape[0]

  def bisect(_, bounds):
    lo_B1, hi_B1 = bounds  # invariant: count(keys >= lo) >= k, and the answer is < hi (or hi is the top key + 1)
    mid_B1 = lo_B1 + (hi_B1 - lo_B1) // 2 + (hi_B1 - lo_B1) % 2
    enough_B1 = jnp.sum(keys_BxV >= mid_B1, axis=-1, keepdims=True) >= k
    return jnp.where(enough_B1, mid_B1, lo_B1), jnp.where(enough_B1, hi_B1, mid_B1 - 1)

  lo, hi = jnp.zeros((b, 1), jnp.uint32), jnp.full((b, 1), 0xFFFFFFFF, jnp.uint32)
  lo, _ = jax.lax.fori_loop(0, 32, bisect, (lo, hi))
  return lo


def filter_logits(logits_BxV: jax.Array, top_k: int, top_p: float) -> jax.Array:
  """Sets logits outside the top-k / nucleus (top-p) sets to -inf."""
  if top_k and top_k < logits_BxV.shape[-1]:
    keys_BxV = _ordered_keys(logits_BxV)
    logits_BxV = jnp.where(keys_BxV < kth_largest_key(keys_BxV, top_k), -jnp.inf, logits_BxV)
  if top_p < 1.0:
    sorted_BxV = jnp.sort(logits_BxV, axis=-1)[:, ::-1]
    cumulative_BxV = jnp.cumsum(jax.nn.softmax(sorted_BxV, axis=-1), axis=-1)
    # The cutoff is the first sorted logit at which the mass reaches top_p; keep everything >= it.
    cutoff_index_B = jnp.sum(cumulative_BxV < top_p, axis=-1)
    cutoff_B1 = jnp.take_along_axis(sorted_BxV, cutoff_index_B[:, None], axis=-1)
    logits_BxV = jnp.where(logits_BxV < cutoff_B1, -jnp.inf, logits_BxV)
  return logits_BxV


def first_argmax(x_BxV: jax.Array) -> jax.Array:
  """`jnp.argmax` over the last axis (the first index of the largest value; a NaN counts as largest) as two plain
  reductions, a max and then a min over the indices holding it. On CPU the argmax's single index-carrying
  reduction is several times slower, and a sampling step runs one over the whole vocabulary."""
  v = x_BxV.shape[-1]
  top_B1 = jnp.max(x_BxV, axis=-1, keepdims=True)
  hit_BxV = (x_BxV == top_B1) | jnp.isnan(x_BxV)
  return jnp.min(jnp.where(hit_BxV, jnp.arange(v, dtype=jnp.int32), v), axis=-1).astype(jnp.int32)


def sampling_noise(rng: jax.Array, shape: tuple[int, ...], config: SamplingConfig) -> jax.Array | None:
  """The Gumbel noise `jax.random.categorical` would draw from `rng` for logits of `shape` (None when greedy)."""
  return None if config.temperature == 0 else jax.random.gumbel(rng, shape, jnp.float32)


def choose_token(logits_BxV: jax.Array, noise_BxV: jax.Array | None, config: SamplingConfig) -> jax.Array:
  """The token of each row, given the `sampling_noise` drawn for it (the Gumbel-max draw)."""
  if config.temperature == 0:
    return first_argmax(logits_BxV)
  logits_BxV = filter_logits(logits_BxV.astype(jnp.float32) / config.temperature, config.top_k, config.top_p)
  return first_argmax(noise_BxV + logits_BxV)


def sample_token(logits_BxV: jax.Array, rng: jax.Array, config: SamplingConfig) -> jax.Array:
  """A token per row: the same tokens as `jax.random.categorical(rng, filtered logits / temperature)`."""
  return choose_token(logits_BxV, sampling_noise(rng, logits_BxV.shape, config), config)


def init_cache(model, batch: int, cache_len: int):
  """Zeroed KV cache of a decoding copy of `model` for `batch` rows of `cache_len` positions."""
  decoder = model.clone(decode=True, cache_len=cache_len)
  shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), jnp.zeros((batch, 1), jnp.int32)))["cache"]
  return decoder, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


@functools.partial(jax.jit, static_argnames=("model", "config", "eos_id", "pad_id"))
def generate(model, params, prompt_BxP: jax.Array, prompt_mask_BxP: jax.Array, rng: jax.Array, *,
             config: SamplingConfig, eos_id: int, pad_id: int = 0):
  """Samples up to `config.max_new_tokens` tokens after each (left-padded) prompt.

  Returns `(tokens_BxN, lengths_B)`: the new tokens (pad after a row's eos) and how many each row
  produced, eos included.
  """
  b, p = prompt_BxP.shape
  n = config.max_new_tokens
  decoder, cache = init_cache(model, b, p + n)
  segments_BxP = prompt_mask_BxP.astype(jnp.int32)
  positions_BxP = jnp.maximum(jnp.cumsum(segments_BxP, axis=1) - 1, 0)
  logits_Bx1xV, variables = decoder.apply({"params": params, "cache": cache}, prompt_BxP, segments_BxP,
                                          positions_BxP, outputs_for_last=1, mutable=["cache"])
  next_position_B = positions_BxP[:, -1] + 1

  def step(cache, token_B, i):
    logits_Bx1xV, variables = decoder.apply({"params": params, "cache": cache}, token_B[:, None],
                                            jnp.ones((b, 1), jnp.int32), (next_position_B + i)[:, None],
                                            mutable=["cache"])
    return variables["cache"], logits_Bx1xV[:, -1]

  return sample_loop(step, variables["cache"], logits_Bx1xV[:, -1], rng, config=config, eos_id=eos_id,
                     pad_id=pad_id)


def sample_loop(step, cache, logits_BxV: jax.Array, rng: jax.Array, *, config: SamplingConfig, eos_id: int,
                pad_id: int):
  """The token loop shared by decoder and encoder-decoder generation (a `lax.while_loop`).

  `step(cache, token_B, i) -> (cache, logits_BxV)` feeds the i-th sampled token; `logits_BxV`
  are the logits for the first one. Stops when every row has emitted eos (if
  `config.stop_at_eos`) or after `config.max_new_tokens`. Returns `(tokens_BxN, lengths_B)`.
  """
  b, n = logits_BxV.shape[0], config.max_new_tokens

  def draw(rng):
    rng, key = jax.random.split(rng)
    return rng, sampling_noise(key, logits_BxV.shape, config)

  def body(carry):
    i, cache, logits_BxV, noise_BxV, out_BxN, done_B, rng = carry
    token_B = jnp.where(done_B, pad_id, choose_token(logits_BxV, noise_BxV, config))
    out_BxN = out_BxN.at[:, i].set(token_B)
    if config.stop_at_eos:
      done_B = done_B | (token_B == eos_id)
    # The next token's noise does not depend on this step's logits: drawn here, XLA runs it on another thread
    # while the model runs (a serial chain of one-thread operations at decode's batch sizes).
    rng, noise_BxV = draw(rng)
    cache, logits_BxV = step(cache, token_B, i)
    return i + 1, cache, logits_BxV, noise_BxV, out_BxN, done_B, rng

  def cond(carry):
    i, *_, done_B, _ = carry
    return (i < n) & ~jnp.all(done_B)

  rng, noise_BxV = draw(rng)
  init = (jnp.zeros((), jnp.int32), cache, logits_BxV, noise_BxV, jnp.full((b, n), pad_id, jnp.int32),
          jnp.zeros((b,), jnp.bool_), rng)
  out_BxN = jax.lax.while_loop(cond, body, init)[4]
  produced_BxN = out_BxN != pad_id
  ends_B = jnp.argmax(out_BxN == eos_id, axis=1)
  has_eos_B = jnp.any(out_BxN == eos_id, axis=1)
  lengths_B = jnp.where(has_eos_B, ends_B + 1, jnp.sum(produced_BxN, axis=1))
  return out_BxN, lengths_B


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int = 0, length: int | None = None):
  """Token lists -> (left-padded int32 [B, P], bool mask [B, P]); P = longest prompt unless given."""
  p = length or max(len(x) for x in prompts)
  tokens = np.full((len(prompts), p), pad_id, np.int32)
  mask = np.zeros((len(prompts), p), bool)
  for row, ids in enumerate(prompts):
    ids = list(ids)[-p:]
    if ids:
      tokens[row, p - len(ids):] = ids
      mask[row, p - len(ids):] = True
  return tokens, mask


def continuation_text(tokenizer, prompt_ids: Sequence[int], new_ids: Sequence[int]) -> str:
  """The text of `new_ids` as it reads after the prompt (eos and padding dropped).

  Decoded together with the prompt: SentencePiece drops a leading space when decoding alone. Ids
  past the tokenizer's pieces (the model's vocabulary is rounded up, and a sampled row may pick
  one) have no text and are dropped.
  """
  drop = {tokenizer.eos_id, tokenizer.pad_id}
  new = [int(t) for t in new_ids if int(t) not in drop and int(t) < tokenizer.vocab_size]
  prompt = [int(t) for t in prompt_ids]
  return tokenizer.decode(prompt + new)[len(tokenizer.decode(prompt)):]


def check_fits(model, prompt_len: int, max_new_tokens: int) -> None:
  """A clear error when a prompt and its new tokens need positions past a learned-position model's `max_len`.

  (Those positions have no embedding: the lookup would fill them with NaN and the output would be noise.)
  """
  c = getattr(model, "config", None)
  if c is not None and getattr(c, "positions", "") == "learned" and prompt_len + max_new_tokens > c.max_len:
    raise ValueError(f"A prompt of {prompt_len} tokens plus max_new_tokens={max_new_tokens} needs "
                     f"{prompt_len + max_new_tokens} positions; the model has max_len={c.max_len} learned positions. "
                     "Shorten the prompt (keep its end) or lower max_new_tokens.")


def right_pad(ids: Sequence[int], max_len: int, multiple: int = 64, pad_id: int = 0) -> list[int]:
  """`ids` padded on the right to a multiple of `multiple` (at most `max_len`): a causal model's outputs at the real
  positions are unchanged, and calls of many lengths compile a few shapes instead of one per length."""
  return [*ids, *[pad_id] * (min(round_up(len(ids), multiple), max_len) - len(ids))]


def round_up(n: int, multiple: int) -> int:
  """`n` rounded up to a multiple of `multiple` (padded shapes that few compilations cover)."""
  return -(-n // multiple) * multiple


def complete(model, params, tokenizer, prompts: Sequence[Sequence[int]], config: SamplingConfig, rng: jax.Array, *,
             batch_size: int = 0, length_multiple: int = 32) -> list[str]:
  """Continuations of token `prompts` (bos included by the caller), as text read after the prompt.

  Runs in batches of `batch_size` rows (0: all at once) padded to a multiple of
  `length_multiple` columns, so a long evaluation compiles a handful of shapes, not one per batch.
  """
  prompts = [list(p) for p in prompts]
  check_fits(model, max(map(len, prompts), default=0), config.max_new_tokens)
  batch_size = batch_size or len(prompts)
  texts = []
  for start in range(0, len(prompts), batch_size):
    chunk = prompts[start:start + batch_size]
    rows = chunk + [[tokenizer.bos_id]] * (batch_size - len(chunk))  # filler rows keep the shape fixed
    tokens, mask = left_pad(rows, tokenizer.pad_id, round_up(max(map(len, rows)), length_multiple))
    tokens, mask = distributed.put_rows(distributed.mesh_of(params), (tokens, mask))
    out, lengths = generate(model, params, tokens, mask, jax.random.fold_in(rng, start),
                            config=config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)
    out, lengths = distributed.get_rows((out, lengths), len(rows))
    texts += [continuation_text(tokenizer, ids, row[:n]) for ids, row, n in zip(chunk, out, lengths)]
  return texts


def sample_texts(model, params, tokenizer, prompts: Sequence[str], config: SamplingConfig,
                 rng: jax.Array) -> list[str]:
  """Continuations of text `prompts` (each after bos), decoded as they read after the prompt."""
  ids = [[tokenizer.bos_id] + tokenizer.encode(p) for p in prompts]
  return complete(model, params, tokenizer, ids, config, rng, length_multiple=1)
