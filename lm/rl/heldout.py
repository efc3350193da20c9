"""Judging a policy on held-out prompts: against the SFT policy, under the gold preference and the reward model.

For each prompt the policy and the SFT policy (the frozen reference) each sample one response
with the same seed. `gold_win_rate` is how often the gold preference (`lm.data.world.gold`,
hidden from training) prefers the policy's response, ties counting half; `rm_win_rate` is the
reward model's opinion of the same pairs. Also: mean gold and reward-model scores of both (without a reward model, as for DPO: gold only), and
the policy's KL to the reference on its own samples (nats per response). Plotted against that KL
over training (`overoptimization.png`), gold and proxy scores show reward hacking when they part
(Gao, Schulman and Hilton, 2022).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import numpy as np

from lm.evaluation import plots, preference
from lm.objectives import policy_gradient as pg
from lm.rl import rollout as rollout_lib
from lm.rl.source import texts


@dataclasses.dataclass(frozen=True)
class HeldOutConfig:
  prompts: int = 128          # held-out prompts per evaluation (validation split)
  test_prompts: int = 0       # test-split prompts judged at the end; 0: as many as `prompts`

  @property
  def final_prompts(self) -> int:
    return self.test_prompts or self.prompts
  batch_size: int = 64        # prompts per generation batch
  temperature: float = -1.0   # sampling temperature of both policies; < 0: the rollout temperature
  samples: int = 3            # (prompt, policy response, SFT response) examples logged


class Judge:
  """`judge(params) -> (metrics, examples)` on fixed prompts; the SFT policy's side is sampled once and kept."""

  def __init__(self, *, prompts: Sequence[str], tok, template: str, rollout: rollout_lib.RolloutConfig,
               config: HeldOutConfig, sample: Callable, score: Callable, reference_params, reward_params, seed: int,
               gold: bool):
    self._prompts, self._tok, self._config = list(prompts), tok, config
    self._sample, self._score = sample, score
    self._reference, self._reward, self._seed, self._gold = reference_params, reward_params, seed, gold
    self._temperature = None if config.temperature < 0 else config.temperature
    self._encoded = rollout_lib.encode_prompts(tok, template, self._prompts, rollout.max_prompt_tokens)
    self._sft: dict[str, np.ndarray] | None = None
    # After a call with gold: {"policy" | "sft": {family | "all": {term: mean, "gold": mean, "n": prompts}}}.
    self.gold_terms: dict[str, dict] = {}

  def responses(self, policy_params, params, key: jax.Array | None = None) -> dict[str, np.ndarray]:
    """Samples, reward-model scores, KL to the reference and gold scores (with their terms) of one policy over all
    prompts. `key` (default: the judge's own, shared by both policies) seeds the sampling."""
    key = jax.random.key(self._seed + 2) if key is None else key
    tokens, mask, _ = self._encoded
    rows = self._config.batch_size
    out: dict[str, list] = {"rm": [], "kl": [], "gold": [], "text": [], "length": [], "terms": []}
    for start in range(0, len(self._prompts), rows):
      chunk = slice(start, start + rows)
      t, m = tokens[chunk], mask[chunk]
      have = len(t)
      if have < rows:  # filler rows keep one compiled shape
        fill = lambda x: np.concatenate([x, np.repeat(x[-1:], rows - have, axis=0)])
        t, m = fill(t), fill(m)
      batch = self._sample(policy_params, t, m, jax.random.fold_in(key, start), self._temperature)
      batch.pop("finished")
      scored = self._score(params, self._reference, self._reward, batch)
      kl = np.asarray(pg.kl_estimate(scored["logprobs"], scored["ref_logprobs"], "k1")).sum(axis=1)
      responses = texts(self._tok, batch, t.shape[1])[:have]
      out["rm"] += list(scored["scores"][:have])
      out["kl"] += list(kl[:have])
      out["length"] += list(batch["response_mask"].sum(axis=1)[:have])
      out["text"] += responses
      if self._gold:
        terms = preference.components(self._prompts[start:start + have], responses)
        out["terms"] += terms
        out["gold"] += [t["gold"] for t in terms]
    terms = out.pop("terms")
    return {**{k: np.asarray(v) for k, v in out.items()}, "terms": terms}

  def __call__(self, params) -> tuple[dict[str, float], list[dict]]:
    if self._sft is None:
      self._sft = self.responses(self._reference, params)
    ours, sft = self.responses(params["policy"], params), self._sft
    kl = np.asarray(ours["kl"], np.float64)
    metrics = {"kl": float(kl.mean()), "kl_stderr": float(kl.std(ddof=1) / np.sqrt(len(kl))) if len(kl) > 1 else 0.0,
               "response_length": float(np.mean(ours["length"])),
               "prompts": float(len(self._prompts))}
    if self._reward is not None:
      rate, stderr = preference.win_rate(ours["rm"], sft["rm"])
      metrics.update(rm_score=float(np.mean(ours["rm"])), sft_rm_score=float(np.mean(sft["rm"])),
                     rm_win_rate=rate, rm_win_rate_stderr=stderr)
    if self._gold:
      rate, stderr = preference.win_rate(ours["gold"], sft["gold"])
      metrics.update(gold_score=float(np.mean(ours["gold"])), sft_gold_score=float(np.mean(sft["gold"])),
                     gold_win_rate=rate, gold_win_rate_stderr=stderr)
      self.gold_terms = {"policy": preference.by_family(self._prompts, ours["terms"]),
                         "sft": preference.by_family(self._prompts, sft["terms"])}
    n = min(self._config.samples, len(self._prompts))
    examples = [{"input": p, "reference": f"SFT: {s}", "output": o}
                for p, o, s in zip(self._prompts[:n], ours["text"], sft["text"])]
    return metrics, examples


def plot_overoptimization(path: str, rows: Sequence[dict]) -> None:
  """Held-out evaluations over training against the policy's KL to the SFT policy.

  Left: gain in gold and reward-model (proxy) score over the SFT policy's; right: win rates against
  it, chance dotted. Where the proxy climbs and gold does not, the policy exploits the reward model.
  """
  rows = [r for r in rows if "kl" in r and ("rm_score" in r or "gold_score" in r)]
  if not rows:
    return
  gains, wins = {}, {}
  for name, key in (("gold", "gold"), ("reward model (proxy)", "rm")):
    if f"{key}_score" in rows[0]:
      gains[name] = [(0.0, 0.0)] + [(r["kl"], r[f"{key}_score"] - r[f"sft_{key}_score"]) for r in rows]
      wins[name] = [(0.0, 0.5)] + [(r["kl"], r[f"{key}_win_rate"]) for r in rows]
  plots.trajectories(path, [("mean score minus the SFT policy's", gains, 0.0), ("win rate against the SFT policy", wins,
                                                                                 0.5)],
                     title="Over-optimisation on held-out prompts", xlabel="KL(policy || SFT), nats per response")
