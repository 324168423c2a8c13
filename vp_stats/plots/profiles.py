"""Figures of LLM value profiles (Value Portrait, Han et al., 2025, section 4 and figures).

Each function takes the tidy tables of :mod:`vp_stats.scoring` and returns a
new :class:`matplotlib.figure.Figure` (built without :mod:`matplotlib.pyplot`:
no global state, nothing shown; save it with ``fig.savefig``).

Functions
---------
profile_heatmap          models x dimensions heatmap of centred scores (pvq, higher_pvq, bfi)
value_ranking            across-model mean of each dimension with SD or CI, sorted
variant_profile_lines    per-variant profile lines for a few models
variant_agreement_plot   ICC(2,1) / pairwise Spearman of the variants, per model
reversal_plot            option-order reversal effect per model and wording
threshold_plot           Spearman of each model's value order with the reference threshold's
overlay_model            one extra model (e.g. run locally) next to the released ones

Examples
--------
>>> import pandas as pd
>>> from vp_stats import schema
>>> from vp_stats.plots import profiles as pplot
>>> p = pd.DataFrame([(m, "bfi", d, s * (i - 2)) for m, s in (("a", 0.1), ("b", 0.2))
...                   for i, d in enumerate(schema.BFI_TRAITS)],
...                  columns=["model", "family", "dimension", "centered_mean"])
>>> fig = pplot.profile_heatmap(p, family="bfi")
>>> len(fig.axes)
2
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import stats

from vp_stats import schema, tables
from vp_stats.plots._common import check_family as _check_family
from vp_stats.plots._common import label as _label

FAMILY_TITLES = {
    "pvq": "Basic values (PVQ)",
    "higher_pvq": "Higher-order values",
    "bfi": "Big Five (BFI-10)",
}
HIGHLIGHT = "tab:red"


def _require(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {list(df.columns)}")




def _family_matrix(profiles: pd.DataFrame, family: str, value: str) -> pd.DataFrame:
    _require(profiles, ["model", "family", "dimension", value], "profiles")
    dims = _check_family(family)
    sub = profiles[profiles["family"] == family]
    if sub.empty:
        raise ValueError(f"profiles have no rows of family {family!r}")
    dup = sub.duplicated(["model", "dimension"])
    if dup.any():
        r = sub[dup].iloc[0]
        raise ValueError(
            f"model {r['model']!r}, dimension {r['dimension']!r}: more than one row (filter by variant?)"
        )
    mat = tables.to_wide(sub, "model", "dimension", value, source="profiles", name_columns=True)
    return mat.reindex(columns=[d for d in dims if d in mat.columns])


def _model_order(models: Sequence[str], order) -> tuple[list[str], np.ndarray | None]:
    """Resolve ``order`` (None, sequence of names, or a cluster_models table) to names (+ clusters)."""
    if order is None:
        return sorted(models), None
    if isinstance(order, pd.DataFrame):
        _require(order, ["model", "leaf_order"], "order")
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
) -> Figure:
    """Models x dimensions heatmap of value scores for one family.

    Parameters
    ----------
    profiles : DataFrame
        ``model, family, dimension`` and ``value`` (:func:`vp_stats.scoring.value_profiles`).
    family : {"pvq", "higher_pvq", "bfi"}
        Dimension family; columns follow the schema (circumplex) order.
    order : sequence of str or DataFrame, optional
        Row order: model names, or the table of :func:`vp_stats.scoring.cluster_models`
        (rows in dendrogram leaf order, clusters separated by lines and numbered
        on the right). Default: alphabetical.
    value : str
        Column drawn (``centered_mean`` by default; a diverging scale centred at 0).
    highlight : str or sequence of str, optional
        Models whose row is outlined and whose label is bold and coloured.
    annotate : bool
        Write each value in its cell.
    vlim : float, optional
        Colour limit (symmetric); default the largest absolute value.

    Returns
    -------
    matplotlib.figure.Figure
        The heatmap axes and its colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> fig = profile_heatmap(p, family="bfi", order=["b", "a"], highlight="a")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()], len(fig.axes[0].patches)
    (['b', 'a'], 1)
    """
    mat = _family_matrix(profiles, family, value)
    names, clusters = _model_order(list(mat.index), order)
    mat = mat.loc[names]
    vals = mat.to_numpy(dtype=float)
    n_rows, n_cols = vals.shape
    fig = Figure(figsize=(2.6 + 0.6 * n_cols, 1.2 + 0.24 * n_rows), layout="constrained")
    ax = fig.add_subplot()
    if vlim is None:
        vlim = float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0
        vlim = vlim or 1.0
    im = ax.imshow(
        vals,
        aspect="auto",
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, -vlim, vlim),
        interpolation="nearest",
    )
    ax.set_xticks(
        range(n_cols), [_label(d) for d in mat.columns], rotation=45, ha="right", fontsize=8
    )
    ax.set_yticks(range(n_rows), list(mat.index), fontsize=7)
    if annotate:
        for (i, j), v in np.ndenumerate(vals):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5,
                        color="white" if abs(v) > 0.6 * vlim else "k")  # fmt: skip
    if clusters is not None:
        cuts = np.flatnonzero(np.diff(clusters) != 0)
        for c in cuts:
            ax.axhline(c + 0.5, color="k", linewidth=1.2)
        starts = np.concatenate([[0], cuts + 1])
        ends = np.concatenate([cuts + 1, [n_rows]])
        for s, e in zip(starts, ends, strict=True):
            if clusters[s] >= 0:
                ax.text(
                    n_cols - 0.4,
                    (s + e - 1) / 2,
                    f"C{clusters[s]}",
                    ha="left",
                    va="center",
                    fontsize=8,
                )
    if highlight is not None:
        highlight = [highlight] if isinstance(highlight, str) else list(highlight)
        for m in highlight:
            if m not in mat.index:
                raise ValueError(f"highlight: no profile for model {m!r}")
            i = list(mat.index).index(m)
            ax.add_patch(
                Rectangle((-0.5, i - 0.5), n_cols, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2)
            )
            tick = ax.get_yticklabels()[i]
            tick.set_color(HIGHLIGHT)
            tick.set_fontweight("bold")
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: {value.replace('_', ' ')} of {n_rows} models",
        fontsize=10,
    )
    fig.colorbar(im, ax=ax, shrink=0.5, label=value.replace("_", " "))
    return fig


# --------------------------------------------------------------------------- ranking


def value_ranking(
    profiles: pd.DataFrame,
    family: str = "pvq",
    error: str = "sd",
    ci: float = 0.95,
    show_models: bool = True,
) -> Figure:
    """Across-model mean of each dimension's centred score, sorted, with SD or CI.

    Parameters
    ----------
    profiles : DataFrame
        ``model, family, dimension, centered_mean``.
    family : str
        Dimension family.
    error : {"sd", "ci"}
        Error bar: across-model standard deviation (ddof 1) or the t confidence
        interval of the mean, ``mean +- t_{(1+ci)/2, n-1} sd / sqrt(n)``.
    ci : float
        Coverage when ``error="ci"``.
    show_models : bool
        Also draw each model's score as a small grey point.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one horizontal bar per dimension (highest on top).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> fig = value_ranking(p, family="bfi")
    >>> [round(float(b.get_width()), 2) for b in fig.axes[0].patches]
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
    fig = Figure(figsize=(5.6, 0.9 + 0.32 * len(order)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(order))
    colors = ["tab:blue" if v >= 0 else "tab:orange" for v in mean[order]]
    ax.barh(y, mean[order].to_numpy(), xerr=half[order].to_numpy(), color=colors, alpha=0.8,
            error_kw={"elinewidth": 1, "capsize": 2})  # fmt: skip
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
    ax.set_xlabel(f"centred score, mean over {int(n.max())} models (bars: {err_label})")
    ax.set_title(f"{FAMILY_TITLES.get(family, family)}: value ranking", fontsize=10)
    return fig


# --------------------------------------------------------------------------- prompt variants


def variant_profile_lines(
    vprof: pd.DataFrame,
    models: Sequence[str],
    family: str = "pvq",
    ncols: int = 2,
) -> Figure:
    """One panel per model: its centred profile computed from each prompt variant alone.

    Parameters
    ----------
    vprof : DataFrame
        ``model, family, dimension, centered_mean, variant``
        (:func:`vp_stats.scoring.variant_profiles`).
    models : sequence of str
        Models to draw.
    family : str
        Dimension family.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per model (unused grid cells removed), one line per variant;
        reversed-order variants dashed.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"model": "a", "family": "bfi", "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.3, -0.1], "variant": ["v1", "v1", "v2", "v2"]})
    >>> fig = variant_profile_lines(v, ["a"], family="bfi")
    >>> len(fig.axes), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (1, ['v1', 'v2'])
    """
    _require(vprof, ["model", "family", "dimension", "centered_mean", "variant"], "vprof")
    dims = _check_family(family)
    models = [models] if isinstance(models, str) else list(models)
    sub = vprof[vprof["family"] == family]
    missing = [m for m in models if m not in set(sub["model"])]
    if missing:
        raise ValueError(f"vprof has no {family} profile for model(s) {missing}")
    ncols = max(1, min(ncols, len(models)))
    nrows = int(np.ceil(len(models) / ncols))
    fig = Figure(figsize=(4.6 * ncols, 3.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax in axes[len(models) :]:
        fig.delaxes(ax)
    variants = [v for v in schema.VARIANTS if v in set(sub["variant"])]
    variants += sorted(set(sub["variant"]) - set(variants))
    for ax, m in zip(axes, models, strict=False):
        g = tables.to_wide(sub[sub["model"] == m], "dimension", "variant", "centered_mean", source="vprof")
        g = g.reindex(index=[d for d in dims if d in g.index])
        x = np.arange(len(g))
        for k, v in enumerate(variants):
            if v not in g.columns or g[v].isna().all():
                continue
            ax.plot(x, g[v].to_numpy(dtype=float), marker="o", markersize=3, linewidth=1,
                    color=f"C{k // 2 if v in schema.VARIANTS else k}",
                    linestyle="--" if v.endswith("_reversed") else "-", label=v)  # fmt: skip
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.set_xticks(x, [schema.PVQ_ABBREV.get(d, _label(d)) for d in g.index], fontsize=7,
                      rotation=0 if family == "pvq" else 30)  # fmt: skip
        ax.set_title(m, fontsize=9)
    axes[0].set_ylabel("centred score")
    axes[0].legend(fontsize=7, frameon=False, ncols=2)
    return fig


def variant_agreement_plot(
    agreement: pd.DataFrame, highlight: Sequence[str] | str | None = None
) -> Figure:
    """ICC(2,1) and mean pairwise Spearman of each model's per-variant profiles, sorted.

    Parameters
    ----------
    agreement : DataFrame
        ``model, icc_2_1, mean_pairwise_spearman`` (:func:`vp_stats.scoring.variant_agreement`).
    highlight : str or sequence of str, optional
        Models whose labels are drawn in colour.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, two point series (ICC and Spearman), models sorted by ICC.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": ["a", "b"], "icc_2_1": [0.9, 0.5], "mean_pairwise_spearman": [0.8, 0.4]})
    >>> fig = variant_agreement_plot(a)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    """
    _require(agreement, ["model", "icc_2_1", "mean_pairwise_spearman"], "agreement")
    a = agreement.sort_values("icc_2_1", ascending=False, na_position="last")
    y = np.arange(len(a))
    fig = Figure(figsize=(5.6, 1.0 + 0.24 * len(a)), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(
        a["icc_2_1"].to_numpy(dtype=float), y, "o", color="tab:blue", markersize=4, label="ICC(2,1)"
    )
    ax.plot(a["mean_pairwise_spearman"].to_numpy(dtype=float), y, "s", color="tab:orange", markersize=3,
            alpha=0.8, label="mean pairwise Spearman")  # fmt: skip
    ax.set_yticks(y, list(a["model"]), fontsize=7)
    _color_ticks(ax.get_yticklabels(), highlight)
    ax.invert_yaxis()
    ax.axvline(0, color="0.6", linewidth=0.6)
    ax.set_xlim(
        min(
            -0.1,
            float(np.nanmin(a[["icc_2_1", "mean_pairwise_spearman"]].to_numpy(dtype=float))) - 0.05,
        ),
        1.0,
    )
    ax.set_xlabel("agreement of the value profile across the prompt variants")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return fig


def _color_ticks(ticks, highlight) -> None:
    if highlight is None:
        return
    highlight = {highlight} if isinstance(highlight, str) else set(highlight)
    for t in ticks:
        if t.get_text() in highlight:
            t.set_color(HIGHLIGHT)
            t.set_fontweight("bold")


# --------------------------------------------------------------------------- reversal


def reversal_plot(reversal: pd.DataFrame, highlight: Sequence[str] | str | None = None) -> Figure:
    """Option-order reversal effect: mean answer shift and share of changed answers per model.

    Parameters
    ----------
    reversal : DataFrame
        ``model, wording, mean_shift, share_changed`` (:func:`vp_stats.scoring.reversal_effect`).
    highlight : str or sequence of str, optional
        Models whose labels are drawn in colour.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (mean shift; share changed), one point series per wording;
        models sorted by their mean shift over wordings.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"model": ["a", "a", "b"], "wording": ["v1", "v2", "v1"],
    ...                   "mean_shift": [0.5, 0.1, -0.2], "share_changed": [0.5, 0.2, 0.1]})
    >>> fig = reversal_plot(r)
    >>> len(fig.axes), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    (2, ['v1', 'v2'])
    """
    _require(reversal, ["model", "wording", "mean_shift", "share_changed"], "reversal")
    order = (
        reversal.groupby("model")["mean_shift"].mean().sort_values(ascending=False).index.tolist()
    )
    ypos = {m: i for i, m in enumerate(order)}
    fig = Figure(figsize=(8.0, 1.0 + 0.24 * len(order)), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    wordings = sorted(reversal["wording"].unique())
    for k, w in enumerate(wordings):
        g = reversal[reversal["wording"] == w]
        y = g["model"].map(ypos).to_numpy(dtype=float) + (k - (len(wordings) - 1) / 2) * 0.15
        ax1.plot(
            g["mean_shift"].to_numpy(dtype=float), y, "o", markersize=3.5, color=f"C{k}", label=w
        )
        ax2.plot(
            g["share_changed"].to_numpy(dtype=float), y, "o", markersize=3.5, color=f"C{k}", label=w
        )
    ax1.set_yticks(range(len(order)), order, fontsize=7)
    _color_ticks(ax1.get_yticklabels(), highlight)
    ax1.invert_yaxis()
    ax1.axvline(0, color="k", linewidth=0.8)
    ax1.set_xlabel("mean shift (reversed minus original order)")
    ax2.set_xlabel("share of items whose answer changed")
    ax2.set_xlim(0, 1)
    ax1.legend(title="wording", fontsize=7, title_fontsize=7, frameon=False)
    fig.suptitle("Effect of reversing the order of the answer options", fontsize=10)
    return fig


# --------------------------------------------------------------------------- threshold


def threshold_plot(
    sens: pd.DataFrame, reference: float = 0.3, highlight: Sequence[str] | str | None = None
) -> Figure:
    """Spearman correlation of each model's value order with its order at the reference threshold.

    Parameters
    ----------
    sens : DataFrame
        ``threshold, model, spearman_vs_reference, n_items_min``
        (:func:`vp_stats.scoring.threshold_sensitivity`).
    reference : float
        Reference threshold (marked).
    highlight : str or sequence of str, optional
        Models drawn as coloured lines.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a grey line per model, the median over models in black, the
        fewest items of any dimension written above each threshold.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"threshold": [0.2, 0.2, 0.3, 0.3], "model": ["a", "b"] * 2,
    ...                   "spearman_vs_reference": [0.8, 0.9, 1.0, 1.0], "n_items_min": [30, 30, 12, 12]})
    >>> fig = threshold_plot(s)
    >>> len(fig.axes[0].lines)
    4
    """
    _require(sens, ["threshold", "model", "spearman_vs_reference", "n_items_min"], "sens")
    wide = tables.to_wide(sens, "threshold", "model", "spearman_vs_reference", source="sens").sort_index()
    hl = (
        set()
        if highlight is None
        else ({highlight} if isinstance(highlight, str) else set(highlight))
    )
    fig = Figure(figsize=(5.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
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
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return fig


# --------------------------------------------------------------------------- overlay


def overlay_model(
    profiles: pd.DataFrame,
    extra: pd.DataFrame,
    family: str = "pvq",
    kind: str = "lines",
    order: Sequence[str] | pd.DataFrame | None = None,
    label: str | None = None,
) -> Figure:
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
        ``lines``: each released model's profile as a thin grey line, their mean
        dashed, the extra model in red (with its bootstrap CI if ``ci_low`` and
        ``ci_high`` are given). ``heatmap``: :func:`profile_heatmap` of all
        models with the extra model's row highlighted (placed last).
    order : sequence of str or DataFrame, optional
        Row order of the released models in the heatmap (see :func:`profile_heatmap`).
    label : str, optional
        Legend name of the extra model; default its ``model`` value.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> x = pd.DataFrame({"model": "local", "family": "bfi", "dimension": ["Openness", "Neuroticism"],
    ...                   "centered_mean": [-0.1, 0.1]})
    >>> fig = overlay_model(p, x, family="bfi")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['mean of 2 released models', 'local']
    >>> fig = overlay_model(p, x, family="bfi", kind="heatmap")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b', 'local']
    """
    if kind not in ("lines", "heatmap"):
        raise ValueError(f"kind must be 'lines' or 'heatmap', got {kind!r}")
    _require(extra, ["model", "family", "dimension", "centered_mean"], "extra")
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
            cl = pd.concat(
                [
                    cl,
                    pd.DataFrame(
                        {
                            "model": [name],
                            "cluster": [-1],
                            "leaf_order": [cl["leaf_order"].max() + 1],
                        }
                    ),
                ]
            )
        both = pd.concat([profiles[profiles["family"] == family], ex], ignore_index=True)
        return profile_heatmap(
            both, family, order=cl if cl is not None else [*base, name], highlight=name
        )
    e = ex.set_index("dimension").reindex(mat.columns)
    x = np.arange(mat.shape[1])
    fig = Figure(figsize=(1.8 + 0.6 * mat.shape[1], 3.8), layout="constrained")
    ax = fig.add_subplot()
    for m in mat.index:
        ax.plot(x, mat.loc[m].to_numpy(dtype=float), color="0.75", linewidth=0.7)
    ax.plot(x, mat.mean(axis=0).to_numpy(), color="k", linewidth=1.8, linestyle="--",
            label=f"mean of {len(mat)} released models")  # fmt: skip
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
    ax.set_xticks(x, [_label(d) for d in mat.columns], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("centred score")
    ax.set_title(
        f"{FAMILY_TITLES.get(family, family)}: {label or name} vs released models", fontsize=10
    )
    ax.legend(fontsize=8, frameon=False)
    return fig
