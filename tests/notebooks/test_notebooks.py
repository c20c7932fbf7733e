"""The notebooks: committed without outputs, in sync with notebooks/build.py, and they run (nbclient)."""

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NAMES = ["quickstart.ipynb", "design_walkthrough.ipynb", "scaling_laws.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_no_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebooks_match_their_generator():
    result = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the traceback) if any cell fails, asserts included
    elapsed = time.perf_counter() - start
    assert elapsed < 90, f"{name} took {elapsed:.0f} s (budget: under a minute on a 2-core CPU)"
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the figures did not display"
    assert not any(list(tmp_path.iterdir())), "a notebook wrote into its working directory"
