"""Scale reliability: Cronbach's alpha, McDonald's omega, item-total statistics, split-half.

Every function takes a participants x items matrix, either wide (a
:class:`pandas.DataFrame` with one row per respondent and one column per item,
or a 2-D array) or tidy (one row per rating with a respondent column, one or
more item key columns and a value column, as :func:`vp_stats.datasets.load_ratings`),
and returns a tidy :class:`pandas.DataFrame`. Missing ratings are handled
listwise (a respondent with any missing item is left out; the count is
reported in ``n_incomplete``) or, with ``missing="raise"``, raise a
:class:`ValueError` naming the respondent and item.

:func:`value_reliability` applies the statistics to the Value Portrait's
validated item sets: items of one value are spread over participant groups
with different raters, so reliability is computed within each group that rated
some of the value's selected items.

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
- McDonald's omega total (McDonald, 1999, *Test Theory: A Unified Treatment*,
  eq. 6.20b) from a one-factor model fitted to the item correlation matrix:
  ``omega = (sum l)^2 / ((sum l)^2 + sum u2)`` with loadings ``l`` and
  uniquenesses ``u2 = 1 - l^2``. ``omega_observed`` divides by the observed
  variance of the standardised total instead, ``(sum l)^2 / 1'R1`` (the
  ``omega.tot`` of ``psych::omega`` for one factor). The one-factor model is
  fitted by minimum residual (``minres``, the default of ``psych::fa``: least
  squares on the off-diagonal correlations; Harman & Jones, 1966) or maximum
  likelihood (``ml``, Joreskog 1967, as ``factanal`` and ``psych::fa(fm="ml")``,
  uniquenesses bounded to [0.005, 1]). Both are iterative: agreement with R is
  to about 1e-5, not machine precision.
- Split-half: the odd-even split (items in column positions 1, 3, 5 ... vs
  2, 4, 6 ...) with the Spearman-Brown step-up ``2 r / (1 + r)`` of the
  correlation of the two half sums, and Guttman's (1945) lambda 4 for that
  split, ``2 (1 - (var A + var B) / var(A + B))`` (Flanagan-Rulon); and
  lambda 4 over all splits into halves of ``floor(k / 2)`` and ``ceil(k / 2)``
  items (maximum, minimum, mean), as ``psych::splitHalf``, exhaustive when
  there are at most ``max_splits`` splits and seeded random splits otherwise.

Examples
--------
>>> import numpy as np
>>> from vp_stats import reliability
>>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
>>> round(reliability.cronbach_alpha(x).alpha.item(), 6)
0.933333
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
from scipy import optimize, stats

from vp_stats import schema, tables

ITEM_KEYS = ("portrait_id", "option_id")
PSI_BOUNDS = (0.005, 1.0)  # uniqueness bounds of factanal / psych::fa


# --------------------------------------------------------------------------- input


def item_matrix(
    data,
    *,
    respondent: str = "participant",
    item: str | tuple[str, ...] | list[str] = ITEM_KEYS,
    value: str = "rating",
    missing: str = "listwise",
) -> tuple[np.ndarray, pd.Index, pd.DataFrame, int]:
    """Turn wide or tidy ratings into a complete respondents x items array.

    Parameters
    ----------
    data : DataFrame or array-like
        Wide (rows respondents, columns items; a 2-D array gets items
        ``item_1 ... item_k``) or tidy (has a ``value`` column; pivoted on
        ``respondent`` x ``item``).
    respondent, item, value : str
        Column names of tidy input (``item`` may be several key columns).
    missing : {"listwise", "raise"}
        Drop respondents with any missing item, or raise.

    Returns
    -------
    x : ndarray (n, k)
        Complete ratings.
    respondents : Index
        Labels of the kept rows.
    items : DataFrame
        One row per column of ``x``: the item key column(s) (``item`` for wide input).
    n_incomplete : int
        Respondents dropped for missing ratings.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant": ["a", "a", "b", "b", "c"],
    ...                   "portrait_id": 1001, "option_id": [1, 2, 1, 2, 1],
    ...                   "rating": [3, 4, 5, 6, 2]})
    >>> x, who, items, dropped = item_matrix(t)
    >>> x.tolist(), list(who), items.option_id.tolist(), dropped
    ([[3.0, 4.0], [5.0, 6.0]], ['a', 'b'], [1, 2], 1)
    """
    if missing not in ("listwise", "raise"):
        raise ValueError(f"missing must be 'listwise' or 'raise', got {missing!r}")
    if isinstance(data, pd.DataFrame) and value in data.columns:
        keys = [item] if isinstance(item, str) else list(item)
        need = [respondent, *keys, value]
        absent = [c for c in need if c not in data.columns]
        if absent:
            raise ValueError(f"tidy ratings lack column(s) {absent}; have {list(data.columns)}")
        dup = data.duplicated([respondent, *keys])
        if dup.any():
            row = data[dup].iloc[0]
            raise ValueError(
                f"respondent {row[respondent]!r} rated item "
                f"{tuple(row[k] for k in keys)} more than once"
            )
        vals = pd.to_numeric(data[value], errors="coerce")
        bad = vals.isna() & data[value].notna()
        if bad.any():
            row = data[bad].iloc[0]
            raise ValueError(
                f"respondent {row[respondent]!r}, item {tuple(row[k] for k in keys)}: "
                f"non-numeric rating {row[value]!r}"
            )
        wide = tables.to_wide(
            data.assign(**{value: vals}), respondent, keys, value, source="ratings", name_columns=True
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
    keep = ~nan.any(axis=1)
    return x[keep], wide.index[keep], items.reset_index(drop=True), int((~keep).sum())


def _check_shape(x: np.ndarray, min_items: int = 2, min_n: int = 2) -> None:
    n, k = x.shape
    if k < min_items:
        raise ValueError(f"need at least {min_items} items, got {k}")
    if n < min_n:
        raise ValueError(f"need at least {min_n} complete respondents, got {n}")


def _cov(x: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.cov(x, rowvar=False, ddof=1))


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
        ``respondent``, ``item``, ``value``, ``missing`` for :func:`item_matrix`.

    Returns
    -------
    DataFrame
        One row: ``n_respondents, n_incomplete, n_items, alpha, alpha_ci_low,
        alpha_ci_high, std_alpha, average_r`` (``std_alpha`` from the mean
        inter-item correlation ``average_r``, as ``psych::alpha``).

    Notes
    -----
    Cronbach (1951), Psychometrika 16, 297-334; Feldt (1965), Psychometrika
    30, 357-370.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]])
    >>> cronbach_alpha(x)[["n_respondents", "n_items", "alpha"]].round(4).values.tolist()
    [[4.0, 3.0, 0.9333]]
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
            "n_respondents": [n],
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
    out = items.copy()
    out["n"] = n
    out["mean"] = x.mean(axis=0)
    out["sd"] = np.sqrt(var)
    out["r_item_total"] = r_total
    out["r_item_rest"] = r_rest
    out["alpha_if_dropped"] = alpha_drop
    out["std_alpha_if_dropped"] = std_drop
    return out


# --------------------------------------------------------------------------- one-factor model and omega


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations (1 - 1 / diag(R^-1)); pseudo-inverse if singular."""
    return 1 - 1 / np.diag(np.linalg.pinv(r))


