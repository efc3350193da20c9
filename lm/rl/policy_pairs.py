"""Preference pairs from the SFT policy's own samples, labelled by the (noisy) gold preference: the reward model's
data as InstructGPT collected it, comparisons between responses of the model that RL will start from.

The world's own pairs (`world/preferences`) contrast the reference answer with decoys and styles of it; the policy's
mistakes are of another kind (an invented name, another family's format), so a reward model trained on them alone
ranks the policy's samples poorly (measured in the README, issue 18). `run(config, workdir)` samples
`pairs.samples` responses per prompt from the SFT policy (`config.policy_from`) on the train, validation and test
prompts of `world/instructions`, scores each with gold, and turns distinct responses whose gold scores differ by
at least `MIN_GAP` into pairs (at most `pairs.per_prompt` per prompt, chosen at random). Each pair's label is
swapped with probability `pairs.noise` (the world's `preference_noise` by default), as in `world/preferences`, so
the labels are exactly as noisy as the world's and the label ceiling stays comparable. `pairs.world_pairs` pairs
of `world/preferences`' train split are mixed into train.jsonl (their styles the policy never samples).

Writes `{train,validation,test}.jsonl` (rows {"prompt", "chosen", "rejected"}: `files/preferences`, what
`experiments.train_reward` reads with `--config.data.dataset=files/preferences`) and `results.json` (counts, the
share of pairs decided by correctness, the label ceiling per split, seconds).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time

import jax
import numpy as np
from absl import logging

from lm import settings
from lm.data import sources
from lm.data.world.preferences import MIN_GAP
from lm.rl import best_of_n, train as rl_train

RESULTS_FILE = "results.json"
SPLITS = ("train", "validation", "test")
SPLIT_FILES = {split: f"{split}.jsonl" for split in SPLITS}
FIELDS = ("prompt", "chosen", "rejected")  # a row of files/preferences


@dataclasses.dataclass(frozen=True)
class PairsConfig:
  prompts: int = 2000             # train prompts sampled (the RL stages train on the same split)
  eval_prompts: int = 256         # validation and test prompts each (model selection reads validation only)
  samples: int = 4                # responses per prompt
  per_prompt: int = 2             # pairs kept per prompt, at most
  noise: float = -1.0             # share of labels swapped; < 0: the world's preference_noise
  world_pairs: int = 0            # world/preferences train pairs mixed into train.jsonl

  def __post_init__(self):
    if self.samples < 2 or self.per_prompt < 1 or self.prompts < 1 or self.eval_prompts < 1:
      raise settings.ConfigError(f"pairs: samples must be >= 2 and prompts, eval_prompts, per_prompt >= 1; got "
                                 f"{self}.")
    if self.noise > 0.5:
      raise settings.ConfigError(f"pairs.noise={self.noise} must be at most 0.5 (more flips the preference).")


def pairs_of(prompt: str, responses, golds, correct, rng: random.Random, per_prompt: int, noise: float) -> list[dict]:
  """Up to `per_prompt` labelled pairs from one prompt's samples: distinct responses whose gold scores differ by at
  least MIN_GAP, the better one "chosen" unless the label is swapped (probability `noise`). Each row also carries
  `gold_order` (1: the label agrees with gold) and `by_correctness` (the two differ in gold correctness)."""
  seen: dict[str, tuple[float, float]] = {}
  for text, gold, right in zip(responses, golds, correct):
    seen.setdefault(text, (float(gold), float(right)))
  items = sorted(seen.items())
  candidates = [(a, b) for i, a in enumerate(items) for b in items[i + 1:] if abs(a[1][0] - b[1][0]) >= MIN_GAP]
  rng.shuffle(candidates)
  rows = []
  for (text_a, (gold_a, right_a)), (text_b, (gold_b, right_b)) in candidates[:per_prompt]:
    chosen, rejected = (text_a, text_b) if gold_a > gold_b else (text_b, text_a)
    agrees = rng.random() >= noise
    if not agrees:
      chosen, rejected = rejected, chosen
    rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "gold_order": int(agrees),
                 "by_correctness": int(right_a != right_b)})
  return rows


def _sample_pairs(config, policy_source, tok, prompts, split: str, cfg: PairsConfig, noise: float) -> list[dict]:
  judge, sft = best_of_n.sft_judge(config, policy_source, None, tok, prompts)
  samples = []
  key = jax.random.fold_in(jax.random.key(config.seed + 5), SPLITS.index(split))
  for i in range(cfg.samples):
    samples.append(judge.responses(sft, {"policy": sft}, jax.random.fold_in(key, i)))
    logging.info("pairs (%s): sample %d of %d for %d prompts drawn and scored by gold.", split, i + 1, cfg.samples,
                 len(prompts))
  rng = random.Random(f"{config.seed}-{split}")
  rows = []
  for p, prompt in enumerate(prompts):
    rows += pairs_of(prompt, [s["text"][p] for s in samples], [s["gold"][p] for s in samples],
                     [s["terms"][p]["correctness"] for s in samples], rng, cfg.per_prompt, noise)
  return rows


def _world_pairs(spec, count: int, seed: int) -> list[dict]:
  records = sources.open_split(dataclasses.replace(spec, name="world/preferences"), "train")
  if count > len(records):
    raise settings.ConfigError(f"pairs.world_pairs={count}: world/preferences has {len(records)} train pairs.")
  picked = np.random.default_rng(seed).choice(len(records), size=count, replace=False)
  return [{k: records[int(i)][k] for k in FIELDS} for i in picked]


def _write(path: str, rows: list[dict]) -> None:
  settings.write_text(path, "".join(json.dumps({k: r[k] for k in FIELDS}) + "\n"
                                    for r in rows))


def run(config, workdir: str) -> dict:
  started = time.perf_counter()
  cfg = settings.section(PairsConfig, config.pairs, "pairs")
  policy_source, _, tok, spec = best_of_n.open_gold_run(config, workdir, "pairs are labelled")
  noise = spec.world.preference_noise if cfg.noise < 0 else cfg.noise
  results = {"policy_from": config.policy_from, "noise": noise, "samples_per_prompt": cfg.samples, "splits": {}}
  for split in SPLITS:
    prompts = rl_train.prompts(spec, split, cfg.prompts if split == "train" else cfg.eval_prompts)
    rows = _sample_pairs(config, policy_source, tok, prompts, split, cfg, noise)
    if not rows:
      raise ValueError(f"pairs: no two samples of any {split} prompt differ in gold score by {MIN_GAP}; sample more "
                       "(pairs.samples) or at a higher temperature (rollout.temperature).")
    results["splits"][split] = {
        "prompts": len(prompts), "policy_pairs": len(rows),
        "label_ceiling": float(np.mean([r["gold_order"] for r in rows])),
        "by_correctness": float(np.mean([r["by_correctness"] for r in rows]))}
    if split == "train" and cfg.world_pairs:
      rows += _world_pairs(spec, cfg.world_pairs, config.seed)
      random.Random(config.seed).shuffle(rows)
      results["splits"]["train"]["world_pairs"] = cfg.world_pairs
    _write(os.path.join(workdir, SPLIT_FILES[split]), rows)
    logging.info("pairs (%s): %s", split, results["splits"][split])
  results["seconds"] = time.perf_counter() - started
  settings.write_json(os.path.join(workdir, RESULTS_FILE), results)
  return results
