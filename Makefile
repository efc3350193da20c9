# `make test` and `make demo` set everything up on first use: a .venv with the package and its
# test extras. Nothing else needs to be installed by hand (Python >= 3.11 must exist).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(CURDIR)/data
# Tests run in parallel on every core; the suite forces its own CPU device count. Tests sharing expensive
# module fixtures (e.g. the RLHF runs) carry an xdist_group mark so that one worker builds them once.
PYTEST_ARGS ?= -n auto --dist loadgroup
# The interop tests compare against transformers on CPU torch. Installed first, pinned: a bare `torch` requirement
# would pull a several-GB CUDA build. Set TORCH= to skip (e.g. when a torch is already installed).
TORCH ?= torch==2.13.0

.PHONY: test demo demo-pretrain install clean bench soak reproduce-recipe-parity reproduce-rlhf reproduce-transfer

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH),$(PY) -m pip install --quiet "$(TORCH)")
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) tests

# The whole pipeline on the built-in world: pretraining -> instruction tuning -> reward model -> PPO.
demo: $(STAMP)
	LM_DATA_DIR=$(DATA_DIR) $(PY) -m experiments.pipeline --config=configs/pipeline/tiny.py --workdir=$(CURDIR)/runs/pipeline

# The first steps only: the world's views, the tokenizer, the unigram baseline, a tiny pretraining run and samples.
demo-pretrain: $(STAMP)
	$(PY) -m experiments.demo --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/demo

# Fault-injection soak: kill -9, damaged checkpoints, a full disk (tmpfs: needs root) and data faults against
# real runs, each compared bit for bit with an uninterrupted run; writes runs/soak/soak.md (the README's table).
soak: $(STAMP)
	$(PY) -m scripts.soak --out=$(CURDIR)/runs/soak

# lm's default causal-LM recipe against the reference GPT-2 recipe in PyTorch on world/text, 3 seeds each, and one
# default changed at a time (about 45 minutes here; finished runs are skipped): runs/reproduce/recipe_parity/summary.md
reproduce-recipe-parity: $(STAMP)
	$(PY) -m benchmarks.recipe_parity --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/reproduce/recipe_parity
	$(PY) -m benchmarks.recipe_parity --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/reproduce/recipe_parity \
	  --name=lm_no_biases_old_data_order \
	  --lm_flags=--config.model.projection_bias=none,--config.data.shuffle_window=0,--config.data.packing_bins=16
	$(PY) -m benchmarks.recipe_parity --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/reproduce/recipe_parity \
	  --name=lm_no_biases --lm_flags=--config.model.projection_bias=none
	$(PY) -m benchmarks.recipe_parity --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/reproduce/recipe_parity \
	  --name=lm_no_biases_norm_eps_1e-5 --lm_flags=--config.model.projection_bias=none,--config.model.norm_eps=1e-5

# Issue 18's RLHF figures: every stage of configs/pipeline/rlhf.py (each under 60 minutes here; finished stages are
# skipped, an interrupted one resumes), PPO at two more KL coefficients for the over-optimisation figure, and
# runs/reproduce/rlhf/headline.json ({"value", "stderr"} per figure).
RLHF_DIR := $(CURDIR)/runs/reproduce/rlhf
reproduce-rlhf: $(STAMP)
	LM_DATA_DIR=$(DATA_DIR) $(PY) -m experiments.pipeline --config=configs/pipeline/rlhf.py --workdir=$(RLHF_DIR)
	for coef in 0.01 0.2; do test -f $(RLHF_DIR)/ppo_kl$$coef/results.json || LM_DATA_DIR=$(DATA_DIR) $(PY) -m \
	  experiments.rlhf --config=configs/rlhf/ppo.py:tiny --workdir=$(RLHF_DIR)/ppo_kl$$coef --config.kl.coef=$$coef \
	  --config.policy_from=$(RLHF_DIR)/sft --config.reward_from=$(RLHF_DIR)/reward --config.heldout.test_prompts=256 \
	  || exit 1; done
	$(PY) -m experiments.overoptimization --runs=$(RLHF_DIR)/ppo_kl0.01,$(RLHF_DIR)/ppo,$(RLHF_DIR)/ppo_kl0.2 \
	  --best_of_n=$(RLHF_DIR)/bon --out=$(RLHF_DIR)

# Issue 19's transfer and few-shot figures: a causal LM pretrained on the world, transfer studies from it at
# every label budget from both starts with a learning-rate grid chosen on validation, linear probes, in-context
# tables. Finished pieces are skipped, so a re-run resumes: runs/reproduce/transfer/headline.json and summary.md.
TRANSFER_DIR := $(CURDIR)/runs/reproduce/transfer
reproduce-transfer: $(STAMP)
	LM_DATA_DIR=$(DATA_DIR) $(PY) -m experiments.transfer_suite --config=configs/transfer/headline.py \
	  --workdir=$(TRANSFER_DIR)

bench: $(STAMP)
	$(PY) -m benchmarks.data_throughput --data_dir=$(DATA_DIR)

clean:
	rm -rf $(VENV) build *.egg-info
