"""lm's default causal-LM recipe against the reference GPT-2 recipe in PyTorch, on world/text, over seeds.

  pip install -e ".[bench]"   # CPU torch and transformers
  python -m benchmarks.recipe_parity --workdir=runs/recipe_parity [--seeds=0,1,2]
  python -m benchmarks.recipe_parity --workdir=runs/recipe_parity --name=lm_bias \\
      --lm_flags=--config.model.projection_bias=all          # an ablation: lm with one default changed

Same shape, steps and optimisation for both: `configs/pretrain/clm.py:tiny` (4 layers, width 128, 4 heads, MLP 512,
rows of 128 tokens, batch 32, 400 steps; AdamW peak 3e-3, warmup 40, cosine to 10%, b2 0.95, weight decay 0.1 on
weight matrices and embeddings, global-norm clip 1.0), the same tokenizer (lm's, trained on the world).

- lm: `python -m experiments.pretrain --config=configs/pretrain/clm.py:tiny --config.seed=S` exactly as a user runs it:
  lm's init, norms and data order (documents `bos ids` -> `ids eos`, long ones split into chunks shuffled apart,
  packed into rows with attention kept inside each document).
- reference: `transformers`' `GPT2LMHeadModel` (its init: normal 0.02, residual projections scaled by 1/sqrt(2L);
  biases everywhere; LayerNorm eps 1e-5) trained by a plain PyTorch loop (`torch.optim.AdamW`, decay on tensors of
  two or more dimensions, `clip_grad_norm_`, `transformers`' cosine-with-floor schedule) on independent windows of
  129 tokens drawn at random offsets from the concatenated training stream, as nanoGPT samples them.

Evaluation is the same for both: the validation split as one stream of documents (`bos ids eos` each), cut into
consecutive windows of 129 tokens; the loss is the mean NLL over every target token that is not a document's `bos`
(which follows `eos` deterministically and only the stream-trained reference would be credited for). lm scores a
window as it trains (attention and positions restart at each document start inside the window), the reference as it
trains (one causal stream). Each run writes `DIR/<name>/seed_<S>.json` and is skipped when that file exists; the
table of every name in DIR (mean, sample standard deviation, standard error over seeds) goes to `DIR/summary.md`.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import flags

from experiments import cli
from lm import settings
from lm.data import corpus, sources
from lm.training import pretrain

_WORKDIR = flags.DEFINE_string("workdir", "runs/recipe_parity", "Where runs, results and the summary go.")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (model init and data order of both).")
_NAME = flags.DEFINE_string("name", "", "Which run: 'lm', 'reference', or a variant's name (ablations). Empty: both "
                            "lm and reference.")
_LM_FLAGS = flags.DEFINE_list("lm_flags", [], "Extra experiments.pretrain flags for an lm variant.")
_STEPS = flags.DEFINE_integer("steps", 0, "Train steps of both (0: the preset's 400).")
_DATA_DIR = flags.DEFINE_string("data_dir", os.environ.get("LM_DATA_DIR", "data"), "Dataset and tokenizer cache.")
_EVAL_WINDOWS = flags.DEFINE_integer("eval_windows", 1024, "Validation windows scored (0: every one).")

CONFIG = "configs/pretrain/clm.py:tiny"


def base_config():
  c = settings.load_config(CONFIG)
  c.data.data_dir = _DATA_DIR.value
  c.train.steps = _STEPS.value or c.train.steps
  return c


def tokenizer_and_stream(config, split: str):
  spec = pretrain.data_spec(config.data)
  tok = corpus.load_tokenizer(settings.section(corpus.TokenizerConfig, config.tokenizer, "tokenizer"), spec)
  source = sources.open_split(spec, split)
  docs = [np.asarray([tok.bos_id, *tok.encode(source[i]["text"]), tok.eos_id], np.int64) for i in range(len(source))]
  return tok, docs


def validation_windows(docs: list[np.ndarray], length: int, limit: int) -> dict[str, np.ndarray]:
  """Consecutive windows of `length + 1` tokens of the stream, with each token's document index."""
  stream = np.concatenate(docs)
  doc = np.concatenate([np.full(len(d), i) for i, d in enumerate(docs)])
  n = (len(stream) - 1) // length
  n = min(n, limit) if limit else n
  tokens = np.stack([stream[i * length:i * length + length + 1] for i in range(n)])
  docs_of = np.stack([doc[i * length:i * length + length + 1] for i in range(n)])
  return {"tokens": tokens, "doc": docs_of}


