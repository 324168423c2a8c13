"""The operating-characteristics simulation (validation/operating_characteristics.py): quick mode
runs, its figures are sane, and equal seeds give the same table."""

import inspect
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from validation import operating_characteristics as oc
from vp_stats import schema
from vp_stats.stats import simulate, spearman, validation


def test_quick_mode_prints_the_table_with_monte_carlo_errors(capsys):
    assert oc.main(["--quick", "--raters", "47", "--null-reps", "20"]) == 0
    out = capsys.readouterr().out
    assert (
        "3 simulated studies per size (20 for the global null, 20 of them also with permutation "
        "p-values below 100 raters, 10,000 permutations), 40 resamples, seed 0"
    ) in out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    other = ("cov_studentized", "cov_percentile", "width_studentized", "width_percentile")
    shown = [q for q in oc.QUANTITIES if q[0] not in other]
    assert len(rows) == 1 + len(shown)  # the other intervals only with --intervals
    assert all("±" in r for r in rows[1:])


def test_runs_as_a_file_with_reps():
    """``python validation/operating_characteristics.py`` from anywhere, with ``--reps``."""
    script = Path(__file__).resolve().parents[2] / "validation" / "operating_characteristics.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = ["--reps", "2", "--n-boot", "10", "--null-reps", "5", "--raters", "30"]
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert "2 simulated studies per size (5 for the global null, 5 of them" in done.stdout
    assert "| coverage, one-stage item CI (value_profiles) | 0.95 | " in done.stdout


@pytest.fixture(scope="module")
def quick():
    return oc.simulate_studies(47, 2, n_boot=30, seed=3)


def test_figures_are_sane(quick):
    s = oc.summarise({47: quick}).set_index("quantity")
    cov = s.loc[s.index.str.startswith("coverage"), "estimate"]
    assert ((cov > 0.5) & (cov <= 1)).all()
    fdp = s.loc[s.index.str.startswith("false-discovery"), "estimate"]
    assert ((fdp >= 0) & (fdp < 0.5)).all()
    # requiring p_fdr < 0.05 on top of rho > 0.3 never adds discoveries
    for key in ("fdp", "n_sel"):
        assert (quick[f"{key} rho > 0.3 and p_fdr < 0.05"] <= quick[f"{key} rho > 0.3"]).all()
    width = s.loc[s.index.str.startswith("mean width"), "estimate"]
    assert (width > 0).all()
    # the default two-stage interval carries the selection: wider and covering more often
    assert (quick["width_default"] > quick["width_one_stage"]).all()
    assert (quick["cov_default"] > quick["cov_one_stage"]).all()
    t1 = s.loc[s.index.str.startswith("type I"), "estimate"]
    assert ((t1 >= 0) & (t1 < 0.3)).all()
    assert (s["mc_error"].dropna() >= 0).all() and (s["n_sims"] == 2).all()


def test_same_seed_same_table(quick):
    again = oc.simulate_studies(47, 2, n_boot=30, seed=3)
    pd.testing.assert_frame_equal(quick, again)
    pd.testing.assert_frame_equal(quick, oc.simulate_studies(47, 2, n_boot=30, seed=3, jobs=2))
    other = oc.simulate_studies(47, 1, n_boot=30, seed=4)
    assert not np.allclose(other.iloc[0].to_numpy(), quick.iloc[0].to_numpy())


def test_coverage_counts_the_truth_inside_the_interval():
    truth = pd.Series(
        [0.0, 1.0, -1.0],
        index=pd.MultiIndex.from_tuples([("m", "a"), ("m", "b"), ("m", "c")]),
    )
    p = pd.DataFrame(
        {
            "model": "m",
            "dimension": ["a", "b", "c"],
            "lo": [-0.1, 1.2, np.nan],
            "hi": [0.1, 1.5, 0.0],
        }
    )
    assert oc._coverage(p, truth, "lo", "hi") == 0.5  # a inside, b outside, c undefined


def test_known_profile_of_the_answer_generator():
    """The censored-normal mean of synthetic_model_answers against the simulated mean."""
    dims = ["Power", "Hedonism", "Tradition"]
    truth = pd.DataFrame(
        {"item": [f"i{k}" for k in range(60000)], "dimension": np.tile(dims, 20000)}
    )
    sim = simulate.synthetic_model_answers(
        truth, n_models=2, levels=(4.5, 5.5), answer_sd=1.0, seed=1
    )
    a = sim["answers"].merge(truth, on="item")
    got = a.groupby(["model", "dimension"])["numeric_response"].mean()
    p = sim["profiles"].set_index(["model", "dimension"])
    np.testing.assert_allclose(got.reindex(p.index), p["expected"], atol=0.03)  # SE 0.007
    for level, expected in zip(p["level"], p["expected"], strict=True):  # numerical integration
        ref = integrate.quad(lambda x, m=level: np.clip(x, 1, 6) * stats.norm.pdf(x, m), -10, 20)
        assert expected == pytest.approx(ref[0], abs=1e-8)
    assert (p["expected"] < p["level"]).all()  # censored at 6 more than at 1
    np.testing.assert_allclose(
        p["profile"], p["expected"] - p.groupby("model")["expected"].transform("mean")
    )


