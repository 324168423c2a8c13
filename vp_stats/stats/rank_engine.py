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
equals Spearman's rho of the expanded resample exactly. Each column is sorted once, before
resampling, into its groups of tied values (a handful of levels for a Likert item, about n
for a score); per resample the group weights ``W_g = sum_{j in g} w_j`` are one sparse
product (multiplicities x group indicator), the mid-rank of group g is ``C + (W_g + 1) / 2``
with ``C`` the cumulative weight of the groups below it, and each rating or score takes its
group's rank by one gather. With the ranks centred at ``(W + 1) / 2`` the covariances of all
items with all dimensions are one batched matrix product per resample, and the variances are
sums over groups (``sum_g W_g (r_g - c)^2``). Multiplicities, counts and ranks are integers or
half-integers, so every sum is exact in float64 up to ~10^5 raters. Resamples run in batches
sized to a memory budget (:data:`BATCH_BYTES`), so memory is O(ratings + resamples x raters of
one block): no (n, k*n) tie matrix and no dense raters x items matrix.

Why hand-written: no library ranks under multiplicity weights. The alternatives measured in
``benchmarks/bench_scale.py`` (same data, same run): a numpy bootstrap that ranks every
column of every resample (:func:`scipy.stats.rankdata`) and takes all correlations as one
matrix product, and the former (n, k*n) tie-matrix engine, which needed 2.4 GB at 1,000
raters x 100 items.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0], [2.0], [2.0], [3.0]])
>>> rk = ColumnRanks(x)
>>> w = np.array([[2.0, 0.0, 1.0, 1.0]])  # rater 0 drawn twice, rater 1 never
>>> rk.element_ranks(rk.group_ranks(w)[0]).ravel().tolist()  # mid-ranks 1.5, 3, 3, 4, - 2.5
[-1.0, 0.5, 0.5, 1.5]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "Block",
    "BlockRanks",
    "ColumnRanks",
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
    order = np.argsort(x, axis=0, kind="stable")
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


