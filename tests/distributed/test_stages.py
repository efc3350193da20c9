"""Fine-tuning and RLHF on two processes: uneven validation, sharded prediction and generation, PPO with its judge.

Launched with `srun -n 2` on the local SLURM cluster, 2 CPU devices per process, and compared with one
process holding all 4 devices (same mesh shape, same record shards).
"""

import json
import os
import random

import numpy as np
import pytest

from lm.training import writers
from tests.distributed.conftest import SCALE, check, single, srun
from tests.distributed.test_multiprocess import losses, rows

pytestmark = pytest.mark.xdist_group("cluster")

TINY = ["--config.model.num_layers=2", "--config.model.d_model=64", "--config.model.num_heads=4",
        "--config.model.d_ff=128", "--config.model.max_len=256", "--config.tokenizer.vocab_size=1024",
        "--config.tokenizer.num_sentinels=8", "--config.train.progress_bar=False"]
GOOD = ["superb", "lovely", "wonderful", "great", "delightful"]
BAD = ["awful", "dreadful", "terrible", "poor", "dismal"]
FILLER = ["the", "room", "was", "and", "staff", "food", "trip", "view", "service", "really", "quite"]


def _reviews(path, n: int, seed: int) -> str:
  rng = random.Random(seed)
  with open(path, "w", encoding="utf-8") as f:
    for _ in range(n):
      label = rng.choice(["pos", "neg"])
      words = rng.sample(FILLER, 5) + [rng.choice(GOOD if label == "pos" else BAD)]
      rng.shuffle(words)
      f.write(json.dumps({"text": " ".join(words).capitalize() + ".", "label": label}) + "\n")
  return str(path)


def test_finetuning_with_uneven_validation_matches_one_process(slurm, cluster_dirs, tmp_path):
  del slurm
  # 41 validation reviews in 2 record shards of 4 rows per batch: 21 -> 6 batches on process 0, 20 -> 5 on process 1.
  files = {split: _reviews(tmp_path / f"{split}.jsonl", n, seed)
           for split, n, seed in (("train", 400, 0), ("validation", 41, 1), ("test", 30, 2))}
  cmd = ["experiments.finetune", "--config=configs/finetune/sentiment.py:tiny", "--config.data.dataset=files/sentiment",
         *(f"--config.data.files.{s}={p}" for s, p in files.items()), f"--config.data.data_dir={cluster_dirs['data']}",
         "--config.data.batch_size=8", "--config.data.shards=2", "--config.data.seq_len=32", "--config.mesh.data=-1",
         "--config.train.steps=60", "--config.train.log_every=5", "--config.train.eval_every=30",
         "--config.train.eval_batches=0", "--config.train.checkpoint_every=60", "--config.optimizer.warmup_steps=3",
         "--config.optimizer.learning_rate=1e-2", "--config.eval.validation_examples=0", "--config.eval.batch_size=8",
         "--config.architecture=decoder", *TINY]
  one, two = str(tmp_path / "one"), str(tmp_path / "two")
  check(single(cmd, one, devices=4, cache=cluster_dirs["jax_cache"]), "1 process x 4 devices")
  check(srun(cmd, two, tasks=2, devices=2, cache=cluster_dirs["jax_cache"]), "srun -n 2 x 2 devices")
  # Equal to float precision until the model starts learning fast (lr 1e-2): there the differences in reduction
  # order between 1 and 2 processes (~1e-7) grow, to ~4e-3 relative by step 60 (measured).
  np.testing.assert_allclose(losses(two)[:6], losses(one)[:6], rtol=1e-5, atol=1e-5)  # steps 5 .. 30
  evals_one, evals_two = rows(one, "eval"), rows(two, "eval")
  assert [r["step"] for r in evals_two] == [30, 60]
  # Step 30: the whole uneven split on both, padded on process 1: the weighted loss and accuracy agree. The models
  # themselves differ by the grown reduction-order noise (5.7e-5 relative measured with GPT-2-style biases); a padded
  # row counted, or a real one dropped, would move the loss by about 1/41 (2%).
  np.testing.assert_allclose(evals_two[0]["loss"], evals_one[0]["loss"], rtol=2e-4)
  assert evals_two[0]["accuracy"] == evals_one[0]["accuracy"]
  assert evals_two[-1]["accuracy"] > 0.8 and evals_one[-1]["accuracy"] > 0.8  # it learned (chance 0.5; 0.98 measured)
  results = json.load(open(os.path.join(two, "results.json")))
  assert results["test"]["examples"] == 30 and results["test"]["accuracy"] > 0.8  # every test record scored once


