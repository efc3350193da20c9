# `make test` and `make demo` set everything up on first use: a .venv with the package and its
# test extras. Nothing else needs to be installed by hand (Python >= 3.11 must exist).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(CURDIR)/data
# Tests run in parallel on every core; the suite forces its own CPU device count.
PYTEST_ARGS ?= -n auto

.PHONY: test demo install clean bench

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS) tests

demo: $(STAMP)
	$(PY) -m experiments.demo --data_dir=$(DATA_DIR) --workdir=$(CURDIR)/runs/demo

bench: $(STAMP)
	$(PY) -m benchmarks.data_throughput --data_dir=$(DATA_DIR)

clean:
	rm -rf $(VENV) build *.egg-info
