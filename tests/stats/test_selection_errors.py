"""Selection error rates (expected null passes, estimated FDP, the warning) and calibrated p-values.

References: R's ``cor.test(method = "spearman", exact = TRUE)`` (stored under
tests/fixtures/r/spearman_exact.csv by make_spearman_exact.R, and live where R is installed),
scipy's exact permutation test (all n! orderings) with ties, brute-force enumeration, large
Monte Carlo permutation references, and simulated studies whose truth is known.
"""

import itertools
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import r_reference  # tests/ is on sys.path via tests/conftest.py
from scipy import stats
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.io import datasets
from vp_stats.stats import spearman, validation
from vp_stats.studies import released

runner = CliRunner()


def _rho_of(y):
    """Spearman's rho of each row of a with y (vectorised, for scipy.stats.permutation_test)."""
    ry = stats.rankdata(y) - (len(y) + 1) / 2

    def statistic(a, axis=-1):
        ra = stats.rankdata(a, axis=-1) - (len(y) + 1) / 2
        return (ra @ ry) / np.sqrt((ra * ra).sum(-1) * (ry @ ry))

    return statistic


# --------------------------------------------------------------------------- p-values


def _r_cases():
    stored = r_reference.stored("spearman_exact")
    tags = sorted({k[: -len("_x")] for k in stored if k.endswith("_x")})
    return [(t, stored[t + "_x"], float(stored[t + "_p"][0])) for t in tags]


def test_as89_equals_r_cor_test_exact_without_ties():
    """R's exact = TRUE: enumeration for n <= 9, AS 89's Edgeworth series above (n = 10 ... 60)."""
    cases = _r_cases()
    assert len(cases) == 14 * 6
    for tag, x, p_r in cases:
        n = len(x)
        rho = stats.spearmanr(x, np.arange(1, n + 1)).statistic
        p = float(spearman.pvalue_as89(rho, n))
        assert p == pytest.approx(p_r, rel=1e-12, abs=1e-15), tag
        assert float(validation.spearman_pvalue(rho, n, method="as89")) == pytest.approx(p, abs=0)


@pytest.mark.r
def test_as89_equals_a_live_r_run():
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    rng = np.random.default_rng(3)
    xs = {n: rng.permutation(n) + 1.0 for n in (5, 8, 9, 11, 25, 47)}
    script = "\n".join(
        f'out("p{n}", cor.test(X{n}[, 1], seq_len({n}), method = "spearman", exact = TRUE)$p.value)'
        for n in xs
    )
    got = r_reference.run(script, {f"X{n}": x[:, None] for n, x in xs.items()})
    for n, x in xs.items():
        rho = stats.spearmanr(x, np.arange(1, n + 1)).statistic
        assert float(spearman.pvalue_as89(rho, n)) == pytest.approx(got[f"p{n}"][0], rel=1e-12)


def test_exact_null_is_the_enumerated_law_of_rho():
    """null_sf and prho at n <= 9 against brute-force enumeration of the n! permutations."""
    for n in (3, 5, 7):
        rhos = np.array(
            [stats.spearmanr(np.arange(n), p).statistic for p in itertools.permutations(range(n))]
        )
        for t in (0.0, 0.3, 0.5, 0.8):
            assert float(spearman.null_sf(t, n)) == pytest.approx((rhos > t + 1e-12).mean())
    assert float(spearman.null_sf(0.3, 2)) == 0.0 and float(spearman.null_sf(np.nan, 10)) == 0.0


def test_null_tail_at_47_raters_against_a_permutation_reference():
    """P(rho > 0.3) at n = 47 (AS 89) against 200,000 permutations; the issue's 'about 2 %'."""
    rng = np.random.default_rng(0)
    n = 47
    perms = np.argsort(rng.random((200_000, n)), axis=1)
    r = stats.rankdata(np.arange(n)) - (n + 1) / 2
    rho = (perms - (n - 1) / 2) @ r / (r @ r)
    ref = (rho > 0.3).mean()
    se = np.sqrt(ref * (1 - ref) / len(rho))
    got = float(spearman.null_sf(0.3, n))
    assert abs(got - ref) < 4 * se and 0.019 < got < 0.022


