"""T5 (`model_type` "t5"): RMSNorm pre-norm blocks without biases, relative position buckets (one table per stack,
in its first block), unscaled attention, and either v1.0's ReLU MLP with a tied output projection (hidden scaled by
d_model**-0.5 first) or v1.1's gated GELU with an unscaled one (untied in checkpoints saved by transformers < 5). The decoder starts from `decoder_start_token_id`."""

from __future__ import annotations

from lm.interop import layouts
from lm.interop.families import Family, require
from lm.interop.hf_files import CheckpointError
from lm.interop.layouts import linear, rule
from lm.models.config import ModelConfig

ACTIVATIONS = {"relu": "relu", "gated-gelu": "geglu", "gated-silu": "swiglu"}


def model_config(hf: dict, where: str) -> dict:
  layouts.check_keys(hf, {"feed_forward_proj": lambda v: v in ACTIVATIONS}, where)
  layers = require(hf, "num_layers", where)
  if hf.get("num_decoder_layers") not in (None, layers):
    raise CheckpointError(f"{where}: num_decoder_layers={hf['num_decoder_layers']} differs from num_layers={layers}; "
                          "lm's encoder-decoder has as many layers on both sides.")
  # transformers < 5 saved v1.1 as tie_word_embeddings=False (+ lm_head.weight) and scaled tied outputs; 5 always
  # ties and says whether to scale in scale_decoder_outputs.
  tied = hf.get("tie_word_embeddings", True) is not False
  scaled = hf.get("scale_decoder_outputs", tied)
  return dict(vocab_size=require(hf, "vocab_size", where), num_layers=layers, d_model=require(hf, "d_model", where),
              num_heads=require(hf, "num_heads", where), head_dim=require(hf, "d_kv", where),
              d_ff=require(hf, "d_ff", where), activation=ACTIVATIONS[hf.get("feed_forward_proj", "relu")],
              norm="rmsnorm", norm_eps=hf.get("layer_norm_epsilon", 1e-6), positions="relative",
              relative_buckets=hf.get("relative_attention_num_buckets", 32),
              relative_max_distance=hf.get("relative_attention_max_distance", 128), max_len=hf.get("n_positions", 512),
              scale_attention=False, tie_embeddings=tied, scale_tied_logits=bool(scaled and tied))


def rules(c: ModelConfig, prefix: str) -> list[layouts.Rule]:
  del prefix  # T5ForConditionalGeneration's tensors carry none
  d, n, h, f = c.d_model, c.num_heads, c.head_size, c.d_ff
  same = layouts.IDENTITY
  norm = lambda hf, lm: rule(f"{hf}.weight", f"{lm}/RMSNorm_0/scale", same)

  def attention(hf, lm):
    return [rule(f"{hf}.{x}.weight", f"{lm}/{name}/kernel", linear((d,), (n, h)))
            for x, name in (("q", "query"), ("k", "key"), ("v", "value"))] + [
                rule(f"{hf}.o.weight", f"{lm}/out/kernel", linear((n, h), (d,)))]

  def mlp(hf, lm):
    ff = f"{hf}.DenseReluDense"
    up = ([rule(f"{ff}.wi_0.weight", f"{lm}/gate/kernel", linear((d,), (f,))),
           rule(f"{ff}.wi_1.weight", f"{lm}/up/kernel", linear((d,), (f,)))] if c.gated else
          [rule(f"{ff}.wi.weight", f"{lm}/up/kernel", linear((d,), (f,)))])
    return up + [rule(f"{ff}.wo.weight", f"{lm}/down/kernel", linear((f,), (d,))), norm(f"{hf}.layer_norm", f"{lm}_norm")]

  out = [rule("shared.weight", "embedder/tokens/embedding", same),
         norm("encoder.final_layer_norm", "encoder_norm"), norm("decoder.final_layer_norm", "decoder_norm")]
  if not c.tie_embeddings:
    out.append(rule("lm_head.weight", "embedder/unembed/kernel", layouts.transpose()))
  for stack in ("encoder", "decoder"):
    out.append(rule(f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                    f"{stack}/relative_bias/embedding", same))
    for i in range(c.num_layers):
      hf, lm = f"{stack}.block.{i}.layer.", f"{stack}/layer_{i}/"
      out += [*attention(f"{hf}0.SelfAttention", f"{lm}attention"), norm(f"{hf}0.layer_norm", f"{lm}attention_norm")]
      if stack == "decoder":
        out += [*attention(f"{hf}1.EncDecAttention", f"{lm}cross_attention"),
                norm(f"{hf}1.layer_norm", f"{lm}cross_attention_norm")]
      out += mlp(f"{hf}{2 if stack == 'decoder' else 1}", f"{lm}mlp")
  return out


def hf_config(c: ModelConfig, special: dict) -> dict:
  activation = {v: k for k, v in ACTIVATIONS.items()}
  problems = [f"{key}={getattr(c, key)!r}" for key, ok in (
      ("positions", c.positions == "relative"), ("norm", c.norm == "rmsnorm"), ("projection_bias", c.projection_bias == "none"),
      ("activation", c.activation in activation), ("scale_attention", not c.scale_attention),
      ("num_kv_heads", c.kv_heads == c.num_heads)) if not ok]
  if problems:
    raise CheckpointError(f"this model does not map onto T5: {', '.join(problems)}.")
  return {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": c.vocab_size,
          "d_model": c.d_model, "d_kv": c.head_size, "d_ff": c.d_ff, "num_layers": c.num_layers,
          "num_decoder_layers": c.num_layers, "num_heads": c.num_heads, "relative_attention_num_buckets": c.relative_buckets,
          "relative_attention_max_distance": c.relative_max_distance, "layer_norm_epsilon": c.norm_eps,
          "feed_forward_proj": activation[c.activation], "tie_word_embeddings": c.tie_embeddings, "dropout_rate": 0.0,
          "scale_decoder_outputs": c.tie_embeddings and c.scale_tied_logits,
          "is_encoder_decoder": True, "pad_token_id": special.get("pad"), "eos_token_id": special.get("eos"),
          "decoder_start_token_id": special.get("bos")}


FAMILY = Family(name="t5", model_types=("t5",), objective="span", model_config=model_config, rules=rules, prefixes=(),
                hf_config=hf_config,
                ignore=lambda name: name in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"),
                special_defaults=lambda hf: {"bos": hf.get("decoder_start_token_id", 0)})
