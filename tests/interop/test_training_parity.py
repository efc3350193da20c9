"""Training-trajectory parity: `lm`'s train step against a plain PyTorch loop on a `transformers` GPT-2.

A random GPT-2 (biases, learned positions, tied embeddings) is imported into `lm`; both then train on the same
batches, exported from `lm`'s own pipeline (packed rows: several documents per row, long documents split, padding),
with AdamW, the matrices-only weight-decay mask, global-norm clipping and warmup + cosine written the PyTorch way:
`torch.optim.AdamW`, `clip_grad_norm_`, `transformers`' cosine-with-floor schedule, and a loss that reads only the
token ids and segment ids (padding ignored, attention kept inside each document). Any difference in the optimiser,
the loss or the model shows up in the per-step losses.
"""

import random

import numpy as np
import pytest
import torch
import transformers

import jax
import jax.numpy as jnp

from lm.data import pipeline, transforms
from lm.interop import convert
from lm.objectives import causal
from lm.training import optimizers, sharding, state as state_lib, step as step_lib
from tests.interop import hf_models

STEPS, WARMUP, SEQ_LEN, BATCH = 150, 15, 32, 8
OPTIMIZER = optimizers.OptimizerConfig(learning_rate=3e-3, warmup_steps=WARMUP, decay="cosine", final_fraction=0.1,
                                       b1=0.9, b2=0.95, eps=1e-8, weight_decay=0.1, clip_norm=1.0)
NO_DROPOUT = dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)


def _documents(n: int, seed: int = 0) -> list[dict]:
  """Short documents, and long ones (several joined) that the pipeline must split into chunks."""
  rng = random.Random(seed)
  names, cities = ["Ada", "Brin", "Cato", "Dara", "Eli"], ["Varn", "Oskel", "Tirra", "Mosk"]
  docs = []
  for i in range(n):
    parts = []
    for _ in range(1 + (i % 4 == 0) * 3):
      who, where = rng.choice(names), rng.choice(cities)
      count = " ".join(str(rng.randint(1, 5) + k) for k in range(rng.randint(2, 6)))
      parts.append(f"{who} was born in {where}. {count}. Everyone in {where} knows {who}.")
    docs.append({"text": " ".join(parts)})
  return docs


def _exported_batches(tokenizer, eos_id: int) -> list[dict]:
  config = pipeline.PipelineConfig(seq_len=SEQ_LEN, batch_size=BATCH, seed=0, worker_threads=1)
  ds = pipeline.build(_documents(400), config=config, transform=transforms.causal_lm(eos_id, eos_id),
                      tokenizer=tokenizer, text_fields=("text",))
  it = iter(ds)
  return [next(it) for _ in range(STEPS)]


def _reference_loss(model, batch) -> torch.Tensor:
  """GPT-2's loss computed from the rows alone: attention causal within each segment, padding (segment 0) ignored."""
  ids, segments = torch.tensor(batch["inputs"]).long(), torch.tensor(batch["segment_ids"]).long()
  positions, targets = torch.tensor(batch["positions"]).long(), torch.tensor(batch["targets"]).long()
  t = ids.shape[1]
  causal_mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
  allowed = (segments[:, :, None] == segments[:, None, :]) & causal_mask & (segments[:, :, None] > 0)
  allowed |= torch.eye(t, dtype=torch.bool)  # padding attends to itself (no all-masked rows); its loss is ignored
  mask = torch.zeros(allowed.shape, dtype=torch.float32).masked_fill(~allowed, torch.finfo(torch.float32).min)
  logits = model(input_ids=ids, attention_mask=mask[:, None], position_ids=positions).logits
  labels = targets.masked_fill(segments == 0, -100)
  return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def _train_reference(model, batches) -> list[float]:
  matrices = [p for p in model.parameters() if p.dim() >= 2]
  others = [p for p in model.parameters() if p.dim() < 2]
  opt = torch.optim.AdamW([{"params": matrices, "weight_decay": OPTIMIZER.weight_decay},
                           {"params": others, "weight_decay": 0.0}], lr=OPTIMIZER.learning_rate,
                          betas=(OPTIMIZER.b1, OPTIMIZER.b2), eps=OPTIMIZER.eps)
  schedule = transformers.get_cosine_with_min_lr_schedule_with_warmup(
      opt, num_warmup_steps=WARMUP, num_training_steps=STEPS, min_lr_rate=OPTIMIZER.final_fraction)
  losses = []
  for batch in batches:
    loss = _reference_loss(model, batch)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), OPTIMIZER.clip_norm)
    opt.step()
    schedule.step()
    losses.append(loss.item())
  return losses


