"""Exploratory factor analysis (EFA) of an item set, its sampling adequacy, the number of factors.

Every function takes a wide :class:`pandas.DataFrame` (one row per respondent,
one column per item, numbers or missing; e.g. :func:`vp_stats.io.tables.read_item_matrix`)
and returns tidy DataFrames. Each statistic is the quantity of the R package
psych (Revelle) named below, and the test suite checks it against psych on the
``bfi`` data (psychTools) and a Value Portrait item set.

Statistics
----------
- :func:`efa` -- ``psych::fa``. Extraction by minimum residual (``"minres"``:
  least squares on the off-diagonal correlations, Harman & Jones 1966),
  maximum likelihood (``"ml"``, Joreskog 1967; the ``factanal`` criterion) or
  iterated principal axis (``"pa"``); rotation ``"oblimin"`` (direct
  quartimin, gamma = 0, Jennrich 2002; ``GPArotation::oblimin``),
  ``"promax"`` (Hendrickson & White 1964, power 4), ``"varimax"`` (Kaiser 1958)
  or ``"none"``. Outputs: pattern loadings, communalities ``h2`` and
  uniquenesses ``u2 = 1 - h2`` (``fa()$communality``, ``$uniquenesses``), the
  variance accounted for (``fa()$Vaccounted``: SS loadings, Proportion Var,
  Cumulative Var) and the factor correlations (``fa()$Phi``).
- :func:`adequacy` -- the Kaiser-Meyer-Olkin measure of sampling adequacy,
  overall and per item (Kaiser 1970; Kaiser & Rice 1974; ``psych::KMO``,
  ``MSA`` and ``MSAi``) and Bartlett's (1951) test of sphericity
  ``chi2 = -(n - 1 - (2p + 5)/6) ln|R|`` on ``p(p - 1)/2`` df
  (``psych::cortest.bartlett``).
- :func:`parallel_analysis` -- Horn's (1965) parallel analysis as
  ``psych::fa.parallel`` (``sim = TRUE``): observed eigenvalues against the
  ``quantile`` (default 0.95) of eigenvalues of seeded random normal data of
  the same size. See the function for what is compared.
- :func:`polychoric_correlations` -- two-step maximum likelihood polychoric
  correlations (Olsson 1979) as ``psych::polychoric``.
- :func:`correlations` -- the correlation matrix every statistic starts from:
  Pearson (listwise complete respondents, or pairwise as R's
  ``cor(use = "pairwise")``) or polychoric.

Implementation and where it differs from the libraries
------------------------------------------------------
The fitting itself (extraction, rotation, psych's factor signs and order) is
:mod:`vp_stats.stats.factor_engine`, the one factor-analysis engine, which
omega and the Schmid-Leiman solution of :mod:`vp_stats.stats.reliability` use too.
minres and ml extraction and the three rotations come from factor_analyzer,
checked against psych (loadings to about 5e-6 on ``bfi``; 1e-4 for ml on the
46 respondents of the Value Portrait set, where the likelihood is flat). What
factor_analyzer does not do as psych does is done here:

- ``"pa"``: factor_analyzer's ``method="principal"`` is a principal
  *components* solution (loadings are correlations with the components), not
  psych's iterated principal axis factoring; :func:`efa` iterates principal
  axes itself with psych's start (squared multiple correlations) and stopping
  rule (change of the summed communalities below ``0.001``, at most 50
  iterations), so it reproduces ``fa(fm = "pa")`` including its early stop.
- factor order and sign: factor_analyzer orders oblique factors by the column
  sums of squared *pattern* loadings and leaves ``phi_`` in the pre-ordering
  order; psych orders by the variance accounted for ``diag(Phi L'L)`` and
  reorders ``Phi`` with the loadings. :func:`efa` rotates with
  :class:`factor_analyzer.Rotator` and then flips signs (column sums positive)
  and orders the factors as psych does.
- normalisation: ``Rotator(normalize=True)`` Kaiser-normalises the rows for
  varimax and promax, as ``stats::varimax`` (``normalize = TRUE``) and psych's
  ``kaiser(rotate = "Promax")`` do; without it varimax and promax differ from
  psych by about 0.1 in the loadings on ``bfi``. factor_analyzer's oblimin
  ignores ``normalize`` (no Kaiser normalisation), which is what psych::fa
  does (``GPArotation::oblimin`` with its default ``normalize = FALSE``);
  SPSS's Kaiser-normalised oblimin is not offered.
- factor_analyzer computes its own correlations (median-imputing missing
  cells); :func:`efa` passes it the correlation matrix instead.
- polychoric: semopy's ``polycorr`` and girth's polychoric both call
  ``scipy.stats.mvn.mvnun``, which the installed SciPy no longer has, so the
  estimator is written here (vectorised bivariate normal probabilities from
  Owen's T function, :func:`scipy.special.owens_t`) and tested against
  ``psych::polychoric``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from vp_stats.stats import factor
>>> rng = np.random.default_rng(0)
>>> lam = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .8], [0, .7], [0, .6]])
>>> x = pd.DataFrame(rng.standard_normal((500, 2)) @ lam.T + .6 * rng.standard_normal((500, 6)),
...                  columns=list("abcdef"))
>>> res = factor.efa(x, 2, method="minres", rotation="oblimin")
>>> print(res.loading_matrix().round(2))
        F1    F2
item
a     0.74  0.04
b     0.76 -0.01
c     0.77 -0.03
d    -0.01  0.81
e     0.04  0.74
f    -0.03  0.68
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from vp_stats import tables
from vp_stats.errors import TableError
from vp_stats.stats.factor_engine import (
    OBLIQUE_ROTATIONS,
    extract,
    fit_efa,
)
from vp_stats.stats.resampling import single_threaded_blas

log = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "ROTATIONS",
    "OBLIQUE_ROTATIONS",
    "MISSING",
    "Correlations",
    "EFAResult",
    "ParallelAnalysis",
    "item_frame",
    "correlations",
    "polychoric_correlations",
    "adequacy",
    "efa",
    "efa_dof",
    "parallel_analysis",
]

METHODS = ("minres", "ml", "pa")
ROTATIONS = ("oblimin", "promax", "varimax", "none")
MISSING = ("listwise", "pairwise")
MAX_POLY_CATEGORIES = 8  # psych::polychoric(max.cat)
PSYCH_OPTIMIZE_TOL = np.finfo(float).eps ** 0.25  # R's optimize() default tol


# --------------------------------------------------------------------------- options and input


def _check_options(
    *,
    method: str | None = None,
    rotation: str | None = None,
    missing: str | None = None,
    n_factors: object = None,
    n_items: int | None = None,
    n_iter: object = None,
    quantile: object = None,
) -> None:
    """Check every option of this module in one place: a bad one is a ValueError naming it."""
    for name, value, allowed in (
        ("method", method, METHODS),
        ("rotation", rotation, ROTATIONS),
        ("missing", missing, MISSING),
    ):
        if value is not None and value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    if n_factors is not None:
        if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
            raise ValueError(f"n_factors must be a whole number, got {n_factors!r}")
        if n_items is not None and not 1 <= n_factors <= n_items - 1:
            raise ValueError(
                f"n_factors must be between 1 and {n_items - 1} (the number of items less one) "
                f"for {n_items} items; got {n_factors}"
            )
    if n_iter is not None and (
        isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1
    ):
        raise ValueError(f"n_iter must be a whole number of at least 1, got {n_iter!r}")
    if quantile is not None and not (isinstance(quantile, (int, float)) and 0 < quantile < 1):
        raise ValueError(f"quantile must be a number strictly between 0 and 1, got {quantile!r}")


def item_frame(data, *, source: str = "items", min_items: int = 2) -> pd.DataFrame:
    """Check a respondents x items table and return it as floats (missing cells NaN).

    Parameters
    ----------
    data : DataFrame or 2-D array
        One row per respondent, one column per item (an array gets items
        ``item_1 ... item_k``).
    source : str
        Name of the table in error messages.
    min_items : int
        Fewest items accepted.

    Raises
    ------
    TableError
        A non-numeric or infinite cell (naming respondent and item), too few
        items, or duplicated item names.

    Examples
    --------
    >>> item_frame(pd.DataFrame({"a": [1, 2], "b": ["3", None]})).to_dict("list")
    {'a': [1.0, 2.0], 'b': [3.0, nan]}
    >>> try:
    ...     item_frame(pd.DataFrame({"a": [1, 2], "b": [3, "x"]}))
    ... except TableError as exc:
    ...     print(exc)
    items: row 1, field 'b': cannot read 'x' as a number
    """
    if not isinstance(data, pd.DataFrame):
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise TableError(
                source,
                None,
                None,
                f"expected a respondents x items table, got shape {arr.shape}",
                from_file=False,
            )
        data = pd.DataFrame(arr, columns=[f"item_{j + 1}" for j in range(arr.shape[1])])
    if data.columns.duplicated().any():
        dup = data.columns[data.columns.duplicated()][0]
        raise TableError(source, None, str(dup), "the item appears in two columns", from_file=False)
    if data.shape[1] < min_items:
        raise TableError(
            source,
            None,
            None,
            f"need at least {min_items} item columns, got {data.shape[1]}",
            from_file=False,
        )
    out = {}
    for c in data.columns:
        col = data[c]
        num = (
            pd.to_numeric(col, errors="coerce")
            if col.dtype == object or not pd.api.types.is_numeric_dtype(col)
            else col
        )
        num = num.astype(float)
        bad = num.isna() & col.notna()
        if bad.any():
            at = col.index[np.flatnonzero(bad.to_numpy())[0]]
            raise TableError(
                source, at, str(c), f"cannot read {col[at]!r} as a number", from_file=False
            )
        inf = np.isinf(num.to_numpy())
        if inf.any():
            at = col.index[np.flatnonzero(inf)[0]]
            raise TableError(source, at, str(c), f"infinite value {num[at]}", from_file=False)
        out[c] = num
    return pd.DataFrame(out, index=data.index)


# --------------------------------------------------------------------------- correlations


def _bvn_cdf(h, k, rho: float) -> np.ndarray:
    """P(X <= h, Y <= k) for a standard bivariate normal with correlation ``rho`` (|rho| < 1).

    Owen's (1956) formula ``Phi2 = (Phi(h) + Phi(k))/2 - T(h, a_h) - T(k, a_k) - delta/2``
    with ``a_h = (k - rho h) / (h sqrt(1 - rho^2))``, ``delta = 1`` if ``h k < 0`` or
    ``h k = 0`` and ``h + k < 0``; infinite limits give the margins.
    """
    h, k = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float))
    out = np.zeros(h.shape)
    ph, pk = special.ndtr(h), special.ndtr(k)
    fin = np.isfinite(h) & np.isfinite(k)
    out[np.isposinf(h) & ~np.isneginf(k)] = pk[np.isposinf(h) & ~np.isneginf(k)]
    out[np.isposinf(k) & ~np.isneginf(h)] = ph[np.isposinf(k) & ~np.isneginf(h)]
    hf, kf = h[fin], k[fin]
    s = np.sqrt(1.0 - rho * rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        ah = np.where(hf == 0, np.sign(kf) * np.inf, (kf - rho * hf) / (hf * s))
        ak = np.where(kf == 0, np.sign(hf) * np.inf, (hf - rho * kf) / (kf * s))
    delta = (hf * kf < 0) | ((hf * kf == 0) & (hf + kf < 0))
    val = (
        0.5 * (ph[fin] + pk[fin]) - special.owens_t(hf, ah) - special.owens_t(kf, ak) - 0.5 * delta
    )
    both0 = (hf == 0) & (kf == 0)
    val[both0] = 0.25 + np.arcsin(rho) / (2 * np.pi)
    out[fin] = np.clip(val, 0.0, 1.0)
    return out


def _cell_probabilities(rho: float, rc: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Probabilities of the (len(rc)+1) x (len(cc)+1) cells cut by thresholds ``rc``, ``cc``."""
    a = np.concatenate(([-np.inf], rc, [np.inf]))
    b = np.concatenate(([-np.inf], cc, [np.inf]))
    cdf = _bvn_cdf(a[:, None], b[None, :], rho)
    return cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1]


