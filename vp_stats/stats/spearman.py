"""The null distribution of Spearman's rho: exact, R's AS 89 and permutation p-values.

Three p-values of Spearman's rho, named for what they are:

``"t"``
    The t approximation with n - 2 degrees of freedom (:func:`scipy.stats.spearmanr`, R's
    ``cor.test(method = "spearman", exact = FALSE)``). Fine in the bulk; in the far tail at
    small n it is anti-conservative: with 47 raters and Likert ties, P(p < 1e-3) is about 1.2
    times nominal and P(p < 1e-4) about 1.2-1.4 times (permutation null, 400,000 permutations).
``"as89"``
    R's ``cor.test(method = "spearman", exact = TRUE)`` for untied data: the exact permutation
    distribution of S = sum of squared rank differences by enumeration for n <= 9, the Edgeworth
    series of Best & Roberts (1975, algorithm AS 89) above, the t approximation above n = 1290
    (as R). Valid without ties only (with ties S is not the statistic whose law it gives).
``"permutation"``
    The permutation distribution of rho given the observed ranks, ties included (raters' scores
    are permuted against their ratings): exact, by enumerating all n! orderings, for
    n <= :data:`EXACT_MAX_N`; above, Monte Carlo with ``n_perm`` seeded permutations and the
    ``(count + 1) / (n_perm + 1)`` estimator (Phipson & Smyth, 2010), itself a valid p-value
    (never below ``1 / (n_perm + 1)``). The two-sided p is twice the smaller tail, clipped at 1,
    as R's ``cor.test`` and :func:`scipy.stats.permutation_test`.

:func:`null_sf` gives P(rho > t) under the null for untied data at each n (exact n <= 9, AS 89
above): the expected number of null item x dimension pairs passing a threshold rule.

Why hand-written: scipy offers the t approximation (``spearmanr``) and a generic
:func:`scipy.stats.permutation_test` that tests one pair per call (equal here to 1e-12 where both
enumerate; see tests/stats/test_selection_errors.py). Validating items means thousands of pairs
that share their raters: here one permutation of a rater set serves every item x dimension of that
set at once (one matrix product), and the permutations of each n are drawn once per seed
(benchmarks/bench_spearman.py: a Value Portrait rater set, 760 pairs x 10,000 permutations, in
about 1 s; scipy pair by pair about 300 s, measured in the same run). AS 89 is
not in scipy (its Fortran source is, unexposed); it is needed to equal R's ``exact = TRUE``.

References
----------
Best, D. J. & Roberts, D. E. (1975). Algorithm AS 89: the upper tail probabilities of Spearman's
rho. Applied Statistics 24, 377-379 (R's ``src/library/stats/src/prho.c``).
Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero. Statistical
Applications in Genetics and Molecular Biology 9(1), 39.

Examples
--------
>>> from vp_stats.stats import spearman
>>> round(float(spearman.pvalue_as89(0.6, 9)), 6)  # R: cor.test(exact = TRUE), S = 48
0.096798
>>> round(float(spearman.null_sf(0.3, 47)), 4)  # P(rho > 0.3) under the null, 47 raters
0.0204
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from scipy import special

__all__ = [
    "EXACT_MAX_N",
    "AUTO_MAX_N",
    "P_METHODS",
    "prho",
    "null_sf",
    "pvalue_t",
    "pvalue_as89",
    "permutation_pvalues",
    "describe",
]

#: Largest n whose permutations are enumerated (9! = 362,880; R's ``prho`` enumerates to 9 too).
EXACT_MAX_N = 9
#: ``p_method="auto"`` uses permutation p-values below this n and the t approximation from it on.
#: At n = 100 the t approximation's tail error is a few per cent (P(p < 1e-3) 1.03 x nominal with
#: Likert ties), at 47 it is 20 %, at 20 over 20 % (1e-3) and 70 % (1e-4).
AUTO_MAX_N = 100
#: The p-value methods (see the module notes); ``auto``: permutation below AUTO_MAX_N, else t.
P_METHODS = ("auto", "permutation", "t", "as89")

# Edgeworth coefficients of AS 89
_C = (
    0.2274,
    0.2531,
    0.1745,
    0.0758,
    0.1033,
    0.3932,
    0.0879,
    0.0151,
    0.0072,
    0.0831,
    0.0131,
    4.6e-4,
)


@functools.cache
def _permutations(n: int) -> np.ndarray:
    """All n! orderings of range(n) (n <= EXACT_MAX_N), one per row."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.int8)


