"""Execute every notebook under notebooks/ headless (nbclient) and check that its figures show.

Notebooks are collected by globbing at import time, so notebooks added later are picked up
automatically. Each runs with kernel ``python3``, a 600 s timeout per cell
(``VP_NOTEBOOK_CELL_TIMEOUT`` sets another, for a machine shared with other work), cwd =
notebooks/ and the environment of the test process (VP_DATA_DIR is inherited) with three
changes made by :func:`vp_stats.studies.notebooks.kernel_env`: ``MPLBACKEND`` is matplotlib's
inline backend (what a notebook server gives a kernel; never Agg), and ``VP_FIGURES_DIR`` /
``VP_PROCESSED_DIR`` point into pytest's temporary folder (the notebooks' figures and tables).

A failing cell fails the test with the cell's error and traceback. Every figure cell
(:func:`vp_stats.studies.notebooks.figure_cells`: a cell calling a ``vp_stats.plots`` function or
``plt.``/``sns.``, or tagged ``figure``) must have stored at least one ``image/png`` (or SVG)
output, and no output may be a figure's bare text repr (``<Figure size ...>``), which is what
a notebook shows when no display backend is active. The executed notebook is written to the
temporary folder, never back, and, when it executed without error and passed the figure check,
kept for the docs gallery (:func:`vp_stats.studies.notebooks.store_executed` into
``docs/_build/.notebook_cache``, keyed by the digest of its cells): ``make test`` builds the
docs after these tests with ``VP_DOCS_EXECUTE=cached``, so the site shows every notebook with
its figures and no notebook is executed twice.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from vp_stats.studies import notebooks as vnb

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CELL_TIMEOUT = int(os.environ.get("VP_NOTEBOOK_CELL_TIMEOUT", "600"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes of IPython tracebacks
FIGURE_REPR = re.compile(r"<(Figure|Axes)[ :]")  # a figure shown as text, not as an image

pytestmark = pytest.mark.slow


def _execute(nb, cwd: Path, env: dict) -> str | None:
    nbclient = pytest.importorskip("nbclient")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        allow_errors=False,
        config=vnb.kernel_config(),  # as vp-stats reproduce runs them: no kernel-over-TCP warning
    )
    try:
        client.execute(cwd=str(cwd), env=env)
    except CellExecutionError as err:
        return f"a cell raised an error\n{err}"
    except (CellTimeoutError, DeadKernelError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def _figure_problems(nb) -> list[str]:
    problems = []
    for i in vnb.figure_cells(nb):
        if vnb.image_outputs(nb.cells[i]) == 0:
            first = nb.cells[i].source.splitlines()[0] if nb.cells[i].source else ""
            problems.append(f"cell {i} ({first!r}) draws a figure but has no image output")
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/plain", "") if "data" in out else ""
            if FIGURE_REPR.match(str(text).strip()) and not any(
                k in out["data"] for k in ("image/png", "image/svg+xml")
            ):
                problems.append(f"cell {i} shows a figure as text: {str(text).strip()[:60]!r}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_shows_its_figures(path: Path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernelspec name is {kernel!r}, expected 'python3'"
    assert vnb.figure_cells(nb), f"{path.name}: no figure cell found"
    env = vnb.kernel_env(
        VP_FIGURES_DIR=str(tmp_path / "figures"), VP_PROCESSED_DIR=str(tmp_path / "processed")
    )
    failure = _execute(nb, NOTEBOOK_DIR, env)
    nbformat.write(nb, tmp_path / path.name)  # the executed copy, for a look after a failure
    if failure is not None:  # failed outside the except block: no chained-exception noise
        pytest.fail(ANSI.sub("", f"{path.name}: {failure}"), pytrace=False)
    problems = _figure_problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    kept = vnb.store_executed(path.stem, nb, vnb.gallery_cache_dir(ROOT))
    # the gallery finds it under the key of the source notebook as it reads it (plain JSON)
    source = json.loads(path.read_text(encoding="utf-8"))
    assert kept == vnb.cached_copy(path.stem, source, vnb.gallery_cache_dir(ROOT))


def test_execute_notebooks_uses_the_inline_backend_even_under_agg(tmp_path, capfd):
    """vp-stats reproduce's executor stores figures although the caller exported MPLBACKEND=Agg."""
    nbformat = pytest.importorskip("nbformat")
    root = tmp_path / "checkout"
    (root / "vp_stats").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell("import matplotlib\nmatplotlib.get_backend()"),
        nbformat.v4.new_code_cell(
            "from vp_stats.plots import base\nax = base.new_axes()\nax.plot([0, 1]);"
        ),
    ]
    nbformat.write(nb, root / "notebooks" / "tiny.ipynb")
    env = vnb.kernel_env(MPLBACKEND="Agg", VP_FIGURES_DIR=str(tmp_path / "figures"))
    assert [
        n for n, _ in vnb.execute_notebooks(["tiny"], root=root, out_dir=tmp_path / "out", env=env)
    ] == ["tiny"]
    done = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    assert "inline" in done.cells[0].outputs[0]["data"]["text/plain"]
    assert vnb.figure_cells(done) == [1] and vnb.image_outputs(done.cells[1]) == 1
    assert nbformat.read(root / "notebooks" / "tiny.ipynb", as_version=4).cells[1].outputs == []
    assert "running over TCP" not in capfd.readouterr().err  # the kernel's transport warning


def test_notebooks_use_the_shared_helpers():
    """No notebook defines its own repo_root or save (vp_stats.studies.notebooks has them)."""
    nbformat = pytest.importorskip("nbformat")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert not re.search(r"^def (repo_root|save)\(", code, re.M), path.name
        assert "savefig(" not in code, (
            f"{path.name}: save figures with vp_stats.studies.notebooks.save"
        )


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
