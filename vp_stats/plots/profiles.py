"""Figures of LLM value profiles (Value Portrait, Han et al., 2025, section 4 and figures).

Each function takes the tidy tables of :mod:`vp_stats.stats.scoring`. Axes-level functions take
``ax=`` and return the :class:`~matplotlib.axes.Axes`; figure-level ones (one panel per model
or per statistic) return the :class:`~matplotlib.figure.Figure`. Without ``ax`` a new pyplot
figure is opened, so a notebook shows it inline (see :mod:`vp_stats.plots.base`).

==============================  ======  ==========================================================
function                        level   draws
==============================  ======  ==========================================================
:func:`profile_heatmap`         axes    models x dimensions heatmap of centred scores
:func:`value_ranking`           axes    across-model mean of each dimension with SD or CI, sorted
:func:`variant_lines`           axes    one model's profile from each prompt variant alone
:func:`variant_profile_lines`   figure  variant_lines for a few models
:func:`variant_agreement_plot`  axes    ICC(2,1) / pairwise Spearman of the variants, per model
:func:`reversal_points`         axes    option-order reversal: one statistic per model and wording
:func:`reversal_plot`           figure  reversal_points for the mean shift and the share changed
:func:`threshold_plot`          axes    Spearman of model value orders vs the reference threshold
:func:`overlay_model`           axes    an extra model (e.g. run locally) beside the released ones
==============================  ======  ==========================================================

Examples
--------
>>> import pandas as pd
>>> from vp_stats import schema
>>> from vp_stats.plots import profiles as pplot
>>> p = pd.DataFrame([(m, "bfi", d, s * (i - 2)) for m, s in (("a", 0.1), ("b", 0.2))
...                   for i, d in enumerate(schema.BFI_TRAITS)],
...                  columns=["model", "family", "dimension", "centered_mean"])
>>> ax = pplot.profile_heatmap(p, family="bfi")
>>> len(ax.figure.axes)
2
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import stats

from vp_stats import schema, tables
from vp_stats.plots._common import FAMILY_TITLES, HIGHLIGHT, column_label, legend_outside
from vp_stats.plots._common import check_family as _check_family
from vp_stats.plots._common import color_ticks as _color_ticks
from vp_stats.plots._common import label as _label
from vp_stats.plots.base import heatmap, new_axes, new_figure

__all__ = [
    "FAMILY_TITLES",
    "HIGHLIGHT",
    "overlay_model",
    "profile_heatmap",
    "reversal_plot",
    "reversal_points",
    "threshold_plot",
    "value_ranking",
    "variant_agreement_plot",
    "variant_lines",
    "variant_profile_lines",
]


def _family_matrix(profiles: pd.DataFrame, family: str, value: str) -> pd.DataFrame:
    tables.require(profiles, ["model", "family", "dimension", value], "profiles")
    dims = _check_family(family)
    sub = profiles[profiles["family"] == family]
    if sub.empty:
        raise ValueError(f"profiles have no rows of family {family!r}")
    dup = sub.duplicated(["model", "dimension"])
    if dup.any():
        r = sub[dup].iloc[0]
        raise ValueError(
            f"model {r['model']!r}, dimension {r['dimension']!r}: more than one row (filter by "
            "variant?)"
        )
    mat = tables.to_wide(sub, "model", "dimension", value, source="profiles", name_columns=True)
    return mat.reindex(columns=[d for d in dims if d in mat.columns])


def _model_order(models: Sequence[str], order) -> tuple[list[str], np.ndarray | None]:
    """Resolve ``order`` (None, names, or a cluster_models table) to names (+ clusters)."""
    if order is None:
        return sorted(models), None
    if isinstance(order, pd.DataFrame):
        tables.require(order, ["model", "leaf_order"], "order")
        o = order.sort_values("leaf_order")
        names = [m for m in o["model"] if m in set(models)]
        clusters = o.set_index("model").loc[names, "cluster"].to_numpy() if "cluster" in o else None
        rest = sorted(set(models) - set(names))
        if rest and clusters is not None:
            clusters = np.concatenate([clusters, np.full(len(rest), -1)])
        return names + rest, clusters
    names = list(order)
    unknown = [m for m in names if m not in set(models)]
    if unknown:
        raise ValueError(f"order names model(s) without a profile: {unknown[:3]}")
    return names, None


# --------------------------------------------------------------------------- heatmap


def profile_heatmap(
    profiles: pd.DataFrame,
    family: str = "pvq",
    order: Sequence[str] | pd.DataFrame | None = None,
    value: str = "centered_mean",
    highlight: Sequence[str] | str | None = None,
    annotate: bool = False,
    vlim: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Models x dimensions heatmap of value scores for one family.

    Drawn with :func:`vp_stats.plots.base.heatmap` (row ``i`` spans ``i .. i + 1`` from the
    top).

    Parameters
    ----------
    profiles : DataFrame
        ``model, family, dimension`` and ``value`` (:func:`vp_stats.stats.scoring.value_profiles`).
    family : {"pvq", "higher_pvq", "bfi"}
        Dimension family; columns follow the schema (circumplex) order.
    order : sequence of str or DataFrame, optional
        Row order: model names, or the table of :func:`vp_stats.stats.scoring.cluster_models`
        (rows in dendrogram leaf order, clusters separated by lines and numbered on the
        right). Default: alphabetical.
    value : str
        Column drawn (``centered_mean`` by default; a diverging scale centred at 0).
    highlight : str or sequence of str, optional
        Models whose row is outlined and whose label is bold and coloured.
    annotate : bool
        Write each value in its cell.
    vlim : float, optional
        Colour limit (symmetric); default the largest absolute value.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized for the models.

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap axes (its figure also holds the colour bar).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> ax = profile_heatmap(p, family="bfi", order=["b", "a"], highlight="a")
    >>> [t.get_text() for t in ax.get_yticklabels()], len(ax.patches)
    (['b', 'a'], 1)
    """
    mat = _family_matrix(profiles, family, value)
    names, clusters = _model_order(list(mat.index), order)
    mat = mat.loc[names]
    n_rows, n_cols = mat.shape
    ax = heatmap(
        mat,
        ax=ax,
        vlim=vlim,
        annot=annotate,
        annot_fontsize=6,
        cbar_label=column_label(value),
        cbar_kws={
            "shrink": 0.5 if n_rows > 12 else 0.9,
            "pad": 0.08 if clusters is not None else 0.03,
        },
        fontsize=7 if n_rows > 20 else 8,
        figsize=(3.0 + 0.62 * n_cols, 1.5 + 0.24 * n_rows),
    )
    if clusters is not None:
        cuts = np.flatnonzero(np.diff(clusters) != 0) + 1
        for c in cuts:
            ax.axhline(c, color="k", linewidth=1.2)
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [n_rows]])
        for s, e in zip(starts, ends, strict=True):
            if clusters[s] >= 0:
                ax.text(
                    n_cols + 0.15,
                    (s + e) / 2,
                    f"C{clusters[s]}",
                    ha="left",
                    va="center",
                    fontsize=8,
                    clip_on=False,
                )
    if highlight is not None:
        highlight = [highlight] if isinstance(highlight, str) else list(highlight)
        for m in highlight:
            if m not in mat.index:
                raise ValueError(f"highlight: no profile for model {m!r}")
            i = list(mat.index).index(m)
            ax.add_patch(
                Rectangle(
                    (0, i), n_cols, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2, clip_on=False
                )
            )
        _color_ticks(ax.get_yticklabels(), highlight)
    title = f"{FAMILY_TITLES.get(family, family)}: {column_label(value)} of {n_rows} models"
    if clusters is not None:
        k = len(set(clusters[clusters >= 0]))
        title += (
            f"\nC1-C{k}: clusters of models with similar profiles "
            "(average linkage on 1 - Pearson r)"
        )
    ax.set_title(title, fontsize=10)
    return ax


