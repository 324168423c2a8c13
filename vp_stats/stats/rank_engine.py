"""The rank-correlation engine of item validation: Spearman's rho of every item with every
dimension, and its rater bootstrap, in memory linear in the ratings.

Layout. Ratings stay long: they are sorted once by (item, participant) and the items are
grouped by their exact set of raters (:func:`rater_sets`) without a participants x items
pivot. A *block* is one set of raters with all the items they share; within a block the
ratings form a dense (raters x items) matrix, so the memory of all blocks together is that of
the ratings.

Point estimates. Within a block every column (item ratings, dimension scores) is ranked once
(:func:`average_ranks`, ties averaged, as :func:`scipy.stats.rankdata`) and all item x
dimension correlations are one matrix product (:func:`pearson_columns`).

Bootstrap: weighted mid-ranks from one sort. A resample that draws rater j w_j times gives
rater i the mid-rank ``C_<(i) + (C_=(i) + 1) / 2`` with ``C_<(i) = sum_j w_j [x_j < x_i]`` and
``C_=(i) = sum_j w_j [x_j == x_i]``, and the w-weighted Pearson correlation of those ranks
equals Spearman's rho of the expanded resample exactly. No column is sorted per resample:

- values (scores, about n distinct values per column; :class:`SortedColumns`): each column is
  sorted once, before resampling. Per resample the multiplicities are laid out in every
  column's sorted order (one gather), one running sum over them gives every position's
  cumulative weight, and one gather back to rater order gives every rater's centred mid-rank
  (tied values take their group's mid-rank). Each column's sum of squared rank deviations is
  the textbook tie correction ``(W^3 - W - sum_g (W_g^3 - W_g)) / 12`` over the tie groups of
  the expanded resample, so it takes no pass over the ranks. Time O(n) per column and
  resample, all passes contiguous; a few resamples at a time (:data:`SUB_BYTES`) so that the
  running sums stay in the cache.
- Likert items (a handful of levels; :class:`_Levels`): per resample the weight of every
  level of every item is one dense product ``w @ indicator.T`` (levels x raters, fixed), its
  mid-rank a running sum over the item's few levels. The covariances of all items with all
  values: for a large rater set one dense product ``indicator @ u`` of the levels with the
  weighted value ranks of the whole batch of resamples (``(levels, n) @ (n, d*B)``, which BLAS
  runs at its GEMM speed whatever n), then per item ``sum_g (r_g - r_first) S_g``; for a small
  one every rating takes its level's rank (one gather) and one (k, n) @ (n, d) product per
  resample (:data:`LEVELS_MIN_RATERS`).
- other items (many levels): ranked as the values, one (k, n) @ (n, d) product per resample.

Multiplicities, counts and ranks are integers or half-integers, so every sum is exact in
float64 (up to ~10^5 raters): the order of summation does not change a bit, and the results
equal those of every earlier engine bit for bit. Resamples run in batches sized to a memory
budget (:data:`BATCH_BYTES`), so memory is O(ratings + resamples x raters of one block): no
(n, k*n) tie matrix and no dense raters x items matrix. Growth: per resample, time is linear
in the ratings of a block (no sort, no O(n log n) step; the one sort per column is done once).

Why hand-written: no library ranks under multiplicity weights. The alternatives measured in
``benchmarks/bench_scale.py`` (same data, same run): a numpy bootstrap that ranks every
column of every resample (:func:`scipy.stats.rankdata`) and takes all correlations as one
matrix product, and the former (n, k*n) tie-matrix engine, which needed 2.4 GB at 1,000
raters x 100 items.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0], [2.0], [2.0], [3.0]])
>>> w = np.array([[2.0, 0.0, 1.0, 1.0]])  # rater 0 drawn twice, rater 1 never
>>> dev, ss = SortedColumns(x).ranks(w, weighted=False)  # mid-ranks 1.5, 3, 3, 4, - 2.5
>>> dev.ravel().tolist(), ss.tolist()
([-1.0, 0.5, 0.5, 1.5], [[4.5]])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "Block",
    "BlockRanks",
    "SortedColumns",
    "rater_sets",
    "pearson_columns",
    "block_correlations",
    "block_bootstrap",
    "BATCH_BYTES",
]

#: Memory budget of one batch of resamples (bytes); results do not depend on it.
BATCH_BYTES = 48 * 2**20


class Block(NamedTuple):
    """Items sharing one set of raters: rater codes (n,), item codes (k,), ratings (n, k)."""

    raters: np.ndarray
    items: np.ndarray
    ratings: np.ndarray


def rater_sets(
    participant_codes: np.ndarray,
    item_codes: np.ndarray,
    rating: np.ndarray,
    n_participants: int,
    presorted: bool = False,
) -> list[Block]:
    """Group items by their exact set of raters, from long (code, code, value) arrays.

    Participant and item codes index sorted ids (``pandas.factorize(..., sort=True)``); each
    (participant, item) pair occurs at most once. Blocks come in the order of
    ``numpy.unique`` over the items' boolean rater masks (participants in code order), raters and
    items ascending within a block: the order of the former dense engine, so that seeded
    resamples are drawn for the same blocks in the same order. ``presorted``: the arrays are
    sorted by (item, participant) already. Time O(ratings log ratings), memory O(ratings).

    Examples
    --------
    >>> import numpy as np
    >>> b = rater_sets(np.array([0, 1, 1, 0, 1]), np.array([0, 0, 1, 2, 2]),
    ...                np.array([3., 4., 5., 1., 2.]), 2)
    >>> [(blk.raters.tolist(), blk.items.tolist(), blk.ratings.tolist()) for blk in b]
    [([1], [1], [[5.0]]), ([0, 1], [0, 2], [[3.0, 1.0], [4.0, 2.0]])]
    """
    if presorted:
        pc, ic, rv = participant_codes, item_codes, rating
    else:
        order = np.lexsort((participant_codes, item_codes))
        pc, ic, rv = participant_codes[order], item_codes[order], rating[order]
    bounds = np.flatnonzero(ic[1:] != ic[:-1]) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(ic)]])
    # big-endian n - code: bytes order = the masks' lexicographic order (one gather, no copy)
    codes = (n_participants - np.arange(n_participants)).astype(">u4")[pc]
    groups: dict[bytes, list[int]] = {}
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        groups.setdefault(codes[s:e].tobytes(), []).append(s)
    blocks = []
    for key in sorted(groups):
        first = np.asarray(groups[key])
        n = len(key) // 4
        raters = pc[first[0] : first[0] + n]
        pos = first[None, :] + np.arange(n)[:, None]  # (n, k) positions in the sorted ratings
        blocks.append(Block(raters, ic[first], rv[pos]))
    return blocks


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` with every column of ``b``.

    ``a`` is (..., n, k), ``b`` is (..., n, d); returns (..., k, d). A constant
    column gives NaN (as scipy, which warns and returns NaN).

    Examples
    --------
    >>> import numpy as np
    >>> pearson_columns(np.array([[1.0], [2.0], [4.0]]), np.array([[1.0], [2.0], [3.0]])).round(4)
    array([[0.982]])
    """
    a = a - a.mean(axis=-2, keepdims=True)
    b = b - b.mean(axis=-2, keepdims=True)
    na = np.sqrt((a * a).sum(axis=-2))
    nb = np.sqrt((b * b).sum(axis=-2))
    num = np.swapaxes(a, -1, -2) @ b
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / (na[..., :, None] * nb[..., None, :])
    r[(na[..., :, None] == 0) | (nb[..., None, :] == 0)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _stable_order(x: np.ndarray) -> np.ndarray:
    """``np.argsort(x, axis=0, kind="stable")``, on small integers through numpy's radix sort.

    Likert ratings are small whole numbers stored as floats; cast to int8/int16 they sort by
    numpy's radix sort (linear, 3-7x faster than the float timsort at 1,000-5,000 raters), in
    the same stable order. Columns with NaN, fractions or large values take the float sort.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[3.0, 0.5], [1.0, 0.5], [3.0, -1.0]])
    >>> bool((_stable_order(x) == np.argsort(x, axis=0, kind="stable")).all())
    True
    """
    if x.size and x.dtype.kind == "f" and not np.isnan(x).any():
        lo, hi = x.min(), x.max()
        if -32768 <= lo and hi <= 32767:
            small = x.astype(np.int8 if -128 <= lo and hi <= 127 else np.int16)
            if (small == x).all():
                return np.argsort(small, axis=0, kind="stable")
    return np.argsort(x, axis=0, kind="stable")


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of every column of x (n, m), ties averaged; NaN columns where x holds a NaN.

    The ranks of :func:`scipy.stats.rankdata` (``axis=0``, ``nan_policy="propagate"``), exactly,
    without its per-call overhead (a block of the released study has 59 short columns).

    Examples
    --------
    >>> import numpy as np
    >>> average_ranks(np.array([[3.0, 1.0], [1.0, np.nan], [3.0, 2.0]])).tolist()
    [[2.5, nan], [1.0, nan], [2.5, nan]]
    """
    n, m = x.shape
    order = _stable_order(x)
    xs = np.take_along_axis(x, order, axis=0)
    new = np.ones((m, n), dtype=bool)
    new[:, 1:] = (xs[1:] != xs[:-1]).T
    flat = new.ravel()
    gid = np.cumsum(flat) - 1
    first = np.flatnonzero(flat)
    last = np.append(first[1:], m * n) - 1
    mid = (first % n + last % n) / 2.0 + 1.0  # average of the positions a group takes
    out = np.empty((m, n))
    np.put_along_axis(out, order.T, mid[gid].reshape(m, n), axis=1)
    out = out.T
    out[:, np.isnan(x).any(axis=0)] = np.nan
    return out


def block_correlations(block: Block, values: np.ndarray) -> np.ndarray:
    """Spearman rho (k, d) of a block's items with its raters' values (P, d).

    Examples
    --------
    >>> import numpy as np
    >>> blk = Block(np.array([0, 1, 2]), np.array([0]), np.array([[1.0], [2.0], [3.0]]))
    >>> block_correlations(blk, np.array([[3.0], [1.0], [2.0]])).round(3).tolist()
    [[-0.5]]
    """
    v = values[block.raters]
    return pearson_columns(average_ranks(block.ratings), average_ranks(v))


def _tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's stable sort order (n, m) and where a new value starts in it (m, n).

    NaN differs from everything (a group of its own), as in :func:`average_ranks`.
    """
    n, m = x.shape
    order = _stable_order(x)
    xs = np.take_along_axis(x, order, axis=0)
    new = np.ones((m, n), dtype=bool)
    new[:, 1:] = (xs[1:] != xs[:-1]).T
    return order, new


class SortedColumns:
    """The columns of ``x`` (n, m), each sorted once: weighted mid-ranks of any multiplicities.

    For multiplicities ``w`` (B, n) with ``W = sum_i w_i``, :meth:`ranks` lays the weights out
    in every column's sorted order behind one extra entry per column (``-W/2`` before the
    first column, ``-W`` before the others), so that one running sum ``S`` over all of it
    (one gather, one contiguous cumsum) gives, at every position, the weight up to and
    including it minus ``W/2``. Gathered back to rater order (one gather), a rater's centred
    mid-rank is ``S - w_i/2``, or ``(S(last) + S(first) - w(first)) / 2`` in a group of tied
    values [first, last]. The sums of squared deviations need no pass over the ranks:
    ``sum_i w_i (r_i - c)^2 = (W^3 - W - sum_g (W_g^3 - W_g)) / 12`` over the tie groups of
    the expanded resample (each rater's copies, and tied values), the textbook tie correction.
    All of it is integer or half-integer arithmetic, exact in float64.
    """

    def __init__(self, x: np.ndarray, groups: tuple[np.ndarray, np.ndarray] | None = None):
        n, m = x.shape
        order, new = _tie_groups(x) if groups is None else groups
        self.n, self.m = n, m
        src = np.empty((m, n + 1), dtype=np.intp)
        src[:, 0] = n + 1  # -W: the running sum restarts at -W/2 in every column
        src[0, 0] = n  # -W/2
        src[:, 1:] = order.T
        self.src = src.ravel()
        inv = np.empty((m, n), dtype=np.intp)
        np.put_along_axis(inv, order.T, np.arange(m * (n + 1)).reshape(m, n + 1)[:, 1:], axis=1)
        self.inv = inv.ravel()  # the position of every (column, rater) in the running sum
        flat = new.ravel()
        gid = np.cumsum(flat) - 1
        first = np.flatnonzero(flat)
        last = np.append(first[1:], m * n) - 1
        self.n_groups = len(first)
        tg = np.flatnonzero(last > first)  # groups of two or more tied values, column by column
        rater = src[:, 1:].ravel()  # the rater at every sorted position
        self.tg_first, self.tg_last = first[tg] + first[tg] // n + 1, last[tg] + last[tg] // n + 1
        self.tg_rater = rater[first[tg]]
        members = np.flatnonzero((last - first)[gid] > 0)
        col = members // n
        self.tp_group = np.searchsorted(tg, gid[members])
        self.tp_src = rater[members]
        self.tp_at = col * n + self.tp_src  # rater-order position of every tied value
        self.tied_cols = np.unique(col)
        self.tp_starts = np.searchsorted(col, self.tied_cols)
        self.tg_starts = np.searchsorted(first[tg] // n, self.tied_cols)

    def ranks(
        self, w: np.ndarray, weighted: bool = True, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Centred mid-ranks in rater order (B, m, n), times the weights if ``weighted``, and
        every column's ``sum_i w_i (r_i - c)^2`` (B, m); ``out``: a (B, m*n) array to fill."""
        b, n, m = len(w), self.n, self.m
        size = w.sum(axis=1)
        ext = np.empty((b, n + 2))
        ext[:, :n] = w
        ext[:, n] = -0.5 * size
        ext[:, n + 1] = -size
        cs = np.take(ext, self.src, axis=1)
        np.cumsum(cs, axis=1, out=cs)
        a = np.take(cs, self.inv, axis=1, out=out)
        a3 = a.reshape(b, m, n)
        a3 -= 0.5 * w[:, None, :]
        cube = w * w
        cube *= w
        cube -= w
        num = np.repeat((size**3 - size - cube.sum(axis=1))[:, None], m, axis=1)
        if len(self.tp_at):
            lo, hi, wf = cs[:, self.tg_first], cs[:, self.tg_last], w[:, self.tg_rater]
            wg = hi - lo
            wg += wf  # the weight of every tied group
            lo += hi
            lo -= wf
            lo *= 0.5  # its centred mid-rank
            a[:, self.tp_at] = lo[:, self.tp_group]
            wp = w[:, self.tp_src]
            wp = wp * wp * wp - wp
            wg = wg * wg * wg - wg
            num[:, self.tied_cols] += np.add.reduceat(wp, self.tp_starts, axis=1)
            num[:, self.tied_cols] -= np.add.reduceat(wg, self.tg_starts, axis=1)
        if weighted:
            a3 *= w[:, None, :]
        return a3, num / 12.0


class _Levels:
    """Items with few rating levels (Likert): mid-ranks per level, covariances per level.

    The weight of every level of every item is one dense product ``w @ indicator.T`` (each
    item's lowest level by difference), its mid-rank a running sum over the levels. With the
    values' ranks centred (``sum_i u_i = 0``), the covariance of item c with value d is
    ``sum_g (r_g - r_first(c)) S_gd`` over the item's other levels, ``S_gd = sum_{i in g}
    u_id``: for large rater sets one dense product (levels x n) @ (n, d*B) for all items and
    resamples (:data:`LEVELS_MIN_RATERS`); for small ones each rating takes its level's rank
    (one gather) and the covariances are one (k, n) @ (n, d) product per resample.
    """

    def __init__(self, x: np.ndarray, groups: tuple[np.ndarray, np.ndarray] | None = None):
        n, k = x.shape
        order, new = _tie_groups(x) if groups is None else groups
        gid = np.cumsum(new.ravel()) - 1
        code = np.empty((k, n), dtype=np.intp)
        np.put_along_axis(code, order.T, gid.reshape(k, n), axis=1)
        per_item = new.sum(axis=1)
        self.n, self.k = n, k
        self.n_groups = int(per_item.sum())
        self.col_start = np.concatenate([[0], np.cumsum(per_item)[:-1]]).astype(np.intp)
        col_of_group = np.repeat(np.arange(k), per_item)
        self.offset = col_of_group + 0.5
        self.code = code.ravel()  # (k*n): the level (group) of every rating, item by item
        keep = np.ones(self.n_groups, dtype=bool)
        keep[self.col_start] = False
        self.rows = np.flatnonzero(keep)  # every level but each item's lowest
        self.first = self.col_start[col_of_group[self.rows]]
        pos = np.full(self.n_groups, -1, dtype=np.intp)
        pos[self.rows] = np.arange(len(self.rows))
        at = pos[code]  # (k, n): row of each rating's level, -1 at an item's lowest level
        self.indicator = np.zeros((len(self.rows), n))  # (levels - k, n)
        ii = np.broadcast_to(np.arange(n), (k, n))
        self.indicator[at[at >= 0], ii[at >= 0]] = 1.0
        self.member = np.zeros((len(self.rows), k))  # the item of every kept level
        self.member[np.arange(len(self.rows)), col_of_group[self.rows]] = 1.0
        self.varied = np.flatnonzero(per_item > 1)  # items with more than one level
        self.kept_start = np.concatenate([[0], np.cumsum(per_item - 1)[:-1]])[self.varied]

    def ranks(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centred mid-rank of every level (B, G) and every item's ``sum_i w_i (r_i - c)^2``."""
        size = w.sum(axis=1)
        kept = w @ self.indicator.T  # (B, kept levels): weights of the levels
        full = np.empty((len(w), self.n_groups))
        full[:, self.rows] = kept
        full[:, self.col_start] = size[:, None] - kept @ self.member
        dev = np.cumsum(full, axis=1)
        dev -= 0.5 * full
        dev -= size[:, None] * self.offset
        full *= dev
        full *= dev
        return dev, np.add.reduceat(full, self.col_start, axis=1)

    def covariances(self, dev: np.ndarray, u: np.ndarray, stacked: bool) -> np.ndarray:
        """cov (B, k, d) from the levels' ranks (B, G) and weighted value ranks u (B, d, n)."""
        b, d, n = u.shape
        if not stacked:  # each rating takes its level's rank; one product per resample
            r = np.take(dev, self.code, axis=1).reshape(b, self.k, n)
            return np.matmul(r, u.transpose(0, 2, 1))
        s = self.indicator @ u.reshape(b * d, n).T  # (kept levels, B*d)
        s.reshape(-1, b, d)[...] *= (dev[:, self.rows] - dev[:, self.first]).T[:, :, None]
        cov = np.zeros((self.k, b * d))
        if len(self.varied):
            cov[self.varied] = np.add.reduceat(s, self.kept_start, axis=0)
        return cov.reshape(self.k, b, d).transpose(1, 0, 2)


def _weighted_rhos(w: np.ndarray, ranks: BlockRanks) -> np.ndarray:
    """rho (B, k, d) of the resamples with multiplicities w (B, n); NaN where a side is constant.

    The values' weighted ranks are computed a few resamples at a time (:data:`SUB_BYTES`, so
    that their running sums stay in the cache) into one (B, d, n) array, which the items'
    covariances then take in one product per batch.
    """
    items, vals = ranks.items, ranks.values
    b, n = w.shape
    d = vals.m
    u = np.empty((b, d, n))
    ss_v = np.empty((b, d))
    flat = u.reshape(b, d * n)
    step = max(1, SUB_BYTES // (8 * 3 * d * n))
    for s in range(0, b, step):
        _, ss_v[s : s + step] = vals.ranks(w[s : s + step], out=flat[s : s + step])
    if isinstance(items, _Levels):
        dev_r, ss_r = items.ranks(w)
        cov = items.covariances(dev_r, u, stacked=n >= LEVELS_MIN_RATERS)
    else:  # many levels: every rating's rank, one (k, n) @ (n, d) product per resample
        k = items.m
        cov = np.empty((b, k, d))
        ss_r = np.empty((b, k))
        step = max(1, SUB_BYTES // (8 * 3 * k * n))
        for s in range(0, b, step):
            r, ss_r[s : s + step] = items.ranks(w[s : s + step], weighted=False)
            np.matmul(r, u[s : s + step].transpose(0, 2, 1), out=cov[s : s + step])
    size = w.sum(axis=1)[:, None]
    tiny = 1e-9 * size**3  # a constant side (or fewer than two raters drawn): no rho
    ss_r[ss_r < tiny] = np.nan
    ss_v[ss_v < tiny] = np.nan
    den = ss_r[:, :, None] * ss_v[:, None, :]
    np.sqrt(den, out=den)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov /= den
    return np.clip(cov, -1.0, 1.0, out=cov)


#: Items with at most this many rating levels on average are ranked per level (Likert).
MAX_LEVELS = 16
#: Rater sets at least this large take the covariances of Likert items as one product over
#: levels (:class:`_Levels`); smaller ones gather each rating's rank (fewer flops, and the
#: level product is too small there to run at the GEMM's speed).
LEVELS_MIN_RATERS = 300
#: Working memory of one sub-batch of the values' ranks (bytes): cache-sized.
SUB_BYTES = 8 * 2**20


def batch_size(n: int, k: int, d: int, groups: int, limit: int | None = None) -> int:
    """Resamples per batch within :data:`BATCH_BYTES` (at most ``limit``).

    ``groups``: the items' levels (:class:`_Levels`), or 0 where every rating is ranked.
    """
    per = 8 * (n * d + 2 * d + 2 * n + 3 * k * d)
    if groups:
        per += 8 * (3 * groups + (2 * groups * d if n >= LEVELS_MIN_RATERS else k * n))
    b = max(1, BATCH_BYTES // per)
    return int(min(b, limit) if limit else b)


class BlockRanks(NamedTuple):
    """What a block's resamples are ranked from: its items' levels or sort, its values' sort."""

    items: _Levels | SortedColumns
    values: SortedColumns

    @classmethod
    def of(cls, ratings: np.ndarray, values: np.ndarray) -> BlockRanks:
        """From a block's ratings (n, k) and its raters' values (n, d); ratings without NaN."""
        n, k = ratings.shape
        groups = _tie_groups(ratings)
        levels = int(groups[1].sum())
        few = levels <= MAX_LEVELS * k and (levels - k) * n * 8 <= 4 * BATCH_BYTES
        items = _Levels(ratings, groups) if few else SortedColumns(ratings, groups)
        return cls(items, SortedColumns(values))

    def rhos(self, w: np.ndarray) -> np.ndarray:
        """Spearman rho (B, k, d) of the resamples drawing rater i w[b, i] times (B, n).

        Any multiplicities: a resample of these raters (sum n) or these raters' draws within a
        resample of more raters (:mod:`vp_stats.stats.uncertainty`); NaN where a side is
        constant or fewer than two raters were drawn.
        """
        return _weighted_rhos(w, self)


def block_bootstrap(
    block: Block,
    values: np.ndarray,
    indices: np.ndarray,
    batch: int | None = None,
    on_batch=None,
) -> np.ndarray:
    """rho of every resample (B, k, d) of a block, from resample indices (B, n) into its raters.

    The array is laid out resamples-last in memory (a transposed view of (k, d, B)), so that
    sorting along the resamples (:func:`vp_stats.stats.resampling.percentile_ci`) runs over
    contiguous memory. ``on_batch(size)`` is called after each batch (progress bars).

    Examples
    --------
    >>> import numpy as np
    >>> blk = Block(np.arange(4), np.array([0]), np.array([[1.0], [2.0], [2.0], [4.0]]))
    >>> vals = np.array([[0.1], [0.3], [0.2], [0.9]])
    >>> block_bootstrap(blk, vals, np.array([[0, 1, 2, 3], [0, 0, 3, 3]])).ravel().tolist()
    [0.9486832980505138, 1.0]
    """
    from vp_stats.stats.resampling import multiplicities

    v = values[block.raters]
    n, k = block.ratings.shape
    d = v.shape[1]
    ranks = BlockRanks.of(block.ratings, v)
    nb = len(indices)
    out = np.empty((k, d, nb)).transpose(2, 0, 1)
    groups = ranks.items.n_groups if isinstance(ranks.items, _Levels) else 0
    step = batch_size(n, k, d, groups, batch)
    for start in range(0, nb, step):
        w = multiplicities(indices[start : start + step], n)
        out[start : start + step] = ranks.rhos(w)
        if on_batch is not None:
            on_batch(len(w))
    return out


def factorize_sorted(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the sorted unique values, and those values (``pandas.factorize``).

    Factorized as a numpy object array: for pandas' string columns that is 2-3x faster than
    ``Series.factorize`` (the same codes and values).
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), sort=True)
    return codes, np.asarray(uniques)
