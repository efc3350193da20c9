"""Test-wide setup: several CPU devices for JAX, before anything imports it."""

import os
import tempfile

# Four host devices let single-process tests build data x fsdp meshes; must precede `import jax`.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# TFDS progress bars and absl warnings only clutter test output.
os.environ.setdefault("TFDS_DISABLE_PROGRESS_BAR", "1")
# Compilation dominates the suite on CPU, and many tests (and the command lines they start) compile the same tiny
# programs: a persistent cache shared by the xdist workers and their subprocesses compiles each once. Keys include
# the jax version, flags and program, so a cache left by an earlier run is safe to reuse.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lm-tests-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

import json  # noqa: E402
import random  # noqa: E402

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
  """Under `--dist loadgroup`, xdist 3.8 tags each xdist_group-marked test's node id with its group so that one worker
  runs the group and builds its shared fixtures once. pytest 9 ignores the tag: the marks would be silently dropped
  and every worker would rebuild the shared runs (minutes of the suite). Stop instead."""
  if getattr(config.option, "dist", "no") == "loadgroup" and int(pytest.__version__.split(".")[0]) >= 9:
    raise pytest.UsageError(f"pytest {pytest.__version__} drops pytest-xdist's xdist_group marks; install the "
                            "versions setup.py's [test] extra pins (pytest < 9).")


def _structured_corpus(n_docs: int, seed: int) -> str:
  """Documents with learnable regularities (fixed phrases, counting), written as a .txt corpus."""
  rng = random.Random(seed)
  names = ["Ada", "Brin", "Cato", "Dara", "Eli", "Fen", "Gus", "Hal"]
  cities = ["Varn", "Oskel", "Tirra", "Mosk", "Quell"]
  docs = []
  for _ in range(n_docs):
    who, where = rng.choice(names), rng.choice(cities)
    lines = [f"{who} was born in {where}.", f"{who} lives in {where} and works in {where}."]
    start = rng.randint(1, 5)
    lines.append(" ".join(str(start + i) for i in range(rng.randint(3, 9))) + ".")
    lines.append(f"Everyone in {where} knows {who}.")
    docs.append(" ".join(lines))
  return "\n\n".join(docs) + "\n"


@pytest.fixture(scope="session")
def text_files(tmp_path_factory):
  """A small structured plain-text corpus with train and validation files."""
  root = tmp_path_factory.mktemp("corpus")
  paths = {}
  for split, n, seed in (("train", 2000, 0), ("validation", 200, 1)):
    path = root / f"{split}.txt"
    path.write_text(_structured_corpus(n, seed))
    paths[split] = str(path)
  return paths


def shared_dir(tmp_path_factory, name: str) -> str:
  """A directory every xdist worker of this run shares (prepared datasets and tokenizers are built under file
  locks, so the first worker prepares them and the others read them); a fresh one without xdist."""
  if os.environ.get("PYTEST_XDIST_WORKER"):
    path = tmp_path_factory.getbasetemp().parent / name
    path.mkdir(exist_ok=True)
    return str(path)
  return str(tmp_path_factory.mktemp(name))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
  """One dataset/tokenizer cache shared by the session's tests (prepared once)."""
  return shared_dir(tmp_path_factory, "data")


def tiny_pretrain_config(text_files, data_dir, **train):
  """configs/pretrain/clm.py:tiny shrunk to seconds: 2 layers of width 64, files/text data."""
  from lm import settings  # pylint: disable=g-import-not-at-top

  c = settings.load_config(os.path.join(REPO, "configs/pretrain/clm.py:tiny"))
  c.model.num_layers, c.model.d_model, c.model.num_heads, c.model.d_ff, c.model.max_len = 2, 64, 4, 128, 64
  c.data.dataset, c.data.data_dir = "files/text", data_dir
  c.data.files.train, c.data.files.validation = text_files["train"], text_files["validation"]
  c.data.seq_len, c.data.batch_size = 64, 8
  c.tokenizer.datasets, c.tokenizer.vocab_size, c.tokenizer.num_sentinels = ("files/text",), 400, 8
  c.optimizer.warmup_steps = 5
  c.optimizer.decay = "constant"  # the schedule must not depend on train.steps: resume tests stop early
  c.train.update(dict(steps=20, log_every=5, eval_every=10, eval_batches=2, checkpoint_every=10, progress_bar=False))
  c.train.update(train)
  c.mesh.data = 1
  return c


@pytest.fixture(scope="session")
def causal_run(text_files, data_dir, tmp_path_factory):
  """A finished 4-step causal pretraining run (tiny_pretrain_config): something to start fine-tuning from."""
  from lm.training import pretrain  # pylint: disable=g-import-not-at-top

  workdir = str(tmp_path_factory.mktemp("causal_run"))
  pretrain.run(tiny_pretrain_config(text_files, data_dir, steps=4, eval_every=4, checkpoint_every=4), workdir)
  return workdir


SMALL_WORLD = 0.02  # world scale for end-to-end tests: ~400 documents, prepared in about a second


@pytest.fixture(scope="session")
def world_data_dir(tmp_path_factory):
  """A data dir with the small world's text views and tokenizer prepared once for the session."""
  from lm.data import corpus, sources, world  # pylint: disable=g-import-not-at-top

  data_dir = shared_dir(tmp_path_factory, "world_data")
  spec = sources.DatasetSpec("world/text", data_dir, world=world.WorldConfig(scale=SMALL_WORLD))
  corpus.load_tokenizer(corpus.TokenizerConfig(), spec)  # prepares text, translation, instructions too
  return data_dir


