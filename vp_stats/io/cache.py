"""SQLite answer cache: every finished LLM answer is written at once and never asked again.

The file behind :mod:`vp_stats.llm`'s cache protocol (keys and rows:
:mod:`vp_stats.llm.keys`): studies open it and pass the object to the runner.

One row per request key: a hash of (backend, model, model file hash or name,
decoding parameters, answer mode, full prompt text including the system
prompt). Each answer is committed in its own transaction, in WAL journal mode,
so a run killed at any point (even ``kill -9``) loses at most the answers that
were still being generated, and a restarted run finds every finished one.
Rows are inserted with ``INSERT OR IGNORE``: when two runs share a cache the
first answer for a key wins and neither corrupts the file (SQLite's locking,
with a busy timeout).

Every row carries a ``checksum`` (sha256 of its stored fields, computed from the row
as read back inside the inserting transaction). :meth:`AnswerCache.get_many` drops a
row whose checksum does not match (a corrupted or hand-edited row) and lists it in

:attr:`AnswerCache.bad_keys`; callers recompute it (:mod:`vp_stats.llm.calls` says so
and replaces the row). Rows written before checksums existed (no ``checksum``) are
read as they are; opening an older cache adds the column (nothing else changes, keys
are the same). A file that is not an SQLite database, a corrupted one, or another
program's database raises :class:`CacheError` naming the file and what to do.

Secrets never enter the cache: the request key and stored parameters are built
from non-secret fields only, and :meth:`AnswerCache.put` refuses (raises) a row
in which any registered secret value occurs.

Examples
--------
>>> import tempfile, os
>>> from vp_stats.llm.keys import request_key
>>> path = os.path.join(tempfile.mkdtemp(), "answers.sqlite")
>>> cache = AnswerCache(path)
>>> key = request_key({"backend": "local", "model": "m"}, {"temperature": 0}, "text", "prompt")
>>> cache.get(key) is None
True
>>> cache.put({"key": key, "backend": "local", "model": "m", "raw_text": "like me", "rating": 5.0})
True
>>> cache.get(key)["raw_text"]
'like me'
>>> cache.put({"key": key, "backend": "local", "model": "m", "raw_text": "other", "rating": 1.0})
False
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from vp_stats.llm.keys import COLUMNS, row_checksum, stored_row

__all__ = [
    "REQUIRED",
    "CacheError",
    "AnswerCache",
    "NON_PAYLOAD",
    "MergeReport",
    "merge_caches",
    "open_cache",
]

#: Columns every answer cache has had since the first version (a table without them is foreign).
REQUIRED = ("key", "backend", "model", "params", "mode", "raw_text", "error")


class CacheError(ValueError):
    """The cache file cannot be used (not SQLite, corrupted, or another program's database)."""


class AnswerCache:
    """A SQLite file of answers (see the module docstring).

    Parameters
    ----------
    path : path-like
        The database file; created with its folder when absent.
    secrets : iterable of str
        Values that must never be stored (e.g. API keys); checked on every put.
    timeout : float
        Seconds to wait for a lock held by another run.
    """

    def __init__(self, path: str | os.PathLike, secrets=(), timeout: float = 60.0):
        self.path = Path(path)
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        #: Keys whose stored row failed its checksum (see :meth:`get_many`).
        self.bad_keys: set[str] = set()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise CacheError(
                    f"cache {self.path} is a folder; pass a file (e.g. "
                    f"{self.path / 'cache.sqlite'})"
                )
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            tables = [
                r[0]
                for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            if "answers" not in tables and tables:
                raise CacheError(
                    f"cache {self.path} is an SQLite database of something else (tables: "
                    f"{', '.join(sorted(tables)[:5])}), "
                    "not a vp-stats answer cache; pass another --cache file or move this one away"
                )
            cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS answers ({cols})")
            have = [r[1] for r in self._conn.execute("PRAGMA table_info(answers)")]
            lacking = [c for c in REQUIRED if c not in have]
            if lacking:
                raise CacheError(
                    f"cache {self.path} has an 'answers' table without the column(s) "
                    f"{', '.join(lacking)}: it is not a "
                    "vp-stats answer cache; pass another --cache file or move this one away"
                )
            for (
                name,
                decl,
            ) in COLUMNS.items():  # migration: older caches lack newer columns (e.g. checksum)
                if name not in have:
                    try:
                        self._conn.execute(
                            f"ALTER TABLE answers ADD COLUMN {name} "
                            f"{decl.replace('PRIMARY KEY', '')}"
                        )
                    except sqlite3.OperationalError as exc:  # another run added it first
                        if "duplicate column" not in str(exc):
                            raise
            self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise self._error(exc) from None
        except CacheError:
            self._close_quietly()
            raise

    def _close_quietly(self):
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover
                pass

    def _error(self, exc: sqlite3.DatabaseError) -> CacheError:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            return CacheError(
                f"cache {self.path} is locked by another run ({msg}); wait for it or pass another "
                "--cache"
            )
        return CacheError(
            f"cache {self.path} is not a usable SQLite answer cache ({msg}): it is corrupted or "
            "not a cache file; "
            "move it away (its answers are lost and will be recomputed) or pass another --cache "
            "file"
        )

    def add_secret(self, value: str | None) -> None:
        """Register one more value that must never be stored."""
        if value:
            self._secrets.append(value)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, key: str) -> dict | None:
        """The stored row of a key, or None."""
        got = self.get_many([key])
        return got.get(key)

    def get_many(self, keys) -> dict[str, dict]:
        """Stored rows of many keys: ``{key: row}`` (absent keys omitted).

        A row whose checksum does not match its fields is left out and its key added
        to :attr:`bad_keys` (rows without a checksum, from older versions, are kept).
        """
        keys = list(keys)
        out: dict[str, dict] = {}
        names = list(COLUMNS)
        try:
            with self._lock:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ", ".join("?" * len(chunk))
                    q = f"SELECT {', '.join(names)} FROM answers WHERE key IN ({marks})"
                    for row in self._conn.execute(q, chunk):
                        rec = dict(zip(names, row, strict=True))
                        if rec["checksum"] is not None and rec["checksum"] != row_checksum(rec):
                            self.bad_keys.add(rec["key"])
                            continue
                        out[rec["key"]] = rec
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        return out

    def put(self, row: dict, replace: bool = False) -> bool:
        """Insert one answer in its own transaction; False if the key was already there.

        ``replace`` overwrites a stored row (used for rows that failed their checksum).
        The checksum is computed from the row as stored, in the same transaction.
        """
        row = stored_row(row, self._secrets)
        names = list(row)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        q = f"{verb} INTO answers ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        cols = [c for c in COLUMNS]
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    cur = self._conn.execute(q, [row[n] for n in names])
                    inserted = cur.rowcount == 1
                    if inserted:
                        stored = self._conn.execute(
                            f"SELECT {', '.join(cols)} FROM answers WHERE key = ?", [row["key"]]
                        )
                        rec = dict(zip(cols, stored.fetchone(), strict=True))
                        self._conn.execute(
                            "UPDATE answers SET checksum = ? WHERE key = ?",
                            [row_checksum(rec), row["key"]],
                        )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        if inserted:
            self.bad_keys.discard(row["key"])
        return inserted

    def count(self) -> int:
        """Number of stored answers."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --------------------------------------------------------------------------- merging caches

#: Columns that describe how an answer was obtained, not what it is: ignored when two rows are
#: compared.
NON_PAYLOAD = ("created_at", "latency_s", "checksum")


class MergeReport(dict):
    """What :func:`merge_caches` did with one source: a dict of counts plus ``conflicts``.

    Keys: ``source``, ``n_rows``, ``n_added``, ``n_identical``, ``n_conflicts`` (destination's
    row kept), ``n_repaired`` (the destination's row failed its checksum and was replaced),
    ``n_bad_checksum`` (source rows skipped) and ``conflicts``: up to 20
    ``(key, [differing fields])`` pairs.
    """


def _open_source(path: str | os.PathLike) -> tuple[sqlite3.Connection, list[str]]:
    """A read-only connection to a source cache and its answer columns (CacheError naming the
    file)."""
    p = Path(path)
    if not p.is_file():
        raise CacheError(
            f"cache {p}: no such file" if not p.exists() else f"cache {p} is not a file"
        )
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=60.0)
    except sqlite3.Error as exc:
        raise CacheError(f"cache {p} cannot be opened ({exc})") from None
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if "answers" not in tables:
            what = (
                f"an SQLite database of something else (tables: {', '.join(sorted(tables)[:5])})"
                if tables
                else "an empty SQLite database"
            )
            raise CacheError(
                f"cache {p} is {what}, not a vp-stats answer cache; nothing was merged"
            )
        have = [r[1] for r in conn.execute("PRAGMA table_info(answers)")]
        lacking = [c for c in REQUIRED if c not in have]
        if lacking:
            raise CacheError(
                f"cache {p} has an 'answers' table without the column(s) {', '.join(lacking)}: it "
                "is not a "
                "vp-stats answer cache; nothing was merged"
            )
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise CacheError(
                f"cache {p} is corrupted (SQLite quick_check failed); nothing was merged"
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CacheError(
            f"cache {p} is not a usable SQLite answer cache ({exc}): it is corrupted or not a "
            "cache "
            "file; nothing was merged"
        ) from None
    except CacheError:
        conn.close()
        raise
    return conn, [c for c in COLUMNS if c in have]


def _differing(a: dict, b: dict) -> list[str]:
    return [c for c in COLUMNS if c not in NON_PAYLOAD and a.get(c) != b.get(c)]


def _merge_into(dest: AnswerCache, sources) -> list[MergeReport]:
    """Merge every source into an open cache in one transaction (rolled back on any error)."""
    conns = [
        (Path(s), *_open_source(s)) for s in sources
    ]  # every source is checked before anything is written
    names = list(COLUMNS)
    reports: list[MergeReport] = []
    marks = ", ".join("?" * len(names))
    insert = f"INSERT OR REPLACE INTO answers ({', '.join(names)}) VALUES ({marks})"
    try:
        with dest._lock:
            dest._conn.execute("BEGIN IMMEDIATE")
            try:
                for path, conn, cols in conns:
                    rep = MergeReport(
                        source=str(path),
                        n_rows=0,
                        n_added=0,
                        n_identical=0,
                        n_conflicts=0,
                        n_repaired=0,
                        n_bad_checksum=0,
                        conflicts=[],
                    )
                    try:
                        rows = conn.execute(f"SELECT {', '.join(cols)} FROM answers ORDER BY key")
                        for values in rows:
                            rec = {c: None for c in names} | dict(zip(cols, values, strict=True))
                            rep["n_rows"] += 1
                            if rec["checksum"] is not None and rec["checksum"] != row_checksum(rec):
                                rep["n_bad_checksum"] += 1
                                continue
                            rec["checksum"] = row_checksum(
                                rec
                            )  # rows from before checksums get one
                            stored = dest._conn.execute(
                                f"SELECT {', '.join(names)} FROM answers WHERE key = ?",
                                [rec["key"]],
                            ).fetchone()
                            if stored is None:
                                rep["n_added"] += 1
                            else:
                                old = dict(zip(names, stored, strict=True))
                                if old["checksum"] is not None and old["checksum"] != row_checksum(
                                    old
                                ):
                                    rep["n_repaired"] += 1
                                else:
                                    diff = _differing(old, rec)
                                    if diff:
                                        rep["n_conflicts"] += 1
                                        if len(rep["conflicts"]) < 20:
                                            rep["conflicts"].append((rec["key"], diff))
                                    else:
                                        rep["n_identical"] += 1
                                    continue
                            dest._conn.execute(insert, [rec[n] for n in names])
                    except sqlite3.DatabaseError as exc:
                        raise CacheError(
                            f"cache {path} could not be read to the end ({exc}): it is corrupted; "
                            "nothing was merged"
                        ) from None
                    reports.append(rep)
                dest._conn.execute("COMMIT")
            except BaseException:
                dest._conn.execute("ROLLBACK")
                raise
    except sqlite3.DatabaseError as exc:
        raise dest._error(exc) from None
    finally:
        for _, conn, _ in conns:
            conn.close()
    return reports


def merge_caches(sources, dest: str | os.PathLike) -> list[MergeReport]:
    """Combine answer caches (from several machines or workers) into ``dest``, atomically.

    Rows are matched by request key. A key new to ``dest`` is added; a row equal to
    the stored one (every field but :data:`NON_PAYLOAD`, i.e. timing) is skipped
    silently; a row that differs is a *conflict*: reported, and the destination's row
    (the first one merged) is kept. A source row failing its checksum is skipped and
    counted; a destination row failing its checksum is replaced by a valid source row
    (``n_repaired``). Rows from before checksums are merged and get one.

    Every source is opened read-only and checked first: a missing, foreign or
    corrupted file raises :class:`CacheError` naming it, and nothing is written.
    An existing ``dest`` is updated in one transaction (all or nothing; runs may keep
    reading it); a new ``dest`` is built under a temporary name and renamed into place.

    Parameters
    ----------
    sources : sequence of path-like
        The caches to merge, in order (the first row seen for a key wins).
    dest : path-like
        The destination cache (created when absent).

    Returns
    -------
    list of MergeReport
        One per source, in order.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for name, text in [("a", "like me"), ("b", "not like me")]:
    ...     with AnswerCache(os.path.join(d, name + ".sqlite")) as c:
    ...         _ = c.put({"key": "k1", "backend": "local", "model": "m", "raw_text": text})
    ...         _ = c.put({"key": "k-" + name, "backend": "local", "model": "m", "raw_text": text})
    >>> sources = [os.path.join(d, "a.sqlite"), os.path.join(d, "b.sqlite")]
    >>> reps = merge_caches(sources, os.path.join(d, "all.sqlite"))
    >>> [(r["n_added"], r["n_conflicts"]) for r in reps], reps[1]["conflicts"]
    ([(2, 0), (1, 1)], [('k1', ['raw_text'])])
    >>> AnswerCache(os.path.join(d, "all.sqlite")).get("k1")["raw_text"]
    'like me'
    """
    sources = [Path(s) for s in sources]
    dest = Path(dest)
    if not sources:
        raise ValueError("merge needs at least one source cache")
    for s in sources:
        if s.exists() and dest.exists() and s.resolve() == dest.resolve():
            raise CacheError(
                f"cache {s} is both a source and the destination; merge into another file"
            )
    for s in sources:  # fail on a bad source before the destination is touched or created
        _open_source(s)[0].close()
    if dest.exists():
        with AnswerCache(dest) as cache:
            return _merge_into(cache, sources)
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    os.unlink(tmp)  # SQLite creates it
    try:
        cache = AnswerCache(tmp)
        try:
            reports = _merge_into(cache, sources)
            cache._conn.execute(
                "PRAGMA journal_mode=DELETE"
            )  # fold the WAL in: one self-contained file
        finally:
            cache.close()
        os.replace(tmp, dest)
    except BaseException:
        for p in (tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"):
            try:
                os.unlink(p)
            except OSError:
                pass
        raise
    return reports


@contextmanager
def open_cache(cache):
    """The cache object for ``cache``: None (in memory), an open cache, or a file path to open.

    A file opened here is closed when the block ends; an object passed in is left open.

    Examples
    --------
    >>> import tempfile, os
    >>> with open_cache(os.path.join(tempfile.mkdtemp(), "c.sqlite")) as c:
    ...     c.count()
    0
    >>> with open_cache(None) as c:
    ...     c is None
    True
    """
    if cache is None or hasattr(cache, "get_many"):
        yield cache
        return
    with AnswerCache(cache) as opened:
        yield opened
