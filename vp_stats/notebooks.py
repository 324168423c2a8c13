"""Execute the project's notebooks headless (used by ``vp-stats reproduce`` and the tests)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding ``pyproject.toml`` above ``start`` (default: the working directory).

    Examples
    --------
    >>> (repo_root() / "pyproject.toml").exists()
    True
    """
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() and (p / "vp_stats").is_dir():
            return p
    raise FileNotFoundError(f"no vp-stats checkout above {here}")


def execute_notebooks(names, root: str | os.PathLike | None = None, timeout: int = 900, out_dir=None):
    """Execute ``notebooks/<name>.ipynb`` in order; yield (name, seconds).

    Executed copies are written to ``reports/notebooks/``; the source notebooks
    are left untouched. A failing cell raises ``nbclient``'s CellExecutionError.
    """
    import nbformat
    from nbclient import NotebookClient

    root = repo_root(root)
    out_dir = Path(out_dir) if out_dir else root / "reports" / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in names:
        path = root / "notebooks" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, out_dir / path.name)
        yield name, time.perf_counter() - t0
