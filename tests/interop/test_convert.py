"""experiments.convert: Hugging Face -> lm run -> Hugging Face, and the errors bad checkpoints get."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import transformers
from safetensors import safe_open
from safetensors.numpy import save_file

from lm.interop import convert, hf_files
from tests.conftest import REPO

TOLERANCE = 1e-4
AUTO = {"bert": transformers.AutoModelForPreTraining, "t5_v1_0": transformers.AutoModelForSeq2SeqLM,
        "t5_v1_1": transformers.AutoModelForSeq2SeqLM}


def _logits(model, ids):
  with torch.no_grad():
    if model.config.is_encoder_decoder:
      return model(input_ids=ids, decoder_input_ids=ids[:, :7]).logits.numpy()
    out = model(input_ids=ids)
    return (out.prediction_logits if hasattr(out, "prediction_logits") else out.logits).numpy()


@pytest.mark.parametrize("name", ["gpt2", "llama", "qwen2", "bert", "t5_v1_0", "t5_v1_1"])
def test_import_then_export_gives_the_same_model(name, hf_checkpoint, tmp_path):
  directory, model, tokenizer = hf_checkpoint(name)
  run, out = str(tmp_path / "run"), str(tmp_path / "hf")
  convert.import_checkpoint("hf:" + directory, run)
  config = convert.export_run(run, "hf:" + out)
  reloaded = AUTO.get(name, transformers.AutoModelForCausalLM).from_pretrained(out).eval()
  ids = torch.tensor([tokenizer("Ada was born in Varn and lives in Oskel.", add_special_tokens=False)["input_ids"]])
  assert np.abs(_logits(reloaded, ids) - _logits(model, ids)).max() < TOLERANCE
  assert config["model_type"] == model.config.model_type
  again = transformers.AutoTokenizer.from_pretrained(out)
  text = "Brin likes bread and water."
  assert again(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_export_in_bfloat16_halves_the_file(hf_checkpoint, tmp_path):
  directory, model, tokenizer = hf_checkpoint("llama")
  run = str(tmp_path / "run")
  convert.import_checkpoint(directory, run)
  convert.export_run(run, str(tmp_path / "bf16"), dtype="bfloat16")
  with safe_open(str(tmp_path / "bf16" / "model.safetensors"), "pt") as f:
    assert f.get_tensor("lm_head.weight").dtype == torch.bfloat16
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "bf16"), dtype=torch.float32)
  ids = torch.tensor([tokenizer("Ada was born in")["input_ids"]])
  assert np.abs(_logits(reloaded, ids) - _logits(model, ids)).max() < 0.05  # bfloat16 keeps ~3 digits


def _broken_copy(hf_checkpoint, tmp_path, name="gpt2"):
  directory = str(tmp_path / "broken")
  shutil.copytree(hf_checkpoint(name)[0], directory)
  return directory


def _tensors(directory):
  with safe_open(os.path.join(directory, "model.safetensors"), "np") as f:
    return {k: f.get_tensor(k) for k in f.keys()}


def _edit_config(directory, **changes):
  path = os.path.join(directory, "config.json")
  with open(path) as f:
    config = json.load(f)
  config.update(changes)
  with open(path, "w") as f:
    json.dump(config, f)


def _refused(directory, tmp_path, match):
  run = str(tmp_path / "run")
  with pytest.raises(hf_files.CheckpointError, match=match):
    convert.import_checkpoint(directory, run)
  assert not os.path.exists(os.path.join(run, "checkpoints"))  # nothing written


def test_unknown_model_type_is_refused(hf_checkpoint, tmp_path):
  directory = _broken_copy(hf_checkpoint, tmp_path)
  _edit_config(directory, model_type="mamba")
  _refused(directory, tmp_path, r"config.json: model_type='mamba' is not supported; lm converts .*gpt2")


def test_missing_tensor_is_named(hf_checkpoint, tmp_path):
  directory = _broken_copy(hf_checkpoint, tmp_path)
  tensors = _tensors(directory)
  del tensors["transformer.h.1.mlp.c_fc.weight"]
  save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
  _refused(directory, tmp_path, r"no tensor 'transformer.h.1.mlp.c_fc.weight'")


def test_shape_that_does_not_match_the_config_is_named(hf_checkpoint, tmp_path):
  directory = _broken_copy(hf_checkpoint, tmp_path, "llama")
  _edit_config(directory, intermediate_size=64)  # the tensors were saved with 48
  _refused(directory, tmp_path, r"tensor 'model.layers.0.mlp.gate_proj.weight' has shape \(48, 32\), but the config "
           r"implies \(64, 32\) \(and 5 more problems\)")


def test_sharded_index_pointing_at_a_missing_file_is_named(hf_checkpoint, tmp_path):
  directory = _broken_copy(hf_checkpoint, tmp_path)
  names = list(_tensors(directory))
  os.remove(os.path.join(directory, "model.safetensors"))
  with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
    json.dump({"weight_map": {n: f"model-0000{1 + i % 2}-of-00002.safetensors" for i, n in enumerate(names)}}, f)
  _refused(directory, tmp_path, r"model.safetensors.index.json: tensor .* is in model-0000[12]-of-00002.safetensors, "
           "which is not in")


def test_sharded_checkpoint_imports(hf_checkpoint, tmp_path):
  """A checkpoint saved in shards (max_shard_size) imports like a single file."""
  _, model, tokenizer = hf_checkpoint("qwen2")
  directory = str(tmp_path / "sharded")
  model.save_pretrained(directory, max_shard_size="20KB")
  tokenizer.save_pretrained(directory)
  assert os.path.isfile(os.path.join(directory, "model.safetensors.index.json"))
  single = convert.read_checkpoint(hf_checkpoint("qwen2")[0])
  sharded = convert.read_checkpoint(directory)
  flat = lambda p: np.concatenate([np.ravel(x) for x in __import__("jax").tree.leaves(p)])
  np.testing.assert_array_equal(flat(single.params), flat(sharded.params))


def test_malformed_config_and_missing_tokenizer_are_named(hf_checkpoint, tmp_path):
  directory = _broken_copy(hf_checkpoint, tmp_path)
  os.remove(os.path.join(directory, "tokenizer.json"))
  _refused(directory, tmp_path, r"broken: no tokenizer.json")
  with open(os.path.join(directory, "config.json"), "w") as f:
    f.write('{"model_type": "gpt2",\n "n_embd": 32,,}')
  _refused(directory, tmp_path, r"config.json: not valid JSON \(line 2")


def test_unmappable_run_is_refused_before_writing(hf_checkpoint, tmp_path):
  """A GPT-2-shaped run with T5's scaled output projection maps onto no family: named, nothing written."""
  run = str(tmp_path / "run")
  convert.import_checkpoint(hf_checkpoint("gpt2")[0], run)
  with open(os.path.join(run, "config.json")) as f:
    config = json.load(f)
  config["model"]["scale_tied_logits"] = True
  with open(os.path.join(run, "config.json"), "w") as f:
    json.dump(config, f)
  with pytest.raises(hf_files.CheckpointError, match=r"does not map onto GPT-2: scale_tied_logits=True"):
    convert.export_run(run, str(tmp_path / "out"))
  assert not os.path.exists(tmp_path / "out")


