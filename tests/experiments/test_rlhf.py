"""RLHF end to end on tiny models: the reward model learns the preference, PPO and GRPO raise its score on a leash."""

import json
import os

import numpy as np
import pytest

from lm import settings
from lm.rl import train as rl_train
from lm.training import checkpoint, finetune, writers
from tests.conftest import REPO, TASK_WORLD, run_module, tiny_task_config


@pytest.fixture(scope="module")
def sft_run(task_data_dir, world_causal_run, tmp_path_factory):
  """Instruction tuning of the world-pretrained tiny decoder (short: a policy to start from, not a good one)."""
  c = tiny_task_config("instruct", task_data_dir, steps=60, eval_every=60, checkpoint_every=60)
  c.init_from, c.data.seq_len, c.eval.validation_examples, c.eval.test_examples = world_causal_run, 256, 16, 16
  workdir = str(tmp_path_factory.mktemp("sft"))
  finetune.run(c, workdir)
  return workdir


@pytest.fixture(scope="module")
def reward_run(task_data_dir, sft_run, tmp_path_factory):
  c = tiny_task_config("rlhf/reward", task_data_dir, steps=150, eval_every=150, checkpoint_every=150)
  c.init_from, c.optimizer.learning_rate = sft_run, 1e-3
  c.eval.validation_examples, c.eval.test_examples = 200, 200
  workdir = str(tmp_path_factory.mktemp("rm"))
  result = finetune.run(c, workdir)
  return workdir, result


def test_the_reward_model_learns_the_preference(reward_run):
  workdir, result = reward_run
  test = result.test
  # Chance is 50%; labels agree with the hidden gold preference label_ceiling of the time (noise 10%).
  assert test["rm_accuracy"] > 0.6 and test["gold_agreement"] > 0.6, test
  assert 0.8 < test["label_ceiling"] < 1.0 and test["examples"] == 200
  assert json.load(open(os.path.join(workdir, finetune.RESULTS_FILE)))["headline"] == "rm_accuracy"


def rl_config(name: str, task_data_dir: str, sft: str, reward: str, **overrides):
  c = settings.load_config(os.path.join(REPO, f"configs/rlhf/{name}"))
  c.policy_from, c.reward_from = sft, reward
  c.data.data_dir, c.data.world.scale = task_data_dir, TASK_WORLD
  c.rollout.update(prompts=16 if c.algorithm == "ppo" else 4, max_prompt_tokens=96, max_new_tokens=16)
  c.updates.update(epochs=2, minibatches=2)
  c.optimizer.learning_rate = 1e-3
  c.train.update(iterations=8, eval_every=8, checkpoint_every=4, progress_bar=False)
  c.heldout.update(prompts=16, batch_size=16)
  c.mesh.data = 1
  for key, value in overrides.items():
    section, field = key.split(".")
    c[section][field] = value
  return c


def _train_rows(workdir):
  return [r for r in writers.read(workdir) if r["split"] == "train"]


def test_ppo_raises_the_reward_while_the_kl_stays_bounded(task_data_dir, sft_run, reward_run, tmp_path):
  c = rl_config("ppo.py:tiny", task_data_dir, sft_run, reward_run[0], **{"kl.limit": 40.0})
  result = rl_train.run(c, str(tmp_path))
  rows = _train_rows(str(tmp_path))
  scores = [r["rm_score"] for r in rows]
  print("ppo rm scores", scores, "kl", [r["kl"] for r in rows])
  assert np.mean(scores[-2:]) > scores[0] + 0.3, scores
  assert max(r["kl"] for r in rows) < 40.0
  assert result.test["prompts"] == 16 and 0.0 <= result.test["gold_win_rate"] <= 1.0
  assert os.path.isfile(tmp_path / rl_train.PLOT_FILE) and os.path.isfile(tmp_path / rl_train.RESULTS_FILE)
