"""Scale reliability: Cronbach's alpha, omega (total, hierarchical), item statistics, split-half.

Every function takes a participants x items matrix, either wide (a
:class:`pandas.DataFrame` with one row per respondent and one column per item,
or a 2-D array) or tidy (one row per rating with a respondent column, one or
more item key columns and a value column, as :func:`vp_stats.io.datasets.load_ratings`),
and returns a tidy :class:`pandas.DataFrame`.

Missing ratings
---------------
``missing="listwise"`` (the default) leaves out every respondent with a
missing item; the count is reported in ``n_incomplete``. ``missing="pairwise"``
keeps them and computes every covariance (correlation) from the respondents
who answered both items, as ``psych::alpha`` (``use = "pairwise"``, its
default) and ``psych::omega`` / ``psych::fa`` (``cor(x, use = "pairwise")``)
do; ``n_incomplete`` then counts the kept incomplete respondents (respondents
who answered nothing are left out). ``missing="raise"`` raises a
:class:`ValueError` naming the respondent and item. Listwise is the default
because it gives every statistic one sample, a positive semi-definite
covariance matrix and a Feldt interval whose ``n`` is the number of respondents
actually used; pairwise matrices mix samples, can be indefinite, and psych's
Feldt interval then counts every respondent. With complete data the two are
identical. :func:`split_half` needs complete rows (listwise only).

:func:`value_reliability` applies the statistics to the Value Portrait's
validated item sets: items of one value are spread over participant groups
with different raters, so reliability is computed within each group that rated
some of the value's selected items. :func:`scale_reliability` is the one-scale
report of ``vp-stats reliability --data ITEMS.csv``.

Formulas
--------
- Cronbach's alpha (Cronbach, 1951): ``k / (k - 1) * (1 - sum(var_i) / var(total))``;
  standardised alpha ``k rbar / (1 + (k - 1) rbar)`` with ``rbar`` the mean
  inter-item correlation. Confidence interval of Feldt (1965); Feldt, Woodruff
  & Salih (1987): ``1 - (1 - alpha) F_q(n - 1, (n - 1)(k - 1))``, as
  ``psych::alpha.ci``.
- Item-total (``raw.r``) and item-rest (corrected item-total, ``r.drop``)
  correlations and alpha if the item is dropped, as ``psych::alpha``
  (Revelle, psych R package).
- Omegas. Which psych quantity each column equals (``psych::omega(x, nf)`` with
  ``nf = n_factors``, items positively keyed):

  ======================  ============================================  ==========================
  column                  formula                                       psych
  ======================  ============================================  ==========================
  ``omega_hierarchical``  ``(sum g)^2 / 1'R1``, g = Schmid-Leiman       ``omega(x, nf)$omega_h``
                          general loadings of an ``n_factors``-factor
                          minres EFA
  ``omega_total``         ``(1'R1 - sum u2) / 1'R1``, ``u2 = 1 - h2``   ``omega(x, nf)$omega.tot``
                          of the ``n_factors``-factor solution
  ``omega_limit``         ``(sum g)^2 / (1'R1 - sum u2)``               ``omega(x, nf)$omega.lim``
  ``ecv``                 ``sum g^2 / sum(g^2 + group^2)``              ``omega(x, nf)$ECV``
  ``std_alpha``           ``k / (k - 1) (1'R1 - tr R) / 1'R1``          ``omega(x, nf)$alpha``
                          (of :func:`omega_hierarchical`)
  ``omega_h_one_factor``  ``(sum l)^2 / 1'R1``, l = one-factor          ``omega(x, 1)$omega_h``
                          loadings
  ``omega``               ``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))``    none: the model-implied
                          (McDonald, 1999, eq. 6.20b)                   omega of one factor
  ======================  ============================================  ==========================

  ``R`` is the observed item correlation matrix (pairwise or listwise, see
  above), Pearson or, with ``polychoric=True``, polychoric (``psych::omega(x, nf,
  poly = TRUE)``, which calls ``psych::polychoric(x)``). The option applies to the
  Schmid-Leiman rows (``omega_hierarchical``, ``omega_total``, ``omega_limit``, ``ecv``
  and the ``std_alpha`` of :func:`omega_hierarchical`, then the "ordinal alpha" of
  Zumbo, Gadermann & Zeisser 2007) in :func:`omega_hierarchical`,
  :func:`schmid_leiman`, :func:`scale_reliability` and :func:`value_reliability`;
  alpha and the one-factor omegas stay Pearson. As ``psych::omega`` (``flip = TRUE``), items
  whose general loading is negative are reversed in ``R`` before ``1'R1`` is
  formed (``n_flipped``).
  ``omega`` and ``omega_h_one_factor`` use the one-factor fit of
  :func:`~vp_stats.stats.factor_engine.one_factor_loadings`; ``omega_total``
  (psych's omega.tot) is not the one-factor ``omega``: it divides the common variance of the
  ``n_factors``-factor model by the observed total variance.
- Schmid-Leiman (Schmid & Leiman, 1957) as ``psych::schmid`` /
  ``psych::omega`` (fm = "minres", rotate = "oblimin"): ``n_factors`` minres
  factors of R, varimax (``stats::varimax``), oblimin (``GPArotation::oblimin``,
  quartimin, gamma 0) of the varimax loadings, then general loadings of the
  oblique factors from a one-factor minres fit of their correlation matrix Phi
  (three or more factors). With two factors Phi has one correlation and the
  second-order factor is not identified: psych (``option = "equal"``) sets both
  general loadings to ``sqrt(|phi12|)`` (the second with the sign of
  ``phi12``); with one factor ``g`` is the factor. ``g = F gload`` (F the
  oblique pattern), group loadings ``sign(F) sqrt(F^2 (1 - gload^2))``,
  ``h2`` the communalities of the orthogonal solution.
- Minimum residual (minres, Harman & Jones, 1966; the default of ``psych::fa``):
  least squares on the off-diagonal correlations over uniquenesses in
  [0.005, 1]. The one-factor fit of
  :func:`~vp_stats.stats.factor_engine.one_factor_loadings` is solved to
  convergence (agreement with psych to about 1e-5; in a Heywood case a fit at
  least as good as psych's). The multi-factor fit of the Schmid-Leiman
  solution replicates psych's optimiser
  (:func:`~vp_stats.stats.factor_engine.psych_minres`) because the solution of
  a Heywood case, and of an under-identified model (more parameters than
  correlations), depends on the optimiser's path.
- ``ml`` (Joreskog 1967, as ``factanal`` and ``psych::fa(fm="ml")``,
  uniquenesses bounded to [0.005, 1]) for the one-factor omega.
- Split-half: the odd-even split (items in column positions 1, 3, 5 ... vs
  2, 4, 6 ...) with the Spearman-Brown step-up ``2 r / (1 + r)`` of the
  correlation of the two half sums, and Guttman's (1945) lambda 4 for that
  split, ``2 (1 - (var A + var B) / var(A + B))`` (Flanagan-Rulon); and
  lambda 4 over all splits into halves of ``floor(k / 2)`` and ``ceil(k / 2)``
  items (maximum, minimum, mean), as ``psych::splitHalf``, exhaustive when
  there are at most ``max_splits`` splits and seeded random splits otherwise.

References: McDonald (1999), *Test Theory: A Unified Treatment*, ch. 6;
Zinbarg, Revelle, Yovel & Li (2005), Psychometrika 70, 123-133 (omega_h);
Revelle & Zinbarg (2009), Psychometrika 74, 145-154.

Examples
--------
>>> import numpy as np
>>> from vp_stats.stats import reliability
>>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
>>> round(reliability.cronbach_alpha(x).alpha.item(), 6)
0.933333
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import schema, tables
from vp_stats.stats.factor_engine import one_factor_loadings, schmid_leiman_fit

__all__ = [
    "ITEM_KEYS",
    "MISSING_RULES",
    "item_matrix",
    "feldt_ci",
    "cronbach_alpha",
    "item_statistics",
    "omega_total",
    "omega_hierarchical",
    "schmid_leiman",
    "factor_loadings",
    "split_half",
    "reverse_key",
    "VALUE_RELIABILITY_COLUMNS",
    "value_reliability",
    "SCALE_RELIABILITY_COLUMNS",
    "scale_reliability",
]

ITEM_KEYS = ("portrait_id", "option_id")
MISSING_RULES = ("listwise", "pairwise", "raise")


# --------------------------------------------------------------------------- input


def item_matrix(
    data,
    *,
    participant: str = "participant",
    item: str | tuple[str, ...] | list[str] = ITEM_KEYS,
    rating: str = "rating",
    missing: str = "listwise",
) -> tuple[np.ndarray, pd.Index, pd.DataFrame, int]:
    """Turn wide or tidy ratings into a participants x items array (NaN cells for pairwise).

    Parameters
    ----------
    data : DataFrame or array-like
        Wide (rows participants, columns items; a 2-D array gets items
        ``item_1 ... item_k``) or tidy (has a ``rating`` column; pivoted on
        ``participant`` x ``item``).
    participant, item, rating : str
        Column names of tidy input (``item`` may be several key columns).
    missing : {"listwise", "pairwise", "raise"}
        Drop respondents with any missing item; keep them with NaN cells
        (pairwise statistics; respondents without any rating are dropped); or raise.

    Returns
    -------
    x : ndarray (n, k)
        Ratings: complete (listwise) or with NaN cells (pairwise).
    respondents : Index
        Labels of the kept rows.
    items : DataFrame
        One row per column of ``x``: the item key column(s) (``item`` for wide input).
    n_incomplete : int
        Respondents with a missing rating: dropped (listwise) or kept (pairwise).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant": ["a", "a", "b", "b", "c"],
    ...                   "portrait_id": 1001, "option_id": [1, 2, 1, 2, 1],
    ...                   "rating": [3, 4, 5, 6, 2]})
    >>> x, who, items, dropped = item_matrix(t)
    >>> x.tolist(), list(who), items.option_id.tolist(), dropped
    ([[3.0, 4.0], [5.0, 6.0]], ['a', 'b'], [1, 2], 1)
    >>> x, who, _, incomplete = item_matrix(t, missing="pairwise")
    >>> x.tolist(), list(who), incomplete
    ([[3.0, 4.0], [5.0, 6.0], [2.0, nan]], ['a', 'b', 'c'], 1)
    """
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {list(MISSING_RULES)}, got {missing!r}")
    if isinstance(data, pd.DataFrame) and rating in data.columns:
        keys = [item] if isinstance(item, str) else list(item)
        tables.require(data, [participant, *keys, rating], "ratings")
        dup = data.duplicated([participant, *keys])
        if dup.any():
            row = data[dup].iloc[0]
            raise ValueError(
                f"respondent {row[participant]!r} rated item "
                f"{tuple(row[k] for k in keys)} more than once"
            )
        vals = pd.to_numeric(data[rating], errors="coerce")
        bad = vals.isna() & data[rating].notna()
        if bad.any():
            row = data[bad].iloc[0]
            raise ValueError(
                f"respondent {row[participant]!r}, item {tuple(row[k] for k in keys)}: "
                f"non-numeric rating {row[rating]!r}"
            )
        wide = tables.to_wide(
            data.assign(**{rating: vals}),
            participant,
            keys,
            rating,
            source="ratings",
            name_columns=True,
        )
        items = wide.columns.to_frame(index=False)
    elif isinstance(data, pd.DataFrame):
        wide = data
        items = pd.DataFrame({"item": list(data.columns)})
        for c in data.columns:
            col = data[c]
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna() & col.notna()
            if bad.any():
                r = col.index[np.flatnonzero(bad.to_numpy())[0]]
                raise ValueError(f"respondent {r!r}, item {c!r}: non-numeric rating {col[r]!r}")
        wide = data.apply(pd.to_numeric, errors="coerce")
    else:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D respondents x items matrix, got shape {arr.shape}")
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"ratings must be numeric: {exc}") from exc
        cols = [f"item_{j + 1}" for j in range(arr.shape[1])]
        wide = pd.DataFrame(arr, columns=cols)
        items = pd.DataFrame({"item": cols})
    x = wide.to_numpy(dtype=float)
    inf = np.isinf(x)
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise ValueError(
            f"respondent {wide.index[i]!r}, item {wide.columns[j]!r}: infinite rating {x[i, j]}"
        )
    nan = np.isnan(x)
    if nan.any() and missing == "raise":
        i, j = np.argwhere(nan)[0]
        raise ValueError(f"respondent {wide.index[i]!r}, item {wide.columns[j]!r}: missing rating")
    incomplete = nan.any(axis=1)
    keep = ~nan.all(axis=1) if missing == "pairwise" else ~incomplete
    if missing == "pairwise" and incomplete.any() and x.shape[1]:
        _check_pairs(x[keep], list(wide.columns))
    return (
        x[keep],
        wide.index[keep],
        items.reset_index(drop=True),
        int((incomplete & keep).sum() if missing == "pairwise" else incomplete.sum()),
    )


def _check_shape(x: np.ndarray, min_items: int = 2, min_n: int = 2) -> None:
    n, k = x.shape
    if k < min_items:
        raise ValueError(f"need at least {min_items} items, got {k}")
    if n < min_n:
        raise ValueError(f"need at least {min_n} complete respondents, got {n}")


def _cov(x: np.ndarray) -> np.ndarray:
    """Item covariances (ddof 1); pairwise-complete where ``x`` has NaN cells.

    Pairwise: each covariance from the respondents who rated both items,
    centred on their means, as R's ``cov(x, use = "pairwise")``
    (:meth:`pandas.DataFrame.cov`).
    """
    if np.isnan(x).any():
        return pd.DataFrame(x).cov().to_numpy()
    return np.atleast_2d(np.cov(x, rowvar=False, ddof=1))


def _cor(x: np.ndarray) -> np.ndarray:
    """Item correlations; pairwise-complete (R's ``cor(x, use = "pairwise")``) where x has NaN."""
    if np.isnan(x).any():
        r = pd.DataFrame(x).corr().to_numpy(copy=True)
        np.fill_diagonal(r, np.where(np.isnan(np.diag(r)), np.nan, 1.0))
        return r
    return _cov2cor(_cov(x))


def _check_pairs(x: np.ndarray, names) -> None:
    """Pairwise statistics need every pair of items rated together by at least 2 respondents."""
    both = (~np.isnan(x)).astype(float)
    n_pair = both.T @ both
    bad = np.argwhere(n_pair < 2)
    if len(bad):
        i, j = bad[0]
        what = f"item {names[i]!r}" if i == j else f"items {names[i]!r} and {names[j]!r}"
        raise ValueError(
            f"missing='pairwise': {what} rated by {int(n_pair[i, j])} respondent(s) together; "
            "a covariance needs at least 2"
        )


def _cov2cor(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        return c / np.outer(d, d)


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[-1]
    total = c.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return k / (k - 1) * (1 - np.trace(c, axis1=-2, axis2=-1) / total)


def _std_alpha(r: np.ndarray) -> tuple[float, float]:
    k = r.shape[0]
    rbar = r[np.triu_indices(k, 1)].mean()
    return k * rbar / (1 + (k - 1) * rbar), rbar


# --------------------------------------------------------------------------- alpha


def feldt_ci(alpha: float, n: int, k: int, ci: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval of Cronbach's alpha.

    ``1 - (1 - alpha) F_q(n - 1, (n - 1)(k - 1))`` at ``q = (1 + ci) / 2``
    (lower bound) and ``q = (1 - ci) / 2`` (upper bound); the same as
    ``psych::alpha.ci`` and ``pingouin.cronbach_alpha``.

    Examples
    --------
    >>> lo, hi = feldt_ci(0.8, n=100, k=10)
    >>> round(lo, 4), round(hi, 4)
    (0.736, 0.8537)
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - alpha) * stats.f.ppf((1 + ci) / 2, df1, df2)
    hi = 1 - (1 - alpha) * stats.f.ppf((1 - ci) / 2, df1, df2)
    return float(lo), float(hi)


def cronbach_alpha(data, ci: float = 0.95, **keys) -> pd.DataFrame:
    """Cronbach's alpha with its Feldt confidence interval.

    Parameters
    ----------
    data : DataFrame or array-like
        Wide or tidy ratings (see :func:`item_matrix`).
    ci : float
        Coverage of the Feldt interval.
    **keys
        ``participant``, ``item``, ``rating``, ``missing`` for :func:`item_matrix`
        (``missing="pairwise"``: psych's default, see the module notes).

    Returns
    -------
    DataFrame
        One row: ``n_participants, n_incomplete, n_items, alpha, alpha_ci_low,
        alpha_ci_high, std_alpha, average_r`` (``std_alpha`` from the mean
        inter-item correlation ``average_r``, as ``psych::alpha``). Pairwise:
        alpha from the pairwise covariance matrix C, ``std_alpha`` and
        ``average_r`` from ``cov2cor(C)`` and the Feldt interval with ``n`` =
        every kept respondent, all as ``psych::alpha`` (``$total``, ``$feldt``).

    Notes
    -----
    Cronbach (1951), Psychometrika 16, 297-334; Feldt (1965), Psychometrika
    30, 357-370.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
    >>> cronbach_alpha(x)[["n_participants", "n_items", "alpha"]].round(4).values.tolist()
    [[4.0, 3.0, 0.9333]]
    >>> holed = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5], [5, np.nan, 5]])
    >>> a = cronbach_alpha(holed, missing="pairwise")
    >>> a[["n_participants", "n_incomplete"]].values.tolist()
    [[5, 1]]
    """
    x, _, items, n_incomplete = item_matrix(data, **keys)
    _check_shape(x)
    n, k = x.shape
    c = _cov(x)
    alpha = float(_alpha_from_cov(c))
    lo, hi = feldt_ci(alpha, n, k, ci) if np.isfinite(alpha) else (np.nan, np.nan)
    std_alpha, rbar = _std_alpha(_cov2cor(c))
    return pd.DataFrame(
        {
            "n_participants": [n],
            "n_incomplete": [n_incomplete],
            "n_items": [k],
            "alpha": [alpha],
            "alpha_ci_low": [lo],
            "alpha_ci_high": [hi],
            "std_alpha": [float(std_alpha)],
            "average_r": [float(rbar)],
        }
    )


def item_statistics(data, **keys) -> pd.DataFrame:
    """Item-total statistics: item-total and item-rest correlations, alpha if dropped.

    Returns
    -------
    DataFrame
        One row per item: the item key column(s), ``n, mean, sd,
        r_item_total`` (correlation with the total score, psych's ``raw.r``),
        ``r_item_rest`` (with the total of the other items, psych's ``r.drop``),
        ``alpha_if_dropped`` (raw alpha of the other items) and
        ``std_alpha_if_dropped``. With two items the alpha of one item is
        undefined (NaN). A constant item has NaN correlations.

        With ``missing="pairwise"`` (as ``psych::alpha``): ``n``, ``mean`` and
        ``sd`` over the item's own ratings; ``r_item_total`` the pairwise
        correlation of the item with each respondent's mean over the items he
        rated (psych's ``cor(rowMeans(x, na.rm = TRUE), x, use = "pairwise")``);
        the other columns from the pairwise covariance matrix.

    Notes
    -----
    Vectorised: with item covariance matrix C and total variance V, the
    item-rest covariance of item i is ``colsum_i(C) - C_ii`` and the rest
    variance ``V - 2 colsum_i(C) + C_ii``; alpha of the remaining items
    follows from the trace and sum of C without row and column i.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
    >>> item_statistics(x)[["item", "r_item_rest", "alpha_if_dropped"]].round(4).values.tolist()
    [['item_1', 1.0, 0.8], ['item_2', 0.8, 0.96], ['item_3', 0.8575, 0.9412]]
    """
    x, _, items, _ = item_matrix(data, **keys)
    _check_shape(x)
    n, k = x.shape
    c = _cov(x)
    holes = np.isnan(x).any()
    var = np.diag(c)
    colsum = c.sum(axis=0)
    total = c.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        r_total = colsum / np.sqrt(var * total)
        rest_var = total - 2 * colsum + var
        r_rest = (colsum - var) / np.sqrt(var * rest_var)
        if k > 2:
            tr_drop = np.trace(c) - var
            alpha_drop = (k - 1) / (k - 2) * (1 - tr_drop / rest_var)
            r = _cov2cor(c)
            off = r.sum(axis=0) - 1  # sum of item i's correlations with the others
            sum_off = r.sum() - k
            rbar_drop = (sum_off - 2 * off) / ((k - 1) * (k - 2))
            std_drop = (k - 1) * rbar_drop / (1 + (k - 2) * rbar_drop)
        else:
            alpha_drop = std_drop = np.full(k, np.nan)
    if holes:  # psych::alpha: raw.r <- cor(rowMeans(x, na.rm = TRUE), x, use = "pairwise")
        person_mean = np.nanmean(x, axis=1)
        r_total = np.array([_cor(np.column_stack([person_mean, x[:, j]]))[0, 1] for j in range(k)])
    out = items.copy()
    out["n"] = (~np.isnan(x)).sum(axis=0) if holes else n
    out["mean"] = np.nanmean(x, axis=0)
    out["sd"] = np.sqrt(var)
    out["r_item_total"] = r_total
    out["r_item_rest"] = r_rest
    out["alpha_if_dropped"] = alpha_drop
    out["std_alpha_if_dropped"] = std_drop
    return out


# ----------------------------------------------------------------------- one-factor model and omega


def omega_total(data, method: str = "minres", **keys) -> pd.DataFrame:
    """One-factor omegas: McDonald's model-implied omega and psych's one-factor omega_h.

    For psych's ``omega.tot`` and ``omega_h`` of a multi-factor (Schmid-Leiman)
    solution see :func:`omega_hierarchical`; this function's ``omega`` is
    neither (the name is kept for existing tables).

    Parameters
    ----------
    data : DataFrame or array-like
        Wide or tidy ratings (see :func:`item_matrix`), positively keyed.
    method : {"minres", "ml"}
        Estimator of the one-factor model (see
        :func:`~vp_stats.stats.factor_engine.one_factor_loadings`).
    **keys
        ``participant``, ``item``, ``rating``, ``missing`` for :func:`item_matrix`
        (pairwise: the correlations are pairwise-complete, as ``psych::fa``).

    Returns
    -------
    DataFrame
        One row: ``n_participants, n_incomplete, n_items, method``,
        ``omega`` (``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))``, the model-implied
        omega of McDonald 1999 eq. 6.20b; no psych function returns it),
        ``omega_h_one_factor`` (``(sum l)^2 / 1'R1`` with items of negative
        loading reversed in R: ``psych::omega(x, nfactors = 1)$omega_h``),
        ``heywood`` (a uniqueness at its lower bound 0.005) and ``converged``.

    Notes
    -----
    Omega is for the sum of standardised items (the model is fitted to the
    correlation matrix, as ``psych::fa``). Reverse negatively keyed items
    first: loadings of mixed sign reduce omega.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 1))
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5])
    >>> x = f * lam + rng.normal(size=(500, 4)) * np.sqrt(1 - lam**2)
    >>> round(omega_total(x).omega.item(), 2)
    0.76
    """
    x, _, items, n_incomplete = item_matrix(data, **keys)
    _check_shape(x, min_items=3, min_n=3)
    n, k = x.shape
    r = _item_correlations(x, items)
    lam, ok, heywood = one_factor_loadings(r, method)
    s2 = lam.sum() ** 2
    u2 = 1 - lam**2
    key = np.where(lam < 0, -1.0, 1.0)  # psych::omega(flip = TRUE)
    return pd.DataFrame(
        {
            "n_participants": [n],
            "n_incomplete": [n_incomplete],
            "n_items": [k],
            "method": [method],
            "omega": [s2 / (s2 + u2.sum())],
            "omega_h_one_factor": [np.abs(lam).sum() ** 2 / (r * np.outer(key, key)).sum()],
            "heywood": [heywood],
            "converged": [ok],
        }
    )


def _item_correlations(x: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """Correlation matrix (pairwise where x has NaN); a clear error for a constant item."""
    r = _cor(x)
    if not np.isfinite(r).all():
        sd = np.nanstd(x, axis=0)
        j = (
            int(np.flatnonzero(~(sd > 0))[0])
            if (~(sd > 0)).any()
            else int(np.argwhere(~np.isfinite(r))[0][0])
        )
        raise ValueError(
            f"item {items.iloc[j].tolist()} is constant: its correlations are undefined"
        )
    return r


# ------------------------------------------------------------------------ Schmid-Leiman and omega_h


def _omega_from_sl(r: np.ndarray, sl: dict) -> dict:
    """psych:::omegah: flip items of negative g, then omega_h, alpha, omega.tot, omega.lim, ECV."""
    key = np.where(sl["g"] < 0, -1.0, 1.0)
    vt = float((r * np.outer(key, key)).sum())
    k = r.shape[0]
    gsq = float(np.abs(sl["g"]).sum() ** 2)
    uniq = float(sl["u2"].sum())
    ev = np.concatenate([[np.sum(sl["g"] ** 2)], np.sum(sl["group"] ** 2, axis=0)])
    return {
        "omega_hierarchical": gsq / vt,
        "omega_total": (vt - uniq) / vt,
        "omega_limit": gsq / (vt - uniq),
        "ecv": float(ev[0] / ev.sum()),
        "std_alpha": (vt - float(np.trace(r))) / vt * k / (k - 1),
        "n_flipped": int((key < 0).sum()),
    }


def _polychoric(x: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """psych's ``polychoric(x)$rho`` (pairwise over missing cells) of the respondents x items x."""
    from vp_stats.stats.factor import polychoric_correlations

    names = ["_".join(str(v) for v in row) for row in items.itertuples(index=False)]
    if len(set(names)) < len(names):
        names = [f"item {j + 1}" for j in range(len(names))]
    return polychoric_correlations(pd.DataFrame(x, columns=names)).matrix()


def _sl_note(k: int, sl: dict | None, n_factors: int) -> str | None:
    if sl is None:
        return f"omega_h needs more than n_factors = {n_factors} items"
    notes = []
    if sl["dof"] < 0:
        notes.append(
            f"under-identified: {n_factors} factors of {k} items (dof {sl['dof']:g}); "
            "omega_h is where psych's optimiser stops"
        )
    if sl["heywood"]:
        notes.append("Heywood case (a uniqueness at 0.005)")
    if not sl["converged"]:
        notes.append("factor fit or rotation did not converge")
    return "; ".join(notes) if notes else None


def omega_hierarchical(
    data, n_factors: int = 3, *, polychoric: bool = False, **keys
) -> pd.DataFrame:
    """Omega hierarchical and omega total of a Schmid-Leiman solution, as ``psych::omega``.

    ``psych::omega(x, nfactors = n_factors)`` with its defaults (fm =
    "minres", rotate = "oblimin", flip = TRUE, option = "equal"); see
    :func:`~vp_stats.stats.factor_engine.schmid_leiman_fit` for the solution and the module
    notes for the formulas.

    Parameters
    ----------
    data : DataFrame or array-like
        Wide or tidy ratings (see :func:`item_matrix`), reverse negatively keyed
        items first (psych reverses items of negative general loading in the
        total variance, ``n_flipped``, but not in the factoring).
    n_factors : int
        Group factors of the Schmid-Leiman solution (psych's default 3); at
        least 1 and fewer than the number of items.
    polychoric : bool
        Factor the polychoric correlations of the items
        (:func:`vp_stats.stats.factor.polychoric_correlations`, as
        ``psych::polychoric``; pairwise over missing cells) instead of Pearson
        correlations: ``psych::omega(x, nf, poly = TRUE)``. Use it for Likert
        items: Pearson correlations of categories are attenuated, so the
        Pearson omegas are biased low. A simulation
        (``benchmarks/omega_likert_bias.py``, seed 2: 9 items, 3 group
        factors, general loadings 0.48 and group loadings 0.55 on the latent
        responses, population omega_h 0.601 and omega_total 0.865, cut into 6
        categories with the Value Portrait rating proportions) gives at
        n = 300 (150 samples) a mean omega_h of 0.558 with Pearson and 0.578
        with polychoric correlations (standard errors 0.004) and a mean
        omega_total of 0.846 and 0.866 (0.001); at n = 100,000 omega_h is
        0.585 and 0.603, omega_total 0.845 and 0.865. So the Pearson omega_h
        is biased by -0.043 at n = 300, of which the attenuation (-0.016;
        -0.020 on omega_total) stays at any n; the polychoric omega_h's
        -0.023 at n = 300 is small-sample bias that vanishes as n grows.
    **keys
        ``participant``, ``item``, ``rating``, ``missing`` for :func:`item_matrix`;
        ``missing="pairwise"`` gives psych's pairwise correlations (what
        ``psych::omega`` does with raw data that have missing cells).

    Returns
    -------
    DataFrame
        One row: ``n_participants, n_incomplete, n_items, n_factors,
        correlation`` (``"pearson"`` or ``"polychoric"``),
        ``omega_hierarchical`` (psych's ``omega_h``), ``omega_total``
        (``omega.tot``), ``omega_limit`` (``omega.lim``), ``ecv`` (``ECV``),
        ``std_alpha`` (``alpha``: the standardised alpha of the correlations
        with flipped items reversed), ``n_flipped``, ``model_dof``,
        ``heywood``, ``converged`` and ``note`` (None, or why omega_h is
        fragile: an under-identified model, a Heywood case, no convergence).

    Notes
    -----
    Zinbarg, Revelle, Yovel & Li (2005), Psychometrika 70, 123-133; Revelle
    & Zinbarg (2009), Psychometrika 74, 145-154; Schmid & Leiman (1957),
    Psychometrika 22, 53-61. Agreement with ``psych::omega`` (R psych 2.2.9,
    GPArotation 2022.10-2) is tested to 1e-3 on the bfi scales and Value
    Portrait item sets; it is typically 1e-9.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g, f = rng.normal(size=(2000, 1)), rng.normal(size=(2000, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(f, 3, axis=1) + 0.6 * rng.normal(size=(2000, 9))
    >>> om = omega_hierarchical(x, n_factors=3)  # population values: 0.744 and 0.917
    >>> om[["omega_hierarchical", "omega_total"]].round(2).values.tolist()
    [[0.74, 0.92]]
    """
    return _schmid_omega(data, n_factors, keys, polychoric)[0]


def _schmid_omega(
    data, n_factors, keys, polychoric: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The one-row table of :func:`omega_hierarchical`, the item table of :func:`schmid_leiman`."""
    x, _, items, n_incomplete = item_matrix(data, **keys)
    _check_shape(x, min_items=2, min_n=3)
    n, k = x.shape
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    if n_factors >= k:
        raise ValueError(f"{n_factors} factors need more than {n_factors} items, got {k}")
    nf = int(n_factors)
    r = _item_correlations(x, items)  # also refuses a constant item
    if polychoric:
        r = _polychoric(x, items)
    sl = schmid_leiman_fit(r, nf)
    om = _omega_from_sl(r, sl)
    table = pd.DataFrame(
        {
            "n_participants": [n],
            "n_incomplete": [n_incomplete],
            "n_items": [k],
            "n_factors": [nf],
            "correlation": ["polychoric" if polychoric else "pearson"],
            **{c: [v] for c, v in om.items()},
            "model_dof": [sl["dof"]],
            "heywood": [sl["heywood"]],
            "converged": [sl["converged"]],
            "note": [_sl_note(k, sl, nf)],
        }
    )
    load = items.copy()
    load["g"] = sl["g"]
    for j in range(nf):
        load[f"F{j + 1}*"] = sl["group"][:, j]
    load["h2"], load["u2"], load["p2"] = sl["h2"], sl["u2"], sl["p2"]
    load["flipped"] = sl["g"] < 0
    return table, load


def schmid_leiman(data, n_factors: int = 3, *, polychoric: bool = False, **keys) -> pd.DataFrame:
    """Schmid-Leiman loadings per item, tidy: psych's ``schmid(x, n_factors)$sl``.

    Parameters as :func:`omega_hierarchical` (``polychoric=True``: the loadings of
    ``psych::omega(x, n_factors, poly = TRUE)``).

    Returns
    -------
    DataFrame
        One row per item: the item key column(s), ``g``, ``F1*`` ...
        ``F{n}*`` (group loadings), ``h2``, ``u2``, ``p2`` (``g^2 / h2``) and
        ``flipped`` (``g < 0``: reversed in the total variance by
        :func:`omega_hierarchical`, as ``psych::omega``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g, f = rng.normal(size=(2000, 1)), rng.normal(size=(2000, 3))
    >>> x = 0.6 * g + 0.5 * np.repeat(f, 3, axis=1) + 0.6 * rng.normal(size=(2000, 9))
    >>> schmid_leiman(x).columns.tolist()
    ['item', 'g', 'F1*', 'F2*', 'F3*', 'h2', 'u2', 'p2', 'flipped']
    """
    return _schmid_omega(data, n_factors, keys, polychoric)[1]


def factor_loadings(data, method: str = "minres", **keys) -> pd.DataFrame:
    """One-factor loadings, communalities and uniquenesses per item, tidy.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(300, 1)) + rng.normal(size=(300, 4))
    >>> factor_loadings(x).columns.tolist()
    ['item', 'loading', 'communality', 'uniqueness']
    """
    x, _, items, _ = item_matrix(data, **keys)
    _check_shape(x, min_items=3, min_n=3)
    lam, _, _ = one_factor_loadings(_cov2cor(_cov(x)), method)
    out = items.copy()
    out["loading"] = lam
    out["communality"] = lam**2
    out["uniqueness"] = 1 - lam**2
    return out


# --------------------------------------------------------------------------- split-half


def _split_indicators(k: int, max_splits: int, seed: int) -> tuple[np.ndarray, bool]:
    """Indicator rows (S, k) of half A for every split (or a random sample of them)."""
    m = k // 2
    n_splits = comb(k, m) // 2 if k % 2 == 0 else comb(k, m)
    if n_splits <= max_splits:
        if k % 2 == 0:  # item 0 always in A: each unordered split once
            combos = [(0, *c) for c in combinations(range(1, k), m - 1)]
        else:
            combos = list(combinations(range(k), m))
        a = np.zeros((len(combos), k))
        a[np.repeat(np.arange(len(combos)), m), np.asarray(combos).ravel()] = 1
        return a, True
    rng = np.random.default_rng(seed)
    perm = np.argsort(rng.random((max_splits, k)), axis=1)[:, :m]
    a = np.zeros((max_splits, k))
    np.put_along_axis(a, perm, 1, axis=1)
    return a, False


def split_half(
    data, standardize: bool = True, max_splits: int = 10_000, seed: int = 0, **keys
) -> pd.DataFrame:
    """Odd-even split-half reliability (Spearman-Brown) and Guttman's lambda 4 over all splits.

    Parameters
    ----------
    data : DataFrame or array-like
        Wide or tidy ratings (see :func:`item_matrix`); column order defines odd/even.
    standardize : bool
        Lambda 4 over all splits on the correlation matrix (standardised items,
        ``psych::splitHalf`` default) or on the covariance matrix (``covar=TRUE``).
        The odd-even statistics always use the raw item sums.
    max_splits : int
        Enumerate all splits when there are at most this many; otherwise draw
        this many random splits (duplicates possible) with ``seed``.
    seed : int
        Seed of the random splits.

    Returns
    -------
    DataFrame
        One row: ``n_participants, n_incomplete, n_items, odd_even_r,
        odd_even_spearman_brown, odd_even_lambda4, lambda4_max, lambda4_min,
        lambda4_mean, n_splits, exhaustive``.

    Notes
    -----
    Spearman (1910), Brown (1910); Guttman (1945), Psychometrika 10, 255-282;
    Flanagan (1937); Revelle, ``psych::splitHalf``. For an even number of
    items the exhaustive statistics equal psych's; for an odd number psych
    enumerates only the first half of the ``choose(k, floor(k/2))`` splits,
    here all of them are used.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
    >>> sh = split_half(x)
    >>> round(sh.odd_even_r.item(), 4), round(sh.odd_even_spearman_brown.item(), 4)
    (0.8, 0.8889)
    """
    if keys.get("missing") == "pairwise":
        raise ValueError("split_half needs complete rows: use missing='listwise' (or 'raise')")
    x, _, _, n_incomplete = item_matrix(data, **keys)
    _check_shape(x, min_items=2, min_n=3)
    n, k = x.shape
    odd, even = x[:, 0::2].sum(axis=1), x[:, 1::2].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_oe = np.corrcoef(odd, even)[0, 1]
        sb = 2 * r_oe / (1 + r_oe)
        lam4_oe = 2 * (1 - (odd.var(ddof=1) + even.var(ddof=1)) / (odd + even).var(ddof=1))
    c = _cov(x)
    if standardize:
        c = _cov2cor(c)
    a, exhaustive = _split_indicators(k, max_splits, seed)
    b = 1 - a
    with np.errstate(invalid="ignore", divide="ignore"):
        lam4 = 4 * np.einsum("si,ij,sj->s", a, c, b) / c.sum()
    return pd.DataFrame(
        {
            "n_participants": [n],
            "n_incomplete": [n_incomplete],
            "n_items": [k],
            "odd_even_r": [float(r_oe)],
            "odd_even_spearman_brown": [float(sb)],
            "odd_even_lambda4": [float(lam4_oe)],
            "lambda4_max": [float(lam4.max())],
            "lambda4_min": [float(lam4.min())],
            "lambda4_mean": [float(lam4.mean())],
            "n_splits": [len(lam4)],
            "exhaustive": [exhaustive],
        }
    )


# --------------------------------------------------------------------------- Value Portrait


def reverse_key(rating, low: float = schema.LIKERT_MIN, high: float = schema.LIKERT_MAX):
    """Reverse a rating on the ``low..high`` scale: ``low + high - x`` (7 - x on 1-6, 6 - x on 1-5).

    Examples
    --------
    >>> reverse_key(2), reverse_key(2, 1, 5), reverse_key(3, 0, 10)
    (5, 4, 7)
    """
    return low + high - rating


VALUE_RELIABILITY_COLUMNS = [
    "family",
    "dimension",
    "group",
    "n_items",
    "n_reversed",
    "n_raters",
    "n_incomplete",
    "alpha",
    "alpha_ci_low",
    "alpha_ci_high",
    "std_alpha",
    "average_r",
    "omega",
    "omega_h_one_factor",
    "omega_heywood",
    "omega_total",
    "omega_hierarchical",
    "n_factors",
    "omega_h_note",
    "reason",
]


@schema.orders_dimensions
def value_reliability(
    ratings: pd.DataFrame,
    selected: pd.DataFrame,
    method: str = "minres",
    ci: float = 0.95,
    min_items_alpha: int = 2,
    min_items_omega: int = 3,
    min_raters: int = 3,
    *,
    n_factors: int = 3,
    missing: str = "listwise",
    scale=None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    polychoric: bool = False,
) -> pd.DataFrame:
    """Alpha and omega of each dimension's validated item set within each participant group.

    Items of one value may be spread over participant groups whose raters
    differ (Value Portrait: 12 groups), so the participants x items matrix of a
    value only exists within a group. For every dimension with selected items and
    every group that rated at least one of them, the group's raters x selected
    items matrix is formed (items with ``sign == -1`` reversed as ``low + high -
    x`` on the rating scale: 7 - x on 1-6), respondents with a missing rating are
    dropped (listwise, counted in ``n_incomplete``; or kept, ``missing="pairwise"``)
    and alpha (:func:`cronbach_alpha`), the one-factor omegas
    (:func:`omega_total`) and psych's omega total and omega hierarchical of an
    ``n_factors`` Schmid-Leiman solution (:func:`omega_hierarchical`) computed.
    Ratings without a ``group`` column form one group, ``"all"``.

    Parameters
    ----------
    ratings : DataFrame
        Ratings (contract :class:`vp_stats.tables.Ratings`): ``participant, item,
        rating`` and optionally ``group``; Value Portrait's ``portrait_id,
        option_id`` are accepted for ``item`` (as :func:`vp_stats.io.datasets.load_ratings`).
    selected : DataFrame
        ``item`` (or ``portrait_id, option_id``), ``family, dimension, selected``
        and optionally ``sign`` (as :func:`vp_stats.stats.validation.select_items`).
    method : {"minres", "ml"}
        One-factor estimator of omega.
    ci : float
        Coverage of alpha's Feldt interval.
    min_items_alpha, min_items_omega, min_raters : int
        Below these, the statistic is NaN and ``reason`` says why.
    n_factors : int
        Group factors of the Schmid-Leiman solution (psych's default 3); sets
        with at most ``n_factors`` items get NaN ``omega_total`` and
        ``omega_hierarchical`` and a note.
    missing : {"listwise", "pairwise"}
        Missing-data rule within a group (see the module notes).
    scale : Scale or "LOW-HIGH", optional
        Rating scale for reverse keying (ratings outside it are errors); default:
        1-6 for Value Portrait items (``portrait_id, option_id``), otherwise
        inferred from the ratings (the rule of :func:`vp_stats.tables.ratings_table`).
    participant, item, rating : str
        Column names where yours differ.
    polychoric : bool
        ``omega_total`` and ``omega_hierarchical`` from polychoric
        correlations (``psych::omega(x, n_factors, poly = TRUE)``, see
        :func:`omega_hierarchical`); where they cannot be computed,
        ``omega_h_note`` says why. Alpha and the one-factor omegas stay
        Pearson.

    Returns
    -------
    DataFrame
        ``family, dimension, group, n_items, n_reversed, n_raters,
        n_incomplete, alpha, alpha_ci_low, alpha_ci_high, std_alpha,
        average_r, omega, omega_h_one_factor, omega_heywood,
        omega_total, omega_hierarchical, n_factors, omega_h_note, reason``
        (the omegas as named in the module notes: ``omega_total`` and
        ``omega_hierarchical`` are ``psych::omega(x, n_factors)``'s
        ``omega.tot`` and ``omega_h``). Nothing is dropped: a dimension
        without selected items gets one row with ``group`` missing and a
        reason; ``reason`` is None where alpha and the one-factor omega were
        computed without a Heywood case; ``omega_h_note`` says why an
        omega_h is missing or fragile (under-identified, Heywood, no convergence).

    Examples
    --------
    >>> from vp_stats.stats import simulate
    >>> from vp_stats.stats import validation
    >>> syn = simulate.synthetic(n_participants=120, n_items=60, n_groups=2, seed=3)
    >>> sel = validation.select_items(validation.item_correlations(
    ...     syn["ratings"], syn["scores"], families=["pvq"]))
    >>> vr = value_reliability(syn["ratings"], sel)
    >>> vr.query("dimension == 'Power'")[["group", "n_items", "n_raters"]].values.tolist()
    [[0, 3, 60], [1, 3, 60]]
    >>> bool((vr.alpha > 0.6).all())
    True
    """
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if not isinstance(n_factors, (int, np.integer)) or isinstance(n_factors, bool) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    sel_in = tables.with_item_column(selected)
    tables.require(sel_in, ["item", "family", "dimension", "selected"], "selected")
    if scale is None and {"portrait_id", "option_id"} <= set(ratings.columns):
        scale = tables.VP_SCALE  # Value Portrait items are rated 1-6
    checked = tables.ratings_table(
        ratings, participant=participant, item=item, rating=rating, scale=scale
    )
    r, sc = checked.table, checked.scale
    if "group" not in r.columns:
        r = r.assign(group="all")
    sel = sel_in[sel_in["selected"].astype(bool)]
    sign = sel["sign"] if "sign" in sel.columns else pd.Series(1, index=sel.index)
    sel = sel.assign(sign=np.where(pd.to_numeric(sign).to_numpy() < 0, -1, 1))
    item_groups = r[["group", "item"]].drop_duplicates()
    wide_by_group: dict = {}
    families = list(dict.fromkeys(sel_in["family"]))
    fam_order = [f for f in schema.FAMILY_NAMES if f in families] + [
        f for f in families if f not in schema.FAMILIES
    ]
    rows = []
    for fam in fam_order:
        dims = schema.FAMILIES.get(fam) or tuple(
            dict.fromkeys(sel_in.loc[sel_in["family"] == fam, "dimension"])
        )
        for dim in dims:
            if not ((sel_in["dimension"] == dim) & (sel_in["family"] == fam)).any():
                continue
            s = sel[(sel["family"] == fam) & (sel["dimension"] == dim)]
            if s.empty:
                rows.append(
                    {
                        "family": fam,
                        "dimension": dim,
                        "group": pd.NA,
                        "n_items": 0,
                        "n_reversed": 0,
                        "reason": "no selected items",
                    }
                )
                continue
            with_group = s.merge(item_groups, on="item", how="left")
            unrated = with_group["group"].isna()
            if unrated.any():
                r0 = with_group[unrated].iloc[0]
                vp = tables.split_vp_item(r0["item"])
                what = f"portrait {vp[0]} option {vp[1]}" if vp else f"{r0['item']!r}"
                raise ValueError(f"{dim}: selected item {what} has no ratings")
            for g, items in with_group.groupby("group", sort=True):
                if g not in wide_by_group:
                    rg = r[r["group"] == g]
                    wide_by_group[g] = tables.to_wide(
                        rg, "participant", "item", "rating", source="ratings"
                    )
                rows.append(
                    _group_reliability(
                        wide_by_group[g],
                        fam,
                        dim,
                        g,
                        items,
                        method,
                        ci,
                        min_items_alpha,
                        min_items_omega,
                        min_raters,
                        sc,
                        int(n_factors),
                        missing,
                        polychoric,
                    )
                )
    out = pd.DataFrame(rows).reindex(columns=VALUE_RELIABILITY_COLUMNS)
    groups = pd.to_numeric(out["group"], errors="coerce")
    if (groups.notna() == out["group"].notna()).all():
        out["group"] = groups.astype("Int64")
    out["n_factors"] = int(n_factors)
    for c in ("n_items", "n_reversed", "n_raters", "n_incomplete"):
        out[c] = out[c].astype("Int64")
    out["omega_h_note"] = (
        out["omega_h_note"].astype(object).where(out["omega_h_note"].notna(), None)
    )
    out["omega_heywood"] = out["omega_heywood"].astype("boolean")
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), None)
    return out


def _group_reliability(
    group_wide,
    fam,
    dim,
    g,
    items,
    method,
    ci,
    min_alpha,
    min_omega,
    min_raters,
    scale,
    n_factors=3,
    missing="listwise",
    polychoric=False,
) -> dict:
    wide = group_wide.reindex(columns=pd.Index(items["item"]))
    rev = items["sign"].to_numpy() < 0
    if rev.any():
        wide.iloc[:, rev] = scale.reverse(wide.iloc[:, rev])
    x, _, _, n_incomplete = item_matrix(wide, missing=missing)
    holes = bool(np.isnan(x).any())
    n, k = x.shape
    row = {
        "family": fam,
        "dimension": dim,
        "group": g,
        "n_items": k,
        "n_reversed": int(rev.sum()),
        "n_raters": n,
        "n_incomplete": n_incomplete,
    }
    reasons = []
    if n < min_raters:
        reasons.append(f"fewer than {min_raters} complete raters")
    elif k < min_alpha:
        reasons.append(f"alpha needs >= {min_alpha} items")
    elif (not _cov(x).sum() > 0) if holes else np.var(x.sum(axis=1)) == 0:
        reasons.append("total score is constant")
    else:
        row.update(
            cronbach_alpha(x, ci=ci, missing=missing)
            .iloc[0][["alpha", "alpha_ci_low", "alpha_ci_high", "std_alpha", "average_r"]]
            .to_dict()
        )
    if n >= min_raters and k < min_omega:
        reasons.append(f"omega needs >= {min_omega} items")
    elif n >= min_raters and not (np.nanstd(x, axis=0) > 0).all():
        reasons.append("omega undefined: a constant item")
    elif n >= min_raters:
        om = omega_total(x, method=method, missing=missing).iloc[0]
        row.update(
            omega=om.omega,
            omega_h_one_factor=om.omega_h_one_factor,
            omega_heywood=bool(om.heywood),
        )
        if om.heywood:
            reasons.append("omega: Heywood case (a uniqueness at the 0.005 bound)")
        if not om.converged:
            reasons.append("omega: factor fit did not converge")
        if k > n_factors:
            try:
                oh = omega_hierarchical(
                    x, n_factors=n_factors, missing=missing, polychoric=polychoric
                ).iloc[0]
            except ValueError as exc:  # polychoric correlations of sparse tables
                if not polychoric:
                    raise
                row["omega_h_note"] = f"polychoric omega_h not computed: {exc}"
            else:
                row.update(
                    omega_total=oh.omega_total,
                    omega_hierarchical=oh.omega_hierarchical,
                    omega_h_note=oh.note,
                )
        else:
            row["omega_h_note"] = _sl_note(k, None, n_factors)
    row["reason"] = "; ".join(reasons) if reasons else None
    return row


# --------------------------------------------------------------------------- one scale, one report


SCALE_RELIABILITY_COLUMNS = [
    "n_participants",
    "n_incomplete",
    "n_items",
    "n_reversed",
    "missing",
    "scale",
    "alpha",
    "alpha_ci_low",
    "alpha_ci_high",
    "std_alpha",
    "average_r",
    "omega_total",
    "omega_hierarchical",
    "omega_limit",
    "ecv",
    "n_factors",
    "n_flipped",
    "model_dof",
    "omega_h_note",
    "omega_correlation",
]


def scale_reliability(
    data,
    *,
    n_factors: int = 3,
    reverse=(),
    scale=None,
    missing: str = "listwise",
    ci: float = 0.95,
    polychoric: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reliability report of one scale: alpha, omega total, omega hierarchical, item statistics.

    What ``vp-stats reliability --data ITEMS.csv`` writes (``reliability.csv``
    and ``item_statistics.csv``).

    Parameters
    ----------
    data : DataFrame or array-like
        Respondents x items, one column per item (e.g.
        :func:`vp_stats.io.tables.read_item_matrix`); NaN = missing.
    n_factors : int
        Group factors of the Schmid-Leiman solution (psych's default 3).
    reverse : sequence of str
        Items to reverse-score as ``low + high - x`` before anything is computed.
    scale : Scale or "LOW-HIGH", optional
        Rating scale for reversing (values outside it are errors); default the
        observed min..max (reported as inferred).
    missing : {"listwise", "pairwise"}
        Missing-data rule (module notes); pairwise is psych's default.
    ci : float
        Coverage of alpha's Feldt interval.
    polychoric : bool
        Omegas from polychoric correlations (``psych::omega(x, nf, poly =
        TRUE)``; see :func:`omega_hierarchical`, which states the bias of the
        Pearson omegas on Likert items); alpha stays Cronbach's alpha of the
        ratings.

    Returns
    -------
    summary : DataFrame
        One row, :data:`SCALE_RELIABILITY_COLUMNS` (``omega_correlation`` says which
        correlations the omegas come from): alpha with its Feldt CI
        (:func:`cronbach_alpha`), ``omega_total`` and ``omega_hierarchical``
        (``psych::omega(x, n_factors)``'s ``omega.tot`` and ``omega_h``,
        :func:`omega_hierarchical`; a scale needs more than ``n_factors``
        items), ``omega_limit``, ``ecv``, ``n_flipped``, ``model_dof`` and
        ``omega_h_note``.
    items : DataFrame
        One row per item: ``item, reversed`` and :func:`item_statistics`
        (``n, mean, sd, r_item_total, r_item_rest, alpha_if_dropped,
        std_alpha_if_dropped``), plus the Schmid-Leiman ``g_loading`` and
        ``h2`` (:func:`schmid_leiman`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> x = np.clip(np.round(3 + f + rng.normal(size=(300, 6))), 1, 5)
    >>> x[:, 5] = 6 - x[:, 5]  # a negatively keyed item
    >>> df = pd.DataFrame(x, columns=list("abcdef"))
    >>> summary, items = scale_reliability(df, reverse=["f"], scale="1-5", n_factors=2)
    >>> summary[["n_items", "n_reversed", "scale", "n_factors"]].values.tolist()
    [[6, 1, '1-5', 2]]
    >>> items.loc[items.reversed, "item"].tolist()
    ['f']
    """
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if not isinstance(n_factors, (int, np.integer)) or isinstance(n_factors, bool) or n_factors < 1:
        raise ValueError(f"n_factors must be a positive integer, got {n_factors!r}")
    if not isinstance(data, pd.DataFrame):
        arr = np.asarray(data, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D respondents x items matrix, got shape {arr.shape}")
        data = pd.DataFrame(arr, columns=[f"item_{j + 1}" for j in range(arr.shape[1])])
    x, *_ = item_matrix(data, missing=missing)  # the checks: numeric, finite, names in errors
    _check_shape(x, min_n=3)  # the omegas need 3 (alpha alone would take 2): one message
    num = data.apply(pd.to_numeric, errors="coerce").astype(float)
    reverse = list(dict.fromkeys([reverse] if isinstance(reverse, str) else list(reverse or ())))
    unknown = [r for r in reverse if r not in num.columns]
    if unknown:
        raise ValueError(f"reverse: unknown item(s) {unknown}; the items are {list(num.columns)}")
    sc = tables.parse_scale(scale) or tables.infer_scale(num.to_numpy().ravel())
    vals = num.to_numpy()
    outside = ~np.isnan(vals) & ((vals < sc.low) | (vals > sc.high))
    if outside.any():
        i, j = np.argwhere(outside)[0]
        raise ValueError(
            f"respondent {num.index[i]!r}, item {num.columns[j]!r}: {vals[i, j]:g} "
            f"is outside the scale {sc}"
        )
    if reverse:
        num[reverse] = sc.reverse(num[reverse])
    k = num.shape[1]
    if k <= n_factors:
        raise ValueError(
            f"n_factors = {n_factors}: a Schmid-Leiman solution of {k} items has at most "
            f"{max(k - 1, 0)} factors; lower n_factors (--n-factors)"
        )
    a = cronbach_alpha(num, ci=ci, missing=missing).iloc[0]
    it = item_statistics(num, missing=missing)
    summary = {
        "n_participants": int(a.n_participants),
        "n_incomplete": int(a.n_incomplete),
        "n_items": k,
        "n_reversed": len(reverse),
        "missing": missing,
        "scale": f"{sc} (inferred from the ratings)" if sc.inferred else str(sc),
        **{
            c: float(a[c])
            for c in ("alpha", "alpha_ci_low", "alpha_ci_high", "std_alpha", "average_r")
        },
        "n_factors": int(n_factors),
    }
    it.insert(1, "reversed", it["item"].isin(reverse))
    oh_table, sl = _schmid_omega(num, int(n_factors), {"missing": missing}, polychoric)
    oh = oh_table.iloc[0]
    summary.update(
        {
            c: oh[c]
            for c in (
                "omega_total",
                "omega_hierarchical",
                "omega_limit",
                "ecv",
                "n_flipped",
                "model_dof",
            )
        },
        omega_h_note=oh.note,
        omega_correlation=oh.correlation,
    )
    it["g_loading"], it["h2"] = sl["g"].to_numpy(), sl["h2"].to_numpy()
    out = pd.DataFrame([summary]).reindex(columns=SCALE_RELIABILITY_COLUMNS)
    return out, it
