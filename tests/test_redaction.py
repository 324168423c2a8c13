"""Credentials never leak: keys in URLs (userinfo, query parameters), headers and registered
secrets are masked in every output, provenance file, cache row and error line.

The command-line runs go to a real HTTP server on 127.0.0.1 (tests/fault_server.py) that echoes
the request's path and Authorization header in its error bodies, as careless servers do; the
key in the URL is in no environment variable, so only the URL handling can mask it.
"""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vp_stats import redact

URLKEY = "urlkey-" + "9c2e4a6b8d0f1357" * 2

FORMS = {
    "userinfo": "http://user:{k}@{hp}/v1",
    "user-only": "http://{k}@{hp}/v1",
    "api-key": "http://{hp}/v1?api-key={k}",
    "key": "http://{hp}/v1?key={k}",
    "token": "http://{hp}/v1?api-version=2024-06-01&token={k}",
    "access_token": "http://{hp}/v1?access_token={k}",
    "api_key": "http://{hp}/v1?api_key={k}",
    "sig": "http://{hp}/v1?sv=1&sig={k}",
}


# ----------------------------------------------------------------------------- the functions


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_url_form_is_redacted_in_any_text(form):
    url = FORMS[form].format(k=URLKEY, hp="example.org:8443")
    for text in (url, f"cannot reach the endpoint {url}: refused", json.dumps({"u": url})):
        out = redact.redact(text)  # not registered: the patterns alone
        assert URLKEY not in out and redact.MARK in out and "example.org:8443" in out, out
    assert URLKEY not in redact.redact_url(url) and "example.org" in redact.redact_url(url)


def test_registered_url_secrets_are_masked_anywhere_also_encoded():
    key = "pw-" + "31415926535897" * 2
    redact.register_url(f"https://alice:{key}@host/v1")
    basic = base64.b64encode(f"alice:{key}".encode()).decode()
    for text in (f"the key {key} alone", f"echo: {basic}", f"auth={basic}"):
        assert key not in redact.redact(text) and basic not in redact.redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sk-abcdef0123456",
        "{'authorization': 'Bearer sk-abcdef0123456'}",
        '{"api-key": "sk-abcdef0123456"}',
        "x-api-key=sk-abcdef0123456",
        "request failed (bearer sk-abcdef0123456)",
    ],
)
def test_credential_headers_are_redacted(text):
    assert "sk-abcdef0123456" not in redact.redact(text)


def test_harmless_text_is_left_alone():
    for text in (
        "https://host/v1?api-version=2024-06-01&model=m",
        "authentication failed at http://127.0.0.1:8000/v1 (401)",
        "basic statistics of 180 items; monkey business",
        "like me",
    ):
        assert redact.redact(text) == text


def test_answers_are_masked_for_secrets_only_not_rewritten_by_patterns():
    from vp_stats.llm.calls import _redacted

    redact.register("sk-answer-secret-42")
    rec = _redacted(
        {
            "raw_text": "The bearer always pays; https://a:b@c/?key=value (sk-answer-secret-42)",
            "error": "call failed: https://a:passw0rd@c/v1?key=value",
        }
    )
    assert rec["raw_text"] == ("The bearer always pays; https://a:b@c/?key=value ([REDACTED])")
    assert "passw0rd" not in rec["error"] and "value" not in rec["error"]


def test_redact_obj_walks_provenance_like_records():
    rec = {"argv": ["run-llm", "--base-url", f"https://h/v1?key={URLKEY}"], "n": [1, 2.0, None]}
    out = redact.redact_obj(rec)
    assert URLKEY not in json.dumps(out) and out["n"] == [1, 2.0, None]


def test_provenance_record_is_redacted(monkeypatch):
    from vp_stats.studies.validate import provenance

    monkeypatch.setattr(sys, "argv", ["vp-stats", "--base-url", f"https://u:{URLKEY}@h/v1"])
    prov = provenance("run-llm", {"x": 1}, {}, model={"base_url": f"https://h/v1?api-key={URLKEY}"})
    assert URLKEY not in json.dumps(prov)


# ----------------------------------------------------------------------------- through the CLI

pytest.importorskip("openai")
from fault_server import ENV, FaultServer, ok_body  # noqa: E402  (tests/ is on sys.path)
from llm_cli import run_llm  # noqa: E402


