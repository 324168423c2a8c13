"""Pattern correspondence: does a silicon sample reproduce the structure of real people's answers?

Argyle et al. (2023, "Out of One, Many: Using Language Models to Simulate Human
Samples", Political Analysis 31, 337-351) call a silicon sample algorithmically
faithful when, among other criteria, the relations between its variables follow
the humans' (pattern correspondence). For questionnaire scales that means: the
items of a scale hang together as they do in people (factor loadings, inter-item
correlations), the scales are about as reliable, and the groups differ as people's
do. :func:`pattern_correspondence` puts all of it in one table, one row per scale:

* ``congruence``: Tucker's congruence coefficient of the scale's one-factor loadings
  in the two samples, ``phi = sum(x y) / sqrt(sum(x^2) sum(y^2))`` (Tucker 1951;
  Lorenzo-Seva & ten Berge 2006, Methodology 2, 57-64: ``phi >= .95`` "equal",
  ``.85-.94`` "fair similarity"); the loadings are
  :func:`vp_stats.stats.factor_engine.one_factor_loadings` (minres, ``psych::fa``'s
  default) of the pairwise-complete correlations of the keyed items (reverse-keyed
  items recoded ``low + high - x`` first, so a faithful sample has positive loadings
  in both);
* ``mean_abs_r_difference``: the mean over the scale's item pairs of
  ``|r_human - r_silicon|`` (Pearson, pairwise complete, after keying), and
  ``mean_r_human``, ``mean_r_silicon`` (the average inter-item correlations);
* ``alpha_*`` (:func:`vp_stats.stats.reliability.cronbach_alpha`, with its Feldt
  interval) and ``omega_*`` (:func:`vp_stats.stats.reliability.omega_total`, the
  one-factor model-implied omega) in both samples;
* with ``group``: the group gap of the scale score (mean of the keyed items) in
  both samples, ``group_a - group_b``, as a mean difference and Cohen's d with
  percentile-bootstrap CIs (:func:`vp_stats.stats.humans.human_group_gaps`,
  resampling within groups).

A row ``dimension = "all items"`` gives the correlation difference over every item
pair of all scales (between-scale pairs included: the whole correlation pattern).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> def sample(n, lam):
...     f = rng.normal(size=(n, 1))
...     x = f * lam + rng.normal(size=(n, 3)) * np.sqrt(1 - lam**2)
...     return pd.DataFrame(np.clip(np.round(3.5 + x), 1, 6), columns=["a", "b", "c"])
>>> h, s = sample(500, np.array([.8, .7, .6])), sample(200, np.array([.8, .7, .6]))
>>> t = pattern_correspondence(h, s, {"S": ["a", "b", "c"]}).table
>>> bool(t.set_index("dimension").loc["S", "congruence"] > 0.99)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vp_stats import tables
from vp_stats.stats.factor_engine import one_factor_loadings
from vp_stats.stats.reliability import cronbach_alpha, omega_total

__all__ = [
    "tucker_congruence",
    "correlation_differences",
    "PatternCorrespondence",
    "pattern_correspondence",
]


def tucker_congruence(x, y) -> float:
    """Tucker's congruence coefficient of two loading vectors.

    ``phi = sum(x y) / sqrt(sum(x^2) sum(y^2))`` (Tucker 1951; ``psych::factor.congruence``):
    the cosine of the two vectors, 1 for proportional loadings, insensitive to a common
    scale factor but not to a shift (unlike a correlation).

    Examples
    --------
    >>> tucker_congruence([0.8, 0.7, 0.6], [0.4, 0.35, 0.3])
    1.0
    >>> round(tucker_congruence([1, 0], [1, 1]), 4)  # 1 / sqrt(2)
    0.7071
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"loading vectors must have the same length, got {x.shape} and {y.shape}")
    den = np.sqrt((x**2).sum() * (y**2).sum())
    return float(np.round((x * y).sum() / den, 15)) if den > 0 else float("nan")


