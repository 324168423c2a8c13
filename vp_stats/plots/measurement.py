"""Figures of measurement across groups: invariance, GRM information curves and DIF.

Axes-level functions (``ax=`` in, :class:`~matplotlib.axes.Axes` out, as seaborn's) on the
tables of :mod:`vp_stats.stats.invariance`, :mod:`vp_stats.stats.irt` and
:mod:`vp_stats.stats.dif`. Legends sit outside the
plotting area, right of it, so they never cover a curve or a point.

==============================  ======  ==========================================================
function                        level   draws
==============================  ======  ==========================================================
:func:`invariance_summary`      axes    change in CFI and RMSEA per invariance step with Chen's
                                        (2007) cut-offs; the chi-square difference test per step
:func:`information_curves`      axes    item information curves and the test information
:func:`dif_effect_sizes`        axes    each item's DIF effect size with the flagging threshold
:func:`dif_item_curves`         axes    expected (and observed mean) answer by matching score and
                                        group for one item
==============================  ======  ==========================================================

Examples
--------
>>> from vp_stats.stats import irt
>>> from vp_stats.plots import measurement as mplot
>>> sim = irt.simulate_grm(300, 3, 4, seed=0)
>>> ax = mplot.information_curves(irt.fit_grm(sim.responses).information())
>>> ax.get_xlabel()
'ability (theta)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from vp_stats import tables
from vp_stats.plots._common import HIGHLIGHT
from vp_stats.plots.base import new_axes

__all__ = ["invariance_summary", "information_curves", "dif_effect_sizes", "dif_item_curves"]

_EFFECT_LABELS = {
    f"delta_r2_{r2}_{test}": f"{name} R^2 change ({models})"
    for r2, name in (("mcfadden", "McFadden"), ("nagelkerke", "Nagelkerke"))
    for test, models in (("total", "M3 vs M1"), ("uniform", "M2 vs M1"), ("nonuniform", "M3 vs M2"))
}
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "frameon": False, "fontsize": 8}


def invariance_summary(
    invariance_table: pd.DataFrame,
    *,
    cfi_cutoff: float = -0.01,
    rmsea_cutoff: float = 0.015,
    title: str = "Measurement invariance: change in fit per step",
    ax: Axes | None = None,
) -> Axes:
    """Change in CFI and in RMSEA at each invariance step, with the conventional cut-offs.

    One x position per step (each level against the previous one: configural -> metric ->
    scalar -> strict); two lines, ``delta_cfi`` and ``delta_rmsea``; dashed lines at the
    cut-offs (Chen 2007, "Sensitivity of goodness of fit indexes to lack of measurement
    invariance", Structural Equation Modeling 14(3): a CFI drop beyond -0.01 together with an
    RMSEA rise beyond 0.015 suggests non-invariance at that step). Steps past a cut-off are
    drawn as filled red markers. Each tick label carries the step's chi-square difference test
    (``delta_chisq``, ``delta_df``, ``p``), which with thousands of respondents rejects even
    negligible differences, hence the fit-change cut-offs.

    Parameters
    ----------
    invariance_table : pandas.DataFrame
        :attr:`vp_stats.stats.invariance.InvarianceResult.table` (``level``, ``delta_chisq``,
        ``delta_df``, ``p``, ``delta_cfi``, ``delta_rmsea``); the first level, with no previous
        one to compare with, is not drawn. For an ordinal (WLSMV) table the deltas are of the
        scaled indices and the test is the scaled difference test, as the table holds them.
    cfi_cutoff, rmsea_cutoff : float
        The cut-offs (Chen 2007's defaults): a step with ``delta_cfi < cfi_cutoff`` or
        ``delta_rmsea > rmsea_cutoff`` is marked.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"level": ["configural", "metric", "scalar"],
    ...                   "delta_chisq": [float("nan"), 8.1, 60.2],
    ...                   "delta_df": [float("nan"), 3.0, 3.0], "p": [float("nan"), 0.04, 1e-12],
    ...                   "delta_cfi": [float("nan"), -0.001, -0.02],
    ...                   "delta_rmsea": [float("nan"), -0.002, 0.01]})
    >>> ax = invariance_summary(t)
    >>> [tk.get_text().splitlines()[0] for tk in ax.get_xticklabels()]
    ['configural -> metric', 'metric -> scalar']
    """
    cols = ["level", "delta_chisq", "delta_df", "p", "delta_cfi", "delta_rmsea"]
    tables.require(invariance_table, cols, "invariance_table")
    levels = [str(lv) for lv in invariance_table["level"]]
    steps = invariance_table.iloc[1:]
    if steps.empty:
        raise ValueError("invariance_table has one level; a step needs two levels to compare")
    ax = new_axes(ax, figsize=(8.0, 4.2))
    x = np.arange(len(steps))
    dcfi = steps["delta_cfi"].to_numpy(float)
    drmsea = steps["delta_rmsea"].to_numpy(float)
    series = (
        ("delta CFI", dcfi, "tab:blue", "o", dcfi < cfi_cutoff),
        ("delta RMSEA", drmsea, "tab:orange", "s", drmsea > rmsea_cutoff),
    )
    for name, y, colour, marker, beyond in series:
        ax.plot(x, y, color=colour, marker=marker, lw=1.6, ms=7, label=name, zorder=3)
        if beyond.any():
            ax.scatter(x[beyond], y[beyond], color=HIGHLIGHT, marker=marker, s=70, zorder=4)
    ax.axhline(cfi_cutoff, color="tab:blue", ls="--", lw=1, label=f"CFI cut-off {cfi_cutoff:g}")
    ax.axhline(
        rmsea_cutoff, color="tab:orange", ls="--", lw=1, label=f"RMSEA cut-off {rmsea_cutoff:+g}"
    )
    ax.axhline(0, color="grey", lw=0.8, zorder=1)
    labels = [
        f"{levels[i]} -> {levels[i + 1]}\n"
        f"chi2({r.delta_df:g}) = {r.delta_chisq:.1f}\n{_p_text(r.p)}"
        for i, r in enumerate(steps.itertuples(index=False))
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlim(-0.5, len(x) - 0.5)
    finite = np.concatenate([dcfi, drmsea, [cfi_cutoff, rmsea_cutoff, 0.0]])
    finite = finite[np.isfinite(finite)]
    pad = 0.15 * (finite.max() - finite.min())
    ax.set_ylim(finite.min() - pad, finite.max() + pad)
    ax.set_xlabel("invariance step (chi-square difference test)")
    ax.set_ylabel("change in fit index (level - previous)")
    handles, names = ax.get_legend_handles_labels()
    if any(b.any() for *_, b in series):  # a proxy: no empty artist among the data
        handles.append(Line2D([], [], color=HIGHLIGHT, marker="o", ls="", ms=7))
        names.append("beyond cut-off")
    ax.legend(handles, names, **_LEGEND)
    ax.set_title(title)
    return ax


def _p_text(p: float) -> str:
    """A p value for a label: ``p = `` three decimals, or ``p < 0.001``."""
    if not np.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def information_curves(
    information: pd.DataFrame,
    *,
    items=None,
    test: bool = True,
    title: str = "Item and test information (graded response model)",
    ax: Axes | None = None,
) -> Axes:
    """Item information curves, and the test information on a second y axis (dashed).

    Parameters
    ----------
    information : pandas.DataFrame
        ``theta, item, information`` (:meth:`vp_stats.stats.irt.GRMResult.information`,
        :func:`vp_stats.stats.irt.grm_information`); ``item == "test"`` is the test information.
    items : list, optional
        The items to draw (default all).
    test : bool
        Draw the test information (right axis, with the ability's standard error
        ``1 / sqrt(I)`` read off it).

    Returns
    -------
    matplotlib.axes.Axes
        The item-information axes; the test information is drawn on its twin (right) axes,
        the last of ``ax.figure.axes``.
    """
    tables.require(information, ["theta", "item", "information"], "information")
    ax = new_axes(ax, figsize=(7.5, 4.0))
    it = information[information["item"] != "test"]
    if items is not None:
        it = it[it["item"].isin(list(items))]
    order = list(pd.unique(it["item"]))
    palette = sns.color_palette("husl" if len(order) > 10 else "tab10", len(order))
    handles = []
    for name, colour in zip(order, palette, strict=True):
        d = it[it["item"] == name]
        (line,) = ax.plot(d["theta"], d["information"], color=colour, lw=1.4, label=str(name))
        handles.append(line)
    ax.set_xlabel("ability (theta)")
    ax.set_ylabel("item information")
    ax.set_ylim(bottom=0)
    if test and (information["item"] == "test").any():
        t = information[information["item"] == "test"]
        ax2 = ax.twinx()
        (line,) = ax2.plot(
            t["theta"], t["information"], color="black", ls="--", lw=2, label="test (right axis)"
        )
        ax2.set_ylabel("test information")
        ax2.set_ylim(bottom=0)
        handles.append(line)
    legend = dict(_LEGEND)
    if len(ax.figure.axes) > 1 and test:  # right of the twin axis's tick labels and label
        renderer = ax.figure.canvas.get_renderer()
        right = ax.figure.axes[-1].get_tightbbox(renderer).x1
        legend["bbox_to_anchor"] = (ax.transAxes.inverted().transform((right, 0))[0] + 0.02, 1)
    ax.legend(handles=handles, title="item", **legend)
    ax.set_title(title)
    return ax


def dif_effect_sizes(
    dif_table: pd.DataFrame,
    *,
    column: str = "delta_r2_mcfadden_total",
    threshold: float = 0.02,
    title: str = "Differential item functioning: effect size per item",
    ax: Axes | None = None,
) -> Axes:
    """Dot plot of each item's DIF effect size, flagged items highlighted, the threshold drawn.

    Parameters
    ----------
    dif_table : pandas.DataFrame
        :attr:`vp_stats.stats.dif.DIFResult.table` (``item``, ``flag`` and ``column``).
    column : str
        The effect size (default the McFadden R^2 change of the total test, the flagging one).
    threshold : float
        The flagging threshold of ``column`` (a vertical line).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"item": ["q1", "q2"], "delta_r2_mcfadden_total": [0.001, 0.05],
    ...                   "flag": [False, True]})
    >>> ax = dif_effect_sizes(t)
    >>> [tk.get_text() for tk in ax.get_yticklabels()]
    ['q1', 'q2']
    """
    tables.require(dif_table, ["item", "flag", column], "dif_table")
    ax = new_axes(ax, figsize=(7.0, 0.8 + 0.28 * len(dif_table)))
    y = np.arange(len(dif_table))
    x = dif_table[column].to_numpy(float)
    flag = dif_table["flag"].to_numpy(bool)
    ax.scatter(x[~flag], y[~flag], color="tab:blue", s=30, label="not flagged", zorder=3)
    ax.scatter(x[flag], y[flag], color=HIGHLIGHT, s=40, marker="D", label="flagged", zorder=3)
    ax.axvline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.hlines(y, 0, x, color="lightgrey", lw=1, zorder=1)
    ax.set_yticks(y, [str(i) for i in dif_table["item"]])
    ax.set_ylim(len(y) - 0.5, -0.5)  # first item on top, half a row of margin
    ax.set_xlim(left=min(0.0, float(np.nanmin(x))), right=max(threshold, np.nanmax(x)) * 1.15)
    ax.set_xlabel(_EFFECT_LABELS.get(column, column.replace("_", " ")))
    ax.set_ylabel("item")
    ax.legend(**_LEGEND)
    ax.set_title(title)
    return ax


def dif_item_curves(
    curves: pd.DataFrame,
    *,
    item: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Expected answer to one item by matching score, one line per group; observed means as dots.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`vp_stats.stats.dif.dif_curves` (``score, group, expected, observed, n``).
    item : str, optional
        The item's name, for the title and y label.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"score": [1, 2, 1, 2], "group": ["a", "a", "b", "b"],
    ...                   "expected": [1.0, 2.0, 1.5, 2.5], "observed": [1.1, 2.0, 1.4, 2.6],
    ...                   "n": [3, 4, 5, 6]})
    >>> ax = dif_item_curves(c, item="q1")
    >>> len(ax.lines)
    2
    """
    tables.require(curves, ["score", "group", "expected", "observed", "n"], "curves")
    ax = new_axes(ax, figsize=(7.0, 4.0))
    groups = list(pd.unique(curves["group"]))
    palette = sns.color_palette("tab10", len(groups))
    for g, colour in zip(groups, palette, strict=True):
        d = curves[curves["group"] == g]
        ax.plot(d["score"], d["expected"], color=colour, lw=2, label=f"{g}: model M3")
        o = d[d["n"] > 0]
        ax.scatter(
            o["score"],
            o["observed"],
            s=8 + 40 * np.sqrt(o["n"] / max(1, curves["n"].max())),
            color=colour,
            alpha=0.5,
            label=f"{g}: observed mean",
        )
    name = item if item is not None else "item"
    ax.set_xlabel("matching score")
    ax.set_ylabel(f"answer to {name}")
    ax.legend(title="group", **_LEGEND)
    ax.set_title(title or f"{name}: expected answer by group at equal matching score")
    return ax