def _polychoric_pair(tab: np.ndarray, rc: np.ndarray, cc: np.ndarray, tol: float) -> float:
    """Maximise ``sum(tab * log P(rho))`` over rho in (-1, 1).

    As psych's ``polyF``: cells with P <= 0 drop out.
    """

    def nll(rho):
        p = _cell_probabilities(rho, rc, cc)
        ok = p > 0
        return -float(np.sum(tab[ok] * np.log(p[ok])))

    res = optimize.minimize_scalar(
        nll, bounds=(-1.0, 1.0), method="bounded", options={"xatol": tol}
    )
    return float(res.x)


def _cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """``psych::cor.smooth``: lift eigenvalues below ``eig_tol`` of a non-PD matrix."""
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r, False
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * len(vals) / vals.sum()
    s = (vecs * vals) @ vecs.T
    d = np.sqrt(np.diag(s))
    return s / np.outer(d, d), True


def _polychoric_matrix(r, codes, tau, n_cat, global_, correct, tol, names) -> None:
    """Fill ``r`` with the pairwise polychoric correlations (:func:`polychoric_correlations`)."""
    p = r.shape[0]
    for i in range(1, p):
        for j in range(i):
            ok = ~np.isnan(codes[:, i]) & ~np.isnan(codes[:, j])
            tab = np.zeros((n_cat, n_cat))
            np.add.at(tab, (codes[ok, i].astype(int), codes[ok, j].astype(int)), 1.0)
            tot = tab.sum()
            if tot == 0:
                raise ValueError(
                    f"items {names[i]!r} and {names[j]!r} have no respondent in common"
                )
            tab /= tot
            if global_:
                rc, cc = tau[:, i], tau[:, j]
            else:
                tab = tab[tab.sum(1) > 0][:, tab.sum(0) > 0]
                if min(tab.shape) < 2:
                    raise ValueError(
                        f"items {names[i]!r} and {names[j]!r}: a single category in their "
                        "common answers, no polychoric correlation"
                    )
                if correct > 0 and np.any(tab == 0):
                    tab[tab == 0] = correct / tot
                rc = stats.norm.ppf(np.cumsum(tab.sum(1))[:-1])
                cc = stats.norm.ppf(np.cumsum(tab.sum(0))[:-1])
            r[i, j] = r[j, i] = _polychoric_pair(tab, rc, cc, tol)