@functools.cache
def _s_distribution(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact law of S = sum (i - pi(i))^2 over the n! permutations: (values, cumulative counts)."""
    perms = _permutations(n).astype(np.int64)
    s = ((perms - np.arange(n)) ** 2).sum(axis=1)
    values, counts = np.unique(s, return_counts=True)
    return values, np.cumsum(counts)


def prho(s, n, lower_tail: bool = False) -> np.ndarray:
    """P(S >= s) (or P(S < s) with ``lower_tail``) of S = sum of squared rank differences.

    R's ``prho`` (AS 89): exact by enumeration for n <= 9, Edgeworth series above.

    Examples
    --------
    >>> float(prho(2, 3)), float(prho(2, 3, lower_tail=True))  # S in {0, 2, 2, 6, 6, 8}
    (0.8333333333333334, 0.16666666666666666)
    """
    s, n = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(n, dtype=float))
    out = np.full(s.shape, 0.0 if lower_tail else 1.0)
    n3 = n * (n * n - 1) / 3
    with np.errstate(invalid="ignore"):
        top = (s > n3) & (n > 1)
    out[top] = 1 - out[top]
    live = (n > 1) & (s > 0) & ~top
    for m in np.unique(n[live & (n <= EXACT_MAX_N)]):
        at = live & (n == m)
        values, cum = _s_distribution(int(m))
        below = np.searchsorted(values, s[at], side="left")  # count of S < s
        n_below = np.where(below > 0, cum[np.maximum(below - 1, 0)], 0)
        total = cum[-1]
        out[at] = (n_below if lower_tail else total - n_below) / total
    at = live & (n > EXACT_MAX_N)
    if at.any():
        y = n[at]
        b = 1 / y
        x = (6.0 * (s[at] - 1) * b / (y * y - 1) - 1) * np.sqrt(y - 1)
        y = x * x
        c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 = _C
        u = (
            x
            * b
            * (
                c1
                + b * (c2 + c3 * b)
                + y
                * (
                    -c4
                    + b * (c5 + c6 * b)
                    - y * b * (c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))
                )
            )
        )
        y = u / np.exp(y / 2)
        p = (-y if lower_tail else y) + (special.ndtr(x) if lower_tail else special.ndtr(-x))
        out[at] = np.clip(p, 0.0, 1.0)
    return out


def null_sf(threshold, n) -> np.ndarray:
    """P(rho > threshold) under the null of independence, untied data, at each n.

    Exact (enumeration) for n <= 9, AS 89's Edgeworth series above (R's ``exact = TRUE``);
    rho > t is S < (1 - t)(n^3 - n)/6, S even. NaN or n < 3 give 0.

    Examples
    --------
    >>> float(null_sf(0.5, 4))  # rho in {1, 0.8, 0.6} of 24 permutations: 1 + 3 + 1
    0.20833333333333334
    """
    t, n = np.broadcast_arrays(np.asarray(threshold, dtype=float), np.asarray(n, dtype=float))
    out = np.zeros(t.shape)
    ok = np.isfinite(t) & np.isfinite(n) & (n >= 3)
    nn = n[ok]
    s_t = (1 - t[ok]) * (nn**3 - nn) / 6
    even_below = 2 * np.ceil(s_t / 2 - 1e-9) - 2  # the largest even S strictly below s_t
    out[ok] = np.where(even_below < 0, 0.0, prho(even_below + 2, nn, lower_tail=True))
    return out


def pvalue_t(rho, n) -> np.ndarray:
    """Two-sided p of Spearman's rho by the t approximation (n - 2 dof), as scipy.

    Examples
    --------
    >>> from scipy.stats import spearmanr
    >>> x, y = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]
    >>> res = spearmanr(x, y)
    >>> bool(abs(pvalue_t(res.statistic, 6) - res.pvalue) < 1e-12)
    True
    """
    rho = np.asarray(rho, dtype=float)
    dof = np.asarray(n, dtype=float) - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt(dof / ((rho + 1.0) * (1.0 - rho)))
    return 2 * special.stdtr(dof, -np.abs(t))  # scipy.stats.t.sf, without importing scipy.stats


def pvalue_as89(rho, n) -> np.ndarray:
    """Two-sided p of Spearman's rho as R's ``cor.test(method = "spearman", exact = TRUE)``.

    S = (n^3 - n)(1 - rho)/6; the tail on the side of the observation (exact n <= 9, AS 89
    above, t above n = 1290), doubled and clipped at 1. For untied data.

    Examples
    --------
    >>> round(float(pvalue_as89(-0.2, 12)), 6)  # R: 0.535464
    0.535464
    """
    rho, n = np.broadcast_arrays(np.asarray(rho, dtype=float), np.asarray(n, dtype=float))
    out = np.full(rho.shape, np.nan)
    ok = np.isfinite(rho) & np.isfinite(n) & (n >= 2)
    big = ok & (n > 1290)
    out[big] = pvalue_t(rho[big], n[big])
    at = ok & ~big
    nn = n[at]
    q = np.round((nn**3 - nn) * (1 - rho[at]) / 6, 6)
    upper = q > (nn**3 - nn) / 6
    p = np.where(
        upper,
        prho(np.round(q), nn, lower_tail=False),
        prho(np.round(q) + 2, nn, lower_tail=True),
    )
    out[at] = np.minimum(2 * p, 1.0)
    return out


def _standard_ranks(x: np.ndarray) -> np.ndarray:
    """Column ranks (ties averaged), centred and scaled to unit length; constant columns NaN."""
    from scipy import stats  # imported here: scipy.stats costs about 0.9 s of every CLI start

    r = stats.rankdata(x, axis=0)
    r = r - r.mean(axis=0)
    norm = np.sqrt((r * r).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, r / norm, np.nan)


@functools.lru_cache(maxsize=8)
def _random_orderings(n: int, n_perm: int, seed: int, stage: int, inverse: bool) -> np.ndarray:
    """``n_perm`` seeded random orderings of range(n), one per row (read-only, cached).

    They depend on (n, n_perm, seed, stage) only, so every rater set of n raters sees the same
    permutations whatever the order in which the sets are processed. ``inverse``: the inverse
    of each ordering (permuting x by the inverse is permuting y by the ordering).
    """
    if inverse:
        perms = np.argsort(_random_orderings(n, n_perm, seed, stage, False), axis=1)
        perms = perms.astype(np.int32)
    else:
        rng = np.random.default_rng([seed, n, stage])
        perms = rng.permuted(np.tile(np.arange(n, dtype=np.int32), (n_perm, 1)), axis=1)
    perms.flags.writeable = False
    return perms


def _tail_counts(xs, ys, rho, n_perm, seed, stage):
    """Counts of permuted rho >= and <= the observed (y's rows permuted; exact for n <= 9).

    The side with fewer columns is the one gathered (x by the inverse orderings: the same
    statistics), so the counts do not depend on how many items or dimensions come together.
    """
    n = xs.shape[0]
    k, d = rho.shape
    tol = 1e-12  # distinct values of rho differ by far more; sums in another order by far less
    ge = np.zeros((k, d), dtype=np.int64)
    le = np.zeros((k, d), dtype=np.int64)
    a, b = np.nan_to_num(ys), np.nan_to_num(xs)
    swap = k < d  # gather x (k columns) instead of y (d columns)
    if swap:
        a, b = b, a
    if n <= EXACT_MAX_N:
        perms_all = _permutations(n)  # all of them: the same set as their inverses
    else:
        perms_all = _random_orderings(n, n_perm, seed, stage, swap)
    chunk = int(max(64, min(8192, 4_000_000 // max(1, k * d + n * a.shape[1]))))
    for start in range(0, len(perms_all), chunk):
        perms = perms_all[start : start + chunk]
        null = np.matmul(np.swapaxes(a[perms], 1, 2), b)  # (c, cols of a, cols of b)
        if not swap:
            null = np.swapaxes(null, 1, 2)  # (c, k, d)
        ge += (null >= rho - tol).sum(axis=0)
        le += (null <= rho + tol).sum(axis=0)
    return ge, le, len(perms_all)


def permutation_pvalues(
    x: np.ndarray, y: np.ndarray, n_perm: int = 10_000, seed: int = 0, refine: int = 10
) -> tuple[np.ndarray, np.ndarray, int]:
    """Permutation p-values of Spearman's rho of every column of x with every column of y.

    ``x`` (n, k) and ``y`` (n, d) hold the same n observations (no missing values), e.g. the
    ratings of k items and the scores on d dimensions of the raters who rated all k. The
    permutation distribution of each rho given its observed ranks (ties included) is that of
    the rho of x with y's rows permuted: all n! orderings for n <= :data:`EXACT_MAX_N`, else
    ``n_perm`` orderings drawn from ``seed`` (the same for every call with this n and seed).
    A Monte Carlo p can fall no lower than 1 / (n_perm + 1), which limits Benjamini-Hochberg
    over thousands of pairs; so the pairs with fewer than 10 permuted values as extreme as
    the observed one are tested again with ``refine * n_perm`` fresh permutations, and their
    p is the one of these alone (independent of the first stage that chose them, hence still
    a valid p-value). ``refine=1``: no second stage.

    Returns
    -------
    p : ndarray (k, d)
        Two-sided p: twice the smaller tail, clipped at 1; exact: tail counts / n!; Monte
        Carlo: (count + 1) / (permutations + 1). NaN where a column is constant.
    rho : ndarray (k, d)
        Spearman's rho.
    n_used : int
        Orderings of the first stage (n! or ``n_perm``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> x = np.array([[1, 2, 2, 3, 3, 3, 4, 5]], dtype=float).T
    >>> y = np.array([[3.1, 1.0, 2.2, 5.0, 4.1, 0.3, 6.6, 7.0]]).T
    >>> p, rho, used = permutation_pvalues(x, y)
    >>> def rho_of(a, axis=-1):  # Spearman's rho of each row of a with y, for scipy
    ...     ra = stats.rankdata(a, axis=-1) - 4.5
    ...     ry = stats.rankdata(y[:, 0]) - 4.5
    ...     return (ra @ ry) / np.sqrt((ra * ra).sum(-1) * (ry @ ry))
    >>> ref = stats.permutation_test((x[:, 0],), rho_of, permutation_type="pairings",
    ...                              n_resamples=np.inf, vectorized=True)
    >>> used, bool(abs(p[0, 0] - ref.pvalue) < 1e-12)
    (40320, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y hold different numbers of observations ({n}, {y.shape[0]})")
    for name, v in (("n_perm", n_perm), ("refine", refine)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    xs, ys = _standard_ranks(x), _standard_ranks(y)
    rho = np.clip(xs.T @ ys, -1.0, 1.0)
    k, d = rho.shape
    if n < 2:
        return np.full((k, d), np.nan), np.full((k, d), np.nan), 0
    ge, le, used = _tail_counts(xs, ys, rho, n_perm, seed, 0)
    if n <= EXACT_MAX_N:
        p = np.minimum(2 * np.minimum(ge, le) / used, 1.0)
    else:
        p = np.minimum(2 * (np.minimum(ge, le) + 1) / (used + 1), 1.0)
        again = (np.minimum(ge, le) < 10) & ~np.isnan(rho)
        if refine > 1 and again.any():
            rows, cols = np.flatnonzero(again.any(axis=1)), np.flatnonzero(again.any(axis=0))
            sub = rho[np.ix_(rows, cols)]
            ge2, le2, used2 = _tail_counts(xs[:, rows], ys[:, cols], sub, refine * n_perm, seed, 1)
            p2 = np.minimum(2 * (np.minimum(ge2, le2) + 1) / (used2 + 1), 1.0)
            block = p[np.ix_(rows, cols)]
            block[again[np.ix_(rows, cols)]] = p2[again[np.ix_(rows, cols)]]
            p[np.ix_(rows, cols)] = block
    p[np.isnan(rho)] = np.nan
    return p, rho, used


def describe(p_method: str, n_perm: int) -> str:
    """The p-value method in words, as recorded beside the outputs.

    Examples
    --------
    >>> describe("t", 10000)
    't approximation (n - 2 degrees of freedom)'
    """
    perm = (
        f"exact for n <= {EXACT_MAX_N}, else {n_perm:,} Monte Carlo permutations and "
        f"{10 * n_perm:,} more for p below about {22 / (n_perm + 1):.0e}"
    )
    return {
        "auto": f"permutation p-values for n < {AUTO_MAX_N} ({perm}), t approximation for "
        f"n >= {AUTO_MAX_N}",
        "permutation": f"permutation p-values ({perm})",
        "t": "t approximation (n - 2 degrees of freedom)",
        "as89": "R's cor.test exact=TRUE (exact for n <= 9, AS 89 Edgeworth series above)",
    }[p_method]
