"""The command line: every command on real data, --help, and clear errors."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app

runner = CliRunner()


def _ok(args):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def test_help_lists_every_command():
    out = _ok(["--help"])
    for cmd in (
        "validate",
        "average",
        "score",
        "reproduce",
        "run-llm",
        "questionnaire",
        "personas",
        "compass",
    ):
        assert cmd in out
    assert "--procedure" in _ok(["validate", "--help"])
    assert "--api-key-env" in _ok(["run-llm", "--help"])


def test_validate_writes_the_table(tmp_path):
    out = _ok(["validate", "--out", str(tmp_path), "--n-boot", "0"])
    t = pd.read_csv(tmp_path / "item_correlations.csv")
    assert list(t.columns) == [
        "item",
        "portrait_id",
        "option_id",
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
    assert len(t) == 9880 and "Self_Direction" in out and "Self_Transcendence" in set(t.dimension)


def test_validate_upstream_procedure_equals_published(tmp_path):
    from vp_stats.io import datasets

    _ok(["validate", "--out", str(tmp_path), "--n-boot", "0", "--procedure", "upstream"])
    t = pd.read_csv(tmp_path / "item_correlations.csv")
    m = t.merge(
        datasets.load_published_correlations(),
        on=["portrait_id", "option_id", "family", "dimension"],
    )
    assert (
        len(m) == 9880 and (m.rho_x - m.rho_y).abs().max() < 1e-12
    )  # CSV round trip keeps 17 digits


def test_validate_rejects_bad_options(tmp_path):
    res = runner.invoke(
        app, ["validate", "--out", str(tmp_path), "--mode", "both", "--n-boot", "0"]
    )
    assert res.exit_code == 2 and "mode must be one of" in res.output


def test_average_equals_upstream(tmp_path):
    from vp_stats.io import averaging, datasets

    raw = datasets.data_dir() / datasets.RAW_OUTPUTS_DIR
    _ok(
        ["average", "--raw-dir", str(raw), "--out", str(tmp_path / "avg.csv"), "--rule", "upstream"]
    )
    ours = pd.read_csv(tmp_path / "avg.csv")
    up = averaging.load_average_outputs(models=["gpt-4o-2024-11-20", "mistral-tiny"])
    m = ours.merge(up, on=["model", "portrait_id", "option_id"])
    assert len(m) == 1040 and (m.numeric_response_x - m.numeric_response_y).abs().max() < 1e-12


def test_average_errors_name_the_file(tmp_path):
    from vp_stats import schema

    for v in schema.VARIANTS:
        (tmp_path / f"m_{v}_results.json").write_text(
            '[{"portrait_id": 1003, "option_id": 1, "raw_response": "like me"}]'
        )
    (tmp_path / "m_v2_results.json").write_text('[{"portrait_id": 1003, ')
    res = runner.invoke(
        app, ["average", "--raw-dir", str(tmp_path), "--out", str(tmp_path / "a.csv")]
    )
    assert res.exit_code == 2 and "m_v2_results.json" in res.output and "JSON" in res.output
    res = runner.invoke(
        app, ["average", "--raw-dir", str(tmp_path / "none"), "--out", str(tmp_path / "a.csv")]
    )
    assert res.exit_code == 2 and "is not a directory" in res.output


def test_score_released_models(tmp_path):
    out = _ok(["score", "--out", str(tmp_path), "--n-boot", "0"])
    p = pd.read_csv(tmp_path / "llm_value_scores.csv")
    assert p.model.nunique() == 34 and len(p) == 34 * 19
    assert "Benevolence" in out.splitlines()[2]  # top of the across-model ranking


def test_score_answers_file_and_missing_file(tmp_path):
    answers = pd.DataFrame(
        {
            "model": "m",
            "portrait_id": [1003, 1003],
            "option_id": [1, 2],
            "variant": "v1",
            "rating": [4.0, 5.0],
            "parse_ok": True,
        }
    )
    answers.to_csv(tmp_path / "answers.csv", index=False)
    _ok(
        [
            "score",
            "--answers",
            str(tmp_path / "answers.csv"),
            "--out",
            str(tmp_path),
            "--n-boot",
            "0",
        ]
    )
    assert set(pd.read_csv(tmp_path / "llm_value_scores.csv").model) == {"m"}
    res = runner.invoke(
        app, ["score", "--answers", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 2 and "answers file not found" in res.output


def test_questionnaire_score(tmp_path):
    rows = [("r1", i, (i % 6) + 1) for i in range(1, 22)]
    pd.DataFrame(rows, columns=["respondent", "item", "answer"]).to_csv(
        tmp_path / "a.csv", index=False
    )
    _ok(["questionnaire", "score", str(tmp_path / "a.csv"), "--out", str(tmp_path / "s.csv")])
    s = pd.read_csv(tmp_path / "s.csv")
    assert set(s.family) == {"pvq", "higher_pvq"} and len(s) == 14
    pd.DataFrame(rows + [("r2", 1, 9)], columns=["respondent", "item", "answer"]).to_csv(
        tmp_path / "b.csv", index=False
    )
    res = runner.invoke(app, ["questionnaire", "score", str(tmp_path / "b.csv")])
    assert res.exit_code == 2 and "participant 'r2', item 1: answer 9" in res.output


def test_compass_commands(tmp_path):
    pd.DataFrame({"item": range(1, 22), "answer": [(i * 7 % 6) + 1 for i in range(1, 22)]}).to_csv(
        tmp_path / "me.csv", index=False
    )
    out = _ok(
        [
            "compass",
            "match",
            "--answers",
            str(tmp_path / "me.csv"),
            "--out",
            str(tmp_path / "m.csv"),
        ]
    )
    m = pd.read_csv(tmp_path / "m.csv")
    assert len(m) == 34 and m.weighted_rank.tolist() == sorted(m.weighted_rank) and "centred" in out
    pd.DataFrame({"dimension": ["Benevolence", "Power"], "weight": [2, -1]}).to_csv(
        tmp_path / "w.csv", index=False
    )
    _ok(
        ["compass", "score", "--weights", str(tmp_path / "w.csv"), "--out", str(tmp_path / "s.csv")]
    )
    assert len(pd.read_csv(tmp_path / "s.csv")) == 34
    res = runner.invoke(app, ["compass", "score", "--weights", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "missing.csv" in res.output


@pytest.mark.parametrize(
    "bad",
    [
        ["run-llm", "--out", "x", "--variants", "v9"],
        ["run-llm", "--out", "x", "--mode", "vibes"],
        ["run-llm", "--out", "x", "--backend", "openai"],
    ],
)
def test_run_llm_rejects_bad_arguments(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, bad)
    assert res.exit_code == 2 and "error:" in res.output


def test_svo_score_command(tmp_path):
    rows = [("a", i, "A") for i in range(1, 7)] + [("b", i, "E") for i in range(1, 7)]
    pd.DataFrame(rows, columns=["respondent", "item", "choice"]).to_csv(
        tmp_path / "s.csv", index=False
    )
    _ok(["svo", "score", str(tmp_path / "s.csv"), "--out", str(tmp_path / "o.csv")])
    o = pd.read_csv(tmp_path / "o.csv").set_index("participant")
    assert round(o.loc["a", "svo_angle"], 2) == 30.47 and not o.loc["a", "transitive"]
    assert round(o.loc["b", "svo_angle"], 2) == 22.93 and o.loc["b", "transitive"]
    pd.DataFrame([("a", 1, "J")], columns=["respondent", "item", "choice"]).to_csv(
        tmp_path / "bad.csv", index=False
    )
    res = runner.invoke(app, ["svo", "score", str(tmp_path / "bad.csv")])
    assert (
        res.exit_code == 2
        and "row 1" in res.output
        and "respondent 'a'" in res.output
        and "'J'" in res.output
    )


def test_data_dir_option_is_used_for_everything(tmp_path, monkeypatch):
    from vp_stats.io import datasets

    mirror = str(datasets.data_dir())
    monkeypatch.delenv("VP_DATA_DIR", raising=False)
    _ok(["score", "--data-dir", mirror, "--out", str(tmp_path), "--n-boot", "0"])
    assert pd.read_csv(tmp_path / "llm_value_scores.csv").model.nunique() == 34
    res = runner.invoke(
        app, ["score", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 2 and "is not a directory" in res.output


def test_run_llm_items_file_names_the_bad_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"portrait_id": [1003, 1003, 1003], "option_id": [1, 1, 7]}).to_csv(
        "it.csv", index=False
    )
    res = runner.invoke(app, ["run-llm", "--items", "it.csv", "--out", "x"])
    assert (
        res.exit_code == 2
        and "1 row(s) name items that do not exist: row 3 (1003, 7)" in res.output
    )


def test_version_and_python_m():
    import subprocess
    import sys

    from vp_stats import __version__

    assert _ok(["--version"]).strip() == f"vp-stats {__version__}"
    res = subprocess.run(
        [sys.executable, "-m", "vp_stats", "--help"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0 and "validate" in res.stdout and "reliability" in res.stdout


def test_reproduce_leaves_the_cycle_collector_as_it_found_it():
    """The collector is off during reproduce's imports, their objects frozen for the run; after it
    the collector is on again (or off, if it was) and nothing stays frozen."""
    import gc

    from vp_stats.cli.commands import _collector_spares_imports

    for was_on in (True, False):
        (gc.enable if was_on else gc.disable)()
        try:
            with _collector_spares_imports() as imported:
                assert not gc.isenabled()
                imported()
                assert gc.isenabled() == was_on and gc.get_freeze_count() > 0
            assert gc.isenabled() == was_on and gc.get_freeze_count() == 0
            with pytest.raises(RuntimeError), _collector_spares_imports():
                raise RuntimeError("a failed import")
            assert gc.isenabled() == was_on and gc.get_freeze_count() == 0
        finally:
            gc.enable()
