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
read as they are; opening an older cache adds the column and the ``claims`` table and sets
``PRAGMA user_version`` to :data:`SCHEMA_VERSION` (keys are the same).

Every failure is a :class:`CacheError` naming the file, saying what is true and how to go on
without losing answers: another program's database; a newer schema (refused, never altered:
no column added, no journal switch); read-only (file, folder or file system: the cache is
read, and a run that needs answers it lacks is refused before any request); locked; full disk
(what is stored is kept); corrupted (SQLite cannot read it: ``.recover`` may save answers).

Two runs sharing one cache do not repeat each other's requests: a run claims a key before
asking it (:meth:`AnswerCache.claim`, the ``claims`` table) and a second run needing that key
waits for the answer.

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
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from vp_stats.llm.keys import COLUMNS, row_checksum, stored_row

__all__ = [
    "REQUIRED",
    "SCHEMA_VERSION",
    "CacheError",
    "AnswerCache",
    "NON_PAYLOAD",
    "MergeReport",
    "merge_caches",
    "open_cache",
    "sweep_temporaries",
]

#: Columns every answer cache has had since the first version (a table without them is foreign).
REQUIRED = ("key", "backend", "model", "params", "mode", "raw_text", "error")

#: The cache layout this code writes (``PRAGMA user_version``): 0 = answers only (earlier
#: versions), 1 = answers with checksums plus the ``claims`` table of concurrent runs. A file
#: with a higher version, or with answer columns this code does not know, was written by a newer
#: vp-stats: it is refused and never altered.
SCHEMA_VERSION = 1

#: Seconds after which another run's claim on a request is considered abandoned (its process is
#: checked first when it ran on this machine).
CLAIM_TTL = 600.0

_CLAIMS = (
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "host TEXT, pid INTEGER, claimed_at REAL NOT NULL)"
)


