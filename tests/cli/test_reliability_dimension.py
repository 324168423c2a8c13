"""reliability --items --dimension: only the item sets of the named dimensions."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import simulate

runner = CliRunner()


@pytest.fixture
def study(tmp_path):
    st = simulate.synthetic_study(n_participants=60, n_items=40, loadings=(0.7,), seed=4)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    pick = st["truth"].groupby("dimension").head(4)
    pick = pick[pick.dimension.isin(["Power", "Benevolence", "Security"])]
    pick.assign(family="pvq")[["item", "family", "dimension"]].to_csv(
        tmp_path / "items.csv", index=False
    )
    return tmp_path


def _run(tmp_path, out, *extra):
    args = ["reliability", "--ratings", tmp_path / "r.csv", "--items", tmp_path / "items.csv"]
    return runner.invoke(app, [*args, *extra, "--out", tmp_path / out])


def test_dimension_keeps_only_its_item_sets_with_the_same_numbers(study):
    full = _run(study, "all")
    one = _run(study, "power", "--dimension", "Power,Security")
    assert full.exit_code == 0 and one.exit_code == 0, one.output
    a = pd.read_csv(study / "all" / "reliability.csv")
    b = pd.read_csv(study / "power" / "reliability.csv")
    assert sorted(set(b.dimension)) == ["Power", "Security"]
    expected = a[a.dimension.isin(["Power", "Security"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(b, expected)  # a set's reliability does not depend on others
    assert "Benevolence" not in one.output


def test_dimension_not_in_the_selection_is_one_clear_error(study):
    res = _run(study, "bad", "--dimension", "Hedonism")
    assert res.exit_code == 2
    assert "--dimension Hedonism" in res.output and "selects no item for it" in res.output
    assert "Traceback" not in res.output


def test_dimension_needs_items(study):
    args = ["reliability", "--data", study / "r.csv", "--dimension", "Power"]
    res = runner.invoke(app, [*args, "--out", study / "x"])
    assert res.exit_code == 2 and "--dimension needs --items" in res.output
