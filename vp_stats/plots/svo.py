"""Figures for the SVO slider measure and HVAE runs.

Each function takes tidy DataFrames (the outputs of :func:`vp_stats.studies.hvae.run_grid`,
:func:`vp_stats.stats.hvae.score_runs` and :func:`vp_stats.stats.hvae.summarise_runs`). Axes-level
functions take ``ax=`` and return the :class:`~matplotlib.axes.Axes`; figure-level ones return
the :class:`~matplotlib.figure.Figure` (pyplot-managed, so a notebook shows it inline).

========================  ======  ===============================================================
function                  level   draws
========================  ======  ===============================================================
:func:`svo_angles`        axes    every run's SVO angle on its target's ring (polar axes)
:func:`svo_ring`          figure  svo_angles with the legend below and a title
:func:`target_bars`       axes    one statistic per target, grouped by goal condition
:func:`rationality_bars`  figure  target_bars of the hit rate and the normalised angular distance
:func:`consistency_bars`  figure  target_bars of transitivity, position bias and parse failures
========================  ======  ===============================================================

Geometry (Murphy, Ackermann & Handgraaf, 2011): the SVO angle is
``atan2(mean_other - 50, mean_self - 50)``; category boundaries lie at -12.04, 22.45 and
57.15 degrees; the six primary items can only reach -16.26..61.39 degrees; ideal types sit at
61.39 (altruist), 45 (joint-gain maximiser), 37.48 (inequality averser), 0 (individualist) and
-16.26 (competitor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from vp_stats import tables
from vp_stats.instruments import svo
from vp_stats.plots.base import new_axes, new_figure

__all__ = [
    "TARGET_COLOURS",
    "consistency_bars",
    "rationality_bars",
    "svo_angles",
    "svo_ring",
    "target_bars",
]

#: One colour per target, in :data:`vp_stats.svo.TARGETS` order.
TARGET_COLOURS = {
    "altruistic": "#1b9e77",
    "prosocial": "#7570b3",
    "individualistic": "#d95f02",
    "competitive": "#e7298a",
}

_IDEAL_LABELS = {
    "altruist": "altruist",
    "joint_gain_maximizer": "joint gain",
    "inequality_averser": "inequality averser",
    "individualist": "individualist",
    "competitor": "competitor",
}


def _ring_handles(n_missing: int) -> list[Line2D]:
    handles = [
        Line2D([], [], color=TARGET_COLOURS[t], lw=2, label=f"target {t} (ring {i + 1})")
        for i, t in enumerate(svo.TARGETS)
    ] + [
        Line2D([], [], marker="o", ls="", color="0.3", label="run, no goal step"),
        Line2D([], [], marker="^", ls="", color="0.3", label="run, with goal step"),
        Line2D([], [], marker="o", ls="", mfc="none", color="0.3", label="all six answers equal"),
        Line2D([], [], marker="|", ls="", ms=12, mew=2, color="k", label="target's ideal angle"),
        Line2D([], [], marker="*", ls="", ms=10, color="gold", mec="0.2", label="ideal types"),
        Line2D([], [], color="0.15", lw=3, label="reachable range"),
    ]
    if n_missing:
        handles.append(Line2D([], [], ls="", label=f"{n_missing} run(s) without an angle"))
    return handles


def svo_angles(
    runs: pd.DataFrame,
    *,
    jitter: float = 0.12,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """The SVO ring with every run's angle, one ring per target, on polar axes.

    A polar sector in the (self, other) payoff plane: category boundary rays at -12.04, 22.45
    and 57.15 degrees with the category names between them, the reachable arc -16.26..61.39
    degrees and the ideal-type markers on the outer rim. Each target has its own ring
    (altruistic outermost); a run is a dot at its SVO angle on its target's ring (circles
    without the goal step, triangles with it, hollow when all six answers were the same letter,
    i.e. the position-bias flag), and the target's ideal-type angle is a black tick on the ring
    (rings numbered from the outside in the legend). Runs without an angle (parse failures) are
    counted in the legend, never drawn.

    Parameters
    ----------
    runs : DataFrame
        ``target`` and ``svo_angle``; optional ``with_goal``, ``position_bias`` (or
        ``constant_letter``) and ``target_angle``.
    jitter : float
        Radial offset separating the goal conditions.
    legend : bool
        Draw the legend below the axes.
    ax : matplotlib.axes.Axes, optional
        Polar axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The polar axes; one point collection per (target, goal, position-bias) group.

    Examples
    --------
    >>> runs = pd.DataFrame({"target": ["altruistic", "competitive"],
    ...                      "svo_angle": [30.47, np.nan], "with_goal": [False, True]})
    >>> ax = svo_angles(runs)
    >>> ax.name, sum(len(c.get_offsets()) for c in ax.collections)
    ('polar', 1)
    """
    tables.require(runs, ["target", "svo_angle"], "runs")
    ax = new_axes(ax, (7.5, 6.6), projection="polar")
    if ax.name != "polar":
        raise ValueError(
            "svo_angles draws on polar axes: pass ax=fig.add_subplot(projection='polar')"
        )
    lo_t, hi_t = -32.0, 78.0
    ax.set_thetamin(lo_t)
    ax.set_thetamax(hi_t)
    ax.set_rorigin(-1.2)
    targets = list(svo.TARGETS)
    radius = {t: float(len(targets) - i) for i, t in enumerate(targets)}
    rim = len(targets) + 0.7
    ax.set_ylim(0.2, rim + 1.9)

    # category boundary rays and names (inside the innermost ring)
    for b in svo.CATEGORY_BOUNDARIES:
        ax.plot([np.radians(b)] * 2, [0.2, rim], color="0.45", lw=1, ls="--", zorder=1)
        ax.text(
            np.radians(b),
            rim - 0.25,
            f"{b:.2f}°",
            fontsize=6.5,
            color="0.4",
            ha="right",
            va="bottom",
            rotation=b,
            rotation_mode="anchor",
        )
    edges = [hi_t, *svo.CATEGORY_BOUNDARIES, lo_t]
    for name, a, b in zip(svo.CATEGORIES, edges[:-1], edges[1:], strict=True):
        mid = (a + b) / 2
        ax.text(
            np.radians(mid),
            0.45,
            name,
            ha="center",
            va="center",
            fontsize=7.5,
            color="0.3",
            rotation=mid,
            rotation_mode="anchor",
            style="italic",
        )
    # reachable arc and ideal types (outside the rim)
    lo, hi = svo.REACHABLE_RANGE
    th = np.radians(np.linspace(lo, hi, 200))
    ax.plot(th, np.full_like(th, rim), color="0.15", lw=3, solid_capstyle="butt", zorder=2)
    for key, ang in svo.IDEAL_TYPE_ANGLES.items():
        ax.plot(np.radians(ang), rim, marker="*", ms=11, color="gold", mec="0.2", zorder=4)
        ax.text(
            np.radians(ang),
            rim + 0.2,
            f"{_IDEAL_LABELS.get(key, key)} {ang:.2f}°",
            ha="left",
            va="center",
            fontsize=6.5,
            color="0.15",
            rotation=ang,
            rotation_mode="anchor",
        )
    # target rings and ideal ticks
    tgt_angle = (
        runs.groupby("target")["target_angle"].first().to_dict()
        if "target_angle" in runs.columns
        else {}
    )
    for t in targets:
        r = radius[t]
        ax.plot(th, np.full_like(th, r), color=TARGET_COLOURS[t], lw=0.8, alpha=0.5, zorder=1)
        ta = np.radians(tgt_angle.get(t, svo.TARGET_ANGLES[t]))
        ax.plot([ta, ta], [r - 0.3, r + 0.3], color="k", lw=2.2, zorder=3)
    ax.set_yticks([])

    bias = runs.get("position_bias", runs.get("constant_letter"))
    bias = (
        pd.Series(False, index=runs.index)
        if bias is None
        else bias.astype("boolean").fillna(False).astype(bool)
    )
    goal = (
        runs["with_goal"].astype(bool)
        if "with_goal" in runs.columns
        else pd.Series(False, index=runs.index)
    )
    angle = runs["svo_angle"].astype(float)
    n_missing = int(angle.isna().sum())
    for t in targets:
        for g in (False, True):
            for b in (False, True):
                sel = (runs["target"] == t) & (goal == g) & (bias == b) & angle.notna()
                if not sel.any():
                    continue
                col = TARGET_COLOURS[t]
                ax.scatter(
                    np.radians(angle[sel].to_numpy()),
                    np.full(int(sel.sum()), radius[t] + (jitter if g else -jitter)),
                    marker="^" if g else "o",
                    s=46,
                    facecolors="none" if b else col,
                    edgecolors=col,
                    linewidths=1.4,
                    alpha=0.85,
                    zorder=5,
                )
    ax.set_xticks(np.radians([-30, -15, 0, 15, 30, 45, 60, 75]), [])
    ax.grid(alpha=0.25)
    ax.set_title("SVO angle of each run, one ring per target", fontsize=10)
    if legend:
        ax.legend(
            handles=_ring_handles(n_missing),
            loc="upper center",
            bbox_to_anchor=(0.5, 0.02),
            ncol=3,
            fontsize=7,
            frameon=False,
        )
    return ax


def svo_ring(runs: pd.DataFrame, *, title: str | None = None, jitter: float = 0.12) -> Figure:
    """Figure-level: :func:`svo_angles` with its legend below the ring and a title.

    Parameters
    ----------
    runs : DataFrame
        ``target`` and ``svo_angle``; optional ``with_goal``, ``position_bias`` (or
        ``constant_letter``) and ``target_angle``.
    title : str, optional
        Figure title; default "SVO angles of HVAE runs by target".
    jitter : float
        Radial offset separating the goal conditions.

    Returns
    -------
    matplotlib.figure.Figure
        One polar axes.

    Examples
    --------
    >>> runs = pd.DataFrame({"target": ["altruistic", "competitive"],
    ...                      "svo_angle": [30.47, np.nan], "with_goal": [False, True]})
    >>> fig = svo_ring(runs)
    >>> fig.axes[0].name
    'polar'
    """
    tables.require(runs, ["target", "svo_angle"], "runs")
    fig = new_figure((7.5, 7.0))
    ax = fig.add_subplot(projection="polar")
    svo_angles(runs, jitter=jitter, legend=False, ax=ax)
    ax.set_title("")  # the figure title says it
    n_missing = int(runs["svo_angle"].astype(float).isna().sum())
    fig.legend(
        handles=_ring_handles(n_missing),
        loc="outside lower center",
        ncol=3,
        fontsize=7.5,
        frameon=False,
    )
    fig.suptitle(title or "SVO angles of HVAE runs by target", fontsize=11)
    return fig


def _conditions(df: pd.DataFrame) -> list:
    return list(pd.unique(df["with_goal"])) if "with_goal" in df.columns else [None]


def target_bars(
    df: pd.DataFrame,
    value: str,
    *,
    ylim: tuple[float, float] | None = None,
    fmt: str = "{:.2f}",
    ax: Axes | None = None,
) -> Axes:
    """One statistic per target as bars, grouped by goal condition (hatched = with the goal step).

    Parameters
    ----------
    df : DataFrame
        ``target`` and ``value``; optional ``with_goal`` (one bar per target and condition).
    value : str
        Column drawn; each bar is labelled with its value (``n/a`` for NaN).
    ylim : tuple of float, optional
        Y limits.
    fmt : str
        Format of the bar labels.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> s = pd.DataFrame({"target": ["prosocial", "competitive"], "hit_rate": [1.0, np.nan]})
    >>> ax = target_bars(s, "hit_rate")
    >>> [t.get_text() for t in ax.texts]
    ['1.00', 'n/a']
    """
    tables.require(df, ["target", value], "df")
    ax = new_axes(ax, (4.6, 3.6))
    conds = _conditions(df)
    targets = [t for t in svo.TARGETS if t in set(df["target"])]
    x = np.arange(len(targets))
    width = 0.8 / len(conds)
    for k, c in enumerate(conds):
        sub = df if c is None else df[df["with_goal"] == c]
        vals = sub.set_index("target")[value].reindex(targets).astype(float).to_numpy()
        pos = x - 0.4 + width * (k + 0.5)
        label = None if c is None else ("with goal step" if c else "no goal step")
        bars = ax.bar(
            pos,
            np.nan_to_num(vals),
            width * 0.92,
            color=[TARGET_COLOURS[t] for t in targets],
            alpha=0.55 if (c is None or c) else 0.95,
            hatch="//" if c else None,
            edgecolor="0.2",
            label=label,
        )
        ax.bar_label(bars, ["n/a" if np.isnan(v) else fmt.format(v) for v in vals], fontsize=7)
    ax.set_xticks(x, targets, rotation=20, ha="right", rotation_mode="anchor")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(value.replace("_", " "))
    ax.set_title(f"{value.replace('_', ' ')} by target", fontsize=9)
    if conds != [None]:  # neutral swatches: the bar colours are the targets'
        handles = [
            Patch(
                facecolor="0.55",
                edgecolor="0.2",
                alpha=0.55 if c else 0.95,
                hatch="//" if c else None,
                label="with goal step" if c else "no goal step",
            )
            for c in conds
        ]
        ax.legend(handles=handles, fontsize=7, frameon=False)
    return ax


def rationality_bars(summary: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Figure-level: value rationality per target, hit rate and normalised distance.

    Left: hit rate over complete runs (share of runs whose SVO category equals the target).
    Right: mean absolute angular distance to the target's ideal-type angle divided by the
    reachable span (77.65 degrees; 0 = on target, 1 = the other end of the reachable range).
    Both panels are :func:`target_bars`, grouped by goal condition when ``summary`` has a
    ``with_goal`` column (hatched = with the goal step).

    Parameters
    ----------
    summary : DataFrame
        :func:`vp_stats.stats.hvae.summarise_runs` output (``target``, ``hit_rate``,
        ``mean_abs_angular_distance_normalised``; optional ``with_goal``).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes.

    Examples
    --------
    >>> s = pd.DataFrame({"target": ["prosocial", "competitive"], "hit_rate": [1.0, 0.0],
    ...                   "mean_abs_angular_distance_normalised": [0.2, np.nan]})
    >>> len(rationality_bars(s).axes)
    2
    """
    tables.require(
        summary, ["target", "hit_rate", "mean_abs_angular_distance_normalised"], "summary"
    )
    fig = new_figure((9.0, 3.9))
    ax1, ax2 = fig.subplots(1, 2)
    target_bars(summary, "hit_rate", ylim=(0, 1.12), ax=ax1)
    ax1.set_ylabel("categorical hit rate")
    ax1.set_title("category = target (complete runs)", fontsize=9)
    target_bars(summary, "mean_abs_angular_distance_normalised", ylim=(0, 1.12), ax=ax2)
    ax2.set_ylabel("mean |angle - target| / 77.65°")
    ax2.set_title("normalised angular distance (lower is better)", fontsize=9)
    fig.suptitle(title or "HVAE value rationality", fontsize=11)
    return fig


