"""Figures of demographic-persona runs compared with human data (notebook 03).

Each function takes the tidy tables of :mod:`vp_stats.stats.personas`. Axes-level functions take
``ax=`` and return the :class:`~matplotlib.axes.Axes`; figure-level ones (several panels)
return the :class:`~matplotlib.figure.Figure`; without ``ax`` a new pyplot figure is opened, so
a notebook shows it inline. The three levels of comparison follow the Value Portrait paper's
persona analysis (Han et al., ACL 2025) and Rozen et al. (ICLR 2025) for value structure.

============================  ======  =============================================================
function                      level   draws
============================  ======  =============================================================
:func:`item_scatter`          axes    per item: persona vs human mean (or SD), by item source
:func:`js_distance_box`       axes    per item source: Jensen-Shannon distance of the ratings
:func:`item_level_plot`       figure  item_scatter of the means and the SDs, js_distance_box
:func:`variance_ratio_plot`   axes    per value: var(personas) / var(humans), bootstrap CI (log)
:func:`hierarchy_plot`        axes    value hierarchy: mean centred score of personas vs humans
:func:`correlation_heatmap`   axes    one value correlation matrix
:func:`structure_plot`        figure  correlation_heatmap of personas and humans side by side
:func:`shift_heatmap`         axes    personas x values: shift from the plain model
:func:`group_gap_plot`        axes    per value: LLM group gap vs human group gap with CIs
:func:`steerability_heatmap`  axes    personas x human groups: distance, own group outlined
============================  ======  =============================================================

Examples
--------
>>> import pandas as pd
>>> from vp_stats.plots import personas as pp
>>> pop = pd.DataFrame({"dimension": ["Power", "Security"], "variance_ratio": [0.1, 2.0],
...                     "ci_low": [0.05, 1.0], "ci_high": [0.2, 3.0]})
>>> len(pp.variance_ratio_plot(pop).figure.axes)
1
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vp_stats import schema, tables
from vp_stats.plots._common import label as _label
from vp_stats.plots.base import heatmap, new_axes, new_figure

__all__ = [
    "correlation_heatmap",
    "fidelity_plot",
    "group_gap_plot",
    "hierarchy_plot",
    "item_level_plot",
    "item_scatter",
    "js_distance_box",
    "shift_heatmap",
    "steerability_heatmap",
    "structure_plot",
    "variance_ratio_plot",
]

_BLUE, _RED = "#4c72b0", "#c44e52"
_SOURCE_COLORS = dict(
    zip(schema.SOURCES, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"], strict=True)
)


def item_scatter(
    item_comparison: pd.DataFrame,
    statistic: str = "mean",
    ax: Axes | None = None,
    legend: bool = True,
) -> Axes:
    """Item level: one point per item, persona statistic against the human one, by item source.

    Drawn with :func:`seaborn.scatterplot` (one colour per source) and the identity line:
    for ``statistic="sd"``, points below the line mean the personas disagree with one another
    less than the raters do.

    Parameters
    ----------
    item_comparison : DataFrame
        :func:`vp_stats.stats.personas.compare_item_distributions` (``source``,
        ``<statistic>_persona``, ``<statistic>_human``).
    statistic : {"mean", "sd"}
        Mean rating or its standard deviation.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    legend : bool
        Draw the legend of the sources.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"source": ["Reddit", "LMSYS"], "mean_persona": [4.0, 5.0],
    ...                   "mean_human": [3.5, 4.0], "sd_persona": [0.2, 0.3], "sd_human": [1.2,
    ...                                                                                    1.4]})
    >>> ax = item_scatter(c, "sd")
    >>> ax.get_xlabel(), len(ax.collections[0].get_offsets())
    ('human SD', 2)
    """
    if statistic not in ("mean", "sd"):
        raise ValueError(f"statistic must be 'mean' or 'sd', got {statistic!r}")
    x, y = f"{statistic}_human", f"{statistic}_persona"
    tables.require(item_comparison, ["source", x, y], "item_comparison")
    ax = new_axes(ax, (4.4, 4.2))
    srcs = [s for s in schema.SOURCES if (item_comparison["source"] == s).any()]
    sns.scatterplot(
        data=item_comparison,
        x=x,
        y=y,
        hue="source",
        hue_order=srcs,
        palette=_SOURCE_COLORS,
        s=26,
        alpha=0.8,
        legend=legend,
        ax=ax,
    )
    if statistic == "mean":
        ax.plot([1, 6], [1, 6], color="grey", lw=1, ls="--")
        ax.set(xlim=(1, 6), ylim=(1, 6), xlabel="human mean rating", ylabel="persona mean rating")
        ax.set_title("mean per item", fontsize=10)
    else:
        top = float(np.nanmax([item_comparison[x].max(), item_comparison[y].max(), 1]))
        ax.plot([0, top], [0, top], color="grey", lw=1, ls="--")
        ax.set(xlabel="human SD", ylabel="persona SD (across personas)")
        ax.set_title("spread per item", fontsize=10)
    if legend and ax.get_legend() is not None:
        ax.legend(fontsize=8, frameon=False, title=None)
    return ax


def js_distance_box(item_comparison: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Item level: Jensen-Shannon distance (base 2) of persona vs human ratings, per item source.

    Parameters
    ----------
    item_comparison : DataFrame
        ``source, js_distance`` (:func:`vp_stats.stats.personas.compare_item_distributions`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One box per source present (schema order).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"source": ["Reddit", "LMSYS", "LMSYS"], "js_distance": [0.4, 0.5, 0.3]})
    >>> [t.get_text() for t in js_distance_box(c).get_xticklabels()]
    ['Reddit', 'LMSYS']
    """
    tables.require(item_comparison, ["source", "js_distance"], "item_comparison")
    ax = new_axes(ax, (4.0, 4.2))
    srcs = [s for s in schema.SOURCES if (item_comparison["source"] == s).any()]
    data = [
        item_comparison.loc[item_comparison["source"] == s, "js_distance"].dropna() for s in srcs
    ]
    if data:
        bp = ax.boxplot(data, tick_labels=srcs, patch_artist=True, medianprops={"color": "k"})
        for patch, s in zip(bp["boxes"], srcs, strict=True):
            patch.set_facecolor(_SOURCE_COLORS[s])
            patch.set_alpha(0.6)
    ax.set(ylabel="Jensen-Shannon distance (base 2)", ylim=(0, 1))
    ax.set_title("distribution distance by source", fontsize=10)
    return ax


