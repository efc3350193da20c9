"""Fine-tuning tasks as recipes: model, example transform, losses and task metric of each.

`TASKS[config.task]` is all `lm.training.finetune` needs to know about a task. Each task runs on
one or more architectures (`config.architecture`), and each architecture starts from one kind of
pretraining run (`PRETRAINED_BY`): a decoder from causal LM, an encoder from BERT, an
encoder-decoder from T5 span corruption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lm import settings
from lm.data import schemas, supervised
from lm.data.world import gold
from lm.data.world.instructions import TASKS as INSTRUCTION_FAMILIES
from lm.evaluation import generation, harness, prompts, spans, uncertainty
from lm.evaluation.suite import EvalTask
from lm.models.config import ModelConfig
from lm.models.encoder_decoder import EncoderDecoder
from lm.models.heads import Classifier
from lm.models.transformer import Decoder
from lm.objectives import classify, sft, span
from lm.sampling import decode
from lm.training import predict as predict_lib, recipes, rewards

DataLayout = recipes.DataLayout
# metrics, examples (dicts with the input, the reference and the model's output, for logging)
Evaluation = tuple[dict[str, float], list[dict[str, Any]]]
Evaluator = Callable[[Any, Sequence[dict]], Evaluation]  # (params, records) -> evaluation

# Which pretraining objective produces a backbone of each architecture.
PRETRAINED_BY = {"decoder": "causal", "encoder": "bert", "encoder_decoder": "span"}


@dataclasses.dataclass(frozen=True)
class Task:
  schema: str                                               # dataset schema (lm.data.schemas)
  architectures: tuple[str, ...]                            # allowed config.architecture values
  headline: str                                             # the metric the task is judged by
  model: Callable[[ModelConfig, Any], Any]                  # (model config, config) -> module
  layout: Callable[[Any, Any], DataLayout]                  # (config, tokenizer)
  losses: Callable[[Any, Any], tuple[Callable, Callable]]   # (model, config) -> (train, eval)
  evaluator: Callable[[Any, Any, Any], Evaluator]           # (model, config, tokenizer)
  heads: bool = False                                       # new parameters beside the backbone
  # (config, split) -> which records of that split the task uses (None = all): held-out families, one sub-task
  select: Callable[[Any, str], Callable[[dict], bool] | None] = lambda config, split: None


def backbone_key(task: Task) -> str:
  """Where pretrained parameters go in the task model's tree ("" = the whole tree)."""
  return "backbone" if task.heads else ""


def init_params(model, architecture: str, seq_len: int, decoder_len: int) -> Callable[[jax.Array], Any]:
  if architecture == "encoder_decoder":
    return recipes.RECIPES["span"].init_params(model, seq_len, decoder_len)
  return lambda rng: model.init(rng, jnp.ones((1, seq_len), jnp.int32))["params"]


def _sampling(config) -> decode.SamplingConfig:
  return decode.SamplingConfig(max_new_tokens=config.eval.max_new_tokens, temperature=0.0)


def _first(records: Sequence[dict], n: int) -> list[dict]:
  return [records[i] for i in range(min(n, len(records)))]


def _examples(records, outputs, references, config, key: str) -> list[dict[str, Any]]:
  return [{"input": r[key], "reference": ref, "output": out}
          for r, out, ref in zip(_first(records, config.eval.samples), outputs, references)]


# --- instruction tuning (decoder) -------------------------------------------------------------------

def _instruction_transform(config, tok, prompt_field="prompt", response_field="response"):
  opts = config.task_options
  return supervised.instruction(tok, opts.template, opts.max_prompt_tokens or None, truncate_side=opts.truncate_side,
                                prompt_field=prompt_field, response_field=response_field)


def _sft_losses(model, config):
  z = config.get("z_loss", 0.0)
  return sft.make_loss(model, z), sft.make_loss(model, z, train=False)