def _train_lm(lm_model, params, batches) -> tuple[list[float], dict]:
  mesh = sharding.make_mesh(sharding.MeshConfig(data=1), jax.devices()[:1])
  opt, schedule = optimizers.make_optimizer(OPTIMIZER, STEPS)
  state, shardings = state_lib.create(lambda _: params, opt, mesh, jax.random.key(0))
  train_step = step_lib.make_train_step(causal.make_loss(lm_model), opt, state_shardings=shardings,
                                        batch_sharding=sharding.batch_sharding(mesh), seed=0, schedule=schedule)
  losses = []
  for batch in batches:
    state, metrics = train_step(state, {k: jnp.asarray(v) for k, v in batch.items()})
    losses.append(float(metrics["loss"]))
  return losses, jax.device_get(state.params)


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp("gpt2_parity"))
  model, tokenizer = hf_models.build("gpt2", directory, n_positions=SEQ_LEN, **NO_DROPOUT)
  imported = convert.read_checkpoint(directory)
  lm_model, _ = convert.fresh_params(imported.family.objective, imported.model_config)
  batches = _exported_batches(imported.tokenizer, tokenizer.eos_token_id)
  lm_losses, lm_params = _train_lm(lm_model, imported.params, batches)
  torch.manual_seed(0)
  reference_losses = _train_reference(model, batches)
  trained = str(tmp_path_factory.mktemp("gpt2_trained"))
  model.save_pretrained(trained)
  return batches, np.array(lm_losses), np.array(reference_losses), lm_params, convert.read_checkpoint(
      trained, with_tokenizer=False).params


def test_exported_batches_are_packed_split_and_shifted(trajectories):
  """The batches exercise what the loss must get right: several documents per row, padding, split documents; and
  every target is the next input of its own segment."""
  batches = trajectories[0]
  segments = np.stack([b["segment_ids"] for b in batches])
  assert segments.max() >= 3                          # rows hold several documents
  assert (segments == 0).any()                        # ... and padding
  inputs, targets = np.stack([b["inputs"] for b in batches]), np.stack([b["targets"] for b in batches])
  same = (segments[..., 1:] == segments[..., :-1]) & (segments[..., 1:] > 0)
  np.testing.assert_array_equal(targets[..., :-1][same], inputs[..., 1:][same])


def test_per_step_losses_agree(trajectories):
  """The issue asks for 1e-4 relative over the first 20 steps and 1e-3 to the end; measured: under 1e-6 throughout."""
  _, lm_losses, reference_losses, _, _ = trajectories
  relative = np.abs(lm_losses - reference_losses) / reference_losses
  assert relative[:20].max() < 1e-5, relative[:20]
  assert relative.max() < 1e-4, relative.max()
  assert lm_losses[-10:].mean() < lm_losses[0] - 1.0  # both really trained


def test_final_parameters_agree(trajectories):
  """Every tensor within 1e-4 of its norm after 150 steps. The key bias is the exception: softmax cancels it, so its
  exact gradient is zero and both optimisers move it by Adam-normalised rounding noise alone (relative ~1e-3).

  This is the test that caught `lm` decaying the per-head attention biases ([heads, head_dim]: two dimensions here,
  one in PyTorch) under a "two or more dimensions" decay rule: 2% apart after 150 steps."""
  _, _, _, lm_params, reference_params = trajectories
  flat_lm = jax.tree_util.tree_leaves_with_path(lm_params)
  flat_ref = dict(jax.tree_util.tree_leaves_with_path(reference_params))
  assert len(flat_lm) == len(flat_ref)
  for path, value in flat_lm:
    name = jax.tree_util.keystr(path)
    expected = np.asarray(flat_ref[path])
    relative = np.linalg.norm(np.asarray(value) - expected) / np.linalg.norm(expected)
    assert relative < (1e-2 if "['key']['bias']" in name else 1e-4), (name, relative)
