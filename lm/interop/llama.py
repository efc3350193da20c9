"""The Llama family (`model_type` "llama", "mistral", "qwen2"): rotary positions with the checkpoint's base,
RMSNorm, SwiGLU, grouped-query attention, an untied (or tied) output projection; Qwen2 adds query/key/value
biases. `nn.Linear` weights are [out, in].

Mistral's sliding window is exact for sequences no longer than the window, so the model's `max_len` is the
window: longer inputs are refused rather than attended to wrongly.
"""

from __future__ import annotations

from lm.interop import layouts
from lm.interop.families import Family, require
from lm.interop.hf_files import CheckpointError
from lm.interop.layouts import linear, reshape, rule
from lm.models.config import ModelConfig

ACTIVATIONS = {"silu": "swiglu", "swish": "swiglu", "gelu_pytorch_tanh": "geglu", "gelu_new": "geglu"}


def _rope(hf: dict, where: str) -> float:
  """The rotary base, from `rope_parameters` (transformers >= 5) or `rope_theta`; scaled variants are refused."""
  params = hf.get("rope_parameters") or {}
  scaling = hf.get("rope_scaling") or {}
  kind = params.get("rope_type", scaling.get("rope_type", scaling.get("type", "default")))
  if kind != "default":
    raise CheckpointError(f"{where}: rope type {kind!r} is not supported (only unscaled rotary positions).")
  return float(params.get("rope_theta", hf.get("rope_theta", 10_000.0)))


def _bias(hf: dict, where: str) -> str:
  if hf.get("model_type") == "qwen2":
    return "qkv"
  attention, mlp = bool(hf.get("attention_bias", False)), bool(hf.get("mlp_bias", False))
  if attention != mlp:
    raise CheckpointError(f"{where}: attention_bias={attention} with mlp_bias={mlp} is not supported (lm has biases "
                          "on every projection, on query/key/value only, or none).")
  return "all" if attention else "none"


def model_config(hf: dict, where: str) -> dict:
  layouts.check_keys(hf, {"hidden_act": lambda v: v in ACTIVATIONS, "pretraining_tp": lambda v: v in (None, 1)}, where)
  d, n = require(hf, "hidden_size", where), require(hf, "num_attention_heads", where)
  max_len = require(hf, "max_position_embeddings", where)
  window = hf.get("sliding_window")
  if window and (hf.get("model_type") == "mistral" or hf.get("use_sliding_window")):
    max_len = min(max_len, window)
  return dict(vocab_size=require(hf, "vocab_size", where), num_layers=require(hf, "num_hidden_layers", where),
              d_model=d, num_heads=n, num_kv_heads=hf.get("num_key_value_heads") or n,
              head_dim=hf.get("head_dim") or d // n, d_ff=require(hf, "intermediate_size", where),
              activation=ACTIVATIONS[hf.get("hidden_act", "silu")], norm="rmsnorm", norm_eps=hf.get("rms_norm_eps", 1e-6),
              positions="rotary", rope_base=_rope(hf, where), max_len=max_len, projection_bias=_bias(hf, where),
              tie_embeddings=bool(hf.get("tie_word_embeddings", False)))


def rules(c: ModelConfig, prefix: str) -> list[layouts.Rule]:
  d, n, k, h, f = c.d_model, c.num_heads, c.kv_heads, c.head_size, c.d_ff
  norm = lambda hf, lm: rule(f"{hf}.weight", f"{lm}/RMSNorm_0/scale", layouts.IDENTITY)
  out = [rule(f"{prefix}embed_tokens.weight", "embedder/tokens/embedding", layouts.IDENTITY),
         norm(f"{prefix}norm", "final_norm")]
  if not c.tie_embeddings:
    out.append(rule("lm_head.weight", "embedder/unembed/kernel", layouts.transpose()))
  for i in range(c.num_layers):
    hf, lm = f"{prefix}layers.{i}.", f"stack/layer_{i}/"
    out += [norm(f"{hf}input_layernorm", f"{lm}attention_norm"), norm(f"{hf}post_attention_layernorm", f"{lm}mlp_norm"),
            rule(f"{hf}self_attn.q_proj.weight", f"{lm}attention/query/kernel", linear((d,), (n, h))),
            rule(f"{hf}self_attn.k_proj.weight", f"{lm}attention/key/kernel", linear((d,), (k, h))),
            rule(f"{hf}self_attn.v_proj.weight", f"{lm}attention/value/kernel", linear((d,), (k, h))),
            rule(f"{hf}self_attn.o_proj.weight", f"{lm}attention/out/kernel", linear((n, h), (d,))),
            rule(f"{hf}mlp.gate_proj.weight", f"{lm}mlp/gate/kernel", linear((d,), (f,))),
            rule(f"{hf}mlp.up_proj.weight", f"{lm}mlp/up/kernel", linear((d,), (f,))),
            rule(f"{hf}mlp.down_proj.weight", f"{lm}mlp/down/kernel", linear((f,), (d,)))]
    if c.projection_bias != "none":
      out += [rule(f"{hf}self_attn.q_proj.bias", f"{lm}attention/query/bias", reshape((n, h))),
              rule(f"{hf}self_attn.k_proj.bias", f"{lm}attention/key/bias", reshape((k, h))),
              rule(f"{hf}self_attn.v_proj.bias", f"{lm}attention/value/bias", reshape((k, h)))]
    if c.projection_bias == "all":
      out += [rule(f"{hf}self_attn.o_proj.bias", f"{lm}attention/out/bias", layouts.IDENTITY),
              *(rule(f"{hf}mlp.{name}_proj.bias", f"{lm}mlp/{name}/bias", layouts.IDENTITY)
                for name in ("gate", "up", "down"))]
  return out


def hf_config(c: ModelConfig, special: dict) -> dict:
  activation = {"swiglu": "silu", "geglu": "gelu_pytorch_tanh"}
  problems = [f"{key}={getattr(c, key)!r}" for key, ok in (
      ("scale_tied_logits", not c.scale_tied_logits), ("positions", c.positions == "rotary"), ("norm", c.norm == "rmsnorm"), ("norm_position", c.norm_position == "pre"),
      ("activation", c.activation in activation), ("scale_attention", c.scale_attention)) if not ok]
  if problems:
    raise CheckpointError(f"this model does not map onto the Llama family: {', '.join(problems)}.")
  qwen = c.projection_bias == "qkv"
  config = {"model_type": "qwen2" if qwen else "llama",
            "architectures": ["Qwen2ForCausalLM" if qwen else "LlamaForCausalLM"], "vocab_size": c.vocab_size,
            "hidden_size": c.d_model, "intermediate_size": c.d_ff, "num_hidden_layers": c.num_layers,
            "num_attention_heads": c.num_heads, "num_key_value_heads": c.kv_heads, "head_dim": c.head_size,
            "hidden_act": activation[c.activation], "max_position_embeddings": c.max_len, "rms_norm_eps": c.norm_eps,
            "rope_theta": c.rope_base, "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_base},
            "tie_word_embeddings": c.tie_embeddings, "attention_dropout": 0.0,
            "bos_token_id": special.get("bos"), "eos_token_id": special.get("eos"), "pad_token_id": special.get("pad")}
  if not qwen:
    config.update(attention_bias=c.projection_bias == "all", mlp_bias=c.projection_bias == "all")
  return config


FAMILY = Family(name="llama", model_types=("llama", "mistral", "qwen2"), objective="causal", model_config=model_config,
                rules=rules, prefixes=("model.",), hf_config=hf_config,
                ignore=lambda name: name.endswith("rotary_emb.inv_freq") or name == "lm_head.weight")
