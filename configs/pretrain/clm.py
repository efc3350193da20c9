"""Causal language-model pretraining (GPT-style next-token prediction) on the built-in world.

  python -m experiments.pretrain --config=configs/pretrain/clm.py:tiny --workdir=/tmp/clm_tiny
  python -m experiments.pretrain --config=configs/pretrain/clm.py:small --workdir=/tmp/clm_small \
      --config.data.dataset=lm1b --config.train.steps=100000

The argument after the colon picks a model preset (tiny, small, base; see lm/models/config.py);
any field below can be overridden with --config.<section>.<field>=value.
"""

import os

import ml_collections

from lm.data.world import config as world_config
from lm.models import config as model_presets
from lm.training import tracking

# Per-preset run shape: (sequence length, global batch, steps, peak learning rate, warmup).
RUNS = {
    "tiny": (128, 32, 400, 3e-3, 40),       # about 4 minutes on 2 CPU cores (make demo)
    "small": (512, 64, 20_000, 1e-3, 500),  # one accelerator
    "base": (1024, 256, 100_000, 6e-4, 2000),
}


# The built-in world's generation (lm.data.world.WorldConfig): seed and size, and the knobs that change what it
# teaches before any label (Zx lessons in world/text; the large evaluative lexicon of reviews; reviewers' reactions in
# world/text, which reveal each adjective's polarity; quiz pages of solved questions and their style; fiction about
# made-up worlds; recaps that repeat a document's sentences; roll calls read twice). See the README.
WORLD = world_config.config_knobs()


