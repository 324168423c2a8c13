"""One study in the formats people have (;-CSV with decimal commas, xlsx, sav, rds, Qualtrics)
gives the plain CSV's results through ``vp-stats validate``; every reader's bad input is one
error naming file, row and field."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.errors import DataFormatError, TableError
from vp_stats.io import formats
from vp_stats.io import tables as tio

runner = CliRunner()

pyreadstat = pytest.importorskip("pyreadstat")
pytest.importorskip("openpyxl")
pyreadr = pytest.importorskip("pyreadr")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A generated study with a few ratings missing, written as a plain CSV pair."""
    from vp_stats.stats import simulate

    st = simulate.synthetic_study(n_participants=40, n_items=20, seed=3)
    r = st["ratings"]
    gone = np.random.default_rng(0).choice(len(r), size=7, replace=False)
    r = r.drop(index=r.index[gone]).reset_index(drop=True)
    d = tmp_path_factory.mktemp("plain")
    r.to_csv(d / "ratings.csv", index=False)
    st["scores"].to_csv(d / "scores.csv", index=False)
    return {"ratings": r, "scores": st["scores"], "items": list(dict.fromkeys(r["item"])), "d": d}


def _wide(study, fill=np.nan):
    w = study["ratings"].pivot(index="participant", columns="item", values="rating")
    w = w.reindex(columns=study["items"]).fillna(fill)
    return w.reset_index()


def _validate(ratings, scores, out, *extra):
    res = runner.invoke(
        app,
        [
            "validate",
            "--ratings",
            str(ratings),
            "--scores",
            str(scores),
            "--n-boot",
            "20",
            "--n-perm",
            "200",
            "--max-fdr",
            "none",
            "--out",
            str(out),
            *extra,
        ],
    )
    assert res.exit_code == 0, res.output
    return pd.read_csv(out / "item_correlations.csv")


@pytest.fixture(scope="module")
def plain(study, tmp_path_factory):
    d = study["d"]
    return _validate(d / "ratings.csv", d / "scores.csv", tmp_path_factory.mktemp("out"))


def _semicolon(study, d):
    study["ratings"].to_csv(d / "r.csv", sep=";", decimal=",", index=False)
    study["scores"].to_csv(d / "s.csv", sep=";", decimal=",", index=False)
    assert "," in (d / "s.csv").read_text().splitlines()[1]  # decimal commas are there
    return d / "r.csv", d / "s.csv"


def _xlsx(study, d):
    study["ratings"].to_excel(d / "r.xlsx", index=False, sheet_name="ratings")
    study["scores"].to_excel(d / "s.xlsx", index=False)
    return d / "r.xlsx", d / "s.xlsx"


def _sav(study, d):
    """Wide ratings as SPSS stores a survey: a missing answer is the user-missing code -99."""
    w = _wide(study, fill=-99)
    pyreadstat.write_sav(
        w,
        str(d / "r.sav"),
        missing_ranges={c: [-99] for c in study["items"]},
        variable_value_labels={
            c: {1: "not like me", 5: "very much like me"} for c in study["items"]
        },
        column_labels={c: f"portrait {c}" for c in w.columns},
    )
    pyreadstat.write_sav(study["scores"], str(d / "s.sav"))
    return d / "r.sav", d / "s.sav"


def _rds(study, d):
    pyreadr.write_rds(d / "r.rds", study["ratings"])
    pyreadr.write_rdata(d / "s.RData", study["scores"], df_name="scores")
    return d / "r.rds", d / "s.RData"