def test_cli_imports_and_samples(hf_checkpoint, tmp_path):
  """The commands of the README: convert, then sample from the run."""
  run = str(tmp_path / "run")
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-m", "experiments.convert", f"--from=hf:{hf_checkpoint('gpt2')[0]}",
                        f"--workdir={run}"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
  assert "gpt2 as objective 'causal'" in out.stdout
  out = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={run}", "--prompt=Ada was born in",
                        "--num_samples=1", "--max_new_tokens=8", "--temperature=0"], cwd=REPO, env=env,
                       capture_output=True, text=True, check=True)
  assert "Ada was born in" in out.stdout
  bad = subprocess.run([sys.executable, "-m", "experiments.convert", f"--from=hf:{tmp_path}/nowhere",
                        f"--workdir={tmp_path}/r2"], cwd=REPO, env=env, capture_output=True, text=True)
  assert bad.returncode != 0 and "nowhere: no such directory" in bad.stderr


def test_init_from_a_hugging_face_directory_says_to_import_it_first():
  from lm import settings  # pylint: disable=import-outside-toplevel
  from lm.training import transfer  # pylint: disable=import-outside-toplevel
  with pytest.raises(settings.ConfigError, match=r"import it into a run first.*experiments.convert --from=hf:/m/gpt2"):
    transfer.resolve("hf:/m/gpt2")
