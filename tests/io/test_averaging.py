"""Tests of vp_stats.io.averaging: raw answers -> tidy table -> per-item means.

References: upstream's averaged files (``lm_evaluation/average_outputs``) and
error metadata, per-item means recomputed here in plain Python from the raw
JSON records, raw files rebuilt from upstream's averaged records (including
their failed answers), and hand-worked cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.errors import DataFormatError
from vp_stats.io import averaging, datasets
from vp_stats.stats import averaging as stats_averaging

MIRRORED = ["gpt-4o-2024-11-20", "mistral-tiny"]
QUIRK_ITEMS = {
    ("llama-3.1-8b-instruct", 2011, 1),
    ("gemini-2.0-flash-thinking-exp-01-21", 1038, 2),
    ("gemini-2.0-flash-thinking-exp-01-21", 2034, 3),
}
V = list(schema.VARIANTS)


def _averaged_json(model: str) -> list[dict]:
    return datasets.read_json(
        datasets.fetch(f"{datasets.AVERAGE_OUTPUTS_DIR}/{model}_averaged_results.json")
    )


@pytest.fixture(scope="module")
def all_wide() -> pd.DataFrame:
    return averaging.load_average_outputs()


@pytest.fixture(scope="module")
def raw_upstream() -> pd.DataFrame:
    return averaging.load_raw_outputs(rule="upstream")


@pytest.fixture(scope="module")
def raw_default() -> pd.DataFrame:
    return averaging.load_raw_outputs()


def _assert_wide_equal(ours: pd.DataFrame, ref: pd.DataFrame, tol: float = 1e-12) -> None:
    assert ours.columns.tolist() == ref.columns.tolist() == list(averaging.WIDE_COLUMNS)
    assert len(ours) == len(ref)
    for col in ["model", "portrait_id", "option_id", "n_parsed", "n_failed", "upstream_tagged"]:
        assert (ours[col].to_numpy() == ref[col].to_numpy()).all(), col
    for col in V + ["numeric_response"]:
        a, b = ours[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        assert np.nanmax(np.abs(a - b), initial=0.0) <= tol, col


# --------------------------------------------------------------------------- mirrored raw outputs


def test_raw_tidy_table_shape(raw_upstream):
    assert raw_upstream.columns.tolist() == list(averaging.TIDY_COLUMNS)
    assert len(raw_upstream) == 2 * 6 * 520
    assert raw_upstream.groupby("model").provider.unique().map(list).to_dict() == {
        "gpt-4o-2024-11-20": ["openai"],
        "mistral-tiny": ["openrouter"],
    }
    assert (raw_upstream.status == "parsed").all() and raw_upstream.error.isna().all()
    # the stored upstream ratings are carried along, and the upstream rule reproduces them all
    assert (raw_upstream.rating == raw_upstream.recorded_rating).all()


def test_mirrored_models_equal_upstream_average_outputs(raw_upstream):
    ours = stats_averaging.average_ratings(raw_upstream)
    ref = averaging.load_average_outputs(MIRRORED)
    _assert_wide_equal(ours, ref, tol=1e-12)
    assert (ours.n_parsed == 6).all() and (ours.n_failed == 0).all()


def test_mirrored_means_against_plain_python(all_wide):
    # independent reference: numeric_response of the 6 raw files, averaged here in plain Python
    for model in MIRRORED:
        per_item: dict[tuple[int, int], list[float]] = {}
        for rel in datasets.registered(datasets.RAW_OUTPUTS_DIR + "/"):
            if Path(rel).name.startswith(model + "_v"):
                for rec in datasets.read_json(datasets.fetch(rel)):
                    per_item.setdefault((rec["portrait_id"], rec["option_id"]), []).append(
                        rec["numeric_response"]
                    )
        wide = all_wide[all_wide.model == model]
        assert len(per_item) == len(wide) == 520
        for pid, oid, mean in zip(
            wide.portrait_id, wide.option_id, wide.numeric_response, strict=True
        ):
            vals = per_item[(pid, oid)]
            assert len(vals) == 6
            assert abs(mean - sum(vals) / 6) <= 1e-12


def test_default_rule_moves_three_mistral_items_by_one_third(raw_default):
    # the three upstream misreads of tests/llm/test_parse.py: 6 -> 4 in one variant each
    ours = stats_averaging.average_ratings(raw_default)
    ref = averaging.load_average_outputs(MIRRORED)
    diff = ours.numeric_response.to_numpy() - ref.numeric_response.to_numpy()
    moved = ours.loc[np.abs(diff) > 1e-12, ["model", "portrait_id", "option_id"]]
    assert sorted(map(tuple, moved.to_numpy().tolist())) == [
        ("mistral-tiny", 2012, 1),
        ("mistral-tiny", 2038, 4),
        ("mistral-tiny", 3075, 4),
    ]
    assert np.allclose(diff[np.abs(diff) > 1e-12], -2 / 6, atol=1e-12)


def test_error_counts_agree_with_upstream_metadata_for_mirrored_models(raw_upstream):
    ours = stats_averaging.error_counts(raw_upstream)
    ref = averaging.load_error_metadata(MIRRORED)
    pd.testing.assert_frame_equal(ours, ref)
    assert ref.n_errors.sum() == 0  # upstream's metadata: total_errors 0 for both


# ------------------------------------------------------------------ raw files rebuilt from upstream


def _rebuild_raw(tmp: Path, model: str, seed: int = 0) -> list[str]:
    """Write upstream-style raw files for ``model`` from its averaged records.

    Returns the variants written.
    """
    rng = np.random.default_rng(seed)
    recs = _averaged_json(model)
    run = [
        v
        for v in V
        if any(v in r["version_responses"] or v in (r.get("version_errors") or {}) for r in recs)
    ]
    folder = tmp / "someprovider"
    folder.mkdir(parents=True, exist_ok=True)
    for v in run:
        out = []
        for r in recs:
            base = {"portrait_id": r["portrait_id"], "option_id": r["option_id"]}
            base.update({k: r[k] for k in averaging.TAG_FIELDS if k in r})
            if v in r["version_responses"]:
                label = schema.LIKERT_LABELS[int(r["version_responses"][v])]
                styles = [
                    label,
                    label.capitalize() + ".",
                    f"**{label.title()}**",
                    f"{label.capitalize()}. Because.",
                ]
                base["raw_response"] = styles[int(rng.integers(len(styles)))]
            else:
                base["error"] = r["version_errors"][v]["error"]
            out.append(base)
        (folder / f"{model}_{v}_results.json").write_text(json.dumps(out))
    return run


@pytest.mark.parametrize(
    "model",
    [
        "llama-3.1-8b-instruct",  # 55 failed answers, quirk item 2011/1
        "o1-mini-2024-09-12",  # 40 unparseable answers
        "gemini-2.0-flash-thinking-exp-01-21",  # API errors, two quirk items
        "claude-3-5-haiku-20241022",  # failed v1 records that kept their tags
        "gemini-flash-1.5",  # run on two variants only
    ],
)
def test_rebuilt_raw_files_reproduce_upstream_averages_and_errors(tmp_path, model):
    run = _rebuild_raw(tmp_path, model)
    tidy = averaging.read_raw_outputs(tmp_path, variants=run)
    ours = stats_averaging.average_ratings(tidy)
    ref = averaging.load_average_outputs([model])
    _assert_wide_equal(ours, ref, tol=1e-12)
    pd.testing.assert_frame_equal(
        stats_averaging.error_counts(tidy), averaging.load_error_metadata([model])
    )
    # failed records are counted, not parsed, even when the quoted text holds a phrase
    failed = tidy[~tidy.parse_ok]
    assert failed.rating.isna().all() and failed.error.notna().all()
    assert set(failed.status) <= {"call_failed", "unparseable"}
    assert (tidy.loc[tidy.status == "unparseable", "raw_text"].notna()).all()


def test_failed_record_with_a_phrase_is_not_parsed(tmp_path):
    msg = "Could not parse valid Likert response from: Like me"
    for v, rec in [("v1", {"raw_response": "Somewhat like me"}), ("v2", {"error": msg})]:
        (tmp_path / f"m_{v}_results.json").write_text(
            json.dumps([{"portrait_id": 1003, "option_id": 1, **rec}])
        )
    tidy = averaging.read_raw_outputs(tmp_path, variants=["v1", "v2"], known_items=None)
    assert tidy.status.tolist() == ["parsed", "unparseable"]
    assert tidy.raw_text.tolist() == ["Somewhat like me", "Like me"]
    assert np.isnan(tidy.rating[1]) and tidy.error[1] == msg
    wide = stats_averaging.average_ratings(tidy)
    assert (wide.numeric_response[0], wide.n_parsed[0], wide.n_failed[0]) == (4.0, 1, 1)


# --------------------------------------------------------------------------- user directories


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))


def _rec(pid=1003, oid=1, answer="Like me", **extra):
    return {"portrait_id": pid, "option_id": oid, "raw_response": answer, **extra}


def test_user_directory_parse_failures_are_counted_and_averaged_on_what_parsed(tmp_path):
    answers = {
        "v1": ["Very much like me", "Like me"],
        "v1_reversed": ["Somewhat like me. Explanation follows.", "I refuse"],
        "v2": ["<think>like me</think>A little like me", "Hmm"],
    }
    for v, (a, b) in answers.items():
        _write(
            tmp_path / "local" / f"my_model_x_{v}_results.json",
            [_rec(1003, 1, a), _rec(1003, 2, b)],
        )
    tidy = averaging.read_raw_outputs(tmp_path, variants=list(answers), known_items=None)
    assert tidy.model.unique().tolist() == ["my_model_x"]
    assert tidy.provider.unique().tolist() == ["local"]
    assert tidy.status.tolist() == [
        "parsed",
        "parsed",
        "parsed",
        "parsed",
        "unparseable",
        "unparseable",
    ]
    assert tidy.error.tolist()[4:] == ["unparseable answer (no_phrase)"] * 2
    wide = stats_averaging.average_ratings(tidy)
    # item 1: (6 + 4 + 3) / 3; item 2: only v1 parsed
    assert wide.numeric_response.tolist() == [13 / 3, 5.0]
    assert wide.n_parsed.tolist() == [3, 1] and wide.n_failed.tolist() == [0, 2]
    assert wide.v2.isna().tolist() == [False, True] and wide.v3.isna().all()


def test_item_with_no_parsed_answer_has_no_mean(tmp_path):
    for v in ["v1", "v2"]:
        _write(
            tmp_path / f"m_{v}_results.json", [_rec(answer="n/a"), _rec(oid=2, answer="Like me")]
        )
    wide = averaging.average_raw_outputs(tmp_path, variants=["v1", "v2"], known_items=None)
    assert np.isnan(wide.numeric_response[0]) and wide.n_parsed[0] == 0 and wide.n_failed[0] == 2
    assert wide.numeric_response[1] == 5.0


def test_upstream_tagged_comes_from_the_first_variant_record(tmp_path):
    tag = {"correlations": [["Power", 0.4]]}
    files = {
        "v1": [_rec(1003, 1), _rec(1003, 2, **tag)],  # item 1: v1 untagged, item 2: v1 tagged
        "v2": [_rec(1003, 1, **tag), _rec(1003, 2)],
    }
    for v, recs in files.items():
        _write(tmp_path / f"m_{v}_results.json", recs)
    wide = averaging.average_raw_outputs(tmp_path, variants=["v1", "v2"], known_items=None)
    assert wide.upstream_tagged.tolist() == [False, True]
    # without v1, the first variant run is v2; empty tag lists do not count as tags
    _write(tmp_path / "m_v2_results.json", [_rec(1003, 1, **tag), _rec(1003, 2, correlations=[])])
    wide = averaging.average_raw_outputs(tmp_path, variants=["v2"], known_items=None)
    assert wide.upstream_tagged.tolist() == [True, False]


def test_models_filter_and_root_level_files(tmp_path):
    for m in ["a", "b_c"]:
        for v in V:
            _write(tmp_path / f"{m}_{v}_results.json", [_rec()])
    _write(tmp_path / "a_averaged_results.json", [])  # averaged files are skipped
    tidy = averaging.read_raw_outputs(tmp_path, known_items=None)
    assert sorted(tidy.model.unique()) == ["a", "b_c"] and tidy.provider.isna().all()
    assert len(averaging.read_raw_outputs(tmp_path, models=["b_c"], known_items=None)) == 6
    with pytest.raises(ValueError, match=r"model\(s\) \['zzz'\] not found"):
        averaging.read_raw_outputs(tmp_path, models=["zzz"], known_items=None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o-2024-11-20_v1_results.json", ("gpt-4o-2024-11-20", "v1")),
        ("gpt-4o-2024-11-20_v1_reversed_results.json", ("gpt-4o-2024-11-20", "v1_reversed")),
        ("claude-3.7-sonnet:thinking_v3_results.json", ("claude-3.7-sonnet:thinking", "v3")),
        ("my_v2_model_v2_reversed_results.json", ("my_v2_model", "v2_reversed")),
        ("model_v1_v3_results.json", ("model_v1", "v3")),
        ("mistral-tiny_averaged_results.json", None),
        ("_v1_results.json", None),
        ("model_v4_results.json", None),
        ("model_v1_results.txt", None),
    ],
)
def test_split_result_filename(name, expected):
    assert averaging.split_result_filename(name) == expected


def test_unknown_rule_and_variants(tmp_path):
    _write(tmp_path / "m_v1_results.json", [_rec()])
    with pytest.raises(ValueError, match="unknown parsing rule"):
        averaging.read_raw_outputs(tmp_path, variants=["v1"], rule="fuzzy")
    with pytest.raises(ValueError, match="unknown variant"):
        averaging.read_raw_outputs(tmp_path, variants=["v9"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no <model>_<variant>_results.json"):
        averaging.read_raw_outputs(empty)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        averaging.read_raw_outputs(tmp_path / "nowhere")


# --------------------------------------------------------------------------- malformed raw files

GOOD = [_rec(1003, 1), _rec(1003, 2, "Not like me")]


def _bad_raw_cases():
    def variant_file(recs, name="m_v2_results.json"):
        return {"m_v1_results.json": GOOD, name: recs}

    return [
        (
            "non-JSON",
            variant_file('[{"portrait_id": 1003,'),
            "m_v2_results.json",
            "invalid or truncated JSON",
        ),
        ("empty file", variant_file(""), "m_v2_results.json", "file is empty"),
        (
            "not a list",
            variant_file({"portrait_id": 1003}),
            "m_v2_results.json",
            "expected a JSON list",
        ),
        ("no records", variant_file([]), "m_v2_results.json", "holds no records"),
        ("record not object", variant_file([GOOD[0], "x"]), "record 1", "expected an object"),
        (
            "missing portrait_id",
            variant_file([GOOD[0], {"option_id": 2, "raw_response": "Like me"}]),
            "record 1, field 'portrait_id'",
            "expected an integer portrait id",
        ),
        (
            "portrait out of range",
            variant_file([_rec(5003, 1), GOOD[1]]),
            "record 0, field 'portrait_id'",
            "5003 is outside [1000, 4999]",
        ),
        (
            "option 6",
            variant_file([GOOD[0], _rec(1003, 6)]),
            "record 1, field 'option_id'",
            "6 is outside [1, 5]",
        ),
        (
            "option as text",
            variant_file([GOOD[0], _rec(1003, "2")]),
            "record 1, field 'option_id'",
            "got '2'",
        ),
        (
            "bool id",
            variant_file([GOOD[0], _rec(1003, True)]),
            "record 1, field 'option_id'",
            "got True",
        ),
        (
            "duplicate item",
            variant_file([GOOD[0], GOOD[0]]),
            "record 1",
            "portrait_id 1003, option_id 1, variant 'v2' (first in record 0)",
        ),
        (
            "unknown item",
            variant_file([GOOD[0], _rec(1004, 2)]),
            "record 1",
            "unknown item (1004, 2)",
        ),
        (
            "no answer, no error",
            variant_file([GOOD[0], {"portrait_id": 1003, "option_id": 2}]),
            "record 1, field 'raw_response'",
            "needs an answer",
        ),
        (
            "empty answer",
            variant_file([GOOD[0], _rec(1003, 2, "  ")]),
            "record 1, field 'raw_response'",
            "empty answer",
        ),
        (
            "answer not text",
            variant_file([GOOD[0], _rec(1003, 2, 5)]),
            "record 1, field 'raw_response'",
            "got 5",
        ),
        (
            "empty error",
            variant_file([GOOD[0], {"portrait_id": 1003, "option_id": 2, "error": ""}]),
            "record 1, field 'error'",
            "empty error message",
        ),
        (
            "bad numeric_response",
            variant_file([GOOD[0], _rec(1003, 2, numeric_response="five")]),
            "record 1, field 'numeric_response'",
            "expected a number",
        ),
        ("item missing in a variant", variant_file([GOOD[0]]), "m_v2_results.json", "(1003, 2)"),
        (
            "missing variant file",
            {"m_v1_results.json": GOOD},
            "model 'm'",
            "no file for variant(s) ['v2']",
        ),
        (
            "bad file name",
            {**variant_file(GOOD), "m_v7_results.json": GOOD},
            "m_v7_results.json",
            "cannot tell model",
        ),
        (
            "duplicate model variant",
            {**variant_file(GOOD), "other/m_v1_results.json": GOOD},
            "m_v1_results.json",
            "one file per model and variant",
        ),
    ]


@pytest.mark.parametrize(
    ("files", "where", "problem"),
    [c[1:] for c in _bad_raw_cases()],
    ids=[c[0] for c in _bad_raw_cases()],
)
def test_malformed_raw_files_name_file_record_and_field(tmp_path, files, where, problem):
    for name, content in files.items():
        _write(tmp_path / name, content)
    with pytest.raises(DataFormatError) as info:
        averaging.read_raw_outputs(
            tmp_path, variants=["v1", "v2"], known_items=[(1003, 1), (1003, 2)]
        )
    msg = str(info.value)
    assert where in msg and problem in msg, msg


def test_valueportrait_items_are_the_default_check(tmp_path):
    for v in ["v1", "v2"]:
        _write(tmp_path / f"m_{v}_results.json", [_rec(1003, 1), _rec(1002, 1)])
    with pytest.raises(
        DataFormatError, match=r"record 1, field 'portrait_id/option_id'.*unknown item \(1002, 1\)"
    ):
        averaging.read_raw_outputs(tmp_path, variants=["v1", "v2"])
    assert len(averaging.read_raw_outputs(tmp_path, variants=["v1", "v2"], known_items=None)) == 4
    # a subset of the Value Portrait items is fine
    for v in ["v1", "v2"]:
        _write(tmp_path / f"m_{v}_results.json", [_rec(1003, 1), _rec(4902, 5)])
    assert len(averaging.read_raw_outputs(tmp_path, variants=["v1", "v2"])) == 4


# -------------------------------------------------------------------------- upstream averaged files


def test_all_upstream_models_load(all_wide):
    # the brief speaks of 33 models; the upstream release holds 34 averaged files
    assert all_wide.columns.tolist() == list(averaging.WIDE_COLUMNS)
    sizes = all_wide.groupby("model").size()
    assert len(sizes) == 34 and (sizes == 520).all()
    assert "claude-3.7-sonnet:thinking" in sizes.index
    assert not all_wide.duplicated(["model", "portrait_id", "option_id"]).any()
    ratings = all_wide[V].to_numpy()
    assert np.isin(ratings[~np.isnan(ratings)], np.arange(1, 7)).all()
    assert all_wide.numeric_response.between(
        1, 6
    ).all()  # every item has at least one parsed answer
    assert (all_wide.n_parsed >= 1).all()
    n_run = all_wide.n_parsed + all_wide.n_failed
    assert (n_run[all_wide.model == "gemini-flash-1.5"] == 2).all()
    assert (n_run[all_wide.model != "gemini-flash-1.5"] == 6).all()
    # failed answers of each model, as in its metadata file (read here straight from JSON)
    for model, n_failed in all_wide.groupby("model").n_failed.sum().items():
        meta = datasets.read_json(
            datasets.fetch(f"{datasets.AVERAGE_OUTPUTS_DIR}/{model}_metadata.json")
        )
        assert n_failed == meta["total_errors"], model


def test_means_against_plain_python_for_all_models(all_wide):
    # numeric_response equals the plain mean of version_responses, record by record
    for model in ["llama-3.1-8b-instruct", "claude-3.7-sonnet:thinking", "gemini-flash-1.5"]:
        wide = all_wide[all_wide.model == model].reset_index(drop=True)
        for k, rec in enumerate(_averaged_json(model)):
            vals = list(rec["version_responses"].values())
            assert (wide.portrait_id[k], wide.option_id[k]) == (
                rec["portrait_id"],
                rec["option_id"],
            )
            assert abs(wide.numeric_response[k] - sum(vals) / len(vals)) <= 1e-12
            assert wide.n_parsed[k] == len(vals)


def test_untagged_items_are_exactly_the_averaging_quirk(all_wide):
    # an item's tag status is the same for all models except where a failed v1 record lost its tags
    status = all_wide.pivot_table(
        index=["portrait_id", "option_id"], columns="model", values="upstream_tagged"
    )
    majority = status.mean(axis=1) > 0.5
    odd = {
        (m, p, o)
        for (p, o), row in status.iterrows()
        for m, t in row.items()
        if bool(t) != majority[(p, o)]
    }
    assert odd == QUIRK_ITEMS
    for model, pid, oid in QUIRK_ITEMS:
        row = all_wide[
            (all_wide.model == model) & (all_wide.portrait_id == pid) & (all_wide.option_id == oid)
        ]
        assert np.isnan(row.v1.item()) and row.n_failed.item() >= 1  # the failed v1 record
    assert int((~majority).sum()) == 133  # items with no tag in any family


def test_tidy_form_of_averaged_files():
    tidy = averaging.load_average_outputs(
        ["llama-3.1-8b-instruct", "gemini-flash-1.5"], form="tidy"
    )
    assert tidy.columns.tolist() == list(averaging.TIDY_COLUMNS)
    assert len(tidy) == 520 * 6 + 520 * 2
    assert tidy.status.value_counts().to_dict() == {"parsed": 520 * 8 - 55, "unparseable": 55}
    bad = tidy[tidy.status == "unparseable"]
    assert bad.raw_text.notna().all() and bad.rating.isna().all()
    assert bad.error.str.startswith("Could not parse valid Likert response from: ").all()
    assert stats_averaging.error_counts(tidy).n_errors.sum() == 55
    pd.testing.assert_frame_equal(
        stats_averaging.average_ratings(tidy),
        averaging.load_average_outputs(["gemini-flash-1.5", "llama-3.1-8b-instruct"]),
    )


def test_error_counts_match_metadata_for_all_models():
    tidy = averaging.load_average_outputs(form="tidy")
    ours = stats_averaging.error_counts(tidy)
    ref = averaging.load_error_metadata()
    pd.testing.assert_frame_equal(ours, ref)
    assert ref.n_errors.sum() == 208
    assert tidy.status.value_counts().to_dict() == {
        "parsed": 103792,
        "unparseable": 166,
        "call_failed": 42,
    }


def test_unknown_model_and_form():
    with pytest.raises(ValueError, match="no upstream averaged outputs for model"):
        averaging.load_average_outputs(["gpt-5"])
    with pytest.raises(ValueError, match="form must be"):
        averaging.load_average_outputs(["mistral-tiny"], form="long")


def test_repeated_loads_are_cached_and_independent(all_wide):
    again = averaging.load_average_outputs()
    again.loc[0, "numeric_response"] = -1.0  # mutating a result must not leak into the cache
    third = averaging.load_average_outputs()
    pd.testing.assert_frame_equal(third, all_wide)


# ------------------------------------------------------------------------- malformed averaged files


def _avg_rec(pid=1003, oid=1, responses=None, errors=None, **extra):
    responses = {"v1": 4.0, "v2": 6.0} if responses is None else responses
    rec = {"portrait_id": pid, "option_id": oid, "version_responses": responses}
    if responses and "numeric_response" not in extra:
        rec["numeric_response"] = sum(responses.values()) / len(responses)
    if errors is not None:
        rec["version_errors"] = {v: {"error": e} for v, e in errors.items()}
    rec.update(extra)
    return rec


def _bad_avg_cases():
    ok = _avg_rec(1003, 2)
    return [
        ("non-JSON", "[{", None, "invalid or truncated JSON"),
        ("not a list", {"a": 1}, None, "expected a JSON list"),
        ("no records", [], None, "holds no records"),
        (
            "bad option",
            [ok, _avg_rec(1003, 9)],
            "record 1, field 'option_id'",
            "9 is outside [1, 5]",
        ),
        (
            "unknown item",
            [ok, _avg_rec(1004, 1)],
            "record 1, field 'portrait_id/option_id'",
            "unknown item",
        ),
        (
            "duplicate item",
            [ok, ok],
            "record 1",
            "portrait_id 1003, option_id 2 (first in record 0)",
        ),
        ("missing items", [ok], "field 'portrait_id/option_id'", "1 of the 2 known items missing"),
        (
            "no version_responses",
            [ok, {"portrait_id": 1003, "option_id": 1}],
            "record 1, field 'version_responses'",
            "expected an object",
        ),
        (
            "unknown variant",
            [ok, _avg_rec(responses={"v1": 4.0, "v2": 6.0, "v4": 5.0})],
            "record 1, field 'version_responses'",
            "unknown variant 'v4'",
        ),
        (
            "missing variant",
            [ok, _avg_rec(responses={"v1": 4.0})],
            "record 1, field 'version_responses'",
            "variant(s) ['v2'] missing",
        ),
        (
            "empty answers",
            [ok, _avg_rec(responses={})],
            "record 1, field 'version_responses'",
            "empty",
        ),
        (
            "rating 7",
            [ok, _avg_rec(responses={"v1": 7.0, "v2": 6.0})],
            "record 1, field 'version_responses.v1'",
            "7 is outside [1, 6]",
        ),
        (
            "rating 4.5",
            [ok, _avg_rec(responses={"v1": 4.5, "v2": 6.0})],
            "record 1, field 'version_responses.v1'",
            "4.5 is not one of the allowed values",
        ),
        (
            "rating text",
            [ok, _avg_rec(responses={"v1": "4", "v2": 6.0}, numeric_response=5.0)],
            "field 'version_responses.v1'",
            "got '4'",
        ),
        (
            "wrong mean",
            [ok, _avg_rec(numeric_response=4.5)],
            "record 1, field 'numeric_response'",
            "is not the mean",
        ),
        (
            "mean without answers",
            [ok, _avg_rec(responses={}, errors={"v1": "x", "v2": "y"}, numeric_response=3.0)],
            "record 1, field 'numeric_response'",
            "no variant has a rating",
        ),
        (
            "rating and error",
            [ok, _avg_rec(errors={"v1": "boom"})],
            "field 'version_errors.v1'",
            "both a rating and an error",
        ),
        (
            "empty error",
            [ok, _avg_rec(responses={"v1": 4.0}, errors={"v2": ""})],
            "field 'version_errors.v2'",
            "expected",
        ),
    ]


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [c[1:] for c in _bad_avg_cases()],
    ids=[c[0] for c in _bad_avg_cases()],
)
def test_malformed_averaged_files(tmp_path, content, where, problem):
    _write(tmp_path / "mod_averaged_results.json", content)
    with pytest.raises(DataFormatError) as info:
        averaging.load_average_outputs(directory=tmp_path, known_items=[(1003, 1), (1003, 2)])
    msg = str(info.value)
    assert "mod_averaged_results.json" in msg and problem in msg, msg
    if where is not None:
        assert where in msg, msg


def test_user_averaged_directory_with_errors_and_metadata(tmp_path):
    recs = [_avg_rec(1003, 1), _avg_rec(1003, 2, responses={"v1": 2.0}, errors={"v2": "timeout"})]
    _write(tmp_path / "mod_averaged_results.json", recs)
    wide = averaging.load_average_outputs(directory=tmp_path, known_items=None)
    assert wide.numeric_response.tolist() == [5.0, 2.0] and wide.n_failed.tolist() == [0, 1]
    assert wide.v3.isna().all()  # not run
    tidy = averaging.load_average_outputs(directory=tmp_path, known_items=None, form="tidy")
    assert tidy.status.tolist() == ["parsed", "parsed", "parsed", "call_failed"]
    # metadata agreeing with the file is accepted, disagreeing metadata is an error naming it
    _write(tmp_path / "mod_metadata.json", {"total_errors": 1, "errors_by_version": {"v2": 1}})
    assert len(averaging.load_average_outputs(directory=tmp_path, known_items=None)) == 2
    _write(tmp_path / "mod_metadata.json", {"total_errors": 2, "errors_by_version": {"v1": 2}})
    with pytest.raises(
        DataFormatError, match=r"mod_metadata.json: file level, field 'errors_by_version'"
    ):
        averaging.load_average_outputs(directory=tmp_path, known_items=None)
    _write(tmp_path / "mod_metadata.json", {"total_errors": 3, "errors_by_version": {"v2": 1}})
    with pytest.raises(DataFormatError, match=r"field 'total_errors'"):
        averaging.load_average_outputs(directory=tmp_path, known_items=None)


# --------------------------------------------------------------------- average_ratings input checks


def test_average_ratings_rejects_bad_tidy_tables():
    base = pd.DataFrame(
        {
            "model": "m",
            "portrait_id": 1003,
            "option_id": 1,
            "variant": ["v1", "v2"],
            "rating": [4.0, 5.0],
            "parse_ok": True,
        }
    )
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['rating'\]"):
        stats_averaging.average_ratings(base.drop(columns="rating"))
    with pytest.raises(ValueError, match="row 1: unknown variant 'v9'"):
        stats_averaging.average_ratings(base.assign(variant=["v1", "v9"]))
    with pytest.raises(ValueError, match="row 1: duplicate answer"):
        stats_averaging.average_ratings(base.assign(variant=["v1", "v1"]))
    with pytest.raises(ValueError, match="row 1: parsed rating 7.0 is not an integer 1-6"):
        stats_averaging.average_ratings(base.assign(rating=[4.0, 7.0]))
    # a failed answer's rating is ignored whatever it holds
    out = stats_averaging.average_ratings(base.assign(rating=[4.0, 99.0], parse_ok=[True, False]))
    assert out.numeric_response.item() == 4.0 and np.isnan(out.v2.item())


def test_contract_errors_name_the_file_and_record_among_several(tmp_path):
    # the contract runs once over every file: its error still names the right file and record
    _write(tmp_path / "a_averaged_results.json", [_avg_rec(1003, 1), _avg_rec(1003, 2)])
    _write(tmp_path / "b_averaged_results.json", [_avg_rec(1003, 1), _avg_rec(1003, 2)])
    assert len(averaging.load_average_outputs(directory=tmp_path, known_items=None)) == 4
    _write(
        tmp_path / "b_averaged_results.json",
        [_avg_rec(1003, 1), _avg_rec(1003, 2, responses={"v1": 0.0, "v2": 6.0})],
    )
    with pytest.raises(DataFormatError) as info:
        averaging.load_average_outputs(directory=tmp_path, known_items=None)
    assert str(info.value) == (
        f"{tmp_path / 'b_averaged_results.json'}: record 1, field 'version_responses.v1': "
        "0 is outside [1, 6]"
    )


@pytest.mark.parametrize("model", ["llama-3.1-8b-instruct", "gemini-flash-1.5", "mistral-tiny"])
def test_fast_column_reading_equals_the_record_by_record_reading(model):
    # the column-wise path of the reader against the checked loop it falls back to, on real files
    # (with recorded errors, with variants not run, plain)
    path = datasets.fetch(f"{datasets.AVERAGE_OUTPUTS_DIR}/{model}_averaged_results.json")
    data = averaging._read_record_list(path)
    fast = averaging._averaged_arrays_fast(data, path)
    slow = averaging._averaged_arrays_checked(data, path)
    assert fast is not None
    for a, b in zip(fast[:5], slow[:5], strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast[5] == slow[5]