def _minres_one_factor(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """psych's minres for one factor: off-diagonal least squares over bounded uniquenesses.

    For uniquenesses psi in [0.005, 1] the loadings are the first principal
    axis of R with 1 - psi on the diagonal; psi minimises the sum of squared
    off-diagonal residuals (``psych:::fit.residuals``). Solved with bounded
    Gauss-Newton (:func:`scipy.optimize.least_squares`, ``trf``) and the
    analytic derivative of the leading eigenpair.
    """
    k = r.shape[0]
    iu = np.triu_indices(k, 1)
    target = r[iu]

    def axis(psi):
        h = r.copy()
        np.fill_diagonal(h, 1 - psi)
        w, v = np.linalg.eigh(h)
        return w[::-1], v[:, ::-1]

    def resid(psi):
        w, v = axis(psi)
        lam = v[:, 0] * np.sqrt(max(w[0], 1e-300))
        return np.outer(lam, lam)[iu] - target

    def jac(psi):
        w, v = axis(psi)
        l1, v1 = max(w[0], 1e-300), v[:, 0]
        gap = l1 - w[1:]
        gap[np.abs(gap) < 1e-12] = 1e-12
        # d v1 / d psi_m = -v1_m * sum_j v_j v_j[m] / (l1 - l_j); d l1 / d psi_m = -v1_m^2
        dv = -(v[:, 1:] / gap) @ v[:, 1:].T * v1[None, :]
        dl1 = -(v1**2)
        dlam = v1[:, None] * dl1[None, :] / (2 * np.sqrt(l1)) + np.sqrt(l1) * dv
        lam = v1 * np.sqrt(l1)
        return dlam[iu[0]] * lam[iu[1], None] + lam[iu[0], None] * dlam[iu[1]]

    # Interior solutions: fit l directly (l l' to the off-diagonal; the optimum
    # is a principal-axis fixed point, hence psych's solution when 1 - l^2 lies
    # inside the bounds). Otherwise optimise over the bounded uniquenesses.
    w0, v0 = axis(np.clip(1 - _smc(r), *PSI_BOUNDS))
    lam0 = v0[:, 0] * np.sqrt(max(w0[0], 1e-6))
    jrows = np.arange(len(target))

    def jac_l(lam):
        jm = np.zeros((len(target), k))
        jm[jrows, iu[0]] = lam[iu[1]]
        jm[jrows, iu[1]] = lam[iu[0]]
        return jm

    res_l = optimize.least_squares(
        lambda lam: np.outer(lam, lam)[iu] - target, lam0, jac=jac_l, method="lm",
        xtol=1e-15, ftol=1e-15, gtol=1e-15,
    )  # fmt: skip
    psi_l = 1 - res_l.x**2
    if res_l.success and (psi_l > PSI_BOUNDS[0]).all():
        w, v = axis(psi_l)
        if np.abs(np.abs(v[:, 0] @ res_l.x) - np.sqrt(w[0])) < 1e-6 * max(1.0, np.sqrt(w[0])):
            return res_l.x, psi_l, True
    start = np.clip(1 - _smc(r), PSI_BOUNDS[0] + 1e-6, PSI_BOUNDS[1] - 1e-6)
    res = optimize.least_squares(
        resid, start, jac=jac, bounds=PSI_BOUNDS, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-14,
        max_nfev=10_000,
    )  # fmt: skip
    w, v = axis(res.x)
    return v[:, 0] * np.sqrt(max(w[0], 0.0)), res.x, bool(res.status > 0)


def _ml_one_factor(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor fit over bounded uniquenesses (as factanal)."""
    k = r.shape[0]
    q = 1

    def eig(psi):
        sc = 1 / np.sqrt(psi)
        return np.linalg.eigh(r * np.outer(sc, sc))

    def fn(psi):
        e = eig(psi)[0][::-1][q:]
        return -(np.sum(np.log(e) - e) - q + k)

    def gr(psi):
        w, v = eig(psi)
        load = np.sqrt(psi) * v[:, -1] * np.sqrt(max(w[-1] - 1, 0))
        g = np.outer(load, load) + np.diag(psi) - r
        return np.diag(g) / psi**2

    start = np.clip(1 - _smc(r), *PSI_BOUNDS)
    res = optimize.minimize(
        fn, start, jac=gr, method="L-BFGS-B", bounds=[PSI_BOUNDS] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )  # fmt: skip
    psi = res.x
    w, v = eig(psi)
    load = np.sqrt(psi) * v[:, -1] * np.sqrt(max(w[-1] - 1, 0))
    converged = bool(res.success) or np.max(np.abs(gr(psi) * (psi > PSI_BOUNDS[0] + 1e-9))) < 1e-6
    return load, psi, converged


def one_factor_loadings(corr: np.ndarray, method: str = "minres") -> tuple[np.ndarray, bool, bool]:
    """Loadings of a one-factor model fitted to a correlation matrix.

    Parameters
    ----------
    corr : array (k, k)
        Item correlation matrix (k >= 3).
    method : {"minres", "ml"}
        Minimum residual (least squares on the off-diagonal correlations,
        ``psych::fa`` default) or maximum likelihood (``factanal``).

    Returns
    -------
    loadings : ndarray (k,)
        Signed so that their sum is positive.
    converged : bool
    heywood : bool
        A fitted uniqueness sits at its lower bound 0.005 (a Heywood case).

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5])
    >>> r = np.outer(lam, lam); np.fill_diagonal(r, 1)
    >>> l, ok, heywood = one_factor_loadings(r)
    >>> np.round(l, 6).tolist(), ok, heywood
    ([0.8, 0.7, 0.6, 0.5], True, False)
    """
    r = np.asarray(corr, dtype=float)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise ValueError(f"corr must be a square matrix, got shape {r.shape}")
    if r.shape[0] < 3:
        raise ValueError(f"a one-factor model needs at least 3 items, got {r.shape[0]}")
    if not np.isfinite(r).all():
        raise ValueError("corr has NaN or infinite entries (a constant item?)")
    if method == "minres":
        lam, psi, ok = _minres_one_factor(r)
    elif method == "ml":
        lam, psi, ok = _ml_one_factor(r)
    else:
        raise ValueError(f"method must be 'minres' or 'ml', got {method!r}")
    if lam.sum() < 0:
        lam = -lam
    return lam, ok, bool((psi <= PSI_BOUNDS[0] + 1e-8).any())


def omega_total(data, method: str = "minres", **keys) -> pd.DataFrame:
    """McDonald's omega total from a one-factor model of the item correlations.

    Parameters
    ----------
    data : DataFrame or array-like
        Wide or tidy ratings (see :func:`item_matrix`), positively keyed.
    method : {"minres", "ml"}
        Estimator of the one-factor model (see :func:`one_factor_loadings`).

    Returns
    -------
    DataFrame
        One row: ``n_respondents, n_incomplete, n_items, method, omega``
        (``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))``, McDonald 1999 eq. 6.20b),
        ``omega_observed`` (``(sum l)^2 / 1'R1``, psych's ``omega.tot``),
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
    >>> x = f * [0.8, 0.7, 0.6, 0.5] + rng.normal(size=(500, 4)) * np.sqrt(1 - np.square([0.8, 0.7, 0.6, 0.5]))
    >>> round(omega_total(x).omega.item(), 2)
    0.76
    """
    x, _, items, n_incomplete = item_matrix(data, **keys)
    _check_shape(x, min_items=3, min_n=3)
    n, k = x.shape
    r = _cov2cor(_cov(x))
    if not np.isfinite(r).all():
        j = int(np.flatnonzero(x.std(axis=0) == 0)[0])
        raise ValueError(
            f"item {items.iloc[j].tolist()} is constant: its correlations are undefined"
        )
    lam, ok, heywood = one_factor_loadings(r, method)
    s2 = lam.sum() ** 2
    u2 = 1 - lam**2
    return pd.DataFrame(
        {
            "n_respondents": [n],
            "n_incomplete": [n_incomplete],
            "n_items": [k],
            "method": [method],
            "omega": [s2 / (s2 + u2.sum())],
            "omega_observed": [s2 / r.sum()],
            "heywood": [heywood],
            "converged": [ok],
        }
    )


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
        One row: ``n_respondents, n_incomplete, n_items, odd_even_r,
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
            "n_respondents": [n],
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
    """Reverse a rating on the ``low..high`` scale: ``low + high - x`` (7 - x for 1-6, 6 - x for 1-5).

    Examples
    --------
    >>> reverse_key(2), reverse_key(2, 1, 5), reverse_key(3, 0, 10)
    (5, 4, 7)
    """
    return low + high - rating


VALUE_RELIABILITY_COLUMNS = [
    "family", "dimension", "group", "n_items", "n_reversed", "n_raters", "n_incomplete",
    "alpha", "alpha_ci_low", "alpha_ci_high", "std_alpha", "average_r",
    "omega", "omega_observed", "omega_heywood", "reason",
]  # fmt: skip


def value_reliability(
    ratings: pd.DataFrame,
    selected: pd.DataFrame,
    method: str = "minres",
    ci: float = 0.95,
    min_items_alpha: int = 2,
    min_items_omega: int = 3,
    min_raters: int = 3,
    *,
    scale=None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
) -> pd.DataFrame:
    """Alpha and omega of each dimension's validated item set within each participant group.

    Items of one value may be spread over participant groups whose raters
    differ (Value Portrait: 12 groups), so the participants x items matrix of a
    value only exists within a group. For every dimension with selected items and
    every group that rated at least one of them, the group's raters x selected
    items matrix is formed (items with ``sign == -1`` reversed as ``low + high -
    x`` on the rating scale: 7 - x on 1-6), respondents with a missing rating are
    dropped (listwise, counted in ``n_incomplete``) and alpha
    (:func:`cronbach_alpha`) and omega total (:func:`omega_total`) computed.
    Ratings without a ``group`` column form one group, ``"all"``.

    Parameters
    ----------
    ratings : DataFrame
        Ratings (contract :class:`vp_stats.tables.Ratings`): ``participant, item,
        rating`` and optionally ``group``; Value Portrait's ``portrait_id,
        option_id`` are accepted for ``item`` (as :func:`vp_stats.datasets.load_ratings`).
    selected : DataFrame
        ``item`` (or ``portrait_id, option_id``), ``family, dimension, selected``
        and optionally ``sign`` (as :func:`vp_stats.validation.select_items`).
    method : {"minres", "ml"}
        One-factor estimator of omega.
    ci : float
        Coverage of alpha's Feldt interval.
    min_items_alpha, min_items_omega, min_raters : int
        Below these, the statistic is NaN and ``reason`` says why.
    scale : Scale or "LOW-HIGH", optional
        Rating scale for reverse keying (ratings outside it are errors); default:
        1-6 for Value Portrait items (``portrait_id, option_id``), otherwise
        inferred from the ratings (``attrs["scale"]`` of the result says which).
    participant, item, rating : str
        Column names where yours differ.

    Returns
    -------
    DataFrame
        ``family, dimension, group, n_items, n_reversed, n_raters,
        n_incomplete, alpha, alpha_ci_low, alpha_ci_high, std_alpha,
        average_r, omega, omega_observed, omega_heywood, reason``. Nothing is
        dropped: a dimension without selected items gets one row with
        ``group`` missing and a reason; ``reason`` is None where every
        statistic was computed.

    Examples
    --------
    >>> from vp_stats import datasets, validation
    >>> syn = datasets.synthetic(n_participants=120, n_items=60, n_groups=2, seed=3)
    >>> sel = validation.select_items(validation.item_correlations(
    ...     syn["ratings"], syn["scores"], families=["pvq"]))
    >>> vr = value_reliability(syn["ratings"], sel)
    >>> vr.query("dimension == 'Power'")[["group", "n_items", "n_raters"]].values.tolist()
    [[0, 3, 60], [1, 3, 60]]
    >>> bool((vr.alpha > 0.6).all())
    True
    """
    sel_in = tables.with_item_column(selected)
    need = {"item", "family", "dimension", "selected"}
    if not need <= set(sel_in.columns):
        raise ValueError(f"selected lacks column(s) {sorted(need - set(sel_in.columns))}")
    if scale is None and {"portrait_id", "option_id"} <= set(ratings.columns):
        scale = tables.VP_SCALE  # Value Portrait items are rated 1-6
    r = tables.ratings_table(ratings, participant=participant, item=item, rating=rating, scale=scale)
    sc = r.attrs["scale"]
    if "group" not in r.columns:
        r = r.assign(group="all")
    sel = sel_in[sel_in["selected"].astype(bool)]
    sign = sel["sign"] if "sign" in sel.columns else pd.Series(1, index=sel.index)
    sel = sel.assign(sign=np.where(pd.to_numeric(sign).to_numpy() < 0, -1, 1))
    item_groups = r[["group", "item"]].drop_duplicates()
    wide_by_group: dict = {}
    families = list(dict.fromkeys(sel_in["family"]))
    fam_order = [f for f in schema.FAMILY_NAMES if f in families] + [f for f in families if f not in schema.FAMILIES]
    rows = []
    for fam in fam_order:
        dims = schema.FAMILIES.get(fam) or tuple(dict.fromkeys(sel_in.loc[sel_in["family"] == fam, "dimension"]))
        for dim in dims:
            if not ((sel_in["dimension"] == dim) & (sel_in["family"] == fam)).any():
                continue
            s = sel[(sel["family"] == fam) & (sel["dimension"] == dim)]
            if s.empty:
                rows.append({"family": fam, "dimension": dim, "group": pd.NA, "n_items": 0,
                             "n_reversed": 0, "reason": "no selected items"})  # fmt: skip
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
                    wide_by_group[g] = tables.to_wide(rg, "participant", "item", "rating", source="ratings")
                rows.append(_group_reliability(wide_by_group[g], fam, dim, g, items, method, ci,
                                               min_items_alpha, min_items_omega, min_raters, sc))  # fmt: skip
    out = pd.DataFrame(rows).reindex(columns=VALUE_RELIABILITY_COLUMNS)
    groups = pd.to_numeric(out["group"], errors="coerce")
    if (groups.notna() == out["group"].notna()).all():
        out["group"] = groups.astype("Int64")
    for c in ("n_items", "n_reversed", "n_raters", "n_incomplete"):
        out[c] = out[c].astype("Int64")
    out["omega_heywood"] = out["omega_heywood"].astype("boolean")
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), None)
    out.attrs["scale"] = sc
    return out


def _group_reliability(
    group_wide, fam, dim, g, items, method, ci, min_alpha, min_omega, min_raters, scale
) -> dict:
    wide = group_wide.reindex(columns=pd.Index(items["item"]))
    rev = items["sign"].to_numpy() < 0
    if rev.any():
        wide.iloc[:, rev] = scale.reverse(wide.iloc[:, rev])
    x, _, _, n_incomplete = item_matrix(wide)
    n, k = x.shape
    row = {"family": fam, "dimension": dim, "group": g, "n_items": k,
           "n_reversed": int(rev.sum()), "n_raters": n, "n_incomplete": n_incomplete}  # fmt: skip
    reasons = []
    if n < min_raters:
        reasons.append(f"fewer than {min_raters} complete raters")
    elif k < min_alpha:
        reasons.append(f"alpha needs >= {min_alpha} items")
    elif np.var(x.sum(axis=1)) == 0:
        reasons.append("total score is constant")
    else:
        row.update(
            cronbach_alpha(x, ci=ci)
            .iloc[0][["alpha", "alpha_ci_low", "alpha_ci_high", "std_alpha", "average_r"]]
            .to_dict()
        )
    if n >= min_raters and k < min_omega:
        reasons.append(f"omega needs >= {min_omega} items")
    elif n >= min_raters and (x.std(axis=0) == 0).any():
        reasons.append("omega undefined: a constant item")
    elif n >= min_raters:
        om = omega_total(x, method=method).iloc[0]
        row.update(omega=om.omega, omega_observed=om.omega_observed, omega_heywood=bool(om.heywood))
        if om.heywood:
            reasons.append("omega: Heywood case (a uniqueness at the 0.005 bound)")
        if not om.converged:
            reasons.append("omega: factor fit did not converge")
    row["reason"] = "; ".join(reasons) if reasons else None
    return row