def test_sft_then_ppo_with_the_heldout_judgement_on_two_processes(slurm, cluster_dirs, tmp_path):
  del slurm
  cache = cluster_dirs["jax_cache"]
  sft = str(tmp_path / "sft")
  check(srun(["experiments.finetune", "--config=configs/finetune/instruct.py:tiny",
              f"--config.data.data_dir={cluster_dirs['data']}", f"--config.data.world.scale={SCALE}",
              "--config.data.batch_size=8", "--config.data.seq_len=256", "--config.mesh.data=-1",
              "--config.train.steps=10", "--config.train.eval_every=10", "--config.train.eval_batches=2",
              "--config.train.checkpoint_every=10", "--config.eval.validation_examples=8",
              "--config.eval.test_examples=8", "--config.eval.batch_size=8", "--config.eval.max_new_tokens=8",
              *TINY], sft, tasks=2, devices=2, cache=cache), "SFT on 2 processes")
  assert "exact_match" in json.load(open(os.path.join(sft, "results.json")))["test"]  # greedy generation, scored
  validation_samples = [json.loads(line) for line in open(os.path.join(sft, "samples.jsonl"))]
  assert len(validation_samples) == 2 * 3  # validation at step 10 and test: 3 examples each, written once

  # Few-shot evaluation of it: choice likelihoods and greedy generation, items split over the processes.
  evaluate = ["experiments.evaluate", "--config=configs/eval/fewshot.py:heldout", f"--config.checkpoint={sft}",
              f"--config.data.data_dir={cluster_dirs['data']}", f"--config.data.world.scale={SCALE}",
              "--config.tasks.fewshot=sentiment,entity_type", "--config.tasks.max_items=12", "--config.harness.shots=0,2",
              "--config.harness.batch_size=8", "--config.harness.max_new_tokens=8", "--config.harness.max_len=256",
              "--config.harness.progress_bar=False"]
  two, one = srun(evaluate, str(tmp_path / "eval"), tasks=2, devices=2, cache=cache), \
      single(evaluate, str(tmp_path / "eval_one"), devices=4, cache=cache)
  check(two, "evaluation on 2 processes")
  check(one, "evaluation on 1 process")
  tables = [json.load(open(os.path.join(tmp_path, d, "results.json")))["tasks"] for d in ("eval", "eval_one")]
  assert tables[0] == tables[1]  # every likelihood and generation as on one process
  assert tables[0]["sentiment"]["0"]["items"] == 10  # the small world's 10 test items, each scored once
  assert len(open(os.path.join(tmp_path, "eval", "predictions.jsonl")).read().splitlines()) == len(
      open(os.path.join(tmp_path, "eval_one", "predictions.jsonl")).read().splitlines())  # every item once

  ppo, ppo_one = str(tmp_path / "ppo"), str(tmp_path / "ppo_one")
  ppo_cmd = ["experiments.rlhf", "--config=configs/rlhf/ppo.py:tiny", f"--config.policy_from={sft}",
             "--config.reward_from=gold", "--config.critic.start=policy", f"--config.data.data_dir={cluster_dirs['data']}",
             f"--config.data.world.scale={SCALE}", "--config.rollout.prompts=8", "--config.rollout.max_prompt_tokens=96",
             "--config.rollout.max_new_tokens=8", "--config.updates.epochs=1", "--config.updates.minibatches=2",
             "--config.train.iterations=2", "--config.train.eval_every=2", "--config.train.checkpoint_every=2",
             "--config.train.progress_bar=False", "--config.heldout.prompts=8", "--config.heldout.test_prompts=8", "--config.heldout.batch_size=8",
             "--config.mesh.data=-1"]
  check(srun(ppo_cmd, ppo, tasks=2, devices=2, cache=cache), "PPO on 2 processes")
  check(single(ppo_cmd, ppo_one, devices=4, cache=cache), "PPO on 1 process x 4 devices")
  train = rows(ppo, "train")
  assert [(r["step"], r["iteration"]) for r in train] == [(2, 1.0), (4, 2.0)]  # a row per iteration (2 updates)
  # Rollouts sampled and scored with rows split over the processes, each process updating on its rows of every
  # minibatch: the same iterations as one process with all 4 devices.
  for a, b in zip(rows(ppo_one, "train"), train):
    for key in ("loss", "kl", "gold_score", "response_length"):
      np.testing.assert_allclose(b[key], a[key], rtol=1e-4, atol=1e-6, err_msg=key)
  (judged,) = rows(ppo, "eval")
  (judged_one,) = rows(ppo_one, "eval")
  for key in ("gold_score", "sft_gold_score", "gold_win_rate", "kl"):
    np.testing.assert_allclose(judged[key], judged_one[key], rtol=1e-4, atol=1e-6, err_msg=key)
  for key in ("gold_score", "sft_gold_score", "gold_win_rate", "kl", "prompts"):
    assert np.isfinite(judged[key]), judged
  assert judged["prompts"] == 8.0 and 0.0 <= judged["gold_win_rate"] <= 1.0
  results = json.load(open(os.path.join(ppo, "results.json")))
  assert results["test"], results
  assert not [f for f in os.listdir(ppo) if f.endswith(".tmp")]
  assert len(writers.read(ppo)) == len(train) + 1  # one metrics writer

  # DPO from the same SFT run: pairs sharded by process, the held-out judgement (gold) sampled across processes.
  dpo, dpo_one = str(tmp_path / "dpo"), str(tmp_path / "dpo_one")
  dpo_cmd = ["experiments.rlhf", "--config=configs/rlhf/dpo.py:tiny", f"--config.policy_from={sft}",
             *(f"--config.{section}.{k}={v}" for section in ("data", "prompts")
               for k, v in (("data_dir", cluster_dirs["data"]), ("world.scale", SCALE))),
             "--config.data.batch_size=8", "--config.data.shards=2", "--config.optimizer.learning_rate=1e-3",
             "--config.train.steps=4",
             "--config.train.log_every=2", "--config.train.eval_every=4", "--config.train.eval_batches=2",
             "--config.train.checkpoint_every=4", "--config.train.progress_bar=False", "--config.rollout.max_new_tokens=8",
             "--config.heldout.prompts=8", "--config.heldout.test_prompts=8", "--config.heldout.batch_size=8", "--config.mesh.data=-1"]
  check(srun(dpo_cmd, dpo, tasks=2, devices=2, cache=cache), "DPO on 2 processes")
  check(single(dpo_cmd, dpo_one, devices=4, cache=cache), "DPO on 1 process x 4 devices")
  assert [r["step"] for r in rows(dpo, "train")] == [2, 4]
  np.testing.assert_allclose(losses(dpo), losses(dpo_one), rtol=1e-4)
  (judged,), (judged_one,) = rows(dpo, "eval"), rows(dpo_one, "eval")
  for key in ("loss", "gold_score", "gold_win_rate", "kl"):
    np.testing.assert_allclose(judged[key], judged_one[key], rtol=1e-4, atol=1e-6, err_msg=key)