def item_level_plot(item_comparison: pd.DataFrame, title: str | None = None) -> Figure:
    """Figure-level: item level, persona population vs human raters, one point per item.

    Panels: mean rating (:func:`item_scatter`, identity line), SD (:func:`item_scatter`; below
    the line the personas are less diverse than the raters), Jensen-Shannon distance per item
    source (:func:`js_distance_box`).

    Parameters
    ----------
    item_comparison : DataFrame
        :func:`vp_stats.stats.personas.compare_item_distributions`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"source": ["Reddit", "LMSYS"], "mean_persona": [4.0, 5.0],
    ...                   "mean_human": [3.5, 4.0], "sd_persona": [0.2, 0.3],
    ...                   "sd_human": [1.2, 1.4], "js_distance": [0.4, 0.5]})
    >>> len(item_level_plot(c).axes)
    3
    """
    fig = new_figure((13.0, 4.4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    item_scatter(item_comparison, "mean", ax=ax1)
    item_scatter(item_comparison, "sd", ax=ax2, legend=False)
    js_distance_box(item_comparison, ax=ax3)
    if title:
        fig.suptitle(title)
    return fig


def variance_ratio_plot(
    population: pd.DataFrame, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Population level: variance across personas / variance across humans, per value.

    Bars (:func:`seaborn.barplot`) with the bootstrap intervals of the table on a log scale;
    the dashed line at 1 is equal diversity, below it the personas flatten human diversity.

    Parameters
    ----------
    population : DataFrame
        ``dimension, variance_ratio`` and optional ``ci_low, ci_high``
        (:func:`vp_stats.stats.personas.variance_ratio`).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per value.

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"dimension": ["Power", "Security"], "variance_ratio": [0.1, 2.0]})
    >>> [float(p.get_height()) for p in variance_ratio_plot(pop).patches]
    [0.1, 2.0]
    """
    tables.require(population, ["dimension", "variance_ratio"], "population")
    d = population.reset_index(drop=True)
    ax = new_axes(ax, (7.0, 4.2))
    x = np.arange(len(d))
    r = d["variance_ratio"].to_numpy(dtype=float)
    sns.barplot(x=x, y=r, color=_BLUE, errorbar=None, native_scale=True, ax=ax)
    if {"ci_low", "ci_high"} <= set(d.columns):
        lo, hi = d["ci_low"].to_numpy(dtype=float), d["ci_high"].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        ax.errorbar(
            x[ok],
            r[ok],
            yerr=[r[ok] - lo[ok], hi[ok] - r[ok]],
            fmt="none",
            color="black",
            lw=1,
            capsize=2,
        )
    ax.axhline(1, color="grey", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(
        x, [_label(v) for v in d["dimension"]], rotation=45, ha="right", rotation_mode="anchor"
    )
    ax.set_ylabel("variance ratio (personas / humans)")
    ax.set_title(title or "Do personas reproduce human diversity?", fontsize=10)
    return ax


def hierarchy_plot(
    population: pd.DataFrame, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Population level: value hierarchy, mean centred score of personas against humans.

    Parameters
    ----------
    population : DataFrame
        ``dimension, mean_persona, mean_human`` (:func:`vp_stats.stats.personas.value_hierarchy`).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One labelled point per value, the identity line.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"dimension": ["Power", "Security"], "mean_persona": [0.1, 0.2],
    ...                   "mean_human": [-0.5, 0.3]})
    >>> len(hierarchy_plot(h).texts)
    2
    """
    tables.require(population, ["dimension", "mean_persona", "mean_human"], "population")
    ax = new_axes(ax, (5.5, 5.2))
    x, y = population["mean_human"].to_numpy(float), population["mean_persona"].to_numpy(float)
    ax.scatter(x, y, color=_BLUE)
    for xi, yi, d in zip(x, y, population["dimension"], strict=True):
        ax.annotate(_label(d), (xi, yi), fontsize=8, xytext=(3, 3), textcoords="offset points")
    lim = float(np.nanmax(np.abs(np.r_[x, y, 0.1]))) * 1.15
    ax.plot([-lim, lim], [-lim, lim], color="grey", ls="--", lw=1)
    ax.axhline(0, color="lightgrey", lw=0.8)
    ax.axvline(0, color="lightgrey", lw=0.8)
    ax.set(
        xlim=(-lim, lim),
        ylim=(-lim, lim),
        xlabel="humans: mean centred score",
        ylabel="personas: mean centred score",
    )
    ax.set_aspect("equal")
    ax.set_title(title or "Value hierarchy", fontsize=10)
    return ax


def correlation_heatmap(
    corr: pd.DataFrame, title: str | None = None, cbar: bool = True, ax: Axes | None = None
) -> Axes:
    """One value correlation matrix on the fixed -1..1 scale, values by their full names.

    Parameters
    ----------
    corr : DataFrame
        Square correlation matrix (:func:`vp_stats.stats.personas.value_correlation_matrix`).
    title : str, optional
        Axes title; default "Value correlations".
    cbar : bool
        Draw the colour bar.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame([[1.0, -0.3], [-0.3, 1.0]], index=["Power", "Security"],
    ...                  columns=["Power", "Security"])
    >>> [t.get_text() for t in correlation_heatmap(m).get_xticklabels()]
    ['Power', 'Security']
    """
    labs = [_label(c) for c in corr.columns]
    ax = heatmap(
        corr,
        ax=ax,
        vlim=1.0,
        cbar=cbar,
        cbar_label="correlation",
        xticklabels=labs,
        yticklabels=[_label(c) for c in corr.index],
        xrotation=45,
        fontsize=8,
        square=True,
        figsize=(5.8, 5.0),
    )
    ax.set_title(title or "Value correlations", fontsize=10)
    return ax


def structure_plot(
    persona_corr: pd.DataFrame, human_corr: pd.DataFrame, title: str | None = None
) -> Figure:
    """Figure-level: value correlation matrices (personas | humans), a correlation_heatmap each.

    Parameters
    ----------
    persona_corr, human_corr : DataFrame
        Square correlation matrices (:func:`vp_stats.stats.personas.value_correlation_matrix`).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two heatmap axes and one colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame([[1.0, -0.3], [-0.3, 1.0]], index=["Power", "Security"],
    ...                  columns=["Power", "Security"])
    >>> len(structure_plot(m, m).axes)
    3
    """
    fig = new_figure((11.0, 5.0))
    axes = fig.subplots(1, 2)
    correlation_heatmap(persona_corr, "personas", cbar=False, ax=axes[0])
    correlation_heatmap(human_corr, "humans", cbar=False, ax=axes[1])
    axes[1].tick_params(axis="y", labelleft=False)  # the same values as the left panel
    fig.colorbar(axes[1].collections[0], ax=axes, shrink=0.8, label="correlation")
    if title:
        fig.suptitle(title)
    return fig


def shift_heatmap(
    shifts: pd.DataFrame,
    label_col: str = "system_prompt",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Group level (LLM side): each persona's shift from the plain model, per value.

    Parameters
    ----------
    shifts : DataFrame
        ``persona_id, dimension, shift`` and ``label_col``
        (:func:`vp_stats.stats.personas.persona_shifts`).
    label_col : str
        Column naming the personas on the y axis (falls back to the persona's attribute
        columns, then ``persona_id``).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The annotated heatmap (values signed, two decimals).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"persona_id": ["a", "a"], "dimension": ["Power", "Security"],
    ...                   "shift": [0.2, -0.1]})
    >>> ax = shift_heatmap(s)
    >>> len(ax.figure.axes), [t.get_text() for t in ax.texts]
    (2, ['+0.20', '-0.10'])
    """
    tables.require(shifts, ["persona_id", "dimension", "shift"], "shifts")
    if label_col in shifts.columns:
        labels = shifts[label_col].astype(str).str.replace("**Your Profile**: ", "", regex=False)
    else:  # name personas by their attributes (columns that are not part of a profile)
        known = {
            "persona_id",
            "model",
            "family",
            "dimension",
            "centered_mean",
            "original_mean",
            "std_dev",
            "n",
            "ci_low",
            "ci_high",
            "centre",
            "n_failed",
            "n_not_asked",
            "plain",
            "shift",
            "system_prompt",
            "llm",
        }
        attrs = [c for c in shifts.columns if c not in known]
        labels = shifts["persona_id"].astype(str)
        if attrs:
            parts = shifts[attrs].apply(
                lambda r: ", ".join(f"{k}={v}" for k, v in r.items() if pd.notna(v)), axis=1
            )
            labels = parts.where(parts != "", labels)
    s = shifts.assign(_lab=labels)
    m = s.pivot_table(index="_lab", columns="dimension", values="shift", aggfunc="mean", sort=False)
    m = m.reindex(columns=[d for d in schema.PVQ_VALUES if d in m.columns] or list(m.columns))
    ax = heatmap(
        m,
        ax=ax,
        cmap="PuOr_r",
        annot=True,
        fmt="+.2f",
        cbar_label="persona minus plain model",
        fontsize=8,
        figsize=(9.0, 0.45 * len(m) + 2.2),
    )
    ax.set_title(title or "Persona shifts from the plain model", fontsize=10)
    return ax


def group_gap_plot(
    group: pd.DataFrame,
    title: str | None = None,
    human_label: str = "humans",
    ax: Axes | None = None,
) -> Axes:
    """Group level: LLM gap against human gap per value, with bootstrap CIs.

    Paired bars (:func:`seaborn.barplot`, one hue per side) with the table's own intervals.

    Parameters
    ----------
    group : DataFrame
        :func:`vp_stats.stats.persona_gaps.group_gap_comparison` (``dimension, llm_gap, human_gap,
        group_a, group_b``; optional ``llm_ci_low`` ... ``human_ci_high``).
    title : str, optional
        Axes title.
    human_label : str
        Legend label of the reference bars (say "SYNTHETIC" for demonstration data).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Two bars per value.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"dimension": ["Power"], "llm_gap": [0.5], "human_gap": [0.1],
    ...                   "group_a": ["male"], "group_b": ["female"]})
    >>> ax = group_gap_plot(g)
    >>> [float(bar.get_height()) for bars in ax.containers for bar in bars], ax.get_ylabel()
    ([0.5, 0.1], 'gap: male minus female')
    """
    tables.require(group, ["dimension", "llm_gap", "human_gap", "group_a", "group_b"], "group")
    d = group.reset_index(drop=True)
    sides = (("llm", "LLM personas", _RED), ("human", human_label, _BLUE))
    long = pd.concat(
        [
            pd.DataFrame(
                {"dimension": d["dimension"], "gap": d[f"{c}_gap"].astype(float), "side": name}
            )
            for c, name, _ in sides
        ],
        ignore_index=True,
    )
    ax = new_axes(ax, (8.0, 4.4))
    sns.barplot(
        data=long,
        x="dimension",
        y="gap",
        hue="side",
        hue_order=[s[1] for s in sides],
        palette={name: col for _, name, col in sides},
        order=list(d["dimension"]),
        errorbar=None,
        ax=ax,
    )
    for (col, _, _), bars in zip(sides, list(ax.containers), strict=True):
        if {f"{col}_ci_low", f"{col}_ci_high"} <= set(d.columns):
            y = d[f"{col}_gap"].to_numpy(dtype=float)
            lo, hi = d[f"{col}_ci_low"].to_numpy(float), d[f"{col}_ci_high"].to_numpy(float)
            xc = np.array([b.get_x() + b.get_width() / 2 for b in bars])
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.errorbar(
                xc[ok],
                y[ok],
                yerr=[y[ok] - lo[ok], hi[ok] - y[ok]],
                fmt="none",
                color="black",
                lw=1,
                capsize=2,
            )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(
        range(len(d)),
        [_label(v) for v in d["dimension"]],
        rotation=45,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_xlabel("")
    a, b = d["group_a"].iloc[0], d["group_b"].iloc[0]
    ax.set_ylabel(f"gap: {a} minus {b}")
    ax.legend(frameon=False, title=None)
    ax.set_title(title or f"Group gap {a} - {b}", fontsize=10)
    return ax


def steerability_heatmap(
    steer: pd.DataFrame,
    *,
    persona: str = "persona_id",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Steerability: each persona's distance to every human group, its own group outlined.

    Parameters
    ----------
    steer : DataFrame
        ``persona, own_group, group, own, distance``
        (:func:`vp_stats.stats.fidelity.steerability`'s ``table``).
    persona : str
        Column naming the personas (rows).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The annotated heatmap (rows: personas ordered by their own group, columns: groups);
        a black frame marks each persona's own group (the diagonal when every group has
        its persona) and a dot the group it is closest to.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"persona_id": ["pa", "pa", "pb", "pb"], "own_group": list("aabb"),
    ...                   "group": list("abab"), "own": [True, False, False, True],
    ...                   "distance": [0.2, 0.9, 0.5, 0.4]})
    >>> ax = steerability_heatmap(t)
    >>> [t.get_text() for t in ax.texts], len(ax.patches)
    (['0.20', '0.90', '0.50', '0.40'], 2)
    """
    tables.require(steer, [persona, "own_group", "group", "own", "distance"], "steerability")
    groups = list(dict.fromkeys(steer["group"]))
    order = {g: i for i, g in enumerate(groups)}
    rows = (
        steer[[persona, "own_group"]]
        .drop_duplicates(persona)
        .assign(_o=lambda d: d["own_group"].map(order).fillna(len(groups)))
        .sort_values(["_o", persona], kind="stable")[persona]
        .tolist()
    )
    m = steer.pivot_table(index=persona, columns="group", values="distance", aggfunc="mean")
    m = m.reindex(index=rows, columns=groups)
    ax = heatmap(
        m,
        ax=ax,
        center=None,
        cmap="viridis_r",
        annot=True,
        fmt=".2f",
        cbar_label="distance (smaller: closer)",
        fontsize=8,
        figsize=(0.9 * len(groups) + 3.0, 0.45 * len(rows) + 2.2),
    )
    from matplotlib.patches import Rectangle

    own = steer[steer["own"].astype(bool)]
    for r in own.itertuples(index=False):
        i, j = rows.index(getattr(r, persona)), groups.index(r.group)
        ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="black", linewidth=2.0))
    best = m.to_numpy()
    for i in range(len(rows)):
        if np.isfinite(best[i]).any():
            j = int(np.nanargmin(best[i]))
            ax.plot(j + 0.85, i + 0.2, "o", color="white", markersize=4, markeredgecolor="black")
    ax.set_xlabel("human group")
    ax.set_ylabel("persona")
    ax.set_title(title or "Steerability: persona distance to each group (own group framed)")
    return ax


