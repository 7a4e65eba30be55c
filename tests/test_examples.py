"""The notebooks in examples/ run top to bottom in a fresh Jupyter kernel, as a reader's would."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .helpers import REPO

pytestmark = pytest.mark.slow


def test_the_dropout_lesson_notebook_trains_both_engines_through_the_api(tmp_path: Path) -> None:
    notebook = nbformat.read(REPO / "examples" / "digits_dropout_lesson.ipynb", as_version=4)
    parameters = next(cell for cell in notebook.cells if "EPOCHS = " in cell.source)
    parameters.source = "EPOCHS = 2"
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = "".join(
        output.get("text", "") + json.dumps(output.get("data", {}))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "test accuracy: Lightning 0." in outputs and ", Keras 0." in outputs
    assert "trainlab: error: unknown option model=nope" in outputs
    assert not any(
        output.output_type == "error" for cell in notebook.cells for output in cell.get("outputs", [])
    )
    runs = sorted(tmp_path.glob("outputs/*/*/metrics.json"))
    assert len(runs) == 2, "two runs, each in its own directory"
