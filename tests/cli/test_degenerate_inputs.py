"""No empty or degenerate result over a good one: header-only, zero-usable-row and one-participant
inputs are errors (exit 2, naming the file, and row and field where there is one), and the
earlier output stays byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import simulate

runner = CliRunner()


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def _refused(args, output, *words):
    before = output.read_bytes()
    res = _run(args)
    assert res.exit_code == 2, res.output
    for w in words:
        assert w in res.output, res.output
    assert "Traceback" not in res.output
    assert output.read_bytes() == before  # the earlier good output, untouched
    return res.output


@pytest.fixture(scope="module")
def items():
    from vp_stats.io import datasets

    return datasets.load_items()[["portrait_id", "option_id"]]


def test_validate_with_one_participant(tmp_path):
    st = simulate.synthetic_study(n_participants=40, n_items=20, seed=2)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    args = ["validate", "--scores", tmp_path / "s.csv", "--out", tmp_path / "v", "--n-boot", "0"]
    assert _run([*args, "--ratings", tmp_path / "r.csv"]).exit_code == 0
    r = st["ratings"]
    r[r.participant == "P000"].to_csv(tmp_path / "one.csv", index=False)
    _refused(
        [*args, "--ratings", tmp_path / "one.csv"],
        tmp_path / "v" / "item_correlations.csv",
        "one.csv",
        "field 'participant'",
        "1 participant(s) ('P000')",
        "at least 3",
    )


def test_questionnaire_with_a_header_only(tmp_path):
    good = tmp_path / "q.csv"
    good.write_text("respondent,1,2,3,4,5,6,7,8,9,10\nr1,1,2,3,4,5,1,2,3,4,5\n")
    (tmp_path / "q0.csv").write_text("respondent,1,2,3,4,5,6,7,8,9,10\n")
    args = ["questionnaire", "score", "--instrument", "bfi10", "--out", tmp_path / "s.csv"]
    assert _run([*args, good]).exit_code == 0
    _refused([*args, tmp_path / "q0.csv"], tmp_path / "s.csv", "q0.csv", "no data rows")


def _answers(items, rng):
    a = items.copy()
    a.insert(0, "model", "m")
    a["variant"] = "v1"
    a["rating"] = rng.integers(1, 7, len(a)).astype(float)
    a["parse_ok"] = True
    return a


@pytest.mark.parametrize("case", ["text", "empty_cell", "missing_all_nan", "all_unparsed"])
def test_score_with_unusable_parse_ok(tmp_path, items, case):
    rng = np.random.default_rng(0)
    good = _answers(items, rng)
    good.to_csv(tmp_path / "good.csv", index=False)
    args = ["score", "--out", tmp_path / "o", "--n-boot", "0", "--answers"]
    assert _run([*args, tmp_path / "good.csv"]).exit_code == 0
    bad = good.copy()
    if case == "text":
        bad["parse_ok"] = bad["parse_ok"].astype(object)
        bad.loc[3, "parse_ok"] = "maybe"
        words = ("row 4 (line 5)", "field 'parse_ok'", "'maybe' is not true or false")
    elif case == "empty_cell":
        bad["parse_ok"] = bad["parse_ok"].astype(object)
        bad.loc[2, "parse_ok"] = None
        words = ("row 3 (line 4)", "field 'parse_ok'")
    elif case == "missing_all_nan":
        bad = bad.drop(columns="parse_ok").assign(rating=np.nan)
        words = ("field 'rating'", "no usable answer")
    else:
        bad["parse_ok"] = False
        words = ("no usable answer", "parse_ok is false")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    scores = tmp_path / "o" / "llm_value_scores.csv"
    _refused([*args, tmp_path / "bad.csv"], scores, "bad.csv", *words)


def test_score_reads_text_true_false_parse_ok(tmp_path, items):
    a = _answers(items, np.random.default_rng(1))
    a["parse_ok"] = np.where(np.arange(len(a)) % 2 == 0, "TRUE", "false")
    a.to_csv(tmp_path / "a.csv", index=False)
    from vp_stats.io import tables as tio

    got = tio.read_answers(tmp_path / "a.csv")
    assert got.parse_ok.dtype == bool and got.parse_ok.sum() == (len(a) + 1) // 2


@pytest.mark.parametrize("case", ["duplicate", "unknown", "no_rating"])
def test_persona_compare_with_a_bad_answer_file(tmp_path, items, case):
    from vp_stats.instruments.personas import PLAIN_PERSONA_ID

    rng = np.random.default_rng(1)
    rows = []
    for p in (PLAIN_PERSONA_ID, "gender_female", "gender_male"):
        d = items.copy()
        d.insert(0, "persona_id", p)
        d["rating"] = rng.integers(1, 7, len(d)).astype(float)
        rows.append(d)
    good = pd.concat(rows, ignore_index=True)
    good.to_csv(tmp_path / "good.csv", index=False)
    args = ["personas", "compare", "--out", tmp_path / "pc", "--n-boot", "0"]
    assert _run([*args, tmp_path / "good.csv"]).exit_code == 0
    if case == "duplicate":
        bad = pd.concat([good, good.iloc[[5]]], ignore_index=True)
        words = (f"row {len(good) + 1} (line {len(good) + 2})", "duplicate answer")
    elif case == "unknown":
        bad = good.copy()
        bad.loc[7, "option_id"] = 99
        words = ("row 8 (line 9)", "field 'portrait_id'", "unknown item")
    else:
        bad = good.assign(rating=np.nan)
        words = ("field 'rating'", "no usable answer")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    _refused([*args, tmp_path / "bad.csv"], tmp_path / "pc" / "compare_item.csv", "bad.csv", *words)


def test_run_llm_with_a_header_only_items_file(tmp_path, items):
    pytest.importorskip("openai")
    from fault_server import FaultServer, ok_body  # tests/ is on sys.path

    (tmp_path / "two.csv").write_text(
        "portrait_id,option_id\n"
        + "".join(f"{p},{o}\n" for p, o in items.head(2).itertuples(index=False))
    )
    (tmp_path / "none.csv").write_text("portrait_id,option_id\n")
    (tmp_path / "text.csv").write_text("portrait_id,option_id\n1001,x\n")
    with FaultServer(lambda n, h: h.send(200, ok_body())) as srv:
        args = ["run-llm", "--backend", "openai", "--model", "m", "--base-url", srv.url]
        args += ["--mode", "text", "--variants", "v1", "--no-progress", "--out", tmp_path / "o"]
        assert _run([*args, "--items", tmp_path / "two.csv"]).exit_code == 0
        answers = tmp_path / "o" / "answers.csv"
        _refused([*args, "--items", tmp_path / "none.csv"], answers, "none.csv", "no rows")
        _refused(
            [*args, "--items", tmp_path / "text.csv"],
            answers,
            "text.csv",
            "row 1 (line 2), field 'option_id'",
        )
        assert srv.n == 2  # the refused runs asked nothing


def test_validate_says_why_a_correlation_is_missing(tmp_path):
    st = simulate.synthetic_study(n_participants=40, n_items=20, seed=2)
    r = st["ratings"]
    items = sorted(r["item"].unique())
    sparse, flat = items[0], items[1]
    keep = ~((r["item"] == sparse) & ~r["participant"].isin(["P000", "P001"]))
    r = r[keep].copy()  # item 0: two raters
    r.loc[r["item"] == flat, "rating"] = 3  # item 1: everyone answered 3
    r.to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    res = _run(
        [
            "validate",
            "--ratings",
            tmp_path / "r.csv",
            "--scores",
            tmp_path / "s.csv",
            "--out",
            tmp_path / "v",
            "--n-boot",
            "0",
        ]
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "v" / "item_correlations.csv")
    explained = t.item.isin([sparse, flat])
    assert t.loc[~explained, "reason"].isna().all() and t.loc[~explained, "rho"].notna().all()
    assert t.loc[t.item == flat, "rho"].isna().all() and not t.loc[explained, "selected"].any()
    assert t.loc[t.item == sparse, "reason"].str.startswith("2 rater(s)").all()
    assert t.loc[t.item == flat, "reason"].str.contains("ratings do not vary").all()
