"""Package `lm`: language-model training end to end in JAX (pretrain, fine-tune, RLHF)."""

import setuptools

# Core stack (../shared/DESIGN.md). Lower bounds are the versions the code was written
# against: the JAX/Flax/Orbax/Grain APIs moved a lot, older releases will not work.
INSTALL_REQUIRES = [
    "jax>=0.7",
    "flax>=0.11",
    "optax>=0.2.5",
    "orbax-checkpoint>=0.11",
    "tensorflow-datasets>=4.9.9",  # array_record builders and data sources, no TensorFlow
    "array-record>=0.8",
    "importlib_resources>=6",     # tfds needs it to locate builder code but does not declare it
    "grain>=0.2.12",
    "ml-collections>=1.0",
    "absl-py>=2.1",
    "sentencepiece>=0.2",
    "numpy>=1.26",
    "tensorboardX>=2.6",
    "sacrebleu>=2.4",
    "matplotlib>=3.8",
    "tqdm>=4.66",
    "submitit>=1.5",              # sweeps on SLURM: job arrays, requeue on preemption (experiments/sweep.py)
    "safetensors>=0.4",           # Hugging Face checkpoints in and out (lm/interop), read without torch
    "tokenizers>=0.20",           # ... and their tokenizers (byte-level BPE, WordPiece, unigram)
]

EXTRAS_REQUIRE = {
    # transformers + CPU torch only check lm/interop's parity with the reference implementations.
    # pytest < 9: pytest 9 keeps node ids where xdist 3.8's loadgroup cannot tag them, so xdist_group marks are
    # silently ignored and every worker rebuilds the shared runs (tests/conftest.py checks the grouping).
    "test": ["pytest>=8,<9", "pytest-xdist>=3.5", "chex>=0.1.89", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29",
             "transformers>=5.0", "torch>=2.4", "wandb>=0.19"],
    # --config.logging.wandb=True: Weights & Biases beside metrics.jsonl and TensorBoard (lm/training/tracking.py).
    "wandb": ["wandb>=0.19"],
    "notebooks": ["jupyterlab>=4", "ipykernel>=6.29"],
    # benchmarks/peer.py times transformers' GPT-2 in CPU torch beside lm (install CPU torch first: see the Makefile).
    "bench": ["pandas>=2", "transformers>=5.0", "torch>=2.4"],
    "cuda": ["jax[cuda12]"],
    "tpu": ["jax[tpu]"],
}

setuptools.setup(
    name="lm",
    version="0.1.0",
    description="A JAX research codebase for language-model pretraining, fine-tuning and RLHF.",
    python_requires=">=3.11",
    packages=setuptools.find_packages(include=["lm", "lm.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
