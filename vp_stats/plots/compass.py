"""Figures of Value Compass composites over the released model profiles (notebook 05).

Each function takes the tidy tables of :mod:`vp_stats.compass` and returns a
new :class:`matplotlib.figure.Figure` (no :mod:`matplotlib.pyplot`, no global
state). Composites after Value Compass (Yao, Yi et al., arXiv 2501.07071).

Functions
---------
agreement_heatmap   models x groups (weight vectors) heatmap of a composite
ranking_plot        horizontal bars of one composite, best first
rank_change_plot    rank of each model under several weight vectors (bump chart)
sensitivity_plot    rank with 5-95 % interval under perturbed weights

Examples
--------
>>> import pandas as pd
>>> from vp_stats.plots import compass as cp
>>> t = pd.DataFrame({"group": ["g", "g", "h", "h"], "model": ["a", "b"] * 2,
...                   "weighted_composite": [0.1, 0.2, 0.3, -0.1]})
>>> len(cp.agreement_heatmap(t).axes)
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure


def agreement_heatmap(
    table: pd.DataFrame,
    value: str = "weighted_composite",
    *,
    sort_by: str | None = None,
    title: str | None = None,
    annotate: bool = True,
) -> Figure:
    """Heatmap of a composite: models (rows) x groups / persons (columns).

    Parameters
    ----------
    table : DataFrame
        ``group, model`` and the ``value`` column (:func:`vp_stats.compass.composite_table`).
    sort_by : str, optional
        Group whose values order the rows (default: the mean over groups).
    """
    m = table.pivot_table(index="model", columns="group", values=value, sort=False)
    key = m[sort_by] if sort_by is not None else m.mean(axis=1)
    m = m.loc[key.sort_values(ascending=False).index]
    fig = Figure(figsize=(1.1 * m.shape[1] + 4, 0.24 * len(m) + 1.8), layout="constrained")
    ax = fig.subplots()
    X = m.to_numpy(dtype=float)
    if value in ("match",):
        im = ax.imshow(X, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    else:
        v = float(np.nanmax(np.abs(X))) or 1.0
        im = ax.imshow(X, cmap="RdBu_r", norm=TwoSlopeNorm(0, -v, v), aspect="auto")
    ax.set_xticks(
        range(m.shape[1]), [str(c) for c in m.columns], rotation=35, ha="right", fontsize=8
    )
    ax.set_yticks(range(m.shape[0]), m.index, fontsize=7)
    if annotate and m.size <= 400:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if np.isfinite(X[i, j]):
                    ax.text(j, i, f"{X[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, label=value.replace("_", " "))
    ax.set_title(title or f"{value.replace('_', ' ')}: models x weight vectors")
    return fig


def ranking_plot(
    table: pd.DataFrame,
    value: str,
    *,
    higher_is_better: bool = True,
    title: str | None = None,
    highlight: tuple[str, ...] = (),
) -> Figure:
    """Horizontal bar chart of one composite per model, best at the top.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": ["a", "b"], "weighted_composite": [0.2, 0.1]})
    >>> len(ranking_plot(t, "weighted_composite").axes)
    1
    """
    d = table.sort_values(value, ascending=not higher_is_better).reset_index(drop=True)
    fig = Figure(figsize=(7, 0.22 * len(d) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(d))[::-1]
    colors = ["#c44e52" if m in highlight else "#4c72b0" for m in d["model"]]
    ax.barh(y, d[value].to_numpy(dtype=float), color=colors)
    ax.set_yticks(y, d["model"], fontsize=7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(value.replace("_", " ") + ("" if higher_is_better else " (lower is better)"))
    ax.set_title(title or f"Models ranked by {value.replace('_', ' ')}")
    return fig


def rank_change_plot(
    table: pd.DataFrame,
    rank: str = "weighted_rank",
    *,
    groups: list | None = None,
    label_top: int = 5,
    title: str | None = None,
) -> Figure:
    """Bump chart: each model's rank under several weight vectors.

    Models in the top ``label_top`` of any group are drawn in colour and
    labelled; the others in grey.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["g", "g", "h", "h"], "model": ["a", "b"] * 2,
    ...                   "weighted_rank": [1, 2, 2, 1]})
    >>> len(rank_change_plot(t).axes)
    1
    """
    m = table.pivot_table(index="model", columns="group", values=rank, sort=False)
    if groups is not None:
        m = m[groups]
    fig = Figure(figsize=(1.6 * m.shape[1] + 4, 0.22 * len(m) + 2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(m.shape[1])
    top = (m <= label_top).any(axis=1)
    cmap = colormaps["tab10"]
    k = 0
    for model, row in m.iterrows():
        if top[model]:
            c = cmap(k % 10)
            k += 1
            ax.plot(x, row.to_numpy(), marker="o", color=c, lw=2)
            ax.annotate(model, (x[-1], row.iloc[-1]), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=7, color=c)  # fmt: skip
        else:
            ax.plot(x, row.to_numpy(), color="lightgrey", lw=0.8, zorder=0)
    ax.invert_yaxis()
    ax.set_xticks(x, [str(g) for g in m.columns], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"{rank.replace('_', ' ')} (1 = best)")
    ax.set_xlim(-0.3, m.shape[1] - 1 + 1.8)
    ax.set_title(title or "How rankings change with the weights")
    return fig


def sensitivity_plot(sensitivity: pd.DataFrame, title: str | None = None) -> Figure:
    """Each model's rank under the base weights and its 5-95 % interval under perturbed weights.

    Parameters
    ----------
    sensitivity : DataFrame
        :func:`vp_stats.compass.weight_sensitivity`.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"model": ["a", "b"], "rank": [1, 2], "rank_p05": [1, 1],
    ...                   "rank_p95": [2, 2], "rank_median": [1, 2]})
    >>> len(sensitivity_plot(s).axes)
    1
    """
    d = sensitivity.sort_values("rank").reset_index(drop=True)
    fig = Figure(figsize=(7, 0.22 * len(d) + 1.5), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(d))[::-1]
    ax.hlines(
        y, d["rank_p05"], d["rank_p95"], color="#4c72b0", lw=3, alpha=0.5, label="5-95 % of draws"
    )
    ax.scatter(d["rank_median"], y, color="#4c72b0", s=12, label="median")
    ax.scatter(d["rank"], y, color="black", marker="|", s=60, label="base weights")
    ax.set_yticks(y, d["model"], fontsize=7)
    ax.set_xlabel("rank (1 = best)")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    noise = d["noise"].iloc[0] if "noise" in d.columns else None
    ax.set_title(title or f"Rank under perturbed weights (noise {noise})")
    return fig