def fidelity_plot(
    summary: pd.DataFrame,
    label: str = "persona_id",
    *,
    measure: str = "w1",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Distribution fidelity: each row's mean distance from the humans with its CI, against
    the noise floor and the baselines.

    One line per row of ``summary`` (e.g. per persona against its own human group): the
    mean distance over items with its bootstrap CI (black), the noise floor of a perfect
    model at the same n (grey bar), the human split half (grey cross), the human-average
    baseline (orange diamond) and the uniform answer distribution (light square). Left of
    the baseline is better than knowing only how people answer in general; at the floor
    a model is as close as sampling noise allows.

    Parameters
    ----------
    summary : DataFrame
        :func:`vp_stats.stats.fidelity.summarise_fidelity` rows: ``label``, ``<measure>``,
        ``<measure>_ci_low``, ``<measure>_ci_high``, ``floor_<measure>``,
        ``split_half_<measure>``, ``average_<measure>``, ``uniform_<measure>``.
    label : str
        The column naming the rows.
    measure : {"w1", "js_distance"}
        The distance.
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
    >>> s = pd.DataFrame({"persona_id": ["a", "b"], "w1": [0.5, 0.9], "w1_ci_low": [0.4, 0.7],
    ...                   "w1_ci_high": [0.6, 1.1], "floor_w1": 0.2, "split_half_w1": 0.25,
    ...                   "average_w1": 0.8, "uniform_w1": 1.2})
    >>> ax = fidelity_plot(s)
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_xlabel()
    (['a', 'b'], 'W1 (Wasserstein-1) to the humans')
    """
    if measure not in ("w1", "js_distance"):
        raise ValueError(f"measure must be 'w1' or 'js_distance', got {measure!r}")
    m = measure
    cols = [label, m, f"{m}_ci_low", f"{m}_ci_high"]
    marks = [f"floor_{m}", f"split_half_{m}", f"average_{m}", f"uniform_{m}"]
    tables.require(summary, [*cols, *marks], "fidelity summary")
    d = summary.reset_index(drop=True)
    y = np.arange(len(d))[::-1]
    ax = new_axes(ax, (6.4, 0.32 * len(d) + 1.8))
    style = {
        f"floor_{m}": dict(marker="|", color="0.35", ms=12, mew=2, label="noise floor"),
        f"split_half_{m}": dict(marker="x", color="0.5", ms=6, label="human split half"),
        f"average_{m}": dict(marker="D", color="#dd8452", ms=5, label="human-average baseline"),
        f"uniform_{m}": dict(marker="s", color="#bbbbbb", ms=5, label="uniform answers"),
    }
    for c, kw in style.items():
        ax.plot(d[c].to_numpy(dtype=float), y, ls="none", **kw)
    x = d[m].to_numpy(dtype=float)
    err = np.vstack([x - d[f"{m}_ci_low"].to_numpy(float), d[f"{m}_ci_high"].to_numpy(float) - x])
    ax.errorbar(
        x, y, xerr=np.where(np.isfinite(err), err, 0.0), fmt="o", color="black", ms=4,
        capsize=2, label="model (95% CI)",
    )  # fmt: skip
    ax.set_yticks(y, [str(v) for v in d[label]])
    name = "W1 (Wasserstein-1)" if m == "w1" else "Jensen-Shannon distance"
    ax.set_xlabel(f"{name} to the humans")
    ax.set_xlim(left=0)
    ax.set_ylim(-0.7, len(d) - 0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or f"Fidelity: {name} against the noise floor and baselines", fontsize=10)
    return ax
