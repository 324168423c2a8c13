"""Request keys and answer rows of the answer cache, and the in-memory cache.

Pure functions of a request: its key (:func:`request_key`, a sha256 over the backend
identity, the parameters, the mode and the full prompt), the columns of a stored answer
(:data:`COLUMNS`), the checksum of a stored row (:func:`row_checksum`) and the row as it is
stored (:func:`stored_row`: parameters as canonical JSON, secrets refused). The SQLite file
that keeps answers across runs is :class:`vp_stats.io.cache.AnswerCache`; :class:`MemoryCache`
keeps them for one run. Both offer the cache protocol the call path uses: ``get_many(keys)``,
``put(row, replace=False)``, ``add_secret(value)``, ``bad_keys``, ``path`` and ``close()``.

Examples
--------
>>> cache = MemoryCache()
>>> key = request_key({"backend": "local", "model": "m"}, {"temperature": 0}, "text", "prompt")
>>> cache.put({"key": key, "backend": "local", "model": "m", "raw_text": "like me"})
True
>>> cache.get(key)["raw_text"], cache.put({"key": key, "backend": "local", "model": "m"})
('like me', False)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

__all__ = [
    "COLUMNS",
    "MemoryCache",
    "SecretLeakError",
    "canonical",
    "request_key",
    "row_checksum",
    "sha256_text",
    "stored_row",
]

#: Columns of a stored answer (with their SQLite declarations).
COLUMNS = {
    "key": "TEXT PRIMARY KEY",
    "backend": "TEXT NOT NULL",
    "model": "TEXT NOT NULL",
    "model_id": "TEXT",
    "params": "TEXT",
    "mode": "TEXT",
    "prompt_hash": "TEXT",
    "system_prompt": "TEXT",
    "persona_id": "TEXT",
    "portrait_id": "INTEGER",
    "option_id": "INTEGER",
    "variant": "TEXT",
    "raw_text": "TEXT",
    "rating": "REAL",
    "distribution": "TEXT",
    "expected_rating": "REAL",
    "entropy": "REAL",
    "answer_mass": "REAL",
    "latency_s": "REAL",
    "prompt_tokens": "INTEGER",
    "completion_tokens": "INTEGER",
    "error": "TEXT",
    "created_at": "REAL",
    "checksum": "TEXT",
}


class SecretLeakError(RuntimeError):
    """A value about to be cached contains a registered secret."""


def canonical(obj) -> str:
    """Canonical JSON of ``obj`` (sorted keys, no spaces): what keys and stored fields hash.

    Examples
    --------
    >>> canonical({"b": 1, "a": [1, 2]})
    '{"a":[1,2],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    """Hex sha256 of a text (UTF-8).

    Examples
    --------
    >>> sha256_text("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_key(identity: dict, params: dict, mode: str, prompt: str) -> str:
    """The cache key of one request: sha256 over its non-secret description.

    ``identity`` holds backend, model and model file hash or name; ``params``
    the decoding parameters; ``prompt`` the full prompt as sent (rendered chat,
    or the canonical JSON of the messages for HTTP backends).

    Examples
    --------
    >>> a = request_key({"backend": "local"}, {"t": 0}, "text", "p")
    >>> b = request_key({"backend": "local"}, {"t": 1}, "text", "p")
    >>> a == request_key({"backend": "local"}, {"t": 0}, "text", "p"), a == b
    (True, False)
    """
    return sha256_text(
        canonical(
            {
                "identity": identity,
                "params": params,
                "mode": mode,
                "prompt_sha256": sha256_text(prompt),
            }
        )
    )


def row_checksum(row: dict) -> str:
    """sha256 over a stored row's fields (every column but ``checksum``), in column order."""
    return sha256_text(canonical([[k, row.get(k)] for k in COLUMNS if k != "checksum"]))


def stored_row(row: dict, secrets=()) -> dict:
    """An answer row as it is stored: ``params`` and ``distribution`` as canonical JSON.

    Raises ``ValueError`` on unknown columns and :class:`SecretLeakError` when a text field
    contains one of ``secrets``. The checksum is left to the store.

    Examples
    --------
    >>> stored_row({"key": "k", "params": {"t": 0}, "created_at": 1.0})
    {'key': 'k', 'params': '{"t":0}', 'created_at': 1.0}
    """
    row = dict(row)
    row.pop("checksum", None)
    row.setdefault("created_at", time.time())
    for k in ("params", "distribution"):
        if k in row and not isinstance(row[k], (str, type(None))):
            row[k] = canonical(row[k])
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown cache column(s) {sorted(unknown)}")
    for name, value in row.items():
        if isinstance(value, str) and any(s in value for s in secrets if s):
            raise SecretLeakError(f"refusing to cache field {name!r}: it contains a secret value")
    return row


class MemoryCache:
    """Answers kept in memory for one run (the default cache of the call path).

    The same protocol and row semantics as :class:`vp_stats.io.cache.AnswerCache` (the first
    answer for a key wins, rows carry a checksum, secrets are refused), without a file.

    Examples
    --------
    >>> c = MemoryCache()
    >>> c.put({"key": "k", "backend": "b", "model": "m", "params": {"t": 0}}), c.count()
    (True, 1)
    >>> c.get("k")["params"]
    '{"t":0}'
    """

    path = ":memory:"

    def __init__(self, secrets=()):
        self._secrets = [s for s in secrets if s]
        self._rows: dict[str, dict] = {}
        self._lock = threading.Lock()
        #: Keys whose stored row failed its checksum (never, in memory).
        self.bad_keys: set[str] = set()

    def add_secret(self, value: str | None) -> None:
        """Register one more value that must never be stored."""
        if value:
            self._secrets.append(value)

    def get(self, key: str) -> dict | None:
        """The stored row of a key, or None."""
        return self.get_many([key]).get(key)

    def get_many(self, keys) -> dict[str, dict]:
        """Stored rows of many keys: ``{key: row}`` (absent keys omitted)."""
        with self._lock:
            return {k: dict(self._rows[k]) for k in keys if k in self._rows}

    def put(self, row: dict, replace: bool = False) -> bool:
        """Store one answer; False if the key was already there (unless ``replace``)."""
        row = stored_row(row, self._secrets)
        rec = {c: row.get(c) for c in COLUMNS}
        rec["checksum"] = row_checksum(rec)
        with self._lock:
            if rec["key"] in self._rows and not replace:
                return False
            self._rows[rec["key"]] = rec
        self.bad_keys.discard(rec["key"])
        return True

    def count(self) -> int:
        """Number of stored answers."""
        return len(self._rows)

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
