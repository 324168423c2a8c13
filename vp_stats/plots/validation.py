"""Figures of the item validation stage (Value Portrait, Han et al., 2025, section 3).

Each function takes the tidy tables of :mod:`vp_stats.stats.validation`,
:mod:`vp_stats.stats.reliability` and :mod:`vp_stats.stats.structure`. Axes-level functions
take ``ax=`` and return the :class:`~matplotlib.axes.Axes`; figure-level ones (one panel per
family or per statistic) return the :class:`~matplotlib.figure.Figure`. Without ``ax`` a new
pyplot figure is opened, so a notebook shows it inline (see :mod:`vp_stats.plots.base`; save with
:func:`vp_stats.io.figures.save_figure` or :func:`vp_stats.studies.notebooks.save`).

===============================  ======  ==========================================================
function                         level   draws
===============================  ======  ==========================================================
:func:`rho_histogram`            axes    histogram of item x dimension rho of one family, threshold
:func:`rho_distribution`         figure  :func:`rho_histogram` for each family
:func:`rho_heatmap`              axes    items x dimensions rho of one family, blocks by value
:func:`validated_bars`           axes    validated items per dimension of one family
:func:`validated_counts`         figure  :func:`validated_bars` for each family
:func:`strongest_items_forest`   axes    the strongest items per value with bootstrap CIs
:func:`reliability_strip`        axes    alpha or omega of each value's item set per group
:func:`reliability_plot`         figure  :func:`reliability_strip` for alpha and omega
:func:`circumplex_plot`          axes    MDS map of the values with Schwartz's circular order
:func:`published_vs_recomputed`  axes    published vs recomputed rho, one group highlighted
:func:`rho_by_loading`           axes    observed rho against a known (simulated) loading
===============================  ======  ==========================================================

Examples
--------
>>> from vp_stats.stats import simulate
>>> from vp_stats.stats import validation
>>> from vp_stats.plots import validation as vplot
>>> syn = simulate.synthetic(n_participants=60, n_items=20, seed=0)
>>> corr = validation.item_correlations(syn["ratings"], syn["scores"])
>>> fig = vplot.rho_distribution(corr)
>>> len(fig.axes)
3
>>> ax = vplot.rho_histogram(corr, family="bfi")
>>> ax.get_xlabel()
"Spearman rho (item rating vs rater's score)"
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from vp_stats import schema, tables
from vp_stats.plots._common import FAMILY_TITLES, legend_outside
from vp_stats.plots._common import check_family as _check_family
from vp_stats.plots._common import families as _families
from vp_stats.plots._common import label as _label
from vp_stats.plots.base import heatmap, new_axes, new_figure

__all__ = [
    "FAMILY_TITLES",
    "circumplex_plot",
    "published_vs_recomputed",
    "reliability_plot",
    "reliability_strip",
    "rho_by_loading",
    "rho_distribution",
    "rho_heatmap",
    "rho_histogram",
    "strongest_items_forest",
    "validated_bars",
    "validated_counts",
]

ITEM_KEYS = ["portrait_id", "option_id"]
KEYS = [*ITEM_KEYS, "family", "dimension"]

#: Above this many rows :func:`rho_heatmap` labels the value blocks instead of every item.
MAX_LABELLED_ROWS = 80


def _item_label(pid, oid) -> str:
    return f"{int(pid)}/{int(oid)}"


# --------------------------------------------------------------------------- distribution


def rho_histogram(
    corr: pd.DataFrame,
    family: str = "pvq",
    threshold: float = 0.3,
    bins: int | Sequence[float] = 40,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of one family's item x dimension Spearman correlations (:func:`seaborn.histplot`).

    The selection threshold (published scoring: rho > 0.3) is drawn as a vertical line and the
    number of pairs above it is written in the title; the mirrored line at ``-threshold`` marks
    negatively keyed candidates.

    Parameters
    ----------
    corr : DataFrame
        ``family, dimension, rho`` (e.g. :func:`vp_stats.stats.validation.item_correlations`).
    family : str
        Family to draw.
    threshold : float
        Selection threshold.
    bins : int or sequence of float
        Histogram bins.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per bin (heights: numbers of pairs), the two threshold lines.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"family": "pvq", "dimension": "Power", "rho": [-0.2, 0.1, 0.35, 0.5]})
    >>> ax = rho_histogram(c)
    >>> ax.get_title()
    'Basic values (PVQ)\\n2 of 4 pairs with rho > 0.3'
    """
    tables.require(corr, ["family", "dimension", "rho"], "corr")
    _check_family(family)
    rho = corr.loc[corr["family"] == family, "rho"].to_numpy(dtype=float)
    rho = rho[np.isfinite(rho)]
    above = int((rho > threshold).sum())
    ax = new_axes(ax, (4.4, 3.4))
    sns.histplot(x=rho, bins=bins, color="0.6", edgecolor="white", linewidth=0.4, alpha=1, ax=ax)
    ax.axvline(threshold, color="tab:red", linewidth=1.5, label=f"rho = {threshold:g}")
    ax.axvline(-threshold, color="tab:red", linewidth=1, linestyle=":")
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}\n{above} of {len(rho)} pairs with rho > "
        f"{threshold:g}",
        fontsize=9,
    )
    ax.set_xlabel("Spearman rho (item rating vs rater's score)")
    ax.set_ylabel("item x dimension pairs")
    ax.legend(fontsize=8, frameon=False, loc="best")
    return ax


