"""Shared figure machinery: new axes on pyplot figures, the one heatmap, saving in several formats.

Every figure function of :mod:`vp_stats.plots` follows seaborn's split:

* **axes-level** functions take ``ax=`` and return the :class:`~matplotlib.axes.Axes` they drew
  on. Without ``ax`` they open a new figure through :mod:`matplotlib.pyplot`, sized for the
  data, so a notebook shows it inline at the end of the cell (and a script sees it in
  ``plt.get_fignums()``; close it with ``plt.close(ax.figure)``);
* **figure-level** functions compose several panels, each drawn by an axes-level function, and
  return the :class:`~matplotlib.figure.Figure` (also pyplot-managed).

Heatmaps all go through :func:`heatmap` (seaborn's :func:`seaborn.heatmap` with a diverging,
zero-centred scale by default); :func:`vp_stats.io.figures.save_figure` writes any of them as
PNG, SVG or PDF at one resolution, :data:`DPI`.

Examples
--------
>>> import pandas as pd
>>> from vp_stats.plots import base
>>> m = pd.DataFrame([[0.2, -0.4], [0.1, 0.3]], index=["a", "b"], columns=["x", "y"])
>>> ax = base.heatmap(m, cbar_label="score")
>>> [t.get_text() for t in ax.get_yticklabels()], len(ax.figure.axes)
(['a', 'b'], 2)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "FIGURE_FORMATS",
    "figure_of",
    "heatmap",
    "heatmap_cells",
    "new_axes",
    "new_figure",
]

#: Resolution (dots per inch) of every raster file :func:`vp_stats.io.figures.save_figure` writes.
DPI = 150

#: Formats :func:`vp_stats.io.figures.save_figure` and :func:`vp_stats.studies.notebooks.save`
#: write when asked for several.
FIGURE_FORMATS = ("png", "svg")


# reproducible vector files: no time stamps, stable SVG ids
def new_figure(figsize: tuple[float, float]) -> Figure:
    """A new pyplot-managed figure with constrained layout.

    Parameters
    ----------
    figsize : tuple of float
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = new_figure((3, 2))
    >>> fig.number in plt.get_fignums(), fig.get_layout_engine() is not None
    (True, True)
    """
    return plt.figure(figsize=figsize, layout="constrained")


def new_axes(
    ax: Axes | None = None, figsize: tuple[float, float] = (6.0, 4.0), **subplot_kw
) -> Axes:
    """``ax`` itself, or one axes on a new figure of :func:`new_figure`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; returned unchanged.
    figsize : tuple of float
        Size of the new figure when ``ax`` is None.
    **subplot_kw
        Passed to :meth:`~matplotlib.figure.Figure.add_subplot` (e.g. ``projection="polar"``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = new_axes(figsize=(3, 2))
    >>> new_axes(ax) is ax, ax.figure.get_size_inches().tolist()
    (True, [3.0, 2.0])
    """
    if ax is not None:
        return ax
    return new_figure(figsize).add_subplot(**subplot_kw)


def figure_of(obj) -> Figure:
    """The figure holding ``obj``: a Figure, an Axes or a seaborn grid (anything with ``.figure``).

    Parameters
    ----------
    obj : Figure, Axes or seaborn grid
        What a figure function returned.

    Returns
    -------
    matplotlib.figure.Figure
        The top-level figure (never a subfigure).

    Examples
    --------
    >>> ax = new_axes()
    >>> figure_of(ax) is ax.figure, figure_of(ax.figure) is ax.figure
    (True, True)
    """
    if isinstance(obj, Figure):
        return obj
    fig = getattr(obj, "figure", None)  # Axes, SubFigure, seaborn grids
    while fig is not None and not isinstance(fig, Figure):
        fig = getattr(fig, "figure", None)  # a subfigure's .figure is the root figure
    if fig is None:
        raise TypeError(
            f"expected a matplotlib Figure, Axes or seaborn grid, got {type(obj).__name__}"
        )
    return fig


def _ticklabel_size(n: int) -> float:
    return 8.0 if n <= 40 else 7.0 if n <= 60 else 6.0


def heatmap(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    center: float | None = 0.0,
    vlim: float | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "RdBu_r",
    annot: bool = False,
    fmt: str = ".2f",
    annot_fontsize: float = 7.0,
    cbar: bool = True,
    cbar_label: str | None = None,
    cbar_kws: dict | None = None,
    xticklabels: Sequence[str] | bool | None = None,
    yticklabels: Sequence[str] | bool | None = None,
    xrotation: float = 45.0,
    fontsize: float | None = None,
    figsize: tuple[float, float] | None = None,
    **kwargs,
) -> Axes:
    """The project's heatmap: :func:`seaborn.heatmap` of a DataFrame, zero-centred by default.

    Row ``i`` of ``data`` is drawn as the band ``i .. i + 1`` from the top (seaborn's
    convention; tick labels sit at ``i + 0.5``); NaN cells are left blank.

    Parameters
    ----------
    data : DataFrame
        Rows x columns of numbers.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized for the matrix.
    center : float or None
        Value at the middle of a diverging colour map (default 0). With ``vmin`` / ``vmax``
        unset, the limits are ``center -+ vlim``.
    vlim : float, optional
        Half-width of the colour range around ``center``; default the largest absolute
        deviation in ``data`` (1 for an empty or constant matrix).
    vmin, vmax : float, optional
        Explicit colour limits (a sequential map, e.g. ``center=None, cmap="viridis"``).
    cmap : str
        Colour map.
    annot : bool
        Write each value in its cell (format ``fmt``, size ``annot_fontsize``).
    fmt : str
        Format of the annotations.
    annot_fontsize : float
        Font size of the annotations.
    cbar : bool
        Draw a colour bar (an extra axes of the figure).
    cbar_label : str, optional
        Its label.
    cbar_kws : dict, optional
        Passed to :meth:`~matplotlib.figure.Figure.colorbar` (default ``shrink=0.6``).
    xticklabels, yticklabels : sequence of str or bool, optional
        Tick labels; default the columns / index, every one of them. ``False`` hides them.
    xrotation : float
        Rotation of the column labels (right-aligned when not 0).
    fontsize : float, optional
        Tick label size; default from the number of rows.
    figsize : tuple of float, optional
        Size of the new figure when ``ax`` is None.
    **kwargs
        Passed to :func:`seaborn.heatmap` (e.g. ``linewidths``, ``mask``, ``square``).

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap axes; its :class:`~matplotlib.collections.QuadMesh` holds the cells
        (:func:`heatmap_cells`).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame([[0.5, float("nan")], [-1.0, 0.25]], index=["r1", "r2"], columns=["c1",
    ...                                                                                    "c2"])
    >>> ax = heatmap(m, annot=True)
    >>> heatmap_cells(ax).shape, [t.get_text() for t in ax.texts]
    ((2, 2), ['0.50', '-1.00', '0.25'])
    """
    vals = data.to_numpy(dtype=float)
    n_rows, n_cols = vals.shape
    finite = vals[np.isfinite(vals)]
    if vmin is None and vmax is None and center is not None:
        if vlim is None:
            vlim = float(np.max(np.abs(finite - center))) if finite.size else 1.0
            vlim = vlim or 1.0
        vmin, vmax = center - vlim, center + vlim
    if figsize is None:
        figsize = (2.4 + 0.55 * n_cols, 1.4 + 0.22 * n_rows)
    ax = new_axes(ax, figsize)
    xl = [str(c).replace("_", " ") for c in data.columns] if xticklabels is None else xticklabels
    yl = [str(i) for i in data.index] if yticklabels is None else yticklabels
    ckw = {"shrink": 0.6, **(cbar_kws or {})}
    if cbar_label is not None:
        ckw.setdefault("label", cbar_label)
    with warnings.catch_warnings():  # seaborn 0.13 on matplotlib >= 3.11: cmap.set_bad
        warnings.filterwarnings("ignore", "The set_bad function", PendingDeprecationWarning)
        sns.heatmap(
            data.astype(float),
            ax=ax,
            cmap=cmap,
            center=center,
            vmin=vmin,
            vmax=vmax,
            annot=annot,
            fmt=fmt,
            annot_kws={"fontsize": annot_fontsize},
            cbar=cbar,
            cbar_kws=ckw if cbar else None,
            xticklabels=list(xl) if not isinstance(xl, bool) else xl,
            yticklabels=list(yl) if not isinstance(yl, bool) else yl,
            **kwargs,
        )
    size = _ticklabel_size(n_rows) if fontsize is None else fontsize
    ax.tick_params(axis="y", labelrotation=0, labelsize=size, length=0)
    ax.tick_params(axis="x", labelrotation=xrotation, labelsize=max(size, 7.0), length=0)
    if xrotation:
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")
    ax.set_xlabel("")
    ax.set_ylabel("")
    return ax


def heatmap_cells(ax: Axes) -> np.ndarray:
    """The cell values of the heatmap drawn on ``ax`` (rows x columns; NaN where blank).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes holding a heatmap of :func:`heatmap`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import pandas as pd
    >>> heatmap_cells(heatmap(pd.DataFrame([[1.0, 2.0]]))).tolist()
    [[1.0, 2.0]]
    """
    mesh = next((c for c in ax.collections if isinstance(c, QuadMesh)), None)
    if mesh is None:
        raise ValueError("no heatmap on these axes")
    arr = mesh.get_array()
    return np.ma.filled(np.ma.asarray(arr, dtype=float), np.nan)
