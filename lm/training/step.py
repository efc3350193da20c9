"""The one jitted update every stage uses, and its evaluation twin.

`make_train_step(loss_fn, optimizer, ...)` returns `step(state, batch) -> (state, metrics)`:
- compiled over the mesh: the state keeps its sharding, batches are split on `data` x `fsdp`,
  the old state is donated (updated in place);
- RNG for dropout, masking or sampling is `fold_in(key(seed), step)`: resumable, reproducible;
- gradient accumulation: the batch is cut into `accum_steps` microbatches, scanned, and their
  gradients are averaged weighted by each one's `weight` metric (the denominator of the loss's mean:
  target tokens, response tokens, labelled examples, pairs), so that the accumulated gradient is
  the full batch's even when padding or response-only weights differ between microbatches; a loss
  without a `weight` metric (BERT's MLM + NSP, two denominators) weighs its microbatches equally;
- a non-finite loss or gradient skips the update (parameters and optimiser state unchanged) and
  is counted in the state, so the loop can stop after too many in a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from lm.training import sharding
from lm.training.state import TrainState

Metrics = dict[str, jax.Array]


def _all_finite(tree) -> jax.Array:
  return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _microbatches(batch: dict, n: int) -> dict:
  def split(x):
    if x.shape[0] % n:
      raise ValueError(f"Batch of {x.shape[0]} rows cannot be split into {n} accumulation steps.")
    # Microbatch i takes rows i, i + n, ...: every device keeps holding its share of each one.
    return x.reshape(x.shape[0] // n, n, *x.shape[1:]).swapaxes(0, 1)

  return jax.tree.map(split, batch)


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation, *, state_shardings: Any,
                    batch_sharding: Any, seed: int, accum_steps: int = 1,
                    schedule: optax.Schedule | None = None) -> Callable[[TrainState, dict], tuple[TrainState, Metrics]]:
  """`loss_fn(params, batch, rng) -> (loss, metrics)` becomes a jitted, sharded update step."""
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

  def step(state: TrainState, batch: dict) -> tuple[TrainState, Metrics]:
    with sharding.activation_rules(batch_sharding.mesh):
      return traced(state, batch)

  def traced(state: TrainState, batch: dict) -> tuple[TrainState, Metrics]:
    rng = jax.random.fold_in(jax.random.key(seed), state.step)
    if accum_steps == 1:
      (_, metrics), grads = grad_fn(state.params, batch, rng)
    else:
      def accumulate(carry, indexed):
        grads_sum, weight_sum = carry
        i, micro = indexed
        (_, m), g = grad_fn(state.params, micro, jax.random.fold_in(rng, i))
        w = m.get("weight", jnp.ones((), jnp.float32)).astype(jnp.float32)
        return (jax.tree.map(lambda s, x: s + w * x.astype(jnp.float32), grads_sum, g), weight_sum + w), m

      zeros = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), state.params)  # sums in float32, any dtype
      (grads, total), metrics = jax.lax.scan(accumulate, (zeros, jnp.zeros((), jnp.float32)),
                                             (jnp.arange(accum_steps), _microbatches(batch, accum_steps)))
      # sum_i w_i * mean_i / sum_i w_i: the full batch's mean. An all-padding batch (total 0) gives zeros.
      grads = jax.tree.map(lambda g, p: (g / jnp.maximum(total, 1e-8)).astype(p.dtype), grads, state.params)
      weighted = "weight" in metrics
      weights = metrics.pop("weight", jnp.ones((accum_steps,), jnp.float32)).astype(jnp.float32)
      share = weights / jnp.maximum(jnp.sum(weights), 1e-8)
      metrics = {k: jnp.sum(v) if k.endswith("_count") else jnp.sum(v * share) for k, v in metrics.items()}
      if weighted:
        metrics["weight"] = jnp.sum(weights)

    finite = _all_finite(grads) & jnp.isfinite(metrics["loss"])

    def update(operands):
      params, opt_state, grads = operands
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state

    # A cond rather than a select: the skipped branch costs nothing and the taken one no extra pass.
    params, opt_state = jax.lax.cond(finite, update, lambda operands: operands[:2],
                                     (state.params, state.opt_state, grads))
    skipped = jnp.where(finite, 0, 1).astype(jnp.int32)
    new_state = TrainState(step=state.step + 1, params=params, opt_state=opt_state, skipped=state.skipped + skipped,
                           skipped_in_a_row=jnp.where(finite, 0, state.skipped_in_a_row + 1))
    metrics = dict(metrics, grad_norm=optax.tree.norm(grads), skipped=skipped.astype(jnp.float32),
                   skipped_in_a_row=new_state.skipped_in_a_row)
    if schedule is not None:
      metrics["learning_rate"] = schedule(state.step)
    return new_state, metrics

  return jax.jit(step, in_shardings=(state_shardings, batch_sharding), out_shardings=(state_shardings, None),
                 donate_argnums=0)


def make_eval_step(loss_fn: Callable, *, params_shardings: Any, batch_sharding: Any, seed: int) -> Callable:
  """`eval_step(params, batch) -> metrics` with a fixed RNG (evaluation must not vary run to run)."""

  def step(params, batch):
    with sharding.activation_rules(batch_sharding.mesh):
      _, metrics = loss_fn(params, batch, jax.random.key(seed))
    return metrics

  return jax.jit(step, in_shardings=(params_shardings, batch_sharding))