# --------------------------------------------------------------------------- ranking


def value_ranking(
    profiles: pd.DataFrame,
    family: str = "pvq",
    error: str = "sd",
    ci: float = 0.95,
    show_models: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Across-model mean of each dimension's centred score, sorted, with SD or CI.

    The t interval is not one of seaborn's error bars (which bootstrap), so the bars and their
    intervals are computed here and drawn with :meth:`~matplotlib.axes.Axes.barh`.

    Parameters
    ----------
    profiles : DataFrame
        ``model, family, dimension, centered_mean``.
    family : str
        Dimension family.
    error : {"sd", "ci"}
        Error bar: across-model standard deviation (ddof 1) or the t confidence interval of
        the mean, ``mean +- t_{(1+ci)/2, n-1} sd / sqrt(n)``.
    ci : float
        Coverage when ``error="ci"``.
    show_models : bool
        Also draw each model's score as a small grey point.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar per dimension (highest on top).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> ax = value_ranking(p, family="bfi")
    >>> [round(float(b.get_width()), 2) for b in ax.patches]
    [0.3, -0.3]
    """
    if error not in ("sd", "ci"):
        raise ValueError(f"error must be 'sd' or 'ci', got {error!r}")
    mat = _family_matrix(profiles, family, "centered_mean")
    mean = mat.mean(axis=0)
    sd = mat.std(axis=0, ddof=1)
    n = mat.notna().sum(axis=0)
    if error == "sd":
        half = sd
        err_label = "SD across models"
    else:
        half = stats.t.ppf((1 + ci) / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        err_label = f"{ci:.0%} CI of the mean"
    order = mean.sort_values(ascending=False).index
    ax = new_axes(ax, (5.8, 1.1 + 0.34 * len(order)))
    y = np.arange(len(order))
    colors = ["tab:blue" if v >= 0 else "tab:orange" for v in mean[order]]
    ax.barh(
        y,
        mean[order].to_numpy(),
        xerr=half[order].to_numpy(),
        color=colors,
        alpha=0.8,
        error_kw={"elinewidth": 1, "capsize": 2},
    )
    if show_models:
        for i, d in enumerate(order):
            v = mat[d].dropna().to_numpy()
            ax.plot(
                v,
                np.full(len(v), i) + np.linspace(-0.25, 0.25, len(v)),
                ".",
                color="0.3",
                markersize=2.5,
            )
    ax.set_yticks(y, [_label(d) for d in order], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel(
        f"centred score, mean over {int(n.max())} models\n(bars: {err_label}; dots: models)"
    )
    ax.set_title(f"{FAMILY_TITLES.get(family, family)}: value ranking", fontsize=10)
    return ax


# --------------------------------------------------------------------------- prompt variants


def _variant_order(vprof: pd.DataFrame) -> list[str]:
    variants = [v for v in schema.VARIANTS if v in set(vprof["variant"])]
    return variants + sorted(set(vprof["variant"]) - set(variants))


def variant_lines(
    vprof: pd.DataFrame,
    model: str,
    family: str = "pvq",
    ax: Axes | None = None,
    legend: bool = True,
) -> Axes:
    """One model's centred profile computed from each prompt variant alone, a line per variant.

    Parameters
    ----------
    vprof : DataFrame
        ``model, family, dimension, centered_mean, variant``
        (:func:`vp_stats.stats.scoring.variant_profiles`).
    model : str
        Model to draw.
    family : str
        Dimension family.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    legend : bool
        Draw the legend of the variants.

    Returns
    -------
    matplotlib.axes.Axes
        One line per variant (a wording's two option orders share a colour; reversed orders
        dashed).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"model": "a", "family": "bfi", "dimension": ["Openness",
    ...                                                                "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.3, -0.1], "variant": ["v1", "v1", "v2",
    ...                                                                        "v2"]})
    >>> ax = variant_lines(v, "a", family="bfi")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['v1', 'v2']
    """
    tables.require(vprof, ["model", "family", "dimension", "centered_mean", "variant"], "vprof")
    dims = _check_family(family)
    sub = vprof[vprof["family"] == family]
    if model not in set(sub["model"]):
        raise ValueError(f"vprof has no {family} profile for model(s) {[model]}")
    variants = _variant_order(sub)
    g = tables.to_wide(
        sub[sub["model"] == model], "dimension", "variant", "centered_mean", source="vprof"
    )
    g = g.reindex(index=[d for d in dims if d in g.index])
    ax = new_axes(ax, (4.8, 3.2))
    x = np.arange(len(g))
    for k, v in enumerate(variants):
        if v not in g.columns or g[v].isna().all():
            continue
        ax.plot(
            x,
            g[v].to_numpy(dtype=float),
            marker="o",
            markersize=3,
            linewidth=1,
            color=f"C{k // 2 if v in schema.VARIANTS else k}",
            linestyle="--" if v.endswith("_reversed") else "-",
            label=v,
        )
    ax.axhline(0, color="0.6", linewidth=0.6)
    ax.set_xticks(
        x,
        [_label(d) for d in g.index],
        fontsize=7,
        rotation=45,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_title(model, fontsize=9)
    ax.set_ylabel("centred score")
    if legend:
        ax.legend(fontsize=7, frameon=False, ncols=2)
    return ax


def variant_profile_lines(
    vprof: pd.DataFrame,
    models: Sequence[str],
    family: str = "pvq",
    ncols: int = 2,
) -> Figure:
    """Figure-level: :func:`variant_lines` for each model, on a grid with a shared y axis.

    Parameters
    ----------
    vprof : DataFrame
        ``model, family, dimension, centered_mean, variant``
        (:func:`vp_stats.stats.scoring.variant_profiles`).
    models : sequence of str
        Models to draw.
    family : str
        Dimension family.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per model (unused grid cells removed), one line per variant; reversed-order
        variants dashed.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"model": "a", "family": "bfi", "dimension": ["Openness",
    ...                                                                "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.3, -0.1], "variant": ["v1", "v1", "v2",
    ...                                                                        "v2"]})
    >>> fig = variant_profile_lines(v, ["a"], family="bfi")
    >>> len(fig.axes), [t.get_text() for t in fig.legends[0].get_texts()]
    (1, ['v1', 'v2'])
    """
    tables.require(vprof, ["model", "family", "dimension", "centered_mean", "variant"], "vprof")
    _check_family(family)
    models = [models] if isinstance(models, str) else list(models)
    sub = vprof[vprof["family"] == family]
    missing = [m for m in models if m not in set(sub["model"])]
    if missing:
        raise ValueError(f"vprof has no {family} profile for model(s) {missing}")
    ncols = max(1, min(ncols, len(models)))
    nrows = int(np.ceil(len(models) / ncols))
    fig = new_figure((4.6 * ncols, 3.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax in axes[len(models) :]:
        fig.delaxes(ax)
    for i, (ax, m) in enumerate(zip(axes, models, strict=False)):
        variant_lines(sub, m, family, ax=ax, legend=False)
        if i % ncols:
            ax.set_ylabel("")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False)
    fig.suptitle(
        f"{FAMILY_TITLES.get(family, family)}: profile from each prompt variant alone", fontsize=10
    )
    return fig


def variant_agreement_plot(
    agreement: pd.DataFrame,
    highlight: Sequence[str] | str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """ICC(2,1) and mean pairwise Spearman of each model's per-variant profiles, sorted.

    Parameters
    ----------
    agreement : DataFrame
        ``model, icc_2_1, mean_pairwise_spearman``
        (:func:`vp_stats.stats.scoring.variant_agreement`).
    highlight : str or sequence of str, optional
        Models whose labels are drawn in colour.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Two point series (ICC and Spearman), models sorted by ICC.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": ["a", "b"], "icc_2_1": [0.9, 0.5],
    ...                   "mean_pairwise_spearman": [0.8, 0.4]})
    >>> ax = variant_agreement_plot(a)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['a', 'b']
    """
    tables.require(agreement, ["model", "icc_2_1", "mean_pairwise_spearman"], "agreement")
    a = agreement.sort_values("icc_2_1", ascending=False, na_position="last")
    y = np.arange(len(a))
    ax = new_axes(ax, (5.8, 1.3 + 0.24 * len(a)))
    ax.plot(
        a["icc_2_1"].to_numpy(dtype=float), y, "o", color="tab:blue", markersize=4, label="ICC(2,1)"
    )
    ax.plot(
        a["mean_pairwise_spearman"].to_numpy(dtype=float),
        y,
        "s",
        color="tab:orange",
        markersize=3,
        alpha=0.8,
        label="mean pairwise Spearman",
    )
    ax.set_yticks(y, list(a["model"]), fontsize=7)
    _color_ticks(ax.get_yticklabels(), highlight)
    ax.invert_yaxis()
    ax.axvline(0, color="0.6", linewidth=0.6)
    lo = np.nanmin(a[["icc_2_1", "mean_pairwise_spearman"]].to_numpy(dtype=float))
    ax.set_xlim(min(-0.1, float(lo) - 0.05), 1.0)
    ax.set_xlabel("agreement of the value profile across the prompt variants")
    ax.grid(axis="x", color="0.92")
    ax.set_title("Agreement of each model's profile across prompt variants", fontsize=10)
    legend_outside(ax, fontsize=8)
    return ax


# --------------------------------------------------------------------------- reversal

_REVERSAL_LABELS = {
    "mean_shift": "mean shift (reversed minus original order)",
    "share_changed": "share of items whose answer changed",
}


def _reversal_order(reversal: pd.DataFrame) -> list[str]:
    return (
        reversal.groupby("model")["mean_shift"].mean().sort_values(ascending=False).index.tolist()
    )


def reversal_points(
    reversal: pd.DataFrame,
    statistic: str = "mean_shift",
    order: Sequence[str] | None = None,
    highlight: Sequence[str] | str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One option-order reversal statistic per model, a point series per wording.

    Parameters
    ----------
    reversal : DataFrame
        ``model, wording, mean_shift, share_changed``
        (:func:`vp_stats.stats.scoring.reversal_effect`).
    statistic : {"mean_shift", "share_changed"}
        Column drawn.
    order : sequence of str, optional
        Model order, top to bottom; default by the mean shift over wordings, largest first.
    highlight : str or sequence of str, optional
        Models whose labels are drawn in colour.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One ``o`` line per wording.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"model": ["a", "a", "b"], "wording": ["v1", "v2", "v1"],
    ...                   "mean_shift": [0.5, 0.1, -0.2], "share_changed": [0.5, 0.2, 0.1]})
    >>> ax = reversal_points(r, "share_changed")
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_xlim() == (0, 1)
    (['a', 'b'], True)
    """
    tables.require(reversal, ["model", "wording", statistic], "reversal")
    order = _reversal_order(reversal) if order is None else list(order)
    ypos = {m: i for i, m in enumerate(order)}
    ax = new_axes(ax, (4.4, 1.2 + 0.24 * len(order)))
    wordings = sorted(reversal["wording"].unique())
    for k, w in enumerate(wordings):
        g = reversal[reversal["wording"] == w]
        y = g["model"].map(ypos).to_numpy(dtype=float) + (k - (len(wordings) - 1) / 2) * 0.15
        ax.plot(g[statistic].to_numpy(dtype=float), y, "o", markersize=3.5, color=f"C{k}", label=w)
    ax.set_yticks(range(len(order)), order, fontsize=7)
    _color_ticks(ax.get_yticklabels(), highlight)
    ax.set_ylim(len(order) - 0.5, -0.5)
    if statistic == "share_changed":
        ax.set_xlim(0, 1)
    else:
        ax.axvline(0, color="k", linewidth=0.8)
    ax.grid(axis="x", color="0.92")
    ax.set_xlabel(_REVERSAL_LABELS.get(statistic, statistic.replace("_", " ")))
    ax.set_title("Reversed answer options: " + statistic.replace("_", " "), fontsize=9)
    legend_outside(ax, title="wording", fontsize=7, title_fontsize=7)
    return ax