@dataclass(frozen=True)
class Correlations(tables.Result):
    """An item correlation matrix and how it was computed (:func:`correlations`).

    Attributes
    ----------
    table : DataFrame
        Items x items correlation matrix.
    n_obs : int
        Respondents used (pairwise: every respondent with an answer, as psych's ``n.obs``).
    kind : {"pearson", "polychoric"}
    missing : {"listwise", "pairwise"}
    thresholds : DataFrame or None
        Polychoric only: items x cut points, the global thresholds ``qnorm(cumsum(p))``.
    global_thresholds : bool or None
        Polychoric only: whether the thresholds are global (psych) rather than per pair.
    smoothed : bool
        Polychoric only: the matrix was smoothed as ``psych::cor.smooth``.

    Examples
    --------
    >>> c = correlations(pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]}))
    >>> c.n_obs, c.kind, round(float(c.summary_frame().loc["a", "b"]), 6)
    (4, 'pearson', 0.6)
    """

    n_obs: int = 0
    kind: str = "pearson"
    missing: str = "listwise"
    thresholds: pd.DataFrame | None = None
    global_thresholds: bool | None = None
    smoothed: bool = False

    def matrix(self) -> np.ndarray:
        """The correlations as a float array."""
        return self.table.to_numpy(dtype=float)