def lm_scoring_batch(windows: dict[str, np.ndarray], bos_id: int) -> dict[str, np.ndarray]:
  """Windows as lm's rows: segments are documents (renumbered per row from 1), positions restart in each."""
  inputs, targets, doc = windows["tokens"][:, :-1], windows["tokens"][:, 1:], windows["doc"][:, :-1]
  segments = doc - doc[:, :1] + 1
  starts = np.concatenate([np.ones_like(segments[:, :1], bool), segments[:, 1:] != segments[:, :-1]], axis=1)
  index = np.arange(segments.shape[1])[None].repeat(len(segments), 0)
  positions = index - np.maximum.accumulate(np.where(starts, index, 0), axis=1)
  return {"inputs": inputs.astype(np.int32), "targets": targets.astype(np.int32),
          "weights": (targets != bos_id).astype(np.float32), "segment_ids": segments.astype(np.int32),
          "positions": positions.astype(np.int32)}


def lm_eval(workdir: str, batch: dict[str, np.ndarray], rows: int = 64) -> float:
  import jax  # pylint: disable=g-import-not-at-top
  from lm.objectives import causal  # pylint: disable=g-import-not-at-top
  from lm.training import runs  # pylint: disable=g-import-not-at-top

  run = runs.load(workdir)

  @jax.jit
  def summed(params, b):
    logits = run.model.apply({"params": params}, b["inputs"], b["segment_ids"], b["positions"])
    nll, _ = causal.token_cross_entropy(logits, b["targets"])
    return (nll * b["weights"]).sum()

  total = sum(float(summed(run.params, {k: v[i:i + rows] for k, v in batch.items()}))
              for i in range(0, len(batch["inputs"]), rows))
  return total / float(batch["weights"].sum())


def run_lm(seed: int, name: str, config, batch) -> dict:
  workdir = os.path.join(_WORKDIR.value, name, f"run_seed_{seed}")
  command = [sys.executable, "-m", "experiments.pretrain", f"--config={CONFIG}", f"--workdir={workdir}",
             f"--config.seed={seed}", f"--config.data.data_dir={_DATA_DIR.value}", f"--config.train.steps={config.train.steps}",
             "--config.train.progress_bar=False",
             *_LM_FLAGS.value]
  start = time.time()
  subprocess.run(command, check=True)
  return {"validation_nll": lm_eval(workdir, batch), "train_seconds": time.time() - start, "command": " ".join(command)}