def reversal_plot(reversal: pd.DataFrame, highlight: Sequence[str] | str | None = None) -> Figure:
    """Figure-level: :func:`reversal_points` of the mean answer shift and of the share changed.

    Parameters
    ----------
    reversal : DataFrame
        ``model, wording, mean_shift, share_changed``
        (:func:`vp_stats.stats.scoring.reversal_effect`).
    highlight : str or sequence of str, optional
        Models whose labels are drawn in colour.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (mean shift; share changed) sharing the model axis, one point series per
        wording; models sorted by their mean shift over wordings.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"model": ["a", "a", "b"], "wording": ["v1", "v2", "v1"],
    ...                   "mean_shift": [0.5, 0.1, -0.2], "share_changed": [0.5, 0.2, 0.1]})
    >>> fig = reversal_plot(r)
    >>> len(fig.axes), [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    (2, ['v1', 'v2'])
    """
    tables.require(reversal, ["model", "wording", "mean_shift", "share_changed"], "reversal")
    order = _reversal_order(reversal)
    fig = new_figure((8.4, 1.3 + 0.24 * len(order)))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    reversal_points(reversal, "mean_shift", order=order, highlight=highlight, ax=ax1)
    reversal_points(reversal, "share_changed", order=order, ax=ax2)
    ax1.get_legend().remove()  # one legend, right of the right-hand panel
    fig.suptitle("Effect of reversing the order of the answer options", fontsize=10)
    return fig