def polychoric_correlations(
    data: pd.DataFrame, *, correct: float = 0.5, smooth: bool = True, tol: float = 1e-8
) -> pd.DataFrame:
    """Polychoric correlations of ordinal items, as ``psych::polychoric``.

    Two-step maximum likelihood (Olsson, 1979, *Psychometrika* 44, 443-460):
    each item's thresholds are the normal quantiles of its cumulative category
    proportions, ``tau = qnorm(cumsum(p))``; then for each pair of items the
    correlation ``rho`` of the bivariate normal maximises
    ``sum_ij f_ij log P_ij(rho)`` over the pair's contingency table ``f``
    (``psych:::polyF``; cells of probability 0 drop out).

    As psych: categories are the integers from the smallest to the largest
    value in the data (at most 8); thresholds are "global" (from all of an
    item's answers) when every item reaches the same top category, else
    "local" for each pair (from the pair's table, with all-empty rows and
    columns dropped and empty cells set to ``correct / n`` -- psych's
    continuity correction, used only in that case). A matrix that is not
    positive definite is smoothed as ``psych::cor.smooth`` (eigenvalues
    below 1e-12 raised, rescaled to a correlation matrix).

    Parameters
    ----------
    data : DataFrame
        Respondents x items, integer categories; missing cells are left out
        pair by pair (thresholds from each item's answers).
    correct : float
        Continuity correction for empty cells (local thresholds only).
    smooth : bool
        Smooth a non positive definite result.
    tol : float
        Absolute tolerance of the one-dimensional optimisation of each rho
        (Brent's method, :func:`scipy.optimize.minimize_scalar`). R's
        ``optimize`` default, which psych uses, is about 1.2e-4
        (:data:`PSYCH_OPTIMIZE_TOL`); with that value the two agree to about 1e-9.

    Returns
    -------
    Correlations
        ``table`` the items x items correlation matrix, ``thresholds`` (items x cut
        points, global thresholds), ``global_thresholds``, ``smoothed`` and ``n_obs``
        (respondents with an answer).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=2000)
    >>> x = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> float(round(polychoric_correlations(x).table.loc["a", "b"], 2))
    0.59
    """
    x = item_frame(data, source="items")
    vals = x.to_numpy()
    seen = vals[~np.isnan(vals)]
    if seen.size == 0:
        raise ValueError("polychoric correlations need answers; the table has none")
    if not np.all(seen == np.round(seen)):
        j = int(np.argwhere(~np.isnan(vals) & (vals != np.round(vals)))[0][1])
        raise ValueError(
            f"polychoric correlations need integer categories; item {x.columns[j]!r} has "
            f"non-integer values"
        )
    lo, hi = int(seen.min()), int(seen.max())
    n_cat = hi - lo + 1
    if n_cat > MAX_POLY_CATEGORIES:
        raise ValueError(
            f"polychoric correlations are for at most {MAX_POLY_CATEGORIES} categories; the items "
            f"span {lo}..{hi} ({n_cat} categories)"
        )
    codes = vals - lo  # 0 .. n_cat - 1, NaN for missing
    p = codes.shape[1]
    for j in range(p):
        col = codes[:, j][~np.isnan(codes[:, j])]
        if col.size < 2 or np.all(col == col[0]):
            raise ValueError(
                f"item {x.columns[j]!r} has no variance; polychoric correlations need at least "
                "two categories"
            )
    item_max = np.nanmax(codes, axis=0)
    global_ = bool(item_max.min() == item_max.max())
    freq = np.stack(
        [
            np.bincount(codes[:, j][~np.isnan(codes[:, j])].astype(int), minlength=n_cat)
            for j in range(p)
        ],
        1,
    )
    with np.errstate(divide="ignore"):
        tau = stats.norm.ppf(np.cumsum(freq / freq.sum(0), axis=0)[:-1])  # (n_cat - 1) x p
    r = np.eye(p)
    with single_threaded_blas():
        _polychoric_matrix(r, codes, tau, n_cat, global_, correct, tol, x.columns)
    smoothed = False
    if smooth:
        r, smoothed = _cor_smooth(r)
    return Correlations(
        table=pd.DataFrame(r, index=x.columns, columns=x.columns),
        n_obs=int(x.notna().any(axis=1).sum()),
        kind="polychoric",
        missing="pairwise",
        thresholds=pd.DataFrame(tau.T, index=x.columns, columns=[f"t{c}" for c in range(1, n_cat)]),
        global_thresholds=global_,
        smoothed=smoothed,
    )


def _complete(x: pd.DataFrame, missing: str) -> pd.DataFrame:
    if missing == "listwise":
        x = x.dropna(how="any")
    else:
        x = x.dropna(how="all")
    return x