def rho_distribution(
    corr: pd.DataFrame,
    threshold: float = 0.3,
    families: Sequence[str] | str | None = None,
    bins: int | Sequence[float] = 40,
) -> Figure:
    """Figure-level: :func:`rho_histogram` for each family, side by side on a shared x axis.

    Parameters
    ----------
    corr : DataFrame
        ``family, dimension, rho`` (e.g. :func:`vp_stats.stats.validation.item_correlations`).
    threshold : float
        Selection threshold.
    families : str or sequence of str, optional
        Families to draw; default all present, in schema order.
    bins : int or sequence of float
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per family.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"family": "pvq", "dimension": "Power", "rho": [-0.2, 0.1, 0.35, 0.5]})
    >>> fig = rho_distribution(c)
    >>> len(fig.axes), fig.axes[0].get_title()
    (1, 'Basic values (PVQ)\\n2 of 4 pairs with rho > 0.3')
    """
    tables.require(corr, ["family", "dimension", "rho"], "corr")
    fams = _families(corr, families)
    fig = new_figure((4.2 * len(fams), 3.5))
    axes = fig.subplots(1, len(fams), sharex=True, squeeze=False)[0]
    for i, (ax, fam) in enumerate(zip(axes, fams, strict=True)):
        rho_histogram(corr, fam, threshold=threshold, bins=bins, ax=ax)
        if i:
            ax.set_ylabel("")
            ax.get_legend().remove()
    return fig


# --------------------------------------------------------------------------- heatmap