def correlation_differences(human: pd.DataFrame, silicon: pd.DataFrame) -> pd.DataFrame:
    """Per item pair, the two samples' Pearson correlations and their difference.

    ``human`` and ``silicon`` are wide (one column per item, the same columns);
    correlations are pairwise complete (:meth:`pandas.DataFrame.corr`).

    Returns
    -------
    DataFrame
        ``item_a, item_b, r_human, r_silicon, r_difference`` (silicon - human), one row per
        pair of columns (upper triangle, column order).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 2, 3, 5]})
    >>> s = pd.DataFrame({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1]})
    >>> correlation_differences(h, s).round(4).values.tolist()
    [['a', 'b', 0.9827, -1.0, -1.9827]]
    """
    cols = list(human.columns)
    if list(silicon.columns) != cols:
        raise ValueError(
            f"the two samples must have the same item columns, got {cols} and "
            f"{list(silicon.columns)}"
        )
    rh = human.astype(float).corr().to_numpy()
    rs = silicon.astype(float).corr().to_numpy()
    i, j = np.triu_indices(len(cols), k=1)
    return pd.DataFrame(
        {
            "item_a": [cols[a] for a in i],
            "item_b": [cols[b] for b in j],
            "r_human": rh[i, j],
            "r_silicon": rs[i, j],
            "r_difference": rs[i, j] - rh[i, j],
        }
    )


@dataclass(frozen=True)
class PatternCorrespondence(tables.Result):
    """:func:`pattern_correspondence`'s result: ``table`` (one row per scale) and
    ``correlations`` (:func:`correlation_differences` over all items)."""

    correlations: pd.DataFrame | None = None


def _keyed(data: pd.DataFrame, keys, low, high, what) -> tuple[pd.DataFrame, dict]:
    cols, scales = {}, {}
    for name, its in keys.items():
        names = []
        for it in its:
            c = str(it).lstrip("-")
            if c not in data.columns:
                raise ValueError(f"{what}: item column {c!r} of scale {name!r} is missing")
            x = pd.to_numeric(data[c], errors="coerce").astype(float)
            bad = x.notna() & ((x < low) | (x > high))
            if bad.any():
                r = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(f"{what}: row {r}, item {c!r}: {x.iloc[r]:g} outside {low}-{high}")
            cols[c] = (low + high) - x if str(it).startswith("-") else x
            names.append(c)
        scales[name] = names
    return pd.DataFrame(cols, index=data.index), scales


def _reliability(x: pd.DataFrame) -> tuple[float, float, float, float, float]:
    """alpha, its Feldt CI, omega (NaN where a scale cannot be computed)."""
    xc = x.dropna(how="all")
    try:
        a = cronbach_alpha(xc, missing="pairwise").iloc[0]
        alpha = (float(a["alpha"]), float(a["alpha_ci_low"]), float(a["alpha_ci_high"]))
    except ValueError:
        alpha = (np.nan, np.nan, np.nan)
    try:
        om = float(omega_total(xc, missing="pairwise")["omega"].iloc[0])
    except ValueError:
        om = np.nan
    return (*alpha, om, len(xc))


def _loadings(x: pd.DataFrame) -> np.ndarray | None:
    r = x.astype(float).corr().to_numpy()
    if x.shape[1] < 3 or not np.isfinite(r).all():
        return None
    lam, _, _ = one_factor_loadings(r)
    return lam