def _prompts(records, config, tok, field: str, max_len: int) -> tuple[list[list[int]], int]:
  """Generation prompts as the model saw them in training (template, same truncation), and how many were cut.

  A prompt and its `eval.max_new_tokens` must fit the model's `max_len` positions (learned
  positions past it do not exist: their embeddings would read as NaN); longer prompts lose their
  start, keeping bos and the end that asks for the response.
  """
  opts = config.task_options
  room = max_len - config.eval.max_new_tokens - 1  # bos takes a position too
  if room < 1:
    raise settings.ConfigError(f"eval.max_new_tokens={config.eval.max_new_tokens} leaves no room for a prompt in the "
                               f"model's max_len={max_len} positions; lower it.")
  out, cut = [], 0
  for record in records:
    ids = tok.encode(opts.template.format(prompt=record[field]))
    if opts.max_prompt_tokens:
      ids, _ = supervised.truncate(ids, opts.max_prompt_tokens, opts.truncate_side)
    ids, truncated = supervised.truncate(ids, room, "left")
    cut += truncated
    out.append([tok.bos_id, *ids])
  return out, cut


def _instruct_evaluator(model, config, tok) -> Evaluator:
  def evaluate(params, records):
    records = list(records)
    prompts, cut = _prompts(records, config, tok, "prompt", model.config.max_len)
    outputs = decode.complete(model, params, tok, prompts, _sampling(config), jax.random.key(config.seed),
                              batch_size=config.eval.batch_size)
    references = [r["response"] for r in records]
    families = [r["task"] for r in records]
    metrics = generation.exact_match(outputs, references, families)
    held = set(settings.names(config.task_options.get("held_out_families", "")))
    if held:  # what model selection may read: a held-out family must not choose the step it is tested at
      kept = [(o, r) for o, r, f in zip(outputs, references, families) if f not in held]
      metrics[f"exact_match/{TRAINED_FAMILIES}"] = generation.exact_match(*zip(*kept))["exact_match"] if kept else 0.0
    if config.data.dataset == "world/instructions":  # any right answer counts, not just the reference's wording
      metrics.update(generation.group_means("correct", [gold.correctness(r["prompt"], o) or 0.0
                                                        for r, o in zip(records, outputs)], families,
                                                       group_stderr=True))
    metrics["truncated_prompts_count"] = float(cut)
    return metrics, _examples(records, outputs, references, config, "prompt")

  return evaluate


TRAINED_FAMILIES = "trained_families"  # exact_match/trained_families: every family but the held-out ones


def _held_out(config, split):
  """Instruction families left out of training (task_options.held_out_families), to test zero-shot transfer to them.

  Only the train split is filtered: validation and test keep every family, so the held-out
  family's exact match (`exact_match/<family>`) and gold correctness (`correct/<family>`: any right answer, in any
  wording) are measured at every evaluation. Select by `exact_match/trained_families` (the others' exact match), so
  the held-out family never chooses the step or learning rate it is then tested with.
  """
  held = set(settings.names(config.task_options.get("held_out_families", "")))
  unknown = held - set(INSTRUCTION_FAMILIES)
  if config.data.dataset == "world/instructions" and unknown:
    raise settings.ConfigError(f"task_options.held_out_families: unknown families {sorted(unknown)}; the world's "
                               f"are {', '.join(INSTRUCTION_FAMILIES)}.")
  return (lambda record: record["task"] not in held) if held and split == "train" else None


# --- multiple choice (decoder): the few-shot tasks, fine-tuned on k examples -----------------------

def _choice_template(config) -> prompts.Template:
  return prompts.template(config.task_options.template)


def _choice_layout(config, tok):
  tmpl = _choice_template(config)

  def transform(record):
    item = prompts.from_fewshot(record)
    context = prompts.encode(tok, prompts.segments(tmpl, [], item))
    return supervised.prompt_response(context, tok.encode(item.answer + tmpl.after_answer), tok.eos_id)

  return DataLayout(transform, (), pack=False, long_examples="truncate")


def _choice_select(config, split):
  names = set(settings.names(config.task_options.get("tasks", "")))
  return (lambda record: record["task"] in names) if names else None


