"""The one seeded resampling engine of vp-stats: every bootstrap draws through it.

A :class:`Resampler` is made from a seed (``numpy.random.default_rng(seed)``)
and hands out resample indices, so that equal seeds give identical tables and
every bootstrap in the package follows one set of conventions:

- :meth:`Resampler.indices`: ``n_boot`` resamples of ``n`` units with
  replacement, an ``(n_boot, n)`` integer array (the classic nonparametric
  bootstrap; Efron & Tibshirani 1993, ch. 6);
- :meth:`Resampler.stratified`: resample within each stratum (units keep their
  stratum, e.g. raters within their participant group);
- :func:`multiplicities`: how often each unit was drawn, for estimators that
  weight instead of copying (the rank-correlation bootstrap of
  :func:`vp_stats.stats.validation.bootstrap_ci`);
- :meth:`Resampler.counts`: those multiplicities drawn directly, one
  multinomial per resample (the weighted-sum bootstraps of
  :mod:`vp_stats.stats.personas`);
- :func:`percentile_ci`: percentile intervals ignoring resamples where the
  statistic is undefined (NaN or infinite), with the count of valid resamples.

Users: :func:`vp_stats.stats.validation.bootstrap_ci` (raters, per set of items
sharing raters), :func:`vp_stats.stats.scoring.value_profiles` (items),
:func:`vp_stats.stats.personas.variance_ratio` and
:func:`vp_stats.stats.persona_gaps.group_gap_comparison` (units, within strata),
:mod:`vp_stats.stats.uncertainty` (raters, then items) and
:mod:`vp_stats.stats.versions` (raters).

Modelled on seaborn's ``algorithms.bootstrap`` (seeded generator, resample
indices drawn up front), vectorised for many statistics at once.

Examples
--------
>>> import numpy as np
>>> from vp_stats.stats.resampling import Resampler, percentile_ci
>>> x = np.arange(10.0)
>>> idx = Resampler(seed=0).indices(len(x), n_boot=2000)
>>> lo, hi, n_valid = percentile_ci(x[idx].mean(axis=1), ci=0.95)
>>> bool(lo < x.mean() < hi), int(n_valid)
(True, 2000)
>>> np.array_equal(Resampler(3).indices(5, 4), Resampler(3).indices(5, 4))
True
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = [
    "Resampler",
    "multiplicities",
    "percentile_ci",
    "check_boot_options",
    "single_threaded_blas",
]


def single_threaded_blas():
    """Limit BLAS to one thread while fitting or resampling.

    The products here (items x items matrices, a rater set's resample batches) gain nothing from
    threads, and on a busy machine OpenBLAS threads make each small product far slower
    (factor_analyzer's ML objective on 40 items: 31 ms instead of 0.3 ms; the released study's
    1,000 item-validation resamples on 2 busy cores: 1.72 s instead of 0.63 s, numbers unchanged).
    threadpoolctl comes with scikit-learn; the caller's setting is restored on exit.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def check_boot_options(n_boot: int, ci: float, *, allow_zero: bool = False) -> None:
    """The bootstrap options, checked in one place.

    Examples
    --------
    >>> check_boot_options(1000, 0.95)
    >>> check_boot_options(0, 0.95, allow_zero=True)
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)):
        raise ValueError(f"n_boot must be an integer, got {n_boot!r}")
    if n_boot < (0 if allow_zero else 1):
        raise ValueError(f"n_boot must be {'>= 0' if allow_zero else 'positive'}, got {n_boot}")
    if not (isinstance(ci, (int, float, np.floating)) and 0 < ci < 1):
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")


class Resampler:
    """Seeded source of bootstrap resamples.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Seed of :func:`numpy.random.default_rng` (a Generator is used as is).
    """

    def __init__(self, seed: int | np.random.Generator = 0):
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def indices(self, n: int, n_boot: int) -> np.ndarray:
        """``(n_boot, n)`` indices drawn with replacement from ``range(n)``.

        Examples
        --------
        >>> Resampler(1).indices(3, 2).shape
        (2, 3)
        """
        if n < 1:
            raise ValueError(f"cannot resample {n} units")
        return self.rng.integers(0, n, size=(n_boot, n))

    def counts(self, n: int, n_boot: int) -> np.ndarray:
        """``(n_boot, n)`` multiplicities of ``n_boot`` resamples of ``n`` units, drawn directly.

        Each row is one multinomial draw of ``n`` units with equal probabilities:
        the distribution of :func:`multiplicities` of :meth:`indices`, from other
        random numbers (one multinomial per resample instead of ``n`` integers).
        For estimators that are weighted sums (means, variances); successive
        calls continue one stream, so drawing in chunks gives the same counts.

        Examples
        --------
        >>> c = Resampler(0).counts(4, 3)
        >>> c.shape, c.sum(axis=1).tolist()
        ((3, 4), [4.0, 4.0, 4.0])
        >>> r = Resampler(5)
        >>> np.array_equal(np.vstack([r.counts(3, 2), r.counts(3, 2)]), Resampler(5).counts(3, 4))
        True
        """
        if n < 1:
            raise ValueError(f"cannot resample {n} units")
        return self.rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)

    def stratified(self, strata, n_boot: int) -> np.ndarray:
        """``(n_boot, n)`` indices resampled with replacement within each stratum.

        Position ``j`` of every resample holds a unit of the same stratum as unit ``j``.

        Examples
        --------
        >>> idx = Resampler(0).stratified(["a", "a", "b", "b", "b"], 100)
        >>> bool((idx[:, :2] < 2).all() and (idx[:, 2:] >= 2).all())
        True
        """
        s = np.asarray(strata)
        out = np.empty((n_boot, len(s)), dtype=np.int64)
        for g in dict.fromkeys(s.tolist()):
            members = np.flatnonzero(s == g)
            out[:, members] = members[
                self.rng.integers(0, len(members), size=(n_boot, len(members)))
            ]
        return out


def multiplicities(idx: np.ndarray, n: int) -> np.ndarray:
    """Resample indices ``(B, n)`` -> how often each unit was drawn ``(B, n)``, as floats.

    Examples
    --------
    >>> multiplicities(np.array([[0, 0, 2]]), 3).tolist()
    [[2.0, 0.0, 1.0]]
    """
    b = idx.shape[0]
    flat = (idx + n * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def percentile_ci(boot: np.ndarray, ci: float = 0.95, axis: int = 0):
    """Percentile interval along ``axis`` ignoring resamples where the statistic is undefined.

    A resample is undefined where the statistic is NaN or infinite (e.g. a
    correlation of a constant resample, a ratio over a zero variance). Returns
    ``(low, high, n_valid)``: the ``(1 - ci) / 2`` and ``(1 + ci) / 2``
    quantiles of the valid resamples and their count; where no resample is
    valid both bounds are NaN.

    The quantiles are those of :func:`numpy.nanquantile` with ``method="linear"``
    (Hyndman & Fan 1996, definition 7), computed with numpy's own floating-point
    steps (virtual index ``(n - 1) q``; interpolation ``a + (b - a) g``,
    or ``b - (b - a)(1 - g)`` for ``g >= 0.5``), so the bounds equal numpy's
    bit for bit, vectorised over every column at once (numpy loops over the
    columns that hold a NaN).

    Examples
    --------
    >>> b = np.array([[1.0, np.nan], [2.0, np.inf], [3.0, 5.0]])
    >>> [v.tolist() for v in percentile_ci(b, ci=0.5)]
    [[1.5, 5.0], [2.5, 5.0], [3, 1]]
    >>> x = np.random.default_rng(0).normal(size=(999, 4))
    >>> lo, hi, _ = percentile_ci(x, 0.9)
    >>> ref = np.nanquantile(x, [(1 - 0.9) / 2, (1 + 0.9) / 2], axis=0)
    >>> bool(np.array_equal(np.stack([lo, hi]), ref))
    True
    """
    x = np.moveaxis(np.asarray(boot, dtype=float), axis, 0)
    x = np.where(np.isfinite(x), x, np.nan)
    valid = (~np.isnan(x)).sum(axis=0)
    srt = np.sort(x, axis=0)  # NaN sort last: the valid values of a column are srt[:valid]
    last = np.maximum(valid - 1, 0)
    out = []
    for q in (np.float64((1 - ci) / 2), np.float64((1 + ci) / 2)):
        vi = (valid - 1) * q  # numpy's virtual index of method 'linear'
        prev = np.floor(vi)
        gamma = vi - prev
        above = vi >= valid - 1  # at or past the last valid value: take it
        lo = np.where(above, last, np.clip(prev, 0, last)).astype(np.intp)
        hi = np.where(above, last, np.clip(prev + 1, 0, last)).astype(np.intp)
        a = np.take_along_axis(srt, lo[None], axis=0)[0]
        b = np.take_along_axis(srt, hi[None], axis=0)[0]
        d = b - a
        val = np.where(gamma >= 0.5, b - d * (1 - gamma), a + d * gamma)
        out.append(np.where(valid > 0, val, np.nan))
    return out[0], out[1], valid