def rho_heatmap(
    corr: pd.DataFrame,
    family: str = "pvq",
    threshold: float = 0.3,
    selected_only: bool = True,
    max_items: int | None = None,
    top_n: int | None = None,
    item_labels: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Items x dimensions heatmap of rho for one family, items in blocks by their strongest value.

    Rows are the items selected (``rho > threshold``) for at least one dimension of the family
    (or all items), grouped by the dimension on which they correlate most and, within that
    block, sorted by that rho, so the validated item sets appear as blocks along the diagonal
    (separated by lines). Columns follow the schema (circumplex) order; a dot marks each
    selected pair. Drawn with :func:`vp_stats.plots.base.heatmap`.

    For a readable figure of a large item set, keep the ``top_n`` strongest items of each block
    (and show the full table beside it, e.g. as a DataFrame). Above
    :data:`MAX_LABELLED_ROWS` rows the items are not labelled one by one: the y axis names the
    blocks (value and number of items) instead.

    Parameters
    ----------
    corr : DataFrame
        ``portrait_id, option_id, family, dimension, rho``.
    family : str
        ``pvq``, ``higher_pvq`` or ``bfi``.
    threshold : float
        Selection threshold.
    selected_only : bool
        Only rows of items selected for some dimension.
    max_items : int, optional
        Keep at most this many rows (the strongest items overall).
    top_n : int, optional
        Keep at most this many rows per block (the strongest items of each value).
    item_labels : bool, optional
        Label every row with its item (``portrait/option``); default when there are at most
        :data:`MAX_LABELLED_ROWS` rows.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized for the rows.

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap axes (its figure also holds the colour bar).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"portrait_id": [1, 1, 2, 2], "option_id": 1, "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2, "rho": [0.5, 0.1, 0.0,
    ...                                                                         0.4]})
    >>> ax = rho_heatmap(c, family="bfi")
    >>> len(ax.figure.axes), [t.get_text() for t in ax.get_yticklabels()]
    (2, ['2/1', '1/1'])
    """
    tables.require(corr, [*ITEM_KEYS, "family", "dimension", "rho"], "corr")
    dims = _check_family(family)
    sub = corr[corr["family"] == family]
    if sub.empty:
        raise ValueError(f"corr has no rows of family {family!r}")
    if top_n is not None and top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    mat = sub.pivot_table(
        index=ITEM_KEYS, columns="dimension", values="rho", aggfunc="first", dropna=False
    )
    mat = mat.reindex(columns=[d for d in dims if d in mat.columns])
    vals = mat.to_numpy(dtype=float)
    filled = np.where(np.isnan(vals), -np.inf, vals)
    best = filled.argmax(axis=1)
    best_rho = filled.max(axis=1)
    keep = best_rho > threshold if selected_only else np.ones(len(mat), dtype=bool)
    if not keep.any():
        raise ValueError(f"no item of family {family!r} has rho > {threshold}")
    order = np.lexsort((-best_rho, best))
    order = order[keep[order]]
    if top_n is not None:
        rank_in_block = pd.Series(best[order]).groupby(best[order]).cumcount().to_numpy()
        order = order[rank_in_block < top_n]
    if max_items is not None and len(order) > max_items:
        strongest = np.sort(np.argsort(-best_rho[order], kind="stable")[:max_items])
        order = order[strongest]
    mat = mat.iloc[order]
    blocks = best[order]
    vals = mat.to_numpy(dtype=float)
    n_rows, n_cols = vals.shape
    show_items = n_rows <= MAX_LABELLED_ROWS if item_labels is None else bool(item_labels)
    height = min(1.9 + 0.17 * n_rows, 14.0) if show_items else 9.0
    lim = max(float(np.nanmax(np.abs(vals))), threshold) if np.isfinite(vals).any() else 1.0
    data = pd.DataFrame(vals, columns=[_label(d) for d in mat.columns])
    ax = heatmap(
        data,
        ax=ax,
        vlim=lim,
        cbar_label="Spearman rho",
        cbar_kws={
            "shrink": 0.5 if n_rows > 20 else 0.8,
            "aspect": 30,
            "pad": 0.15 if show_items else 0.05,
        },
        yticklabels=[_item_label(p, o) for p, o in mat.index] if show_items else False,
        fontsize=7 if n_rows > 40 else 8,
        figsize=(3.6 + 0.5 * n_cols, height),
    )
    rr, cc = np.nonzero(vals > threshold)
    dot = 12 if n_rows <= 40 else 7 if show_items else 2.5
    ax.scatter(cc + 0.5, rr + 0.5, s=dot, marker="o", color="k", linewidths=0)
    cuts = np.flatnonzero(np.diff(blocks) != 0) + 1
    for c in cuts:
        ax.axhline(c, color="k", linewidth=0.8)
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [n_rows]])
    block_names = [_label(mat.columns[blocks[s]]) for s in starts]
    centres = (starts + ends) / 2
    if show_items:
        ax.set_ylabel("item (portrait / option)")
        sec = ax.secondary_yaxis("right")
        sec.set_yticks(centres, block_names)
        sec.tick_params(length=0, labelsize=7, colors="0.3")
        for spine in sec.spines.values():
            spine.set_visible(False)
    else:
        ax.set_yticks(
            centres,
            [f"{n} ({e - s})" for n, s, e in zip(block_names, starts, ends, strict=True)],
            fontsize=8,
        )
        ax.set_ylabel("items, grouped by the value they correlate with most")
    what = f"top {top_n} per value" if top_n is not None else "selected" if selected_only else "all"
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: rho of {n_rows} items ({what})\n"
        f"dots: rho > {threshold:g}",
        fontsize=10,
    )
    return ax


# --------------------------------------------------------------------------- counts


def validated_bars(summary: pd.DataFrame, family: str = "pvq", ax: Axes | None = None) -> Axes:
    """Bar chart of the number of validated items per dimension of one family (seaborn barplot).

    Parameters
    ----------
    summary : DataFrame
        ``family, dimension, n_selected`` (:func:`vp_stats.stats.validation.validated_summary`).
    family : str
        Family to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per dimension (schema order), labelled with its count.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"family": "bfi", "dimension": ["Openness", "Neuroticism"],
    ...                   "n_selected": [12, 3]})
    >>> ax = validated_bars(s, family="bfi")
    >>> [float(p.get_height()) for p in ax.patches]  # schema order: Neuroticism first
    [3.0, 12.0]
    """
    tables.require(summary, ["family", "dimension", "n_selected"], "summary")
    dims = _check_family(family)
    sub = summary[summary["family"] == family]
    order = [d for d in dims if d in set(sub["dimension"])]
    if not order:
        raise ValueError(f"summary has no rows of family {family!r}")
    sub = sub.set_index("dimension").loc[order]
    ax = new_axes(ax, (1.4 + 0.45 * len(order), 3.6))
    sns.barplot(
        x=[_label(d) for d in order],
        y=sub["n_selected"].to_numpy(dtype=float),
        color="tab:blue",
        errorbar=None,
        ax=ax,
    )
    ax.bar_label(ax.containers[0], fontsize=7, padding=1)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
        t.set_rotation_mode("anchor")
    ax.set_title(FAMILY_TITLES.get(family, family), fontsize=9)
    ax.set_ylabel("validated items")
    return ax


def validated_counts(summary: pd.DataFrame, families: Sequence[str] | str | None = None) -> Figure:
    """Figure-level: :func:`validated_bars` for each family, panel widths by number of dimensions.

    Parameters
    ----------
    summary : DataFrame
        ``family, dimension, n_selected`` (:func:`vp_stats.stats.validation.validated_summary`).
    families : str or sequence of str, optional
        Families to draw; default all present.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per family, one bar per dimension, labelled with its count.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"family": "bfi", "dimension": ["Openness", "Neuroticism"],
    ...                   "n_selected": [12, 3]})
    >>> fig = validated_counts(s)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]  # schema order: Neuroticism first
    [3.0, 12.0]
    """
    tables.require(summary, ["family", "dimension", "n_selected"], "summary")
    fams = _families(summary, families)
    widths = [max(len(summary[summary["family"] == f]), 1) for f in fams]
    fig = new_figure((1.2 + 0.45 * sum(widths) + 0.5 * len(fams), 3.6))
    axes = fig.subplots(
        1, len(fams), squeeze=False, gridspec_kw={"width_ratios": widths}, sharey=True
    )[0]
    for i, (ax, fam) in enumerate(zip(axes, fams, strict=True)):
        validated_bars(summary, fam, ax=ax)
        if i:
            ax.set_ylabel("")
    return fig


# --------------------------------------------------------------------------- forest


def strongest_items_forest(
    table: pd.DataFrame,
    family: str = "pvq",
    k: int = 3,
    threshold: float | None = 0.3,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of the ``k`` strongest items of each dimension with their bootstrap CIs.

    The intervals are the table's own (percentile bootstrap over raters), drawn as given.

    Parameters
    ----------
    table : DataFrame
        ``portrait_id, option_id, family, dimension, rho, ci_low, ci_high``
        (:func:`vp_stats.stats.validation.validate_items` with ``n_boot > 0``).
    family : str
        Family to draw.
    k : int
        Items per dimension (highest rho first).
    threshold : float, optional
        Drawn as a vertical reference line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One error bar (point and interval) per dimension, ``k`` items each.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"portrait_id": [1, 2, 3], "option_id": 1, "family": "bfi",
    ...                   "dimension": ["Openness", "Openness", "Neuroticism"],
    ...                   "rho": [0.5, 0.4, 0.3], "ci_low": [0.3, 0.2, 0.1], "ci_high": [0.7, 0.6,
    ...                                                                                  0.5]})
    >>> ax = strongest_items_forest(t, family="bfi", k=1)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Neuroticism  3/1', 'Openness  1/1']
    """
    tables.require(table, [*KEYS, "rho", "ci_low", "ci_high"], "table")
    dims = _check_family(family)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    sub = table[(table["family"] == family) & table["rho"].notna()]
    top = (
        sub.sort_values("rho", ascending=False, kind="stable")
        .groupby("dimension", sort=False)
        .head(k)
    )
    rows = [top[top["dimension"] == d] for d in dims if (top["dimension"] == d).any()]
    if not rows:
        raise ValueError(f"table has no rho of family {family!r}")
    ax = new_axes(ax, (6.0, 1.2 + 0.22 * sum(len(r) for r in rows)))
    colors = sns.color_palette(n_colors=len(rows))
    labels, y = [], 0
    for color, r in zip(colors, rows, strict=True):
        ys = np.arange(y, y + len(r))
        rho = r["rho"].to_numpy(dtype=float)
        err = np.vstack(
            [rho - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - rho]
        )
        ax.errorbar(rho, ys, xerr=err, fmt="o", color=color, markersize=4, capsize=2, linewidth=1)
        labels += [
            f"{_label(d)}  {_item_label(p, o)}"
            for d, p, o in zip(r["dimension"], r["portrait_id"], r["option_id"], strict=True)
        ]
        y += len(r)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="0.5", linewidth=0.8)
    if threshold is not None:
        ax.axvline(threshold, color="tab:red", linewidth=1, linestyle="--")
    ax.set_xlabel("Spearman rho with bootstrap CI")
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: {k} strongest item(s) per dimension", fontsize=10
    )
    return ax