def _choice_evaluator(model, config, tok) -> Evaluator:
  """Zero-shot likelihood scoring by the evaluation harness (`accuracy`, and `accuracy/<task>`)."""
  cfg = harness.HarnessConfig(shots=(0,), methods=("loglik",), batch_size=config.eval.batch_size, progress_bar=False)

  def evaluate(params, records):
    scorer = harness.Harness(model, params, tok, cfg, _choice_template(config), config.data.seq_len)
    items = [prompts.from_fewshot(r) for r in records]
    metrics, predictions = {}, []
    for name in dict.fromkeys(item.task for item in items):
      task_metrics, recs = scorer.evaluate(EvalTask(name, [i for i in items if i.task == name], []), 0)
      metrics[f"accuracy/{name}"] = task_metrics["accuracy"]
      predictions += recs
    hits = [float(r["chosen"] == r["label"]) for r in predictions]
    metrics.update(accuracy=float(np.mean(hits)), accuracy_stderr=uncertainty.stderr(hits), examples=float(len(items)))
    examples = [{"input": r["prompt"], "reference": r["answer"], "output": r["choices"][r["chosen"]]}
                for r in predictions[:config.eval.samples]]
    return metrics, examples

  return evaluate


# --- sequence and token classification (encoder or decoder) ---------------------------------------

def _ends(config, tok) -> dict[str, int]:
  if config.architecture == "encoder":
    return {"start_id": tok.require("cls_id"), "end_id": tok.require("sep_id")}
  return {"start_id": tok.bos_id, "end_id": tok.eos_id}


def _classifier(per_token: bool, labels: Sequence[str]):
  return lambda model_cfg, config: Classifier(model_cfg, len(labels), backbone=config.architecture,
                                              per_token=per_token)


def _classify_losses(per_token: bool):
  return lambda model, config: (classify.make_loss(model, per_token=per_token),
                                classify.make_loss(model, per_token=per_token, train=False))


def _sentiment_layout(config, tok):
  opts = config.task_options
  suffix = tok.encode(opts.suffix) if opts.get("suffix", "") else []
  ends = _ends(config, tok)
  if suffix and config.architecture == "decoder":
    ends["end_id"] = None  # read at the prompt's last piece: the position that predicts what the prompt asks for
  transform = supervised.classification(schemas.SENTIMENT_LABELS, **ends, seq_len=config.data.seq_len,
                                        truncate_side=opts.truncate_side, suffix=suffix)
  return DataLayout(transform, ("text",), pack=False)


def _ner_layout(config, tok):
  transform = supervised.token_classification(tok, schemas.NER_TAGS, **_ends(config, tok), seq_len=config.data.seq_len)
  return DataLayout(transform, (), pack=False)


