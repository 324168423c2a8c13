"""The one resampling engine: draws, intervals, and the four bootstraps that moved onto it.

The migrated bootstraps are checked against references that do not use the
engine: the pre-migration algorithms written out here (numpy's generator and
``numpy.nanquantile``; bit for bit), scipy's Spearman rho of the materialised
resamples (validation), and values the pre-migration personas code printed
for a fixed input (group gaps, variance ratio).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vp_stats import schema
from vp_stats.stats import persona_gaps, scoring, simulate, validation
from vp_stats.stats import personas as persona_stats
from vp_stats.stats.resampling import Resampler, check_boot_options, multiplicities, percentile_ci

# --------------------------------------------------------------------------- the engine


def test_resampler_is_numpy_default_rng_and_seeded():
    np.testing.assert_array_equal(
        Resampler(11).indices(7, 5), np.random.default_rng(11).integers(0, 7, size=(5, 7))
    )
    np.testing.assert_array_equal(Resampler(3).indices(9, 4), Resampler(3).indices(9, 4))
    assert not np.array_equal(Resampler(3).indices(9, 4), Resampler(4).indices(9, 4))
    g = np.random.default_rng(5)
    assert Resampler(g).rng is g
    with pytest.raises(ValueError, match="cannot resample 0"):
        Resampler(0).indices(0, 3)


def test_counts_are_multinomial_and_chunk_free():
    r = Resampler(2)
    c = np.vstack([r.counts(6, 3), r.counts(6, 4)])
    np.testing.assert_array_equal(c, Resampler(2).counts(6, 7))
    np.testing.assert_array_equal(
        c, np.random.default_rng(2).multinomial(6, np.full(6, 1 / 6), size=7)
    )
    assert (c.sum(axis=1) == 6).all()
    # same distribution as the multiplicities of index draws: mean 1, variance 1 - 1/n per unit
    big = Resampler(0).counts(5, 40000)
    assert abs(big.mean() - 1) < 0.01 and abs(big.var(axis=0).mean() - 0.8) < 0.02
    m = multiplicities(Resampler(0).indices(5, 40000), 5)
    assert abs(m.var(axis=0).mean() - 0.8) < 0.02


def test_multiplicities_count_draws():
    idx = np.array([[0, 0, 3, 1], [2, 2, 2, 2]])
    np.testing.assert_array_equal(multiplicities(idx, 4), [[2, 1, 0, 1], [0, 0, 4, 0]])


def test_stratified_keeps_units_in_their_stratum():
    strata = np.array(["a", "b", "a", "c", "b", "a"])
    idx = Resampler(1).stratified(strata, 500)
    assert (strata[idx] == strata[None, :]).all()
    assert set(np.unique(idx[:, 3])) == {3}  # a stratum of one unit is held fixed
    assert set(np.unique(idx[:, 0])) == {0, 2, 5}


@pytest.mark.parametrize("ci", [0.95, 0.9, 0.5, 0.99, 0.683])
def test_percentile_ci_equals_numpy_nanquantile_bit_for_bit(ci):
    rng = np.random.default_rng(int(ci * 1000))
    for b in (1, 2, 3, 199, 1000):
        x = rng.normal(size=(b, 60))
        x[rng.random(x.shape) < 0.2] = np.nan
        x[:, 0] = np.nan  # no valid resample
        x[:, 1] = 2.5  # constant
        lo, hi, valid = percentile_ci(x, ci)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanquantile(x, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        np.testing.assert_array_equal(lo, ref[0])
        np.testing.assert_array_equal(hi, ref[1])
        np.testing.assert_array_equal(valid, (~np.isnan(x)).sum(axis=0))


def test_percentile_ci_ignores_infinite_resamples_and_takes_an_axis():
    x = np.array([[1.0, 2.0, np.inf, 4.0, -np.inf, 3.0]])
    lo, hi, valid = percentile_ci(x, 0.5, axis=1)
    np.testing.assert_array_equal(
        [lo[0], hi[0], valid[0]], np.nanquantile([1.0, 2.0, 4.0, 3.0], [0.25, 0.75]).tolist() + [4]
    )
    lo, hi, valid = percentile_ci(np.array([1.0, 3.0]), 0.5)  # one statistic: 0-d results
    assert (float(lo), float(hi), int(valid)) == (1.5, 2.5, 2)


def test_check_boot_options():
    check_boot_options(1, 0.5)
    check_boot_options(0, 0.95, allow_zero=True)
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="n_boot"):
            check_boot_options(bad, 0.95)
    for bad in (0, 1, 1.2, "0.9"):
        with pytest.raises(ValueError, match="ci"):
            check_boot_options(10, bad)


# -------------------------------------------------------------------------- validation.bootstrap_ci


def test_bootstrap_ci_equals_scipy_on_materialised_resamples():
    """Same random numbers as before the engine (default_rng(seed).integers per rater set), same rho
    as scipy."""
    syn = simulate.synthetic(n_participants=40, n_items=3, seed=5)
    n_boot, seed = 40, 9
    got = validation.bootstrap_ci(syn["ratings"], syn["scores"], ["bfi"], n_boot=n_boot, seed=seed)
    r = syn["ratings"].assign(
        item=syn["ratings"].portrait_id.astype(str) + "_" + syn["ratings"].option_id.astype(str)
    )
    wide = r.pivot(index="participant", columns="item", values="rating")
    vals = (
        syn["scores"]
        .query("family == 'bfi'")
        .pivot(index="participant", columns="dimension", values="score")
    )
    vals = vals.reindex(index=wide.index, columns=list(schema.BFI_TRAITS))
    assert wide.notna().all().all()  # one rater set: one block, one draw
    idx = np.random.default_rng(seed).integers(0, len(wide), size=(n_boot, len(wide)))
    x, y = wide.to_numpy(), vals.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boots = np.array(
            [
                [
                    [stats.spearmanr(x[i, k], y[i, d]).statistic for d in range(y.shape[1])]
                    for k in range(x.shape[1])
                ]
                for i in idx
            ]
        )
    ref = np.nanquantile(boots, [0.025, 0.975], axis=0)
    g = got.set_index(["item", "dimension"])
    for k, it in enumerate(wide.columns):
        for d, dim in enumerate(schema.BFI_TRAITS):
            assert g.loc[(it, dim), "ci_low"] == pytest.approx(ref[0, k, d], abs=1e-12)
            assert g.loc[(it, dim), "ci_high"] == pytest.approx(ref[1, k, d], abs=1e-12)


# --------------------------------------------------------------------------- scoring.value_profiles


def _old_value_profile_cis(answers, corr, n_boot, ci, seed):
    """The item bootstrap of value_profiles as written before the engine (one family, no
    exclusions)."""
    sel = validation.select_items(corr)
    sel = sel[sel.selected]
    mat = answers.pivot(index="model", columns="item", values="numeric_response")
    rng = np.random.default_rng(seed)
    out = {}
    fam = "bfi"
    fam_items = pd.Index(sel["item"].drop_duplicates())
    centre = np.nanmean(mat[fam_items].to_numpy(), axis=1)
    for dim in schema.FAMILIES[fam]:
        a = mat[pd.Index(sel.loc[sel.dimension == dim, "item"])].to_numpy()
        if not a.shape[1]:
            continue
        idx = rng.integers(0, a.shape[1], size=(n_boot, a.shape[1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boot = np.nanmean(a[:, idx], axis=2)
            lo, hi = np.nanquantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=1) - centre
        for m, l_, h_ in zip(mat.index, lo, hi, strict=True):
            out[(m, dim)] = (l_, h_)
    return out


def test_value_profile_cis_are_the_pre_engine_numbers():
    rng = np.random.default_rng(3)
    items = [f"q{i}" for i in range(30)]
    corr = pd.DataFrame(
        {
            "item": items,
            "family": "bfi",
            "dimension": [schema.BFI_TRAITS[i % 5] for i in range(30)],
            "rho": rng.uniform(0.0, 0.7, 30),
        }
    )
    answers = pd.DataFrame(
        {
            "model": np.repeat(["m1", "m2", "m3"], 30),
            "item": items * 3,
            "numeric_response": rng.integers(1, 7, 90).astype(float),
        }
    )
    answers.loc[[4, 40, 41], "numeric_response"] = np.nan  # failed answers
    prof = scoring.value_profiles(answers, corr, exclusions=None, n_boot=300, ci=0.9, seed=8)
    ref = _old_value_profile_cis(answers, corr, 300, 0.9, 8)
    got = prof.set_index(["model", "dimension"])
    assert len(ref) == 15
    for key, (lo, hi) in ref.items():
        assert got.loc[key, "ci_low"] == lo and got.loc[key, "ci_high"] == hi  # bit for bit


# --------------------------------------------------------------------------- personas


def _persona_inputs():
    rng = np.random.default_rng(7)
    dims = list(schema.FAMILIES["pvq"])
    h = pd.DataFrame(
        {
            "participant": np.repeat([f"h{i}" for i in range(40)], 10),
            "dimension": dims * 40,
            "score": np.round(rng.normal(size=400), 2),
            "family": "pvq",
        }
    )
    h["gender"] = np.repeat(np.where(np.arange(40) % 3 == 0, "f", "m"), 10)
    h["weight"] = np.repeat(1.0 + (np.arange(40) % 4) / 2, 10)
    p = pd.DataFrame(
        {
            "persona_id": np.repeat([f"p{i}" for i in range(12)], 10),
            "dimension": dims * 12,
            "centered_mean": np.round(rng.normal(scale=0.5, size=120), 2),
            "family": "pvq",
        }
    )
    p["gender"] = np.repeat(np.where(np.arange(12) % 2 == 0, "f", "m"), 10)
    return h, p


def test_group_gap_cis_are_the_pre_engine_numbers():
    """Printed by vp_stats/personas/gaps.py before the move (multinomial counts, np.nanquantile)."""
    h, p = _persona_inputs()
    g = persona_gaps.group_gap_comparison(
        p, h, "gender", "m", "f", weight="weight", n_boot=300, seed=4
    )
    got = (
        g[["llm_ci_low", "llm_ci_high", "human_ci_low", "human_ci_high"]]
        .iloc[[0, 6]]
        .values.tolist()
    )
    assert got == [
        [-0.26666666666666666, 0.41366666666666635, -0.7421908690577247, 0.38272406417112265],
        [0.069125, 1.2485833333333332, -0.6532534343434342, 0.647572849893162],
    ]


def test_variance_ratio_cis_are_the_pre_engine_numbers():
    h, p = _persona_inputs()
    v = persona_stats.variance_ratio(p, h, n_boot=300, seed=4)
    assert v[["ci_low", "ci_high"]].iloc[[0, 6]].values.tolist() == [
        [0.03214374910684177, 0.2728086223447194],
        [0.14020476718230565, 0.8022233625952194]]  # fmt: skip


def test_variance_ratio_bootstrap_is_the_multinomial_reference():
    """Independently: variances of multinomially reweighted rows, persona draws first, then human
    draws."""
    h, p = _persona_inputs()
    Pm = p.pivot(index="persona_id", columns="dimension", values="centered_mean")[
        list(schema.PVQ_VALUES)
    ].to_numpy()
    Hm = h.pivot(index="participant", columns="dimension", values="score")[
        list(schema.PVQ_VALUES)
    ].to_numpy()
    rng = np.random.default_rng(4)

    def boot_var(X):
        M = rng.multinomial(len(X), np.full(len(X), 1 / len(X)), size=300).astype(float)
        m = (M @ X) / len(X)
        return (M @ (X * X) - len(X) * m * m) / (len(X) - 1)

    br = boot_var(Pm) / boot_var(Hm)
    ref = np.nanquantile(br, [0.025, 0.975], axis=0)
    v = persona_stats.variance_ratio(p, h, n_boot=300, seed=4)
    np.testing.assert_allclose(v.ci_low, ref[0], rtol=1e-12)
    np.testing.assert_allclose(v.ci_high, ref[1], rtol=1e-12)