def _long(ratings: np.ndarray, scores: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matrices of a null study as the package's long ratings and scores tables."""
    n, k = ratings.shape
    pids = [f"P{i:02d}" for i in range(n)]
    r = pd.DataFrame(
        {
            "participant": np.repeat(pids, k),
            "item": np.tile([f"q{j:03d}" for j in range(k)], n),
            "rating": ratings.ravel(),
        }
    )
    s = pd.DataFrame(
        {
            "participant": np.repeat(pids, 10),
            "family": "pvq",
            "dimension": np.tile(schema.PVQ_VALUES, n),
            "score": scores.ravel(),
        }
    )
    return r, s


def test_null_pvalues_equal_item_correlations_and_add_fdr():
    """The global-null shortcut (matrices) gives the package's p and p_fdr to 1e-12."""
    ratings, scores = oc.null_study(47, 30, seed=5)
    p, q = oc.null_pvalues(ratings, scores)
    r, s = _long(ratings, scores)
    corr = validation.add_fdr(validation.item_correlations(r, s, families=["pvq"]))
    wide = corr.pivot(index="item", columns="dimension", values=["p_value", "p_fdr"])
    np.testing.assert_allclose(wide["p_value"][list(schema.PVQ_VALUES)], p, rtol=1e-12)
    np.testing.assert_allclose(wide["p_fdr"][list(schema.PVQ_VALUES)], q, rtol=1e-12)
    assert stats.spearmanr(ratings[:, 0], scores[:, 0]).pvalue == pytest.approx(p[0, 0], rel=1e-9)


def test_permutation_null_pvalues_equal_validate_items_default():
    """The permutation shortcut is validate_items' default path (p_method="auto", its n_perm)
    at 47 raters: equal p and p_fdr to 1e-12 on a whole 1200-test null study."""
    assert oc.N_PERM == inspect.signature(validation.validate_items).parameters["n_perm"].default
    assert inspect.signature(validation.validate_items).parameters["p_method"].default == "auto"
    assert 47 < spearman.AUTO_MAX_N  # so "auto" is the permutation p here
    # a study whose smallest p goes through the refinement (fewer than 10 permuted values as
    # extreme in the first 10,000), so the second stage is compared too
    ratings, scores = oc.null_study(47, oc.NULL_ITEMS, seed=11)
    cuts = np.quantile(scores[:, 0], [0.2, 0.4, 0.6, 0.8])
    ratings[:, 0] = 1 + np.searchsorted(cuts, scores[:, 0])  # item q000 measures value 0
    p, q = oc.null_pvalues(ratings, scores, "permutation", seed=7)
    r, s = _long(ratings, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", validation.SelectionErrorWarning)
        res = validation.validate_items(r, s, families=["pvq"], n_boot=0, seed=7)
    assert "Monte Carlo permutation: 1200 pairs" in res.p_values
    wide = res.table.pivot(index="item", columns="dimension", values=["p_value", "p_fdr"])
    np.testing.assert_allclose(wide["p_value"][list(schema.PVQ_VALUES)], p, rtol=1e-12)
    np.testing.assert_allclose(wide["p_fdr"][list(schema.PVQ_VALUES)], q, rtol=1e-12)
    assert p.min() < 2 / (oc.N_PERM + 1)  # refined: below the first stage's floor
    # not the t p-value: the shortcut really took the permutation path
    assert not np.allclose(p, oc.null_pvalues(ratings, scores)[0], rtol=1e-3)
    with pytest.raises(ValueError, match="p_method"):
        oc.null_pvalues(ratings, scores, "as89")


def test_global_null_family_wise_error_is_a_seeded_proportion():
    a = oc.simulate_null(47, 40, seed=2, perm_reps=3)
    assert a.equals(oc.simulate_null(47, 40, seed=2, perm_reps=3))
    assert a.equals(oc.simulate_null(47, 40, seed=2, perm_reps=3, jobs=2))
    assert set(a["fwer_t"]) <= {0.0, 1.0} and 0 <= a["fwer_t"].mean() <= 1
    assert set(a["fwer_perm"].iloc[:3]) <= {0.0, 1.0} and a["fwer_perm"].iloc[3:].isna().all()
    # from AUTO_MAX_N raters on the default is the t p-value: no permutation figure
    assert oc.simulate_null(spearman.AUTO_MAX_N, 2, perm_reps=2)["fwer_perm"].isna().all()
    # a real effect is found: BH on 1200 tests with one strong pair rejects every time
    ratings, scores = oc.null_study(47, 120, seed=3)
    ratings[:, 0] = np.argsort(np.argsort(scores[:, 0]))
    assert (oc.null_pvalues(ratings, scores)[1] < 0.05).any()
    assert (oc.null_pvalues(ratings, scores, "permutation")[1] < 0.05).any()


def test_the_table_shows_a_dash_where_a_figure_was_not_run():
    per = {
        47: pd.DataFrame({"fwer_t": [0.0, 1.0], "fwer_perm": [1.0, 0.0]}),
        200: pd.DataFrame({"fwer_t": [0.0, 0.0], "fwer_perm": [np.nan, np.nan]}),
    }
    s = oc.summarise(per)
    assert s.groupby("n_raters").size().to_dict() == {47: 2, 200: 1}
    row = [line for line in oc.format_table(s).splitlines() if "permutation p-value" in line]
    assert row == [f"| {oc.QUANTITIES[-1][1]} | 0.05 | 0.500 ± 0.500 | — |"]