def pattern_correspondence(
    human: pd.DataFrame,
    silicon: pd.DataFrame,
    keys: Mapping[str, Sequence[str]],
    *,
    scale: tuple[int, int] = (1, 6),
    group: str | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    participant: str = "participant",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> PatternCorrespondence:
    """One table comparing a silicon sample's answer structure with real people's, per scale.

    Parameters
    ----------
    human, silicon : DataFrame
        Wide answers, one row per respondent (a person; a persona run), one column per
        item named as in ``keys``, ratings on ``scale``; with ``group``, that column too,
        and optionally ``participant`` (row ids; default the row index).
    keys : mapping
        Scale -> item columns; ``"-X"`` marks ``X`` reverse keyed (``psych::make.keys``'s
        convention, e.g. :data:`vp_stats.io.psychtools.BFI_KEYS`).
    scale : (low, high)
        The answer range (reverse keying is ``low + high - x``).
    group, group_a, group_b
        The column and pair of levels whose gap (A - B) is compared; neither level given:
        every pair of levels present in both samples.
    n_boot, ci, seed
        Bootstrap of the group gaps (resampling within groups; seeded).

    Returns
    -------
    PatternCorrespondence
        ``table``: ``dimension, n_items, n_human, n_silicon, congruence,
        mean_abs_r_difference, mean_r_human, mean_r_silicon, alpha_human,
        alpha_human_ci_low, alpha_human_ci_high, alpha_silicon, alpha_silicon_ci_low,
        alpha_silicon_ci_high, omega_human, omega_silicon``, and with ``group``: ``group_a,
        group_b, gap_human, gap_human_ci_low, gap_human_ci_high, d_human, d_human_ci_low,
        d_human_ci_high`` and the same for ``silicon`` (one row per scale and pair), then a
        row ``"all items"`` (correlation differences over every pair); ``correlations``:
        :func:`correlation_differences` of all keyed items. ``congruence`` is NaN (with a
        note) where a sample has a constant item or fewer than 3 items.
    """
    from vp_stats.stats.humans import human_group_gaps

    low, high = scale
    kh, scales = _keyed(human, keys, low, high, "human answers")
    ks, _ = _keyed(silicon, keys, low, high, "silicon answers")
    notes: dict[str, str] = {}
    rows = []
    for name, cols in scales.items():
        h, s = kh[cols], ks[cols]
        cd = correlation_differences(h, s)
        lh, ls = _loadings(h), _loadings(s)
        if lh is None or ls is None:
            phi = np.nan
            notes[f"congruence {name}"] = (
                "no one-factor loadings (fewer than 3 items or a constant item in a sample)"
            )
        else:
            phi = tucker_congruence(lh, ls)
        ah = _reliability(h)
        as_ = _reliability(s)
        rows.append(
            {
                "dimension": name,
                "n_items": len(cols),
                "n_human": ah[4],
                "n_silicon": as_[4],
                "congruence": phi,
                "mean_abs_r_difference": float(cd["r_difference"].abs().mean()),
                "mean_r_human": float(cd["r_human"].mean()),
                "mean_r_silicon": float(cd["r_silicon"].mean()),
                "alpha_human": ah[0],
                "alpha_human_ci_low": ah[1],
                "alpha_human_ci_high": ah[2],
                "alpha_silicon": as_[0],
                "alpha_silicon_ci_low": as_[1],
                "alpha_silicon_ci_high": as_[2],
                "omega_human": ah[3],
                "omega_silicon": as_[3],
            }
        )
    table = pd.DataFrame(rows)
    all_items = list(dict.fromkeys(c for cols in scales.values() for c in cols))
    cd_all = correlation_differences(kh[all_items], ks[all_items])
    if group is not None:
        tables.require(human, [group], "human answers")
        tables.require(silicon, [group], "silicon answers")
        gaps = []
        for who, raw, keyed in (("human", human, kh), ("silicon", silicon, ks)):
            ids = raw[participant].to_numpy() if participant in raw.columns else np.arange(len(raw))
            tidy = pd.concat(
                [
                    pd.DataFrame(
                        {
                            "participant": ids,
                            group: raw[group].to_numpy(),
                            "family": "scale",
                            "dimension": name,
                            "score": keyed[cols].mean(axis=1, skipna=True).to_numpy(),
                        }
                    )
                    for name, cols in scales.items()
                ],
                ignore_index=True,
            )
            if group_a is None and group_b is None:
                both = set(human[group].dropna()) & set(silicon[group].dropna())
                tidy = tidy[tidy[group].isin(both)]
            g = human_group_gaps(
                tidy, group, group_a, group_b, family="scale", n_boot=n_boot, ci=ci, seed=seed
            ).table
            gaps.append(
                g[
                    [
                        "dimension",
                        "group_a",
                        "group_b",
                        "mean_diff",
                        "diff_ci_low",
                        "diff_ci_high",
                        "d",
                        "ci_low",
                        "ci_high",
                    ]
                ].rename(
                    columns={
                        "mean_diff": f"gap_{who}",
                        "diff_ci_low": f"gap_{who}_ci_low",
                        "diff_ci_high": f"gap_{who}_ci_high",
                        "d": f"d_{who}",
                        "ci_low": f"d_{who}_ci_low",
                        "ci_high": f"d_{who}_ci_high",
                    }
                )
            )
        gap = gaps[0].merge(gaps[1], on=["dimension", "group_a", "group_b"], how="outer")
        table = table.merge(gap, on="dimension", how="left")
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    {
                        "dimension": "all items",
                        "n_items": len(all_items),
                        "mean_abs_r_difference": float(cd_all["r_difference"].abs().mean()),
                        "mean_r_human": float(cd_all["r_human"].mean()),
                        "mean_r_silicon": float(cd_all["r_silicon"].mean()),
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    notes.update(
        {
            "congruence": "Tucker's phi of one-factor minres loadings of the keyed items",
            "gaps": "mean difference of scale scores (mean of keyed items) and Cohen's d, "
            f"percentile bootstrap within groups ({n_boot} resamples, seed {seed})",
        }
    )
    return PatternCorrespondence(table, notes, correlations=cd_all)
