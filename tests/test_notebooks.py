"""Execute every notebook under notebooks/ headless (nbclient), one test per notebook file.

Notebooks are collected by globbing at import time, so notebooks added later are
picked up automatically. Each runs with kernel ``python3``, a 600 s timeout per
cell, cwd = notebooks/ and the environment of the test process (VP_DATA_DIR is
inherited; MPLBACKEND is forced to Agg). A failing cell fails the test with the
cell's error and traceback. The executed notebook is not written back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CELL_TIMEOUT = 600
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes of IPython tracebacks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernelspec name is {kernel!r}, expected 'python3'"
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        allow_errors=False,
    )
    failure = None
    try:
        client.execute(cwd=str(NOTEBOOK_DIR))
    except CellExecutionError as err:
        failure = f"{path.name}: a cell raised an error\n{err}"
    except (CellTimeoutError, DeadKernelError) as err:
        failure = f"{path.name}: {type(err).__name__}: {err}"
    if failure is not None:  # failed outside the except block: no chained-exception noise
        pytest.fail(ANSI.sub("", failure), pytrace=False)


def test_notebooks_are_committed_clean():
    """Committed notebooks carry the python3 kernelspec and no outputs."""
    nbformat = pytest.importorskip("nbformat")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name
        dirty = [
            i
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.outputs or c.execution_count)
        ]
        assert not dirty, (
            f"{path.name}: code cells {dirty} hold outputs; clear them before committing"
        )
