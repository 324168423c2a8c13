"""Missing-value codes never become ratings.

Without ``--na-values`` an inferred scale that a code such as -99, 999 or 1e308 would
widen is refused (exit 2, file/row/field, the value, both remedies); with it the codes
are missing and the statistics equal those of the cleaned data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from typer.testing import CliRunner

from vp_stats import tables
from vp_stats.cli import app
from vp_stats.errors import TableError
from vp_stats.io import tables as tio
from vp_stats.stats import simulate
from vp_stats.studies import validate as study

runner = CliRunner()


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3, 4, 5, 6],
        [-3, -1, 0, 2, 3],  # a bipolar scale
        [0, 10, 35, 50, 80, 100],  # a 0-100 slider
        [1.5, 2.25, 3.0, 4.75],  # averaged ratings
        [1, 2, 3, 4, 5, np.nan],
        [1, 2, 3, 6],  # nobody used 4 and 5: fewer than 4 other levels, kept
        [-2.31, -0.52, 0.13, 1.07, 2.9],  # continuous z-scores
    ],
)
def test_plausible_scales_are_inferred(values):
    assert tables.implausible_rating(values) is None
    tables.infer_scale(values)


@pytest.mark.parametrize(
    ("values", "at", "why"),
    [
        ([1, 2, -99, 4, 5, 6], 2, "negative"),
        ([-3, 0, 3, -9], 3, "negative"),
        ([1, 2, 3, 4, 5, 6, 999], 6, "far above"),
        ([1, 2, 3, 4, 5, 1e308], 5, "far above"),
        ([0, 97, 98, 99, 100], 0, "far below"),
        ([1, 5, 998], 2, "wider than 100"),
        ([1, 2, 3, 4, 5, 6, 6.5], 6, "not an integer"),
        ([1, 2, np.inf], 2, "not a finite"),
        ([-1.2, 0.31, 0.5, 1.7, 2.2, -99], 5, "far below"),  # a code among continuous scores
    ],
)
def test_implausible_scales_are_refused(values, at, why):
    pos, value, reason = tables.implausible_rating(values)
    assert (pos, value) == (at, float(values[at])) and why in reason
    with pytest.raises(ValueError, match="--na-values"):
        tables.infer_scale(values)


def test_codes_match_as_text_and_as_numbers():
    t = pd.DataFrame({"participant": ["999", "-99"], "rating": ["-99.0", " 999 "]})
    out = tio.mask_na_values(t, ["rating"], [-99, 999])
    assert out["rating"].isna().all() and out["participant"].tolist() == ["999", "-99"]
    assert tio.parse_na_values(" -99 ,NA,,") == ("-99", "NA")


# --------------------------------------------------------------------------- reliability --data


@pytest.fixture()
def scale_file(tmp_path):
    """300 respondents x 6 items on 1..5 (one factor), with -99 in 40 cells."""
    rng = np.random.default_rng(11)
    f = rng.normal(size=(300, 1))
    x = np.clip(np.round(3 + 0.6 * f + rng.normal(size=(300, 6))), 1, 5)
    df = pd.DataFrame(x.astype(int), columns=[f"q{j}" for j in range(1, 7)])
    df.insert(0, "participant", [f"p{i}" for i in range(300)])
    cells = rng.choice(300 * 6, size=40, replace=False)
    coded = df.copy()
    for c in cells:
        coded.iloc[c // 6, 1 + c % 6] = -99
    clean = df.copy()
    for c in cells:
        clean.iloc[c // 6, 1 + c % 6] = np.nan
    coded.to_csv(tmp_path / "items.csv", index=False)
    return tmp_path, clean.set_index("participant"), cells


def test_reliability_refuses_minus_99_without_na_values(scale_file):
    d, _, cells = scale_file
    res = _run(["reliability", "--data", d / "items.csv", "--out", d / "o"])
    assert res.exit_code == 2, res.output
    first = int(np.min(cells))
    msg = res.output
    assert f"row {first // 6 + 1} (line {first // 6 + 2}), field 'q{first % 6 + 1}'" in msg
    assert "rating -99" in msg and "--na-values" in msg and "--scale" in msg
    assert "Traceback" not in msg and not (d / "o" / "reliability.csv").exists()


def test_reliability_with_na_values_equals_pingouin_on_the_cleaned_data(scale_file):
    d, clean, _ = scale_file
    res = _run(["reliability", "--data", d / "items.csv", "--na-values", "-99", "--out", d / "o"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(d / "o" / "reliability.csv").iloc[0]
    alpha, ci = pg.cronbach_alpha(clean, nan_policy="listwise")
    assert got["alpha"] == pytest.approx(alpha, abs=1e-12)
    assert got["scale"].startswith("1-5") and got["n_participants"] == clean.dropna().shape[0]
    assert 0.55 < alpha < 0.75
    # what the codes do when read as ratings (the user insists on a -99..5 scale)
    res = _run(["reliability", "--data", d / "items.csv", "--scale", "-99-5", "--out", d / "w"])
    wrong = pd.read_csv(d / "w" / "reliability.csv").iloc[0]["alpha"]
    assert res.exit_code == 0 and wrong < alpha - 0.3
    prov = (d / "o" / "provenance.json").read_text()
    assert '"-99"' in prov
    # the API: the same matrix
    mat = tio.read_item_matrix(d / "items.csv", na_values=[-99])
    pd.testing.assert_frame_equal(mat.table, clean.astype(float), check_names=False)


# --------------------------------------------------------------------------- validate


@pytest.fixture()
def study_files(tmp_path):
    st = simulate.synthetic_study(n_participants=60, n_items=12, seed=4)
    r = st["ratings"].reset_index(drop=True)
    coded = r.copy().astype({"rating": object})
    at = [5, 77, 301]
    coded.loc[at, "rating"] = 999
    coded.to_csv(tmp_path / "coded.csv", index=False)
    r.drop(index=at).to_csv(tmp_path / "clean.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    return tmp_path, at


def test_validate_refuses_999_without_na_values(study_files):
    d, at = study_files
    args = ["validate", "--ratings", d / "coded.csv", "--scores", d / "s.csv", "--n-boot", "0"]
    res = _run([*args, "--out", d / "o"])
    assert res.exit_code == 2, res.output
    assert f"row {at[0] + 1} (line {at[0] + 2}), field 'rating'" in res.output
    assert "rating 999" in res.output and "--na-values" in res.output


def test_validate_with_na_values_equals_validate_on_the_cleaned_file(study_files):
    d, _ = study_files
    base = ["--scores", d / "s.csv", "--n-boot", "50", "--seed", "3"]
    a = _run(
        ["validate", "--ratings", d / "coded.csv", "--na-values", "999", *base, "--out", d / "a"]
    )
    b = _run(["validate", "--ratings", d / "clean.csv", *base, "--out", d / "b"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    pd.testing.assert_frame_equal(
        pd.read_csv(d / "a" / "item_correlations.csv"),
        pd.read_csv(d / "b" / "item_correlations.csv"),
    )


def test_a_rating_of_1e308_is_refused_and_errors_keep_file_lines(tmp_path):
    rows = [("a", "q1", 1), ("b", "q1", 2), ("c", "q1", 3), ("d", "q1", 4), ("e", "q1", 5)]
    pd.DataFrame(rows + [("f", "q1", "1e308")], columns=["participant", "item", "rating"]).to_csv(
        tmp_path / "r.csv", index=False
    )
    with pytest.raises(TableError, match=r"row 6 \(line 7\), field 'rating': rating 1e\+308"):
        tio.read_ratings(tmp_path / "r.csv")
    # after a code's row is dropped, a later bad cell is still named by its file line
    pd.DataFrame(
        [("a", "q1", -99), *rows, ("a", "q1", 3)], columns=["participant", "item", "rating"]
    ).to_csv(tmp_path / "r2.csv", index=False)
    with pytest.raises(TableError, match=r"row 7 \(line 8\), field 'participant'"):
        tio.read_ratings(tmp_path / "r2.csv", na_values="-99")


def test_load_study_api_takes_na_values(study_files):
    d, at = study_files
    r, _, info = study.load_study(d / "coded.csv", d / "s.csv", na_values=[999])
    assert len(r) == len(pd.read_csv(d / "clean.csv")) and info["na_values"] == ["999"]
