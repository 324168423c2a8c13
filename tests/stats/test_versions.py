"""Comparing item versions: the dependent-correlation tests against the literature and R, the
tables, the CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import r_reference  # noqa: E402  (tests/ is on sys.path via tests/conftest.py)
from scipy import stats
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import simulate, versions
from vp_stats.stats.resampling import Resampler, multiplicities
from vp_stats.stats.versions import dependent_correlations

# ---------------------------------------------------------------- the statistics, hand-worked cases


def test_zou_2007_example_2():
    """Zou (2007, Psychological Methods 12, p. 409): r12 = .396, r13 = .179, r23 = .088, n = 66 ->
    (-.093, .517)."""
    d = dependent_correlations(0.396, 0.179, 0.088, 66).iloc[0]
    assert d["diff"] == pytest.approx(0.217, abs=1e-12)
    assert round(d.zou_low, 3) == -0.093 and round(d.zou_high, 3) == 0.517
    assert d.zou_low == pytest.approx(-0.0929, abs=1e-4) and d.zou_high == pytest.approx(
        0.5168, abs=1e-4
    )


def test_steiger_1980_case_a():
    """Steiger (1980, Psychological Bulletin 87, p. 249), case A.

    r_jk = .4, r_jh = .5, r_kh = .1, n = 103.

    Z* = -0.8887 computed exactly (R cocor's test of the same example: -0.8887185); the paper
    prints -.8913, having rounded the covariance to .0042 on the way.
    """
    d = dependent_correlations(0.4, 0.5, 0.1, 103).iloc[0]
    assert d.steiger_z == pytest.approx(-0.8887185, abs=5e-8)
    assert d.steiger_z == pytest.approx(-0.8913, abs=3e-3)


def test_depcor_reference_values():
    """DEPCOR (Silver, Hittner & May 2006, Applied Psychological Measurement 30): r = .3, .4, r_kh =
    .5, n = 100."""
    d = dependent_correlations(0.3, 0.4, 0.5, 100).iloc[0]
    assert round(d.williams_t, 4) == -1.0767 and round(d.p_williams, 4) == 0.2843
    assert round(d.steiger_z, 4) == -1.0718 and round(d.p_steiger, 4) == 0.2838
    assert d["df"] == 97


def test_hand_worked_williams_and_symmetry():
    """Williams' t by hand (Steiger 1980 eq. 7) for r = .5, .2, r_ab = .3, n = 50, and the sign
    flips with the order."""
    n, r1, r2, r12 = 50, 0.5, 0.2, 0.3
    det = 1 - r1**2 - r2**2 - r12**2 + 2 * r1 * r2 * r12  # 1 - .38 + .06
    assert det == pytest.approx(0.68)
    t = 0.3 * np.sqrt(49 * 1.3 / (2 * 49 / 47 * 0.68 + 0.35**2 * 0.7**3))
    a = dependent_correlations(r1, r2, r12, n).iloc[0]
    b = dependent_correlations(r2, r1, r12, n).iloc[0]
    assert a.williams_t == pytest.approx(t, rel=1e-14) == pytest.approx(1.98166814, abs=1e-8)
    assert b.williams_t == pytest.approx(-a.williams_t) and b.steiger_z == pytest.approx(
        -a.steiger_z
    )
    assert b.zou_low == pytest.approx(-a.zou_high) and b.zou_high == pytest.approx(-a.zou_low)
    e = dependent_correlations([0.4, 0.4], [0.4, 0.9], [0.6, 0.2], [80, 3])
    assert e.williams_t[0] == 0 and e.steiger_z[0] == 0 and e.zou_low[0] < 0 < e.zou_high[0]
    assert e.iloc[1][["williams_t", "steiger_z", "zou_low"]].isna().all()  # n = 3: undefined


def test_williams_t_equals_psych_r_test():
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    rng = np.random.default_rng(12)
    rows = []
    for n in rng.integers(20, 400, 30):  # correlation matrices of real samples (positive definite)
        x = rng.normal(size=(n, 3)) @ rng.normal(size=(3, 3))
        r = np.corrcoef(x.T)
        rows.append((n, r[0, 1], r[0, 2], r[1, 2]))
    cases = np.array(rows)
    script = """
for (i in seq_len(nrow(cases))) {
  x <- cases[i, ]
  res <- r.test(n = x[1], r12 = x[2], r13 = x[3], r23 = x[4])
  out(paste0("t", i), res$t); out(paste0("p", i), res$p)
}
"""
    got = r_reference.run(script, {"cases": cases})
    d = dependent_correlations(cases[:, 1], cases[:, 2], cases[:, 3], cases[:, 0])
    for i in range(len(cases)):
        assert d.williams_t[i] == pytest.approx(got[f"t{i + 1}"][0], abs=1e-10)
        assert d.p_williams[i] == pytest.approx(got[f"p{i + 1}"][0], abs=1e-10)


def test_zou_interval_covers_at_its_level_under_normality():
    """A small Monte Carlo: Zou's 95% CI covers the true difference near 95% (Zou's own simulation
    setting)."""
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])  # c, a, b
    hits = []
    for _ in range(1500):
        x = rng.multivariate_normal(np.zeros(3), cov, size=60)
        r = np.corrcoef(x.T)
        d = dependent_correlations(r[0, 1], r[0, 2], r[1, 2], 60).iloc[0]
        hits.append(d.zou_low <= 0.2 <= d.zou_high)
    assert 0.93 <= np.mean(hits) <= 0.97


# --------------------------------------------------------------------------- pairs


def test_version_pairs_from_ids():
    st = simulate.synthetic_study(n_participants=10, n_items=60, seed=0)
    p = versions.version_pairs(st["truth"]["item"])
    assert len(p) == 30
    assert p.iloc[0].tolist() == [
        "abby_Self_Direction_likely_00",
        "abby_Self_Direction_similar_10",
        "abby_Self_Direction",
    ]
    assert (p.item_a.str.contains("_likely_") & p.item_b.str.contains("_similar_")).all()
    assert (p.item_a.str.split("_").str[1] == p.item_b.str.split("_").str[1]).all()
    with pytest.raises(ValueError, match="has 2 'likely' and 1 'similar'"):
        versions.version_pairs(["x_likely_1", "x_likely_2", "x_similar_3"])
    with pytest.raises(ValueError, match="no item id matched"):
        versions.version_pairs(["a", "b"])
    with pytest.raises(ValueError, match="named groups"):
        versions.version_pairs(["a"], pattern="(.*)")


# --------------------------------------------------------------------------- compare_versions


@pytest.fixture(scope="module")
def study(make_study):
    st = make_study(n_participants=200, n_items=60, seed=3)
    pairs = versions.version_pairs(st["truth"]["item"]).merge(
        st["truth"][["item", "dimension"]], left_on="item_a", right_on="item"
    )
    return st, pairs[["item_a", "item_b", "dimension"]]


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_pair_correlations_equal_scipy(study, method):
    st, pairs = study
    r = st["ratings"].copy()
    drop = (r.item == pairs.item_b[0]) & r.participant.isin([f"P{i:03d}" for i in range(0, 200, 7)])
    r = r[~drop]  # the second version not rated by everyone: n counts the raters of both
    res = versions.compare_versions(
        r, st["scores"], pairs, families=["pvq"], method=method, n_boot=0
    )
    comp = res.comparison
    assert list(comp.columns) == versions.COMPARISON_COLUMNS and len(comp) == 30
    wide = r.pivot(index="participant", columns="item", values="rating")
    sc = (
        st["scores"]
        .query("family == 'pvq'")
        .pivot(index="participant", columns="dimension", values="score")
    )
    f = stats.spearmanr if method == "spearman" else stats.pearsonr
    for _, row in comp.iterrows():
        both = wide[[row.item_a, row.item_b]].dropna()
        c = sc.loc[both.index, row.dimension]
        assert row.n == len(both)
        assert row.rho_a == pytest.approx(f(both[row.item_a], c).statistic, abs=1e-12)
        assert row.rho_b == pytest.approx(f(both[row.item_b], c).statistic, abs=1e-12)
        assert row.r_ab == pytest.approx(f(both[row.item_a], both[row.item_b]).statistic, abs=1e-12)
    assert comp.n[0] == 200 - len(range(0, 200, 7))
    ref = dependent_correlations(comp.rho_a, comp.rho_b, comp.r_ab, comp.n)
    np.testing.assert_allclose(
        comp[["williams_t", "steiger_z", "zou_low", "zou_high"]],
        ref[["williams_t", "steiger_z", "zou_low", "zou_high"]],
    )


def test_versions_follow_the_true_loadings(study):
    st, pairs = study
    comp = versions.compare_versions(
        st["ratings"], st["scores"], pairs, families=["pvq"], n_boot=0
    ).comparison
    tr = st["truth"].set_index("item").loading
    gap = comp.item_a.map(tr) - comp.item_b.map(tr)
    big = comp[gap.abs() >= 0.6]  # loading .6 against 0
    assert len(big) == 10 and (np.sign(big["diff"]) == np.sign(gap[big.index])).all()
    assert ((big.zou_low > 0) | (big.zou_high < 0)).all() and (big.p_williams < 0.001).all()
    assert np.corrcoef(comp["diff"], gap)[0, 1] > 0.9


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_weighted_resample_correlations_equal_the_materialised_resample(study, method):
    st, pairs = study
    wide = st["ratings"].pivot(index="participant", columns="item", values="rating")
    sc = (
        st["scores"]
        .query("family == 'pvq'")
        .pivot(index="participant", columns="dimension", values="score")
    )
    x = wide[[pairs.item_a[1], pairs.item_b[1]]].to_numpy()
    y = sc.to_numpy()
    idx = Resampler(0).indices(len(x), 20)
    rho, rab = versions._pair_corrs(x, y, method, multiplicities(idx, len(x)))
    f = stats.spearmanr if method == "spearman" else stats.pearsonr
    for b, draw in enumerate(idx):
        assert rab[b] == pytest.approx(f(x[draw, 0], x[draw, 1]).statistic, abs=1e-10)
        for d in range(y.shape[1]):
            assert rho[b, 0, d] == pytest.approx(f(x[draw, 0], y[draw, d]).statistic, abs=1e-10)


def test_pooled_table_is_seeded_and_sensible(study):
    st, pairs = study
    a = versions.compare_versions(
        st["ratings"], st["scores"], pairs, families=["pvq"], n_boot=300, seed=2
    )
    b = versions.compare_versions(
        st["ratings"], st["scores"], pairs, families=["pvq"], n_boot=300, seed=2
    )
    pd.testing.assert_frame_equal(a.pooled, b.pooled)
    pooled = a.pooled
    assert list(pooled.columns) == versions.POOLED_COLUMNS
    assert pooled.dimension.tolist()[-1] == "all" and pooled.n_pairs.tolist() == [3] * 10 + [30]
    comp = a.comparison
    assert pooled.mean_diff.iloc[-1] == pytest.approx(comp["diff"].mean())
    assert (pooled.ci_low <= pooled.mean_diff).all() and (pooled.mean_diff <= pooled.ci_high).all()
    assert pooled.n_a_better.iloc[-1] == (comp.zou_low > 0).sum()
    # the pooled interval is narrower than any one pair's
    assert (pooled.ci_high - pooled.ci_low).iloc[-1] < (comp.zou_high - comp.zou_low).min()
    # without a dimension column: every pair on every dimension, no 'all' row
    c = versions.compare_versions(
        st["ratings"], st["scores"], pairs[["item_a", "item_b"]], families=["pvq"], n_boot=0
    )
    assert len(c.comparison) == 300 and "all" not in set(c.pooled.dimension)
    assert c.pooled.ci_low.isna().all()


def test_bad_pairs_are_named(study):
    st, pairs = study

    def run(p, **kw):
        return versions.compare_versions(
            st["ratings"], st["scores"], p, families=["pvq"], n_boot=0, **kw
        )

    with pytest.raises(ValueError, match=r"row 2, field 'item_b': item 'nope' has no ratings"):
        run(pairs.assign(item_b=[pairs.item_b[0], "nope", *pairs.item_b[2:]]))
    with pytest.raises(ValueError, match="unknown dimension 'Openness'"):
        run(pairs.assign(dimension="Openness"))  # a bfi trait, not scored with families=["pvq"]
    with pytest.raises(ValueError, match="item_b equals item_a"):
        run(pairs.assign(item_b=pairs.item_a))
    with pytest.raises(ValueError, match="field 'item_b': missing column"):
        run(pairs.drop(columns="item_b"))
    with pytest.raises(ValueError, match="given twice"):
        run(pd.concat([pairs, pairs.iloc[:1]]))
    with pytest.raises(ValueError, match="method"):
        run(pairs, method="kendall")


# --------------------------------------------------------------------------- CLI


def test_cli_compare_versions(tmp_path, study):
    st, pairs = study
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    runner = CliRunner()
    args = [
        "compare-versions",
        "--ratings",
        str(tmp_path / "r.csv"),
        "--scores",
        str(tmp_path / "s.csv"),
        "--pairs",
        str(tmp_path / "pairs.csv"),
        "--n-boot",
        "100",
        "--seed",
        "3",
        "--out",
        str(tmp_path / "out"),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    comp = pd.read_csv(tmp_path / "out" / "version_comparison.csv")
    assert list(comp.columns) == versions.COMPARISON_COLUMNS
    api = versions.compare_versions(st["ratings"], st["scores"], pairs, n_boot=100, seed=3)
    np.testing.assert_allclose(comp.williams_t, api.comparison.williams_t, rtol=1e-12)
    pooled = pd.read_csv(tmp_path / "out" / "version_comparison_pooled.csv")
    np.testing.assert_allclose(pooled.ci_low, api.pooled.ci_low, rtol=1e-12)
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert (
        prov["command"] == "compare-versions"
        and prov["parameters"]["seed"] == 3
        and "pairs" in prov["inputs"]
    )
    # pairs from the id rule
    res = runner.invoke(
        app,
        [*args[:5], "--versions", "likely,similar", "--n-boot", "0", "--out", str(tmp_path / "o2")],
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "o2" / "version_comparison.csv")) == 30 * 15


def test_cli_bad_input_is_one_line_exit_2(tmp_path, study):
    st, pairs = study
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    pairs.assign(dimension=["Power"] + ["Nonsense"] * 29).to_csv(tmp_path / "bad.csv", index=False)
    base = [
        "compare-versions",
        "--ratings",
        str(tmp_path / "r.csv"),
        "--scores",
        str(tmp_path / "s.csv"),
        "--out",
        str(tmp_path / "o"),
    ]
    runner = CliRunner()
    cases = {
        "bad.csv: row 2 (line 3), field 'dimension': unknown dimension 'Nonsense'": [
            "--pairs",
            str(tmp_path / "bad.csv"),
        ],
        "pairs file not found": ["--pairs", str(tmp_path / "missing.csv")],
        "give the item pairs": [],
        "method must be": ["--pairs", str(tmp_path / "bad.csv"), "--method", "kendall"],
        "--versions needs two": ["--versions", "likely"],
    }
    for msg, extra in cases.items():
        res = runner.invoke(app, [*base, *extra])
        assert res.exit_code == 2, (msg, res.output)
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and msg in lines[0], res.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not (tmp_path / "o" / "version_comparison.csv").exists()
