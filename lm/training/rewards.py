"""The reward model as a fine-tuning task: a scalar head on the SFT decoder, trained on preference pairs.

`lm.training.tasks.TASKS["reward"]` is built from these pieces, so the reward model gets the same
loop, checkpoints, resume, `init_from` and `results.json` as every other task
(`experiments.train_reward` runs it). Its evaluator reports, on held-out pairs:

- `rm_accuracy`: how often the chosen response scores higher (against the dataset's own labels);
- `reward_gap`: mean score of chosen minus rejected;
- on the built-in world (or with `task_options.gold_judge`, for files of world prompts such as the policy's own
  pairs from `lm.rl.policy_pairs`), where the hidden gold preference is known, `gold_agreement` (the reward
  model orders the pair as `gold_score` does) and `label_ceiling` (how often the dataset's labels
  agree with gold: what label noise lets `rm_accuracy` reach).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lm.data import supervised
from lm.data.world.gold import gold_score, score_components
from lm.evaluation import uncertainty
from lm.models.heads import Classifier
from lm.objectives import preference
from lm.training import predict, recipes

PAIR_KEYS = tuple(f"{side}_{f}" for side in preference.SIDES for f in predict.MODEL_INPUTS)


def model(model_cfg, config):
  del config
  return Classifier(model_cfg, 1, backbone="decoder")


def layout(config, tok) -> recipes.DataLayout:
  opts = config.task_options
  transform = supervised.preference_pair(tok, opts.template, seq_len=config.data.seq_len,
                                         max_prompt_tokens=opts.max_prompt_tokens or None)
  return recipes.DataLayout(transform, (), pack=False, long_examples="truncate")


def losses(model, config):
  centring = config.task_options.get("centring", 0.0)
  return (preference.make_reward_loss(model, centring=centring),
          preference.make_reward_loss(model, centring=centring, train=False))


def scorer(model):
  """Jitted `(params, pair batch) -> [B, 2]` rewards of the chosen and rejected sides."""
  return jax.jit(lambda params, batch: jnp.stack(preference.pair_rewards(model, params, batch), axis=1))


def gold_orders(records) -> np.ndarray:
  """[N] 1 where the hidden gold preference agrees with the record's label (world data only)."""
  return np.asarray([gold_score(r["prompt"], r["chosen"]) > gold_score(r["prompt"], r["rejected"]) for r in records],
                    np.float64)


def correctness_pairs(records) -> np.ndarray:
  """[N] 1 where the two responses differ in gold correctness (a right and a wrong answer), 0 where they differ only
  in style (politeness, rudeness, verbosity, repetition, topic): the first kind needs the prompt read, the second not."""
  def correct(prompt, response):
    return score_components(prompt, response)["correctness"] or 0.0
  return np.asarray([correct(r["prompt"], r["chosen"]) != correct(r["prompt"], r["rejected"]) for r in records],
                    np.float64)


def evaluator(model, config, tok):
  pair_layout, score = layout(config, tok), scorer(model)
  # Gold judges world pairs, and pairs of world prompts from files (lm/rl/policy_pairs.py) when asked.
  with_gold = config.data.dataset.startswith("world/") or bool(config.task_options.get("gold_judge", False))

  def evaluate(params, records):
    records = list(records)
    rewards, truncated = [], 0
    for batch, rewards_Bx2 in predict.batches(score, config, pair_layout, tok, params, records, PAIR_KEYS):
      rewards.append(rewards_Bx2)
      truncated += int(batch["truncated"].sum())
    rewards_Nx2 = np.concatenate(rewards)
    finite = np.isfinite(rewards_Nx2).all(axis=1)
    gap_N = rewards_Nx2[:, 0] - rewards_Nx2[:, 1]
    prefers_chosen = (gap_N > 0).astype(np.float64)
    metrics = {"rm_accuracy": float(prefers_chosen.mean()), "rm_accuracy_stderr": uncertainty.stderr(prefers_chosen),
               "reward_gap": float(np.mean(gap_N[finite])),
               "reward_mean": float(np.mean(rewards_Nx2[finite])), "reward_std": float(np.std(rewards_Nx2[finite])),
               "examples": float(len(records)), "truncated_count": float(truncated),
               "nonfinite_count": float(np.sum(~finite))}
    if with_gold:
      gold = gold_orders(records)
      # The reward model agrees with gold when it sides with the label and the label is right, or against a wrong one.
      agrees = (prefers_chosen == gold).astype(np.float64)
      metrics["gold_agreement"], metrics["gold_agreement_stderr"] = float(agrees.mean()), uncertainty.stderr(agrees)
      kind = correctness_pairs(records).astype(bool)  # agreement where correctness decides, and where style does
      for name, where in (("correctness", kind), ("style", ~kind)):
        if where.any():
          metrics[f"gold_agreement/{name}"] = float(agrees[where].mean())
          metrics[f"pairs/{name}"] = float(where.mean())
      metrics["label_ceiling"] = float(gold.mean())
    n = min(config.eval.samples, len(records))
    examples = [{"input": r["prompt"], "reference": f"chosen: {r['chosen']} | rejected: {r['rejected']}",
                 "output": f"r(chosen)={c:.3f} r(rejected)={j:.3f}"} for r, (c, j) in zip(records[:n], rewards_Nx2)]
    return metrics, examples

  return evaluate
