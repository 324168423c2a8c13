"""Nothing lost, nothing silent.

Failed runs exit non-zero, outputs are atomic, runs on one --out never interleave.
"""

from __future__ import annotations

import errno
import os

import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.io import tables as tio
from vp_stats.stats import simulate

runner = CliRunner()


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def own(tmp_path):
    st = simulate.synthetic_study(n_participants=40, n_items=20, seed=2)
    st["ratings"].to_csv(tmp_path / "r.csv", index=False)
    st["scores"].to_csv(tmp_path / "s.csv", index=False)
    return tmp_path


def test_a_full_disk_leaves_the_previous_output_intact(own, monkeypatch):
    args = [
        "validate",
        "--ratings",
        own / "r.csv",
        "--scores",
        own / "s.csv",
        "--out",
        own / "o",
        "--n-boot",
        "0",
    ]
    assert _run(args).exit_code == 0
    before = (own / "o" / "item_correlations.csv").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tio.os, "fsync", full)
    res = _run([*args, "--threshold", "0.2"])
    assert res.exit_code == 2 and "No space left on device" in res.output, res.output
    assert (own / "o" / "item_correlations.csv").read_bytes() == before
    assert not [
        p for p in (own / "o").iterdir() if p.name.endswith(".tmp")
    ]  # no temporary file left behind


def test_a_second_run_on_the_same_out_is_refused(own):
    with tio.locked_out_dir(own / "busy"):
        res = _run(["reproduce", "--no-notebooks", "--n-boot", "0", "--out", own / "busy"])
    assert res.exit_code == 2 and "another vp-stats run is writing to this folder" in res.output


def test_out_checked_before_any_work(own):
    (own / "afile").write_text("x")
    for out, msg in [
        (own / "afile", "--out names a file"),
        (own / "afile" / "sub", "cannot create the output folder"),
    ]:
        res = _run(
            [
                "validate",
                "--ratings",
                own / "r.csv",
                "--scores",
                own / "s.csv",
                "--out",
                out,
                "--n-boot",
                "0",
            ]
        )
        assert res.exit_code == 2 and msg in res.output, res.output
    res = _run(["average", "--raw-dir", own, "--out", own])
    assert res.exit_code == 2 and "--out names a folder" in res.output


def test_average_of_an_empty_folder_is_an_error(own):
    (own / "empty").mkdir()
    res = _run(["average", "--raw-dir", own / "empty", "--out", own / "avg.csv"])
    assert res.exit_code == 2 and "no <model>_<variant>_results.json files found" in res.output
    assert not (own / "avg.csv").exists()


@pytest.fixture()
def failing_server():
    """An HTTP server on 127.0.0.1 that answers every request with 500 (stopped after the test)."""
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"error": {"message": "internal failure", "type": "server_error"}}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_run_llm_whose_calls_all_fail_exits_1_with_the_counts(tmp_path, failing_server):
    pytest.importorskip("openai")
    res = _run(
        [
            "run-llm",
            "--backend",
            "openai",
            "--base-url",
            failing_server,
            "--model",
            "m",
            "--mode",
            "text",
            "--items",
            "2",
            "--variants",
            "v1",
            "--retries",
            "0",
            "--timeout",
            "2",
            "--no-progress",
            "--out",
            tmp_path / "run",
        ]
    )
    assert res.exit_code == 1, res.output
    assert "2 failed calls" in res.output and "rerun the same command" in res.output
    answers = pd.read_csv(tmp_path / "run" / "answers.csv")
    assert len(answers) == 2 and answers.rating.isna().all()


def test_run_llm_options_checked_before_any_work(tmp_path):
    for extra, msg in [
        (["--temperature", "-1"], "--temperature must be >= 0"),
        (["--max-tokens", "0"], "--max-tokens must be >= 1"),
    ]:
        res = _run(["run-llm", "--out", tmp_path / "x", "--items", "1", *extra])
        assert res.exit_code == 2 and msg in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_secrets_are_redacted_from_every_error_line(monkeypatch):
    from vp_stats import redact
    from vp_stats.cli._common import _fail

    monkeypatch.setenv("MY_TEST_API_KEY", "sk-vp-test-secret-987654")
    import typer

    with pytest.raises(typer.Exit):
        _fail("server said: invalid key sk-vp-test-secret-987654")
    assert redact.redact("key=sk-vp-test-secret-987654") == "key=[REDACTED]"


