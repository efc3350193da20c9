"""`train.profile_steps` of an RL run counts iterations: each is a rollout and its updates."""

import pytest

from lm import settings
from lm.rl import train as rl_train


def test_profiled_iterations_cover_their_rollouts_and_updates():
  assert rl_train._iteration_updates("2,3", per=4) == "5,12"  # the rollout is sampled before update 5
  assert rl_train._iteration_updates("1,1", per=8) == "1,8"
  assert rl_train._iteration_updates("", per=8) == ""


def test_bad_profile_iterations_are_a_config_error():
  with pytest.raises(settings.ConfigError, match="train.profile_steps='3': expected 'first,last'"):
    settings.section(rl_train.TrainConfig, {"profile_steps": "3"}, "train")
