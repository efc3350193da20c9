"""The transformer's configuration: one frozen dataclass for the decoder, encoder and encoder-decoder.

Presets (`PRESETS`, chosen with a config argument such as `clm.py:tiny`):

| preset | layers | width | heads (kv) | mlp  | params (vocab 4096) | use                           |
|--------|--------|-------|------------|------|---------------------|-------------------------------|
| tiny   | 4      | 128   | 4 (4)      | 512  | ~1.3M               | minutes on 2 CPU cores, tests |
| small  | 8      | 512   | 8 (8)      | 2048 | ~28M                | a real run on one accelerator |
| base   | 12     | 768   | 12 (12)    | 3072 | ~89M (124M at GPT-2's 50k vocab) | GPT-2 small shape |
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  vocab_size: int = 4096
  num_layers: int = 4
  d_model: int = 128                       # D: residual stream width
  num_heads: int = 4                       # N: query heads
  num_kv_heads: int | None = None          # K: key/value heads (grouped-query attention); None = num_heads
  head_dim: int | None = None              # H: per-head width; None = d_model // num_heads
  d_ff: int = 512                          # F: MLP hidden width
  # MLP nonlinearity: "gelu" (tanh approximation; GPT-2's gelu_new), "gelu_exact" (erf; BERT), "relu" (T5 v1.0),
  # or gated: "swiglu" (silu(gate) * up; Llama) and "geglu" (tanh-gelu(gate) * up; T5 v1.1).
  activation: Literal["gelu", "gelu_exact", "relu", "swiglu", "geglu"] = "gelu"
  norm: Literal["layernorm", "rmsnorm"] = "layernorm"
  # "pre": x + f(norm(x)) and a final norm (GPT-2, Llama, T5); "post": norm(x + f(x)) with a norm after the
  # embeddings and none at the end (BERT).
  norm_position: Literal["pre", "post"] = "pre"
  # Biases on the dense projections: none (Llama, T5), on query/key/value only (Qwen2), on every attention
  # and MLP projection (GPT-2, BERT). LayerNorm always has its bias, RMSNorm none.
  projection_bias: Literal["none", "qkv", "all"] = "none"
  # "learned": a position table; "rotary": RoPE on queries and keys; "relative": T5's bucketed relative
  # position bias, one table per stack shared by its layers.
  positions: Literal["learned", "rotary", "relative"] = "learned"
  max_len: int = 1024                      # longest sequence (learned position table size, KV cache bound)
  rope_base: float = 10_000.0
  relative_buckets: int = 32               # T5 relative attention: buckets (half per direction in an encoder)
  relative_max_distance: int = 128         # T5 relative attention: distances past this share the last bucket
  scale_attention: bool = True             # divide q.k by sqrt(head width); T5 folds that into its init instead
  scale_tied_logits: bool = False          # T5 v1.0: hidden * d_model**-0.5 before the tied output projection
  attention: Literal["auto", "xla", "cudnn", "einsum"] = "auto"  # kernel; auto: cuDNN on GPU (16-bit), einsum on CPU
  dropout: float = 0.0                     # on attention output, MLP output and embeddings
  tie_embeddings: bool = True              # output projection = embedding matrix transposed
  param_dtype: str = "float32"             # storage dtype of parameters
  dtype: str = "float32"                   # compute dtype ("bfloat16" for mixed precision)
  scan_layers: bool = False                # nn.scan over identical layers: compile time independent of depth
  remat: Literal["none", "full", "dots"] = "none"  # recompute activations in the backward pass to save memory
  norm_eps: float = 1e-6
  init_std: float = 0.02

  def __post_init__(self):
    for name, allowed in _CHOICES.items():
      if getattr(self, name) not in allowed:
        raise ValueError(f"model.{name}={getattr(self, name)!r}; expected one of {allowed}.")
    kv = self.kv_heads
    if self.num_heads % kv:
      raise ValueError(f"model.num_heads ({self.num_heads}) must be a multiple of model.num_kv_heads ({kv}).")
    if self.head_dim is None and self.d_model % self.num_heads:
      raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.num_heads ({self.num_heads}), "
                       "or set model.head_dim.")

  @property
  def gated(self) -> bool:
    """Whether the MLP has a gate matrix (swiglu, geglu)."""
    return self.activation in ("swiglu", "geglu")

  @property
  def kv_heads(self) -> int:
    return self.num_kv_heads or self.num_heads

  @property
  def head_size(self) -> int:
    return self.head_dim or self.d_model // self.num_heads

  @property
  def compute_dtype(self):
    return jnp.dtype(self.dtype)

  @property
  def storage_dtype(self):
    return jnp.dtype(self.param_dtype)


_CHOICES = {"activation": ("gelu", "gelu_exact", "relu", "swiglu", "geglu"), "norm": ("layernorm", "rmsnorm"),
            "norm_position": ("pre", "post"), "projection_bias": ("none", "qkv", "all"),
            "positions": ("learned", "rotary", "relative"), "remat": ("none", "full", "dots"),
            "attention": ("auto", "xla", "cudnn", "einsum")}

PRESETS: dict[str, dict] = {
    "tiny": dict(num_layers=4, d_model=128, num_heads=4, d_ff=512, max_len=512),
    "small": dict(num_layers=8, d_model=512, num_heads=8, d_ff=2048, max_len=1024),
    "base": dict(num_layers=12, d_model=768, num_heads=12, d_ff=3072, max_len=1024),
}


def preset(name: str) -> dict:
  if name not in PRESETS:
    raise ValueError(f"Unknown model preset {name!r}; expected one of {sorted(PRESETS)}.")
  return dict(PRESETS[name])
