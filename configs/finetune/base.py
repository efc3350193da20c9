"""What every fine-tuning task shares; each task's config (sentiment.py, ner.py, ...) derives from it.

Not run directly. Derived from configs/pretrain/clm.py, so the model presets, tokenizer, optimizer,
train and mesh sections have the same fields (and shapes) as the pretraining runs they start from.
"""

import os

import ml_collections

from lm import settings


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  c = settings.load_config(os.path.join(os.path.dirname(__file__), "..", "pretrain", f"clm.py:{preset}"))
  del c["objective"]
  c.task = ""                      # key of lm.training.tasks.TASKS (set by each task's config)
  c.architecture = ""              # "decoder" | "encoder" | "encoder_decoder" (tasks allow some of them)
  # A pretraining run to start from: its --workdir, its checkpoints/ dir, or one step in it. Empty: from
  # scratch. The backbone is restored, new heads are initialised, and the run's tokenizer is reused.
  c.init_from = ""

  c.data.pack = False              # one example per row (classification labels are per row)
  c.data.train_examples = 0        # label budget: train on this many records of the train split (0 = all)
  c.data.sample_seed = 0           # which records a budget keeps (nested: 50 of them are the first of 200)

  c.adapt = ml_collections.ConfigDict()
  c.adapt.freeze_backbone = False  # train only the new head (linear probing); tasks with heads only
  c.adapt.lora_rank = 0            # >0: train rank-r LoRA adapters on attention and MLP kernels (and new heads) only
  c.adapt.lora_alpha = 16.0        # adapters' update scale is alpha / rank
  c.adapt.lora_targets = ("attention", "mlp")  # kernels whose parameter path contains one of these

  c.eval = ml_collections.ConfigDict()
  c.eval.validation_examples = 200  # validation records scored by the task metric at each evaluation (0 = all)
  c.eval.test_examples = 0          # test records scored at the end, written to DIR/results.json (0 = all)
  c.eval.batch_size = 64            # rows per prediction or generation batch
  c.eval.max_new_tokens = 48        # generation budget (instructions, translation); decoding is greedy
  c.eval.samples = 3                # (input, reference, output) examples logged and kept in DIR/samples.jsonl

  # Fine-tuning is short: a brief warmup, then cosine decay; a lower rate than pretraining's.
  if preset == "tiny":
    c.train.steps, c.train.eval_every, c.train.checkpoint_every, c.train.log_every = 300, 100, 100, 25
  c.optimizer.learning_rate = 1e-3 if preset == "tiny" else 1e-4
  c.optimizer.warmup_steps = 30 if preset == "tiny" else 100
  c.optimizer.weight_decay = 0.01
  return c
