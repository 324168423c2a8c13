"""Notebook helpers: the checkout's paths, saving figures, executing notebooks headless.

The notebooks under ``notebooks/`` import their paths and their ``save`` from here instead of
defining their own:

>>> from vp_stats.studies.notebooks import repo_root, save  # doctest: +SKIP
>>> ax = vplot.validated_bars(summary)  # doctest: +SKIP
>>> save(ax, "01_validated_counts")  # doctest: +SKIP
[PosixPath('.../reports/figures/01_validated_counts.png'), PosixPath('.../01_validated_counts.svg')]

Where things go:

* figures: ``$VP_FIGURES_DIR`` if set (the tests point it at a temporary folder), else
  ``reports/figures/`` of the checkout (:func:`figures_dir`);
* tables and caches a notebook writes: ``$VP_PROCESSED_DIR`` if set, else ``data/processed/``
  of the checkout (:func:`processed_dir`);
* executed copies (:func:`execute_notebooks`, used by ``vp-stats reproduce``):
  ``reports/notebooks/``;
* executed copies kept for the docs gallery (:func:`store_executed`, used by the notebook tests
  and by ``docs/_ext/notebook_gallery.py``): ``docs/_build/.notebook_cache/``
  (:func:`gallery_cache_dir`), keyed by :func:`cells_digest`.

Executed headless, the kernel uses matplotlib's inline backend (:data:`INLINE_BACKEND`, set in
the kernel's environment by :func:`kernel_env`; never Agg), so every figure cell stores its
figure as an ``image/png`` output and the executed copies carry their figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "FIGURE_TAG",
    "INLINE_BACKEND",
    "NO_FIGURE_CHECK_TAG",
    "cached_copy",
    "cells_digest",
    "execute_notebooks",
    "figure_cells",
    "figures_dir",
    "gallery_cache_dir",
    "image_outputs",
    "kernel_config",
    "kernel_env",
    "processed_dir",
    "repo_root",
    "save",
    "store_executed",
]

#: matplotlib backend of headless kernels: figures become ``image/png`` outputs of their cell.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Cell tag marking a figure cell that :func:`figure_cells` would not detect by itself.
FIGURE_TAG = "figure"
#: Cell tag exempting a cell from the figure check (e.g. a section skipped without its input).
NO_FIGURE_CHECK_TAG = "optional-figure"

_IMAGE_TYPES = ("image/png", "image/svg+xml")


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding ``pyproject.toml`` above ``start`` (default: the working directory).

    Parameters
    ----------
    start : str or path-like, optional
        Where to start looking.

    Returns
    -------
    pathlib.Path

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


def figures_dir(root: str | os.PathLike | None = None) -> Path:
    """Where :func:`save` writes: ``$VP_FIGURES_DIR`` if set, else ``<checkout>/reports/figures``.

    The folder is created if needed.

    Parameters
    ----------
    root : str or path-like, optional
        Start of the search for the checkout (:func:`repo_root`).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["VP_FIGURES_DIR"] = tmp = tempfile.mkdtemp()
    >>> figures_dir() == Path(tmp)
    True
    >>> del os.environ["VP_FIGURES_DIR"]
    """
    env = os.environ.get("VP_FIGURES_DIR")
    out = Path(env).expanduser() if env else repo_root(root) / "reports" / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def processed_dir(name: str | None = None, root: str | os.PathLike | None = None) -> Path:
    """Where notebooks write tables and caches: ``$VP_PROCESSED_DIR``, else ``data/processed``.

    Parameters
    ----------
    name : str, optional
        A file or sub-folder name inside it (not created).
    root : str or path-like, optional
        Start of the search for the checkout (:func:`repo_root`).

    Returns
    -------
    pathlib.Path
        The folder (created if needed), or ``folder / name``.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["VP_PROCESSED_DIR"] = tmp = tempfile.mkdtemp()
    >>> processed_dir("cache.sqlite") == Path(tmp) / "cache.sqlite"
    True
    >>> del os.environ["VP_PROCESSED_DIR"]
    """
    env = os.environ.get("VP_PROCESSED_DIR")
    out = Path(env).expanduser() if env else repo_root(root) / "data" / "processed"
    out.mkdir(parents=True, exist_ok=True)
    return out / name if name else out


def save(
    fig_or_ax,
    name: str,
    formats: str | Sequence[str] | None = None,
    *,
    dpi: int | None = None,
    **savefig_kw,
) -> list[Path]:
    """Save a figure under :func:`figures_dir` as ``<name>.<format>``, one file per format.

    Parameters
    ----------
    fig_or_ax : Figure, Axes or seaborn grid
        What a :mod:`vp_stats.plots` function returned.
    name : str
        File name without suffix, by convention prefixed with the notebook number
        (``"01_rho_heatmap_pvq"``).
    formats : str or sequence of str, optional
        Default :data:`vp_stats.plots.base.FIGURE_FORMATS` (PNG and SVG); e.g.
        ``("png", "svg", "pdf")``.
    dpi : int, optional
        Raster resolution; default :data:`vp_stats.plots.base.DPI`.
    **savefig_kw
        Passed to :func:`vp_stats.io.figures.save_figure`.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import os, tempfile
    >>> from vp_stats.plots import base
    >>> os.environ["VP_FIGURES_DIR"] = tempfile.mkdtemp()
    >>> ax = base.new_axes(figsize=(2, 2))
    >>> [p.name for p in save(ax, "00_demo", formats=("png", "pdf"))]
    ['00_demo.png', '00_demo.pdf']
    >>> del os.environ["VP_FIGURES_DIR"]
    """
    from vp_stats.io import figures
    from vp_stats.plots import base

    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file name without folders, got {name!r}")
    return figures.save_figure(
        fig_or_ax,
        figures_dir() / name,
        formats=base.FIGURE_FORMATS if formats is None else formats,
        dpi=base.DPI if dpi is None else dpi,
        **savefig_kw,
    )


def kernel_env(**extra: str) -> dict[str, str]:
    """The environment of a headless notebook kernel: this process's, with the inline backend.

    ``MPLBACKEND`` is set to :data:`INLINE_BACKEND` whatever the caller's environment says (a
    ``make`` recipe or a test may have exported ``Agg``), so that figures become cell outputs.

    Parameters
    ----------
    **extra : str
        Further variables (e.g. ``VP_FIGURES_DIR="/tmp/x"``).

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> kernel_env(VP_FIGURES_DIR="/tmp/x")["MPLBACKEND"]
    'module://matplotlib_inline.backend_inline'
    """
    return {**os.environ, "MPLBACKEND": INLINE_BACKEND, **extra}


def kernel_config():
    """The configuration of a headless kernel: local IPC sockets instead of TCP where possible.

    Over TCP, ipykernel warns at every start that its traffic is unencrypted (a kernel started
    by a headless run is reached only by this process, so a local socket is the right transport);
    IPC (Unix domain sockets in Jupyter's runtime folder, removed when the kernel stops) is not
    available on Windows, which keeps TCP on the loopback address.

    Returns
    -------
    traitlets.config.Config
        Pass as ``config=`` to :class:`nbclient.NotebookClient`.

    Examples
    --------
    >>> import os
    >>> kernel_config().KernelManager.transport == ("tcp" if os.name == "nt" else "ipc")
    True
    """
    from traitlets.config import Config

    if os.name == "nt":
        return Config({"KernelManager": {"transport": "tcp"}})
    from jupyter_core.paths import jupyter_runtime_dir

    # an absolute socket prefix: the kernel runs in the notebook's folder, the client here
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True)
    return Config({"KernelManager": {"transport": "ipc", "ip": str(runtime / "vp-stats-kernel")}})


def image_outputs(cell) -> int:
    """The number of image outputs (PNG or SVG) of an executed notebook cell.

    Parameters
    ----------
    cell : dict-like
        A code cell of an :mod:`nbformat` notebook.

    Returns
    -------
    int

    Examples
    --------
    >>> image_outputs({"cell_type": "code", "outputs": [
    ...     {"output_type": "display_data",
    ...      "data": {"image/png": "iVBOR...", "text/plain": "<Figure>"}},
    ...     {"output_type": "stream", "text": "done"}]})
    1
    """
    return sum(
        any(k in out.get("data", {}) for k in _IMAGE_TYPES)
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    )


_PLOTS_IMPORT = re.compile(
    r"^\s*from\s+vp_stats\.plots\s+import\s+(?P<names>[^\n#]+)|"
    r"^\s*import\s+vp_stats\.plots\.(?P<mod>\w+)\s+as\s+(?P<alias>\w+)",
    re.MULTILINE,
)
_DRAWING = r"\b(?:plt|sns)\.(?!close\b|rcParams\b|style\b|get_fignums\b)\w+\("
_NOT_DRAWING = r"(?!save_figure\b|figure_of\b|heatmap_cells\b|[A-Z_]+\b)"


def _plot_aliases(nb) -> set[str]:
    aliases = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for m in _PLOTS_IMPORT.finditer(cell["source"]):
            if m.group("alias"):
                aliases.add(m.group("alias"))
                continue
            for part in m.group("names").strip("() ").split(","):
                bits = part.split()
                if bits:
                    aliases.add(bits[-1])
    return aliases


def figure_cells(nb) -> list[int]:
    """Indices of the code cells of ``nb`` that draw a figure.

    A cell draws a figure when it calls a function of a :mod:`vp_stats.plots` module imported
    in the notebook (``from vp_stats.plots import validation as vplot`` ... ``vplot.f(``), calls
    ``plt.`` or ``sns.`` drawing functions, or carries the tag :data:`FIGURE_TAG`. Cells tagged
    :data:`NO_FIGURE_CHECK_TAG` are left out.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        A notebook (as read by :func:`nbformat.read`).

    Returns
    -------
    list of int

    Examples
    --------
    >>> nb = {"cells": [
    ...     {"cell_type": "code", "metadata": {},
    ...      "source": "from vp_stats.plots import validation as vplot"},
    ...     {"cell_type": "code", "source": "ax = vplot.rho_heatmap(corr)", "metadata": {}},
    ...     {"cell_type": "code", "source": "corr.head()", "metadata": {}}]}
    >>> figure_cells(nb)
    [1]
    """
    aliases = _plot_aliases(nb)
    calls = re.compile(
        "|".join([_DRAWING, *(rf"\b{re.escape(a)}\.{_NOT_DRAWING}\w+\(" for a in sorted(aliases))])
    )
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if NO_FIGURE_CHECK_TAG in tags:
            continue
        if FIGURE_TAG in tags or calls.search(cell["source"]):
            out.append(i)
    return out


def execute_notebooks(
    names: Iterable[str],
    root: str | os.PathLike | None = None,
    timeout: int = 900,
    out_dir: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, float]]:
    """Execute ``notebooks/<name>.ipynb`` in order with the inline backend; yield (name, seconds).

    Executed copies, figures included, are written to ``reports/notebooks/`` (or ``out_dir``);
    the source notebooks are left untouched. A failing cell raises ``nbclient``'s
    ``CellExecutionError``.

    Parameters
    ----------
    names : iterable of str
        Notebook names without ``.ipynb``.
    root : str or path-like, optional
        The checkout (default: found from the working directory).
    timeout : int
        Seconds per cell.
    out_dir : str or path-like, optional
        Folder of the executed copies.
    env : dict, optional
        The kernel's environment; default :func:`kernel_env` (``MPLBACKEND`` is always the
        inline backend).

    Yields
    ------
    tuple of (str, float)
        Notebook name and its execution time.
    """
    import nbformat
    from nbclient import NotebookClient

    root = repo_root(root)
    out_dir = Path(out_dir) if out_dir else root / "reports" / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    kenv = {**(kernel_env() if env is None else env), "MPLBACKEND": INLINE_BACKEND}
    for name in names:
        path = root / "notebooks" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            config=kernel_config(),  # no unencrypted-TCP warning from every kernel
        )
        client.execute(cwd=str(path.parent), env=kenv)
        nbformat.write(nb, out_dir / path.name)
        yield name, time.perf_counter() - t0


def cells_digest(nb) -> str:
    """The key of a notebook's executed copy: the SHA-256 of its cells' types and sources.

    The first 16 hex digits of the SHA-256 of the JSON list of ``(cell_type, source)`` pairs, in
    order. Outputs, execution counts, ids and metadata are left out, so a notebook and its
    executed copy have the same digest and an edited notebook gets a new one. A source stored
    as a list of lines (the ``.ipynb`` file read with :mod:`json`) and as one string (read with
    :mod:`nbformat`) give the same digest. The one definition of the key of the docs gallery's
    cache (:func:`store_executed`, :func:`cached_copy`).

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        A notebook, executed or not.

    Returns
    -------
    str
        16 lower-case hex digits.

    Examples
    --------
    >>> code = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}
    >>> lines = {"cell_type": "code", "source": ["x ", "= 1"], "metadata": {"tags": ["a"]},
    ...          "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}]}
    >>> cells_digest({"cells": [code]}) == cells_digest({"cells": [lines]})
    True
    >>> len(cells_digest({"cells": [code]}))
    16
    """
    cells = [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]


def gallery_cache_dir(root: str | os.PathLike | None = None) -> Path:
    """The docs gallery's cache of executed notebooks: ``<checkout>/docs/_build/.notebook_cache``.

    Parameters
    ----------
    root : str or path-like, optional
        The checkout; default :func:`repo_root` of the working directory.

    Returns
    -------
    pathlib.Path
        The folder (not created).

    Examples
    --------
    >>> gallery_cache_dir("/src/vp-stats").as_posix()
    '/src/vp-stats/docs/_build/.notebook_cache'
    """
    base = Path(root) if root is not None else repo_root()
    return base / "docs" / "_build" / ".notebook_cache"


def cached_copy(name: str, nb, cache_dir: str | os.PathLike) -> Path:
    """Where the executed copy of notebook ``name`` with the cells of ``nb`` is kept.

    Parameters
    ----------
    name : str
        Notebook name without ``.ipynb``.
    nb : nbformat.NotebookNode or dict
        The notebook (executed or not; :func:`cells_digest`).
    cache_dir : str or path-like
        The cache (:func:`gallery_cache_dir`).

    Returns
    -------
    pathlib.Path
        ``cache_dir/<name>-<cells_digest(nb)>.ipynb`` (it may not exist).

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "markdown", "source": "# T", "metadata": {}}]}
    >>> cached_copy("01-x", nb, "/c").name == f"01-x-{cells_digest(nb)}.ipynb"
    True
    """
    return Path(cache_dir) / f"{name}-{cells_digest(nb)}.ipynb"


def store_executed(name: str, nb, cache_dir: str | os.PathLike) -> Path:
    """Keep an executed notebook for the docs gallery, atomically, replacing older versions.

    Call it only for a notebook that executed without error (and, in the tests, passed the
    figure check): the gallery renders what it finds here without executing the notebook
    again. The copy is written to :func:`cached_copy` through a temporary file and a rename, so
    a reader never sees half a notebook; copies of ``name`` with another digest (earlier
    versions of the notebook) are removed, copies of other notebooks are left alone.

    Parameters
    ----------
    name : str
        Notebook name without ``.ipynb``.
    nb : nbformat.NotebookNode or dict
        The executed notebook.
    cache_dir : str or path-like
        The cache (:func:`gallery_cache_dir`); created if needed.

    Returns
    -------
    pathlib.Path
        The copy written.

    Examples
    --------
    >>> import tempfile
    >>> cache = Path(tempfile.mkdtemp())
    >>> code = {"cell_type": "code", "source": "1", "metadata": {}, "outputs": []}
    >>> old = store_executed("01-x", {"cells": [code]}, cache)
    >>> new = store_executed("01-x", {"cells": [{**code, "source": "2"}]}, cache)
    >>> other = store_executed("01-x-y", {"cells": [code]}, cache)
    >>> sorted(p.name for p in cache.iterdir()) == sorted([new.name, other.name])
    True
    """
    from vp_stats.io.tables import atomic_file

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    target = cached_copy(name, nb, cache)
    text = json.dumps(nb, indent=1, ensure_ascii=False)
    atomic_file(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    older = re.compile(rf"{re.escape(name)}-[0-9a-f]{{16}}\.ipynb")
    for path in cache.glob(f"{name}-*.ipynb"):
        if path != target and older.fullmatch(path.name):
            path.unlink(missing_ok=True)
    return target