# --------------------------------------------------------------------------- reliability


def reliability_strip(
    rel: pd.DataFrame,
    family: str = "pvq",
    statistic: str = "alpha",
    ax: Axes | None = None,
    seed: int = 0,
    legend: bool = True,
) -> Axes:
    """One statistic (alpha or omega) of each dimension's validated item set, a point per group.

    Items of a value are spread over participant groups with different raters, so reliability
    exists per (dimension, group) (see :func:`vp_stats.stats.reliability.value_reliability`). Each
    group is a point (size proportional to the number of items, jittered sideways), the median
    over groups a black bar, the dashed line 0.7; groups where the statistic could not be
    computed are left out and counted at the bottom of the panel ("2 n/a").

    Parameters
    ----------
    rel : DataFrame
        ``family, dimension, group, n_items`` and the ``statistic`` column.
    family : str
        Family to draw.
    statistic : str
        Column to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    seed : int
        Seed of the horizontal jitter.
    legend : bool
        Draw the key (point size = number of items, median bar, 0.7 line) right of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        One point collection (all groups), the median bars.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"family": "bfi", "dimension": ["Openness", "Openness", "Neuroticism"],
    ...                   "group": [0, 1, 0], "n_items": [3, 4, 2], "alpha": [0.7, 0.8, 0.5]})
    >>> ax = reliability_strip(r, family="bfi")
    >>> ax.collections[0].get_offsets().shape[0], ax.get_ylabel()
    (3, 'alpha')
    """
    tables.require(rel, ["family", "dimension", "group", "n_items", statistic], "rel")
    dims = _check_family(family)
    sub = rel[rel["family"] == family]
    dims = [d for d in dims if (sub["dimension"] == d).any()]
    if not dims:
        raise ValueError(f"rel has no rows of family {family!r}")
    ax = new_axes(ax, (1.6 + 0.55 * len(dims), 3.0))
    rng = np.random.default_rng(seed)  # horizontal jitter only
    xs, ys, sizes, medians, missing = [], [], [], [], []
    for i, d in enumerate(dims):
        g = sub[sub["dimension"] == d]
        v = pd.to_numeric(g[statistic], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v)
        xs.append(i + rng.uniform(-0.15, 0.15, ok.sum()))
        ys.append(v[ok])
        n_items = pd.to_numeric(g["n_items"], errors="coerce").fillna(1).to_numpy(dtype=float)
        sizes.append(8.0 * n_items[ok])
        medians.append(np.median(v[ok]) if ok.any() else np.nan)
        missing.append(int((~ok).sum()))
    ax.scatter(
        np.concatenate(xs),
        np.concatenate(ys),
        s=np.concatenate(sizes),
        color="tab:blue",
        alpha=0.6,
        edgecolors="none",
    )
    pos = np.arange(len(dims))
    ax.hlines(medians, pos - 0.3, pos + 0.3, color="k", linewidth=1.5)
    ax.axhline(0.7, color="tab:red", linewidth=0.8, linestyle="--")
    ax.set_ylabel(statistic)
    ymin = min(-0.1, float(np.nanmin(np.concatenate([*ys, [0.0]])) - 0.12))
    ax.set_ylim(ymin, 1.0)
    for i, m in enumerate(missing):
        if m:
            ax.text(i, ymin + 0.02, f"{m} n/a", ha="center", va="bottom", fontsize=6.5, color="0.4")
    ax.set_xticks(
        pos, [_label(d) for d in dims], rotation=60, ha="right", rotation_mode="anchor", fontsize=8
    )
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: {statistic} of the validated items per group",
        fontsize=10,
    )
    if legend:
        legend_outside(ax, handles=_reliability_handles(np.concatenate(sizes) / 8.0), fontsize=7)
    return ax