class ColumnRanks:
    """The tie groups of the columns of ``x`` (n, m): weighted mid-ranks from multiplicities.

    Each column is sorted once; ``group_ranks(w)`` gives, for multiplicities ``w`` (B, n), the
    mid-rank of every group of tied values, centred, and the weighted sum of squared deviations
    of every column; ``element_ranks`` every observation's centred rank (B, m, n).
    """

    def __init__(self, x: np.ndarray):
        n, m = x.shape
        order = np.argsort(x, axis=0, kind="stable")
        xs = np.take_along_axis(x, order, axis=0)
        new = np.ones((n, m), dtype=bool)
        new[1:] = xs[1:] != xs[:-1]
        gid = np.cumsum(new.T.ravel()) - 1  # group of each sorted position, column by column
        code = np.empty((m, n), dtype=np.intp)
        code[np.arange(m)[:, None], order.T] = gid.reshape(m, n)
        per_col = new.sum(axis=0)
        self.n, self.m = n, m
        self.n_groups = int(per_col.sum())
        self.col_start = np.concatenate([[0], np.cumsum(per_col)[:-1]]).astype(np.intp)
        self.col_of_group = np.repeat(np.arange(m), per_col)
        self.code = code  # (m, n): group of observation i in column c
        rows = np.broadcast_to(np.arange(n), (m, n)).ravel()
        self.indicator_t = sparse.csr_matrix(
            (np.ones(n * m), (code.ravel(), rows)), shape=(self.n_groups, n)
        )  # (groups, n)
        self.column_sum = _segment_sum(self.col_of_group, m)  # (m, groups)

    def group_ranks(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mid-rank minus the centre (W + 1) / 2 of every group (G, B), and each column's
        sum of squared deviations ``sum_i w_i (r_i - c)^2`` (m, B), for multiplicities (B, n)."""
        wg = self.indicator_t @ w.T  # (G, B) group weights: one sparse product
        size = w.sum(axis=1)  # every column's group weights sum to the resample size W
        firsts = wg[self.col_start[1:]]
        wg[self.col_start[1:]] -= size  # so that one running sum restarts at each column
        le = np.cumsum(wg, axis=0)  # weight up to and including each group, per column
        wg[self.col_start[1:]] = firsts
        half = 0.5 * wg
        le -= half
        le += 0.5 - (size + 1.0) / 2.0  # C_< + (W_g + 1) / 2 - centre
        half *= le
        half *= le
        ss = 2.0 * (self.column_sum @ half)  # sum_g W_g dev_g^2
        return le, ss

    def element_ranks(self, dev: np.ndarray) -> np.ndarray:
        """Every observation's centred rank (n, m, B) from group ranks (G, B)."""
        return dev[self.code.T.ravel()].reshape(self.n, self.m, dev.shape[1])


class _Levels:
    """Items with few rating levels: each item's groups but its lowest as indicator rows.

    With the ranks of the values centred (``sum_i u_i = 0`` for every item), the covariance
    of item c with value d is ``sum_g (r_g - r_first(c)) S_gd`` over the item's other groups,
    ``S_gd = sum_{i in g} u_id``: all of them one dense product (groups x n) @ (n, d*B).
    """

    def __init__(self, items: ColumnRanks):
        keep = np.ones(items.n_groups, dtype=bool)
        keep[items.col_start] = False
        self.rows = np.flatnonzero(keep)
        self.first = items.col_start[items.col_of_group[self.rows]]
        self.indicator = items.indicator_t[self.rows].toarray()  # (groups - k, n)
        self.item_sum = _segment_sum(items.col_of_group[self.rows], items.m)  # (k, rows)

    def covariances(self, dev_r: np.ndarray, u: np.ndarray) -> np.ndarray:
        """cov (k, d, B) from the items' group ranks (G, B) and the weighted values (n, d, B)."""
        n, d, b = u.shape
        s = (self.indicator @ u.reshape(n, d * b)).reshape(-1, d, b)
        s *= (dev_r[self.rows] - dev_r[self.first])[:, None, :]
        return (self.item_sum @ s.reshape(-1, d * b)).reshape(-1, d, b)


def _segment_sum(segment: np.ndarray, n_segments: int) -> sparse.csr_matrix:
    """(segments, len(segment)) 0/1 matrix: its product sums the rows of each segment."""
    return sparse.csr_matrix(
        (np.ones(len(segment)), (segment, np.arange(len(segment)))),
        shape=(n_segments, len(segment)),
    )


def _weighted_rhos(
    w: np.ndarray, items: ColumnRanks, vals: ColumnRanks, levels: _Levels | None
) -> np.ndarray:
    """rho (B, k, d) of the resamples with multiplicities w (B, n); NaN where a side is constant."""
    dev_r, ss_r = items.group_ranks(w)
    dev_v, ss_v = vals.group_ranks(w)
    u = vals.element_ranks(dev_v)  # (n, d, B): centred ranks of the values
    u *= w.T[:, None, :]
    if levels is not None:
        cov = levels.covariances(dev_r, u).transpose(2, 0, 1)  # (B, k, d)
    else:  # sum_i u_i = 0: the ranks of the items need no centring
        r_items = np.ascontiguousarray(dev_r.T)[:, items.code.ravel()].reshape(
            len(w), items.m, items.n
        )
        cov = np.matmul(r_items, np.ascontiguousarray(u.transpose(2, 0, 1)))
    ss_r, ss_v = ss_r.T, ss_v.T
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(ss_r[:, :, None] * ss_v[:, None, :])
    size = w.sum(axis=1)[:, None, None]
    tiny = 1e-9 * size**3
    r[(ss_r[:, :, None] < tiny) | (ss_v[:, None, :] < tiny)] = np.nan
    return np.clip(r, -1.0, 1.0)


#: Items with at most this many tie groups on average use the indicator product (Likert).
MAX_LEVELS = 16


def batch_size(n: int, k: int, d: int, groups: int, limit: int | None = None) -> int:
    """Resamples per batch within :data:`BATCH_BYTES` (at most ``limit``)."""
    if groups <= MAX_LEVELS * k:  # indicator product: no (k, n) ranks per resample
        per = 8 * (3 * n * d + 4 * groups * d + 3 * groups + 2 * k * d + 2 * n)
    else:
        per = 8 * (2 * n * k + 3 * n * d + 3 * groups + 2 * k * d + 2 * n)
    b = max(1, BATCH_BYTES // per)
    return int(min(b, limit) if limit else b)


class BlockRanks(NamedTuple):
    """What a block's resamples are ranked from: the tie groups of its items and values."""

    items: ColumnRanks
    values: ColumnRanks
    levels: _Levels | None

    @classmethod
    def of(cls, ratings: np.ndarray, values: np.ndarray) -> BlockRanks:
        """From a block's ratings (n, k) and its raters' values (n, d), neither with NaN."""
        items = ColumnRanks(ratings)
        n, k = ratings.shape
        few = items.n_groups <= MAX_LEVELS * k and (items.n_groups - k) * n * 8 <= 4 * BATCH_BYTES
        return cls(items, ColumnRanks(values), _Levels(items) if few else None)

    def rhos(self, w: np.ndarray) -> np.ndarray:
        """Spearman rho (B, k, d) of the resamples drawing rater i w[b, i] times (B, n).

        Any multiplicities: a resample of these raters (sum n) or these raters' draws within a
        resample of more raters (:mod:`vp_stats.stats.uncertainty`); NaN where a side is
        constant or fewer than two raters were drawn.
        """
        return _weighted_rhos(w, self.items, self.values, self.levels)


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
    groups = ranks.items.n_groups if ranks.levels is not None else n * k
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