class CacheError(ValueError):
    """The cache file cannot be used; the message says why and how to go on without losing
    answers."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _temporaries(dest: Path):
    return sorted(dest.parent.glob(f".{dest.name}.*.tmp*"))


def sweep_temporaries(dest: str | os.PathLike, min_age: float = 600.0) -> list[Path]:
    """Remove what a killed ``cache merge`` into ``dest`` left behind; the paths removed.

    A merge into a new file builds ``.<name>.<pid>.<random>.tmp`` (with its ``-wal`` / ``-shm``
    files) beside ``dest`` and renames it into place; ``kill -9`` strands it. A temporary whose
    process no longer runs on this machine is removed; one without a process id in its name
    (earlier versions) when it has not changed for ``min_age`` seconds.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / ".all.sqlite.999999999.ab12.tmp").write_bytes(b"x")
    >>> [p.name for p in sweep_temporaries(d / "all.sqlite")]
    ['.all.sqlite.999999999.ab12.tmp']
    """
    dest = Path(dest)
    removed = []
    now = time.time()
    for p in _temporaries(dest):
        middle = p.name[len(dest.name) + 2 :].split(".")
        pid = int(middle[0]) if middle and middle[0].isdigit() else None
        try:
            stale = not _pid_alive(pid) if pid is not None else now - p.stat().st_mtime > min_age
            if stale and pid != os.getpid():
                p.unlink()
                removed.append(p)
        except OSError:  # already gone, or not ours to remove: left alone
            continue
    return removed


def _writable(path: Path) -> bool:
    """Whether SQLite can write ``path``: the file (when present) and its folder (journal, WAL)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def _explain(path: Path, exc: sqlite3.DatabaseError) -> str:
    """What SQLite's error means for the cache file ``path``, and how to go on (one line)."""
    msg = str(exc)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_IOERR"):  # a full disk often surfaces as an I/O error (WAL, shm)
        try:
            if shutil.disk_usage(path.parent if str(path.parent) else ".").free < (1 << 20):
                name, msg = "SQLITE_FULL", f"{msg}; no space left on the disk"
        except OSError:
            pass
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in msg or "busy" in msg:
        return (
            f"cache {path} is locked by another program or run ({msg}); its answers "
            "are intact: wait for it to finish and rerun, or pass another --cache"
        )
    if name == "SQLITE_FULL" or "disk is full" in msg or "No space left" in msg:
        return (
            f"the disk holding cache {path} is full ({msg}); every answer stored so "
            "far is kept (the unfinished write was rolled back). Free space, or move the "
            "cache (with its -wal file) to a disk with room and pass it with --cache, then "
            "rerun the same command to resume"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in msg:
        return (
            f"cache {path} cannot be written ({msg}: read-only file, folder or file "
            "system); its answers are intact. Make the file and its folder writable, or "
            f"copy it to a writable place (cp {path} answers.sqlite) and pass the "
            "copy with --cache"
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in msg:
        return (
            f"cache {path} cannot be opened ({msg}): check that its folder exists and "
            "that you may read and write it, or pass another --cache"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in msg:
        return (
            f"cache {path}: the disk reported an I/O error ({msg}); the answers stored "
            "so far are kept. Check the disk (or its free space) and rerun the same command"
        )
    if (
        name in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
        or "malformed" in msg
        or ("not a database" in msg)
    ):
        return (
            f"cache {path} is not a usable SQLite answer cache ({msg}): it is corrupted "
            "or not a cache file (SQLite cannot read it). Keep it: `sqlite3 "
            f"{path} .recover | sqlite3 recovered.sqlite` may save its answers; pass "
            "another --cache file to go on"
        )
    return (
        f"cache {path}: SQLite error ({msg}); its answers are intact as far as SQLite "
        "knows. Rerun, or pass another --cache file"
    )


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

    Notes
    -----
    **Read-only caches.** A cache whose file, folder or file system cannot be written is opened
    read-only (``read_only`` is True) and never changed: its answers are read, and a run that
    needs an answer it lacks is refused before any request (:meth:`refusal`) with how to go on.

    **Concurrent runs.** Before a request, a run claims its key (:meth:`claim`); another run
    that needs the same key waits for that answer instead of asking again. A claim dies with its
    process (checked on this machine) or after :data:`CLAIM_TTL` seconds.

    **Errors** say what is true: locked, read-only, full disk, newer schema, or corrupted
    (SQLite's own verdict), each with advice that keeps the answers already stored.
    """

    def __init__(self, path: str | os.PathLike, secrets=(), timeout: float = 60.0):
        self.path = Path(path)
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        #: Keys whose stored row failed its checksum (see :meth:`get_many`).
        self.bad_keys: set[str] = set()
        #: True when the file, its folder or its file system cannot be written.
        self.read_only = False
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._has_claims = False
        memory = str(path) == ":memory:"
        if not memory:
            if self.path.is_dir():
                raise CacheError(
                    f"cache {self.path} is a folder; pass a file (e.g. "
                    f"{self.path / 'cache.sqlite'})"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheError(
                    f"cannot create the folder of cache {self.path} ({exc.strerror or exc}); "
                    "pass --cache in a folder you can write"
                ) from None
            self.read_only = not _writable(self.path)
            if self.read_only and not self.path.exists():
                raise CacheError(
                    f"cannot create cache {self.path}: its folder is not writable (read-only "
                    "folder or file system); pass --cache in a folder you can write"
                )
            if not self.read_only:
                sweep_temporaries(self.path)
        try:
            self._conn = self._connect(memory, timeout)
            self._open()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise self._error(exc) from None
        except CacheError:
            self._close_quietly()
            raise

    def _connect(self, memory: bool, timeout: float) -> sqlite3.Connection:
        kw = dict(timeout=timeout, check_same_thread=False, isolation_level=None)
        if memory or not self.read_only:
            return sqlite3.connect(self.path, **kw)
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, **kw)
        try:  # a WAL database in a read-only folder cannot make its -shm file: read it immutable
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, **kw)
        return conn

    def _open(self) -> None:
        """Check what the file is (read-only statements only), then, if writable, set it up."""
        conn = self._conn
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if "answers" not in tables and tables:
            raise CacheError(
                f"cache {self.path} is an SQLite database of something else (tables: "
                f"{', '.join(sorted(tables)[:5])}), "
                "not a vp-stats answer cache; pass another --cache file or move this one away"
            )
        have = [r[1] for r in conn.execute("PRAGMA table_info(answers)")]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        unknown = [c for c in have if c not in COLUMNS]
        if version > SCHEMA_VERSION or unknown:
            what = (
                f"schema version {version}; this vp-stats knows up to {SCHEMA_VERSION}"
                if version > SCHEMA_VERSION
                else f"answer column(s) this vp-stats does not know: {', '.join(unknown[:5])}"
            )
            raise CacheError(
                f"cache {self.path} was written by a newer vp-stats ({what}); it was not "
                "changed. Use the vp-stats version that wrote it (pip install -U vp-stats), or "
                "pass another --cache file"
            )
        if have:
            lacking = [c for c in REQUIRED if c not in have]
            if lacking:
                raise CacheError(
                    f"cache {self.path} has an 'answers' table without the column(s) "
                    f"{', '.join(lacking)}: it is not a "
                    "vp-stats answer cache; pass another --cache file or move this one away"
                )
        if self.read_only:
            if not have:
                raise self.refusal(None)
            self._cols = [c for c in COLUMNS if c in have]
            self._has_claims = False
            conn.execute("SELECT COUNT(*) FROM answers").fetchone()
            return
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
        conn.execute(f"CREATE TABLE IF NOT EXISTS answers ({cols})")
        have = [r[1] for r in conn.execute("PRAGMA table_info(answers)")]
        for name, decl in COLUMNS.items():  # migration: older caches lack newer columns
            if name not in have:
                try:
                    conn.execute(
                        f"ALTER TABLE answers ADD COLUMN {name} {decl.replace('PRIMARY KEY', '')}"
                    )
                except sqlite3.OperationalError as exc:  # another run added it first
                    if "duplicate column" not in str(exc):
                        raise
        conn.execute(_CLAIMS)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._cols = list(COLUMNS)
        self._has_claims = True
        conn.execute("SELECT COUNT(*) FROM answers").fetchone()

    def _close_quietly(self):
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover
                pass

    def refusal(self, n_missing: int | None) -> CacheError:
        """The error of a run that needs answers a read-only cache lacks (nothing was asked)."""
        lacks = "is empty" if n_missing is None else f"lacks {n_missing} answer(s) this run needs"
        return CacheError(
            f"cache {self.path} is read-only (its file, folder or file system cannot be "
            f"written) and {lacks}; nothing was asked and the cache was not changed. To go on, "
            f"copy it to a writable place (cp {self.path} answers.sqlite) and pass the copy "
            "with --cache, or make the file and its folder writable; the answers it holds are "
            "read either way"
        )

    def _error(self, exc: sqlite3.DatabaseError) -> CacheError:
        """A CacheError saying what SQLite's error means for this file, and how to go on."""
        return CacheError(_explain(self.path, exc))

    def add_secret(self, value: str | None) -> None:
        """Register one more value that must never be stored."""
        if value:
            self._secrets.append(value)

    def close(self) -> None:
        """Release this run's claims and close the connection."""
        if self._has_claims:
            try:
                with self._lock:
                    self._conn.execute("DELETE FROM claims WHERE owner = ?", [self.owner])
            except sqlite3.Error:  # a claim left behind dies with this process anyway
                pass
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _rollback(self) -> None:
        if self._conn.in_transaction:  # SQLite rolls back by itself on some errors (full disk)
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:  # pragma: no cover
                pass

    def get(self, key: str) -> dict | None:
        """The stored row of a key, or None."""
        got = self.get_many([key])
        return got.get(key)

    def _select(self, keys: list[str]) -> list[dict]:
        cols = self._cols
        out = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            q = f"SELECT {', '.join(cols)} FROM answers WHERE key IN ({marks})"
            for row in self._conn.execute(q, chunk):
                out.append({c: None for c in COLUMNS} | dict(zip(cols, row, strict=True)))
        return out

    def get_many(self, keys) -> dict[str, dict]:
        """Stored rows of many keys: ``{key: row}`` (absent keys omitted).

        A row whose checksum does not match its fields is left out and its key added
        to :attr:`bad_keys` (rows without a checksum, from older versions, are kept).
        """
        keys = list(keys)
        out: dict[str, dict] = {}
        try:
            with self._lock:
                for rec in self._select(keys):
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
        The checksum is computed from the row as stored, in the same transaction, and this
        run's claim on the key (:meth:`claim`) is released with it.
        """
        if self.read_only:
            raise self.refusal(1)
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
                    if self._has_claims:
                        self._conn.execute(
                            "DELETE FROM claims WHERE key = ? AND owner = ?",
                            [row["key"], self.owner],
                        )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        if inserted:
            self.bad_keys.discard(row["key"])
        return inserted

    # ------------------------------------------------------------------ concurrent runs

    def _claim_stale(self, owner: str, host: str | None, pid: int | None, at: float) -> bool:
        if time.time() - at > CLAIM_TTL:
            return True
        same_process = owner.split(":")[:2] == self.owner.split(":")[:2]
        if host == socket.gethostname() and pid is not None and not same_process:
            return not _pid_alive(int(pid))
        return False

    def claim(self, key: str, stored_ok: bool = True, poll: float = 0.1) -> dict | None:
        """Claim a request before asking it: None when this run may ask, or the stored row.

        When another live run holds the claim, wait until it stores the answer (returned: no
        second request) or gives up (failed call, crash: then this run claims it). A stored
        row is returned at once when ``stored_ok`` (pass False to replace a bad row).

        Examples
        --------
        >>> import tempfile, os
        >>> c = AnswerCache(os.path.join(tempfile.mkdtemp(), "c.sqlite"))
        >>> c.claim("k") is None, c.put({"key": "k", "backend": "b", "model": "m"})
        (True, True)
        >>> c.claim("k")["key"]
        'k'
        """
        if self.read_only:
            raise self.refusal(1)
        if not self._has_claims:
            return None
        host, pid = socket.gethostname(), os.getpid()
        while True:
            try:
                with self._lock:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        if stored_ok:
                            rows = [
                                r
                                for r in self._select([key])
                                if r["checksum"] is None or r["checksum"] == row_checksum(r)
                            ]
                            if rows:
                                self._conn.execute("COMMIT")
                                return rows[0]
                        held = self._conn.execute(
                            "SELECT owner, host, pid, claimed_at FROM claims WHERE key = ?", [key]
                        ).fetchone()
                        if held is None or held[0] == self.owner or self._claim_stale(*held):
                            self._conn.execute(
                                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                                [key, self.owner, host, pid, time.time()],
                            )
                            self._conn.execute("COMMIT")
                            return None
                        self._conn.execute("COMMIT")
                    except BaseException:
                        self._rollback()
                        raise
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None
            time.sleep(poll)  # another run is asking it: wait for its answer

    def release(self, key: str) -> None:
        """Give up this run's claim on a key (its call failed; another run may ask it)."""
        if not self._has_claims:
            return
        try:
            with self._lock:
                self._conn.execute(
                    "DELETE FROM claims WHERE key = ? AND owner = ?", [key, self.owner]
                )
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

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
        if not _writable(p):  # a WAL file in a read-only folder cannot make its -shm: immutable
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                conn.close()
                conn = sqlite3.connect(f"{p.resolve().as_uri()}?immutable=1", uri=True)
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
        raise CacheError(f"{_explain(p, exc)} (nothing was merged)") from None
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
                            f"{_explain(path, exc)} (read to row {rep['n_rows']}; nothing was "
                            "merged)"
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
    reading it); a new ``dest`` is built under a temporary name holding the process id
    (``.<name>.<pid>.<random>.tmp``) and renamed into place. A temporary stranded by a killed
    merge is removed by the next merge into (or run on) the same file
    (:func:`sweep_temporaries`).

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
            if cache.read_only:
                raise CacheError(
                    f"cache {dest} is read-only (file, folder or file system); nothing was "
                    "merged. Merge into a new file in a writable folder instead"
                )
            return _merge_into(cache, sources)
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(dest)  # what a killed merge into this file left behind
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent
    )
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
