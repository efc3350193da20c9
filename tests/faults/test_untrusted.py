"""Checkpoints and prepared data are never pickled, so a checkpoint from elsewhere cannot run code when loaded."""

import base64
import io
import json
import os
import pickle
import sys
import types

import numpy as np
import pytest

from lm.data import corpus, sources, world
from lm.rl import source as rl_source
from lm.training import checkpoint, pretrain
from tests.conftest import tiny_pretrain_config

UNPICKLED: list[str] = []   # globals an unpickler looked up while the audit hook was armed
ARMED = [False]


def _audit(event, args):
  if ARMED[0] and event == "pickle.find_class":  # fired before any unpickled global (hence any code) is resolved
    if not _in_tensorboard_writer():
      UNPICKLED.append(f"{args[0]}.{args[1]}")


def _in_tensorboard_writer() -> bool:
  """tensorboardX hands its own in-memory Event protos to its writer thread through a multiprocessing queue
  (pickled there and back, never read from a file): not a checkpoint or data read, so not counted."""
  frame = sys._getframe(2)  # pylint: disable=protected-access
  while frame is not None:
    if "tensorboardX" in frame.f_code.co_filename:
      return True
    frame = frame.f_back
  return False


sys.addaudithook(_audit)  # hooks cannot be removed; this one records only while ARMED


@pytest.fixture
def pickle_watch(monkeypatch):
  """Records every pickling through the `pickle` module and every global an unpickler resolves."""
  pickled = []
  for name in ("dump", "dumps"):
    original = getattr(pickle, name)
    monkeypatch.setattr(pickle, name, lambda *a, _o=original, _n=name, **k: (pickled.append(_n), _o(*a, **k))[1])
  UNPICKLED.clear()
  ARMED[0] = True
  yield pickled
  ARMED[0] = False


def pickle_streams(root):
  """Files under `root` that start like a pickle (protocol 2-5 header)."""
  found = []
  for folder, _, files in os.walk(root):
    for name in files:
      with open(os.path.join(folder, name), "rb") as f:
        head = f.read(2)
      if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        found.append(os.path.join(folder, name))
  return found


def test_preparing_data_training_resuming_and_restoring_never_pickle(pickle_watch, text_files, tmp_path):
  data_dir, workdir = str(tmp_path / "data"), str(tmp_path / "run")
  spec = sources.DatasetSpec("world/sentiment", data_dir, world=world.WorldConfig(scale=0.005, seed=7))
  assert len(sources.open_split(spec, "train")) > 0                  # a TFDS builder prepared from scratch
  config = tiny_pretrain_config(text_files, data_dir, steps=4, checkpoint_every=2, eval_every=4)
  pretrain.run(config, workdir)                                      # tokenizer trained, data prepared, saved
  config.train.steps = 6
  pretrain.run(config, workdir)                                      # restored (state and data iterator), saved
  import jax  # pylint: disable=g-import-not-at-top
  mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"))
  shapes = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), mngr.item_metadata(6)["state"]["params"],
                        is_leaf=lambda m: hasattr(m, "shape"))
  mngr.close()
  assert jax.tree.leaves(checkpoint.restore_params(os.path.join(workdir, "checkpoints"), shapes))  # init_from's read
  corpus.load_tokenizer(corpus.TokenizerConfig(datasets=("files/text",), vocab_size=400, num_sentinels=8),
                        sources.DatasetSpec("files/text", data_dir, files=text_files))
  assert pickle_watch == [], "something was pickled"
  assert UNPICKLED == [], f"an unpickler resolved {UNPICKLED}"
  assert pickle_streams(data_dir) == [] and pickle_streams(workdir) == []


class _Payload:
  def __reduce__(self):
    return (os.system, ("touch PWNED",))


def test_a_rollout_state_carrying_a_pickled_object_is_refused_without_running_it(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  buffer = io.BytesIO()
  np.savez(buffer, inputs=np.array([_Payload()], dtype=object))   # what a tampered checkpoint would hold
  state = json.dumps({"iteration": 1, "next": 0, "kl_coef": 0.1, "pending": [],
                      "buffer": base64.b64encode(buffer.getvalue()).decode()}).encode()
  with pytest.raises(ValueError, match="allow_pickle"):
    rl_source.RolloutSource.set_state(types.SimpleNamespace(), state)
  assert not (tmp_path / "PWNED").exists()
  with pytest.raises(TypeError, match="only numeric arrays are checkpointed"):
    rl_source._encode({"inputs": np.array([object()], dtype=object)})  # pylint: disable=protected-access
