"""Figures of Value Compass composites over the released model profiles (notebook 05).

Each function takes the tidy tables of :mod:`vp_stats.stats.compass` and
:mod:`vp_stats.studies.compass`, accepts ``ax=`` and returns the
:class:`~matplotlib.axes.Axes` (without ``ax`` a new pyplot figure, shown inline in a
notebook). Composites after Value Compass (Yao, Yi et al., arXiv 2501.07071).

=========================  ======  ============================================================
function                   level   draws
=========================  ======  ============================================================
:func:`agreement_heatmap`  axes    models x groups (weight vectors) heatmap of a composite
:func:`ranking_plot`       axes    horizontal bars of one composite, best first
:func:`rank_change_plot`   axes    rank of each model under several weight vectors (bump chart)
:func:`sensitivity_plot`   axes    rank with 5-95 % interval under perturbed weights
=========================  ======  ============================================================

Examples
--------
>>> import pandas as pd
>>> from vp_stats.plots import compass as cp
>>> t = pd.DataFrame({"group": ["g", "g", "h", "h"], "model": ["a", "b"] * 2,
...                   "weighted_composite": [0.1, 0.2, 0.3, -0.1]})
>>> len(cp.agreement_heatmap(t).figure.axes)
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from vp_stats import tables
from vp_stats.plots._common import legend_outside
from vp_stats.plots.base import heatmap, new_axes

__all__ = ["agreement_heatmap", "rank_change_plot", "ranking_plot", "sensitivity_plot"]

_BLUE, _RED = "#4c72b0", "#c44e52"


def agreement_heatmap(
    table: pd.DataFrame,
    value: str = "weighted_composite",
    *,
    sort_by: str | None = None,
    title: str | None = None,
    annotate: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of a composite: models (rows) x groups / persons (columns).

    ``match`` (rank agreement, 0..1) is drawn on a sequential scale, every other composite on
    a diverging scale centred at 0 (:func:`vp_stats.plots.base.heatmap`).

    Parameters
    ----------
    table : DataFrame
        ``group, model`` and the ``value`` column
        (:func:`vp_stats.studies.compass.composite_table`).
    value : str
        Composite drawn.
    sort_by : str, optional
        Group whose values order the rows (default: the mean over groups), best on top.
    title : str, optional
        Axes title.
    annotate : bool
        Write the values in the cells (only up to 400 cells).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized for the table.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["g", "g", "h", "h"], "model": ["a", "b"] * 2,
    ...                   "weighted_composite": [0.1, 0.2, 0.3, -0.1]})
    >>> ax = agreement_heatmap(t)
    >>> [t.get_text() for t in ax.get_yticklabels()]  # by the mean over groups
    ['a', 'b']
    """
    tables.require(table, ["group", "model", value], "table")
    m = table.pivot_table(index="model", columns="group", values=value, sort=False)
    key = m[sort_by] if sort_by is not None else m.mean(axis=1)
    m = m.loc[key.sort_values(ascending=False).index]
    scale = (
        {"center": None, "vmin": 0.0, "vmax": 1.0, "cmap": "viridis"} if value == "match" else {}
    )
    ax = heatmap(
        m,
        ax=ax,
        annot=annotate and m.size <= 400,
        annot_fontsize=6,
        cbar_label=value.replace("_", " "),
        cbar_kws={"shrink": 0.5},
        xticklabels=[str(c) for c in m.columns],
        xrotation=35,
        fontsize=7,
        figsize=(4.2 + 0.95 * m.shape[1], 1.8 + 0.24 * len(m)),
        **scale,
    )
    ax.set_title(title or f"{value.replace('_', ' ')}: models x weight vectors", fontsize=10)
    return ax


