"""Cache errors that say what is true, with real SQLite files: newer schema, read-only, locked,
full disk and corrupted are told apart, and the advice never loses an answer.

Read-only and full disks are real: as root, a read-only or tiny tmpfs is mounted over a test
folder; otherwise the read-only case uses chmod and the full disk SQLite's ``max_page_count``
(which raises the same SQLITE_FULL), which also runs as root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from vp_stats.io.cache import SCHEMA_VERSION, AnswerCache, CacheError, merge_caches


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled(path: Path, n: int = 3) -> Path:
    with AnswerCache(path) as c:
        for i in range(n):
            c.put({"key": f"k{i}", "backend": "b", "model": "m", "raw_text": "like me"})
    with sqlite3.connect(path) as con:  # fold the WAL in: the file alone holds everything
        con.execute("PRAGMA journal_mode=DELETE")
    return path


def _mount_tmpfs(folder: Path, options: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@contextmanager
def read_only(folder: Path):
    """The folder and its files made read-only: a read-only tmpfs as root, chmod otherwise."""
    if os.geteuid() != 0:
        files = [p for p in folder.iterdir() if p.is_file()]
        for p in files:
            p.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
            for p in files:
                p.chmod(0o644)
        return
    keep = folder.with_name(folder.name + ".keep")
    shutil.copytree(folder, keep)
    _mount_tmpfs(folder, "size=16m")
    try:
        for p in keep.iterdir():
            shutil.copy2(p, folder / p.name)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(keep)


# ----------------------------------------------------------------------------- newer schema


def test_a_newer_schema_version_is_refused_and_not_altered(tmp_path):
    path = _filled(tmp_path / "c.sqlite")
    with sqlite3.connect(path) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = _sha(path)
    with pytest.raises(CacheError) as exc:
        AnswerCache(path)
    msg = str(exc.value)
    assert "written by a newer vp-stats" in msg and f"schema version {SCHEMA_VERSION + 1}" in msg
    assert "not changed" in msg and "corrupt" not in msg
    assert _sha(path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["c.sqlite"]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # no WAL switch


def test_unknown_answer_columns_mean_a_newer_schema(tmp_path):
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as con:  # a newer layout: the required columns plus others
        con.execute(
            "create table answers (key text primary key, backend text, model text, params "
            "text, mode text, raw_text text, error text, reasoning_trace text)"
        )
        con.execute("insert into answers (key, backend, model) values ('k', 'b', 'm')")
    before = _sha(path)
    with pytest.raises(CacheError, match="newer vp-stats.*reasoning_trace"):
        AnswerCache(path)
    with sqlite3.connect(path) as con:
        cols = [r[1] for r in con.execute("pragma table_info(answers)")]
    assert len(cols) == 8 and _sha(path) == before  # no column was added


def test_an_older_cache_is_upgraded_and_keeps_its_answers(tmp_path):
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(
            "create table answers (key text primary key, backend text not null, model text not "
            "null, params text, mode text, raw_text text, error text)"
        )
        con.execute("insert into answers (key, backend, model, raw_text) values ('k','b','m','x')")
    with AnswerCache(path) as c:
        assert c.get("k")["raw_text"] == "x" and not c.read_only
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# ----------------------------------------------------------------------------- read-only


def test_a_read_only_cache_is_read_and_never_written(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = _filled(folder / "c.sqlite")
    before = _sha(path)
    with read_only(folder):
        with AnswerCache(path) as c:
            assert c.read_only and c.integrity_ok()
            assert sorted(c.get_many(["k0", "k1", "k2", "nope"])) == ["k0", "k1", "k2"]
            with pytest.raises(CacheError) as exc:
                c.claim("nope")
            msg = str(exc.value)
            assert "read-only" in msg and "nothing was asked" in msg and "--cache" in msg
            assert "corrupt" not in msg and "lost" not in msg
            with pytest.raises(CacheError, match="read-only"):
                c.put({"key": "new", "backend": "b", "model": "m"})
        assert _sha(path) == before
    with pytest.raises(CacheError, match="folder is not writable"):
        with read_only(folder):
            AnswerCache(folder / "new.sqlite")


def test_a_read_only_wal_cache_without_its_shm_file_is_read(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = _filled(folder / "c.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode=WAL")  # WAL mode recorded in the file header
    assert not (folder / "c.sqlite-shm").exists()
    with read_only(folder), AnswerCache(path) as c:
        assert c.read_only and len(c.get_many(["k0", "k1"])) == 2


def test_a_read_only_wal_cache_can_be_merged_from(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = _filled(folder / "c.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode=WAL")
    with read_only(folder):
        reps = merge_caches([path], tmp_path / "all.sqlite")
        with pytest.raises(CacheError, match="read-only.*nothing was merged"):
            merge_caches([tmp_path / "all.sqlite"], path)
    assert reps[0]["n_added"] == 3


pytest.importorskip("openai")
from fault_server import ENV, FaultServer, ok_body  # noqa: E402  (tests/ is on sys.path)


def _run_llm(url, out, cache, items):
    cmd = [sys.executable, "-m", "vp_stats.cli", "run-llm", "--backend", "openai", "--model", "m"]
    cmd += ["--base-url", url, "--mode", "text", "--items", str(items), "--variants", "v1"]
    cmd += ["--retries", "0", "--no-progress", "--out", str(out), "--cache", str(cache)]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=180)


def test_run_llm_reads_a_complete_read_only_cache_and_refuses_before_asking_more(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    cache = folder / "cache.sqlite"
    with FaultServer(lambda n, h: h.send(200, ok_body()), max_requests=10) as srv:
        first = _run_llm(srv.url, tmp_path / "o1", cache, items=2)
        assert first.returncode == 0 and srv.n == 2, first.stderr
        with sqlite3.connect(cache) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _sha(cache)
        with read_only(folder):
            again = _run_llm(srv.url, tmp_path / "o2", cache, items=2)
            assert again.returncode == 0, again.stderr
            assert "(2 from cache, 0 new)" in again.stdout and srv.n == 2
            more = _run_llm(srv.url, tmp_path / "o3", cache, items=3)
            assert more.returncode == 2, more.stdout + more.stderr
            assert "read-only" in more.stderr and "lacks 1 answer(s)" in more.stderr
            assert str(cache) in more.stderr and "Traceback" not in more.stderr
            assert srv.n == 2  # refused before any request
            assert not (tmp_path / "o3" / "answers.csv").exists()
        assert _sha(cache) == before
    a1, a2 = (pd.read_csv(tmp_path / d / "answers.csv") for d in ("o1", "o2"))
    assert a1.raw_text.tolist() == a2.raw_text.tolist() and a2.from_cache.all()


# ----------------------------------------------------------------------------- locked


def test_a_locked_cache_says_locked_not_corrupted(tmp_path):
    path = _filled(tmp_path / "c.sqlite")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CacheError) as exc:
            AnswerCache(path, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    msg = str(exc.value)
    assert "is locked" in msg and "answers are intact" in msg and "corrupt" not in msg
    with AnswerCache(path) as c:
        assert c.count() == 3


# ----------------------------------------------------------------------------- full disk


def _fill_until_full(c: AnswerCache) -> tuple[int, CacheError]:
    for i in range(100_000):
        try:
            c.put({"key": f"big{i}", "backend": "b", "model": "m", "raw_text": "x" * 4000})
        except CacheError as exc:
            return i, exc
    raise AssertionError("the disk never filled")


def _assert_full_message(exc: CacheError, path: Path):
    msg = str(exc)
    assert str(path) in msg and "is full" in msg and "every answer stored so far is kept" in msg
    assert "corrupt" not in msg and "lost" not in msg and "move it away" not in msg


def test_a_full_disk_via_max_page_count_keeps_every_stored_answer(tmp_path):
    path = _filled(tmp_path / "c.sqlite")
    with AnswerCache(path) as c:
        c._conn.execute("PRAGMA max_page_count = 60")  # SQLITE_FULL, as on a full disk
        n, exc = _fill_until_full(c)
    _assert_full_message(exc, path)
    with AnswerCache(path) as c:
        assert c.integrity_ok() and c.count() == 3 + n


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_a_really_full_disk_keeps_every_stored_answer(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    _mount_tmpfs(folder, "size=256k")
    try:
        path = _filled(folder / "c.sqlite")
        with AnswerCache(path) as c:
            n, exc = _fill_until_full(c)
        _assert_full_message(exc, path)
        assert n > 0
        (folder / "ballast").unlink(missing_ok=True)
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as con:
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert con.execute("select count(*) from answers").fetchone()[0] == 3 + n
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# ----------------------------------------------------------------------------- corrupted


def test_a_corrupted_file_is_called_corrupted_with_advice_that_keeps_it(tmp_path):
    path = _filled(tmp_path / "c.sqlite", n=200)
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 3] = b"\xff" * (4096 * 2)  # smash pages after the header
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError) as exc:
        with AnswerCache(path) as c:
            c.get_many([f"k{i}" for i in range(200)])
    msg = str(exc.value)
    assert "corrupted" in msg and ".recover" in msg and "Keep it" in msg and "lost" not in msg


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_run_llm_on_a_full_disk_says_full_and_keeps_the_answers(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    _mount_tmpfs(folder, "size=512k")
    try:
        cache = folder / "cache.sqlite"
        with FaultServer(
            lambda n, h: h.send(200, ok_body("like me " * 200)), max_requests=30
        ) as srv:
            first = _run_llm(srv.url, tmp_path / "o1", cache, items=1)
            assert first.returncode == 0, first.stderr
            fd = os.open(folder / "ballast", os.O_WRONLY | os.O_CREAT)
            try:  # fill the disk to the last byte
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass
            finally:
                os.close(fd)
            done = _run_llm(srv.url, tmp_path / "o2", cache, items=20)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "is full" in done.stderr and str(cache) in done.stderr, done.stderr
        assert "every answer stored so far is kept" in done.stderr
        assert "corrupt" not in done.stderr and "Traceback" not in done.stderr
        (folder / "ballast").unlink()
        with AnswerCache(cache) as c:
            assert c.integrity_ok() and c.count() >= 1
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