def consistency_bars(runs: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Figure-level: answer quality per target, transitivity, position bias and parse failures.

    Three :func:`target_bars` panels over runs: share of complete runs whose answers are
    transitive (no cycle in the archetype preference graph), share of runs whose six answers
    are the same letter (position bias; all-A gives 30.47 and all-I 14.74 degrees, both
    intransitive), and the share of item replies that could not be parsed.

    Parameters
    ----------
    runs : DataFrame
        :func:`vp_stats.studies.hvae.run_grid` ``runs`` (``target``, ``complete``, ``transitive``,
        ``position_bias`` or ``constant_letter``, ``n_parse_failures``; optional
        ``with_goal``).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes.

    Examples
    --------
    >>> runs = pd.DataFrame({"target": ["prosocial"] * 2, "complete": [True, False],
    ...     "transitive": [False, None], "position_bias": [True, False],
    ...     "n_parse_failures": [0, 6]})
    >>> len(consistency_bars(runs).axes)
    3
    """
    runs = runs.rename(columns={"constant_letter": "position_bias"})
    tables.require(
        runs, ["target", "complete", "transitive", "position_bias", "n_parse_failures"], "runs"
    )
    keys = ["target"] + (["with_goal"] if "with_goal" in runs.columns else [])
    comp = runs["complete"].astype(bool)
    tab = (
        runs.assign(
            _trans=runs["transitive"].astype("boolean").where(comp).astype(float),
            _bias=runs["position_bias"].astype("boolean").fillna(False).astype(float),
            _fail=runs["n_parse_failures"].astype(float) / 6.0,
        )
        .groupby(keys, sort=False)[["_trans", "_bias", "_fail"]]
        .mean()
        .reset_index()
    )
    fig = new_figure((11.0, 3.8))
    axes = fig.subplots(1, 3)
    for ax, col, lab in zip(
        axes,
        ["_trans", "_bias", "_fail"],
        ["share transitive (complete runs)", "share all-same-letter", "share unparsed replies"],
        strict=True,
    ):
        target_bars(tab, col, ylim=(0, 1.12), ax=ax)
        ax.set_ylabel("")
        ax.set_title(lab, fontsize=9)
    fig.suptitle(title or "HVAE answer consistency", fontsize=11)
    return fig
