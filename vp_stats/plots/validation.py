"""Figures of the item validation stage (Value Portrait, Han et al., 2025, section 3).

Each function takes the tidy tables of :mod:`vp_stats.validation`,
:mod:`vp_stats.reliability` and :mod:`vp_stats.structure` and returns a new
:class:`matplotlib.figure.Figure` (built without :mod:`matplotlib.pyplot`, so no
global figure state is touched and nothing is shown; save it with
``fig.savefig``).

Functions
---------
rho_distribution          histogram of item x dimension rho per family, with the threshold
rho_heatmap               selected items x dimensions rho (one family)
validated_counts          bar chart of validated items per dimension (:func:`validated_summary`)
strongest_items_forest    forest plot of the strongest items per value with bootstrap CIs
reliability_plot          alpha and omega of each value's item set per participant group
circumplex_plot           MDS map of the values with Schwartz's circular order as a polygon
published_vs_recomputed   published vs recomputed rho, one participant group highlighted

Examples
--------
>>> from vp_stats import datasets, validation
>>> from vp_stats.plots import validation as vplot
>>> syn = datasets.synthetic(n_participants=60, n_items=20, seed=0)
>>> corr = validation.item_correlations(syn["ratings"], syn["scores"])
>>> fig = vplot.rho_distribution(corr)
>>> len(fig.axes)
3
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from vp_stats import schema
from vp_stats.plots._common import check_family as _check_family
from vp_stats.plots._common import label as _label

ITEM_KEYS = ["portrait_id", "option_id"]
KEYS = [*ITEM_KEYS, "family", "dimension"]

FAMILY_TITLES = {
    "pvq": "Basic values (PVQ)",
    "higher_pvq": "Higher-order values",
    "bfi": "Big Five (BFI-10)",
}


def _require(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {list(df.columns)}")


def _families(df: pd.DataFrame, families) -> list[str]:
    present = set(df["family"])
    if families is None:
        return [f for f in schema.FAMILY_NAMES if f in present]
    families = [families] if isinstance(families, str) else list(families)
    unknown = [f for f in families if f not in schema.FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; known: {list(schema.FAMILY_NAMES)}")
    return families




def _item_label(pid, oid) -> str:
    return f"{int(pid)}/{int(oid)}"


# --------------------------------------------------------------------------- distribution


def rho_distribution(
    corr: pd.DataFrame,
    threshold: float = 0.3,
    families: Sequence[str] | str | None = None,
    bins: int | Sequence[float] = 40,
) -> Figure:
    """Histogram of the item x dimension Spearman correlations, one panel per family.

    The selection threshold (published scoring: rho > 0.3) is drawn as a
    vertical line and the number of pairs above it is written in the panel; the
    mirrored line at ``-threshold`` marks negatively keyed candidates.

    Parameters
    ----------
    corr : DataFrame
        ``family, dimension, rho`` (e.g. :func:`vp_stats.validation.item_correlations`).
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
    (1, 'Basic values (PVQ): 2 of 4 pairs with rho > 0.3')
    """
    _require(corr, ["family", "dimension", "rho"], "corr")
    fams = _families(corr, families)
    fig = Figure(figsize=(4.2 * len(fams), 3.4), layout="constrained")
    axes = fig.subplots(1, len(fams), sharex=True, squeeze=False)[0]
    for ax, fam in zip(axes, fams, strict=True):
        rho = corr.loc[corr["family"] == fam, "rho"].to_numpy(dtype=float)
        rho = rho[np.isfinite(rho)]
        above = int((rho > threshold).sum())
        ax.hist(rho, bins=bins, color="0.6", edgecolor="white", linewidth=0.4)
        ax.axvline(threshold, color="tab:red", linewidth=1.5, label=f"rho = {threshold:g}")
        ax.axvline(-threshold, color="tab:red", linewidth=1, linestyle=":")
        ax.set_title(
            f"{FAMILY_TITLES.get(fam, fam)}: {above} of {len(rho)} pairs with rho > {threshold:g}",
            fontsize=9,
        )
        ax.set_xlabel("Spearman rho (item rating vs rater's score)")
    axes[0].set_ylabel("item x dimension pairs")
    axes[0].legend(fontsize=8, frameon=False, loc="upper left")
    return fig


# --------------------------------------------------------------------------- heatmap


def rho_heatmap(
    corr: pd.DataFrame,
    family: str = "pvq",
    threshold: float = 0.3,
    selected_only: bool = True,
    max_items: int | None = None,
) -> Figure:
    """Items x dimensions heatmap of rho for one family.

    Rows are the items selected (``rho > threshold``) for at least one
    dimension of the family (or all items), grouped by the dimension on which
    they correlate most and, within that block, sorted by that rho, so the
    validated item sets appear as blocks along the diagonal. Columns follow the
    schema (circumplex) order. Cells of selected pairs are outlined.

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
        Keep at most this many rows (the strongest items).

    Returns
    -------
    matplotlib.figure.Figure
        The heatmap axes and its colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"portrait_id": [1, 1, 2, 2], "option_id": 1, "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2, "rho": [0.5, 0.1, 0.0, 0.4]})
    >>> fig = rho_heatmap(c, family="bfi")
    >>> len(fig.axes), [t.get_text() for t in fig.axes[0].get_yticklabels()]
    (2, ['2/1', '1/1'])
    """
    _require(corr, [*ITEM_KEYS, "family", "dimension", "rho"], "corr")
    dims = _check_family(family)
    sub = corr[corr["family"] == family]
    if sub.empty:
        raise ValueError(f"corr has no rows of family {family!r}")
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
    if max_items is not None and len(order) > max_items:
        strongest = np.sort(np.argsort(-best_rho[order], kind="stable")[:max_items])
        order = order[strongest]
    mat = mat.iloc[order]
    vals = mat.to_numpy(dtype=float)
    n_rows, n_cols = vals.shape
    height = min(2.0 + 0.12 * n_rows, 40.0)
    fig = Figure(figsize=(1.6 + 0.55 * n_cols, height), layout="constrained")
    ax = fig.add_subplot()
    lim = max(float(np.nanmax(np.abs(vals))), threshold) if np.isfinite(vals).any() else 1.0
    im = ax.imshow(
        vals,
        aspect="auto",
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, -lim, lim),
        interpolation="nearest",
    )
    rr, cc = np.nonzero(vals > threshold)
    ax.scatter(cc, rr, s=6, marker="s", facecolors="none", edgecolors="k", linewidths=0.3)
    ax.set_xticks(
        range(n_cols), [_label(d) for d in mat.columns], rotation=60, ha="right", fontsize=8
    )
    fs = 8 if n_rows <= 60 else max(3, int(480 / n_rows))
    ax.set_yticks(range(n_rows), [_item_label(p, o) for p, o in mat.index], fontsize=fs)
    ax.set_ylabel("item (portrait / option)")
    ax.set_title(f"{FAMILY_TITLES.get(family, family)}: rho of {n_rows} items", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.6, label="Spearman rho")
    return fig


# --------------------------------------------------------------------------- counts


def validated_counts(summary: pd.DataFrame, families: Sequence[str] | str | None = None) -> Figure:
    """Bar chart of the number of validated items per dimension, one panel per family.

    Parameters
    ----------
    summary : DataFrame
        ``family, dimension, n_selected`` (:func:`vp_stats.validation.validated_summary`).
    families : str or sequence of str, optional
        Families to draw; default all present.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per family, one bar per dimension, labelled with its count.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"family": "bfi", "dimension": ["Openness", "Neuroticism"], "n_selected": [12, 3]})
    >>> fig = validated_counts(s)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]  # schema order: Neuroticism first
    [3.0, 12.0]
    """
    _require(summary, ["family", "dimension", "n_selected"], "summary")
    fams = _families(summary, families)
    widths = [max(len(summary[summary["family"] == f]), 1) for f in fams]
    fig = Figure(figsize=(1.2 + 0.45 * sum(widths) + 0.5 * len(fams), 3.6), layout="constrained")
    axes = fig.subplots(
        1, len(fams), squeeze=False, gridspec_kw={"width_ratios": widths}, sharey=True
    )[0]
    for ax, fam in zip(axes, fams, strict=True):
        sub = summary[summary["family"] == fam]
        order = [d for d in schema.FAMILIES[fam] if d in set(sub["dimension"])]
        sub = sub.set_index("dimension").loc[order]
        bars = ax.bar(range(len(sub)), sub["n_selected"].to_numpy(dtype=float), color="tab:blue")
        ax.bar_label(bars, fontsize=7, padding=1)
        ax.set_xticks(
            range(len(sub)), [_label(d) for d in sub.index], rotation=60, ha="right", fontsize=8
        )
        ax.set_title(FAMILY_TITLES.get(fam, fam), fontsize=9)
    axes[0].set_ylabel("validated items")
    return fig


# --------------------------------------------------------------------------- forest


def strongest_items_forest(
    table: pd.DataFrame,
    family: str = "pvq",
    k: int = 3,
    threshold: float | None = 0.3,
) -> Figure:
    """Forest plot of the ``k`` strongest items of each dimension with their bootstrap CIs.

    Parameters
    ----------
    table : DataFrame
        ``portrait_id, option_id, family, dimension, rho, ci_low, ci_high``
        (:func:`vp_stats.validation.validate_items` with ``n_boot > 0``).
    family : str
        Family to draw.
    k : int
        Items per dimension (highest rho first).
    threshold : float, optional
        Drawn as a vertical reference line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; one error bar (point and interval) per dimension, ``k`` items each.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"portrait_id": [1, 2, 3], "option_id": 1, "family": "bfi",
    ...                   "dimension": ["Openness", "Openness", "Neuroticism"],
    ...                   "rho": [0.5, 0.4, 0.3], "ci_low": [0.3, 0.2, 0.1], "ci_high": [0.7, 0.6, 0.5]})
    >>> fig = strongest_items_forest(t, family="bfi", k=1)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['Neuroticism  3/1', 'Openness  1/1']
    """
    _require(table, [*KEYS, "rho", "ci_low", "ci_high"], "table")
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
    fig = Figure(figsize=(6.0, 1.0 + 0.22 * sum(len(r) for r in rows)), layout="constrained")
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(rows))]
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
    return fig


# --------------------------------------------------------------------------- reliability


def reliability_plot(
    rel: pd.DataFrame,
    family: str = "pvq",
    statistics: Sequence[str] = ("alpha", "omega"),
) -> Figure:
    """Alpha and omega of each dimension's validated item set, one point per participant group.

    Items of a value are spread over participant groups with different raters,
    so reliability exists per (dimension, group) (see
    :func:`vp_stats.reliability.value_reliability`). Each group is a point (size
    proportional to the number of items), the median over groups a black bar;
    groups where the statistic could not be computed are left out and counted
    in the tick label.

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
    _require(rel, ["family", "dimension", "group", "n_items", *statistics], "rel")
    dims = _check_family(family)
    sub = rel[rel["family"] == family]
    dims = [d for d in dims if (sub["dimension"] == d).any()]
    if not dims:
        raise ValueError(f"rel has no rows of family {family!r}")
    fig = Figure(figsize=(1.5 + 0.55 * len(dims), 2.6 * len(statistics)), layout="constrained")
    axes = fig.subplots(len(statistics), 1, sharex=True, squeeze=False)[:, 0]
    rng = np.random.default_rng(0)  # horizontal jitter only
    for ax, stat in zip(axes, statistics, strict=True):
        xs, ys, sizes, medians, missing = [], [], [], [], []
        for i, d in enumerate(dims):
            g = sub[sub["dimension"] == d]
            v = pd.to_numeric(g[stat], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(v)
            xs.append(i + rng.uniform(-0.15, 0.15, ok.sum()))
            ys.append(v[ok])
            sizes.append(
                8.0
                * pd.to_numeric(g["n_items"], errors="coerce").fillna(1).to_numpy(dtype=float)[ok]
            )
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
        ax.hlines(
            medians,
            np.arange(len(dims)) - 0.3,
            np.arange(len(dims)) + 0.3,
            color="k",
            linewidth=1.5,
        )
        ax.axhline(0.7, color="tab:red", linewidth=0.8, linestyle="--")
        ax.set_ylabel(stat)
        ax.set_ylim(min(-0.1, float(np.nanmin(np.concatenate([*ys, [0.0]])) - 0.05)), 1.0)
        ax.set_xticks(
            range(len(dims)),
            [f"{_label(d)}" + (f"\n({m} n/a)" if m else "") for d, m in zip(dims, missing, strict=True)],
            rotation=60, ha="right", fontsize=8,
        )  # fmt: skip
    axes[0].set_title(
        f"{FAMILY_TITLES.get(family, family)}: reliability of the validated items per group",
        fontsize=10,
    )
    return fig


# --------------------------------------------------------------------------- circumplex


def circumplex_plot(
    positions: pd.DataFrame,
    order: Sequence[str] | None = None,
    check: pd.DataFrame | None = None,
) -> Figure:
    """MDS map of the values with the theoretical circular order drawn as a closed polygon.

    If the recovered structure followed Schwartz's circumplex, the polygon
    through the values in theoretical order would not cross itself.

    Parameters
    ----------
    positions : DataFrame
        ``dimension, x, y`` (:func:`vp_stats.structure.circumplex_positions`).
    order : sequence of str, optional
        Theoretical circular order; default :data:`vp_stats.schema.PVQ_VALUES`.
    check : DataFrame, optional
        :func:`vp_stats.structure.circumplex_check` output, summarised in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the polygon patch, the points and one label per value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from vp_stats import schema
    >>> a = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    >>> pos = pd.DataFrame({"dimension": schema.PVQ_VALUES, "x": np.cos(a), "y": np.sin(a)})
    >>> fig = circumplex_plot(pos)
    >>> len(fig.axes[0].patches), len(fig.axes[0].texts)
    (1, 10)
    """
    _require(positions, ["dimension", "x", "y"], "positions")
    order = list(schema.PVQ_VALUES if order is None else order)
    pos = positions.set_index("dimension")
    missing = [d for d in order if d not in pos.index]
    if missing:
        raise ValueError(f"positions lack dimension(s) {missing}")
    xy = pos.loc[order, ["x", "y"]].to_numpy(dtype=float)
    fig = Figure(figsize=(5.2, 5.2), layout="constrained")
    ax = fig.add_subplot()
    ax.add_patch(Polygon(xy, closed=True, fill=True, facecolor="tab:blue", alpha=0.08,
                         edgecolor="tab:blue", linewidth=1.2, linestyle="--"))  # fmt: skip
    ax.scatter(xy[:, 0], xy[:, 1], s=30, color="k", zorder=3)
    span = float(np.abs(xy).max()) or 1.0
    for (x, y), d in zip(xy, order, strict=True):
        r = np.hypot(x, y) or 1.0
        ax.text(x + 0.06 * span * x / r, y + 0.06 * span * y / r, schema.PVQ_ABBREV.get(d, _label(d)),
                ha="center", va="center", fontsize=9)  # fmt: skip
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
        title += f"\nrecovered {c['recovered_order']}; {int(c['adjacent_pairs_preserved'])}/{int(c['n_adjacent_pairs'])} neighbours kept"
    ax.set_title(title, fontsize=9)
    return fig


# --------------------------------------------------------------------------- published vs recomputed


def published_vs_recomputed(
    published: pd.DataFrame,
    recomputed: pd.DataFrame,
    item_groups: pd.DataFrame | None = None,
    highlight_group: int = 0,
    tol: float = 1e-9,
) -> Figure:
    """Scatter of published against recomputed rho, highlighting one participant group's items.

    Parameters
    ----------
    published, recomputed : DataFrame
        ``portrait_id, option_id, family, dimension, rho`` (e.g.
        :func:`vp_stats.datasets.load_published_correlations` and
        :func:`vp_stats.validation.item_correlations`), joined on those keys.
    item_groups : DataFrame, optional
        ``portrait_id, option_id, group`` (the group that rated the item, e.g.
        the distinct rows of :func:`vp_stats.datasets.load_ratings`). Without it
        the rows that differ are highlighted instead.
    highlight_group : int
        Group drawn in colour.
    tol : float
        Rows with ``|published - recomputed| > tol`` are counted as different.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: grey points for the other rows, coloured points for the
        highlighted ones, the identity line.

    Examples
    --------
    >>> import pandas as pd
    >>> k = {"portrait_id": [1, 2], "option_id": 1, "family": "bfi", "dimension": "Openness"}
    >>> pub, rec = pd.DataFrame({**k, "rho": [0.3, 0.5]}), pd.DataFrame({**k, "rho": [0.3, 0.4]})
    >>> fig = published_vs_recomputed(pub, rec, pd.DataFrame({"portrait_id": [1, 2], "option_id": 1, "group": [5, 0]}))
    >>> fig.axes[0].get_title()
    '1 of 2 rows differ; 1 of them in group 0'
    """
    for df, what in ((published, "published"), (recomputed, "recomputed")):
        _require(df, [*KEYS, "rho"], what)
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
        _require(item_groups, [*ITEM_KEYS, "group"], "item_groups")
        g = m[ITEM_KEYS].merge(
            item_groups[[*ITEM_KEYS, "group"]].drop_duplicates(ITEM_KEYS), on=ITEM_KEYS, how="left"
        )["group"]
        hi = (g == highlight_group).to_numpy()
        label = f"group {highlight_group} items"
        title = f"{int(differ.sum())} of {len(m)} rows differ; {int((differ & hi).sum())} of them in group {highlight_group}"
    else:
        hi = differ
        label = "differing rows"
        title = f"{int(differ.sum())} of {len(m)} rows differ"
    fig = Figure(figsize=(5.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(a[~hi], b[~hi], s=4, color="0.6", alpha=0.5, edgecolors="none", label="other rows")
    ax.scatter(a[hi], b[hi], s=8, color="tab:red", alpha=0.7, edgecolors="none", label=label)
    lim = (
        np.nanmax(np.abs(np.concatenate([a, b]))) * 1.05
        if np.isfinite(np.concatenate([a, b])).any()
        else 1.0
    )
    ax.plot([-lim, lim], [-lim, lim], color="k", linewidth=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("published rho")
    ax.set_ylabel("recomputed rho")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title(title, fontsize=9)
    return fig