# --------------------------------------------------------------------------- threshold


def threshold_plot(
    sens: pd.DataFrame,
    reference: float = 0.3,
    highlight: Sequence[str] | str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Spearman correlation of each model's value order with its order at the reference threshold.

    Parameters
    ----------
    sens : DataFrame
        ``threshold, model, spearman_vs_reference, n_items_min``
        (:func:`vp_stats.stats.scoring.threshold_sensitivity`).
    reference : float
        Reference threshold (marked).
    highlight : str or sequence of str, optional
        Models drawn as coloured lines.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        A grey line per model, the median over models in black, the fewest items of any
        dimension written above each threshold (secondary x axis).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"threshold": [0.2, 0.2, 0.3, 0.3], "model": ["a", "b"] * 2,
    ...                   "spearman_vs_reference": [0.8, 0.9, 1.0, 1.0], "n_items_min": [30, 30,
    ...                                                                                  12, 12]})
    >>> ax = threshold_plot(s)
    >>> len(ax.lines)
    4
    """
    tables.require(sens, ["threshold", "model", "spearman_vs_reference", "n_items_min"], "sens")
    wide = tables.to_wide(
        sens, "threshold", "model", "spearman_vs_reference", source="sens"
    ).sort_index()
    hl = (
        set()
        if highlight is None
        else ({highlight} if isinstance(highlight, str) else set(highlight))
    )
    ax = new_axes(ax, (5.6, 3.8))
    x = wide.index.to_numpy(dtype=float)
    for m in wide.columns:
        if m in hl:
            continue
        ax.plot(x, wide[m].to_numpy(dtype=float), color="0.7", linewidth=0.8)
    ax.plot(
        x,
        wide.median(axis=1).to_numpy(),
        color="k",
        linewidth=2,
        marker="o",
        label="median over models",
    )
    for k, m in enumerate(sorted(hl & set(wide.columns))):
        ax.plot(
            x,
            wide[m].to_numpy(dtype=float),
            color=HIGHLIGHT if k == 0 else f"C{k}",
            linewidth=2,
            label=m,
        )
    ax.axvline(reference, color="tab:red", linestyle="--", linewidth=0.8)
    nmin = sens.groupby("threshold")["n_items_min"].first()
    top = ax.secondary_xaxis("top")
    top.set_xticks(
        nmin.index.to_numpy(dtype=float), [str(int(v)) for v in nmin.to_numpy()], fontsize=7
    )
    top.set_xlabel("fewest items of any dimension", fontsize=8)
    ax.set_xticks(x)
    ax.set_xlabel("selection threshold (rho >)")
    ax.set_ylabel(f"Spearman with the order at {reference:g}")
    ax.set_title("Value order under other selection thresholds", fontsize=10, pad=28)
    legend_outside(ax, fontsize=8)
    return ax


# --------------------------------------------------------------------------- overlay


def overlay_model(
    profiles: pd.DataFrame,
    extra: pd.DataFrame,
    family: str = "pvq",
    kind: str = "lines",
    order: Sequence[str] | pd.DataFrame | None = None,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Show one extra model (e.g. a locally run one) next to the released models.

    Parameters
    ----------
    profiles : DataFrame
        Released models' profiles (``model, family, dimension, centered_mean``).
    extra : DataFrame
        The extra model's profile, same columns, one model.
    family : str
        Dimension family.
    kind : {"lines", "heatmap"}
        ``lines``: each released model's profile as a thin grey line, their mean dashed, the
        extra model in red (with its bootstrap CI if ``ci_low`` and ``ci_high`` are given).
        ``heatmap``: :func:`profile_heatmap` of all models with the extra model's row
        highlighted (placed last).
    order : sequence of str or DataFrame, optional
        Row order of the released models in the heatmap (see :func:`profile_heatmap`).
    label : str, optional
        Legend name of the extra model; default its ``model`` value.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> x = pd.DataFrame({"model": "local", "family": "bfi", "dimension": ["Openness",
    ...                                                                    "Neuroticism"],
    ...                   "centered_mean": [-0.1, 0.1]})
    >>> ax = overlay_model(p, x, family="bfi")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['mean of 2 released models', 'local']
    >>> ax = overlay_model(p, x, family="bfi", kind="heatmap")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['a', 'b', 'local']
    """
    if kind not in ("lines", "heatmap"):
        raise ValueError(f"kind must be 'lines' or 'heatmap', got {kind!r}")
    tables.require(extra, ["model", "family", "dimension", "centered_mean"], "extra")
    ex = extra[extra["family"] == family]
    names = ex["model"].unique()
    if len(names) != 1:
        raise ValueError(
            f"extra must hold exactly one model of family {family!r}, got {list(names)}"
        )
    name = names[0]
    mat = _family_matrix(profiles, family, "centered_mean")
    if name in mat.index:
        raise ValueError(f"extra model {name!r} is already among the released profiles")
    if kind == "heatmap":
        base, _ = _model_order(list(mat.index), order)
        cl = order if isinstance(order, pd.DataFrame) else None
        if cl is not None:
            extra_row = pd.DataFrame(
                {"model": [name], "cluster": [-1], "leaf_order": [cl["leaf_order"].max() + 1]}
            )
            cl = pd.concat([cl, extra_row])
        both = pd.concat([profiles[profiles["family"] == family], ex], ignore_index=True)
        return profile_heatmap(
            both, family, order=cl if cl is not None else [*base, name], highlight=name, ax=ax
        )
    e = ex.set_index("dimension").reindex(mat.columns)
    x = np.arange(mat.shape[1])
    ax = new_axes(ax, (2.0 + 0.6 * mat.shape[1], 4.0))
    for m in mat.index:
        ax.plot(x, mat.loc[m].to_numpy(dtype=float), color="0.75", linewidth=0.7)
    ax.plot(
        x,
        mat.mean(axis=0).to_numpy(),
        color="k",
        linewidth=1.8,
        linestyle="--",
        label=f"mean of {len(mat)} released models",
    )
    y = e["centered_mean"].to_numpy(dtype=float)
    if {"ci_low", "ci_high"} <= set(e.columns) and e[["ci_low", "ci_high"]].notna().any().any():
        ax.fill_between(
            x,
            e["ci_low"].to_numpy(dtype=float),
            e["ci_high"].to_numpy(dtype=float),
            color=HIGHLIGHT,
            alpha=0.15,
            linewidth=0,
        )
    ax.plot(x, y, color=HIGHLIGHT, linewidth=2.2, marker="o", markersize=4, label=label or name)
    ax.axhline(0, color="0.5", linewidth=0.6)
    ax.set_xticks(
        x,
        [_label(d) for d in mat.columns],
        rotation=45,
        ha="right",
        rotation_mode="anchor",
        fontsize=8,
    )
    ax.set_ylabel("centred score")
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: {label or name} vs released models", fontsize=10
    )
    ax.legend(fontsize=8, frameon=False)
    return ax