def correlations(
    data: pd.DataFrame, *, polychoric: bool = False, missing: str = "listwise"
) -> pd.DataFrame:
    """The item correlation matrix the EFA statistics start from.

    Parameters
    ----------
    data : DataFrame
        Respondents x items.
    polychoric : bool
        Polychoric (:func:`polychoric_correlations`) instead of Pearson correlations.
    missing : {"listwise", "pairwise"}
        Use the respondents who answered every item (the default), or every
        pair of answers (``cor(use = "pairwise")``, psych::fa's default).

    Returns
    -------
    Correlations
        ``table`` items x items; ``n_obs`` the number of respondents used
        (pairwise: every respondent with an answer, as psych's ``n.obs``); ``kind``,
        ``missing`` and, for polychoric correlations, the thresholds.

    Raises
    ------
    ValueError
        An item without variance, too few respondents, or a correlation that
        cannot be computed.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, None], "b": [2, 1, 4, 3, 5]})
    >>> r = correlations(x)
    >>> float(round(r.table.loc["a", "b"], 3)), r.n_obs
    (0.6, 4)
    """
    _check_options(missing=missing)
    x = _complete(item_frame(data), missing)
    if len(x) < 3:
        raise ValueError(
            f"need at least 3 respondents with answers ({missing} deletion), got {len(x)}"
        )
    sd = x.std()
    flat = sd.index[~(sd > 0)]
    if len(flat):
        raise ValueError(
            f"item {flat[0]!r} has no variance ({missing} deletion): it cannot be correlated"
        )
    poly = None
    if polychoric:
        poly = polychoric_correlations(x)
        r = poly.table
    else:
        r = (
            x.corr(method="pearson")
            if missing == "pairwise"
            else pd.DataFrame(
                np.corrcoef(x.to_numpy(), rowvar=False), index=x.columns, columns=x.columns
            )
        )
    if r.isna().any().any():
        i, j = np.argwhere(r.isna().to_numpy())[0]
        raise ValueError(
            f"items {r.index[i]!r} and {r.columns[j]!r} have too few answers in common to be "
            "correlated"
        )
    return Correlations(
        table=r,
        n_obs=int(len(x)),
        kind="polychoric" if polychoric else "pearson",
        missing=missing,
        thresholds=None if poly is None else poly.thresholds,
        global_thresholds=None if poly is None else poly.global_thresholds,
        smoothed=False if poly is None else poly.smoothed,
    )


MIN_EIGENVALUE = 1e-12  # below: singular (psych::cor.smooth lifts eigenvalues to 1e-10)


def _require_pd(r: np.ndarray, n_obs: int) -> None:
    if not np.linalg.eigvalsh(r).min() > MIN_EIGENVALUE:
        raise ValueError(
            "the item correlation matrix is singular or not positive definite "
            f"({r.shape[0]} items, "
            f"{n_obs} respondents): use more respondents or fewer (or less redundant) items"
        )


# --------------------------------------------------------------------------- sampling adequacy


def _kmo(r: np.ndarray) -> tuple[float, np.ndarray]:
    """``psych::KMO``: MSA = sum r^2 / (sum r^2 + sum q^2) off the diagonal.

    ``q`` are the partial (anti-image) correlations.
    """
    q = np.linalg.inv(r)
    d = np.sqrt(np.diag(q))
    q = q / np.outer(d, d)  # anti-image correlations up to sign (squared below)
    r0, q0 = r.copy(), q
    np.fill_diagonal(r0, 0.0)
    np.fill_diagonal(q0, 0.0)
    r2, q2 = (r0**2).sum(0), (q0**2).sum(0)
    return float(r2.sum() / (r2.sum() + q2.sum())), r2 / (r2 + q2)


def _bartlett(r: np.ndarray, n: int) -> tuple[float, int, float]:
    """``psych::cortest.bartlett``: chi2 = -(n - 1 - (2p + 5)/6) log det R, df = p(p - 1)/2."""
    p = r.shape[0]
    _, logdet = np.linalg.slogdet(r)
    chi2 = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) // 2
    return float(chi2), int(df), float(stats.chi2.sf(chi2, df))


def adequacy(
    data: pd.DataFrame, *, polychoric: bool = False, missing: str = "listwise"
) -> pd.DataFrame:
    """Sampling adequacy of an item set: KMO (overall and per item) and Bartlett's sphericity test.

    The Kaiser-Meyer-Olkin measure (Kaiser 1970; Kaiser & Rice 1974,
    *Educ. Psychol. Meas.* 34, 111-117) compares the squared correlations with
    the squared partial (anti-image) correlations ``q`` from the inverse
    correlation matrix: ``MSA = sum r^2 / (sum r^2 + sum q^2)`` over the
    off-diagonal elements, per item over its column (``psych::KMO``: ``MSA``,
    ``MSAi``). Bartlett's (1951) test of sphericity ``H0: R = I`` is
    ``chi2 = -(n - 1 - (2p + 5) / 6) ln|R|`` on ``p (p - 1) / 2`` degrees of
    freedom (``psych::cortest.bartlett``; n the respondents used).

    Parameters
    ----------
    data : DataFrame
        Respondents x items.
    polychoric, missing
        The correlations, as :func:`correlations`.

    Returns
    -------
    DataFrame
        Tidy: ``statistic`` (``kmo``, ``bartlett_chi2``, ``bartlett_df``,
        ``bartlett_p``, ``n_obs``), ``item`` (the item of a per-item KMO, else
        missing) and ``value``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((300, 1)) + rng.standard_normal((300, 4))
    >>> t = adequacy(pd.DataFrame(z, columns=list("abcd")))
    >>> whole = t[t.item.isna()].round(3)
    >>> whole.statistic.tolist()
    ['kmo', 'bartlett_chi2', 'bartlett_df', 'bartlett_p', 'n_obs']
    >>> whole.value.tolist()
    [0.797, 381.217, 6.0, 0.0, 300.0]
    """
    _check_options(missing=missing)
    rdf = correlations(data, polychoric=polychoric, missing=missing)
    r, n = rdf.matrix(), rdf.n_obs
    _require_pd(r, n)
    overall, per_item = _kmo(r)
    chi2, df, pval = _bartlett(r, n)
    rows = [("kmo", np.nan, overall)] + [
        ("kmo", it, v) for it, v in zip(rdf.table.columns, per_item, strict=True)
    ]
    rows += [
        ("bartlett_chi2", np.nan, chi2),
        ("bartlett_df", np.nan, float(df)),
        ("bartlett_p", np.nan, pval),
        ("n_obs", np.nan, float(n)),
    ]
    out = pd.DataFrame(rows, columns=["statistic", "item", "value"])
    out["item"] = out["item"].astype(object)
    return out


