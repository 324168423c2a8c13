"""Survey microdata statistics: weighted group means of participants' dimension scores.

Design-weighted summaries of a tidy score table with one row per participant, family and
dimension (e.g. :func:`vp_stats.io.ess.load_ess`, whose ``weight`` column holds the ESS
analysis weight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables

__all__ = ["weighted_group_means"]


@schema.orders_dimensions
def weighted_group_means(
    data: pd.DataFrame,
    by: str | Sequence[str] = (),
    *,
    weight: str | None = "weight",
    score: str = "score",
    families: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Weighted mean value score per group and dimension.

    ``mean = sum_i w_i x_i / sum_i w_i`` over respondents of the group with a
    non-missing score; respondents with a missing group are left out.
    ``n_eff`` is Kish's effective sample size ``(sum w)^2 / sum w^2``; ``sd``
    is the weighted population SD ``sqrt(sum w (x - mean)^2 / sum w)``.

    Parameters
    ----------
    data : DataFrame
        Tidy scores (e.g. :func:`vp_stats.io.ess.load_ess`): ``family``, ``dimension``,
        the ``score`` column, the ``by`` columns and the ``weight`` column.
    by : str or sequence of str
        Grouping columns, e.g. ``"gender"`` or ``["cntry", "gender"]``; empty for
        the overall mean.
    weight : str or None
        Column of the survey weights (``None``: unweighted).
    score : str
        Column of the scores.
    families : sequence of str, optional
        Keep only these families.

    Returns
    -------
    DataFrame
        ``by..., family, dimension, mean, sd, n, weight_sum, n_eff``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"gender": ["male", "male", "female"], "family": "pvq",
    ...                   "dimension": "Power", "score": [1.0, 0.0, 2.0],
    ...                   "weight": [3.0, 1.0, 1.0]})
    >>> weighted_group_means(s, "gender", weight="weight")[["gender", "mean", "n"]].values.tolist()
    [['female', 2.0, 1], ['male', 0.75, 2]]
    """
    by = [by] if isinstance(by, str) else list(by)
    weights = [weight] if weight else []
    tables.require(data, ["family", "dimension", *by], "scores", numeric=[score, *weights])
    df = data
    if families is not None:
        df = df[df["family"].isin(list(families))]
    x = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    w = np.ones(len(df)) if weight is None else df[weight].to_numpy(dtype=float)
    if np.any(~np.isfinite(w) | (w < 0)):
        r = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise ValueError(f"weight {w[r]!r} in row {df.index[r]!r} is missing or negative")
    keep = ~np.isnan(x)
    for b in by:
        keep &= df[b].notna().to_numpy()
    d = pd.DataFrame({c: df[c].to_numpy()[keep] for c in [*by, "family", "dimension"]})
    d["w"], d["wx"], d["ww"], d["x"] = w[keep], (w * x)[keep], (w * w)[keep], x[keep]
    g = d.groupby([*by, "family", "dimension"], sort=False)
    agg = g.agg(weight_sum=("w", "sum"), wx=("wx", "sum"), ww=("ww", "sum"), n=("x", "size"))
    agg["mean"] = agg["wx"] / agg["weight_sum"]
    d = d.join(agg["mean"], on=[*by, "family", "dimension"])
    d["wdev"] = d["w"] * (d["x"] - d["mean"]) ** 2
    agg["sd"] = np.sqrt(
        d.groupby([*by, "family", "dimension"], sort=False)["wdev"].sum() / agg["weight_sum"]
    )
    agg["n_eff"] = agg["weight_sum"] ** 2 / agg["ww"]
    out = agg.reset_index()[[*by, "family", "dimension", "mean", "sd", "n", "weight_sum", "n_eff"]]
    order = {d: i for i, d in enumerate(d for f in schema.FAMILY_NAMES for d in schema.FAMILIES[f])}
    out = out.assign(_o=out["dimension"].map(order)).sort_values([*by, "_o"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)
