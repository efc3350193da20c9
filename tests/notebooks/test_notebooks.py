"""Notebooks run top to bottom (shrunk through environment variables they read); each ends with a cell of checks
on the values it computed, so a notebook that runs but learns nothing fails here."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO, SMALL_WORLD, TASK_WORLD


def _env(name, request):
  """The variables that shrink notebook `name`, with the session's shared data and runs."""
  if name == "01_pretraining.ipynb":
    return {"LM_DATA_DIR": request.getfixturevalue("world_data_dir"), "LM_WORLD_SCALE": str(SMALL_WORLD),
            "LM_NOTEBOOK_STEPS": "40"}
  if name == "02_finetuning.ipynb":
    return {"LM_DATA_DIR": request.getfixturevalue("task_data_dir"), "LM_WORLD_SCALE": str(TASK_WORLD),
            "LM_PRETRAINED": request.getfixturevalue("world_causal_run"), "LM_NOTEBOOK_STEPS": "200",
            "LM_NOTEBOOK_BUDGETS": "all", "LM_NOTEBOOK_TEST_EXAMPLES": "200",
            "LM_NOTEBOOK_EVALS": "1"}
  if name == "03_fewshot.ipynb":
    return {"LM_DATA_DIR": request.getfixturevalue("task_data_dir"), "LM_WORLD_SCALE": str(TASK_WORLD),
            "LM_PRETRAINED": request.getfixturevalue("world_causal_run"), "LM_NOTEBOOK_ITEMS": "40",
            "LM_NOTEBOOK_MAX_LEN": "256"}  # the shared run trained on 64-token rows
  if name == "04_rlhf.ipynb":
    return {"LM_DATA_DIR": request.getfixturevalue("task_data_dir"), "LM_WORLD_SCALE": str(TASK_WORLD),
            "LM_SFT": request.getfixturevalue("sft_run"), "LM_REWARD": request.getfixturevalue("reward_run")[0],
            "LM_NOTEBOOK_ITERATIONS": "8", "LM_NOTEBOOK_PROMPTS": "16"}
  if name == "05_scaling.ipynb":
    return {"LM_DATA_DIR": request.getfixturevalue("world_data_dir"), "LM_WORLD_SCALE": str(SMALL_WORLD),
            "LM_NOTEBOOK_STEPS": "30", "LM_NOTEBOOK_RATES": "1e-2", "LM_NOTEBOOK_WIDTHS": "32,64"}
  raise KeyError(name)


@pytest.mark.parametrize("name", ["01_pretraining.ipynb", "02_finetuning.ipynb", "03_fewshot.ipynb",
                                  pytest.param("04_rlhf.ipynb", marks=pytest.mark.xdist_group("rlhf")),
                                  "05_scaling.ipynb"])
def test_notebook_executes_and_its_checks_pass(name, request, monkeypatch):
  for key, value in _env(name, request).items():
    monkeypatch.setenv(key, value)
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
  notebook = nbformat.read(os.path.join(REPO, "notebooks", name), as_version=4)
  NotebookClient(notebook, timeout=900, kernel_name="python3",
                 resources={"metadata": {"path": os.path.join(REPO, "notebooks")}}).execute()
  outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
  assert "all checks passed" in outputs  # the last cell ran to its end
