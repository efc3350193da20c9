"""Notebooks run top to bottom (shrunk through environment variables they read)."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO, SMALL_WORLD


@pytest.mark.parametrize("name", ["01_pretraining.ipynb"])
def test_notebook_executes(name, world_data_dir, monkeypatch):
  monkeypatch.setenv("LM_DATA_DIR", world_data_dir)
  monkeypatch.setenv("LM_WORLD_SCALE", str(SMALL_WORLD))
  monkeypatch.setenv("LM_NOTEBOOK_STEPS", "40")
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
  notebook = nbformat.read(os.path.join(REPO, "notebooks", name), as_version=4)
  NotebookClient(notebook, timeout=600, kernel_name="python3",
                 resources={"metadata": {"path": os.path.join(REPO, "notebooks")}}).execute()
  outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
  assert "validation perplexity" in outputs
