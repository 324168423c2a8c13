"""Figure files: every figure the package writes goes through :func:`save_figure`.

The figures themselves are drawn by :mod:`vp_stats.plots` (no file I/O there); this module
writes them as PNG, SVG or PDF at one resolution (:data:`vp_stats.plots.base.DPI`) with
reproducible metadata.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

from vp_stats.io.tables import atomic_file
from vp_stats.plots.base import DPI, figure_of

__all__ = ["save_figure"]
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}


def save_figure(
    obj,
    path: str | os.PathLike,
    formats: str | Sequence[str] | None = None,
    *,
    dpi: int = DPI,
    **savefig_kw,
) -> list[Path]:
    """Write a figure to one or several files; the format follows the suffix or ``formats``.

    Parameters
    ----------
    obj : Figure, Axes or seaborn grid
        What a figure function returned (the whole figure is written).
    path : str or path-like
        Target file. Without ``formats`` its suffix names the format (``.png``, ``.svg``,
        ``.pdf``, ...; no suffix: PNG). With ``formats`` a format suffix is dropped and one file
        per format is written beside it.
    formats : str or sequence of str, optional
        E.g. ``("png", "svg", "pdf")``.
    dpi : int
        Resolution of raster output (default :data:`DPI`).
    **savefig_kw
        Passed to :meth:`~matplotlib.figure.Figure.savefig`; the default ``bbox_inches`` is
        ``"tight"``.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile
    >>> from vp_stats.plots.base import new_axes
    >>> ax = new_axes(figsize=(2, 2))
    >>> out = Path(tempfile.mkdtemp())
    >>> [p.name for p in save_figure(ax, out / "demo", formats=("png", "svg", "pdf"))]
    ['demo.png', 'demo.svg', 'demo.pdf']
    >>> [p.name for p in save_figure(ax, out / "demo.pdf")]
    ['demo.pdf']
    """
    fig = figure_of(obj)
    path = Path(path)
    supported = set(fig.canvas.get_supported_filetypes())
    suffix = path.suffix.lstrip(".").lower()
    if formats is None:
        if suffix and suffix not in supported:
            raise ValueError(
                f"{path}: unknown figure format {suffix!r}; known: {sorted(supported)}"
            )
        targets = [path if suffix else path.with_name(path.name + ".png")]
    else:
        formats = [formats] if isinstance(formats, str) else list(formats)
        if not formats:
            raise ValueError("formats is empty")
        stem = path.with_suffix("") if suffix in supported else path
        targets = []
        for f in formats:
            f = f.lstrip(".").lower()
            if f not in supported:
                raise ValueError(f"unknown figure format {f!r}; known: {sorted(supported)}")
            targets.append(stem.with_name(f"{stem.name}.{f}"))
    savefig_kw.setdefault("bbox_inches", "tight")
    with matplotlib.rc_context({"svg.hashsalt": "vp-stats"}):
        for t in targets:
            t.parent.mkdir(parents=True, exist_ok=True)
            kw = dict(savefig_kw)
            meta = _METADATA.get(t.suffix.lstrip(".").lower())
            if meta is not None:
                kw.setdefault("metadata", meta)
            kw.setdefault("format", t.suffix.lstrip(".").lower())  # the temporary file's suffix too
            atomic_file(t, lambda tmp, kw=kw: fig.savefig(tmp, dpi=dpi, **kw))
    return targets
