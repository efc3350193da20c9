"""Checkpoints that ship only a SentencePiece model (`spiece.model`, `tokenizer.model`), as older T5 and Llama
directories do: read with sentencepiece, T5's sentinels appended after the pieces, the same ids as transformers."""

import io
import json
import os

import sentencepiece as spm
import transformers

from lm.interop import convert
from lm.interop.tokenizer import HFTokenizer
from tests.interop import hf_models


def _spm(directory, name, vocab, **kwargs):
  model = io.BytesIO()
  spm.SentencePieceTrainer.train(sentence_iterator=iter(hf_models.TEXTS), model_writer=model, vocab_size=vocab,
                                 hard_vocab_limit=False, character_coverage=1.0, num_threads=1, minloglevel=2, **kwargs)
  with open(os.path.join(directory, name), "wb") as f:
    f.write(model.getvalue())
  return spm.SentencePieceProcessor(model_proto=model.getvalue())


def test_t5_with_spiece_model_only(tmp_path):
  directory = str(tmp_path)
  sp = _spm(directory, "spiece.model", 64, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
  with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
    json.dump({"tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
               "extra_ids": 8}, f)
  ours = HFTokenizer.from_checkpoint(directory, {"model_type": "t5", "decoder_start_token_id": 0}, {"bos": 0})
  theirs = transformers.AutoTokenizer.from_pretrained(directory)
  text = "Brin likes bread and water. Ada was born in Varn."
  assert ours.encode(text) == theirs(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
  assert ours.decode(ours.encode(text)) == text
  assert ours.vocab_size == sp.get_piece_size() + 8 == len(theirs)
  assert ours.sentinel_ids == [theirs.convert_tokens_to_ids(f"<extra_id_{i}>") for i in range(8)]
  assert (ours.pad_id, ours.eos_id, ours.unk_id, ours.bos_id) == (0, 1, 2, 0)


def test_llama_with_tokenizer_model_only_imports_and_exports(hf_checkpoint, tmp_path):
  """A Llama checkpoint whose tokenizer is a SentencePiece BPE model: imported, then written back as it came."""
  source, _, _ = hf_checkpoint("llama")
  directory = str(tmp_path / "hf")
  os.makedirs(directory)
  for name in ("config.json", "model.safetensors"):
    os.link(os.path.join(source, name), os.path.join(directory, name))
  sp = _spm(directory, "tokenizer.model", 310, model_type="bpe", byte_fallback=True, unk_id=0, bos_id=1, eos_id=2)
  with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
    json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f)
  imported = convert.import_checkpoint(directory, str(tmp_path / "run"))
  tok = imported.tokenizer
  text = "Write a short note about Brin. Zoë!"
  assert tok.encode(text) == sp.encode(text) and tok.decode(tok.encode(text)) == text
  assert (tok.bos_id, tok.eos_id, tok.pad_id) == (1, 2, 2)  # no padding token: eos pads
  convert.export_run(str(tmp_path / "run"), str(tmp_path / "out"))
  with open(tmp_path / "out" / "tokenizer.model", "rb") as f, open(os.path.join(directory, "tokenizer.model"), "rb") as g:
    assert f.read() == g.read()
