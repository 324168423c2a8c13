"""Faults of LLM calls, injected by a real HTTP server on 127.0.0.1, through `vp-stats run-llm
--backend openai`.

The server (http.server in a thread) answers a few requests by a script (429 with Retry-After,
500/503, a hang, a slow drip, malformed JSON, empty choices, a 404 echoing the API key), then
stops itself. Every run checks the exit code, the request counts, what the cache holds, and that
the test key appears in no message, output file or cache byte.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from vp_stats.io.cache import AnswerCache, CacheError
from vp_stats.llm import runner
from vp_stats.llm.backends import PHRASES
from vp_stats.llm.calls import CALL_FAILED
from vp_stats.llm.openai_backend import OpenAIBackend

pytest.importorskip("openai")

from fault_server import ENV, KEY, FaultServer, ok_body  # noqa: E402  (tests/ is on sys.path)
from llm_cli import run_llm  # noqa: E402


def assert_no_key(done, out: Path):
    assert KEY not in done.stdout and KEY not in done.stderr
    for f in out.iterdir() if out.exists() else []:
        assert KEY.encode() not in f.read_bytes(), f


def cache_rows(out: Path) -> int:
    path = out / "cache.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as con:
        return con.execute("select count(*) from answers").fetchone()[0]


# ----------------------------------------------------------------------------- faults


def test_429_with_retry_after_is_honoured_then_answered(tmp_path):
    def script(n, h):
        if n < 2:
            h.echo_key(429, [("Retry-After", "1")])
        else:
            h.send(200, ok_body())

    with FaultServer(script) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--retries", "3")
    assert done.returncode == 0, done.stderr
    assert srv.n == 3
    gaps = [b - a for a, b in zip(srv.times, srv.times[1:], strict=False)]
    assert all(g >= 0.95 for g in gaps), (
        gaps
    )  # waited the server's Retry-After, not a short jittered backoff
    assert cache_rows(tmp_path / "o") == 1 and "1 parsed" in done.stdout
    assert_no_key(done, tmp_path / "o")


def test_500_and_503_exhaust_retries_exit_1_and_cache_nothing(tmp_path):
    def script(n, h):
        h.echo_key(500 if n % 2 == 0 else 503, [("Retry-After", "0")])

    with FaultServer(script) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--retries", "2", items=2)
    assert done.returncode == 1, done.stdout + done.stderr
    assert srv.n == 2 * 3  # each of the 2 prompts: 1 call + 2 retries
    assert "2 failed calls" in done.stdout and "rerun the same command" in done.stderr
    answers = pd.read_csv(tmp_path / "o" / "answers.csv")
    assert answers.error.str.startswith(CALL_FAILED).all() and answers.rating.isna().all()
    assert answers.error.str.contains("[REDACTED]", regex=False).all()  # the echoed key, masked
    assert cache_rows(tmp_path / "o") == 0
    assert_no_key(done, tmp_path / "o")


def test_a_hanging_server_is_cut_at_the_request_deadline(tmp_path):
    with FaultServer(lambda n, h: h.hang(), max_seconds=40) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--timeout", "2", "--retries", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert srv.n == 2  # each attempt has its deadline; a timed-out request is retried once
    answers = pd.read_csv(tmp_path / "o" / "answers.csv")
    assert "no answer within 2 s in 2 attempt(s)" in answers.error.iloc[0]
    assert done.elapsed < 30  # the server would have held the request for 40 s
    assert cache_rows(tmp_path / "o") == 0
    assert_no_key(done, tmp_path / "o")


def test_a_slow_drip_is_cut_at_the_wall_clock_deadline(tmp_path):
    body = ok_body("like me " + "x" * 200)  # ~450 bytes at one byte per 0.4 s: about 3 minutes

    with FaultServer(lambda n, h: h.drip(body), max_seconds=60) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--timeout", "2", "--retries", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert srv.n == 2
    assert (
        done.elapsed < 30
    )  # every read finished within its 2 s read timeout: only a wall-clock deadline stops it
    answers = pd.read_csv(tmp_path / "o" / "answers.csv")
    assert answers.error.iloc[0].startswith(CALL_FAILED)
    assert cache_rows(tmp_path / "o") == 0


def test_malformed_json_is_a_failed_call_not_cached(tmp_path):
    with FaultServer(lambda n, h: h.send(200, b'{"id": "x", "choices": [')) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--retries", "0")
    assert done.returncode == 1, done.stdout + done.stderr
    answers = pd.read_csv(tmp_path / "o" / "answers.csv")
    assert answers.error.iloc[0].startswith(CALL_FAILED) and "malformed" in answers.error.iloc[0]
    assert cache_rows(tmp_path / "o") == 0 and srv.n == 1


def test_empty_choices_and_empty_answers_are_never_cached_and_asked_again(tmp_path):
    def script(n, h):
        h.send(
            200,
            ok_body(choices=False) if n == 0 else ok_body(content="" if n == 1 else "like me"),
        )

    with FaultServer(script) as srv:
        first = run_llm(srv.url, tmp_path / "o", "--retries", "0")
        assert first.returncode == 1 and cache_rows(tmp_path / "o") == 0
        assert (
            pd.read_csv(tmp_path / "o" / "answers.csv").error.iloc[0]
            == "the model returned no choices"
        )
        second = run_llm(srv.url, tmp_path / "o", "--retries", "0")
        assert second.returncode == 1 and cache_rows(tmp_path / "o") == 0
        assert (
            pd.read_csv(tmp_path / "o" / "answers.csv").error.iloc[0]
            == "the model returned an empty answer"
        )
        third = run_llm(srv.url, tmp_path / "o", "--retries", "0")
    assert third.returncode == 0, third.stderr
    assert srv.n == 3 and cache_rows(tmp_path / "o") == 1
    assert "(0 from cache, 1 new)" in third.stdout


def test_a_404_echoing_the_key_is_fatal_and_redacted(tmp_path):
    with FaultServer(lambda n, h: h.echo_key(404)) as srv:
        done = run_llm(srv.url, tmp_path / "o", "--retries", "3", "--concurrency", "1", items=3)
    assert done.returncode == 1
    assert "no such route or model" in done.stderr and "[REDACTED]" in done.stderr
    assert srv.n == 1  # not retried; the run stopped
    assert_no_key(done, tmp_path / "o")


def test_concurrent_retries_draw_their_own_jitter():
    """Two prompts fail once at the same moment; their retries must not come in lock step."""
    first_seen: dict[str, list[float]] = {}

    def script(n, h):
        h.send(500 if n < 2 else 200, b'{"error": {"message": "boom"}}' if n < 2 else ok_body())

    with FaultServer(script) as srv:
        be = OpenAIBackend(
            model="m", base_url=srv.url, retries=2, concurrency=2, backoff_base=2.0, timeout=20
        )
        jobs = pd.DataFrame({"prompt": ["first prompt", "second prompt"]})
        out = runner.run(jobs, be, mode="text", progress=False)
    for t, b in zip(srv.times, srv.bodies, strict=True):
        first_seen.setdefault(b["messages"][-1]["content"], []).append(t)
    assert out.parse_ok.all() and srv.n == 4
    (a0, a1), (b0, b1) = first_seen["first prompt"], first_seen["second prompt"]
    assert abs((a1 - a0) - (b1 - b0)) > 0.05  # per-request generators: different waits


# ----------------------------------------------------------------------------- the cache file


def _ok_server():
    return FaultServer(lambda n, h: h.send(200, ok_body()))


def test_a_corrupted_or_foreign_cache_is_a_clear_error(tmp_path):
    garbage = tmp_path / "g" / "cache.sqlite"
    garbage.parent.mkdir()
    garbage.write_bytes(b"this is not a database " * 100)
    foreign = tmp_path / "f" / "cache.sqlite"
    foreign.parent.mkdir()
    with sqlite3.connect(foreign) as con:
        con.execute("create table users (name text)")
    with _ok_server() as srv:
        for path, msg in [
            (garbage, "is not a usable SQLite answer cache"),
            (foreign, "is an SQLite database of something else"),
        ]:
            done = run_llm(srv.url, path.parent)
            assert done.returncode == 2, done.stderr
            assert str(path) in done.stderr and msg in done.stderr and "--cache" in done.stderr
            assert "Traceback" not in done.stderr
        assert srv.n == 0  # refused before any request
    with pytest.raises(CacheError, match="something else"):
        AnswerCache(foreign)


def test_a_tampered_row_is_detected_recomputed_and_said(tmp_path):
    out = tmp_path / "o"
    with _ok_server() as srv:
        assert run_llm(srv.url, out, items=2).returncode == 0
        with sqlite3.connect(out / "cache.sqlite") as con:
            con.execute(
                "update answers set raw_text = 'not like me at all', rating = 1.0 where rowid = 1"
            )
        done = run_llm(srv.url, out, items=2)
    assert done.returncode == 0, done.stderr
    assert (
        "failed their checksum or do not match" in done.stderr
        and str(out / "cache.sqlite") in done.stderr
    )
    assert "(1 from cache, 1 new)" in done.stdout and srv.n == 3
    answers = pd.read_csv(out / "answers.csv")
    assert (answers.raw_text == "like me").all()
    with AnswerCache(out / "cache.sqlite") as c:  # the row was replaced with a valid one
        rows = c.get_many(
            [k for (k,) in sqlite3.connect(out / "cache.sqlite").execute("select key from answers")]
        )
        assert len(rows) == 2 and not c.bad_keys


def test_a_cache_from_before_checksums_still_answers(tmp_path):
    out = tmp_path / "o"
    with _ok_server() as srv:
        assert run_llm(srv.url, out, items=2).returncode == 0
        with sqlite3.connect(out / "cache.sqlite") as con:
            con.execute("alter table answers drop column checksum")
        done = run_llm(srv.url, out, items=2)
    assert done.returncode == 0, done.stderr
    assert "(2 from cache, 0 new)" in done.stdout and srv.n == 2
    assert "checksum" not in done.stderr


# --------------------------------------------------------------------- the other commands over HTTP


def test_svo_and_personas_run_over_http(tmp_path):
    def script(n, h):
        body = srv.bodies[n]
        content = body["messages"][-1]["content"]
        if "Reply with one letter" in content:
            text = "E" if body.get("grammar") == "root ::= [A-I]\n" else "no grammar sent"
        elif "like me" in content:  # a persona item: a phrase that depends on the whole request
            pick = int(hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest(), 16) % 6
            text = PHRASES[pick] if "grammar" in body else "no grammar sent"
        else:
            text = "A person who shares."
        h.send(200, ok_body(text))

    common = [
        "--backend",
        "openai",
        "--model",
        "m",
        "--api-key-env",
        "VP_FAULT_KEY",
        "--concurrency",
        "2",
    ]
    with FaultServer(script, max_requests=200) as srv:
        svo = subprocess.run(
            [
                sys.executable,
                "-m",
                "vp_stats.cli",
                "svo",
                "run",
                "--base-url",
                srv.url,
                *common,
                "--runs",
                "2",
                "--targets",
                "prosocial",
                "--goal",
                "without",
                "--out",
                str(tmp_path / "svo"),
            ],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        n_svo = srv.n
        per = subprocess.run(
            [
                sys.executable,
                "-m",
                "vp_stats.cli",
                "personas",
                "run",
                "--base-url",
                srv.url,
                *common,
                "--grid",
                "notebook",
                "--n-per-value",
                "1",
                "--mode",
                "grammar",
                "--n-boot",
                "0",
                "--out",
                str(tmp_path / "per"),
            ],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert svo.returncode == 0, svo.stderr
    assert n_svo == 2 * 7  # 2 runs x (value step + 6 items)
    runs = pd.read_csv(tmp_path / "svo" / "runs.csv")
    assert (runs.answers == "EEEEEE").all() and runs.seed.tolist() == [0, 1]
    # one letter throughout is position bias: a miss, and the rule is printed and stored
    assert not runs.hit.any() and not runs.rational.any()
    assert pd.read_csv(tmp_path / "svo" / "summary.csv").hit_rate.eq(0).all()
    assert "rule (miss): runs answered with one letter throughout" in svo.stdout
    assert "one letter" in (tmp_path / "svo" / "provenance.json").read_text()
    assert per.returncode == 0, per.stderr
    ans = pd.read_csv(tmp_path / "per" / "answers.csv")
    assert ans.raw_text.isin(PHRASES).all() and ans.parse_ok.all() and srv.n == n_svo + len(ans)
    assert set(ans.model) == {"m"} and ans.persona_id.nunique() == 5  # 4 personas + the plain model
    for d, p in ((tmp_path / "svo", svo), (tmp_path / "per", per)):
        assert_no_key(p, d)


# ----------------------------------------------------------------------------- retry arithmetic


def test_retry_after_seconds_http_date_cap_and_deadline():
    from email.utils import formatdate

    from vp_stats.llm import backends, retry

    class E(Exception):
        def __init__(self, status, headers):
            self.status_code = status
            self.response = type("R", (), {"headers": headers})()

    now = 1_000_000.0
    assert retry.retry_after(E(429, {"retry-after": "3"})) == 3.0
    assert retry.retry_after(
        E(503, {"retry-after": formatdate(now + 10, usegmt=True)}), now=now
    ) == pytest.approx(10, abs=1)
    assert retry.retry_after(E(429, {"retry-after": "3600"})) == retry.RETRY_AFTER_CAP
    assert retry.retry_after(E(500, {"retry-after": "3"})) is None  # only 429/503 carry it
    assert retry.retry_after(E(429, {"retry-after": "soon"})) is None

    waits, clock = [], [0.0]

    def fail():
        raise E(429, {"retry-after": "5"})

    def sleep(s):
        waits.append(s)
        clock[0] += s

    with pytest.raises(backends.DeadlineExceeded, match="deadline"):
        retry.with_retries(
            fail, retries=10, retryable=(E,), sleep=sleep, clock=lambda: clock[0], deadline=12.0
        )
    assert waits == [5.0, 5.0]  # a third wait would end past the deadline: given up at once instead


def test_backend_errors_are_redacted_at_the_source():
    from vp_stats import redact
    from vp_stats.llm import backends

    redact.register(KEY)
    assert KEY not in str(backends.BackendError(f"server said {KEY}"))
    with pytest.raises(ValueError, match="--backend must be local or openai"):
        backends.make_backend("cloud")
    with pytest.raises(ValueError, match="needs --model"):
        backends.make_backend("openai")