def run_module(module: str, *args: str, env: dict | None = None, timeout: int = 600):
  """Runs `python -m module args...` from the repository root; returns the CompletedProcess."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top

  full_env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1", **(env or {}))
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=full_env, capture_output=True,
                        text=True, timeout=timeout)


TASK_WORLD = 0.1  # world scale for fine-tuning tests: 2,000 training reviews or sentences, 200 test ones


@pytest.fixture(scope="session")
def task_data_dir(tmp_path_factory):
  """A data dir for fine-tuning tests: the world at TASK_WORLD scale, with a 1,024-piece tokenizer."""
  return shared_dir(tmp_path_factory, "task_data")


@pytest.fixture(scope="session")
def world_causal_run(task_data_dir, tmp_path_factory):
  """A short causal pretraining run on world/text with the model and tokenizer of tiny_task_config."""
  from lm.training import pretrain  # pylint: disable=g-import-not-at-top

  c = tiny_pretrain_config({"train": "", "validation": ""}, task_data_dir, steps=30, eval_every=30,
                           checkpoint_every=30)
  c.data.dataset, c.data.world.scale = "world/text", TASK_WORLD
  c.model.max_len = 256
  c.tokenizer.datasets, c.tokenizer.vocab_size = ("world/text", "world/translation", "world/instructions"), 1024
  workdir = str(tmp_path_factory.mktemp("world_causal_run"))
  pretrain.run(c, workdir)
  return workdir


def tiny_task_config(task: str, data_dir: str, **train):
  """configs/finetune/<task>.py:tiny (or configs/<task>.py) shrunk for tests: 2 layers of width 64, the world at TASK_WORLD."""
  from lm import settings  # pylint: disable=g-import-not-at-top

  path = f"configs/{task}.py" if "/" in task else f"configs/finetune/{task}.py"  # "rlhf/reward" or a task
  c = settings.load_config(os.path.join(REPO, f"{path}:tiny"))
  c.model.num_layers, c.model.d_model, c.model.num_heads, c.model.d_ff, c.model.max_len = 2, 64, 4, 128, 256
  c.data.data_dir, c.data.world.scale, c.data.batch_size = data_dir, TASK_WORLD, 32
  c.tokenizer.vocab_size, c.tokenizer.num_sentinels = 1024, 8
  c.optimizer.learning_rate = 3e-3
  c.train.update(dict(steps=200, log_every=50, eval_every=200, checkpoint_every=200, progress_bar=False))
  c.train.update(train)
  c.eval.validation_examples, c.eval.test_examples = 64, 200
  c.mesh.data = 1
  return c


@pytest.fixture(scope="session")
def sft_run(task_data_dir, world_causal_run, tmp_path_factory):
  """Instruction tuning of the world-pretrained tiny decoder (short: a policy to start from, not a good one). Tests
  that share it (RLHF, notebook 04) are in the xdist group "rlhf", so one worker builds it."""
  from lm.training import finetune  # pylint: disable=g-import-not-at-top

  c = tiny_task_config("instruct", task_data_dir, steps=60, eval_every=60, checkpoint_every=60)
  c.init_from, c.data.seq_len, c.eval.validation_examples, c.eval.test_examples = world_causal_run, 256, 16, 16
  workdir = str(tmp_path_factory.mktemp("sft"))
  finetune.run(c, workdir)
  return workdir


FILLER = ["Let me think about this for a moment.", "There are many things one could say here.",
          "In any case, here is what I believe.", "It is always good to look at the details."]


def _preference_files(root) -> dict[str, str]:
  """Pairs where people prefer the plain answer to the same answer wrapped in filler (a rule a tiny model learns)."""
  rng = random.Random(2)
  paths = {}
  for split, n in (("train", 1500), ("validation", 100), ("test", 200)):
    path = root / f"{split}.jsonl"
    with open(path, "w") as f:
      for _ in range(n):
        city, country = rng.choice(["Varn", "Oskel", "Tirra"]), rng.choice(["Zeland", "Morra", "Quint"])
        answer = f"{city} is in {country}."
        rambling = " ".join(rng.sample(FILLER, 2) + [answer] + rng.sample(FILLER, rng.randint(1, 2)))
        f.write(json.dumps({"prompt": f"Where is {city}?", "chosen": answer, "rejected": rambling}) + "\n")
    paths[split] = str(path)
  return paths


@pytest.fixture(scope="session")
def reward_run(task_data_dir, sft_run, tmp_path_factory):
  """A reward model from the SFT run that learns a rule a tiny model can: the plain answer beats one wrapped in filler."""
  from lm.training import finetune  # pylint: disable=g-import-not-at-top

  root = tmp_path_factory.mktemp("rm")
  c = tiny_task_config("rlhf/reward", task_data_dir, steps=60, eval_every=60, checkpoint_every=60)
  c.init_from, c.data.dataset, c.data.seq_len = sft_run, "files/preferences", 96
  files = _preference_files(root)
  c.data.files.train, c.data.files.validation, c.data.files.test = files["train"], files["validation"], files["test"]
  result = finetune.run(c, str(root / "run"))
  return str(root / "run"), result
