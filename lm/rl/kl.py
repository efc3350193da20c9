"""The KL coefficient: fixed, or adapted towards a target KL (Ziegler et al., 2019), with a hard limit.

The policy pays `coef * KL(policy || reference)` per token. The adaptive controller raises the
coefficient when the measured KL is above `target` and lowers it when below, by at most 20% of
`rows / horizon` per update. Past `limit` the run stops: a KL that has run away means the policy
has left the region where the reward model can be trusted.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class KLConfig:
  coef: float = 0.05         # initial (or fixed) coefficient; GRPO: the weight of the KL term in the loss
  adaptive: bool = False     # adapt coef towards `target`
  target: float = 6.0        # nats per response the adaptive controller aims at
  horizon: int = 10_000      # responses over which the adaptive controller closes the gap
  limit: float = 0.0         # stop the run when a rollout's mean KL exceeds this (nats per response; 0 = never)
  estimator: str = "k1"      # per-token estimator: k1 (log ratio), k2 (half its square), k3 ((r - 1) - log r)
  in_loss: bool = False      # GRPO: the KL is a loss term weighted by `coef` (not adapted), not a reward penalty


class KLLimitError(RuntimeError):
  """The KL to the reference passed `kl.limit`."""


def update(coef: float, measured: float, rows: int, config: KLConfig) -> float:
  """The coefficient after a rollout of `rows` responses whose mean KL was `measured`."""
  if not config.adaptive:
    return coef
  error = float(np.clip(measured / config.target - 1.0, -0.2, 0.2))
  return coef * (1.0 + error * rows / config.horizon)


def check_limit(measured: float, config: KLConfig, iteration: int, step: int) -> None:
  if config.limit and (not np.isfinite(measured) or measured > config.limit):
    raise KLLimitError(
        f"Iteration {iteration} (step {step}): the mean KL to the reference is {measured:.3g} nats per response, past "
        f"kl.limit={config.limit:g}. The policy has drifted where the reward model is not to be trusted: raise kl.coef "
        "(or set kl.adaptive=True with a lower kl.target), lower the learning rate, or resume from an earlier "
        "checkpoint; checkpoints saved so far are intact.")
