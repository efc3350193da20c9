"""The causal pretraining train step of a model config on a mesh, as the benchmarks build it.

The same `lm.training.step.make_train_step` every stage uses, with the causal loss and the config's optimizer; the
state's shardings come from the model's logical axes, the batch is split on `data` x `fsdp`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lm.models.config import ModelConfig
from lm.models.transformer import Decoder
from lm.objectives import causal
from lm.training import sharding, state as state_lib, step as step_lib


@dataclasses.dataclass
class CausalStep:
  model: Decoder
  step: Callable                 # jitted (state, batch) -> (state, metrics)
  init: Callable[[jax.Array], Any]
  optimizer: optax.GradientTransformation
  abstract_state: Any            # ShapeDtypeStructs with shardings: for ahead-of-time lowering
  abstract_batch: dict
  mesh: jax.sharding.Mesh

  def lower(self):
    return self.step.lower(self.abstract_state, self.abstract_batch)

  def create_state(self, seed: int = 0):
    state, _ = state_lib.create(self.init, self.optimizer, self.mesh, jax.random.key(seed))
    return state

  def random_batch(self, seed: int = 0) -> dict:
    b, t = self.abstract_batch["inputs"].shape
    tokens = np.random.default_rng(seed).integers(0, self.model.config.vocab_size, (b, t + 1)).astype(np.int32)
    batch = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "weights": np.ones((b, t), np.float32),
             "segment_ids": np.ones((b, t), np.int32), "positions": np.tile(np.arange(t, dtype=np.int32), (b, 1))}
    return jax.device_put(batch, sharding.batch_sharding(self.mesh))


def build(model_cfg: ModelConfig, optimizer: optax.GradientTransformation, mesh: jax.sharding.Mesh, batch: int,
          seq_len: int, schedule: optax.Schedule | None = None) -> CausalStep:
  model = Decoder(model_cfg)
  init = lambda rng: model.init(rng, jnp.ones((1, seq_len), jnp.int32))["params"]
  abstract, shardings = state_lib.abstract_state(init, optimizer, mesh, jax.random.key(0))
  batch_sharding = sharding.batch_sharding(mesh)
  step = step_lib.make_train_step(causal.make_loss(model), optimizer, state_shardings=shardings,
                                  batch_sharding=batch_sharding, seed=0, schedule=schedule)
  shapes = {"inputs": jnp.int32, "targets": jnp.int32, "weights": jnp.float32, "segment_ids": jnp.int32,
            "positions": jnp.int32}
  abstract_batch = {k: jax.ShapeDtypeStruct((batch, seq_len), d, sharding=batch_sharding) for k, d in shapes.items()}
  return CausalStep(model, step, init, optimizer, abstract, abstract_batch, mesh)