# -------------------------------------------------------------------------- extraction and rotation


@dataclass
class EFAResult:
    """An exploratory factor analysis, as tidy tables (see :func:`efa`).

    Attributes
    ----------
    loadings : DataFrame
        ``item, factor, loading``: pattern loadings (``fa()$loadings``).
    communalities : DataFrame
        ``item, communality, uniqueness`` (``$communality``, ``$uniquenesses``).
    variance : DataFrame
        ``factor, ss_loadings, proportion, cumulative`` (``$Vaccounted``).
    factor_correlations : DataFrame
        ``factor_1, factor_2, r`` for each pair (``$Phi``); empty unless oblique.
    correlation : DataFrame
        The item correlation matrix analysed (``n_obs`` respondents).
    correlation_type : {"pearson", "polychoric"}
        What ``correlation`` holds.
    """

    loadings: pd.DataFrame
    communalities: pd.DataFrame
    variance: pd.DataFrame
    factor_correlations: pd.DataFrame
    correlation: pd.DataFrame
    n_factors: int
    method: str
    rotation: str
    n_obs: int
    converged: bool
    heywood: list = field(default_factory=list)
    correlation_type: str = "pearson"

    def summary_frame(self) -> pd.DataFrame:
        """Items x factors loadings with ``communality`` and ``uniqueness``: the table to print."""
        m = self.loading_matrix()
        comm = self.communalities.set_index("item").loc[m.index]
        return m.assign(communality=comm["communality"], uniqueness=comm["uniqueness"])

    @property
    def dof(self) -> int:
        """The model's degrees of freedom, psych::fa's ``dof``: ``p(p - 1)/2 - p k + k(k - 1)/2``.

        The correlations to fit minus the free parameters (``p`` items, ``k`` factors); at 0 or
        below the model has no test: chi-square, RMSEA and TLI are undefined (psych gives
        ``PVAL`` NA), and :func:`efa` logs a warning.

        Examples
        --------
        >>> efa_dof(n_items=5, n_factors=2), efa_dof(n_items=5, n_factors=3)
        (1, -2)
        """
        return efa_dof(self.correlation.shape[1], self.n_factors)

    @property
    def oblique(self) -> bool:
        """Whether the factors may correlate (an oblique rotation of two or more factors)."""
        return self.rotation in OBLIQUE_ROTATIONS and self.n_factors > 1

    def loading_matrix(self) -> pd.DataFrame:
        """The loadings as an items x factors matrix (items in data order)."""
        m = self.loadings.pivot(index="item", columns="factor", values="loading")
        m = m.loc[list(self.correlation.index), list(self.variance["factor"])]
        m.columns.name, m.index.name = None, "item"
        return m

    def phi_matrix(self) -> pd.DataFrame | None:
        """The factor correlations as a factors x factors matrix (None unless oblique)."""
        if not self.oblique:
            return None
        names = list(self.variance["factor"])
        m = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for a, b, v in self.factor_correlations.itertuples(index=False):
            m.loc[a, b] = m.loc[b, a] = v
        return m


def efa_dof(n_items: int, n_factors: int) -> int:
    """Degrees of freedom of a ``n_factors`` model of ``n_items`` items (psych::fa's ``dof``).

    ``p(p - 1)/2 - p k + k(k - 1)/2``: the distinct correlations minus the loadings, less the
    ``k(k - 1)/2`` rotational indeterminacy (Lawley & Maxwell, 1971, *Factor Analysis as a
    Statistical Method*, sec. 2.3; psych::fa computes ``dof`` so).

    Examples
    --------
    >>> efa_dof(6, 2), efa_dof(6, 3), efa_dof(4, 2)
    (4, 0, -1)
    """
    p, k = int(n_items), int(n_factors)
    return p * (p - 1) // 2 - p * k + k * (k - 1) // 2