def _reliability_handles(n_items: np.ndarray) -> list:
    """Legend entries of :func:`reliability_strip`: point sizes (items), median bar, 0.7 line."""
    from matplotlib.lines import Line2D

    n_items = n_items[np.isfinite(n_items)]
    lo, hi = (int(n_items.min()), int(n_items.max())) if len(n_items) else (1, 1)
    sizes = sorted({lo, int(round((lo + hi) / 2)), hi})
    points = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=float(np.sqrt(8.0 * n)),
            markerfacecolor="tab:blue",
            markeredgecolor="none",
            alpha=0.6,
            label=f"a group, {n} item{'s' if n != 1 else ''}",
        )
        for n in sizes
    ]
    return [
        *points,
        Line2D([], [], color="k", linewidth=1.5, label="median over groups"),
        Line2D([], [], color="tab:red", linewidth=0.8, linestyle="--", label="0.7"),
    ]


def reliability_plot(
    rel: pd.DataFrame,
    family: str = "pvq",
    statistics: Sequence[str] = ("alpha", "omega"),
) -> Figure:
    """Figure-level: :func:`reliability_strip` for each statistic, stacked on a shared x axis.

    Parameters
    ----------
    rel : DataFrame
        ``family, dimension, group, n_items`` and the statistic columns.
    family : str
        Family to draw.
    statistics : sequence of str
        Columns to draw, one panel each.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per statistic.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"family": "bfi", "dimension": ["Openness", "Openness", "Neuroticism"],
    ...                   "group": [0, 1, 0], "n_items": [3, 4, 2],
    ...                   "alpha": [0.7, 0.8, 0.5], "omega": [0.72, 0.81, None]})
    >>> fig = reliability_plot(r, family="bfi")
    >>> len(fig.axes), fig.axes[1].collections[0].get_offsets().shape[0]
    (2, 2)
    """
    statistics = list(statistics)
    tables.require(rel, ["family", "dimension", "group", "n_items", *statistics], "rel")
    dims = _check_family(family)
    n_dims = max(1, sum((rel.loc[rel["family"] == family, "dimension"] == d).any() for d in dims))
    fig = new_figure((1.6 + 0.55 * n_dims, 2.7 * len(statistics) + 0.6))
    axes = fig.subplots(len(statistics), 1, sharex=True, squeeze=False)[:, 0]
    for i, (ax, stat) in enumerate(zip(axes, statistics, strict=True)):
        reliability_strip(rel, family, stat, ax=ax, seed=i, legend=i == 0)
        ax.set_title("")
    fig.suptitle(
        f"{FAMILY_TITLES.get(family, family)}: reliability of the validated items per group",
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- circumplex


def circumplex_plot(
    positions: pd.DataFrame,
    order: Sequence[str] | None = None,
    check: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """MDS map of the values with the theoretical circular order drawn as a closed polygon.

    If the recovered structure followed Schwartz's circumplex, the polygon through the values
    in theoretical order would not cross itself.

    Parameters
    ----------
    positions : DataFrame
        ``dimension, x, y`` (:func:`vp_stats.stats.structure.circumplex_positions`).
    order : sequence of str, optional
        Theoretical circular order; default :data:`vp_stats.schema.PVQ_VALUES`.
    check : DataFrame, optional
        :func:`vp_stats.stats.structure.circumplex_check` output, summarised in the title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The polygon patch, the points and one label per value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from vp_stats import schema
    >>> a = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    >>> pos = pd.DataFrame({"dimension": schema.PVQ_VALUES, "x": np.cos(a), "y": np.sin(a)})
    >>> ax = circumplex_plot(pos)
    >>> len(ax.patches), len(ax.texts)
    (1, 10)
    """
    tables.require(positions, ["dimension", "x", "y"], "positions")
    order = list(schema.PVQ_VALUES if order is None else order)
    pos = positions.set_index("dimension")
    missing = [d for d in order if d not in pos.index]
    if missing:
        raise ValueError(f"positions lack dimension(s) {missing}")
    xy = pos.loc[order, ["x", "y"]].to_numpy(dtype=float)
    ax = new_axes(ax, (5.2, 5.4))
    ax.add_patch(
        Polygon(
            xy,
            closed=True,
            facecolor=to_rgba("tab:blue", 0.08),
            edgecolor="tab:blue",
            linewidth=1.2,
            linestyle="--",
        )
    )
    ax.scatter(xy[:, 0], xy[:, 1], s=30, color="k", zorder=3)
    span = float(np.abs(xy).max()) or 1.0
    for (x, y), d in zip(xy, order, strict=True):
        r = np.hypot(x, y) or 1.0
        ax.text(
            x + 0.08 * span * x / r,
            y + 0.08 * span * y / r,
            f"{_label(d)} ({schema.PVQ_ABBREV[d]})" if d in schema.PVQ_ABBREV else _label(d),
            ha="center",
            va="center",
            fontsize=8,
        )
    ax.axhline(0, color="0.85", linewidth=0.6)
    ax.axvline(0, color="0.85", linewidth=0.6)
    ax.set_xlim(-1.25 * span, 1.25 * span)
    ax.set_ylim(-1.25 * span, 1.25 * span)
    ax.set_aspect("equal")
    ax.set_xlabel("MDS dimension 1")
    ax.set_ylabel("MDS dimension 2")
    title = "Value map (polygon: theoretical circular order)"
    if check is not None and len(check):
        c = check.iloc[0]
        kept = f"{int(c['adjacent_pairs_preserved'])}/{int(c['n_adjacent_pairs'])}"
        title += f"\nrecovered {c['recovered_order']}; {kept} neighbours kept"
    ax.set_title(title, fontsize=9)
    return ax


# -------------------------------------------------------------------------- published vs recomputed


def published_vs_recomputed(
    published: pd.DataFrame,
    recomputed: pd.DataFrame,
    item_groups: pd.DataFrame | None = None,
    highlight_group: int = 0,
    tol: float = 1e-9,
    ax: Axes | None = None,
) -> Axes:
    """Scatter of published against recomputed rho, highlighting one participant group's items.

    Parameters
    ----------
    published, recomputed : DataFrame
        ``portrait_id, option_id, family, dimension, rho`` (e.g.
        :func:`vp_stats.io.datasets.load_published_correlations` and
        :func:`vp_stats.stats.validation.item_correlations`), joined on those keys.
    item_groups : DataFrame, optional
        ``portrait_id, option_id, group`` (the group that rated the item, e.g. the distinct
        rows of :func:`vp_stats.io.datasets.load_ratings`). Without it the rows that differ are
        highlighted instead.
    highlight_group : int
        Group drawn in colour.
    tol : float
        Rows with ``|published - recomputed| > tol`` are counted as different.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Grey points for the other rows, coloured points for the highlighted ones, the identity
        line.

    Examples
    --------
    >>> import pandas as pd
    >>> k = {"portrait_id": [1, 2], "option_id": 1, "family": "bfi", "dimension": "Openness"}
    >>> pub, rec = pd.DataFrame({**k, "rho": [0.3, 0.5]}), pd.DataFrame({**k, "rho": [0.3, 0.4]})
    >>> ax = published_vs_recomputed(pub, rec, pd.DataFrame({"portrait_id": [1, 2], "option_id": 1,
    ...                                                      "group": [5, 0]}))
    >>> ax.get_title()
    '1 of 2 rows differ; 1 of them in group 0'
    """
    for df, what in ((published, "published"), (recomputed, "recomputed")):
        tables.require(df, [*KEYS, "rho"], what)
    m = published[[*KEYS, "rho"]].merge(
        recomputed[[*KEYS, "rho"]],
        on=KEYS,
        suffixes=("_published", "_recomputed"),
        validate="one_to_one",
    )
    if m.empty:
        raise ValueError("published and recomputed share no (item, family, dimension) row")
    a, b = m["rho_published"].to_numpy(dtype=float), m["rho_recomputed"].to_numpy(dtype=float)
    differ = ~((np.abs(a - b) <= tol) | (np.isnan(a) & np.isnan(b)))
    if item_groups is not None:
        tables.require(item_groups, [*ITEM_KEYS, "group"], "item_groups")
        g = m[ITEM_KEYS].merge(
            item_groups[[*ITEM_KEYS, "group"]].drop_duplicates(ITEM_KEYS), on=ITEM_KEYS, how="left"
        )["group"]
        hi = (g == highlight_group).to_numpy()
        label = f"group {highlight_group} items"
        title = (
            f"{int(differ.sum())} of {len(m)} rows differ; {int((differ & hi).sum())} of them "
            f"in group {highlight_group}"
        )
    else:
        hi = differ
        label = "differing rows"
        title = f"{int(differ.sum())} of {len(m)} rows differ"
    ax = new_axes(ax, (5.0, 5.0))
    ax.scatter(a[~hi], b[~hi], s=4, color="0.6", alpha=0.5, edgecolors="none", label="other rows")
    ax.scatter(a[hi], b[hi], s=8, color="tab:red", alpha=0.7, edgecolors="none", label=label)
    both = np.concatenate([a, b])
    lim = np.nanmax(np.abs(both)) * 1.05 if np.isfinite(both).any() else 1.0
    ax.plot([-lim, lim], [-lim, lim], color="k", linewidth=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("published rho")
    ax.set_ylabel("recomputed rho")
    ax.legend(fontsize=8, frameon=False, loc="upper left", markerscale=2)
    ax.set_title(title, fontsize=9)
    return ax


# --------------------------------------------------------------------------- known loadings


def rho_by_loading(
    table: pd.DataFrame,
    loading: str = "loading",
    threshold: float | None = 0.3,
    selected: str | None = "selected",
    ax: Axes | None = None,
    seed: int = 0,
) -> Axes:
    """Observed rho of each item against its known (simulated) loading: box plot and points.

    For synthetic studies with a ground truth (:func:`vp_stats.io.simulate.synthetic_study`): one
    box (no fliers) per true loading, every item as a jittered point,
    coloured by whether it was selected, and the threshold as a dashed line.

    Parameters
    ----------
    table : DataFrame
        One row per item on its target dimension: ``rho``, the ``loading`` column and,
        optionally, the boolean ``selected`` column.
    loading : str
        Column of the true loadings (the boxes, in increasing order).
    threshold : float, optional
        Drawn as a horizontal line.
    selected : str, optional
        Boolean column colouring the points (selected in blue, others grey); None: all blue.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    seed : int
        Seed of the horizontal jitter.

    Returns
    -------
    matplotlib.axes.Axes
        One box per loading; one point collection per selection state.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"loading": [0, 0, 0.6, 0.6], "rho": [0.05, -0.1, 0.5, 0.62],
    ...                   "selected": [False, False, True, True]})
    >>> ax = rho_by_loading(t)
    >>> [t.get_text() for t in ax.get_xticklabels()], len(ax.collections)
    (['0', '0.6'], 2)
    """
    tables.require(table, ["rho", loading, *([selected] if selected else [])], "table")
    levels = sorted(pd.unique(table[loading].dropna()))
    if not levels:
        raise ValueError(f"table has no {loading!r} values")
    pos = {a: i for i, a in enumerate(levels)}
    ax = new_axes(ax, (1.8 + 1.4 * len(levels), 4.4))
    ax.boxplot(
        [table.loc[table[loading] == a, "rho"].dropna() for a in levels],
        positions=range(len(levels)),
        widths=0.5,
        showfliers=False,
        medianprops={"color": "0.35"},
    )
    rng = np.random.default_rng(seed)
    groups = (
        [
            (
                True,
                "tab:blue",
                f"selected (rho > {threshold:g})" if threshold is not None else "selected",
            ),
            (False, "0.6", "not selected"),
        ]
        if selected
        else [(None, "tab:blue", "items")]
    )
    for flag, colour, label in groups:
        pts = table if flag is None else table[table[selected].astype(bool) == flag]
        if pts.empty:
            continue
        x = pts[loading].map(pos).to_numpy(dtype=float) + rng.uniform(-0.15, 0.15, len(pts))
        ax.scatter(x, pts["rho"], s=22, color=colour, label=label, zorder=3)
    if threshold is not None:
        ax.axhline(
            threshold, color="tab:red", ls="--", lw=1, label=f"threshold rho = {threshold:g}"
        )
    ax.set_xticks(range(len(levels)), [f"{a:g}" for a in levels])
    ax.set_xlabel("true loading of the item on its target value")
    ax.set_ylabel("Spearman rho with the target value")
    ax.set_title("Observed rho of each item by its true loading", fontsize=10)
    legend_outside(ax, fontsize=8)
    return ax
