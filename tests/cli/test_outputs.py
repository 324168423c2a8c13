"""Commands print the numbers they computed under the names of their output columns."""

import pandas as pd
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import simulate

runner = CliRunner()


def _study(tmp_path, per_dimension):
    st = simulate.synthetic_study(n_participants=60, n_items=40, loadings=(0.7,), seed=4)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    truth = st["truth"]
    pick = truth.groupby("dimension").head(per_dimension)
    pick = pick[pick.dimension.isin(["Power", "Benevolence"])]
    sel = pick.assign(family="pvq")[["item", "family", "dimension"]]
    sel.to_csv(tmp_path / "items.csv", index=False)
    return tmp_path / "r.csv", tmp_path / "items.csv"


def test_reliability_of_small_sets_prints_the_omega_it_computed(tmp_path):
    r, items = _study(tmp_path, per_dimension=3)  # 3 items: no Schmid-Leiman with 3 factors
    res = runner.invoke(
        app, ["reliability", "--ratings", r, "--items", items, "--out", tmp_path / "o"]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "o" / "reliability.csv")
    assert table["omega"].notna().all() and table["omega_total"].isna().all()
    header = next(line for line in res.output.splitlines() if line.lstrip().startswith("family"))
    assert header.split() == ["family", "dimension", "group", "n_items", "n_raters", "alpha",
                              "omega"]  # fmt: skip
    assert "NaN" not in res.output
    for omega in table["omega"].round(3):
        assert f"{omega:.3f}".rstrip("0") in res.output
    assert "not computed (psych::omega's Schmid-Leiman solution needs more than --n-factors 3" in (
        res.output
    )


def test_reliability_of_larger_sets_prints_both_omegas(tmp_path):
    r, items = _study(tmp_path, per_dimension=4)
    res = runner.invoke(
        app, ["reliability", "--ratings", r, "--items", items, "--out", tmp_path / "o"]
    )
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.lstrip().startswith("family"))
    assert header.split()[-3:] == ["omega", "omega_total", "omega_hierarchical"]
    assert "Schmid-Leiman solution with 3 group factors" in res.output


def test_compare_versions_names_its_versions_and_explains_its_counts(tmp_path):
    st = simulate.synthetic_study(n_participants=50, n_items=40, seed=6)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    res = runner.invoke(
        app,
        ["compare-versions", "--ratings", tmp_path / "r.csv", "--scores", tmp_path / "s.csv",
         "--versions", "likely,similar", "--n-boot", "50", "--out", tmp_path / "o"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.lstrip().startswith("dimension"))
    assert header.split() == [
        "dimension", "n_pairs", "mean_rho_likely", "mean_rho_similar", "mean_diff", "ci_low",
        "ci_high", "n_likely_better", "n_similar_better",
    ]  # fmt: skip
    assert "version a = 'likely', version b = 'similar'" in res.output
    assert "n_likely_better / n_similar_better: pairs whose Zou 95% CI of rho_likely - " in (
        res.output
    )
    pooled = pd.read_csv(tmp_path / "o" / "version_comparison_pooled.csv")
    assert "n_a_better" in pooled.columns  # the files keep their contract's names