@pytest.mark.parametrize("n", [6, 8, 9])
def test_exact_permutation_p_with_ties_equals_scipy_enumeration(n):
    rng = np.random.default_rng(n)
    x = rng.integers(1, 4, size=(n, 3)).astype(float)  # heavy Likert ties
    y = np.column_stack([rng.normal(size=n), rng.integers(1, 3, size=n)]).astype(float)
    x[:, 2] = x[:, 2].round()  # keep three items; y: one untied, one tied dimension
    p, rho, used = spearman.permutation_pvalues(x, y)
    assert used == math.factorial(n)
    for i in range(3):
        for j in range(2):
            if np.ptp(x[:, i]) == 0 or np.ptp(y[:, j]) == 0:
                assert np.isnan(p[i, j])
                continue
            ref = stats.permutation_test(
                (x[:, i],),
                _rho_of(y[:, j]),
                permutation_type="pairings",
                n_resamples=np.inf,
                vectorized=True,
            )
            assert p[i, j] == pytest.approx(ref.pvalue, abs=1e-12)
            assert rho[i, j] == pytest.approx(stats.spearmanr(x[:, i], y[:, j]).statistic)


def test_exact_permutation_p_without_ties_equals_r():
    """Without ties the enumerated permutation p is R's exact p (n <= 9)."""
    for tag, x, p_r in _r_cases():
        if len(x) > spearman.EXACT_MAX_N or len(x) < 3:
            continue
        p, _, _ = spearman.permutation_pvalues(x[:, None], np.arange(1.0, len(x) + 1)[:, None])
        assert p[0, 0] == pytest.approx(p_r, rel=1e-12), tag


def test_monte_carlo_p_with_ties_at_47_raters_against_a_large_permutation_reference():
    rng = np.random.default_rng(5)
    n = 47
    latent = rng.normal(size=n)
    x = np.column_stack(
        [
            np.digitize(0.5 * latent + rng.normal(size=n), [-1.5, -0.5, 0.3, 1.2]),
            np.digitize(rng.normal(size=n), [-1, 0, 1]),
        ]
    ).astype(float)
    y = np.column_stack([latent, np.round(rng.normal(3, 0.7, size=n) * 2) / 2])  # BFI-like ties
    p, rho, used = spearman.permutation_pvalues(x, y, n_perm=20_000, seed=1)
    assert used == 20_000
    for i in range(2):
        for j in range(2):
            ref = stats.permutation_test(
                (x[:, i],),
                _rho_of(y[:, j]),
                permutation_type="pairings",
                n_resamples=100_000,
                vectorized=True,
                random_state=np.random.default_rng(10 * i + j),
            ).pvalue
            se = np.sqrt(ref * (1 - ref) * (1 / 20_000 + 1 / 100_000)) * 2
            assert abs(p[i, j] - ref) < 4 * se + 1e-4, (i, j, p[i, j], ref)
    # seeded: the same permutations give the same p
    again = spearman.permutation_pvalues(x, y, n_perm=20_000, seed=1)[0]
    np.testing.assert_array_equal(p, again)


def test_t_approximation_is_anti_conservative_in_the_far_tail_at_47_raters():
    """Why p_method='auto': at 47 raters with Likert ties the t p undershoots the permutation p."""
    rng = np.random.default_rng(11)
    n = 47
    x = np.digitize(rng.normal(size=n), [-1.2, -0.4, 0.3, 1.0])[:, None].astype(float)
    y = rng.normal(size=(n, 1))
    xs = stats.rankdata(x[:, 0]) - (n + 1) / 2
    ys = stats.rankdata(y[:, 0]) - (n + 1) / 2
    perms = np.argsort(rng.random((400_000, n)), axis=1)
    null = ys[perms] @ xs / np.sqrt((xs @ xs) * (ys @ ys))
    p_t = spearman.pvalue_t(null, n)
    ratio = (p_t < 1e-3).mean() / 1e-3
    assert ratio > 1.1  # anti-conservative (about 1.2 at 1e-3)