def test_unexpected_errors_are_one_line_exit_1(monkeypatch, capsys):
    from vp_stats import cli

    def boom(*a, **k):
        raise RuntimeError("something broke sk-vp-test-secret-987654")

    monkeypatch.setenv("MY_TEST_API_KEY", "sk-vp-test-secret-987654")
    monkeypatch.delenv("VP_STATS_DEBUG", raising=False)
    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "internal error (RuntimeError" in err and "[REDACTED]" in err
    assert "sk-vp-test-secret" not in err and "Traceback" not in err


def test_questionnaire_error_names_the_offending_cell(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text(
        "respondent,1,2,3,4,5,6,7,8,9,10\nr1,1,2,3,4,5,1,2,3,4,5\nr2,1,2,3,4,abc,1,2,3,4,5\n"
    )
    res = _run(["questionnaire", "score", "--instrument", "bfi10", p])
    where = "q.csv: row 2 (line 3, respondent 'r2'), field '5': cannot read 'abc' as a number"
    assert res.exit_code == 2 and where in res.output, res.output


def test_validate_and_reliability_refuse_a_busy_out(own):
    with tio.locked_out_dir(own / "busy"):
        res = _run(
            [
                "validate",
                "--ratings",
                own / "r.csv",
                "--scores",
                own / "s.csv",
                "--out",
                own / "busy",
                "--n-boot",
                "0",
            ]
        )
        assert res.exit_code == 2 and "another vp-stats run" in res.output
        items = own / "items.csv"
        items.write_text("item,family,dimension\nabby_Power_likely_04,pvq,Power\n")
        res = _run(
            ["reliability", "--ratings", own / "r.csv", "--items", items, "--out", own / "busy"]
        )
        assert res.exit_code == 2 and "another vp-stats run" in res.output
    assert not (own / "busy" / "item_correlations.csv").exists()


def test_every_command_writes_provenance(own, tmp_path):
    import json

    from vp_stats import __version__

    (own / "w.csv").write_text("dimension,weight\nBenevolence,1\nPower,-1\n")
    res = _run(["compass", "score", "--weights", own / "w.csv", "--out", own / "c" / "ranked.csv"])
    assert res.exit_code == 0, res.output
    prov = json.loads((own / "c" / "ranked.csv.provenance.json").read_text())
    assert prov["command"] == "compass score" and prov["vp_stats_version"] == __version__
    assert prov["inputs"]["weights"]["sha256"]
    res = _run(
        [
            "validate",
            "--ratings",
            own / "r.csv",
            "--scores",
            own / "s.csv",
            "--out",
            own / "v",
            "--n-boot",
            "0",
        ]
    )
    assert json.loads((own / "v" / "provenance.json").read_text())["command"] == "validate"


# -------------------------------------------------------------------- file tables through contracts


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        (
            "respondent,item,answer\nr1,1,4\nr1,1,5\n",
            "row 2 (line 3, respondent 'r1')",
            "respondent",
        ),
        ("respondent,item,answer\n,1,4\n", "row 1 (line 2)", "respondent"),
        ("participant,item,rating\nr1,1,4\nr1,2,x\n", "row 2 (line 3, participant 'r1')", "rating"),
        ("respondent,item,answer\nr1,1,4\nr1,2,x\n", "row 2 (line 3, respondent 'r1')", "answer"),
        ("participant,1,2\nr1,4,5\nr2,4,x\n", "row 2 (line 3, participant 'r2')", "2"),
        ("respondent,1,2\nr1,4,5\nr1,4,4\n", "row 2 (line 3, respondent 'r1')", "respondent"),
        ("item,rating\n1,4\n", None, "participant"),
    ],
)
def test_answer_sheet_contract_names_file_row_field(tmp_path, text, where, field):
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as exc:
        tio.read_questionnaire_answers(path)
    msg = str(exc.value)
    assert "sheet.csv" in msg and (where or "table") in msg and f"field {field!r}" in msg, msg


def test_persona_answer_file_contract_names_file_row_field(tmp_path):
    from vp_stats.io import personas as pio

    path = tmp_path / "answers.csv"
    path.write_text("persona_id,portrait_id,option_id,rating\np,1001,1,4\np,1001,2.5,4\n")
    with pytest.raises(ValueError, match=r"answers.csv: row 2 \(line 3\), field 'option_id'"):
        pio.read_answer_file(path)
    path.write_text("persona_id,portrait_id,option_id,rating\np,1001,1,7\n")
    with pytest.raises(ValueError, match=r"row 1 \(line 2\), field 'rating'"):
        pio.read_answer_file(path)