def qualtrics_export(wide: pd.DataFrame, path, id_column="participant"):
    """A Qualtrics-style CSV export: question ids, question texts, ImportId JSON, then answers."""
    items = [c for c in wide.columns if c != id_column]
    meta = {
        "StartDate": "2024-05-01 10:00:00",
        "EndDate": "2024-05-01 10:12:00",
        "Status": "IP Address",
        "Progress": "100",
        "Duration (in seconds)": "720",
        "Finished": "True",
    }
    body = pd.DataFrame({k: [v] * len(wide) for k, v in meta.items()})
    body["ResponseId"] = wide[id_column].to_numpy()
    for c in items:
        body[c] = wide[c].map(lambda v: "" if pd.isna(v) else str(int(v))).to_numpy()
    text = {c: c for c in meta} | {"ResponseId": "Response ID"}
    text |= {c: f"How much is this person like you? - {c}" for c in items}
    imp = {c: json.dumps({"ImportId": c.lower()}) for c in meta} | {
        "ResponseId": json.dumps({"ImportId": "_recordId"})
    }
    imp |= {c: json.dumps({"ImportId": f"QID{i + 1}"}) for i, c in enumerate(items)}
    head = pd.DataFrame([text, imp])[body.columns]
    pd.concat([head, body]).to_csv(path, index=False)
    return path


def _qualtrics(study, d):
    path = qualtrics_export(_wide(study), d / "r.csv")
    study["scores"].to_csv(d / "s.csv", index=False)
    return path, d / "s.csv"


@pytest.mark.parametrize(
    "write",
    [_semicolon, _xlsx, _sav, _rds, _qualtrics],
    ids=["semicolon", "xlsx", "sav", "rds", "qualtrics"],
)
def test_every_format_gives_the_plain_csv_results(study, plain, write, tmp_path):
    ratings, scores = write(study, tmp_path)
    got = _validate(ratings, scores, tmp_path / "out")
    pd.testing.assert_frame_equal(got, plain)
    assert plain["selected"].any()  # a study with something to find


def test_readers_keep_the_metadata(study, tmp_path):
    r, _ = _sav(study, tmp_path)
    t = formats.read_table(r)
    item = study["items"][0]
    assert t.notes["format"] == "spss" and t.notes["user_missing"] == 7
    assert t.value_labels[item][5.0] == "very much like me"
    assert t.item_labels[item] == f"portrait {item}"
    q, _ = _qualtrics(study, tmp_path)
    t = formats.read_table(q)
    assert t.notes["format"] == "qualtrics" and t.id_column == "ResponseId"
    assert t.item_labels[item] == f"How much is this person like you? - {item}"
    assert "StartDate" not in t.table.columns and len(t.table) == 40


def test_wide_ratings_equal_long_ones(study, tmp_path):
    _wide(study).to_csv(tmp_path / "w.csv", index=False)
    wide = tio.read_ratings(tmp_path / "w.csv")
    long = tio.read_ratings(study["d"] / "ratings.csv")
    key = ["participant", "item"]
    a = wide.table.sort_values(key).reset_index(drop=True)
    b = long.table.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert str(wide.scale) == str(long.scale)