def efa(
    data: pd.DataFrame,
    n_factors: int,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    polychoric: bool = False,
    missing: str = "listwise",
) -> EFAResult:
    """Exploratory factor analysis as ``psych::fa(r, nfactors, fm = method, rotate = rotation)``.

    The common factor model ``R = L Phi L' + U^2`` is fitted to the item
    correlations ``R``:

    - ``"minres"``: minimise the squared off-diagonal residuals (Harman &
      Jones, 1966, *Psychometrika* 31, 351-368);
    - ``"ml"``: maximise the normal likelihood, i.e. minimise
      ``sum(log e - e) over the p - k smallest eigenvalues e of U^-1 R U^-1``
      (Joreskog, 1967, *Psychometrika* 32, 443-482; R's ``factanal``);
    - ``"pa"``: iterated principal axes (Harman, 1976, *Modern Factor
      Analysis*, ch. 8), stopped as psych stops it (see the module notes).

    Uniquenesses are bounded to [0.005, 1] (minres, ml), both started from the
    squared multiple correlations. The loadings are then rotated: varimax
    (Kaiser, 1958, *Psychometrika* 23, 187-200; Kaiser-normalised as
    ``stats::varimax``), promax (Hendrickson & White, 1964, *Br. J. Stat.
    Psychol.* 17, 65-70; power 4 on the Kaiser-normalised varimax solution, as
    psych's ``kaiser(rotate = "Promax")``) or oblimin (direct quartimin by
    gradient projection, Jennrich, 2002, *Psychometrika* 67, 7-19; not
    normalised, as ``GPArotation::oblimin``). Factors are signed so their
    loadings sum positive and ordered by the variance they account for,
    ``diag(Phi L'L)`` (psych). ``communality = rowSums(L0^2)`` of the unrotated
    solution (rotation leaves it unchanged), ``uniqueness = 1 - communality``;
    ``proportion = ss_loadings / p``.

    Parameters
    ----------
    data : DataFrame
        Respondents x items (numbers; missing cells allowed).
    n_factors : int
        Number of factors, 1 .. items - 1 (see :func:`parallel_analysis`).
    method : {"minres", "ml", "pa"}
    rotation : {"oblimin", "promax", "varimax", "none"}
        No rotation with one factor.
    polychoric : bool
        Factor polychoric instead of Pearson correlations (ordinal items).
    missing : {"listwise", "pairwise"}
        See :func:`correlations`.

    Returns
    -------
    EFAResult
        Tidy ``loadings``, ``communalities``, ``variance``,
        ``factor_correlations`` (oblique rotations), the analysed
        ``correlation`` matrix, ``converged`` and ``heywood`` (items with a
        communality of 1 or more), ``dof`` (psych's; at 0 or below the model has
        no test, and a warning is logged on the ``vp_stats.stats.factor`` logger).

    Raises
    ------
    ValueError
        An unknown option, ``n_factors`` out of range, or a singular
        correlation matrix.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lam = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .8], [0, .7], [0, .6]])
    >>> x = pd.DataFrame(rng.standard_normal((500, 2)) @ lam.T + .6 * rng.standard_normal((500, 6)),
    ...                  columns=list("abcdef"))
    >>> res = efa(x, 2, method="ml", rotation="promax")
    >>> v = res.variance.round(3)
    >>> v.factor.tolist(), v.ss_loadings.tolist()
    (['F1', 'F2'], [1.713, 1.681])
    >>> v.proportion.tolist(), v.cumulative.tolist()
    ([0.285, 0.28], [0.285, 0.566])
    >>> res.factor_correlations.round(3).to_dict("records")
    [{'factor_1': 'F1', 'factor_2': 'F2', 'r': -0.026}]
    """
    _check_options(method=method, rotation=rotation, missing=missing)
    rdf = correlations(data, polychoric=polychoric, missing=missing)
    items = list(rdf.table.columns)
    _check_options(n_factors=n_factors, n_items=len(items))
    r, n = rdf.matrix(), rdf.n_obs
    _require_pd(r, n)
    k = int(n_factors)
    dof = efa_dof(len(items), k)
    if dof <= 0:
        log.warning(
            "%d factors of %d items leave %d degrees of freedom: the model has no test (chi2, "
            "RMSEA, TLI undefined); use fewer factors or more items",
            k,
            len(items),
            dof,
        )
    with single_threaded_blas():
        loadings, phi, ss, h2, converged = fit_efa(r, k, method, rotation)
    names = [f"F{j + 1}" for j in range(k)]
    p = len(items)
    lt = pd.DataFrame(
        {"item": np.repeat(items, k), "factor": names * p, "loading": loadings.ravel()}
    )
    comm = pd.DataFrame({"item": items, "communality": h2, "uniqueness": 1.0 - h2})
    var = pd.DataFrame(
        {"factor": names, "ss_loadings": ss, "proportion": ss / p, "cumulative": np.cumsum(ss / p)}
    )
    if phi is not None:
        a, b = np.triu_indices(k, 1)
        fc = pd.DataFrame(
            {"factor_1": [names[i] for i in a], "factor_2": [names[j] for j in b], "r": phi[a, b]}
        )
    else:
        fc = pd.DataFrame(
            {
                "factor_1": pd.Series(dtype=object),
                "factor_2": pd.Series(dtype=object),
                "r": pd.Series(dtype=float),
            }
        )
    heywood = [it for it, v in zip(items, h2, strict=True) if v >= 1.0 - 1e-9]
    return EFAResult(
        loadings=lt,
        communalities=comm,
        variance=var,
        factor_correlations=fc,
        correlation=rdf.table,
        n_factors=k,
        method=method,
        rotation=rotation,
        n_obs=n,
        converged=converged,
        heywood=heywood,
        correlation_type=rdf.kind,
    )


# --------------------------------------------------------------------------- number of factors


