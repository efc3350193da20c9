"""The on-policy data source of the RLHF loop: one rollout per iteration, cut into minibatches for several epochs.

The shared loop (`lm.training.loop.train`) asks for a batch before every update; every
`epochs x minibatches` updates this source samples a fresh rollout from the current policy,
scores it (reward model, reference, critic), turns rewards into advantages and adapts the KL
coefficient. Everything that decides the next batch is a function of (seed, iteration) or is in
`get_state()` (iteration, position in the rollout, KL coefficient, the current rollout itself),
so a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Callable, Sequence

import jax
import numpy as np
from absl import logging

from lm.data.world.gold import gold_score
from lm.objectives.policy_gradient import explained_variance
from lm.rl import kl as kl_lib
from lm.rl import rollout as rollout_lib
from lm.sampling import decode
from lm.training import loop


@dataclasses.dataclass(frozen=True)
class UpdateConfig:
  epochs: int = 4          # passes over each rollout
  minibatches: int = 2     # updates per pass (rows per update = rollout rows / minibatches)

  @property
  def per_rollout(self) -> int:
    return self.epochs * self.minibatches


def prompt_order(n: int, seed: int, start: int, count: int) -> np.ndarray:
  """Indices of prompts `start .. start + count` of an endless stream of seeded shuffles of `n` prompts."""
  positions = np.arange(start, start + count)
  epochs = positions // n
  out = np.empty(count, np.int64)
  for epoch in np.unique(epochs):
    permutation = np.random.default_rng([seed, int(epoch)]).permutation(n)
    out[epochs == epoch] = permutation[positions[epochs == epoch] % n]
  return out


def texts(tok, batch: dict[str, np.ndarray], prompt_len: int) -> list[str]:
  """The responses of rollout rows as text (read after their prompts)."""
  out = []
  for inputs, segments, mask in zip(batch["inputs"], batch["segment_ids"], batch["response_mask"]):
    prompt = inputs[:prompt_len][segments[:prompt_len] > 0]
    out.append(decode.continuation_text(tok, prompt, inputs[prompt_len:][mask > 0]))
  return out


def _encode(arrays: dict[str, np.ndarray]) -> str:
  """Numeric arrays as base64 npz text. Object arrays would be pickled, and unpickling runs code: refused."""
  objects = [k for k, v in arrays.items() if np.asarray(v).dtype.hasobject]
  if objects:
    raise TypeError(f"rollout state {objects} holds Python objects; only numeric arrays are checkpointed.")
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(text: str) -> dict[str, np.ndarray]:
  """The inverse of `_encode`; a checkpoint from elsewhere holding pickled objects is refused (ValueError)."""
  with np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False) as arrays:
    return {k: arrays[k] for k in arrays.files}


class RolloutSource(loop.OnPolicySource):
  """Batches for the policy update, made from rollouts of the current policy.

  The reward of a response is the reward model's score (`rm_score` in the metrics), or with
  `oracle=True` the hidden gold preference itself (an upper bound: what RL achieves with a perfect
  reward model).
  """

  def __init__(self, *, prompts: Sequence[str], tok, template: str, rollout: rollout_lib.RolloutConfig,
               advantage: rollout_lib.AdvantageConfig, kl: kl_lib.KLConfig, update: UpdateConfig,
               sample: Callable, score: Callable, reference_params, reward_params, seed: int, gold: bool,
               on_samples: Callable[[int, list[dict]], None] | None = None, samples: int = 2, oracle: bool = False):
    if rollout.rows % update.minibatches:
      raise ValueError(f"A rollout of {rollout.rows} rows cannot be cut into {update.minibatches} minibatches.")
    if (rollout.rows // update.minibatches) % jax.process_count():
      raise ValueError(f"A minibatch of {rollout.rows // update.minibatches} rollout rows cannot be split over "
                       f"{jax.process_count()} processes; change rollout.prompts or updates.minibatches.")
    self._prompts, self._tok, self._template = list(prompts), tok, template
    self._rollout, self._advantage, self._kl, self._update = rollout, advantage, kl, update
    self._sample, self._score = sample, score
    self._reference, self._reward = reference_params, reward_params
    self._seed, self._gold, self._on_samples, self._samples = seed, gold or oracle, on_samples, samples
    self._oracle = oracle  # the reward is the world's gold preference itself, not a reward model's
    # What get_state() saves: the next rollout's number, the next minibatch in the current one, the coefficient.
    self.iteration, self._next, self.kl_coef = 0, 0, kl.coef
    self._buffer: dict[str, np.ndarray] | None = None
    self._pending: list[dict[str, float]] = []

  # --- the loop's side --------------------------------------------------------------------------

  def next_batch(self, state) -> dict[str, np.ndarray]:
    if self._buffer is None or self._next == self._update.per_rollout:
      self._buffer = self._make_rollout(state.params, int(state.step))
      self._next = 0
      self.iteration += 1
    epoch, part = divmod(self._next, self._update.minibatches)
    self._next += 1
    rows = self._rollout.rows // self._update.minibatches
    order = np.random.default_rng([self._seed, self.iteration - 1, epoch]).permutation(self._rollout.rows)
    chosen = np.sort(order[part * rows:(part + 1) * rows])
    # Every process holds the whole rollout (sampled and scored with rows split over processes, then gathered);
    # the loop wants this process's rows of the minibatch.
    share = rows // jax.process_count()
    chosen = chosen[jax.process_index() * share:(jax.process_index() + 1) * share]
    return {k: v[chosen] for k, v in self._buffer.items()}

  def pop_metrics(self) -> dict[str, float]:
    pending, self._pending = self._pending, []
    return loop.aggregate(pending)

  def get_state(self) -> bytes:
    return json.dumps({"iteration": self.iteration, "next": self._next, "kl_coef": self.kl_coef,
                       "pending": self._pending,
                       "buffer": None if self._buffer is None else _encode(self._buffer)}).encode()

  def set_state(self, state: bytes) -> None:
    saved = json.loads(state)
    self.iteration, self._next, self.kl_coef = saved["iteration"], saved["next"], saved["kl_coef"]
    self._pending = saved["pending"]
    self._buffer = None if saved["buffer"] is None else _decode(saved["buffer"])

  # --- making a rollout -------------------------------------------------------------------------

  def _make_rollout(self, params, step: int) -> dict[str, np.ndarray]:
    cfg, group = self._rollout, self._rollout.samples_per_prompt
    index = prompt_order(len(self._prompts), self._seed, self.iteration * cfg.prompts, cfg.prompts)
    prompts = [self._prompts[i] for i in index]
    prompt_BxP, mask_BxP, truncated = rollout_lib.encode_prompts(self._tok, self._template, prompts,
                                                                 cfg.max_prompt_tokens)
    prompt_BxP, mask_BxP = np.repeat(prompt_BxP, group, axis=0), np.repeat(mask_BxP, group, axis=0)
    rng = jax.random.fold_in(jax.random.key(self._seed + 1), self.iteration)
    batch = self._sample(params["policy"], prompt_BxP, mask_BxP, rng)
    finished = batch.pop("finished")
    scored = self._score(params, self._reference, self._reward, batch)
    responses = texts(self._tok, batch, prompt_BxP.shape[1])
    repeated = list(np.repeat(np.asarray(prompts, object), group))
    golds = np.asarray([gold_score(p, r) for p, r in zip(repeated, responses)]) if self._gold else None
    scores = golds if self._oracle else np.asarray(scored["scores"], np.float64)
    finite = np.isfinite(scores)
    if not finite.all():
      logging.warning("Iteration %d: %d non-finite reward(s); those responses are left out of the update.",
                      self.iteration, int((~finite).sum()))
    mask = batch["response_mask"] * finite[:, None]
    rewards = np.where(finite, scores, 0.0) - cfg.missing_eos_penalty * ~finished
    adv = rollout_lib.advantages(scored, mask, rewards, self.kl_coef, self._advantage, group, finite)
    out = {**batch, "response_mask": mask.astype(np.int32), "old_logprobs": scored["logprobs"],
           "advantages": adv["advantages"].astype(np.float32)}
    if self._advantage.algorithm == "ppo":
      out.update(old_values=scored["values"], returns=adv["returns"].astype(np.float32))
    if self._advantage.kl_in_loss:
      out["ref_logprobs"] = scored["ref_logprobs"]
    metrics = self._metrics(batch, scored, scores, adv, mask, finite, finished, truncated)
    if golds is not None:
      metrics["gold_score"] = float(np.mean(golds))
    if self._on_samples is not None:
      self._on_samples(step, [{"prompt": p, "response": r, "reward": float(x)}
                              for p, r, x in zip(repeated[:self._samples], responses, scores)])
    kl_lib.check_limit(metrics["kl"], self._kl, self.iteration + 1, step)
    self.kl_coef = kl_lib.update(self.kl_coef, metrics["kl"], cfg.rows, self._kl)
    self._pending.append(metrics)
    return out

  def _metrics(self, batch, scored, scores, adv, mask, finite, finished, truncated) -> dict[str, float]:
    valid = mask.sum() > 0
    sequence_kl = adv["kl"].sum(axis=1)
    metrics = {"rm_score": float(np.mean(scores[finite])) if finite.any() else float("nan"),
               "kl": float(np.mean(sequence_kl[finite])) if finite.any() else float("nan"),
               "kl_coef": self.kl_coef, "iteration": float(self.iteration + 1),
               "entropy": float(scored["entropy"].sum() / max(mask.sum(), 1)) if valid else 0.0,
               "response_length": float(batch["response_mask"].sum(axis=1).mean()),
               "unfinished_count": float((~finished).sum()), "truncated_prompts_count": float(truncated.sum()),
               "nonfinite_reward_count": float((~finite).sum())}
    if "returns" in adv:
      metrics["explained_variance"] = float(explained_variance(scored["values"], adv["returns"], mask))
      metrics["value_mean"] = float(scored["values"].sum() / max(mask.sum(), 1))
    if self._oracle:  # the reward was the gold score, logged as such
      del metrics["rm_score"]
    return metrics
