"""What a run writes beside its checkpoints, and when: its resolved config and its tokenizer.

Both are written only once the run's state is known to fit: a fresh start, or a checkpoint that
passed the compatibility check. A refused resume (another model shape, another tokenizer) therefore
leaves the directory as it was, and `sample`, `evaluate` and `init_from` keep reading the config and
tokenizer its checkpoints were trained with.
"""

from __future__ import annotations

import dataclasses
import os

from flax import traverse_util

from lm import settings
from lm.data import tokenizer as tokenizer_lib

CONFIG_FILE = "config.json"
# Every run saves the tokenizer it trained with beside its checkpoints, under the tokenizer's `filename`: lm's
# SentencePiece model here, or an imported Hugging Face checkpoint's (lm.interop.tokenizer.FILENAME).
TOKENIZER_FILE = tokenizer_lib.Tokenizer.filename


@dataclasses.dataclass(frozen=True)
class RunFiles:
  workdir: str
  config: dict                      # the resolved config (settings.to_dict)
  tokenizer: bytes | None = None    # the tokenizer's serialised model; its ids index the checkpoint's embeddings
  tokenizer_file: str = TOKENIZER_FILE  # its file name: a SentencePiece model, or a Hugging Face tokenizer bundle

  def check_resume(self) -> None:
    """Before resuming: the tokenizer must be the one the checkpoints were trained with.

    A tokenizer retrained with other settings can have the same vocabulary size (it is rounded up to
    a multiple of 128), so shapes agree while every token id means something else.
    """
    path = os.path.join(self.workdir, self.tokenizer_file)
    if self.tokenizer is None or not os.path.isfile(path):
      return
    with open(path, "rb") as f:
      saved = f.read()
    if saved != self.tokenizer:
      raise settings.ConfigError(
          f"{path}: this run's checkpoints were trained with that tokenizer, but the config now builds a different "
          "one (its token ids mean other pieces, whatever the vocabulary size). Resume with the tokenizer settings "
          "the run started with, or use a fresh --workdir. Nothing in the run directory was changed.")

  def write(self) -> None:
    settings.write_json(os.path.join(self.workdir, CONFIG_FILE), self.config)
    if self.tokenizer is not None:
      settings.write_bytes(os.path.join(self.workdir, self.tokenizer_file), self.tokenizer)


def check_unchanged(workdir: str, config, what: str, tokenizer_file: str = "") -> None:
  """Before a finished run's figures are reused: it must have trained with `config` (the settings both configs carry;
  paths compared as absolute) and, if given, the tokenizer in `tokenizer_file` (a start retrained with other data
  keeps its path but not its tokenizer), or old figures would silently stand for a changed experiment."""
  saved_tokenizer = os.path.join(workdir, TOKENIZER_FILE)
  if tokenizer_file and os.path.isfile(tokenizer_file) and os.path.isfile(saved_tokenizer):
    with open(tokenizer_file, "rb") as a, open(saved_tokenizer, "rb") as b:
      if a.read() != b.read():
        raise settings.ConfigError(
            f"{saved_tokenizer}: {what} finished with another tokenizer than {tokenizer_file} (its start was "
            "retrained since). Move the directory away (or use another --workdir) to run it again. Nothing was "
            "changed.")
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    return
  changed = differences(settings.load_json(path), settings.to_dict(config))
  if changed:
    raise settings.ConfigError(
        f"{path}: {what} finished with other settings: {changed}. Its figures would stand for the changed "
        "experiment. Move the directory away (or use another --workdir) to run it again, or restore the settings. "
        "Nothing was changed.")


def differences(then: dict, now: dict) -> str:
  """The settings two configs (nested dicts) both carry and that differ, as "a.b: 1 then, 2 now; ..." ("" if none);
  paths compared as absolute, where prepared data is cached ignored."""
  then, now = (traverse_util.flatten_dict(c, sep=".") for c in (then, now))
  changed = sorted(k for k in then.keys() & now.keys() - _ENVIRONMENT if not _same(then[k], now[k]))
  more = f" (and {len(changed) - 4} more)" if len(changed) > 4 else ""
  return "; ".join(f"{k}: {then[k]!r} then, {now[k]!r} now" for k in changed[:4]) + more


_ENVIRONMENT = {"data.data_dir"}  # where prepared data is cached: the machine's, not the experiment's


def _same(a, b) -> bool:
  if isinstance(a, str) and isinstance(b, str) and a and b and os.sep in a + b:
    return os.path.abspath(a) == os.path.abspath(b)
  return a == b


def for_run(workdir: str, config, tokenizer=None) -> RunFiles:
  """The files of a run with `config` (an ml_collections config) and `tokenizer` (a lm.data Tokenizer or an
  lm.interop HFTokenizer)."""
  settings.prepare_workdir(workdir)
  if tokenizer is None:
    return RunFiles(workdir, settings.to_dict(config))
  return RunFiles(workdir, settings.to_dict(config), tokenizer.proto, tokenizer.filename)
