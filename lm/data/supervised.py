"""Example transforms of the supervised tasks: instructions, classification, NER, translation.

Each turns one record into the equal-length 1-D arrays of `lm.data.pipeline` (plus a scalar
`label` for sequence classification). Examples that do not fit are cut here, from a configured
side, and flagged with a 1 on the first position of `truncated` (or `prompt_truncated`), which
the losses sum into `truncated_count`: nothing is shortened silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lm.data.pipeline import Features

# The documented instruction template: the model sees the prompt after "### Instruction:" and learns
# to continue after "### Response:". Only response tokens (and the closing eos) carry loss weight.
PROMPT_TEMPLATE = "### Instruction:\n{prompt}\n\n### Response:\n"
SIDES = ("left", "right")


def truncate(ids: Sequence[int], keep: int, side: str) -> tuple[list[int], bool]:
  """`ids` shortened to `keep` tokens by dropping from `side`; and whether anything was dropped."""
  if side not in SIDES:
    raise ValueError(f"truncation side must be one of {SIDES}, got {side!r}.")
  ids = list(ids)
  if len(ids) <= keep:
    return ids, False
  return (ids[-keep:] if side == "left" else ids[:keep]), True


def _flag(length: int, truncated: bool) -> np.ndarray:
  flags = np.zeros(length, np.int32)
  flags[0] = int(truncated)
  return flags


def instruction(tokenizer, template: str = PROMPT_TEMPLATE, max_prompt_tokens: int | None = None, *,
                truncate_side: str = "left", prompt_field: str = "prompt", response_field: str = "response"):
  """Instruction tuning: `[bos] template(prompt) response [eos]`, loss on the response only.

  Weights are per token, so the loss stays response-only when examples are packed. A prompt
  longer than `max_prompt_tokens` loses tokens from `truncate_side` ("left" by default: the
  question usually comes last) and is flagged with `prompt_truncated`.
  """

  def transform(record: Features) -> Features:
    prompt = tokenizer.encode(template.format(prompt=record[prompt_field]))
    truncated = False
    if max_prompt_tokens is not None:
      prompt, truncated = truncate(prompt, max_prompt_tokens, truncate_side)
    return prompt_response([tokenizer.bos_id, *prompt], tokenizer.encode(record[response_field]), tokenizer.eos_id,
                           truncated)

  return transform


def prompt_response(prompt: Sequence[int], response: Sequence[int], eos_id: int, truncated: bool = False) -> Features:
  """Next-token features of `prompt response [eos]` (the prompt includes bos), weighted on the response and eos."""
  ids = np.asarray([*prompt, *response, eos_id], np.int32)
  weights = np.zeros(len(ids) - 1, np.int32)
  weights[len(prompt) - 1:] = 1  # targets from the first response token through eos
  return {"inputs": ids[:-1], "targets": ids[1:], "weights": weights,
          "prompt_truncated": _flag(len(ids) - 1, truncated)}


def _check_label(label, names: Sequence[str], field: str) -> int:
  if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(names):
    raise ValueError(f"field {field!r}: label {label!r} is outside the label set "
                     f"{dict(enumerate(names))}. Check the dataset (GLUE test splits, for example, hide their "
                     "labels as -1) or the task's label names.")
  return int(label)


def classification(label_names: Sequence[str], *, start_id: int, end_id: int | None, seq_len: int,
                   truncate_side: str = "right", field: str = "text", label_field: str = "label",
                   suffix: Sequence[int] = ()):
  """One label per text: `[start] ids suffix [end]` (BERT: [CLS] ... [SEP]; decoder: bos ... eos).

  `field` must already be tokenized (a pipeline text field). Texts longer than `seq_len` lose
  tokens from `truncate_side` ("right" keeps the beginning) and are flagged in `truncated`.
  `suffix` (token ids of a prompt such as "I was") follows the text and is never cut; `end_id=None`
  leaves the end token out, so a decoder reads the label where the prompt asks for what comes next.
  """
  tail = [*suffix] + ([] if end_id is None else [end_id])
  if len(tail) + 2 > seq_len:
    raise ValueError(f"The classification suffix ({len(suffix)} pieces) leaves no room for text in seq_len={seq_len}.")

  def transform(record: Features) -> Features:
    label = _check_label(record[label_field], label_names, label_field)
    ids, truncated = truncate(record[field], seq_len - 1 - len(tail), truncate_side)
    inputs = np.asarray([start_id, *ids, *tail], np.int32)
    return {"inputs": inputs, "truncated": _flag(len(inputs), truncated), "label": label}

  return transform


def token_classification(tokenizer, tag_names: Sequence[str], *, start_id: int, end_id: int, seq_len: int,
                         tokens_field: str = "tokens", tags_field: str = "ner_tags"):
  """Per-word labels on sub-word pieces: each word's first piece carries its tag, the rest none.

  Words are encoded one at a time (each gets SentencePiece's word-start marker, as in running
  text). `labels` holds the tag on first pieces and 0 elsewhere; `label_weights` is 1 on first
  pieces only, so the continuation pieces, `[start]`/`[end]` and padding never count. Words that
  do not fit in `seq_len` are dropped from the end and the example is flagged in `truncated`.
  """

  def transform(record: Features) -> Features:
    words, tags = list(record[tokens_field]), list(record[tags_field])
    if len(words) != len(tags):
      raise ValueError(f"{tokens_field!r} has {len(words)} words but {tags_field!r} has {len(tags)} tags.")
    inputs, labels, weights = [start_id], [0], [0]
    truncated = False
    for word, tag in zip(words, tags):
      pieces = tokenizer.encode(word) or [tokenizer.unk_id]
      if len(inputs) + len(pieces) + 1 > seq_len:
        truncated = True
        break
      inputs += pieces
      labels += [_check_label(tag, tag_names, tags_field)] + [0] * (len(pieces) - 1)
      weights += [1] + [0] * (len(pieces) - 1)
    inputs.append(end_id)
    labels.append(0)
    weights.append(0)
    as_array = lambda x: np.asarray(x, np.int32)
    return {"inputs": as_array(inputs), "labels": as_array(labels), "label_weights": as_array(weights),
            "truncated": _flag(len(inputs), truncated)}

  return transform


def seq2seq(*, bos_id: int, eos_id: int, seq_len: int, decoder_seq_len: int, source_field: str, target_field: str):
  """Encoder-decoder examples: `inputs = source [eos]`, `decoder_inputs = [bos] target`,
  `decoder_targets = target [eos]`, all targets weighted. Both fields must already be tokenized.

  Sources longer than `seq_len` and targets longer than `decoder_seq_len` are cut at the end
  (keeping their beginnings, and the eos) and flagged in `truncated`.
  """

  def transform(record: Features) -> Features:
    source, cut_source = truncate(record[source_field], seq_len - 1, "right")
    target, cut_target = truncate(record[target_field], decoder_seq_len - 1, "right")
    inputs = np.asarray([*source, eos_id], np.int32)
    targets = np.asarray([*target, eos_id], np.int32)
    return {"inputs": inputs, "truncated": _flag(len(inputs), cut_source or cut_target),
            "decoder_inputs": np.asarray([bos_id, *target], np.int32), "decoder_targets": targets,
            "decoder_weights": np.ones_like(targets)}

  return transform


PAIR_SIDES = ("chosen", "rejected")


def preference_pair(tokenizer, template: str = PROMPT_TEMPLATE, *, seq_len: int, max_prompt_tokens: int | None = None):
  """A preference pair as one row: `[bos] template(prompt) response [eos]` for each of chosen and rejected.

  Features per side (`chosen_*`, `rejected_*`), padded to the longer of the two: `inputs` (the whole
  sequence, eos included, so a reward head reads it at eos), `targets` (the next token) and
  `weights` (1 where the target is a response token or the closing eos: what DPO scores), plus
  `segment_ids` and `positions` of that side alone. A prompt longer than `max_prompt_tokens`, or
  one that leaves no room for a whole response in `seq_len`, loses tokens from its start; a
  response longer than `seq_len` allows is cut before its eos. Either is flagged in `truncated`.
  """

  def side(prompt: list[int], response: list[int]) -> tuple[list[int], int, bool]:
    room = seq_len - 2 - len(response)  # bos and eos
    cut = len(prompt) > room
    if cut:
      prompt = prompt[len(prompt) - max(room, 0):] if room > 0 else []
      response = response[:seq_len - 2 - len(prompt)]
    return [tokenizer.bos_id, *prompt, *response, tokenizer.eos_id], 1 + len(prompt), cut

  def transform(record: Features) -> Features:
    prompt = tokenizer.encode(template.format(prompt=record["prompt"]))
    truncated = False
    if max_prompt_tokens is not None:
      prompt, truncated = truncate(prompt, max_prompt_tokens, "left")
    sides = {name: side(prompt, tokenizer.encode(record[name])) for name in PAIR_SIDES}
    length = max(len(ids) for ids, _, _ in sides.values())
    out = {}
    for name, (ids, response_start, cut) in sides.items():
      truncated |= cut
      inputs = np.zeros(length, np.int32)
      inputs[:len(ids)] = ids
      targets = np.zeros(length, np.int32)
      targets[:len(ids) - 1] = ids[1:]
      weights = np.zeros(length, np.int32)
      weights[response_start - 1:len(ids) - 1] = 1
      segments = (np.arange(length) < len(ids)).astype(np.int32)
      out.update({f"{name}_inputs": inputs, f"{name}_targets": targets, f"{name}_weights": weights,
                  f"{name}_segment_ids": segments, f"{name}_positions": np.arange(length, dtype=np.int32) * segments})
    out["truncated"] = _flag(length, truncated)
    return out

  return transform
