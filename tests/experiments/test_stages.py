"""The one-command pipeline: stages chained in their own directories, finished ones skipped, a summary table."""

import os

import numpy as np
import pytest

from lm import settings
from lm.training import stages, writers
from tests.conftest import REPO, TASK_WORLD

MODEL = dict(num_layers=2, d_model=64, num_heads=4, d_ff=128, max_len=256)


def _tiny_pipeline(data_dir: str):
  c = settings.load_config(os.path.join(REPO, "configs/pipeline/tiny.py"))
  c.stages = "pretrain,sft,pairs,reward,ppo,bon"
  for name in ("pretrain", "sft", "reward"):
    s = c[name]
    s.model.update(MODEL)
    s.data.update(data_dir=data_dir, batch_size=8)
    s.data.world.scale = TASK_WORLD
    s.tokenizer.update(vocab_size=1024, num_sentinels=8)
    s.train.update(steps=6, log_every=3, eval_every=6, eval_batches=2, checkpoint_every=6, progress_bar=False)
    s.mesh.data = 1
  c.pretrain.data.seq_len = 256
  for name in ("sft", "reward"):
    c[name].eval.update(validation_examples=8, test_examples=8, batch_size=8)
  c.sft.train.select_metric = "exact_match"  # one evaluation: selects the last step, through best/
  for p in (c.ppo, c.bon, c.pairs):
    p.data.data_dir, p.data.world.scale = data_dir, TASK_WORLD
    p.rollout.update(prompts=8, max_prompt_tokens=96, max_new_tokens=8)
    p.updates.update(epochs=1, minibatches=2)
    p.train.update(iterations=2, eval_every=2, checkpoint_every=2, progress_bar=False)
    p.heldout.update(prompts=8, test_prompts=8, batch_size=8)
    p.mesh.data = 1
  c.bon.bon.update(prompts=8, n=2, ns="1,2", pass_k="1,2")
  c.pairs.pairs.update(prompts=16, eval_prompts=8, samples=3, world_pairs=16)
  return c


def test_the_pipeline_chains_every_stage_and_skips_finished_ones(task_data_dir, tmp_path, capsys):
  config = _tiny_pipeline(task_data_dir)
  config.expected_minutes = {"pretrain": 1.5, "sft": 2}
  summary = stages.run(config, str(tmp_path))
  assert list(summary) == ["pretrain", "sft", "pairs", "reward", "ppo", "bon"]
  out = capsys.readouterr().out  # the plan first, then one line per stage as it finishes
  assert out.index("| pretrain | - | 6 steps | 1.5 | to run |") < out.index("Stage pretrain done in")
  assert "| ppo | sft, reward | 2 iterations | ? | to run |" in out and "| bon | sft, reward | sampling" in out
  assert "Expected: about 4 min for the stages with an estimate, 4 without." in out
  assert "Stage sft done in" in out and "exact_match=" in out.split("Stage sft done in")[1].splitlines()[0]
  assert "perplexity" in summary["pretrain"] and "rm_accuracy" in summary["reward"]
  assert {"gold_win_rate", "kl"} <= set(summary["ppo"])
  assert summary["sft"]["selected_step"] == 6 and (tmp_path / "sft" / "best" / "6").is_dir()
  # headline.json: the RLHF figures of the stages that ran, each with its standard error.
  headline = settings.load_json(str(tmp_path / stages.HEADLINE_FILE))
  assert {"rm_gold_agreement", "ppo_gold_win_rate", "ppo_kl", "bon_1_rm_gold_win_rate", "bon_2_gold_gold_win_rate",
          } <= set(headline), headline
  assert "grpo_gold_win_rate" not in headline  # not run
  for figure in headline.values():
    assert set(figure) == {"value", "stderr"} and np.isfinite(figure["value"]) and figure["stderr"] >= 0, figure
  # Each stage started from the one before it; the reward model trained on the SFT policy's pairs (and 16 world
  # pairs), judged by gold.
  reward = settings.load_run_config(str(tmp_path / "reward"))
  assert reward["data"]["dataset"] == "files/preferences" and reward["task_options"]["gold_judge"]
  assert reward["data"]["files"]["train"] == str(tmp_path / "pairs" / "train.jsonl")
  assert summary["pairs"]["world_pairs"] == 16 and summary["pairs"]["policy_pairs"] > 0
  assert 0.0 <= summary["pairs"]["test_label_ceiling"] <= 1.0
  assert "gold_agreement" in summary["reward"]
  assert settings.load_run_config(str(tmp_path / "sft"))["init_from"] == str(tmp_path / "pretrain")
  ppo = settings.load_run_config(str(tmp_path / "ppo"))
  assert (ppo["policy_from"], ppo["reward_from"]) == (str(tmp_path / "sft"), str(tmp_path / "reward"))
  table = (tmp_path / stages.TABLE_FILE).read_text()
  assert all(f"| {name} |" in table for name in summary) and "gold_win_rate=" in table
  # Re-running trains nothing more: every stage is skipped, the summary is the same.
  rows = len(writers.read(str(tmp_path / "ppo")))
  assert stages.run(config, str(tmp_path)) == summary
  assert len(writers.read(str(tmp_path / "ppo"))) == rows
  out = capsys.readouterr().out
  assert "| ppo | sft, reward | 2 iterations | ? | finished: skipped |" in out and "done in" not in out
  # A finished stage is not reused for changed settings (the stages before it pass the same check unchanged).
  config.ppo.train.iterations = 3
  with pytest.raises(settings.ConfigError, match=r"ppo/config.json: stage ppo finished with other settings: "
                                                 r"train.iterations: 2 then, 3 now"):
    stages.run(config, str(tmp_path))
  assert len(writers.read(str(tmp_path / "ppo"))) == rows
  assert settings.load_run_config(str(tmp_path))["ppo"]["train"]["iterations"] == 2  # the pipeline's record too


def test_a_stage_needs_what_it_starts_from(task_data_dir, tmp_path):
  config = _tiny_pipeline(task_data_dir)
  config.stages = "reward"
  with pytest.raises(settings.ConfigError, match=r"Stage reward starts from \['sft'\]"):
    stages.run(config, str(tmp_path))
  config.stages = "pretrain,rlhf"
  with pytest.raises(settings.ConfigError, match="unknown"):
    stages.run(config, str(tmp_path))
  assert not os.listdir(tmp_path)


def test_a_preempted_stage_ends_the_pipeline_with_exit_code_143(task_data_dir, tmp_path, monkeypatch):
  from experiments import cli  # pylint: disable=g-import-not-at-top
  from lm.training import loop, pretrain  # pylint: disable=g-import-not-at-top

  preempted = loop.Result(state=None, step=3, preempted=True, last_train={}, last_eval={})
  monkeypatch.setattr(pretrain, "run", lambda config, workdir: preempted)
  config = _tiny_pipeline(task_data_dir)
  with pytest.raises(loop.Preempted, match="Stage pretrain was preempted at step 3"):
    stages.run(config, str(tmp_path))
  assert not (tmp_path / "pretrain" / stages.DONE_FILE).exists()
  with pytest.raises(SystemExit) as exit_info, cli.reported():
    stages.run(config, str(tmp_path))
  assert exit_info.value.code == 143
