"""GPT-2 (`model_type` "gpt2"): learned positions, pre-LayerNorm blocks with biases everywhere, tanh GELU, a fused
query/key/value `Conv1D` ([in, out] weights), tied output projection."""

from __future__ import annotations

from lm.interop import layouts
from lm.interop.families import Family, require
from lm.interop.hf_files import CheckpointError
from lm.interop.layouts import conv1d, fused, reshape, rule
from lm.models.config import ModelConfig

# GPT-2's activation_function names -> ModelConfig.activation
ACTIVATIONS = {"gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu", "gelu": "gelu_exact",
               "relu": "relu"}


def model_config(hf: dict, where: str) -> dict:
  layouts.check_keys(hf, {"scale_attn_by_inverse_layer_idx": lambda v: not v, "add_cross_attention": lambda v: not v,
                          "activation_function": lambda v: v in ACTIVATIONS}, where)
  if hf.get("tie_word_embeddings") is False:
    raise CheckpointError(f"{where}: tie_word_embeddings=False; GPT-2's output projection is the embedding.")
  d = require(hf, "n_embd", where)
  return dict(vocab_size=require(hf, "vocab_size", where), num_layers=require(hf, "n_layer", where), d_model=d,
              num_heads=require(hf, "n_head", where), d_ff=hf.get("n_inner") or 4 * d,
              activation=ACTIVATIONS[hf.get("activation_function", "gelu_new")], norm="layernorm",
              norm_eps=hf.get("layer_norm_epsilon", 1e-5), positions="learned", max_len=require(hf, "n_positions", where),
              projection_bias="all", tie_embeddings=True, scale_attention=hf.get("scale_attn_weights", True))


def rules(c: ModelConfig, prefix: str) -> list[layouts.Rule]:
  """The tensors of GPT2LMHeadModel; a model without projection biases (lm's presets) exports them as zeros."""
  d, n, h, f = c.d_model, c.num_heads, c.head_size, c.d_ff
  biased = c.projection_bias == "all"

  def bias(hf, lm, layout, size):
    return rule(hf, lm, layout) if biased else rule(hf, (), layouts.zeros((size,)))

  norm = lambda hf, lm: [rule(f"{hf}.weight", f"{lm}/LayerNorm_0/scale", layouts.IDENTITY),
                         rule(f"{hf}.bias", f"{lm}/LayerNorm_0/bias", layouts.IDENTITY)]
  out = [rule(f"{prefix}wte.weight", "embedder/tokens/embedding", layouts.IDENTITY),
         rule(f"{prefix}wpe.weight", "embedder/position_table/embedding", layouts.IDENTITY),
         *norm(f"{prefix}ln_f", "final_norm")]
  for i in range(c.num_layers):
    hf, lm = f"{prefix}h.{i}.", f"stack/layer_{i}/"
    qkv = [f"{lm}attention/{name}" for name in ("query", "key", "value")]
    out += [*norm(f"{hf}ln_1", f"{lm}attention_norm"), *norm(f"{hf}ln_2", f"{lm}mlp_norm"),
            rule(f"{hf}attn.c_attn.weight", [f"{p}/kernel" for p in qkv], fused(1, [conv1d((d,), (n, h))] * 3, [n * h] * 3)),
            bias(f"{hf}attn.c_attn.bias", [f"{p}/bias" for p in qkv], fused(0, [reshape((n, h))] * 3, [n * h] * 3),
                 3 * n * h),
            rule(f"{hf}attn.c_proj.weight", f"{lm}attention/out/kernel", conv1d((n, h), (d,))),
            bias(f"{hf}attn.c_proj.bias", f"{lm}attention/out/bias", layouts.IDENTITY, d),
            rule(f"{hf}mlp.c_fc.weight", f"{lm}mlp/up/kernel", conv1d((d,), (f,))),
            bias(f"{hf}mlp.c_fc.bias", f"{lm}mlp/up/bias", layouts.IDENTITY, f),
            rule(f"{hf}mlp.c_proj.weight", f"{lm}mlp/down/kernel", conv1d((f,), (d,))),
            bias(f"{hf}mlp.c_proj.bias", f"{lm}mlp/down/bias", layouts.IDENTITY, d)]
  return out


def hf_config(c: ModelConfig, special: dict) -> dict:
  activation = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu"}
  problems = [f"{k}={getattr(c, k)!r}" for k, ok in (
      ("scale_tied_logits", not c.scale_tied_logits), ("positions", c.positions == "learned"), ("norm", c.norm == "layernorm"), ("norm_position", c.norm_position == "pre"),
      ("projection_bias", c.projection_bias in ("all", "none")), ("tie_embeddings", c.tie_embeddings),
      ("activation", c.activation in activation), ("num_kv_heads", c.kv_heads == c.num_heads),
      ("head_dim", c.head_size * c.num_heads == c.d_model)) if not ok]
  if problems:
    raise CheckpointError(f"this model does not map onto GPT-2: {', '.join(problems)}.")
  return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": c.vocab_size,
          "n_positions": c.max_len, "n_embd": c.d_model, "n_layer": c.num_layers, "n_head": c.num_heads,
          "n_inner": c.d_ff, "activation_function": activation[c.activation], "layer_norm_epsilon": c.norm_eps,
          "scale_attn_weights": c.scale_attention, "tie_word_embeddings": True, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
          "attn_pdrop": 0.0, "bos_token_id": special.get("bos"), "eos_token_id": special.get("eos")}


FAMILY = Family(name="gpt2", model_types=("gpt2",), objective="causal", model_config=model_config, rules=rules,
                prefixes=("transformer.",), hf_config=hf_config,
                ignore=lambda name: name.endswith((".attn.bias", ".attn.masked_bias")) or name == "lm_head.weight")