def _fa_values(r: np.ndarray, method: str) -> np.ndarray:
    """psych's ``fa(r, nfactors = 1, rotate = "none", fm)$values``.

    The eigenvalues of R with the one-factor communalities on the diagonal.
    """
    loadings, _ = extract(r, 1, method)
    s = r.copy()
    np.fill_diagonal(s, (loadings**2).sum(1))
    return np.linalg.eigvalsh(s)[::-1]


@dataclass(frozen=True)
class ParallelAnalysis(tables.Result):
    """Horn's parallel analysis (:func:`parallel_analysis`): eigenvalues and suggested numbers.

    Attributes
    ----------
    table : DataFrame
        One row per eigenvalue ``number``: ``observed_pc``, ``simulated_pc_mean``,
        ``simulated_pc_quantile``, ``observed_fa``, ``simulated_fa_mean``,
        ``simulated_fa_quantile``.
    n_factors, n_components : int
        The suggested numbers of factors and components.
    n_obs, n_iter, quantile, seed, method
        The respondents used and the options of the run.
    """

    n_factors: int = 0
    n_components: int = 0
    n_obs: int = 0
    n_iter: int = 0
    quantile: float = 0.95
    seed: int = 0
    method: str = "minres"


def parallel_analysis(
    data: pd.DataFrame,
    *,
    method: str = "minres",
    n_iter: int = 20,
    quantile: float = 0.95,
    seed: int = 0,
    polychoric: bool = False,
    missing: str = "listwise",
) -> pd.DataFrame:
    """Number of factors and components by Horn's (1965) parallel analysis (``psych::fa.parallel``).

    Compared (``fa.parallel(x, fm = method, n.iter, quant = quantile)``, its
    simulated-data reference):

    - components: the eigenvalues of the item correlation matrix ``R``;
    - factors: the eigenvalues of ``R`` with the communalities of a
      one-factor ``method`` solution on its diagonal (psych's
      ``fa(R, nfactors = 1)$values``, not the SMC-reduced matrix);

    against the same quantities from ``n_iter`` data sets of independent
    standard normal variables of the same size (respondents x items; Pearson
    correlations, also when ``polychoric``), drawn with
    :func:`numpy.random.default_rng` (``seed``). The suggested number is the
    count of leading observed eigenvalues above the ``quantile`` of the
    simulated ones (psych: ``which(!(fa.values > fa.sim.ci))[1] - 1``).
    psych's resampled-data reference is not computed. The simulated values
    vary with the random numbers (R's and numpy's differ), the counts rarely.

    Parameters
    ----------
    data : DataFrame
        Respondents x items.
    method : {"minres", "ml", "pa"}
        Estimator of the one-factor solution.
    n_iter : int
        Number of simulated data sets.
    quantile : float
        Quantile of the simulated eigenvalues an observed one must exceed.
    seed : int
        Seed of the random numbers.
    polychoric, missing
        The observed correlations, as :func:`correlations`.

    Returns
    -------
    ParallelAnalysis
        ``table`` with one row per eigenvalue ``number`` (``observed_pc``,
        ``simulated_pc_mean``, ``simulated_pc_quantile``, ``observed_fa``,
        ``simulated_fa_mean``, ``simulated_fa_quantile``); ``n_factors`` and
        ``n_components`` are the suggested numbers.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lam = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .8], [0, .7], [0, .6]])
    >>> x = pd.DataFrame(rng.standard_normal((500, 2)) @ lam.T + .6 * rng.standard_normal((500, 6)),
    ...                  columns=list("abcdef"))
    >>> pa = parallel_analysis(x, seed=1)
    >>> pa.n_factors, pa.n_components
    (2, 2)
    """
    _check_options(method=method, missing=missing, n_iter=n_iter, quantile=quantile)
    rdf = correlations(data, polychoric=polychoric, missing=missing)
    r, n = rdf.matrix(), rdf.n_obs
    _require_pd(r, n)
    p = r.shape[0]
    rng = np.random.default_rng(seed)
    sim_pc, sim_fa = np.empty((n_iter, p)), np.empty((n_iter, p))
    with single_threaded_blas():
        obs_pc, obs_fa = np.linalg.eigvalsh(r)[::-1], _fa_values(r, method)
        for it in range(n_iter):
            c = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
            sim_pc[it], sim_fa[it] = np.linalg.eigvalsh(c)[::-1], _fa_values(c, method)
    q_pc, q_fa = np.quantile(sim_pc, quantile, axis=0), np.quantile(sim_fa, quantile, axis=0)

    def count(obs, ref):
        above = obs > ref
        return int(p if above.all() else np.argmin(above))

    out = pd.DataFrame(
        {
            "number": np.arange(1, p + 1),
            "observed_pc": obs_pc,
            "simulated_pc_mean": sim_pc.mean(0),
            "simulated_pc_quantile": q_pc,
            "observed_fa": obs_fa,
            "simulated_fa_mean": sim_fa.mean(0),
            "simulated_fa_quantile": q_fa,
        }
    )
    return ParallelAnalysis(
        table=out,
        n_factors=count(obs_fa, q_fa),
        n_components=count(obs_pc, q_pc),
        n_obs=n,
        n_iter=n_iter,
        quantile=quantile,
        seed=seed,
        method=method,
    )
