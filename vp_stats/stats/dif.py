"""Differential item functioning (DIF) of ordinal items by ordinal logistic regression.

An item functions differently across groups when respondents of equal standing on the
measured trait answer it differently by group. Zumbo's (1999) ordinal logistic regression
test compares, for each item, three nested proportional-odds (cumulative logit) models of the
item's answer on a matching score ``s`` (the scale's total or rest score) and the group ``g``:

* M1 ``item ~ s``;
* M2 ``item ~ s + g`` (uniform DIF: a constant shift between groups);
* M3 ``item ~ s + g + s:g`` (non-uniform DIF: the groups' slopes differ).

Likelihood-ratio statistics (:math:`\\ell_m` the log-likelihood of model M\\ :sub:`m`, :math:`G`
groups): uniform :math:`2(\\ell_2 - \\ell_1)` on :math:`G - 1` df, non-uniform
:math:`2(\\ell_3 - \\ell_2)` on :math:`G - 1` df, total :math:`2(\\ell_3 - \\ell_1)` on
:math:`2(G - 1)` df. Effect sizes: the change in McFadden's pseudo-:math:`R^2 = 1 - \\ell/\\ell_0`
and in Nagelkerke's :math:`R^2 = (1 - e^{2(\\ell_0 - \\ell)/n}) / (1 - e^{2\\ell_0/n})` between
the models (:math:`\\ell_0`: the thresholds-only model, whose fit is the observed category
proportions), and the relative change of the score coefficient from M1 to M2,
:math:`|\\beta_1^{(M1)} - \\beta_1^{(M2)}| / |\\beta_1^{(M1)}|`
(Crane et al. 2004), as R's lordif reports them (Choi, Gibbons & Crane 2011).

The models are fitted with statsmodels' :class:`~statsmodels.miscmodels.ordinal_model.OrderedModel`
(``distr="logit"``); the likelihood-ratio statistics equal R's ``MASS::polr`` on psych's bfi
to 1e-6 (``tests/stats/test_dif.py``).

**Flagging rule** (:data:`DEFAULT_RULE`). With thousands of respondents every small
difference is significant, so an item is flagged when the total (2-df) test is significant
*and* the effect is not negligible: ``p_total < 0.01`` and ``delta R^2 (McFadden, M3 vs M1)
>= 0.02``. This is lordif's R^2 criterion with its default threshold (Choi et al. 2011,
``criterion = "R2", R2.change = 0.02``, McFadden's R^2) joined to its default 0.01 level.
Zumbo's (1999) own threshold (Nagelkerke delta R^2 >= 0.13) flags almost nothing: Jodoin &
Gierl (2001) showed it far too lax and proposed 0.035 (moderate) and 0.07 (large) on the
Nagelkerke scale, reported in the column ``jodoin_gierl`` (A negligible, B moderate,
C large) for readers who use that convention. A flagged item's ``dif_type`` is
``"uniform"`` when the uniform change in McFadden's R^2 is the larger part of the total,
else ``"non-uniform"``. The beta change is reported (Crane et al. 2004 use 10%), not used to
flag.

References
----------
Zumbo, B. D. (1999). A Handbook on the Theory and Methods of Differential Item Functioning
(DIF): Logistic Regression Modeling as a Unitary Framework for Binary and Likert-type
(Ordinal) Item Scores. Ottawa: Directorate of Human Resources Research and Evaluation.
Jodoin, M. G., & Gierl, M. J. (2001). Evaluating type I error and power rates using an
effect size measure with the logistic regression procedure for DIF detection. Applied
Measurement in Education, 14, 329-349.
Crane, P. K., van Belle, G., & Larson, E. B. (2004). Test bias in a cognitive test:
differential item functioning in the CASI. Statistics in Medicine, 23, 241-256.
Choi, S. W., Gibbons, L. E., & Crane, P. K. (2011). lordif: an R package for detecting
differential item functioning using iterative hybrid ordinal logistic regression/item
response theory and Monte Carlo simulations. Journal of Statistical Software, 39(8).

Examples
--------
>>> from vp_stats.stats import dif, irt
>>> sim = irt.simulate_grm(600, 4, 4, seed=3)
>>> x = sim.responses.assign(group=["a", "b"] * 300)
>>> res = dif.ordinal_dif(x, "group")
>>> res.table.columns[:4].tolist()
['item', 'n', 'n_groups', 'loglik_0']
>>> int(res.table.flag.sum())  # no DIF was simulated
0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import tables
from vp_stats.errors import DataFormatError

__all__ = ["ordinal_dif", "DIFResult", "dif_curves", "DEFAULT_RULE", "prepare_dif_data"]

#: The default flagging rule (module notes): LR level of the total test and McFadden delta R^2.
DEFAULT_RULE = {"alpha": 0.01, "r2_threshold": 0.02, "r2": "mcfadden", "test": "total"}

#: Jodoin & Gierl (2001) bounds on the Nagelkerke delta R^2 of the 2-df test.
JODOIN_GIERL = (0.035, 0.07)


@dataclass(frozen=True)
class DIFResult(tables.Result):
    """Ordinal logistic regression DIF, one row per item (:func:`ordinal_dif`).

    ``notes``: ``matching`` ("total" or "rest"), ``groups`` (the levels, reference first),
    ``alpha``, ``r2_threshold``, ``rule`` (the flagging rule in words), ``n_participants``.
    """

    @property
    def flagged(self) -> list[str]:
        """The flagged items."""
        return self.table.loc[self.table["flag"], "item"].tolist()


def _py(x):
    return x.item() if isinstance(x, np.generic) else x


def prepare_dif_data(
    data: pd.DataFrame,
    group: str,
    *,
    items: list[str] | None = None,
    participant: str = "participant",
    max_categories: int = 20,
    source: str = "data",
) -> tuple[pd.DataFrame, list[str]]:
    """Checked complete cases for DIF: the item columns as integers and the group as text.

    Raises
    ------
    vp_stats.errors.DataFormatError
        Naming ``source``, row and column: an absent column, a non-integer answer, an item
        with one category or more than ``max_categories``, fewer than two groups, a group
        with fewer than two members.
    """
    if group not in data.columns:
        raise DataFormatError(source, None, group, "no such column (the group column)")
    frame = data.set_index(participant) if participant in data.columns else data
    if items is None:
        items = [c for c in frame.columns if c != group]
    absent = [c for c in items if c not in frame.columns]
    if absent:
        raise DataFormatError(source, None, str(absent[0]), "no such item column")
    if len(items) < 2:
        raise DataFormatError(
            source, None, None, f"DIF needs at least 2 items for a matching score, got {items}"
        )
    from vp_stats.stats.irt import ordinal_codes

    sub = frame[[*items, group]]
    ok = sub.notna().all(axis=1)
    sub = sub.loc[ok]
    if sub.empty:
        raise DataFormatError(source, None, None, "no respondent answered every item")
    ordinal_codes(sub[items], max_categories=max_categories, source=source)  # checks only
    out = sub[items].apply(pd.to_numeric).astype(int)
    out[group] = sub[group].astype(str)
    counts = out[group].value_counts()
    if len(counts) < 2:
        raise DataFormatError(
            source,
            None,
            group,
            f"one group only ({counts.index[0]!r}) among the complete cases; DIF compares "
            "two or more",
        )
    small = counts[counts < 2]
    if len(small):
        g = small.index[0]
        r = out.index[out[group] == g][0]
        raise DataFormatError(
            source,
            f"row {_py(r)!r}",
            group,
            f"group {g!r} has {int(small.iloc[0])} member among the complete cases; each group "
            "needs at least 2",
        )
    return out, list(items)


def _fit_polr(y: np.ndarray, X: np.ndarray, start=None):
    """Proportional-odds logit fit (statsmodels OrderedModel): (loglik, params)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from vp_stats.stats.resampling import single_threaded_blas

    mod = OrderedModel(pd.Categorical(y, ordered=True), X, distr="logit")
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        # BFGS to a gradient of 1e-10 (statsmodels' numerical score) reaches the optimum to
        # the precision the 1e-6 comparison with MASS::polr needs (tests/stats/test_dif.py)
        res = mod.fit(method="bfgs", start_params=start, disp=False, maxiter=5000, gtol=1e-10)
    return float(res.llf), np.asarray(res.params)