def run_reference(seed: int, config, train_docs, windows, bos_id: int, eos_id: int) -> dict:
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  torch.manual_seed(seed)
  torch.set_num_threads(os.cpu_count() or 1)
  seq, batch_size, steps = config.data.seq_len, config.data.batch_size, config.train.steps
  opt_cfg, m = config.optimizer, config.model
  vocab = pretrain.model_config(config, max(int(d.max()) for d in train_docs) + 1).vocab_size
  model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
      vocab_size=vocab, n_positions=seq, n_embd=m.d_model, n_layer=m.num_layers, n_head=m.num_heads, n_inner=m.d_ff,
      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=bos_id, eos_token_id=eos_id))
  groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": opt_cfg.weight_decay},
            {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
  opt = torch.optim.AdamW(groups, lr=opt_cfg.learning_rate, betas=(opt_cfg.b1, opt_cfg.b2), eps=opt_cfg.eps)
  schedule = transformers.get_cosine_with_min_lr_schedule_with_warmup(
      opt, num_warmup_steps=opt_cfg.warmup_steps, num_training_steps=steps, min_lr_rate=opt_cfg.final_fraction)
  stream = torch.from_numpy(np.concatenate(train_docs))
  generator = torch.Generator().manual_seed(seed)
  start = time.time()
  model.train()
  for _ in range(steps):
    offsets = torch.randint(len(stream) - seq - 1, (batch_size,), generator=generator)
    rows = torch.stack([stream[o:o + seq + 1] for o in offsets.tolist()])
    logits = model(input_ids=rows[:, :-1]).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), rows[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), opt_cfg.clip_norm)
    opt.step()
    schedule.step()
  seconds = time.time() - start
  model.eval()
  tokens = torch.from_numpy(windows["tokens"])
  total, count = 0.0, 0.0
  with torch.no_grad():
    for i in range(0, len(tokens), 64):
      rows = tokens[i:i + 64]
      logits = model(input_ids=rows[:, :-1]).logits
      nll = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), rows[:, 1:].reshape(-1), reduction="none")
      weights = (rows[:, 1:] != bos_id).reshape(-1).float()
      total, count = total + float((nll * weights).sum()), count + float(weights.sum())
  return {"validation_nll": total / count, "train_seconds": seconds, "final_train_loss": loss.item()}


def summary(workdir: str) -> str:
  """Per run name: mean, sample sd and standard error over seeds, and the difference from the reference paired by
  seed (mean and its standard error), in nats and as a share of the reference's loss."""
  lines = ["| run | seeds | validation NLL (mean) | sd | stderr | minus reference, paired by seed | relative |",
           "|---|---|---|---|---|---|---|"]
  results = {}
  for path in sorted(glob.glob(os.path.join(workdir, "*", "seed_*.json"))):
    with open(path) as f:
      row = json.load(f)
    results.setdefault(os.path.basename(os.path.dirname(path)), {})[row["seed"]] = row["validation_nll"]
  reference = results.get("reference", {})
  for name, by_seed in sorted(results.items(), key=lambda kv: kv[0] != "reference"):
    v = np.asarray(list(by_seed.values()))
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    paired = np.asarray([by_seed[s] - reference[s] for s in by_seed if s in reference])
    diff = rel = ""
    if name != "reference" and len(paired):
      se = float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(paired) > 1 else float("nan")
      ref_mean = np.mean([reference[s] for s in by_seed if s in reference])
      diff = f"{paired.mean():+.4f} ± {se:.4f}"
      rel = f"{100 * paired.mean() / ref_mean:+.2f}% ± {100 * se / ref_mean:.2f}%"
    lines.append(f"| {name} | {len(v)} | {v.mean():.4f} | {sd:.4f} | {sd / np.sqrt(len(v)):.4f} | {diff} | {rel} |")
  return "\n".join(lines)


def main(argv):
  del argv
  config = base_config()
  names = [_NAME.value] if _NAME.value else ["reference", "lm"]
  tok, valid_docs = tokenizer_and_stream(config, "validation")
  windows = validation_windows(valid_docs, config.data.seq_len, _EVAL_WINDOWS.value)
  train_docs = None
  for name in names:
    for seed in map(int, _SEEDS.value):
      out = os.path.join(_WORKDIR.value, name, f"seed_{seed}.json")
      if os.path.exists(out):
        continue
      if name.startswith("reference"):
        if train_docs is None:
          train_docs = tokenizer_and_stream(config, "train")[1]
        result = run_reference(seed, config, train_docs, windows, tok.bos_id, tok.eos_id)
      else:
        result = run_lm(seed, name, config, lm_scoring_batch(windows, tok.bos_id))
      os.makedirs(os.path.dirname(out), exist_ok=True)
      settings.write_json(out, {"seed": seed, "name": name, **result})
      print(f"{name} seed {seed}: validation NLL {result['validation_nll']:.4f} ({result['train_seconds']:.0f} s)",
            flush=True)
  table = summary(_WORKDIR.value)
  settings.write_text(os.path.join(_WORKDIR.value, "summary.md"), table + "\n")
  print(table)


if __name__ == "__main__":
  cli.run(main)