def test_validate_items_uses_calibrated_p_values_and_computes_fdr_on_them(make_study):
    st = make_study(n_participants=30, n_items=20, seed=4)
    res = validation.validate_items(st["ratings"], st["scores"], n_boot=0, n_perm=2000, seed=3)
    t = res.table
    assert "Monte Carlo permutation: 300 pairs" in res.p_values
    wide = st["ratings"].pivot(index="participant", columns="item", values="rating")
    sc = st["scores"].pivot(index="participant", columns="dimension", values="score")
    sc = sc.reindex(wide.index)
    for item in ("abby_Power_likely_04", "abby_Hedonism_similar_12"):
        x = wide[[item]].to_numpy()
        dims = t.loc[t.item == item, "dimension"].tolist()
        p, rho, _ = spearman.permutation_pvalues(x, sc[dims].to_numpy(), n_perm=2000, seed=3)
        got = t.loc[t.item == item].set_index("dimension").loc[dims]
        np.testing.assert_allclose(got.p_value, p[0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(got.rho, rho[0], rtol=0, atol=1e-12)
    for _, g in t.groupby("family"):
        np.testing.assert_allclose(
            g.p_fdr, stats.false_discovery_control(g.p_value, method="bh"), rtol=0, atol=1e-15
        )
    # the t approximation stays available and is scipy's
    t_t = validation.validate_items(st["ratings"], st["scores"], n_boot=0, p_method="t").table
    ref = validation.item_correlations(st["ratings"], st["scores"])
    np.testing.assert_allclose(t_t.p_value, ref.p_value, rtol=0, atol=0)
    # from 100 raters on, auto is the t approximation
    big = make_study(n_participants=120, n_items=10, seed=4)
    res = validation.validate_items(big["ratings"], big["scores"], n_boot=0)
    ref = validation.item_correlations(big["ratings"], big["scores"])
    np.testing.assert_allclose(res.table.p_value, ref.p_value, rtol=0, atol=0)
    assert "t approximation: 150 pairs" in res.p_values
    with pytest.raises(ValueError, match="p_method must be one of"):
        validation.validate_items(st["ratings"], st["scores"], n_boot=0, p_method="exact")


# --------------------------------------------------------------------------- selection errors


def test_expected_null_passes_by_hand():
    t = pd.DataFrame(
        {
            "family": ["pvq"] * 4 + ["bfi"] * 2,
            "item": list("abcdef"),
            "dimension": "Power",
            "rho": [0.35, 0.1, 0.32, np.nan, 0.5, -0.4],
            "n": [47, 47, 8, 47, 30, 30],
        }
    )
    sel = validation.select_items(t, warn=False)
    e = validation.selection_errors(sel)
    want = 2 * spearman.null_sf(0.3, 47) + spearman.null_sf(0.3, 8) + 2 * spearman.null_sf(0.3, 30)
    assert e.expected_null == pytest.approx(float(want), rel=1e-12)
    assert e.n_tested == 5 and e.n_selected == 3
    assert e.fdp == pytest.approx(float(want) / 3)
    by = e.table.set_index("family")
    assert by.loc["bfi", "expected_null"] == pytest.approx(2 * float(spearman.null_sf(0.3, 30)))
    # abs mode doubles the tail; an excluded pair is not tested
    e_abs = validation.selection_errors(
        validation.select_items(t, mode="abs", warn=False), 0.3, "abs"
    )
    assert e_abs.expected_null == pytest.approx(2 * float(want))
    ex = validation.select_items(t, exclusions=t.iloc[[0]][["item", "dimension"]], warn=False)
    assert validation.selection_errors(ex).n_tested == 4


def test_a_p_value_cut_bounds_the_null_pass_probability():
    """rho > 0.3 and p_value < 0.001 at n = 47: a null pair passes with probability 0.0005."""
    t = pd.DataFrame(
        {"family": "pvq", "item": ["a", "b"], "dimension": "Power", "rho": [0.6, 0.2], "n": 47}
    )
    t["p_value"] = spearman.pvalue_t(t.rho, t.n)
    sel = validation.select_items(t, max_p=0.001, warn=False)
    e = validation.selection_errors(sel, max_p=0.001)
    assert e.expected_null == pytest.approx(2 * 0.0005)
    # BH: the cut is the largest p it rejects in the family
    t = validation.add_fdr(t)
    e = validation.selection_errors(
        validation.select_items(t, max_fdr=0.05, warn=False), max_fdr=0.05
    )
    assert e.expected_null == pytest.approx(2 * t.p_value.iloc[0] / 2)


def test_estimate_matches_null_passes_in_simulated_null_studies(make_study):
    """All items invalid (loading 0) at 47 raters: expected null passes ~ the passes observed."""
    expected, observed = 0.0, 0
    for seed in range(6):
        st = make_study(n_participants=47, n_items=60, loadings=(0.0,), seed=seed)
        corr = validation.item_correlations(st["ratings"], st["scores"])
        sel = validation.select_items(corr, warn=False)
        e = validation.selection_errors(sel)
        expected += e.expected_null
        observed += e.n_selected
    # 6 x 900 pairs x 0.02 = about 110; pairs share items and (centred) scores: a wide band
    assert 0.7 < observed / expected < 1.3, (observed, expected)


def _realised_fdp(table, truth):
    valid = truth[truth.loading > 0][["item", "dimension"]].assign(valid=True)
    m = table[table.selected].merge(valid, on=["item", "dimension"], how="left")
    return float(m.valid.isna().mean()) if len(m) else 0.0


def test_paper_rule_at_47_raters_warns_and_the_named_rule_holds_the_rate(make_study):
    st = make_study(n_participants=47, n_items=60, loadings=(0.0, 0.0, 0.5), seed=3)
    with pytest.warns(validation.SelectionErrorWarning, match="estimated false-discovery") as rec:
        paper = validation.validate_items(
            st["ratings"], st["scores"], n_boot=0, max_fdr=None, n_perm=2000
        )
    assert paper.rule == "rho > 0.3"
    e = paper.errors
    assert e.fdp > validation.FDP_WARN and e.warning == str(rec[0].message)
    assert "'rho > 0.3 and p_fdr < 0.05' (--max-fdr 0.05)" in e.warning
    assert paper.notes["selection_warning"] == e.warning
    real = _realised_fdp(paper.table, st["truth"])
    assert real > 0.3 and e.fdp > 0.3  # both well above 0.2 (realised 0.38 here)
    # the default rule: no warning, a small estimate and a small realised proportion
    with warnings.catch_warnings():
        warnings.simplefilter("error", validation.SelectionErrorWarning)
        own = validation.validate_items(st["ratings"], st["scores"], n_boot=0)
    assert own.rule == "rho > 0.3 and p_fdr < 0.05" and own.errors.warning is None
    assert own.errors.fdp <= 0.06 and _realised_fdp(own.table, st["truth"]) <= 0.1
    assert own.errors.n_selected > 0


def test_a_table_without_p_values_gets_a_threshold_suggestion():
    rng = np.random.default_rng(2)
    t = pd.DataFrame(
        {
            "family": "pvq",
            "item": [f"q{i}" for i in range(400)],
            "dimension": "Power",
            "rho": np.r_[rng.normal(0, 0.15, 380), rng.normal(0.6, 0.05, 20)],
            "n": 47,
        }
    )
    with pytest.warns(validation.SelectionErrorWarning, match=r"--threshold 0\.\d+"):
        validation.select_items(t)
    e = validation.selection_errors(validation.select_items(t, warn=False))
    assert "estimated false-discovery proportion 0.0" in e.suggestion


def test_the_reproduction_keeps_the_paper_rule_and_reports_its_error_rate():
    published = datasets.load_published_correlations()
    with pytest.warns(validation.SelectionErrorWarning):
        res = released.validate_data(
            n_boot=0, procedure="upstream", exclusions=validation.upstream_exclusions()
        )
    assert res.rule == "rho > 0.3"
    keys = ["portrait_id", "option_id", "family", "dimension"]
    m = res.table.merge(published, on=keys, suffixes=("", "_pub"), validate="one_to_one")
    assert len(m) == 9880 and (m.rho - m.rho_pub).abs().max() < 1e-12
    assert (m.p_value - m.p_value_pub).abs().max() < 1e-12
    want = validation.select_items(
        published, exclusions=validation.upstream_exclusions(), warn=False
    )
    assert res.table.selected.sum() == want.selected.sum()
    e = res.errors
    # 9,877 tested pairs at 47 raters (3 excluded): about 2 % pass by chance
    assert e.n_tested == 9877 and 190 < e.expected_null < 215
    assert e.fdp > 0.3 and "--max-fdr 0.05" in e.warning


# --------------------------------------------------------------------------- command line


def test_the_cli_prints_and_records_the_error_rates_of_a_small_study(make_study, tmp_path):
    st = make_study(n_participants=47, n_items=60, loadings=(0.0, 0.0, 0.5), seed=3)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    base = ["validate", "--ratings", str(tmp_path / "r.csv"), "--scores", str(tmp_path / "s.csv")]
    base += ["--n-boot", "0", "--n-perm", "2000"]
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "paper"), "--max-fdr", "none"])
    assert res.exit_code == 0, res.output
    assert "WARNING: " in res.output and "estimated false-discovery proportion is" in res.output
    assert "(--max-fdr 0.05) would hold it near 0.05" in res.output
    assert "expected by chance" in res.output and "selection error rates" in res.output
    prov = json.loads((tmp_path / "paper" / "provenance.json").read_text())
    rec = prov["selection_errors"]
    assert prov["selection_rule"] == "rho > 0.3" and rec["estimated_fdp"] > 0.2
    assert rec["warning"] and rec["expected_null_passes"] > 10
    assert {r["family"] for r in rec["by_family"]} == {"pvq", "bfi"}
    assert "Monte Carlo permutation" in prov["p_values"]
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "own")])
    assert res.exit_code == 0, res.output
    assert "WARNING" not in res.output and "(rho > 0.3 and p_fdr < 0.05)" in res.output
    prov = json.loads((tmp_path / "own" / "provenance.json").read_text())
    assert prov["parameters"]["max_fdr"] == 0.05 and prov["parameters"]["p_method"] == "auto"
    assert prov["selection_errors"]["estimated_fdp"] <= 0.06
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "x"), "--max-fdr", "lots"])
    assert res.exit_code == 2 and "--max-fdr must be a number" in res.output
