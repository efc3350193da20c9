"""BERT (`model_type` "bert"): post-LayerNorm blocks with biases everywhere, exact GELU, learned positions and
token-type embeddings, a norm after the embeddings, the pooler, and the pretraining heads (masked-LM transform with
its tied decoder and bias; next-sentence classifier). A checkpoint without heads (a bare `BertModel`) imports
with freshly initialised heads."""

from __future__ import annotations

from lm.interop import layouts
from lm.interop.families import Family, require
from lm.interop.hf_files import CheckpointError
from lm.interop.layouts import linear, reshape, rule
from lm.models.config import ModelConfig

ACTIVATIONS = {"gelu": "gelu_exact", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu"}


def model_config(hf: dict, where: str) -> dict:
  layouts.check_keys(hf, {"hidden_act": lambda v: v in ACTIVATIONS, "type_vocab_size": lambda v: v == 2,
                          "position_embedding_type": lambda v: v == "absolute", "is_decoder": lambda v: not v}, where)
  return dict(vocab_size=require(hf, "vocab_size", where), num_layers=require(hf, "num_hidden_layers", where),
              d_model=require(hf, "hidden_size", where), num_heads=require(hf, "num_attention_heads", where),
              d_ff=require(hf, "intermediate_size", where), activation=ACTIVATIONS[hf.get("hidden_act", "gelu")],
              norm="layernorm", norm_position="post", norm_eps=hf.get("layer_norm_eps", 1e-12), positions="learned",
              max_len=require(hf, "max_position_embeddings", where), projection_bias="all", tie_embeddings=True)


def rules(c: ModelConfig, prefix: str) -> list[layouts.Rule]:
  d, n, h, f = c.d_model, c.num_heads, c.head_size, c.d_ff
  same = layouts.IDENTITY

  def norm(hf, lm, optional=False):
    return [rule(f"{hf}.weight", f"{lm}/LayerNorm_0/scale", same, optional),
            rule(f"{hf}.bias", f"{lm}/LayerNorm_0/bias", same, optional)]

  def dense(hf, lm, layout, bias_layout=same, optional=False):
    return [rule(f"{hf}.weight", f"{lm}/kernel", layout, optional), rule(f"{hf}.bias", f"{lm}/bias", bias_layout, optional)]

  e = f"{prefix}embeddings."
  out = [rule(f"{e}word_embeddings.weight", "embedder/tokens/embedding", same),
         rule(f"{e}position_embeddings.weight", "embedder/position_table/embedding", same),
         rule(f"{e}token_type_embeddings.weight", "token_types/embedding", same),
         *norm(f"{e}LayerNorm", "embedding_norm"),
         *dense(f"{prefix}pooler.dense", "pooler", linear((d,), (d,)), optional=True),
         *dense("cls.predictions.transform.dense", "mlm_transform", linear((d,), (d,)), optional=True),
         *norm("cls.predictions.transform.LayerNorm", "mlm_norm", optional=True),
         rule("cls.predictions.bias", "mlm_bias", same, optional=True),
         *dense("cls.seq_relationship", "classifier", linear((d,), (2,)), optional=True)]
  for i in range(c.num_layers):
    hf, lm = f"{prefix}encoder.layer.{i}.", f"stack/layer_{i}/"
    for name in ("query", "key", "value"):
      out += dense(f"{hf}attention.self.{name}", f"{lm}attention/{name}", linear((d,), (n, h)), reshape((n, h)))
    out += [*dense(f"{hf}attention.output.dense", f"{lm}attention/out", linear((n, h), (d,))),
            *norm(f"{hf}attention.output.LayerNorm", f"{lm}attention_norm"),
            *dense(f"{hf}intermediate.dense", f"{lm}mlp/up", linear((d,), (f,))),
            *dense(f"{hf}output.dense", f"{lm}mlp/down", linear((f,), (d,))),
            *norm(f"{hf}output.LayerNorm", f"{lm}mlp_norm")]
  return out


def hf_config(c: ModelConfig, special: dict) -> dict:
  activation = {"gelu_exact": "gelu", "gelu": "gelu_new", "relu": "relu"}
  problems = [f"{key}={getattr(c, key)!r}" for key, ok in (
      ("norm_position", c.norm_position == "post"), ("norm", c.norm == "layernorm"), ("scale_tied_logits", not c.scale_tied_logits), ("positions", c.positions == "learned"),
      ("projection_bias", c.projection_bias == "all"), ("activation", c.activation in activation),
      ("tie_embeddings", c.tie_embeddings), ("num_kv_heads", c.kv_heads == c.num_heads),
      ("head_dim", c.head_size * c.num_heads == c.d_model)) if not ok]
  if problems:
    raise CheckpointError(f"this model does not map onto BERT: {', '.join(problems)}.")
  return {"model_type": "bert", "architectures": ["BertForPreTraining"], "vocab_size": c.vocab_size,
          "hidden_size": c.d_model, "num_hidden_layers": c.num_layers, "num_attention_heads": c.num_heads,
          "intermediate_size": c.d_ff, "hidden_act": activation[c.activation], "max_position_embeddings": c.max_len,
          "type_vocab_size": 2, "layer_norm_eps": c.norm_eps, "hidden_dropout_prob": 0.0,
          "attention_probs_dropout_prob": 0.0, "pad_token_id": special.get("pad"), "tie_word_embeddings": True}


FAMILY = Family(name="bert", model_types=("bert",), objective="bert", model_config=model_config, rules=rules,
                prefixes=("bert.",), hf_config=hf_config,
                ignore=lambda name: name.endswith("position_ids") or name.startswith("cls.predictions.decoder."))
