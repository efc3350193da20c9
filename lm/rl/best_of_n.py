"""Best-of-n against the SFT policy, and the SFT policy's pass@k: the reference curves for any RLHF result.

`run(config, workdir)` samples `bon.n` responses per held-out prompt from the SFT policy (`config.policy_from`),
scores each with the reward model (`config.reward_from`) and with the gold preference, and for every n in `bon.ns`
keeps the best of the first n, chosen either by the reward model or by gold. Each choice is judged against one
ordinary SFT sample of the same prompt (the sample `lm.rl.heldout.Judge` draws with the same seed, so PPO's and
best-of-n's win rates are against the same responses): gold and reward-model win rates with standard errors, at the
analytic KL of best-of-n, log n - (n - 1) / n. It costs only sampling and scoring, so it shows what the reward model
and the policy's own samples allow before any RL: choosing by gold is the ceiling that sampling alone reaches,
choosing by the reward model what the learned preference makes of it.

pass@k (k in `bon.pass_k`, unbiased from the n samples) counts a prompt as passed when a sample is fully correct
under the gold solver (correctness 1), per instruction family: RL can only amplify what the policy sometimes samples.

Writes `results.json` (every figure; `headline` holds `bon_<n>_rm_gold_win_rate` and `bon_<n>_gold_gold_win_rate`
as {"value", "stderr"}), `best_of_n.png` (gold win rate against n and against sqrt(KL)) and the samples' gold terms
per family.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from lm import settings
from lm.evaluation import plots, preference
from lm.models.heads import ActorCritic, Classifier
from lm.models.transformer import Decoder
from lm.rl import heldout, rollout as rollout_lib, train as rl_train
from lm.training import pretrain, sharding

RESULTS_FILE = "results.json"
PLOT_FILE = "best_of_n.png"


def _selected(values_PxN: np.ndarray, chosen_P: np.ndarray) -> np.ndarray:
  return np.take_along_axis(values_PxN, chosen_P[:, None], axis=1)[:, 0]


def curves(rm_PxN: np.ndarray | None, gold_PxN: np.ndarray, sft_rm_P: np.ndarray | None, sft_gold_P: np.ndarray,
           ns) -> dict[str, dict]:
  """For each n and each selector ("rm", "gold"): win rates of the chosen sample against the SFT sample."""
  out = {}
  for n in ns:
    row = {"kl": preference.best_of_n_kl(n), "sft_gold_score": float(np.mean(sft_gold_P))}
    if sft_rm_P is not None:
      row["sft_rm_score"] = float(np.mean(sft_rm_P))
    for selector, scores in (("rm", rm_PxN), ("gold", gold_PxN)):
      if scores is None:
        continue
      chosen = preference.best_of(scores, n)
      gold_rate, gold_se = preference.win_rate(_selected(gold_PxN, chosen), sft_gold_P)
      row[selector] = {"gold_win_rate": gold_rate, "gold_win_rate_stderr": gold_se,
                       "gold_score": float(np.mean(_selected(gold_PxN, chosen)))}
      if rm_PxN is not None:
        rm_rate, rm_se = preference.win_rate(_selected(rm_PxN, chosen), sft_rm_P)
        row[selector].update(rm_win_rate=rm_rate, rm_win_rate_stderr=rm_se,
                             rm_score=float(np.mean(_selected(rm_PxN, chosen))))
    out[str(n)] = row
  return out


def pass_at(prompts, correct_PxN: np.ndarray, ks) -> dict[str, dict[str, float]]:
  """pass@k per family and over all prompts, from each prompt's count of fully correct samples."""
  n = correct_PxN.shape[1]
  groups: dict[str, list[int]] = {"all": list(range(len(prompts)))}
  for i, prompt in enumerate(prompts):
    groups.setdefault(preference.family(prompt), []).append(i)
  counts = correct_PxN.sum(axis=1)
  return {name: {"n": float(len(rows)), **{str(k): float(np.mean([preference.pass_at_k(int(counts[i]), n, k)
                                                                   for i in rows])) for k in ks}}
          for name, rows in sorted(groups.items())}


def plot(path: str, table: dict[str, dict]) -> None:
  ns = sorted(int(n) for n in table)
  series_n, series_kl = {}, {}
  for selector, label in (("rm", "chosen by the reward model"), ("gold", "chosen by gold")):
    if selector in table[str(ns[0])]:
      series_n[label] = [(float(np.log2(n)), table[str(n)][selector]["gold_win_rate"]) for n in ns]
      series_kl[label] = [(float(np.sqrt(table[str(n)]["kl"])), table[str(n)][selector]["gold_win_rate"]) for n in ns]
  plots.trajectories(path, [("gold win rate against the SFT policy, by log2 n", series_n, 0.5),
                            ("... by sqrt(KL(best-of-n || SFT))", series_kl, 0.5)],
                     title="Best-of-n on held-out prompts", xlabel="log2 n  |  sqrt(KL), nats^0.5")


