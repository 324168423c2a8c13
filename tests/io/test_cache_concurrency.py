"""Runs sharing one cache do not repeat each other's requests (the claims table), and a killed
``cache merge`` leaves no temporary file behind once the next merge starts."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from vp_stats.io.cache import AnswerCache, sweep_temporaries

pytest.importorskip("openai")
from fault_server import ENV, FaultServer, ok_body  # noqa: E402  (tests/ is on sys.path)


def _run_llm(url, out, cache, items, concurrency=2):
    cmd = [sys.executable, "-m", "vp_stats.cli", "run-llm", "--backend", "openai", "--model", "m"]
    cmd += ["--base-url", url, "--mode", "text", "--items", str(items), "--variants", "v1"]
    cmd += ["--retries", "0", "--concurrency", str(concurrency), "--no-progress"]
    cmd += ["--out", str(out), "--cache", str(cache)]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_runs_on_one_cache_ask_each_request_once(tmp_path):
    def slow(n, h):
        time.sleep(0.4)  # both runs are in flight at the same time
        h.send(200, ok_body())

    cache = tmp_path / "shared.sqlite"
    with FaultServer(slow, max_requests=40, max_seconds=120) as srv:
        a = _run_llm(srv.url, tmp_path / "a", cache, items=8)
        b = _run_llm(srv.url, tmp_path / "b", cache, items=8)
        (_, err_a), (_, err_b) = a.communicate(timeout=180), b.communicate(timeout=180)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    t_first = min(srv.times)
    assert srv.n == 8, f"{srv.n} requests for 8 distinct prompts"  # each asked once, not twice
    assert max(srv.times) - t_first < 8 * 0.4  # and the two runs shared the work
    ta, tb = (pd.read_csv(tmp_path / d / "answers.csv") for d in ("a", "b"))
    assert len(ta) == len(tb) == 8 and ta.parse_ok.all() and tb.parse_ok.all()
    with sqlite3.connect(cache) as con:
        assert con.execute("select count(*) from answers").fetchone()[0] == 8
        assert con.execute("select count(*) from claims").fetchone()[0] == 0  # all released


def test_a_claim_waits_for_the_other_runs_answer(tmp_path):
    path = tmp_path / "c.sqlite"
    first, second = AnswerCache(path), AnswerCache(path)
    assert first.claim("k") is None  # the first run asks k

    def answer_later():
        time.sleep(0.5)
        first.put({"key": "k", "backend": "b", "model": "m", "raw_text": "like me"})

    t = threading.Thread(target=answer_later)
    t0 = time.monotonic()
    t.start()
    got = second.claim("k")  # the second run waits for that answer instead of asking
    t.join()
    assert got["raw_text"] == "like me" and time.monotonic() - t0 >= 0.4
    first.close()
    second.close()


def test_a_dead_runs_claim_is_taken_over_and_a_released_one_too(tmp_path):
    path = tmp_path / "c.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    with AnswerCache(path) as c:
        host = c.owner.split(":")[0]
        c._conn.execute(
            "insert into claims values ('k', ?, ?, ?, ?)",
            [f"{host}:{dead}:x", host, int(dead), time.time()],
        )
        t0 = time.monotonic()
        assert c.claim("k") is None and time.monotonic() - t0 < 1
        c.release("k")
        with AnswerCache(path) as other:
            assert other.claim("k") is None


# ----------------------------------------------------------------------------- stale merge files


def _big_source(path: Path, n: int) -> Path:
    with AnswerCache(path) as c:
        c._conn.execute("BEGIN")
        c._conn.executemany(
            "insert into answers (key, backend, model, raw_text) values (?, 'b', 'm', ?)",
            [(f"k{i:07d}", "like me " * 40) for i in range(n)],
        )
        c._conn.execute("COMMIT")
    return path


def test_kill_9_during_merge_leaves_a_temporary_the_next_merge_removes(tmp_path):
    src = _big_source(tmp_path / "src.sqlite", 60_000)
    dest = tmp_path / "out" / "all.sqlite"
    dest.parent.mkdir()
    cmd = [sys.executable, "-m", "vp_stats.cli", "cache", "merge", str(src), "--into", str(dest)]
    proc = subprocess.Popen(
        cmd, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(dest.parent.glob(".all.sqlite.*.tmp*")):
        time.sleep(0.02)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stranded = list(dest.parent.glob(".all.sqlite.*.tmp*"))
    assert stranded and not dest.exists(), "the merge should have been killed mid-way"
    small = _big_source(tmp_path / "small.sqlite", 3)
    done = subprocess.run(
        [*cmd[:5], str(small), "--into", str(dest)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dest.parent.iterdir()) == ["all.sqlite"]


def test_sweep_keeps_a_live_merges_temporary(tmp_path):
    live = tmp_path / f".all.sqlite.{os.getppid()}.ab.tmp"  # a running process's file
    old = tmp_path / ".all.sqlite.x1y2.tmp"  # earlier naming, no process id
    for p in (live, old):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert sweep_temporaries(tmp_path / "all.sqlite") == [old]
    assert live.exists()
