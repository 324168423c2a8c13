"""Item validation on the released study against what a competent user would write.

Correlations: vp-stats' engine against a vectorised pandas groupby-rank (merge the scores,
rank within item, Pearson of the ranks from grouped sums; ``bench_scale.pandas_correlations``),
goal: at least 3x faster on validated tables. Bootstrap of all 9,880 correlations: against a
numpy bootstrap that per resample ranks every item and score column once and takes all
correlations of a rater set as one matrix product (``bench_scale.numpy_bootstrap``), on the
same resample indices; goal: at least 5x faster, 1,000 resamples under 10 s on 2 cores.
Sizes beyond the released study, memory and growth: ``bench_scale.py``.

Measured as ``bench_scale.py`` measures its released case, so that the two print the same
ratios: CPU seconds (best of 15 calls for the correlations, of 3 for the bootstraps), BLAS on
one thread for the engine and the peers alike, tables already through their contracts (the
contracts on raw tables are a third line).

Run: python benchmarks/bench_validation.py
"""

from __future__ import annotations

import numpy as np
from _common import best_of, report
from bench_scale import numpy_bootstrap, pandas_correlations

from vp_stats.io import datasets
from vp_stats.stats import validation


def main():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        _main()


def _main():
    scores = datasets.load_participant_scores()
    ratings = datasets.load_ratings(participants=scores)
    inp = validation._inputs(ratings, scores, None)
    r, s = inp.ratings, inp.scores
    t_pd, ref = best_of(lambda: pandas_correlations(r, s), repeat=15, cpu=True)
    t_eng, corr = best_of(
        lambda: validation.item_correlations(r, s, validated=True), repeat=15, cpu=True
    )
    t_raw, _ = best_of(lambda: validation.item_correlations(ratings, scores), repeat=5, cpu=True)
    assert len(ref) == len(corr) == 9880
    got = corr.assign(col=corr.family + ":" + corr.dimension).set_index(["item", "col"]).rho
    want = ref.set_index(["item", "col"]).rho.reindex(got.index)
    assert np.allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)
    report("vectorised pandas groupby-rank (baseline)", t_pd)
    report("vp_stats item_correlations (validated tables)", t_eng, t_pd, "goal: >= 3x")
    report("vp_stats item_correlations (raw tables, contracts run)", t_raw, t_pd)
    st = validation._study(inp)
    t_np, _ = best_of(lambda: numpy_bootstrap(st.blocks, st.values, 1000, 0), repeat=3, cpu=True)
    t_boot, ci = best_of(
        lambda: validation.bootstrap_ci(r, s, n_boot=1000, seed=0, validated=True),
        repeat=3,
        cpu=True,
    )
    report("numpy bootstrap ranking every column per resample (baseline)", t_np)
    report("vp_stats bootstrap_ci, 1,000 resamples x 9,880 rho", t_boot, t_np, "goal: >= 5x")
    assert np.isfinite(ci.ci_low).all()


if __name__ == "__main__":
    main()