def sft_judge(config, policy_source, reward_source, tok, prompts) -> tuple[heldout.Judge, dict]:
  """A gold `heldout.Judge` over `prompts` whose reference is the SFT policy (`policy_source`), scoring with the
  reward model when `reward_source` is set; and the SFT parameters (sample with `judge.responses(sft, {"policy":
  sft}, key)`)."""
  rollout = settings.section(rollout_lib.RolloutConfig, config.rollout, "rollout")
  judge_cfg = settings.section(heldout.HeldOutConfig, config.heldout, "heldout")
  model_cfg = rl_train.model_config(policy_source, tok.vocab_size)
  decoder = Decoder(model_cfg)
  mesh = sharding.make_mesh(settings.section(sharding.MeshConfig, config.mesh, "mesh"))
  tokens = jnp.ones((1, rollout.max_prompt_tokens + 1 + rollout.max_new_tokens), jnp.int32)
  rng = jax.random.key(config.seed)
  sft = rl_train.checkpoint_params(decoder, policy_source, tokens, mesh, rng)
  reward_model = reward_params = None
  if reward_source is not None:
    reward_model = Classifier(rl_train.model_config(reward_source, tok.vocab_size), 1, backbone="decoder")
    reward_params = rl_train.checkpoint_params(reward_model, reward_source, tokens, mesh, rng)
  judge = heldout.Judge(prompts=prompts, tok=tok, template=rl_train.template(config, policy_source), rollout=rollout,
                        config=judge_cfg, sample=rollout_lib.make_sampler(decoder, tok, rollout),
                        score=rollout_lib.make_scorer(ActorCritic(model_cfg, critic="none"), decoder, reward_model),
                        reference_params=sft, reward_params=reward_params, seed=config.seed, gold=True)
  return judge, sft


def open_gold_run(config, workdir: str, what: str):
  """The checked policy and reward runs (reward optional), tokenizer and dataset of a stage that `what` ("best-of-n
  is judged") by the world's gold preference, its work dir prepared."""
  policy_source, reward_source, tok = rl_train.resolve_runs(config, need_reward=False)
  spec = pretrain.data_spec(config.data)
  if not spec.name.startswith("world/"):
    raise settings.ConfigError(f"data.dataset={spec.name!r}: {what} by the world's gold preference; use world "
                               "prompts (world/instructions).")
  settings.prepare_workdir(workdir)
  return policy_source, reward_source, tok, spec


def run(config, workdir: str) -> dict:
  started = time.perf_counter()
  policy_source, reward_source, tok, spec = open_gold_run(config, workdir, "best-of-n is judged")
  bon = config.bon
  ns, ks = sorted(int(n) for n in settings.names(str(bon.ns))), sorted(int(k) for k in settings.names(str(bon.pass_k)))
  if max(ns + ks) > bon.n:
    raise settings.ConfigError(f"bon.ns={bon.ns} and bon.pass_k={bon.pass_k} need at most bon.n={bon.n} samples.")
  prompts = rl_train.prompts(spec, "test", bon.prompts)
  judge, sft = sft_judge(config, policy_source, reward_source, tok, prompts)
  params = {"policy": sft}
  baseline = judge.responses(sft, params)  # the SFT sample every policy is judged against
  samples = []
  for i in range(bon.n):
    samples.append(judge.responses(sft, params, jax.random.fold_in(jax.random.key(config.seed + 3), i)))
    logging.info("best-of-n: sample %d of %d per prompt drawn and scored.", i + 1, bon.n)
  gold = np.stack([s["gold"] for s in samples], axis=1)
  rm = np.stack([s["rm"] for s in samples], axis=1) if reward_source is not None else None
  correct = np.stack([[t["correctness"] >= 1.0 for t in s["terms"]] for s in samples], axis=1)
  table = curves(rm, gold, baseline["rm"] if rm is not None else None, baseline["gold"], ns)
  headline = {}
  for n in ns:
    for selector in ("rm", "gold"):
      if selector in table[str(n)]:
        figures = table[str(n)][selector]
        headline[f"bon_{n}_{selector}_gold_win_rate"] = {"value": figures["gold_win_rate"],
                                                         "stderr": figures["gold_win_rate_stderr"]}
  results = {"policy_from": config.policy_from, "reward_from": config.reward_from or None, "prompts": len(prompts),
             "samples_per_prompt": bon.n, "best_of_n": table, "pass_at_k": pass_at(prompts, correct, ks),
             # The gold terms of every SFT sample, per family (each prompt counted once per sample).
             "sft_gold_terms": preference.by_family([p for p in prompts for _ in samples],
                                                    [s["terms"][i] for i in range(len(prompts)) for s in samples]),
             "headline": headline, "seconds": time.perf_counter() - started}
  settings.write_json(os.path.join(workdir, RESULTS_FILE), results)
  plot(os.path.join(workdir, PLOT_FILE), table)
  for n in ns:
    logging.info("best-of-%d: %s", n, ", ".join(f"{sel} -> gold win rate {table[str(n)][sel]['gold_win_rate']:.3f}"
                                               for sel in ("rm", "gold") if sel in table[str(n)]))
  return results
