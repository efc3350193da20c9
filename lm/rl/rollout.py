"""Rollouts: sample responses from the policy, score them, and turn rewards into advantages.

Shapes: B rows (prompts x samples per prompt, a prompt's samples adjacent), P prompt columns, N
response columns, L = P + N, V vocabulary.

A rollout row is `prompt response`: the prompt left-padded to P columns (as `decode.generate`
wants it), the response after it with padding after its eos. So every response starts at column
P, the policy, the frozen reference and the critic read it in one forward pass, and the reward
model reads the last real token. Per-token arrays ([B, N]) cover the response columns only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lm import distributed
from lm.data import supervised
from lm.objectives import policy_gradient as pg
from lm.sampling import decode


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
  prompts: int = 32               # prompts per iteration
  samples_per_prompt: int = 1     # responses per prompt (GRPO and RLOO compare them: at least 2)
  max_prompt_tokens: int = 192    # longer prompts lose their start (counted in truncated_prompts_count)
  max_new_tokens: int = 32        # responses that reach it without eos are cut there (counted in unfinished_count)
  temperature: float = 1.0
  top_k: int = 0
  top_p: float = 1.0
  missing_eos_penalty: float = 0.0  # subtracted from the reward of a response cut before its eos

  @property
  def rows(self) -> int:
    return self.prompts * self.samples_per_prompt

  def sampling(self, temperature: float | None = None) -> decode.SamplingConfig:
    return decode.SamplingConfig(max_new_tokens=self.max_new_tokens,
                                 temperature=self.temperature if temperature is None else temperature,
                                 top_k=self.top_k, top_p=self.top_p)


def encode_prompts(tok, template: str, prompts: Sequence[str], max_prompt_tokens: int) -> tuple[np.ndarray, np.ndarray,
                                                                                                  np.ndarray]:
  """`[bos] template(prompt)` per prompt, cut from the left to fit, left-padded to `max_prompt_tokens + 1` columns.

  Returns (tokens [B, P], mask [B, P], truncated [B]).
  """
  ids, truncated = [], []
  for prompt in prompts:
    encoded, cut = supervised.truncate(tok.encode(template.format(prompt=prompt)), max_prompt_tokens, "left")
    ids.append([tok.bos_id, *encoded])
    truncated.append(cut)
  tokens, mask = decode.left_pad(ids, tok.pad_id, max_prompt_tokens + 1)
  return tokens, mask, np.asarray(truncated)


def sequences(prompt_BxP: np.ndarray, prompt_mask_BxP: np.ndarray, new_BxN: np.ndarray,
              lengths_B: np.ndarray) -> dict[str, np.ndarray]:
  """Model inputs of the rows `prompt response`, and `response_mask` [B, N] (1 through each response's eos)."""
  n = new_BxN.shape[1]
  response_mask_BxN = (np.arange(n)[None, :] < lengths_B[:, None]).astype(np.int32)
  segments_BxL = np.concatenate([prompt_mask_BxP.astype(np.int32), response_mask_BxN], axis=1)
  positions_BxL = np.maximum(np.cumsum(segments_BxL, axis=1) - 1, 0).astype(np.int32)
  inputs_BxL = np.concatenate([prompt_BxP, np.where(response_mask_BxN > 0, new_BxN, 0)], axis=1).astype(np.int32)
  return {"inputs": inputs_BxL, "segment_ids": segments_BxL, "positions": positions_BxL,
          "response_mask": response_mask_BxN}


def make_sampler(decoder, tok, rollout: RolloutConfig):
  """`sample(policy_params, prompt_BxP, mask_BxP, rng, temperature=None) -> sequences` (compiled once per shape)."""

  def sample(params, prompt_BxP, mask_BxP, rng, temperature=None):
    new_BxN, lengths_B = decode.generate(decoder, params, *distributed.put_rows(distributed.mesh_of(params),
                                                                                (prompt_BxP, mask_BxP)), rng,
                                         config=rollout.sampling(temperature), eos_id=tok.eos_id, pad_id=tok.pad_id)
    new_BxN, lengths_B = distributed.get_rows((new_BxN, lengths_B), len(prompt_BxP))
    out = sequences(prompt_BxP, mask_BxP, new_BxN, lengths_B)
    out["finished"] = np.any(new_BxN == tok.eos_id, axis=1)
    return out

  return sample


def make_scorer(actor_critic, decoder, reward_model=None):
  """`(params, reference_params, reward_params, batch) -> numpy`: per-token log-probabilities of the policy and the
  reference, the critic's values (zeros without a critic), the entropy and the reward model's score [B] (zeros
  without a reward model). Compiled; rows split over the parameters' mesh and gathered back."""

  def score(params, reference_params, reward_params, batch):
    rows = len(batch["inputs"])
    out = score_rows(params, reference_params, reward_params, distributed.put_rows(distributed.mesh_of(params), batch))
    return distributed.get_rows(out, rows)

  @jax.jit
  def score_rows(params, reference_params, reward_params, batch):
    mask_BxN = batch["response_mask"].astype(jnp.float32)
    n = mask_BxN.shape[1]
    inputs = (batch["inputs"], batch["segment_ids"], batch["positions"])
    logits_BxKxV, values_BxL = actor_critic.apply({"params": params}, *inputs, outputs_for_last=n + 1)
    logp_BxN, logits_BxNxV = pg.response_logprobs(logits_BxKxV, batch["inputs"], n)
    ref_logp_BxN, _ = pg.response_logprobs(decoder.apply({"params": reference_params}, *inputs, outputs_for_last=n + 1),
                                           batch["inputs"], n)
    values_BxN = jnp.zeros_like(logp_BxN) if values_BxL is None else values_BxL[:, -n - 1:-1]
    scores_B = (jnp.zeros(logp_BxN.shape[:1]) if reward_model is None
                else reward_model.apply({"params": reward_params}, *inputs, outputs_for_last=n + 1)[:, 0])
    probs_BxNxV = jax.nn.softmax(logits_BxNxV)
    entropy_BxN = -jnp.sum(probs_BxNxV * jax.nn.log_softmax(logits_BxNxV), axis=-1)
    return {"logprobs": logp_BxN * mask_BxN, "ref_logprobs": ref_logp_BxN * mask_BxN,
            "values": values_BxN * mask_BxN, "entropy": entropy_BxN * mask_BxN, "scores": scores_B}

  return score


@dataclasses.dataclass(frozen=True)
class AdvantageConfig:
  algorithm: str = "ppo"          # "ppo" (critic, GAE) | "grpo" (group-normalised) | "rloo" (leave-one-out)
  gamma: float = 1.0
  lam: float = 0.95
  whiten: bool = True             # PPO: advantages to zero mean and unit variance over the rollout's valid tokens
  kl_estimator: str = "k1"        # per-token KL to the reference: k1 | k2 | k3
  kl_in_loss: bool = False        # GRPO: the KL is a loss term (coefficient kl.coef), not a reward penalty


ALGORITHMS = ("ppo", "grpo", "rloo")


@jax.jit
def _gae(rewards, values, mask, gamma, lam):
  return pg.gae(rewards, values, mask, gamma=gamma, lam=lam)


def advantages(scored: dict[str, np.ndarray], mask_BxN: np.ndarray, rewards_B: np.ndarray, kl_coef: float,
               config: AdvantageConfig, group_size: int, valid_B: np.ndarray | None = None) -> dict[str, np.ndarray]:
  """Per-token rewards and advantages of a scored rollout (numpy in, numpy out).

  `rewards_B` is each response's final reward (reward-model score, minus any penalty). Unless
  `kl_in_loss`, every token also pays `kl_coef` times its KL estimate to the reference. Responses with
  `valid_B` false (a non-finite reward) are left out of GRPO's and RLOO's group baselines.
  """
  mask = mask_BxN.astype(np.float32)
  kl_BxN = np.asarray(pg.kl_estimate(jnp.asarray(scored["logprobs"]), jnp.asarray(scored["ref_logprobs"]),
                                     config.kl_estimator)) * mask
  penalty = 0.0 if config.kl_in_loss else kl_coef
  last_B = np.maximum(mask.sum(axis=1).astype(np.int64) - 1, 0)
  out = {"kl": kl_BxN}
  if config.algorithm == "ppo":
    token_rewards = -penalty * kl_BxN
    token_rewards[np.arange(len(last_B)), last_B] += rewards_B * (mask.sum(axis=1) > 0)
    adv, returns = jax.device_get(_gae(token_rewards, scored["values"], mask, config.gamma, config.lam))
    if config.whiten:
      adv = np.asarray(pg.whiten(jnp.asarray(adv), jnp.asarray(mask)))
    out.update(advantages=adv * mask, returns=returns * mask, token_rewards=token_rewards)
    return out
  sequence_B = rewards_B - penalty * kl_BxN.sum(axis=1)
  valid = None if valid_B is None else jnp.asarray(valid_B)
  if config.algorithm == "grpo":
    adv_B = pg.group_advantages(jnp.asarray(sequence_B), group_size, valid)
  elif config.algorithm == "rloo":
    adv_B = pg.rloo_advantages(jnp.asarray(sequence_B), group_size, valid)
  else:
    raise ValueError(f"Unknown algorithm {config.algorithm!r}; expected one of {ALGORITHMS}.")
  out["advantages"] = np.asarray(adv_B)[:, None] * mask
  return out
