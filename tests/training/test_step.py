"""The shared train step: meshes agree with one device, non-finite updates are skipped, accumulation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lm.models.config import ModelConfig
from lm.models.transformer import Decoder
from lm.objectives import causal
from lm.training import optimizers, sharding, state as state_lib, step as step_lib

B, T = 8, 16
MODEL = Decoder(ModelConfig(vocab_size=64, num_layers=2, d_model=32, num_heads=4, d_ff=64, max_len=32))
OPT, SCHEDULE = optimizers.make_optimizer(optimizers.OptimizerConfig(learning_rate=1e-2, warmup_steps=2), 10)


def init_params(rng):
  return MODEL.init(rng, jnp.ones((1, T), jnp.int32))["params"]


def batches(n, seed=0):
  rng = np.random.default_rng(seed)
  for _ in range(n):
    x = np.sort(rng.integers(0, 32, (B, T + 1)), axis=1).astype(np.int32)  # sorted: learnable
    yield {"inputs": x[:, :-1], "targets": x[:, 1:], "weights": np.ones((B, T), np.float32),
           "segment_ids": np.ones((B, T), np.int32), "positions": np.tile(np.arange(T, dtype=np.int32), (B, 1))}


def run(mesh_config, steps=4, accum_steps=1, data=None, devices=None):
  mesh = sharding.make_mesh(mesh_config, devices)
  state, shardings = state_lib.create(init_params, OPT, mesh, jax.random.key(0))
  train_step = step_lib.make_train_step(causal.make_loss(MODEL), OPT, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0,
                                        accum_steps=accum_steps, schedule=SCHEDULE)
  losses = []
  for batch in data or batches(steps):
    state, metrics = train_step(state, batch)
    losses.append(float(metrics["loss"]))
  return state, losses


@pytest.fixture(scope="module")
def one_device():
  return run(sharding.MeshConfig(data=1), devices=jax.devices()[:1])


@pytest.mark.parametrize("mesh_config", [sharding.MeshConfig(data=4), sharding.MeshConfig(data=2, fsdp=2),
                                         sharding.MeshConfig(data=2, tensor=2)],
                         ids=["data4", "data2_fsdp2", "data2_tensor2"])
def test_meshes_match_one_device(one_device, mesh_config):
  assert len(jax.devices()) >= 4, "tests/conftest.py forces 4 CPU devices"
  reference_state, reference_losses = one_device
  state, losses = run(mesh_config)
  np.testing.assert_allclose(losses, reference_losses, rtol=2e-5)
  assert reference_losses[-1] < reference_losses[0]
  jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-5),
               state.params, reference_state.params)
  kernel = state.params["stack"]["layer_0"]["mlp"]["up"]["kernel"]
  if mesh_config.fsdp > 1:  # parameters really split: each device holds half of the embed axis
    assert kernel.sharding.spec[0] == "fsdp"
    assert kernel.addressable_shards[0].data.shape == (16, 64)
    mu = state.opt_state[1][0].mu["stack"]["layer_0"]["mlp"]["up"]["kernel"]
    assert mu.addressable_shards[0].data.shape == (16, 64), "optimizer state is sharded like the parameters"
  elif mesh_config.tensor > 1:  # the MLP's hidden axis is split across the tensor axis
    assert kernel.addressable_shards[0].data.shape == (32, 32)
  else:
    assert kernel.addressable_shards[0].data.shape == (32, 64)


def uneven_batches(n, seed=0):
  """Batches whose rows carry very different numbers of weighted tokens (padding, response-only loss)."""
  rng = np.random.default_rng(seed + 1)
  for batch in batches(n, seed):
    lengths = rng.integers(1, T + 1, B)
    lengths[: B // 2] = 1 + lengths[: B // 2] // 4  # some microbatches end up nearly all padding
    weights = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float32)
    yield dict(batch, weights=weights)


@pytest.mark.parametrize("accum_steps", [2, 4])
def test_gradient_accumulation_matches_the_full_batch(accum_steps):
  data = list(uneven_batches(4))
  one = jax.devices()[:1]
  reference_state, reference_losses = run(sharding.MeshConfig(data=1), data=data, devices=one)
  state, losses = run(sharding.MeshConfig(data=1), accum_steps=accum_steps, data=data, devices=one)
  # Microbatches weighted by their tokens: the accumulated gradient is the full batch's, whatever the padding.
  np.testing.assert_allclose(losses, reference_losses, rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5),
               state.params, reference_state.params)


def test_non_finite_batch_is_skipped_and_counted():
  data = list(batches(3))
  data[1] = dict(data[1], weights=data[1]["weights"].copy())
  data[1]["weights"][0, 3] = np.nan
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  state, shardings = state_lib.create(init_params, OPT, mesh, jax.random.key(0))
  train_step = step_lib.make_train_step(causal.make_loss(MODEL), OPT, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0)
  state, _ = train_step(state, data[0])
  before = jax.tree.map(np.asarray, (state.params, state.opt_state))
  state, metrics = train_step(state, data[1])
  assert float(metrics["skipped"]) == 1 and int(state.skipped) == 1 and int(state.skipped_in_a_row) == 1
  assert int(state.step) == 2, "the step counter moves on (the bad batch is consumed)"
  jax.tree.map(np.testing.assert_array_equal, before, jax.tree.map(np.asarray, (state.params, state.opt_state)))
  state, metrics = train_step(state, data[2])
  assert float(metrics["skipped"]) == 0 and int(state.skipped) == 1 and int(state.skipped_in_a_row) == 0
  assert np.isfinite(float(metrics["loss"]))


def test_gradient_accumulation_keeps_bfloat16_parameters():
  """Microbatch gradients are summed in float32 and cast back: a bfloat16 model accumulates as a float32 one does."""
  model = Decoder(ModelConfig(vocab_size=64, num_layers=1, d_model=32, num_heads=4, d_ff=64, max_len=32,
                              param_dtype="bfloat16"))
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  init = lambda rng: model.init(rng, jnp.ones((1, T), jnp.int32))["params"]
  state, shardings = state_lib.create(init, OPT, mesh, jax.random.key(0))
  train_step = step_lib.make_train_step(causal.make_loss(model), OPT, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0, accum_steps=2)
  state, metrics = train_step(state, next(uneven_batches(1)))
  assert {p.dtype for p in jax.tree.leaves(state.params)} == {jnp.dtype("bfloat16")}
  assert float(metrics["skipped"]) == 0 and np.isfinite(float(metrics["loss"]))


def test_activations_are_sharded_on_a_data_x_tensor_mesh():
  """The blocks' `with_logical_constraint` reaches the compiled step (it was a no-op without active rules)."""
  mesh = sharding.make_mesh(sharding.MeshConfig(data=2, tensor=2))
  state, shardings = state_lib.create(init_params, OPT, mesh, jax.random.key(0))
  train_step = step_lib.make_train_step(causal.make_loss(MODEL), OPT, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0)
  text = train_step.lower(state, next(batches(1))).as_text()
  constraints = [line for line in text.splitlines() if "sdy.sharding_constraint" in line]
  # One residual-stream constraint per block (2 layers), in the forward pass and its transpose in the backward.
  assert len(constraints) >= MODEL.config.num_layers, text[:2000]
  assert all('[{"data", "fsdp"}, {}, {}]' in line for line in constraints), constraints
  # And in the compiled program each device holds its half of the batch of the residual stream.
  compiled = train_step.lower(state, next(batches(1))).compile().as_text()
  assert f"f32[{B // 2},{T},{MODEL.config.d_model}]" in compiled
