"""Figures of demographic-persona runs compared with human data (notebook 03).

Each function takes the tidy tables of :mod:`vp_stats.personas` and returns a
new :class:`matplotlib.figure.Figure` (built without :mod:`matplotlib.pyplot`:
no global state, nothing shown; save it with ``fig.savefig``). The three
levels of comparison follow the Value Portrait paper's persona analysis (Han
et al., ACL 2025) and Rozen et al. (ICLR 2025) for value structure.

Functions
---------
item_level_plot      per item: persona vs human mean and SD, JS distance by source
variance_ratio_plot  per value: var(personas) / var(humans) with bootstrap CI (log scale)
hierarchy_plot       value hierarchy: mean centred score of personas vs humans
structure_plot       value correlation matrices of personas and humans side by side
shift_heatmap        personas x values: shift from the plain model
group_gap_plot       per value: LLM group gap vs human group gap with CIs

Examples
--------
>>> import pandas as pd
>>> from vp_stats.plots import personas as pp
>>> pop = pd.DataFrame({"dimension": ["Power", "Security"], "variance_ratio": [0.1, 2.0],
...                     "ci_low": [0.05, 1.0], "ci_high": [0.2, 3.0]})
>>> len(pp.variance_ratio_plot(pop).axes)
1
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from vp_stats import schema
from vp_stats.plots._common import label as _label

_SOURCE_COLORS = dict(
    zip(schema.SOURCES, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"], strict=True)
)


def item_level_plot(item_comparison: pd.DataFrame, title: str | None = None) -> Figure:
    """Item level: persona population vs human raters, one point per item.

    Panels: mean rating (persona vs human, identity line), SD (persona vs
    human; below the line the personas are less diverse than the raters),
    Jensen-Shannon distance per item source (box plot).

    Parameters
    ----------
    item_comparison : DataFrame
        :func:`vp_stats.personas.compare_item_distributions`.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"source": ["Reddit", "LMSYS"], "mean_persona": [4.0, 5.0],
    ...                   "mean_human": [3.5, 4.0], "sd_persona": [0.2, 0.3],
    ...                   "sd_human": [1.2, 1.4], "js_distance": [0.4, 0.5]})
    >>> len(item_level_plot(c).axes)
    3
    """
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for src in schema.SOURCES:
        d = item_comparison[item_comparison["source"] == src]
        if d.empty:
            continue
        kw = {"color": _SOURCE_COLORS[src], "label": src, "alpha": 0.8, "s": 22}
        ax1.scatter(d["mean_human"], d["mean_persona"], **kw)
        ax2.scatter(d["sd_human"], d["sd_persona"], **kw)
    ax1.plot([1, 6], [1, 6], color="grey", lw=1, ls="--")
    ax1.set(xlim=(1, 6), ylim=(1, 6), xlabel="human mean rating", ylabel="persona mean rating")
    ax1.set_title("mean per item")
    top = float(
        np.nanmax([item_comparison["sd_human"].max(), item_comparison["sd_persona"].max(), 1])
    )
    ax2.plot([0, top], [0, top], color="grey", lw=1, ls="--")
    ax2.set(xlabel="human SD", ylabel="persona SD (across personas)")
    ax2.set_title("spread per item")
    ax1.legend(fontsize=8, frameon=False)
    srcs = [s for s in schema.SOURCES if (item_comparison["source"] == s).any()]
    data = [
        item_comparison.loc[item_comparison["source"] == s, "js_distance"].dropna() for s in srcs
    ]
    ax3.boxplot(data, tick_labels=srcs) if data else None
    ax3.set(ylabel="Jensen-Shannon distance (base 2)", ylim=(0, 1))
    ax3.set_title("distribution distance by source")
    if title:
        fig.suptitle(title)
    return fig


def variance_ratio_plot(population: pd.DataFrame, title: str | None = None) -> Figure:
    """Population level: variance across personas / variance across humans, per value.

    Log scale; the dashed line at 1 is equal diversity, below it the personas
    flatten human diversity.

    Parameters
    ----------
    population : DataFrame
        ``dimension, variance_ratio`` and optional ``ci_low, ci_high``
        (:func:`vp_stats.personas.variance_ratio`).
    """
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    d = population.reset_index(drop=True)
    x = np.arange(len(d))
    r = d["variance_ratio"].to_numpy(dtype=float)
    ax.bar(x, r, color="#4c72b0")
    if {"ci_low", "ci_high"} <= set(d.columns):
        lo, hi = d["ci_low"].to_numpy(dtype=float), d["ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        ax.errorbar(
            x[ok], r[ok], yerr=[r[ok] - lo[ok], hi[ok] - r[ok]], fmt="none", color="black", lw=1
        )
    ax.axhline(1, color="grey", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(x, [_label(v) for v in d["dimension"]], rotation=45, ha="right")
    ax.set_ylabel("variance ratio (personas / humans)")
    ax.set_title(title or "Do personas reproduce human diversity?")
    return fig


def hierarchy_plot(population: pd.DataFrame, title: str | None = None) -> Figure:
    """Population level: value hierarchy, mean centred score of personas against humans.

    Parameters
    ----------
    population : DataFrame
        ``dimension, mean_persona, mean_human`` (:func:`vp_stats.personas.value_hierarchy`).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"dimension": ["Power", "Security"], "mean_persona": [0.1, 0.2],
    ...                   "mean_human": [-0.5, 0.3]})
    >>> len(hierarchy_plot(h).axes)
    1
    """
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    x, y = population["mean_human"].to_numpy(float), population["mean_persona"].to_numpy(float)
    ax.scatter(x, y, color="#4c72b0")
    for xi, yi, d in zip(x, y, population["dimension"], strict=True):
        ax.annotate(_label(d), (xi, yi), fontsize=8, xytext=(3, 3), textcoords="offset points")
    lim = float(np.nanmax(np.abs(np.r_[x, y, 0.1]))) * 1.15
    ax.plot([-lim, lim], [-lim, lim], color="grey", ls="--", lw=1)
    ax.axhline(0, color="lightgrey", lw=0.8)
    ax.axvline(0, color="lightgrey", lw=0.8)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="humans: mean centred score",
           ylabel="personas: mean centred score")  # fmt: skip
    ax.set_title(title or "Value hierarchy")
    return fig


def structure_plot(
    persona_corr: pd.DataFrame, human_corr: pd.DataFrame, title: str | None = None
) -> Figure:
    """Population level: value correlation matrices (personas | humans).

    Parameters
    ----------
    persona_corr, human_corr : DataFrame
        Square correlation matrices (:func:`vp_stats.personas.value_correlation_matrix`).
    """
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    norm = TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
    im = None
    for ax, m, name in zip(axes, (persona_corr, human_corr), ("personas", "humans"), strict=True):
        im = ax.imshow(m.to_numpy(dtype=float), cmap="RdBu_r", norm=norm)
        labs = [schema.PVQ_ABBREV.get(c, _label(c)) for c in m.columns]
        ax.set_xticks(range(len(labs)), labs, fontsize=8)
        ax.set_yticks(range(len(labs)), labs, fontsize=8)
        ax.set_title(name)
    fig.colorbar(im, ax=axes, shrink=0.8, label="correlation")
    if title:
        fig.suptitle(title)
    return fig


def shift_heatmap(
    shifts: pd.DataFrame, label_col: str = "system_prompt", title: str | None = None
) -> Figure:
    """Group level (LLM side): each persona's shift from the plain model, per value.

    Parameters
    ----------
    shifts : DataFrame
        ``persona_id, dimension, shift`` and ``label_col`` (:func:`vp_stats.personas.persona_shifts`).
    label_col : str
        Column naming the personas on the y axis (falls back to ``persona_id``).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"persona_id": ["a", "a"], "dimension": ["Power", "Security"],
    ...                   "shift": [0.2, -0.1]})
    >>> len(shift_heatmap(s).axes)
    2
    """
    if label_col in shifts.columns:
        labels = shifts[label_col].astype(str).str.replace("**Your Profile**: ", "", regex=False)
    else:  # name personas by their attributes (columns that are not part of a profile)
        known = {"persona_id", "model", "family", "dimension", "centered_mean", "original_mean", "std_dev",
                 "n", "ci_low", "ci_high", "centre", "n_failed", "plain", "shift", "system_prompt"}  # fmt: skip
        attrs = [c for c in shifts.columns if c not in known]
        labels = shifts["persona_id"].astype(str)
        if attrs:
            parts = shifts[attrs].apply(lambda r: ", ".join(f"{k}={v}" for k, v in r.items() if pd.notna(v)), axis=1)
            labels = parts.where(parts != "", labels)
    s = shifts.assign(_lab=labels)
    m = s.pivot_table(index="_lab", columns="dimension", values="shift", aggfunc="mean", sort=False)
    m = m.reindex(columns=[d for d in schema.PVQ_VALUES if d in m.columns] or list(m.columns))
    fig = Figure(figsize=(9, 0.45 * len(m) + 2), layout="constrained")
    ax = fig.subplots()
    v = float(np.nanmax(np.abs(m.to_numpy(dtype=float)))) or 1.0
    im = ax.imshow(
        m.to_numpy(dtype=float), cmap="PuOr_r", norm=TwoSlopeNorm(0, -v, v), aspect="auto"
    )
    ax.set_xticks(range(m.shape[1]), [_label(c) for c in m.columns], rotation=45, ha="right")
    ax.set_yticks(range(m.shape[0]), m.index, fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            x = m.iat[i, j]
            if np.isfinite(x):
                ax.text(j, i, f"{x:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="persona minus plain model")
    ax.set_title(title or "Persona shifts from the plain model")
    return fig


def group_gap_plot(
    group: pd.DataFrame, title: str | None = None, human_label: str = "humans"
) -> Figure:
    """Group level: LLM gap against human gap per value, with bootstrap CIs.

    Parameters
    ----------
    group : DataFrame
        :func:`vp_stats.personas.group_gap_comparison`.
    human_label : str
        Legend label of the reference bars (say "SYNTHETIC" for demonstration data).

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"dimension": ["Power"], "llm_gap": [0.5], "human_gap": [0.1],
    ...                   "group_a": ["male"], "group_b": ["female"]})
    >>> len(group_gap_plot(g).axes)
    1
    """
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    d = group.reset_index(drop=True)
    x = np.arange(len(d))
    for off, col, name, color in (
        (-0.18, "llm", "LLM personas", "#c44e52"),
        (0.18, "human", human_label, "#4c72b0"),
    ):
        y = d[f"{col}_gap"].to_numpy(dtype=float)
        ax.bar(x + off, y, width=0.36, color=color, label=name)
        if {f"{col}_ci_low", f"{col}_ci_high"} <= set(d.columns):
            lo, hi = d[f"{col}_ci_low"].to_numpy(float), d[f"{col}_ci_high"].to_numpy(float)
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.errorbar(x[ok] + off, y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt="none",
                        color="black", lw=1)  # fmt: skip
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [_label(v) for v in d["dimension"]], rotation=45, ha="right")
    a, b = d["group_a"].iloc[0], d["group_b"].iloc[0]
    ax.set_ylabel(f"gap: {a} minus {b}")
    ax.legend(frameon=False)
    ax.set_title(title or f"Group gap {a} - {b}")
    return fig
