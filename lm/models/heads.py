"""Task heads on a pretrained-shaped backbone: sequence and token classification, and a policy with a critic.

Shapes: B batch, T length, D width, C classes.

The backbone is the pretraining model itself (`BertModel` or `Decoder`), under the name
`backbone`, so its parameters have exactly the layout of a pretraining checkpoint and
`init_from` can restore them whole; only `head` is new. Unused pretraining heads (BERT's MLM
projection) are dead code under jit and cost nothing.
"""

from __future__ import annotations

from typing import Literal

import flax.linen as nn
import jax.numpy as jnp

from lm.models import layers
from lm.models.config import ModelConfig
from lm.models.encoder import BertModel
from lm.models.transformer import Decoder, default_segments_and_positions

BACKBONES = ("encoder", "decoder")


def last_token_index(segment_ids_BxT):
  """Index [B] of each row's last non-padding position, with padding on either side (0 for an all-padding row)."""
  columns_BxT = jnp.broadcast_to(jnp.arange(segment_ids_BxT.shape[1]), segment_ids_BxT.shape)
  return jnp.max(jnp.where(segment_ids_BxT > 0, columns_BxT, 0), axis=1)


class Classifier(nn.Module):
  """Logits `[B, C]` (one label per sequence) or `[B, T, C]` (`per_token`), float32.

  A sequence is read at BERT's pooled [CLS] (encoder) or at its last non-padding token
  (decoder: the only position that has seen the whole input). Rows are unpacked: one example
  per row, padding with segment id 0.

  `outputs_for_last=k` (decoder): the backbone computes only the last k positions (see `Decoder`); per-token
  logits are then `[B, k, C]`, and a sequence's last token must lie among the last k columns (RL rows: the
  left-padded prompts all end at the same column, and the response follows).
  """

  config: ModelConfig
  num_classes: int
  backbone: Literal["encoder", "decoder"] = "encoder"
  per_token: bool = False

  @nn.compact
  def __call__(self, tokens_BxT, segment_ids_BxT=None, positions_BxT=None, *, deterministic: bool = True,
               outputs_for_last: int = 0):
    c = self.config
    if self.backbone not in BACKBONES:
      raise ValueError(f"Classifier backbone must be one of {BACKBONES}, got {self.backbone!r}.")
    segment_ids_BxT, positions_BxT = default_segments_and_positions(tokens_BxT, segment_ids_BxT, positions_BxT)
    if self.backbone == "encoder":
      if outputs_for_last:
        raise ValueError("outputs_for_last needs the decoder backbone (an encoder's positions all see each other).")
      outputs = BertModel(c, name="backbone")(tokens_BxT, segment_ids_BxT, positions_BxT, deterministic=deterministic)
      hidden_BxTxD, pooled_BxD = outputs["hidden"], outputs["pooled"]
    else:
      hidden_BxTxD = Decoder(c, name="backbone")(tokens_BxT, segment_ids_BxT, positions_BxT,
                                                 deterministic=deterministic, return_hidden=True,
                                                 outputs_for_last=outputs_for_last)
      # Column of the last token among the columns computed (all T, or the last k).
      last_B = last_token_index(segment_ids_BxT) - (tokens_BxT.shape[1] - hidden_BxTxD.shape[1])
      pooled_BxD = jnp.take_along_axis(hidden_BxTxD, last_B[:, None, None], axis=1)[:, 0]
    features = hidden_BxTxD if self.per_token else pooled_BxD
    features = nn.Dropout(c.dropout, deterministic=deterministic)(features)
    head = nn.Dense(self.num_classes, dtype=c.compute_dtype, param_dtype=c.storage_dtype,
                    kernel_init=layers.init(c, "embed", "classes"), name="head")
    return head(features).astype(jnp.float32)


CRITICS = ("none", "shared", "separate")


class ActorCritic(nn.Module):
  """An RL policy and, optionally, its value function: `(logits [B, T, V], values [B, T] or None)`, float32.

  The policy is a plain `Decoder` under `policy`, so its parameters load from (and sample like) an
  SFT run. `critic` is "none" (critic-free: GRPO, RLOO), "shared" (a value head `value_head` on the
  policy's last hidden states: one trunk, cheaper) or "separate" (its own decoder with a per-token
  scalar head under `critic`, the reward model's layout, so it can start from the reward model).
  Values at position t estimate the return after the tokens up to t. `outputs_for_last=k`: logits and values for
  the last k positions only (see `Decoder`).
  """

  config: ModelConfig
  critic: Literal["none", "shared", "separate"] = "separate"

  @nn.compact
  def __call__(self, tokens_BxT, segment_ids_BxT=None, positions_BxT=None, *, deterministic: bool = True,
               outputs_for_last: int = 0):
    c = self.config
    if self.critic not in CRITICS:
      raise ValueError(f"ActorCritic critic must be one of {CRITICS}, got {self.critic!r}.")
    policy = Decoder(c, name="policy")
    if self.critic != "shared":
      logits_BxTxV = policy(tokens_BxT, segment_ids_BxT, positions_BxT, deterministic=deterministic,
                            outputs_for_last=outputs_for_last)
      if self.critic == "none":
        return logits_BxTxV, None
      values_BxTx1 = Classifier(c, 1, backbone="decoder", per_token=True, name="critic")(
          tokens_BxT, segment_ids_BxT, positions_BxT, deterministic=deterministic, outputs_for_last=outputs_for_last)
      return logits_BxTxV, values_BxTx1[..., 0]
    logits_BxTxV, hidden_BxTxD = policy(tokens_BxT, segment_ids_BxT, positions_BxT, deterministic=deterministic,
                                        with_hidden=True, outputs_for_last=outputs_for_last)
    head = nn.Dense(1, dtype=c.compute_dtype, param_dtype=c.storage_dtype, name="value_head",
                    kernel_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), ("embed", "classes")))
    return logits_BxTxV, head(hidden_BxTxD)[..., 0].astype(jnp.float32)
