"""Bidirectional encoder (BERT-style) with a masked-LM head and a pooled [CLS] classification head.

Shapes: B batch, T length, D width, V vocabulary, C classes.
Built from the same blocks and config as the decoder; only the attention is not causal.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from lm.models import layers
from lm.models.config import ModelConfig
from lm.models.transformer import Embedder, Stack, default_segments_and_positions, embedding_norm, final_norm


class BertModel(nn.Module):
  """Encoder + heads. Returns `{"mlm_logits": [B, T, V], "cls_logits": [B, C], "pooled": [B, D], "hidden": [B, T, D]}`.

  `token_types_BxT` (0 for the first segment, 1 for the second; all 0 when not given) adds BERT's
  segment embedding, which therefore exists whatever the pretraining data, so every BERT
  checkpoint has the same parameters. The MLM head is tied to the input embedding; the
  classification head reads the pooled position 0 ([CLS]).
  """

  config: ModelConfig
  num_classes: int = 2
  num_token_types: int = 2

  @nn.compact
  def __call__(self, tokens_BxT, segment_ids_BxT=None, positions_BxT=None, *, token_types_BxT=None,
               deterministic: bool = True):
    c = self.config
    segment_ids_BxT, positions_BxT = default_segments_and_positions(tokens_BxT, segment_ids_BxT, positions_BxT)
    embedder = Embedder(c, name="embedder")
    x_BxTxD = embedder.embed(tokens_BxT, positions_BxT)
    if token_types_BxT is None:
      token_types_BxT = jnp.zeros_like(tokens_BxT)
    x_BxTxD = x_BxTxD + nn.Embed(self.num_token_types, c.d_model, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                                 embedding_init=layers.init(c, "classes", "embed"), name="token_types")(token_types_BxT)
    x_BxTxD = nn.Dropout(c.dropout, deterministic=deterministic)(embedding_norm(c, x_BxTxD))
    x_BxTxD = Stack(c, causal=False, name="stack")(x_BxTxD, segment_ids_BxT, positions_BxT, deterministic)
    hidden_BxTxD = final_norm(c, x_BxTxD)

    dense = lambda features, axes, name: nn.Dense(features, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                                                  kernel_init=layers.init(c, *axes), name=name)
    # The MLM transform uses the MLP's nonlinearity (a gated MLP's gelu: there is no gate here).
    act = layers.ACTIVATIONS["gelu" if c.gated else c.activation]
    h_BxTxD = layers.Norm(c, name="mlm_norm")(act(dense(c.d_model, ("embed", "mlp"), "mlm_transform")(hidden_BxTxD)))
    mlm_bias = self.param("mlm_bias", nn.with_logical_partitioning(nn.initializers.zeros, ("vocab",)), (c.vocab_size,),
                          c.storage_dtype)
    mlm_logits_BxTxV = embedder.logits(h_BxTxD).astype(jnp.float32) + mlm_bias
    pooled_BxD = jnp.tanh(dense(c.d_model, ("embed", "mlp"), "pooler")(hidden_BxTxD[:, 0]))
    cls_logits_BxC = dense(self.num_classes, ("embed", "classes"), "classifier")(pooled_BxD).astype(jnp.float32)
    return {"mlm_logits": mlm_logits_BxTxV, "cls_logits": cls_logits_BxC, "pooled": pooled_BxD, "hidden": hidden_BxTxD}
