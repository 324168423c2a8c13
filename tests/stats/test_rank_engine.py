"""The rank engine of item validation against a plain per-item resample-and-rank reference.

The reference draws the same resample indices (one :class:`Resampler` stream, one draw per set
of raters in the order of ``numpy.unique`` over the items' rater masks), then for every item
and resample copies the drawn raters and calls :func:`scipy.stats.spearmanr`; intervals are
:func:`numpy.nanquantile`. Small data with tied ratings, tied scores and missing ratings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vp_stats import schema
from vp_stats.errors import TableError
from vp_stats.stats import rank_engine, simulate, validation
from vp_stats.stats.resampling import Resampler

TOL = 1e-12


@pytest.fixture(scope="module")
def study():
    st = simulate.scale_study(n_participants=36, n_items=9, n_groups=2, missing=0.15, seed=4)
    return st["ratings"], st["scores"]


def _reference(ratings, scores, n_boot, seed, ci=0.95):
    """Per item: spearmanr of the rating with every dimension, point and bootstrap percentiles."""
    wide = ratings.pivot(index="participant", columns="item", values="rating")  # sorted ids
    vals = scores.pivot_table(index="participant", columns=["family", "dimension"], values="score")
    cols = [(f, d) for f in schema.FAMILIES for d in schema.FAMILIES[f]]
    vals = vals[cols].reindex(wide.index).to_numpy()
    mask = wide.notna().to_numpy()
    patterns, inverse = np.unique(mask.T, axis=0, return_inverse=True)
    rs = Resampler(seed)
    rows = {}
    for p, pat in enumerate(patterns):
        raters = np.flatnonzero(pat)
        idx = rs.indices(len(raters), n_boot)
        for j in np.flatnonzero(inverse.ravel() == p):
            x = wide.iloc[raters, j].to_numpy()
            v = vals[raters]
            for c, (fam, dim) in enumerate(cols):
                point = stats.spearmanr(x, v[:, c]).statistic
                boot = np.full(n_boot, np.nan)
                for b in range(n_boot):
                    xb, vb = x[idx[b]], v[idx[b], c]
                    if np.ptp(xb) > 0 and np.ptp(vb) > 0:
                        boot[b] = stats.spearmanr(xb, vb).statistic
                ok = ~np.isnan(boot)
                lo, hi = (
                    np.quantile(boot[ok], [(1 - ci) / 2, (1 + ci) / 2])
                    if ok.any()
                    else (np.nan, np.nan)
                )
                rows[(wide.columns[j], fam, dim)] = (point, lo, hi, ok.sum(), len(raters))
    return rows


@pytest.mark.parametrize("min_raters", [0, 10**9])  # Likert covariances: level product, gather
def test_engine_equals_per_item_resample_and_rank(study, min_raters, monkeypatch):
    monkeypatch.setattr(rank_engine, "LEVELS_MIN_RATERS", min_raters)
    ratings, scores = study
    assert ratings.groupby("item").size().nunique() > 1  # missing ratings: unequal rater sets
    ref = _reference(ratings, scores, n_boot=60, seed=7)
    corr = validation.item_correlations(ratings, scores)
    ci = validation.bootstrap_ci(ratings, scores, n_boot=60, seed=7)
    both = corr.merge(ci, on=["item", "family", "dimension"], validate="one_to_one")
    assert len(corr) == len(ci) == len(both) == len(ref)
    cols = ["item", "family", "dimension", "rho", "n", "ci_low", "ci_high", "n_boot_valid"]
    for it, fam, dim, rho, n, lo, hi, valid in both[cols].itertuples(index=False):
        p, rlo, rhi, rvalid, rn = ref[(it, fam, dim)]
        assert n == rn and valid == rvalid
        np.testing.assert_allclose([rho, lo, hi], [p, rlo, rhi], rtol=0, atol=TOL)


@pytest.mark.parametrize("min_raters", [0, 10**9])
@pytest.mark.parametrize("kind", ["likert", "continuous"])
def test_block_bootstrap_both_paths_equal_scipy(kind, min_raters, monkeypatch):
    monkeypatch.setattr(rank_engine, "LEVELS_MIN_RATERS", min_raters)
    rng = np.random.default_rng(3)
    n, k, d = 25, 4, 3
    x = rng.integers(1, 4, size=(n, k)).astype(float) if kind == "likert" else rng.random((n, k))
    x[:, 3] = 2.0  # a constant item: no rho in any resample
    vals = np.round(rng.normal(size=(n, d)), 1)  # tied scores
    blk = rank_engine.Block(np.arange(n), np.arange(k), x)
    idx = Resampler(1).indices(n, 40)
    got = rank_engine.block_bootstrap(blk, vals, idx, batch=7)
    monkeypatch.setattr(rank_engine, "MAX_LEVELS", 0 if kind == "likert" else 10**6)
    other = rank_engine.block_bootstrap(blk, vals, idx, batch=None)  # the other path
    np.testing.assert_allclose(got, other, rtol=0, atol=TOL)
    for b in range(len(idx)):
        for c in range(k):
            for j in range(d):
                xb, vb = x[idx[b], c], vals[idx[b], j]
                want = stats.spearmanr(xb, vb).statistic if np.ptp(xb) and np.ptp(vb) else np.nan
                np.testing.assert_allclose(got[b, c, j], want, rtol=0, atol=TOL)


def test_results_do_not_depend_on_batch(study):
    ratings, scores = study
    a = validation.bootstrap_ci(ratings, scores, families=["bfi"], n_boot=30, seed=2, batch=1)
    b = validation.bootstrap_ci(ratings, scores, families=["bfi"], n_boot=30, seed=2)
    pd.testing.assert_frame_equal(a, b)


def test_rater_sets_in_the_order_of_the_rater_masks():
    rng = np.random.default_rng(0)
    p, i = np.nonzero(rng.random((12, 30)) < 0.4)
    blocks = rank_engine.rater_sets(p, i, rng.random(len(p)), 12)
    mask = np.zeros((12, 30), dtype=bool)
    mask[p, i] = True
    present = mask.any(axis=0)
    patterns, inverse = np.unique(mask[:, present].T, axis=0, return_inverse=True)
    items = np.flatnonzero(present)
    assert [b.raters.tolist() for b in blocks] == [np.flatnonzero(m).tolist() for m in patterns]
    assert [b.items.tolist() for b in blocks] == [
        items[inverse.ravel() == q].tolist() for q in range(len(patterns))
    ]


def test_duplicate_rating_names_the_row(study):
    ratings, scores = study
    dup = pd.concat([ratings, ratings.iloc[[5]]], ignore_index=True)
    with pytest.raises(TableError, match="more than one"):
        validation.item_correlations(dup, scores, validated=True)


def test_progress_bar_changes_nothing(study, capsys):
    ratings, scores = study
    a = validation.bootstrap_ci(ratings, scores, families=["pvq"], n_boot=20, progress=True)
    assert "resample" in capsys.readouterr().err
    b = validation.bootstrap_ci(ratings, scores, families=["pvq"], n_boot=20)
    pd.testing.assert_frame_equal(a, b)


def test_validate_items_runs_the_rater_sets_once(study, monkeypatch):
    ratings, scores = study
    calls = []
    real = validation._study
    monkeypatch.setattr(validation, "_study", lambda inp: calls.append(1) or real(inp))
    validation.validate_items(ratings, scores, families=["pvq"], n_boot=10)
    assert len(calls) == 1


@pytest.mark.parametrize("max_levels", [0, 16])
def test_any_multiplicities_equal_the_tie_matrix_engine(max_levels, monkeypatch):
    # draws of a block's raters within a resample of more raters: sizes other than n, 0 and 1
    monkeypatch.setattr(rank_engine, "MAX_LEVELS", max_levels)
    rng = np.random.default_rng(5)
    n = 15
    x = rng.integers(1, 5, size=(n, 6)).astype(float)
    v = np.round(rng.normal(size=(n, 4)), 1)
    w = rng.poisson(0.8, size=(50, n)).astype(float)
    w[0] = 0
    w[1] = 0
    w[1, 3] = 1
    got = rank_engine.BlockRanks.of(x, v).rhos(w)
    want = validation._weighted_rank_corr(
        w, validation._tie_matrices(x), validation._tie_matrices(v)
    )
    assert np.isnan(got[:2]).all()
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("sub_bytes", [1, 2**22])  # one resample at a time, or all at once
def test_sorted_columns_equal_rankdata_of_the_expanded_resample(sub_bytes, monkeypatch):
    # weighted mid-ranks and sums of squares (tie correction) against ranking the copies
    monkeypatch.setattr(rank_engine, "SUB_BYTES", sub_bytes)
    rng = np.random.default_rng(11)
    n = 23
    x = np.column_stack(
        [
            rng.normal(size=n),  # no ties
            np.round(rng.normal(size=n), 0),  # a few levels
            np.full(n, 2.0),  # constant
            rng.integers(1, 7, size=n).astype(float),  # Likert
        ]
    )
    w = rng.poisson(1.0, size=(30, n)).astype(float)
    w[0] = 1.0
    w[1] = 0.0
    w[1, 5] = 3.0  # one rater drawn three times: every rank tied
    dev, ss = rank_engine.SortedColumns(x).ranks(w, weighted=False)
    u, ss_u = rank_engine.SortedColumns(x).ranks(w)
    np.testing.assert_array_equal(ss, ss_u)
    np.testing.assert_array_equal(u, dev * w[:, None, :])
    for b in range(len(w)):
        drawn = np.flatnonzero(w[b])
        reps = w[b, drawn].astype(int)
        for c in range(x.shape[1]):
            expanded = np.repeat(x[drawn, c], reps)
            rk = stats.rankdata(expanded) - (len(expanded) + 1) / 2
            np.testing.assert_allclose(ss[b, c], (rk**2).sum(), rtol=0, atol=TOL)
            first = np.concatenate([[0], np.cumsum(reps)[:-1]])  # each rater's first copy
            np.testing.assert_allclose(dev[b, c, drawn], rk[first], rtol=0, atol=TOL)


def test_likert_levels_equal_sorted_columns(monkeypatch):
    # the two item paths, and the level product with a constant item, give identical numbers
    rng = np.random.default_rng(12)
    n = 40
    x = rng.integers(1, 6, size=(n, 7)).astype(float)
    x[:, 4] = 3.0
    v = np.round(rng.normal(size=(n, 3)), 1)
    w = rng.poisson(1.0, size=(25, n)).astype(float)
    got = {}
    for levels, min_raters in ((16, 0), (16, 10**9), (0, 0)):
        monkeypatch.setattr(rank_engine, "MAX_LEVELS", levels)
        monkeypatch.setattr(rank_engine, "LEVELS_MIN_RATERS", min_raters)
        got[(levels, min_raters)] = rank_engine.BlockRanks.of(x, v).rhos(w)
    a, b, c = got.values()
    assert np.isnan(a[:, 4]).all() and not np.isnan(a[:, :4]).any()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_percentiles_of_several_rater_sets_in_one_call_change_nothing(study, monkeypatch):
    ratings, scores = study
    a = validation.bootstrap_ci(ratings, scores, families=["pvq"], n_boot=30, seed=4)
    monkeypatch.setattr(validation, "PERCENTILE_BYTES", 1)  # one call per rater set
    b = validation.bootstrap_ci(ratings, scores, families=["pvq"], n_boot=30, seed=4)
    assert validation._study(validation._inputs(ratings, scores, None)).blocks[1:]  # several
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: g.integers(1, 7, size=(500, 30)).astype(float),  # Likert: the radix sort
        lambda g: g.integers(-300, 300, size=(500, 30)).astype(float),  # int16 range
        lambda g: g.integers(0, 3, size=(500, 30)) * 0.5,  # halves: the float sort
        lambda g: np.where(g.random((500, 30)) < 0.1, np.nan, g.integers(1, 5, (500, 30))),
        lambda g: g.integers(1, 7, size=(500, 30)) * 1e5,  # outside int16: the float sort
    ],
)
def test_stable_order_equals_numpys_stable_argsort(make):
    x = make(np.random.default_rng(0)).astype(float)
    x[0, 0] = -0.0 if not np.isnan(x[0, 0]) else x[0, 0]
    want = np.argsort(x, axis=0, kind="stable")
    assert np.array_equal(rank_engine._stable_order(x), want)
    ranks = rank_engine.average_ranks(x)
    ok = ~np.isnan(x).any(axis=0)
    np.testing.assert_array_equal(ranks[:, ok], stats.rankdata(x[:, ok], axis=0))
