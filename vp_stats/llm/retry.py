"""Retries, deadlines and server slots of HTTP requests.

Each attempt of an HTTP request (:class:`vp_stats.llm.openai_backend.OpenAIBackend`) has a
wall-clock deadline (``timeout``): it bounds connecting and every read of that attempt, so a
server that drips one byte at a time cannot hold an attempt longer than the deadline. The
deadline starts when the request gets a slot (:class:`ServerSlots`), not when it is queued:
the backend sends at most as many requests at once as the server serves (its reported slots,
and fewer after a request timed out while others were in flight, i.e. was queued behind them
at the server). Retries (429, 5xx, timeouts, connection resets) wait ``Retry-After`` when the
server sends one (capped at :data:`RETRY_AFTER_CAP` seconds), otherwise an exponential backoff
with full jitter drawn from a per-request generator (seeded by the request, so concurrent
retries do not wait in lock step); a timed-out attempt is retried like the others.

Examples
--------
>>> with_retries(lambda: "ok")
'ok'
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from contextlib import contextmanager

from vp_stats import redact
from vp_stats.llm.backends import DeadlineExceeded

__all__ = [
    "RETRY_AFTER_CAP",
    "ServerSlots",
    "http_client",
    "is_retryable",
    "request_deadline",
    "retry_after",
    "with_retries",
]

#: Longest wait (seconds) a ``Retry-After`` header can impose on one retry.
RETRY_AFTER_CAP = 60.0

_PROCESS_RNG = random.Random()  # seeded by the OS: only waits depend on it, never an answer


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: Exception) -> bool:
    try:
        import openai
    except ModuleNotFoundError:  # pragma: no cover
        return False
    if isinstance(
        exc,
        (
            openai.RateLimitError,
            openai.APITimeoutError,
            openai.APIConnectionError,
            openai.InternalServerError,
        ),
    ):
        return True
    status = _status(exc)
    return status is not None and (status == 429 or status >= 500)


def retry_after(
    exc: Exception, cap: float = RETRY_AFTER_CAP, now: float | None = None
) -> float | None:
    """Seconds to wait that a 429/503 response asks for (``Retry-After``: seconds or an HTTP date),
    capped.

    Examples
    --------
    >>> class E(Exception):
    ...     status_code = 429
    ...     response = type("R", (), {"headers": {"retry-after": "7"}})()
    >>> retry_after(E()), retry_after(E(), cap=2.0)
    (7.0, 2.0)
    """
    if _status(exc) not in (429, 503):
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            value = float(ms) / 1000.0
        else:
            raw = headers.get("retry-after")
            if raw is None:
                return None
            raw = str(raw).strip()
            try:
                value = float(raw)
            except ValueError:
                when = email.utils.parsedate_to_datetime(raw)
                value = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError):
        return None
    if value is None or not math.isfinite(value):
        return None
    return float(min(max(value, 0.0), cap))


def with_retries(
    fn,
    retries: int = 5,
    base: float = 0.5,
    cap: float = 20.0,
    rng=None,
    sleep=time.sleep,
    retryable=None,
    deadline: float | None = None,
    clock=time.monotonic,
    retry_after_cap: float = RETRY_AFTER_CAP,
):
    """Call ``fn()``; on a retryable error wait and retry, at most ``retries`` times.

    The wait is the server's ``Retry-After`` on 429/503 (capped at ``retry_after_cap``),
    else ``uniform(0, min(cap, base * 2**attempt))`` (exponential backoff, full jitter)
    drawn from ``rng`` (default: a process-wide generator seeded by the OS; pass a
    per-request ``random.Random`` for reproducible waits). With ``deadline`` (a
    ``clock()`` time) no wait runs past it: :class:`DeadlineExceeded` is raised instead.
    The last error is raised; non-retryable errors at once. ``retryable`` is a tuple of
    exception types; by default 429/5xx/timeout/connection errors of the openai SDK.

    Examples
    --------
    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise TimeoutError("slow")
    ...     return "ok"
    >>> with_retries(flaky, retryable=(TimeoutError,), sleep=lambda s: None), len(calls)
    ('ok', 3)
    """
    rng = rng or _PROCESS_RNG
    attempt = 0
    while True:
        if deadline is not None and clock() >= deadline:
            raise DeadlineExceeded(f"no answer before the request deadline ({attempt} attempt(s))")
        try:
            return fn()
        except DeadlineExceeded:
            raise
        except Exception as exc:
            ok = isinstance(exc, retryable) if retryable is not None else is_retryable(exc)
            if not ok or attempt >= retries:
                if ok and deadline is not None and clock() >= deadline:
                    raise DeadlineExceeded(
                        f"no answer before the request deadline ({attempt + 1} attempt(s); last: "
                        f"{type(exc).__name__}: {redact.redact(exc)[:200]})"
                    ) from exc
                raise
            wait = retry_after(exc, retry_after_cap)
            if wait is None:
                wait = rng.uniform(0, min(cap, base * 2**attempt))
            if deadline is not None and clock() + wait >= deadline:
                raise DeadlineExceeded(
                    f"no answer before the request deadline ({attempt + 1} attempt(s); the next "
                    "retry would "
                    f"wait {wait:.1f} s; last: {type(exc).__name__}: {redact.redact(exc)[:200]})"
                ) from exc
            sleep(wait)
            attempt += 1


class ServerSlots:
    """How many requests a backend has at the server at once: at most ``limit``, lowered when a
    request times out while other requests were in flight.

    A server with fewer slots than the client's concurrency (llama.cpp serves ``--parallel``
    requests at a time, ``python -m llama_cpp.server`` one) queues the others; a request waiting
    in that queue looks like a dead server to a deadline. The limit starts at the client's
    concurrency and the server's reported slots (:meth:`report`); after an attempt timed out
    while another attempt of this backend was in flight, it is halved (down to 1) for the rest
    of the run, so retries and later requests wait here, outside any deadline, instead of in
    the server's queue.

    Examples
    --------
    >>> slots = ServerSlots(4)
    >>> slots.report(2)
    2
    >>> with slots.slot() as a, slots.slot() as b:
    ...     b.crowded()
    True
    >>> slots.narrow()
    1
    """

    def __init__(self, limit: int):
        self.limit = max(1, int(limit))
        self.active = 0
        self.started = 0
        self._cv = threading.Condition()

    def report(self, server_slots: int) -> int:
        """Lower the limit to the slots the server reports; the new limit."""
        with self._cv:
            self.limit = max(1, min(self.limit, int(server_slots)))
            return self.limit

    def narrow(self) -> int:
        """Halve the limit (at least 1); the new limit."""
        with self._cv:
            self.limit = max(1, self.limit // 2)
            return self.limit

    @contextmanager
    def slot(self):
        """Wait for a free slot and hold it while the block runs; yields an object whose
        ``crowded()`` says whether another attempt was in flight at any time meanwhile."""
        with self._cv:
            while self.active >= self.limit:
                self._cv.wait()
            self.active += 1
            self.started += 1
            first, others = self.started, self.active > 1
        gate = self

        class Held:
            @staticmethod
            def crowded() -> bool:
                with gate._cv:
                    return others or gate.active > 1 or gate.started > first

        try:
            yield Held()
        finally:
            with self._cv:
                self.active -= 1
                self._cv.notify_all()


_DEADLINE = threading.local()


@contextmanager
def request_deadline(deadline: float | None):
    """Every socket operation of this thread's HTTP requests ends by ``deadline`` (a
    ``time.monotonic()`` time)."""
    old = getattr(_DEADLINE, "value", None)
    _DEADLINE.value = deadline
    try:
        yield
    finally:
        _DEADLINE.value = old


def _bounded(timeout: float | None) -> float | None:
    deadline = getattr(_DEADLINE, "value", None)
    if deadline is None:
        return timeout
    import httpcore

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpcore.ReadTimeout("the request deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


def _deadline_backend(inner):
    """An httpcore network backend whose connect, read and write timeouts end at the thread's
    deadline."""
    import httpcore

    class Stream(httpcore.NetworkStream):
        def __init__(self, s):
            self._s = s

        def read(self, max_bytes, timeout=None):
            return self._s.read(max_bytes, _bounded(timeout))

        def write(self, buffer, timeout=None):
            return self._s.write(buffer, _bounded(timeout))

        def close(self):
            return self._s.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            return Stream(self._s.start_tls(ssl_context, server_hostname, _bounded(timeout)))

        def get_extra_info(self, info):
            return self._s.get_extra_info(info)

    class NetBackend(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            return Stream(
                inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
            )

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            return Stream(inner.connect_unix_socket(path, _bounded(timeout), socket_options))

        def sleep(self, seconds):
            return inner.sleep(seconds)

    return NetBackend()


def http_client(timeout: float):
    """An httpx client for the openai SDK whose sockets honour the per-request deadline."""
    import httpx

    client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True)
    # httpx keeps no public hook for the network backend
    for transport in [client._transport, *client._mounts.values()]:  # noqa: SLF001
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _deadline_backend(pool._network_backend)
    return client