def ranking_plot(
    table: pd.DataFrame,
    value: str,
    *,
    higher_is_better: bool = True,
    title: str | None = None,
    highlight: tuple[str, ...] = (),
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bar chart of one composite per model, best at the top (:func:`seaborn.barplot`).

    Parameters
    ----------
    table : DataFrame
        ``model`` and the ``value`` column, one row per model.
    value : str
        Composite drawn.
    higher_is_better : bool
        Sort order (and the axis label says "lower is better" otherwise).
    title : str, optional
        Axes title.
    highlight : tuple of str
        Models drawn in red.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per model.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": ["a", "b"], "weighted_composite": [0.1, 0.2]})
    >>> ax = ranking_plot(t, "weighted_composite")
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['b', 'a'], [0.2, 0.1])
    """
    tables.require(table, ["model", value], "table")
    d = table.sort_values(value, ascending=not higher_is_better).reset_index(drop=True)
    ax = new_axes(ax, (7.0, 0.22 * len(d) + 1.5))
    palette = {m: (_RED if m in highlight else _BLUE) for m in d["model"]}
    sns.barplot(
        x=d[value].to_numpy(dtype=float),
        y=d["model"].astype(str),
        hue=d["model"].astype(str),
        palette=palette,
        order=list(d["model"].astype(str)),
        orient="h",
        legend=False,
        errorbar=None,
        ax=ax,
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel("")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(value.replace("_", " ") + ("" if higher_is_better else " (lower is better)"))
    ax.set_title(title or f"Models ranked by {value.replace('_', ' ')}", fontsize=10)
    return ax


def rank_change_plot(
    table: pd.DataFrame,
    rank: str = "weighted_rank",
    *,
    groups: list | None = None,
    label_top: int = 5,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Bump chart: each model's rank under several weight vectors.

    Models in the top ``label_top`` of any group are drawn in colour (one colour each) and
    labelled at both ends; the others in grey.

    Parameters
    ----------
    table : DataFrame
        ``group, model`` and the ``rank`` column.
    rank : str
        Rank column (1 = best).
    groups : list, optional
        Columns (weight vectors) to show, in this order; default all, in order of appearance.
    label_top : int
        Models in the top ``label_top`` of any group are coloured and labelled.
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One line per model.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["g", "g", "h", "h"], "model": ["a", "b"] * 2,
    ...                   "weighted_rank": [1, 2, 2, 1]})
    >>> len(rank_change_plot(t).lines)
    2
    """
    tables.require(table, ["group", "model", rank], "table")
    m = table.pivot_table(index="model", columns="group", values=rank, sort=False)
    if groups is not None:
        m = m[groups]
    ax = new_axes(ax, (1.5 * m.shape[1] + 5.5, 0.22 * len(m) + 2.4))
    x = np.arange(m.shape[1])
    top = (m <= label_top).any(axis=1)
    n_top = int(top.sum())
    palette = sns.color_palette("tab20" if n_top <= 20 else "husl", n_top)  # one colour per model
    k = 0
    for model, row in m.iterrows():
        if top[model]:
            c = palette[k]
            k += 1
            ax.plot(x, row.to_numpy(), marker="o", color=c, lw=1.8)
            for end, dx, ha in ((-1, 6, "left"), (0, -6, "right")):
                ax.annotate(
                    model,
                    (x[end], row.iloc[end]),
                    xytext=(dx, 0),
                    textcoords="offset points",
                    ha=ha,
                    va="center",
                    fontsize=6.5,
                    color=c,
                )
        else:
            ax.plot(x, row.to_numpy(), color="lightgrey", lw=0.8, zorder=0)
    ax.invert_yaxis()
    ax.set_xticks(
        x, [str(g) for g in m.columns], rotation=30, ha="right", rotation_mode="anchor", fontsize=8
    )
    ax.set_ylabel(f"{rank.replace('_', ' ')} (1 = best)")
    ax.set_xlim(-1.6, m.shape[1] - 1 + 1.6)
    ax.set_title(title or "How rankings change with the weights", fontsize=10)
    return ax


def sensitivity_plot(
    sensitivity: pd.DataFrame, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Each model's rank under the base weights and its 5-95 % interval under perturbed weights.

    Parameters
    ----------
    sensitivity : DataFrame
        :func:`vp_stats.studies.compass.weight_sensitivity` (``model, rank, rank_p05, rank_p95,
        rank_median``; optional ``noise``).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"model": ["a", "b"], "rank": [1, 2], "rank_p05": [1, 1],
    ...                   "rank_p95": [2, 2], "rank_median": [1, 2]})
    >>> len(sensitivity_plot(s).figure.axes)
    1
    """
    tables.require(
        sensitivity, ["model", "rank", "rank_p05", "rank_p95", "rank_median"], "sensitivity"
    )
    d = sensitivity.sort_values("rank").reset_index(drop=True)
    ax = new_axes(ax, (7.0, 0.22 * len(d) + 1.5))
    y = np.arange(len(d))[::-1]
    ax.hlines(
        y, d["rank_p05"], d["rank_p95"], color=_BLUE, lw=3, alpha=0.5, label="5-95 % of draws"
    )
    ax.scatter(d["rank_median"], y, color=_BLUE, s=12, label="median")
    ax.scatter(d["rank"], y, color="black", marker="|", s=60, label="base weights")
    ax.set_yticks(y, d["model"], fontsize=7)
    ax.set_xlabel("rank (1 = best)")
    ax.grid(axis="x", color="0.92")
    legend_outside(ax, fontsize=8)
    noise = d["noise"].iloc[0] if "noise" in d.columns else None
    ax.set_title(title or f"Rank under perturbed weights (noise {noise})", fontsize=10)
    return ax
