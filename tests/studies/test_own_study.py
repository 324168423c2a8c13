"""Your own study: a user's files with string item ids and a 1-5 scale, end to end.

Every rho and p is checked against a per-item ``scipy.stats.spearmanr``; every
bad-input class gives one error naming file, row (with its line) and field, exit
code 2, and leaves an earlier output untouched.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from vp_stats import schema, tables
from vp_stats.cli import app
from vp_stats.errors import TableError
from vp_stats.io import datasets
from vp_stats.stats import reliability, scoring, simulate, validation

runner = CliRunner()


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def _ok(args):
    res = _run(args)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def study(make_study):
    """80 raters, 170 items with ids like 'abby_Power_likely_07', 1-5 scale, ~15% of ratings
    missing."""
    st = make_study(n_participants=80, n_items=170, scale=(1, 5), seed=11)
    rng = np.random.default_rng(3)
    keep = rng.random(len(st["ratings"])) > 0.15
    st["ratings"] = st["ratings"][keep].reset_index(drop=True)
    return st


@pytest.fixture()
def files(tmp_path, study):
    r, s = tmp_path / "ratings.csv", tmp_path / "scores.csv"
    study["ratings"].to_csv(r, index=False)
    study["scores"].to_csv(s, index=False)
    return tmp_path, r, s


def _scipy_reference(ratings: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (fam, dim), sub in scores.groupby(["family", "dimension"]):
        sc = sub.set_index("participant")["score"]
        for item, g in ratings.groupby("item"):
            res = stats.spearmanr(g["rating"].to_numpy(), sc.loc[g["participant"]].to_numpy())
            rows.append((item, fam, dim, res.statistic, res.pvalue, len(g)))
    return pd.DataFrame(rows, columns=["item", "family", "dimension", "rho_ref", "p_ref", "n_ref"])


def test_cli_validates_string_ids_on_a_1_5_scale_equal_to_scipy(files, study):
    tmp, r, s = files
    out = _ok(
        [
            "validate",
            *("--ratings", r, "--scores", s, "--out", tmp / "out", "--n-boot", "0"),
            *("--p-method", "t"),  # scipy's p (the default is a permutation p below 100 raters)
        ]
    )
    assert "rating scale 1-5 (inferred from the ratings)" in out
    t = pd.read_csv(tmp / "out" / "item_correlations.csv")
    assert list(t.columns) == [
        "item",
        "family",
        "dimension",
        "rho",
        "p_value",
        "n",
        "p_fdr",
        "ci_low",
        "ci_high",
        "selected",
        "reason",  # why a rho is missing or meaningless (empty: it is neither)
    ]
    assert t["item"].nunique() == 170 and set(t.family) == {
        "pvq",
        "bfi",
    }  # no higher-order scores: not used
    m = t.merge(
        _scipy_reference(study["ratings"], study["scores"]),
        on=["item", "family", "dimension"],
        validate="one_to_one",
    )
    assert len(m) == len(t) == 170 * 15
    assert (m.n == m.n_ref).all()
    assert np.abs(m.rho - m.rho_ref).max() < 1e-12
    assert np.abs(m.p_value - m.p_ref).max() < 1e-12
    prov = json.loads((tmp / "out" / "provenance.json").read_text())
    assert prov["selection_rule"] == "rho > 0.3 and p_fdr < 0.05"  # the own-study default
    assert prov["scale"].startswith("1-5")
    assert prov["inputs"]["ratings"]["sha256"] and prov["source"] == "own"


def test_wide_scores_and_pingouin_style_column_names_give_the_same_table(files, study, tmp_path):
    tmp, r, s = files
    _ok(["validate", "--ratings", r, "--scores", s, "--out", tmp / "long", "--n-boot", "0"])
    wide = (
        study["scores"]
        .pivot(index="participant", columns="dimension", values="score")
        .reset_index()
    )
    wide.rename(columns={"participant": "rater"}).to_csv(tmp / "wide.csv", index=False)
    study["ratings"].rename(
        columns={"participant": "rater", "item": "question", "rating": "answer"}
    ).to_csv(tmp / "renamed.csv", index=False)
    _ok(
        [
            "validate",
            "--ratings",
            tmp / "renamed.csv",
            "--scores",
            tmp / "wide.csv",
            "--participant-col",
            "rater",
            "--item-col",
            "question",
            "--rating-col",
            "answer",
            "--out",
            tmp / "wide",
            "--n-boot",
            "0",
        ]
    )
    a = pd.read_csv(tmp / "long" / "item_correlations.csv")
    b = pd.read_csv(tmp / "wide" / "item_correlations.csv")
    pd.testing.assert_frame_equal(a, b)
    # the API with the user's column names (pingouin style) equals the canonical call
    ren = study["ratings"].rename(
        columns={"participant": "rater", "item": "question", "rating": "answer"}
    )
    api = validation.item_correlations(
        ren,
        wide.rename(columns={"participant": "rater"}),
        participant="rater",
        item="question",
        rating="answer",
    )
    canon = validation.item_correlations(study["ratings"], study["scores"])
    pd.testing.assert_frame_equal(api, canon)


def test_selection_rules_from_the_command_line_are_applied_and_recorded(files):
    tmp, r, s = files
    _ok(
        [
            "validate",
            "--ratings",
            r,
            "--scores",
            s,
            "--out",
            tmp / "o",
            "--n-boot",
            "200",
            "--seed",
            "5",
            "--max-p",
            "0.01",
            "--max-fdr",
            "0.05",
            "--min-ci-low",
            "0",
        ]
    )
    t = pd.read_csv(tmp / "o" / "item_correlations.csv")
    want = (t.rho > 0.3) & (t.p_value < 0.01) & (t.p_fdr < 0.05) & (t.ci_low > 0)
    assert (t.selected == want).all() and want.any() and (want != (t.rho > 0.3)).any()
    # p_fdr is Benjamini-Hochberg within each family
    for _, g in t.groupby("family"):
        assert np.allclose(
            g.p_fdr, stats.false_discovery_control(g.p_value, method="bh"), rtol=0, atol=1e-15
        )
    prov = json.loads((tmp / "o" / "provenance.json").read_text())
    assert prov["selection_rule"] == "rho > 0.3 and p_value < 0.01 and p_fdr < 0.05 and ci_low > 0"
    assert prov["parameters"]["n_boot"] == 200 and prov["parameters"]["seed"] == 5
    # same seed, same table
    _ok(
        [
            "validate",
            "--ratings",
            r,
            "--scores",
            s,
            "--out",
            tmp / "o2",
            "--n-boot",
            "200",
            "--seed",
            "5",
            "--max-p",
            "0.01",
            "--max-fdr",
            "0.05",
            "--min-ci-low",
            "0",
        ]
    )
    assert (tmp / "o" / "item_correlations.csv").read_bytes() == (
        tmp / "o2" / "item_correlations.csv"
    ).read_bytes()


def test_the_paper_rule_finds_the_true_items(study):
    t = validation.validate_items(study["ratings"], study["scores"], n_boot=0).table
    truth = study["truth"]
    on_target = t.merge(truth, on=["item", "dimension"])
    strong = on_target[on_target.loading == 0.6]
    assert strong.selected.mean() > 0.9  # n ~ 68, loading 0.6: rho ~ 0.55
    null = t.merge(truth[truth.loading == 0][["item"]], on="item")
    assert null.selected.mean() < 0.05


def test_raw_questionnaire_answers_are_scored_first(tmp_path, study):
    rng = np.random.default_rng(8)
    pids = sorted(study["ratings"].participant.unique())
    pvq_ans = pd.DataFrame(
        rng.integers(1, 7, size=(len(pids), 21)), columns=[str(i) for i in range(1, 22)]
    )
    pvq_ans.insert(0, "participant", pids)
    bfi_ans = pd.DataFrame(
        rng.integers(1, 6, size=(len(pids), 10)), columns=[str(i) for i in range(1, 11)]
    )
    bfi_ans.insert(0, "participant", pids)
    pvq_ans.to_csv(tmp_path / "pvq.csv", index=False)
    bfi_ans.to_csv(tmp_path / "bfi.csv", index=False)
    study["ratings"].to_csv(tmp_path / "r.csv", index=False)
    out = _ok(
        [
            "validate",
            "--ratings",
            tmp_path / "r.csv",
            "--pvq21-answers",
            tmp_path / "pvq.csv",
            "--bfi10-answers",
            tmp_path / "bfi.csv",
            "--derive-higher",
            "--out",
            tmp_path / "o",
            "--n-boot",
            "0",
            "--p-method",
            "t",
        ]
    )
    assert "higher-order values derived" in out
    t = pd.read_csv(tmp_path / "o" / "item_correlations.csv")
    assert set(t.family) == {"pvq", "higher_pvq", "bfi"}
    from vp_stats.instruments import bfi, pvq

    sc = pd.concat(
        [
            pvq.score_pvq21(pvq_ans),
            bfi.score_bfi10(bfi_ans),
        ]
    )
    ref = validation.item_correlations(
        study["ratings"], sc[["participant", "family", "dimension", "score"]]
    )
    pd.testing.assert_frame_equal(
        t[ref.columns], ref, check_dtype=False, check_categorical=False, rtol=0, atol=1e-12
    )
    # without --derive-higher the higher-order values are not made up
    _ok(
        [
            "validate",
            "--ratings",
            tmp_path / "r.csv",
            "--pvq21-answers",
            tmp_path / "pvq.csv",
            "--out",
            tmp_path / "o2",
            "--n-boot",
            "0",
        ]
    )
    assert set(pd.read_csv(tmp_path / "o2" / "item_correlations.csv").family) == {"pvq"}


def test_derive_higher_equals_the_released_higher_order_scores(tmp_path, study):
    released = datasets.load_participant_scores()
    derived = tables.derive_higher_order(released[released.family != "higher_pvq"])
    key = ["participant", "family", "dimension"]
    m = derived.merge(released, on=key, suffixes=("", "_released"))
    assert len(m) == len(released) and np.abs(m.score - m.score_released).max() < 1e-12
    study["ratings"].to_csv(tmp_path / "r.csv", index=False)
    study["scores"].to_csv(tmp_path / "s.csv", index=False)
    res = _run(
        [
            "validate",
            "--ratings",
            tmp_path / "r.csv",
            "--scores",
            tmp_path / "s.csv",
            "--families",
            "higher_pvq",
            "--out",
            tmp_path / "o",
            "--n-boot",
            "0",
        ]
    )
    assert (
        res.exit_code == 2
        and "no higher_pvq scores" in res.output
        and "--derive-higher" in res.output
    )
    _ok(
        [
            "validate",
            "--ratings",
            tmp_path / "r.csv",
            "--scores",
            tmp_path / "s.csv",
            "--derive-higher",
            "--out",
            tmp_path / "o",
            "--n-boot",
            "0",
            "--p-method",
            "t",
        ]
    )
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["derived_higher"] == tables.HIGHER_ORDER_RULE


def test_reliability_reverses_on_the_study_scale(tmp_path, study):
    pg = pytest.importorskip("pingouin")
    items = study["truth"].query("dimension == 'Power' and loading > 0").item.tolist()[:4]
    sel = pd.DataFrame(
        {
            "item": items,
            "family": "pvq",
            "dimension": "Power",
            "selected": True,
            "sign": [1, 1, 1, -1],
        }
    )
    full = simulate.synthetic_study(n_participants=80, n_items=170, scale=(1, 5), seed=11)[
        "ratings"
    ]
    out = reliability.value_reliability(full, sel)
    assert str(tables.infer_scale(full["rating"])) == "1-5"  # the scale the reversal below uses
    wide = full[full.item.isin(items)].pivot(index="participant", columns="item", values="rating")[
        items
    ]
    wide[items[3]] = 6 - wide[items[3]]  # 1 + 5 - x
    alpha_ref = pg.cronbach_alpha(wide)[0]
    assert abs(out.alpha.item() - alpha_ref) < 1e-12
    # the command line: items from a file, the same number
    full.to_csv(tmp_path / "r.csv", index=False)
    sel.to_csv(tmp_path / "items.csv", index=False)
    _ok(
        [
            "reliability",
            "--ratings",
            tmp_path / "r.csv",
            "--items",
            tmp_path / "items.csv",
            "--out",
            tmp_path / "rel",
        ]
    )
    rel = pd.read_csv(tmp_path / "rel" / "reliability.csv")
    assert abs(rel.alpha.item() - alpha_ref) < 1e-12 and rel.n_reversed.item() == 1
    # an explicit wider scale changes the reversal (1 + 7 - x) and is honoured
    out7 = reliability.value_reliability(full, sel, scale="1-7")
    wide[items[3]] = 8 - (6 - wide[items[3]])
    assert abs(out7.alpha.item() - pg.cronbach_alpha(wide)[0]) < 1e-12


def test_reliability_of_validated_sets_from_the_command_line(files):
    tmp, r, s = files
    _ok(
        ["validate", "--ratings", r, "--scores", s, "--out", tmp / "v", "--n-boot", "0"]
        + ["--max-fdr", "none"]  # the paper's rule, as select_items below
    )
    out = _ok(
        [
            "reliability",
            "--ratings",
            r,
            "--items",
            tmp / "v" / "item_correlations.csv",
            "--out",
            tmp / "rel",
        ]
    )
    rel = pd.read_csv(tmp / "rel" / "reliability.csv")
    assert "1-5 (inferred" in out
    assert set(rel.dimension) == set(schema.PVQ_VALUES) | set(schema.BFI_TRAITS)
    api = reliability.value_reliability(
        study_ratings := pd.read_csv(r),
        validation.select_items(validation.item_correlations(study_ratings, pd.read_csv(s))),
    )  # the CLI and the API agree
    assert np.allclose(rel.alpha, api.alpha.astype(float), rtol=0, atol=1e-12, equal_nan=True)
    assert rel.n_incomplete.max() > 0  # listwise deletion of raters who skipped an item is reported


def test_select_items_and_scoring_take_string_ids():
    corr = pd.DataFrame(
        {
            "item": ["abby_Power_likely", "abby_Power_similar", "q3"],
            "family": "pvq",
            "dimension": "Power",
            "rho": [0.5, -0.45, 0.1],
        }
    )
    ex = pd.DataFrame({"item": ["abby_Power_similar"], "dimension": ["Power"]})
    sel = validation.select_items(corr, mode="abs", exclusions=ex)
    assert sel.selected.tolist() == [True, False, False] and sel.excluded.tolist() == [
        False,
        True,
        False,
    ]
    # scoring on a 1-5 scale reverses negatively keyed items as 6 - x
    corr2 = pd.DataFrame(
        {
            "item": ["a", "b", "c"],
            "family": "bfi",
            "dimension": ["Openness", "Openness", "Extraversion"],
            "rho": [0.5, -0.5, 0.6],
        }
    )
    ans = pd.DataFrame({"model": "m", "item": ["a", "b", "c"], "numeric_response": [5.0, 2.0, 1.0]})
    prof = scoring.value_profiles(ans, corr2, mode="abs", exclusions=None, n_boot=0, scale="1-5")
    o = prof.set_index("dimension").loc["Openness"]
    # Openness: mean(5, 6 - 2) = 4.5; centre over the family's items: mean(5, 2, 1) = 8/3
    assert abs(o.original_mean - 4.5) < 1e-12 and abs(o.centered_mean - (4.5 - 8 / 3)) < 1e-12


def test_score_with_own_correlations_and_string_ids(tmp_path):
    corr = pd.DataFrame(
        {"item": ["abby_x", "abby_y"], "family": "bfi", "dimension": "Openness", "rho": [0.6, 0.4]}
    )
    corr.to_csv(tmp_path / "corr.csv", index=False)
    ans = pd.DataFrame({"model": "m", "item": ["abby_x", "abby_y"], "numeric_response": [5.0, 3.0]})
    ans.to_csv(tmp_path / "ans.csv", index=False)
    _ok(
        [
            "score",
            "--answers",
            tmp_path / "ans.csv",
            "--correlations",
            tmp_path / "corr.csv",
            "--out",
            tmp_path / "o",
            "--n-boot",
            "0",
            "--no-exclusions",
        ]
    )
    prof = pd.read_csv(tmp_path / "o" / "llm_value_scores.csv")
    assert prof.set_index("dimension").loc["Openness", "original_mean"] == 4.0


# ------------------------------------------------------------------------ bad input, one class each

GOOD_RATINGS = "participant,item,rating\nP000,abby_a,3\nP001,abby_a,5\nP002,abby_a,1\n"


@pytest.mark.parametrize(
    ("content", "extra", "expected"),
    [
        (
            "participant,item,rating\nP000,abby_a,3\nP001,abby_a,high\n",
            [],
            r"ratings\.csv: row 2 \(line 3\), field 'rating': cannot read 'high' as a number",
        ),
        (
            "participant,item,rating\nP000,abby_a,3\nP001,abby_a,6\n",
            ["--scale", "1-5"],
            r"row 2 \(line 3\), field 'rating': 6 is outside the rating scale 1-5",
        ),
        (
            "participant,item,rating\nP000,abby_a,3\nP001,abby_a,2\nP000,abby_a,4\n",
            [],
            r"row 3 \(line 4\), field 'participant': "
            r"participant P000 rated item abby_a more than once",
        ),
        (
            "participant,item,rating\nP000,abby_a,3\nNOBODY,abby_a,2\n",
            [],
            r"row 2 \(line 3\), field 'participant': unknown participant 'NOBODY'",
        ),
        (
            "participant,item,rating\n",
            [],
            r"ratings\.csv: table: the table has a header but no data rows",
        ),
        ("", [], r"ratings\.csv: file level: file is empty"),
        (
            "participant,question,rating\nP000,abby_a,3\n",
            [],
            r"field 'item': missing column 'item'",
        ),
        (
            "participant,item,rating\nP000,,3\nP001,abby_a,2\n",
            [],
            r"row 1 \(line 2\), field 'item': empty cell",
        ),
        (
            "participant,item,rating\nP000,abby_a,3\nP001,abby_a,inf\n",
            [],
            r"row 2 \(line 3\), field 'rating': inf is not a finite number",
        ),
    ],
    ids=[
        "wrong-type",
        "out-of-range",
        "duplicate-key",
        "unknown-id",
        "header-only",
        "empty-file",
        "missing-column",
        "empty-id",
        "infinite",
    ],
)
def test_bad_ratings_files_name_file_row_and_field(files, content, extra, expected):
    tmp, _, s = files
    good = tmp / "good.csv"
    good.write_text(GOOD_RATINGS)
    out = tmp / "out"
    _ok(["validate", "--ratings", good, "--scores", s, "--out", out, "--n-boot", "0"])
    before = (out / "item_correlations.csv").read_bytes()
    bad = tmp / "ratings.csv"
    bad.write_text(content)
    res = _run(["validate", "--ratings", bad, "--scores", s, "--out", out, "--n-boot", "0", *extra])
    assert res.exit_code == 2, res.output
    assert pytest.importorskip("re").search(expected, res.output), res.output
    assert "Traceback" not in res.output
    assert (out / "item_correlations.csv").read_bytes() == before  # the earlier output is untouched


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "participant,family,dimension,score\nP000,pvq,Power,x\n",
            r"row 1 \(line 2\), field 'score': cannot read 'x' as a number",
        ),
        (
            "participant,family,dimension,score\nP000,pvqq,Power,0.1\n",
            r"row 1 \(line 2\), field 'family': unknown family 'pvqq'",
        ),
        (
            "participant,family,dimension,score\nP000,pvq,Powr,0.1\n",
            r"row 1 \(line 2\), field 'dimension': unknown dimension 'Powr' for family 'pvq'",
        ),
        (
            "participant,family,dimension,score\nP000,bfi,Openness,3\nP000,bfi,Openness,4\n",
            r"row 2 \(line 3\), field 'participant': "
            r"participant P000 has more than one bfi score for Openness",
        ),
        (
            "participant,family,dimension,score\nP000,bfi,Openness,3\n",
            r"participant 'P000' has no bfi score for Agreeableness",
        ),
        ("participant,Openness,Powerr\nP000,3,1\n", r"field 'Powerr': unknown column 'Powerr'"),
        ("participant,family,dimension,score\n", r"the table has a header but no data rows"),
    ],
    ids=[
        "wrong-type",
        "unknown-family",
        "unknown-dimension",
        "duplicate-key",
        "incomplete-family",
        "wide-unknown-column",
        "header-only",
    ],
)
def test_bad_score_files_name_file_row_and_field(files, content, expected):
    import re

    tmp, r, _ = files
    bad = tmp / "scores_bad.csv"
    bad.write_text(content)
    res = _run(["validate", "--ratings", r, "--scores", bad, "--out", tmp / "o", "--n-boot", "0"])
    assert res.exit_code == 2 and re.search(expected, res.output), res.output
    assert "scores_bad.csv" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "item,family,dimension,rho\nabby_x,bfi,Openness,5\n",
            r"row 1 \(line 2\), field 'rho': 5 is outside \[-1, 1\]",
        ),
        (
            "item,family,dimension,rho\nabby_x,bfi,Openness,0.5\nabby_y,xyz,Openness,0.5\n",
            r"row 2 \(line 3\), field 'family': unknown family 'xyz'",
        ),
        (
            "item,family,dimension,rho\nabby_x,bfi,Power,0.5\n",
            r"row 1 \(line 2\), field 'dimension': unknown dimension 'Power' for family 'bfi'",
        ),
        (
            "portrait_id,option_id,family,dimension,rho\n1001,1,bfi,Openness,0.5\nabc,1,bfi,Openness,0.5\n",
            r"row 2 \(line 3\), field 'portrait_id': expected an integer portrait_id, got 'abc'",
        ),
        (
            "item,family,dimension,rho\nabby_x,bfi,Openness,0.5\nabby_x,bfi,Openness,0.4\n",
            r"row 2 \(line 3\), field 'item': duplicate",
        ),
    ],
    ids=[
        "rho-out-of-range",
        "unknown-family",
        "unknown-dimension",
        "non-integer-portrait",
        "duplicate-key",
    ],
)
def test_bad_correlation_tables_name_file_row_and_field(tmp_path, content, expected):
    import re

    bad = tmp_path / "corr.csv"
    bad.write_text(content)
    ans = tmp_path / "ans.csv"
    ans.write_text("model,item,numeric_response\nm,abby_x,4\n")
    res = _run(
        ["score", "--answers", ans, "--correlations", bad, "--out", tmp_path / "o", "--n-boot", "0"]
    )
    assert res.exit_code == 2 and re.search(expected, res.output), res.output
    assert not (tmp_path / "o" / "llm_value_scores.csv").exists()


def test_bad_answer_files_and_unknown_items(tmp_path):
    corr = tmp_path / "corr.csv"
    corr.write_text("item,family,dimension,rho\nabby_x,bfi,Openness,0.5\n")
    cases = {
        "model,item,numeric_response\nm,abby_x,4\nm,abby_zz,3\n": (
            r"row 2 \(line 3\), field 'item': unknown item 'abby_zz'"
        ),
        "model,item,numeric_response\nm,abby_x,9\n": (
            r"row 1 \(line 2\), field 'rating': 9 is outside the rating scale 1-6"
        ),
        "model,item,numeric_response\nm,abby_x,four\n": (
            r"row 1 \(line 2\), field 'rating': cannot read 'four' as a number"
        ),
        "model,item,numeric_response\n": r"header but no data rows",
    }
    import re

    for content, expected in cases.items():
        ans = tmp_path / "ans.csv"
        ans.write_text(content)
        res = _run(
            [
                "score",
                "--answers",
                ans,
                "--correlations",
                corr,
                "--out",
                tmp_path / "o",
                "--n-boot",
                "0",
            ]
        )
        assert res.exit_code == 2 and re.search(expected, res.output), (content, res.output)


def test_reliability_names_unknown_items(files):
    tmp, r, _ = files
    items = tmp / "items.csv"
    items.write_text(
        "item,family,dimension\nabby_Power_likely_04,pvq,Power\nno_such_item,pvq,Power\n"
    )
    res = _run(["reliability", "--ratings", r, "--items", items, "--out", tmp / "o"])
    assert (
        res.exit_code == 2
        and "items.csv: row 2 (line 3), field 'item': unknown item 'no_such_item'" in res.output
    )


def test_usage_errors_exit_2_before_any_work(files):
    tmp, r, s = files
    (tmp / "afile").write_text("x")
    cases = [
        (["--out", tmp / "afile"], "--out names a file"),
        (["--threshold", "nan"], "threshold must be a number"),
        (["--max-fdr", "0"], "max_fdr must be in (0, 1]"),
        (["--min-ci-low", "0", "--n-boot", "0"], "--min-ci-low needs the bootstrap"),
        (["--procedure", "upstream"], "does not apply to your own ratings"),
        (["--mode", "both"], "mode must be one of"),
        (["--scale", "five"], "expected LOW-HIGH"),
    ]
    for extra, msg in cases:
        args = [
            "validate",
            "--ratings",
            r,
            "--scores",
            s,
            "--n-boot",
            "0",
            "--out",
            tmp / "o",
            *extra,
        ]
        res = _run(args)
        assert res.exit_code == 2 and msg in res.output, (extra, res.output)
    res = _run(["validate", "--scores", s, "--out", tmp / "o"])
    assert res.exit_code == 2 and "without --ratings" in res.output


def test_contract_errors_for_in_memory_tables_name_the_index_label():
    r = pd.DataFrame(
        {"participant": ["a", "b"], "item": ["x", "x"], "rating": [1, "bad"]}, index=[10, 11]
    )
    with pytest.raises(
        TableError, match=r"ratings: row 11, field 'rating': cannot read 'bad' as a number"
    ):
        tables.ratings_table(r)
    assert tables.parse_scale("0-10").reverse(3) == 7 and tables.Scale(1, 7).reverse(2) == 6


def test_to_wide_refuses_duplicates():
    t = pd.DataFrame({"participant": ["a", "a"], "item": ["x", "x"], "rating": [1, 2]})
    with pytest.raises(TableError, match="more than one 'rating' for participant='a', item='x'"):
        tables.to_wide(t, "participant", "item", "rating")