def _predictor(model):
  """Jitted argmax class per row or token (compiled once per evaluator, reused every evaluation)."""
  return jax.jit(lambda params, batch: jnp.argmax(
      model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"]), axis=-1))


def _sentiment_evaluator(model, config, tok) -> Evaluator:
  layout, predict = _sentiment_layout(config, tok), _predictor(model)

  def evaluate(params, records):
    predicted, gold, truncated = [], [], 0
    for batch, pred_B in predict_lib.batches(predict, config, layout, tok, params, records):
      predicted += pred_B.tolist()
      gold += batch["label"].tolist()
      truncated += int(batch["truncated"].sum())
    predicted, gold = np.asarray(predicted), np.asarray(gold)
    metrics = {"accuracy": float(np.mean(predicted == gold)), "accuracy_stderr": uncertainty.stderr(predicted == gold),
               "examples": float(len(gold)),
               "truncated_count": float(truncated)}
    names = schemas.SENTIMENT_LABELS
    examples = [{"input": r["text"], "reference": names[g], "output": names[p]}
                for r, g, p in zip(_first(records, config.eval.samples), gold, predicted)]
    return metrics, examples

  return evaluate


def _ner_evaluator(model, config, tok) -> Evaluator:
  layout, predict = _ner_layout(config, tok), _predictor(model)
  tags = schemas.NER_TAGS

  def evaluate(params, records):
    gold, predicted, truncated = [], [], 0
    for batch, pred_BxT in predict_lib.batches(predict, config, layout, tok, params, records):
      truncated += int(batch["truncated"].sum())
      for labels, weights, pred in zip(batch["labels"], batch["label_weights"], pred_BxT):
        first_pieces = weights > 0  # one position per word that fitted
        gold.append([tags[i] for i in labels[first_pieces]])
        predicted.append([tags[i] for i in pred[first_pieces]])
    metrics = spans.span_f1(gold, predicted)
    metrics.update(examples=float(len(gold)), truncated_count=float(truncated))
    examples = [{"input": " ".join(r["tokens"]), "reference": " ".join(g), "output": " ".join(p)}
                for r, g, p in zip(_first(records, config.eval.samples), gold, predicted)]
    return metrics, examples

  return evaluate


# --- translation (encoder-decoder, or decoder with the source as prompt) --------------------------

def _translation_model(model_cfg, config):
  return EncoderDecoder(model_cfg) if config.architecture == "encoder_decoder" else Decoder(model_cfg)


def _translation_layout(config, tok):
  opts = config.task_options
  if config.architecture == "decoder":
    return DataLayout(_instruction_transform(config, tok, opts.source_field, opts.target_field), (),
                      pack=config.data.pack, long_examples="truncate")
  transform = supervised.seq2seq(bos_id=tok.bos_id, eos_id=tok.eos_id, seq_len=config.data.seq_len,
                                 decoder_seq_len=config.data.decoder_seq_len, source_field=opts.source_field,
                                 target_field=opts.target_field)
  return DataLayout(transform, (opts.source_field, opts.target_field), pack=False,
                    decoder_seq_len=config.data.decoder_seq_len)


def _translation_losses(model, config):
  if config.architecture == "decoder":
    return _sft_losses(model, config)
  z = config.get("z_loss", 0.0)
  return span.make_loss(model, z_loss=z), span.make_loss(model, z_loss=z, train=False)


def _translation_evaluator(model, config, tok) -> Evaluator:
  opts = config.task_options

  def evaluate(params, records):
    records = list(records)
    rng = jax.random.key(config.seed)
    cut = 0
    if config.architecture == "decoder":
      prompts, cut = _prompts(records, config, tok, opts.source_field, model.config.max_len)
      outputs = decode.complete(model, params, tok, prompts, _sampling(config), rng, batch_size=config.eval.batch_size)
    else:
      sources = [tok.encode(r[opts.source_field])[:config.data.seq_len - 1] + [tok.eos_id] for r in records]
      outputs = generation.translate(model, params, tok, sources, _sampling(config), rng,
                                     batch_size=config.eval.batch_size)
    references = [r[opts.target_field] for r in records]
    metrics = {"bleu": generation.bleu(outputs, references), "bleu_stderr": generation.bleu_stderr(outputs, references),
               **generation.exact_match(outputs, references),
               "truncated_prompts_count": float(cut)}
    return metrics, _examples(records, outputs, references, config, opts.source_field)

  return evaluate


TASKS: dict[str, Task] = {
    "instruct": Task("instructions", ("decoder",), "exact_match", lambda m, c: Decoder(m),
                     lambda c, tok: DataLayout(_instruction_transform(c, tok), (), pack=c.data.pack,
                                               long_examples="truncate"),  # a chunk without its prompt is useless
                     _sft_losses, _instruct_evaluator, select=_held_out),
    "choice": Task("fewshot", ("decoder",), "accuracy", lambda m, c: Decoder(m), _choice_layout, _sft_losses,
                   _choice_evaluator, select=_choice_select),
    "sentiment": Task("sentiment", ("encoder", "decoder"), "accuracy", _classifier(False, schemas.SENTIMENT_LABELS),
                      _sentiment_layout, _classify_losses(False), _sentiment_evaluator, heads=True),
    "ner": Task("ner", ("encoder", "decoder"), "span_f1", _classifier(True, schemas.NER_TAGS), _ner_layout,
                _classify_losses(True), _ner_evaluator, heads=True),
    "translation": Task("translation", ("encoder_decoder", "decoder"), "bleu", _translation_model,
                        _translation_layout, _translation_losses, _translation_evaluator),
    # A scalar score on the decoder's last token, from preference pairs (Bradley-Terry); see lm.training.rewards.
    "reward": Task("preferences", ("decoder",), "rm_accuracy", rewards.model, rewards.layout, rewards.losses,
                   rewards.evaluator, heads=True),
}


def task(config) -> Task:
  """`TASKS[config.task]`, checked against `config.architecture`."""
  if config.task not in TASKS:
    raise settings.ConfigError(f"Unknown task {config.task!r}; expected one of {sorted(TASKS)}.")
  t = TASKS[config.task]
  if config.architecture not in t.architectures:
    raise settings.ConfigError(f"task {config.task!r} runs on architecture {' or '.join(t.architectures)}; "
                               f"config.architecture is {config.architecture!r}.")
  return t