def _r2(ll, ll0, n):
    mcf = 1 - ll / ll0
    nag = (1 - np.exp(2 * (ll0 - ll) / n)) / (1 - np.exp(2 * ll0 / n))
    return mcf, nag


def ordinal_dif(
    data: pd.DataFrame,
    group: str,
    *,
    items: list[str] | None = None,
    matching: str = "total",
    participant: str = "participant",
    alpha: float = DEFAULT_RULE["alpha"],
    r2_threshold: float = DEFAULT_RULE["r2_threshold"],
    source: str = "data",
) -> DIFResult:
    """Uniform and non-uniform DIF of each item by ordinal logistic regression (Zumbo 1999).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent: the item columns (whole-number answers, keyed in one
        direction so that their sum is a score: reverse-keyed items recoded first), the
        ``group`` column, optionally ``participant``. Respondents with a missing answer or
        group are left out (complete cases).
    group : str
        The group column (two or more levels; the first in sorted order is the reference).
    items : list of str, optional
        The items (default: every column but ``group`` and ``participant``).
    matching : {"total", "rest"}
        Matching score: the sum of all items (Zumbo 1999) or of all but the studied item.
    alpha, r2_threshold : float
        The flagging rule (module notes, :data:`DEFAULT_RULE`).
    source : str
        Name of the data in error messages.

    Returns
    -------
    DIFResult
        ``table``: ``item, n, n_groups, loglik_0 .. loglik_3`` (M0 thresholds only),
        ``chi2_uniform, df_uniform, p_uniform, chi2_nonuniform, df_nonuniform,
        p_nonuniform, chi2_total, df_total, p_total``, ``r2_mcfadden_1 .. _3``,
        ``delta_r2_mcfadden_uniform`` (M2 - M1), ``_nonuniform`` (M3 - M2), ``_total``
        (M3 - M1), the same for Nagelkerke (``delta_r2_nagelkerke_*``), ``beta_1``
        (score coefficient of M1), ``beta_change``, ``jodoin_gierl``, ``flag``,
        ``dif_type``.
    """
    if matching not in ("total", "rest"):
        raise ValueError(f"matching must be 'total' or 'rest', got {matching!r}")
    x, items = prepare_dif_data(data, group, items=items, participant=participant, source=source)
    levels = sorted(x[group].unique())
    G = np.column_stack([(x[group] == g).to_numpy(float) for g in levels[1:]])
    total = x[items].sum(axis=1).to_numpy(float)
    rows = []
    for it in items:
        y = x[it].to_numpy()
        s = total - y if matching == "rest" else total
        n = y.size
        _, counts = np.unique(y, return_counts=True)
        ll0 = float(np.sum(counts * np.log(counts / n)))
        k = G.shape[1]
        ll1, p1 = _fit_polr(y, s[:, None])
        # warm starts: the nested model's estimates with the added coefficients at 0
        ll2, p2 = _fit_polr(y, np.column_stack([s, G]), np.r_[p1[:1], np.zeros(k), p1[1:]])
        ll3, _ = _fit_polr(
            y, np.column_stack([s, G, s[:, None] * G]), np.r_[p2[: 1 + k], np.zeros(k), p2[1 + k :]]
        )
        row = {"item": str(it), "n": n, "n_groups": len(levels)}
        row.update(loglik_0=ll0, loglik_1=ll1, loglik_2=ll2, loglik_3=ll3)
        for name, c2, df in (
            ("uniform", 2 * (ll2 - ll1), k),
            ("nonuniform", 2 * (ll3 - ll2), k),
            ("total", 2 * (ll3 - ll1), 2 * k),
        ):
            row[f"chi2_{name}"] = c2
            row[f"df_{name}"] = df
            row[f"p_{name}"] = float(stats.chi2.sf(max(c2, 0.0), df))
        mcf = [_r2(ll, ll0, n)[0] for ll in (ll1, ll2, ll3)]
        nag = [_r2(ll, ll0, n)[1] for ll in (ll1, ll2, ll3)]
        for j in range(3):
            row[f"r2_mcfadden_{j + 1}"] = mcf[j]
        for lab, R in (("mcfadden", mcf), ("nagelkerke", nag)):
            row[f"delta_r2_{lab}_uniform"] = R[1] - R[0]
            row[f"delta_r2_{lab}_nonuniform"] = R[2] - R[1]
            row[f"delta_r2_{lab}_total"] = R[2] - R[0]
        row["beta_1"] = p1[0]
        row["beta_change"] = abs(p1[0] - p2[0]) / abs(p1[0])
        nt = row["delta_r2_nagelkerke_total"]
        row["jodoin_gierl"] = "A" if nt < JODOIN_GIERL[0] else "B" if nt < JODOIN_GIERL[1] else "C"
        flag = row["p_total"] < alpha and row["delta_r2_mcfadden_total"] >= r2_threshold
        row["flag"] = bool(flag)
        uni = row["delta_r2_mcfadden_uniform"] >= row["delta_r2_mcfadden_nonuniform"]
        row["dif_type"] = ("uniform" if uni else "non-uniform") if flag else "none"
        rows.append(row)
    rule = (
        f"flag: p (total, M3 vs M1) < {alpha} and McFadden delta R^2 (M3 vs M1) >= "
        f"{r2_threshold} (Choi et al. 2011)"
    )
    return DIFResult(
        table=pd.DataFrame(rows),
        notes={
            "matching": matching,
            "groups": levels,
            "alpha": alpha,
            "r2_threshold": r2_threshold,
            "rule": rule,
            "n_participants": int(len(x)),
        },
    )


