"""The fastest a step could run if only its matmuls cost time: each one timed alone, on its own shape.

`dots(fn, *args)` lists the `dot_general`s a function executes (forward and backward: read from its jaxpr, scans
counted once per iteration); `timed(dots)` times each distinct one alone on this device and sums them. Model FLOPs
divided by that sum, against the measured peak, is an MFU ceiling: nothing else in the step (softmax, norms,
activations, the optimizer, gaps between operations) costs anything, and every matmul runs as fast as it does on its
own with warm caches. Used by `benchmarks/train_throughput.py`.

`sequence_seconds(dots)` is the colder floor: every execution of every dot with its own operands (so weights are read
from memory as in the real program, not from a cache warmed by the same matmul), all in one compiled loop. Used by
`benchmarks/peer.py` for a decode step, whose matmuls read every weight once.
"""

from __future__ import annotations

import collections
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import timing


@dataclasses.dataclass(frozen=True)
class Dot:
  lhs: jax.ShapeDtypeStruct
  rhs: jax.ShapeDtypeStruct
  dimension_numbers: tuple
  preferred_element_type: object

  @property
  def flops(self) -> int:
    (lhs_contract, _), _ = self.dimension_numbers
    out = jax.eval_shape(self.apply, self.lhs, self.rhs)
    return 2 * int(np.prod(out.shape)) * int(np.prod([self.lhs.shape[d] for d in lhs_contract]))

  def apply(self, a, b):
    return jax.lax.dot_general(a, b, self.dimension_numbers, preferred_element_type=self.preferred_element_type)


def _walk(jaxpr, times: int, found: collections.Counter) -> None:
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "dot_general":
      lhs, rhs = (jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in eqn.invars)
      found[Dot(lhs, rhs, eqn.params["dimension_numbers"], eqn.params.get("preferred_element_type"))] += times
    repeat = times * eqn.params.get("length", 1) if eqn.primitive.name == "scan" else times
    for value in eqn.params.values():
      for sub in value if isinstance(value, (tuple, list)) else (value,):
        inner = getattr(sub, "jaxpr", sub)
        if hasattr(inner, "eqns"):
          _walk(inner, repeat, found)


def dots(fn, *args) -> collections.Counter:
  """Each distinct dot_general `fn(*args)` executes -> how many times one call executes it."""
  found = collections.Counter()
  _walk(jax.make_jaxpr(fn)(*args).jaxpr, 1, found)
  return found


def _pass_seconds(occurrences: list[Dot], repeats: int, loop: int) -> float:
  """Seconds for one pass over `occurrences`, each dot with its own random operands, in one compiled loop: the
  difference between `loop` + 1 passes and 1, over `loop` (no dispatch, buffers reused as inside a step). Each dot
  depends on the last through one element of its left operand, so none is hoisted out of the loop or skipped."""
  keys = jax.random.split(jax.random.key(0), 2 * len(occurrences))
  lhs = [jax.random.normal(keys[2 * i], d.lhs.shape, d.lhs.dtype) for i, d in enumerate(occurrences)]
  rhs = [jax.random.normal(keys[2 * i + 1], d.rhs.shape, d.rhs.dtype) for i, d in enumerate(occurrences)]

  def passes(n):
    def run(lefts, rights):
      def body(_, carry):
        lefts, s = carry
        new_lefts = []
        for dot, a, b in zip(occurrences, lefts, rights):
          a = a.at[(0,) * a.ndim].add(s.astype(a.dtype))
          # The barrier keeps XLA from computing only the one element read (a slice of a dot is a smaller dot).
          s = jax.lax.optimization_barrier(dot.apply(a, b)).reshape(-1)[0].astype(s.dtype) * 0
          new_lefts.append(a)
        return new_lefts, s

      return jax.lax.fori_loop(0, n, body, (lefts, jnp.zeros((), jnp.float32)))[1]

    compiled = jax.jit(run)
    return lambda: compiled(lhs, rhs)

  many, one = (timing.median_seconds(passes(n), repeats) for n in (loop + 1, 1))
  return max((many - one) / loop, 1e-9)


def timed(found: collections.Counter, repeats: int = 7, loop: int = 6) -> list[tuple[Dot, int, float]]:
  """(dot, executions per call, seconds of one execution alone, warm caches), slowest in total first."""
  rows = [(dot, count, _pass_seconds([dot], repeats, loop)) for dot, count in found.items()]
  return sorted(rows, key=lambda row: -row[1] * row[2])


def sequence_seconds(found: collections.Counter, repeats: int = 5, loop: int = 8) -> float:
  """Seconds for one pass of every dot execution in `found`, each with its own operands."""
  return _pass_seconds([dot for dot, count in found.items() for _ in range(count)], repeats, loop)


def describe(dot: Dot) -> str:
  (lhs_contract, rhs_contract), _ = dot.dimension_numbers
  return f"{list(dot.lhs.shape)} x {list(dot.rhs.shape)} contracting {list(lhs_contract)}/{list(rhs_contract)}"
