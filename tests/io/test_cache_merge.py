"""`vp-stats cache merge`: caches written by real runs (a scripted HTTP endpoint on 127.0.0.1)
combined into one.

Two "workers" answer overlapping prompt sets through the same endpoint (so their request keys
agree); one of them got a different answer for one prompt (a conflict), and a row is tampered
with. The merged cache must answer a third run completely, without a request.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fault_server import ENV, FaultServer, ok_body  # tests/ is on sys.path (conftest)

from vp_stats.io.cache import AnswerCache, CacheError, merge_caches
from vp_stats.llm import runner
from vp_stats.llm.openai_backend import OpenAIBackend

pytest.importorskip("openai")

PROMPTS = [f"prompt {i}" for i in range(5)]


class Endpoint:
    """One endpoint for every worker; ``answers`` overrides the answer of a prompt (default 'like
    me')."""

    def __init__(self):
        self.answers: dict[str, str] = {}
        self.srv = FaultServer(self._script, max_requests=40)

    def _script(self, n, h):
        prompt = self.srv.bodies[n]["messages"][-1]["content"]
        h.send(200, ok_body(self.answers.get(prompt, "like me")))

    def run(self, prompts, cache):
        be = OpenAIBackend(model="m", base_url=self.srv.url, retries=0, concurrency=1, timeout=20)
        with AnswerCache(cache) as opened:
            return runner.run(
                pd.DataFrame({"prompt": prompts}), be, mode="text", cache=opened, progress=False
            )


@pytest.fixture()
def endpoint():
    ep = Endpoint()
    with ep.srv:
        yield ep


def keys(path) -> dict[str, str]:
    with sqlite3.connect(path) as con:
        return dict(con.execute("select key, raw_text from answers"))


def merge_cli(*args):
    cmd = [sys.executable, "-m", "vp_stats.cli", "cache", "merge", *map(str, args)]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)


def test_disjoint_overlapping_conflicting_and_tampered_rows(endpoint, tmp_path):
    a, b, dest = (
        tmp_path / "a" / "cache.sqlite",
        tmp_path / "b" / "cache.sqlite",
        tmp_path / "all.sqlite",
    )
    endpoint.run(PROMPTS[:3], a)  # worker A: prompts 0, 1, 2
    endpoint.answers["prompt 1"] = "not like me"  # worker B got another answer for prompt 1
    endpoint.run(PROMPTS[1:], b)  # worker B: prompts 1 (conflict), 2 (identical), 3, 4 (new)
    assert endpoint.srv.n == 7
    with sqlite3.connect(b) as con:  # tamper with B's row of prompt 4
        con.execute(
            "update answers set raw_text = 'very much like me' where raw_text = 'like me' and "
            "rowid = "
            "(select max(rowid) from answers)"
        )
    ka, kb = keys(a), keys(b)
    assert len(ka) == 3 and len(kb) == 4 and len(set(ka) & set(kb)) == 2

    done = merge_cli(a, b, "--into", dest)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"{a}: 3 rows: 3 added, 0 identical, 0 conflicting (destination's row kept), 0 failed"
        in done.stdout
    )
    assert (
        f"{b}: 4 rows: 1 added, 1 identical, 1 conflicting (destination's row kept), 1 failed "
        "their checksum (skipped)" in done.stdout
    )
    assert (
        "differs in raw_text, rating" in done.stdout and "kept the destination's row" in done.stdout
    )
    assert f"wrote {dest} (4 rows)" in done.stdout
    merged = keys(dest)
    assert len(merged) == 4 and set(ka) <= set(merged)
    assert "not like me" not in merged.values() and "very much like me" not in merged.values()
    assert not list(tmp_path.glob(".all.sqlite.*"))  # no temporary file left
    with AnswerCache(dest) as c:  # every merged row passes its checksum
        assert len(c.get_many(list(merged))) == 4 and not c.bad_keys

    n = endpoint.srv.n
    out = endpoint.run(PROMPTS[:4], dest)  # the merged cache answers prompts 0-3 without a request
    assert endpoint.srv.n == n and runner.run_counts(out)["n_cached"] == 4
    assert (out.raw_text == "like me").all()  # prompt 1: worker A's answer, the first merged


