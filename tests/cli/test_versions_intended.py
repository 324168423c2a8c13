"""compare-versions with a pairs file that names each pair's intended value (column dimension)."""

import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import simulate, versions

runner = CliRunner()


def test_compare_versions_on_the_values_the_pairs_file_names(tmp_path):
    """A pairs file with a dimension column: each pair on its intended value only."""
    st = simulate.synthetic_study(n_participants=50, n_items=40, seed=6)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    pairs = versions.version_pairs(st["truth"]["item"]).merge(
        st["truth"][["item", "dimension"]], left_on="item_a", right_on="item"
    )[["item_a", "item_b", "dimension"]]
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    res = runner.invoke(
        app,
        ["compare-versions", "--ratings", tmp_path / "r.csv", "--scores", tmp_path / "s.csv",
         "--pairs", tmp_path / "pairs.csv", "--n-boot", "0", "--out", tmp_path / "o"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "validities against that intended value" in res.output
    comp = pd.read_csv(tmp_path / "o" / "version_comparison.csv")
    assert len(comp) == len(pairs)  # one row per pair: its own value, not every dimension
    got = set(comp[["item_a", "dimension"]].itertuples(index=False, name=None))
    assert got == set(pairs[["item_a", "dimension"]].itertuples(index=False, name=None))
    # rho_a of one pair is scipy's Spearman of its ratings with the raters' score on that value
    row = comp.iloc[0]
    r = st["ratings"][st["ratings"]["item"] == row.item_a].set_index("participant")["rating"]
    sc = st["scores"]
    sc = sc[sc.dimension == row.dimension].set_index("participant")["score"]
    both = pd.concat([r, sc], axis=1, join="inner").dropna()
    assert row.rho_a == pytest.approx(
        stats.spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic, abs=1e-12
    )
    pooled = pd.read_csv(tmp_path / "o" / "version_comparison_pooled.csv")
    assert pooled.dimension.iloc[-1] == "all" and pooled.n_pairs.iloc[-1] == len(pairs)


def test_compare_versions_without_named_values_says_so(tmp_path):
    st = simulate.synthetic_study(n_participants=50, n_items=40, seed=6)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    res = runner.invoke(
        app,
        ["compare-versions", "--ratings", tmp_path / "r.csv", "--scores", tmp_path / "s.csv",
         "--versions", "likely,similar", "--n-boot", "0", "--out", tmp_path / "o"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "the pairs name no intended value" in res.output
