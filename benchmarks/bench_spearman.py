"""Permutation p-values of Spearman's rho: one rater set at a time vs scipy, one pair at a time.

A Value Portrait rater set: 47 raters, 40 items on a 1-6 scale, 19 dimensions (760 pairs),
10,000 Monte Carlo permutations. The baseline is :func:`scipy.stats.permutation_test`
(``permutation_type="pairings"``, vectorised statistic) called once per pair, timed on 40 pairs
and scaled to 760. Goal: the whole released study (13 rater sets) in well under a minute.

Run: python benchmarks/bench_spearman.py
"""

from __future__ import annotations

import numpy as np
from _common import best_of, report
from scipy import stats

from vp_stats.stats import spearman

rng = np.random.default_rng(0)
N, K, D, B = 47, 40, 19, 10_000
x = rng.integers(1, 7, size=(N, K)).astype(float)
y = rng.normal(size=(N, D))


def per_pair(n_pairs=40):
    out = []
    for j in range(n_pairs):
        ry = stats.rankdata(y[:, j % D]) - (N + 1) / 2

        def rho_of(a, axis=-1, ry=ry):
            ra = stats.rankdata(a, axis=-1) - (N + 1) / 2
            return (ra @ ry) / np.sqrt((ra * ra).sum(-1) * (ry @ ry))

        out.append(
            stats.permutation_test(
                (x[:, j % K],),
                rho_of,
                permutation_type="pairings",
                n_resamples=B,
                vectorized=True,
                random_state=j,
            ).pvalue
        )
    return out


def per_set():
    spearman._random_orderings.cache_clear()
    return spearman.permutation_pvalues(x, y, n_perm=B, seed=0)


if __name__ == "__main__":
    base, _ = best_of(per_pair, repeat=1)
    base *= K * D / 40
    t, _ = best_of(per_set, repeat=3)
    report("permutation p, 760 pairs x 10,000 permutations", t, base, "goal: > 20x")