def _run_llm(url, out, *extra):
    """run-llm with the key in the URL only (no --api-key-env), no retries, a 10 s timeout."""
    return run_llm(url, out, "--retries", "0", "--timeout", "10", *extra, key_env=None)


def _assert_nowhere(done, out: Path, *secrets):
    for s in secrets:
        assert s not in done.stdout and s not in done.stderr, (done.stdout, done.stderr)
        for f in out.rglob("*") if out.exists() else []:
            if f.is_file():
                assert s.encode() not in f.read_bytes(), f


def _echo(h, status):
    """An error body quoting the request's path and Authorization header (a leaky server)."""
    msg = f"refused {h.path} for {h.headers.get('Authorization')}"
    h.send(status, json.dumps({"error": {"message": msg, "type": "x"}}).encode())


@pytest.mark.parametrize("form", sorted(FORMS))
def test_url_key_is_in_no_output_cache_row_or_error_line(form, tmp_path):
    seen = []

    def script(n, h):
        seen.append(f"{h.path} {h.headers.get('Authorization')}")
        if n == 0:
            _echo(h, 500)  # a failed call: its (echoing) error is recorded in answers.csv
        elif n == 1:
            h.send(200, ok_body())  # an answer: cached, with provenance.json
        else:
            _echo(h, 401)  # a fatal authentication error

    out = tmp_path / "o"
    with FaultServer(script) as srv:
        hp = srv.url.split("//")[1].split("/")[0]
        url = FORMS[form].format(k=URLKEY, hp=hp)
        failed = _run_llm(url, out)
        failed_answers = (out / "answers.csv").read_text()
        ok = _run_llm(url, out)
        assert ok.returncode == 0, ok.stderr
        auth = _run_llm(url, tmp_path / "o401")
    basic = base64.b64encode(f"user:{URLKEY}".encode()).decode()
    # the key did reach the server (so its absence below means something) ...
    assert (
        URLKEY in seen[0]
        or basic in seen[0]
        or base64.b64encode(f"{URLKEY}:".encode()).decode() in seen[0]
    )
    assert "chat/completions" in seen[0].split()[0].split("?")[0]  # query kept out of the path
    # ... and is nowhere in what the runs wrote or printed
    assert failed.returncode == 1 and "[REDACTED]" in failed_answers
    assert URLKEY not in failed_answers
    assert auth.returncode == 1 and "authentication failed" in auth.stderr
    for done, d in ((failed, out), (ok, out), (auth, tmp_path / "o401")):
        _assert_nowhere(done, d, URLKEY, basic)
    prov = json.loads((out / "provenance.json").read_text())
    assert "[REDACTED]" in prov["model"]["base_url"] and hp in prov["model"]["base_url"]
    assert any("[REDACTED]" in a for a in prov["argv"])
    with sqlite3.connect(out / "cache.sqlite") as con:
        rows = con.execute("select * from answers").fetchall()
    assert len(rows) == 1 and URLKEY not in repr(rows)


@pytest.mark.parametrize("form", ["userinfo", "api-key"])
def test_refused_connection_error_line_is_redacted(form, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = FORMS[form].format(k=URLKEY, hp=f"127.0.0.1:{port}")
    done = _run_llm(url, tmp_path / "o")
    assert done.returncode != 0 and "cannot reach the endpoint" in done.stderr, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    _assert_nowhere(done, tmp_path / "o", URLKEY)


def test_run_file_with_url_key_is_redacted_in_summary_and_errors(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runfile = tmp_path / "run.toml"
    runfile.write_text(
        "[[model]]\n"
        'name = "a"\nbackend = "openai"\nmodel = "m"\nmode = "text"\nitems = 1\n'
        'variants = ["v1"]\nretries = 0\ntimeout = 5\n'
        f'base_url = "http://u:{URLKEY}@127.0.0.1:{port}/v1?api-key={URLKEY}"\n'
    )
    cmd = [sys.executable, "-m", "vp_stats.cli", "run-models", str(runfile)]
    cmd += ["--out", str(tmp_path / "o"), "--no-progress"]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    _assert_nowhere(done, tmp_path / "o", URLKEY)
    assert (tmp_path / "o" / "run_summary.csv").exists(), done.stdout + done.stderr