def test_merging_again_is_idempotent_and_updates_an_existing_destination_in_place(
    endpoint, tmp_path
):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    endpoint.run(PROMPTS[:2], a)
    endpoint.run(PROMPTS[2:4], b)
    dest = tmp_path / "dest.sqlite"
    endpoint.run(PROMPTS[4:], dest)  # an existing destination with its own row
    first = merge_caches([a, b], dest)
    assert [(r["n_added"], r["n_identical"]) for r in first] == [(2, 0), (2, 0)]
    again = merge_caches([a, b], dest)
    assert [(r["n_added"], r["n_identical"], r["n_conflicts"]) for r in again] == [
        (0, 2, 0),
        (0, 2, 0),
    ]
    assert len(keys(dest)) == 5


def test_a_foreign_corrupted_or_missing_source_is_a_clear_error_and_nothing_is_written(
    endpoint, tmp_path
):
    good, dest = tmp_path / "good.sqlite", tmp_path / "dest.sqlite"
    endpoint.run(PROMPTS[:2], good)
    endpoint.run(PROMPTS[2:3], dest)
    before = keys(dest)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("create table users (name text)")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database " * 100)
    for bad, msg in [
        (foreign, "is an SQLite database of something else"),
        (garbage, "is not a usable SQLite answer cache"),
        (tmp_path / "nope.sqlite", "no such file"),
    ]:
        for into in (dest, tmp_path / "new.sqlite"):
            done = merge_cli(good, bad, "--into", into)
            assert done.returncode == 2, done.stdout + done.stderr
            assert str(bad) in done.stderr and msg in done.stderr and "Traceback" not in done.stderr
        assert keys(dest) == before  # the good source was not merged either
        assert not (tmp_path / "new.sqlite").exists()
    assert not (tmp_path / "nope.sqlite").exists()  # a missing source is not created
    with sqlite3.connect(foreign) as con:  # a source is opened read-only: never migrated
        assert [r[0] for r in con.execute("select name from sqlite_master")] == ["users"]
    with pytest.raises(CacheError, match="both a source and the destination"):
        merge_caches([good, dest], dest)
    with pytest.raises(CacheError, match="something else"):
        merge_caches([good], foreign)  # a foreign destination


def test_old_rows_get_a_checksum_and_a_bad_destination_row_is_repaired(endpoint, tmp_path):
    old, dest = tmp_path / "old.sqlite", tmp_path / "dest.sqlite"
    endpoint.run(PROMPTS[:2], old)
    endpoint.run(PROMPTS[:2], dest)
    with sqlite3.connect(old) as con:  # a cache from before checksums
        con.execute("alter table answers drop column checksum")
    with sqlite3.connect(dest) as con:  # a corrupted destination row
        con.execute("update answers set raw_text = 'edited' where rowid = 1")
    (rep,) = merge_caches([old], dest)
    assert (rep["n_rows"], rep["n_repaired"], rep["n_identical"], rep["n_bad_checksum"]) == (
        2,
        1,
        1,
        0,
    )
    with AnswerCache(dest) as c:
        rows = c.get_many(list(keys(dest)))
        assert (
            len(rows) == 2
            and not c.bad_keys
            and {r["raw_text"] for r in rows.values()} == {"like me"}
        )


def test_merge_needs_sources_and_the_cli_names_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least one source"):
        merge_caches([], tmp_path / "d.sqlite")
    done = merge_cli("--into", tmp_path / "d.sqlite")
    assert done.returncode == 2 and "Missing argument" in done.stderr and "SOURCE" in done.stderr
    assert Path(tmp_path / "d.sqlite").exists() is False
