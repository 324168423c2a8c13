"""One file through every command: `structure efa|cfa --ratings --items` equal the runs on the
hand-pivoted `--data` file, and `vp-stats pivot` writes that file (CSV, SPSS, R)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app

runner = CliRunner()


def _ok(*args):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A generated study, its validate selection and the selection pivoted by hand."""
    from vp_stats.stats import simulate

    st = simulate.synthetic_study(n_participants=120, n_items=30, loadings=(0.6, 0.7), seed=5)
    d = tmp_path_factory.mktemp("study")
    st["ratings"].to_csv(d / "ratings.csv", index=False)
    st["scores"].to_csv(d / "scores.csv", index=False)
    _ok(
        "validate", "--ratings", d / "ratings.csv", "--scores", d / "scores.csv",
        "--n-boot", "0", "--p-method", "t", "--max-fdr", "none", "--out", d / "v",
    )  # fmt: skip
    sel = pd.read_csv(d / "v" / "item_correlations.csv")
    chosen = sel[sel.selected]
    items = list(dict.fromkeys(chosen["item"]))
    assert len(items) >= 6
    wide = st["ratings"].pivot(index="participant", columns="item", values="rating")[items]
    wide.reset_index().to_csv(d / "wide.csv", index=False)
    dims = chosen.groupby("dimension")["item"].nunique()
    dim = dims[dims >= 3].index[0]  # a dimension with enough items for a one-factor CFA
    dim_items = list(dict.fromkeys(chosen.loc[chosen.dimension == dim, "item"]))
    wide[dim_items].reset_index().to_csv(d / f"wide_{dim}.csv", index=False)
    (d / "model.txt").write_text(f"{dim} =~ {' + '.join(dim_items)}\n")
    return {"d": d, "items": items, "dim": dim, "wide": wide}


def _tables(folder, prefix):
    return {p.name: pd.read_csv(p) for p in sorted(folder.glob(f"{prefix}_*.csv"))}


def test_efa_on_long_ratings_equals_the_hand_pivoted_run(files, tmp_path):
    d = files["d"]
    common = ["--n-factors", "2", "--parallel", "--n-iter", "5"]
    a = _ok(
        "structure", "efa", "--ratings", d / "ratings.csv", "--items",
        d / "v" / "item_correlations.csv", *common, "--out", tmp_path / "a",
    )  # fmt: skip
    b = _ok("structure", "efa", "--data", d / "wide.csv", *common, "--out", tmp_path / "b")
    ta, tb = _tables(tmp_path / "a", "efa"), _tables(tmp_path / "b", "efa")
    assert set(ta) >= {"efa_loadings.csv", "efa_adequacy.csv", "efa_parallel.csv"}
    assert ta.keys() == tb.keys()
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=name)
    assert a.split("wrote")[0] == b.split("wrote")[0]  # the printed results too
    assert set(ta["efa_loadings.csv"]["item"]) == set(files["items"])


def test_cfa_on_one_dimension_equals_the_model_file_run(files, tmp_path):
    d, dim = files["d"], files["dim"]
    _ok(
        "structure", "cfa", "--ratings", d / "ratings.csv", "--items",
        d / "v" / "item_correlations.csv", "--dimension", dim, "--starts", "2",
        "--out", tmp_path / "a",
    )  # fmt: skip
    _ok(
        "structure", "cfa", "--data", d / f"wide_{dim}.csv", "--model", d / "model.txt",
        "--starts", "2", "--out", tmp_path / "b",
    )  # fmt: skip
    for name in ("cfa_fit.csv", "cfa_loadings.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "a" / name), pd.read_csv(tmp_path / "b" / name), obj=name
        )


def test_data_accepts_long_ratings(files, tmp_path):
    d = files["d"]
    _ok("structure", "efa", "--data", d / "ratings.csv", "--n-factors", "1", "--out", tmp_path)
    loadings = pd.read_csv(tmp_path / "efa_loadings.csv")
    assert loadings["item"].nunique() == 30


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".rds", ".xlsx"])
def test_pivot_writes_the_hand_pivoted_matrix(files, tmp_path, suffix):
    d = files["d"]
    out = tmp_path / f"wide{suffix}"
    printed = _ok(
        "pivot", "--ratings", d / "ratings.csv", "--items", d / "v" / "item_correlations.csv",
        "--out", out,
    )  # fmt: skip
    assert f"120 participants x {len(files['items'])} items" in printed
    from vp_stats.io import formats

    got = formats.read_table(out, as_text=False).table.set_index("participant")
    want = files["wide"]
    assert list(got.columns) == files["items"]
    pd.testing.assert_frame_equal(
        got.astype(float), want.astype(float), check_names=False, check_index_type=False
    )
    assert (tmp_path / f"wide{suffix}.provenance.json").is_file()


def test_pivot_and_structure_refuse_bad_combinations(files, tmp_path):
    d = files["d"]
    r = d / "ratings.csv"
    cases = [
        (["pivot", "--ratings", r, "--dimension", "Power", "--out", tmp_path / "x.csv"],
         "--dimension needs --items"),
        (["pivot", "--ratings", d / "ratings.csv", "--out", tmp_path / "x.parquet"],
         "write .csv, .tsv, .xlsx"),
        (["pivot", "--ratings", d / "ratings.csv", "--items", d / "v" / "item_correlations.csv",
          "--dimension", "Nope", "--out", tmp_path / "x.csv"], "--dimension 'Nope' is not in"),
        (["structure", "efa", "--n-factors", "1", "--out", tmp_path / "o"], "give --data"),
        (["structure", "efa", "--data", d / "wide.csv", "--ratings", d / "ratings.csv",
          "--n-factors", "1", "--out", tmp_path / "o"], "not both"),
        (["structure", "cfa", "--ratings", d / "ratings.csv", "--out", tmp_path / "o"],
         "give --model"),
    ]  # fmt: skip
    for args, message in cases:
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)


def test_reliability_reads_long_ratings_and_other_dialects(files, tmp_path):
    d = files["d"]
    long = pd.read_csv(d / "ratings.csv")
    long[long["item"].isin(files["items"])].to_csv(tmp_path / "long.csv", index=False)
    files["wide"].reset_index().to_csv(tmp_path / "w.tsv", sep="\t", index=False)
    for name, data in (
        ("a", d / "wide.csv"),
        ("b", tmp_path / "long.csv"),
        ("c", tmp_path / "w.tsv"),
    ):
        _ok("reliability", "--data", data, "--n-factors", "1", "--out", tmp_path / name)
    want = pd.read_csv(tmp_path / "a" / "reliability.csv")
    for name in ("b", "c"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name / "reliability.csv"), want)
