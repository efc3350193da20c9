"""RL config checks that need no model: sampling settings the policy-gradient loss could not account for."""

import os

import pytest

from lm import settings
from lm.rl import train as rl_train
from tests.conftest import REPO


@pytest.mark.parametrize("key,value", [("temperature", 0.7), ("top_k", 50), ("top_p", 0.9)])
@pytest.mark.parametrize("algorithm_config", ["ppo.py:tiny", "grpo.py:tiny"])
def test_tempered_or_truncated_rollouts_are_refused(algorithm_config, key, value):
  c = settings.load_config(os.path.join(REPO, "configs/rlhf", algorithm_config))
  rl_train._sections(c)  # the defaults pass
  setattr(c.rollout, key, value)
  with pytest.raises(settings.ConfigError, match=f"rollout.{key}={value}.*heldout.temperature"):
    rl_train._sections(c)
