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
  :func:`vp_stats.validation.bootstrap_ci`);
- :func:`percentile_ci`: percentile intervals ignoring resamples where the
  statistic is undefined (NaN), with the count of valid resamples.

Modelled on seaborn's ``algorithms.bootstrap`` (seeded generator, resample
indices drawn up front), vectorised for many statistics at once.

Examples
--------
>>> import numpy as np
>>> from vp_stats.resampling import Resampler, percentile_ci
>>> x = np.arange(10.0)
>>> idx = Resampler(seed=0).indices(len(x), n_boot=2000)
>>> lo, hi, n_valid = percentile_ci(x[idx].mean(axis=1), ci=0.95)
>>> bool(lo < x.mean() < hi), int(n_valid)
(True, 2000)
>>> np.array_equal(Resampler(3).indices(5, 4), Resampler(3).indices(5, 4))
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["Resampler", "multiplicities", "percentile_ci", "check_boot_options"]


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
            out[:, members] = members[self.rng.integers(0, len(members), size=(n_boot, len(members)))]
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
    """Percentile interval along ``axis`` ignoring NaN resamples (linear interpolation).

    Returns ``(low, high, n_valid)``; where no resample is valid both bounds are NaN.
    Equal to :func:`numpy.nanquantile` with ``method="linear"``.

    Examples
    --------
    >>> b = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, 5.0]])
    >>> [v.tolist() for v in percentile_ci(b, ci=0.5)]
    [[1.5, 5.0], [2.5, 5.0], [3, 1]]
    """
    x = np.moveaxis(np.asarray(boot, dtype=float), axis, 0)
    valid = (~np.isnan(x)).sum(axis=0)
    srt = np.sort(x, axis=0)  # NaN sort last
    out = []
    for q in ((1 - ci) / 2, (1 + ci) / 2):
        pos = q * (valid - 1)
        lo = np.maximum(np.floor(pos).astype(int), 0)
        hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
        a = np.take_along_axis(srt, lo[None], axis=0)[0]
        b = np.take_along_axis(srt, hi[None], axis=0)[0]
        out.append(np.where(valid > 0, a + (b - a) * (pos - np.floor(pos)), np.nan))
    return out[0], out[1], valid