def get_config(preset: str = "tiny") -> ml_collections.ConfigDict:
  model = model_presets.preset(preset)  # raises for an unknown preset, listing the valid ones
  seq_len, batch, steps, lr, warmup = RUNS[preset]
  c = ml_collections.ConfigDict()
  c.seed = 0                               # parameter init, data order and dropout all derive from it
  c.objective = "causal"                   # key of lm.training.pretrain.OBJECTIVES
  c.z_loss = 0.0                           # weight of the log-partition penalty (PaLM uses 1e-4)

  c.model = ml_collections.ConfigDict()
  c.model.vocab_size = 0                   # 0: the tokenizer's size rounded up to a multiple of 128
  c.model.num_layers = model["num_layers"]
  c.model.d_model = model["d_model"]       # residual width
  c.model.num_heads = model["num_heads"]
  c.model.num_kv_heads = 0                 # 0: as many as query heads; fewer = grouped-query attention
  c.model.head_dim = 0                     # 0: d_model // num_heads
  c.model.d_ff = model["d_ff"]             # MLP hidden width
  c.model.activation = "gelu"              # "gelu" | "swiglu"
  c.model.norm = "layernorm"               # "layernorm" | "rmsnorm"
  c.model.norm_eps = 1e-6                  # GPT-2 uses 1e-5
  # Biases on the attention and MLP projections: "all" (GPT-2), "qkv" (Qwen2) or "none" (Llama). "all" measured
  # 0.022 +- 0.010 nats better than "none" at tiny (3 seeds; README "Training parity with PyTorch").
  c.model.projection_bias = "all"
  c.model.init_std = 0.02                  # normal init; residual output projections get / sqrt(2 * layers)
  c.model.positions = "learned"            # "learned" | "rotary"
  c.model.max_len = model["max_len"]       # longest sequence the model accepts
  c.model.attention = "auto"               # "auto" | "xla" | "cudnn" | "einsum" (auto: cuDNN on GPU, einsum on CPU)
  c.model.dropout = 0.0                    # small models on plenty of data do not need it
  c.model.tie_embeddings = True            # share the input embedding with the output projection
  c.model.param_dtype = "float32"
  c.model.dtype = "float32"                # "bfloat16" for mixed precision on accelerators
  c.model.scan_layers = False              # nn.scan over layers: faster compiles for deep models
  c.model.remat = "none"                   # "none" | "full" | "dots": trade compute for memory

  c.data = ml_collections.ConfigDict()
  c.data.dataset = "world/text"            # world/<view>, files/text (+ data.files) or a catalog name (lm1b, c4)
  # Instead of data.dataset, a weighted mixture "NAME[:FIELD]=WEIGHT, ...": e.g. "world/text=3, world/translation:zx=1"
  # adds the Zx side of the translation pairs as documents (lm/data/mixture.py). Empty: data.dataset alone.
  c.data.mixture = ""
  c.data.data_dir = os.environ.get("LM_DATA_DIR", "data")  # prepared datasets and tokenizers are cached here
  # For files/<schema>: a path (or comma-separated paths) per split, e.g. --config.data.files.train=a.txt
  c.data.files = ml_collections.ConfigDict({"train": "", "validation": "", "test": ""})
  c.data.world = ml_collections.ConfigDict(WORLD)  # the built-in world's generation
  c.data.seq_len = seq_len                 # tokens per packed row
  c.data.batch_size = batch                # global rows per step (split over processes and devices)
  c.data.pack = True                       # pack documents into full rows (segment-masked attention)
  c.data.packing_bins = 128                # rows the packer fills at once: more, less padding (16: 95.0% full)
  # Chunks of split documents shuffled together in windows of this many, so a batch draws on many documents
  # (35.6 per 32 rows of world/text, against 12.7 with 0: each document's chunks consecutive).
  c.data.shuffle_window = 1024
  # Record shards, each its own pipeline of batch_size/shards rows; 0 = one per process. Fix it (to a multiple of
  # every process count you will use) and the batches, so the loss curve, no longer depend on the process count.
  c.data.shards = 0

  c.tokenizer = ml_collections.ConfigDict()
  c.tokenizer.model_file = ""              # a SentencePiece .model to use instead of training one
  c.tokenizer.datasets = ("world/text", "world/translation", "world/instructions")  # trained on these
  c.tokenizer.sample_per_dataset = 20_000  # records sampled from each for training the tokenizer
  c.tokenizer.vocab_size = 4096
  c.tokenizer.num_sentinels = 64           # <extra_id_i> tokens for T5 span corruption
  c.tokenizer.model_type = "unigram"       # "unigram" | "bpe"
  c.tokenizer.seed = 0

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adamw"               # "adamw" | "adafactor" | "sgd"
  c.optimizer.learning_rate = lr           # peak, after warmup
  c.optimizer.warmup_steps = warmup
  c.optimizer.decay = "cosine"             # "cosine" | "linear" | "constant"
  c.optimizer.final_fraction = 0.1         # final rate as a fraction of the peak
  c.optimizer.b1 = 0.9
  c.optimizer.b2 = 0.95
  c.optimizer.eps = 1e-8
  c.optimizer.weight_decay = 0.1           # matrices only
  c.optimizer.clip_norm = 1.0              # global gradient norm; 0 disables

  c.train = ml_collections.ConfigDict()
  c.train.steps = steps
  c.train.log_every = 50                   # train metrics averaged over this many steps
  c.train.eval_every = 100 if preset == "tiny" else 1000  # validation every N steps and at the end
  c.train.eval_batches = 20                # validation batches per evaluation (0 = whole split)
  c.train.eval_at_start = False           # also evaluate step 0 (model selection may keep the start)
  c.train.checkpoint_every = 200 if preset == "tiny" else 1000  # orbax checkpoint every N steps, at the end, on SIGTERM
  c.train.keep_checkpoints = 3
  c.train.accum_steps = 1                  # gradient accumulation: microbatches per step
  c.train.max_skipped_in_a_row = 20        # consecutive non-finite updates before the run stops
  c.train.progress_bar = True
  c.train.profile_steps = ""              # "a,b": profiler trace of updates a..b into workdir/tensorboard
  # Model selection on validation: "" keeps the last step; an eval metric ("loss", "exact_match", "gold_agreement",
  # ...) keeps the parameters of its best evaluation in workdir/best/, used for test figures and by later stages.
  c.train.select_metric = ""
  c.train.select_mode = "max"              # "max" or "min" (losses)
  c.train.select_patience = 0              # early stopping: evaluations without a better value (0: never stop early)
  # Weights & Biases beside metrics.jsonl and TensorBoard (lm/training/tracking.py; pip install -e ".[wandb]").
  # --config.logging.wandb=True [--config.logging.wandb_mode=offline --config.logging.wandb_project=...]: the
  # project defaults to the work dir's parent directory name, the run to the work dir's name.
  c.logging = ml_collections.ConfigDict(tracking.config_defaults())

  c.mesh = ml_collections.ConfigDict()
  c.mesh.data = -1                         # data parallelism; -1 = every device left over
  c.mesh.fsdp = 1                          # fully sharded data parallelism (parameters split too)
  c.mesh.tensor = 1                        # tensor parallelism inside layers
  return c


def get_sweep(preset: str = "tiny") -> list[dict]:
  """`python -m experiments.sweep --config=configs/pretrain/clm.py:<preset> --workdir=DIR`: learning rate x seed.

  Dotted keys as `--config.a.b=v` takes them; `--grid=...` on the command line multiplies these points.
  """
  _, _, _, lr, _ = RUNS[preset]
  return [{"optimizer.learning_rate": lr * f, "seed": seed} for f in (0.5, 1.0, 2.0) for seed in (0, 1)]