def test_options_override_the_detection(tmp_path):
    p = tmp_path / "r.txt"
    p.write_text("participant|item|rating\na|q,1|4\n")
    with formats.read_options(sep="|", decimal="."):
        t = tio.read_csv(p)
    assert t.to_dict("records") == [{"participant": "a", "item": "q,1", "rating": "4"}]
    with pytest.raises(ValueError, match="--sep"):
        with formats.read_options(sep="x"):
            pass


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "r.csv",
            "participant;item;rating\na;q;3,5\nb;q;x\n",
            r"r\.csv: row 2 \(line 3\), field 'rating': cannot read 'x'",
        ),
        ("w.csv", "participant;q1;q2\na;3,5;4\nb;4;x\n", r"w\.csv: row 2 \(line 3.*\), field 'q2'"),
    ],
)
def test_bad_cells_name_file_row_and_field(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(TableError, match=message):
        tio.read_ratings(p)


def test_qualtrics_bad_cell_names_its_line(study, tmp_path):
    w = _wide(study)
    w.iloc[1, 2] = 99  # an answer outside the scale
    path = qualtrics_export(w, tmp_path / "q.csv")
    with pytest.raises(TableError) as exc:
        tio.read_ratings(path)
    # data row 2 of the export is line 5 of the file (three header rows)
    assert str(exc.value).startswith(f"{path}: row 4 (line 5"), str(exc.value)
    assert f"field {study['items'][1]!r}" in str(exc.value)


def test_binary_bad_cell_names_row_and_field(study, tmp_path):
    r = study["ratings"].astype({"rating": object})
    r.loc[3, "rating"] = "lots"
    r.to_excel(tmp_path / "r.xlsx", index=False)
    with pytest.raises(TableError, match=r"r\.xlsx: row 4 .*field 'rating': cannot read 'lots'"):
        tio.read_ratings(tmp_path / "r.xlsx")


@pytest.mark.parametrize("suffix", [".xlsx", ".sav", ".dta", ".rds", ".RData", ".xls"])
def test_unreadable_binary_files_are_one_error(tmp_path, suffix):
    p = tmp_path / f"broken{suffix}"
    p.write_bytes(b"this is not that format\n")
    with pytest.raises(DataFormatError, match=r"broken\.\w+: "):
        tio.read_ratings(p)


def test_missing_sheet_and_object_are_named(study, tmp_path):
    r, s = _xlsx(study, tmp_path)
    with (
        formats.read_options(sheet="nope"),
        pytest.raises(DataFormatError, match="sheets are: ratings"),
    ):
        tio.read_ratings(r)
    pyreadr.write_rdata(tmp_path / "two.RData", study["scores"], df_name="a")
    with formats.read_options(sheet="b"), pytest.raises(DataFormatError, match="no data frame 'b'"):
        tio.read_scores(tmp_path / "two.RData")


def test_a_missing_optional_library_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pyreadstat", None)  # import fails
    p = tmp_path / "x.sav"
    p.write_bytes(b"$FL2")
    with pytest.raises(
        DataFormatError,
        match=r"x\.sav: .*needs the optional package pyreadstat: "
        r"pip install \"vp-stats\[formats\]\"",
    ):
        tio.read_ratings(p)


def test_validate_cli_reads_with_sep_and_sheet_options(study, plain, tmp_path):
    study["ratings"].to_csv(tmp_path / "r.txt", sep="|", index=False)
    study["scores"].to_excel(tmp_path / "s.xlsx", sheet_name="scores", index=False)
    got = _validate(
        tmp_path / "r.txt", tmp_path / "s.xlsx", tmp_path / "o", "--sep", "|", "--sheet", "scores"
    )
    pd.testing.assert_frame_equal(got, plain)
    res = runner.invoke(
        app,
        [
            "validate",
            "--ratings",
            "x.csv",
            "--scores",
            "y.csv",
            "--sep",
            "x",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert res.exit_code == 2 and "--sep must be one of" in res.output


def test_verbose_says_what_was_detected_and_quiet_says_nothing(study, tmp_path):
    r, s = _semicolon(study, tmp_path)
    args = ["validate", "--ratings", str(r), "--scores", str(s), "--n-boot", "0"]
    loud = runner.invoke(app, ["-v", *args, "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0, loud.output
    assert f"vp-stats: INFO: {s}: delimiter ';', decimal mark ','" in loud.stderr
    plain = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert plain.exit_code == 0 and "INFO" not in plain.stderr
    both = runner.invoke(app, ["-v", "-q", *args, "--out", str(tmp_path / "c")])
    assert both.exit_code == 2 and "-v or -q, not both" in both.output


def test_pivot_of_a_qualtrics_export_keeps_the_question_texts(study, tmp_path):
    q, _ = _qualtrics(study, tmp_path)
    res = runner.invoke(app, ["pivot", "--ratings", str(q), "--out", str(tmp_path / "w.sav")])
    assert res.exit_code == 0, res.output
    df, meta = pyreadstat.read_sav(str(tmp_path / "w.sav"))
    item = study["items"][0]
    assert list(df.columns) == ["participant", *study["items"]]
    assert meta.column_names_to_labels[item] == f"How much is this person like you? - {item}"
    want = _wide(study).set_index("participant")
    pd.testing.assert_frame_equal(
        df.set_index("participant"), want.astype(float), check_names=False
    )