def dif_curves(
    data: pd.DataFrame,
    group: str,
    item: str,
    *,
    items: list[str] | None = None,
    matching: str = "total",
    participant: str = "participant",
) -> pd.DataFrame:
    """Expected answer to ``item`` by matching score and group under M3, and observed means.

    Returns
    -------
    pandas.DataFrame
        ``score, group, expected`` (model M3's expected answer ``sum_k k P(X = k | score,
        group)``), ``observed`` (mean answer of the group's respondents with that score,
        NaN where none), ``n`` (how many).
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    x, items = prepare_dif_data(data, group, items=items, participant=participant)
    if item not in items:
        raise ValueError(f"item {item!r} is not among the items")
    levels = sorted(x[group].unique())
    G = np.column_stack([(x[group] == g).to_numpy(float) for g in levels[1:]])
    total = x[items].sum(axis=1).to_numpy(float)
    y = x[item].to_numpy()
    s = total - y if matching == "rest" else total
    X = np.column_stack([s, G, s[:, None] * G])
    _, params = _fit_polr(y, X)
    mod = OrderedModel(pd.Categorical(y, ordered=True), X, distr="logit")
    cats = np.sort(np.unique(y)).astype(float)
    grid = np.arange(s.min(), s.max() + 1)
    out = []
    for j, g in enumerate(levels):
        Gg = np.zeros((grid.size, len(levels) - 1))
        if j > 0:
            Gg[:, j - 1] = 1
        P = mod.predict(params, exog=np.column_stack([grid, Gg, grid[:, None] * Gg]))
        obs = pd.Series(y[x[group].to_numpy() == g]).groupby(s[x[group].to_numpy() == g])
        mean, cnt = obs.mean(), obs.size()
        out.append(
            pd.DataFrame(
                {
                    "score": grid,
                    "group": g,
                    "expected": P @ cats,
                    "observed": mean.reindex(grid).to_numpy(),
                    "n": cnt.reindex(grid).fillna(0).astype(int).to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)
