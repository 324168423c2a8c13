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
