"""The one redaction point: secret values never reach a message, a log line, a cache or an output.

A backend that holds a secret (an API key) registers it here; every error
message the command line prints, and every text the LLM layer stores or
raises, passes through :func:`redact`. Registration is process-wide and also
covers the value of every environment variable named ``*_API_KEY`` / ``*_TOKEN``
at the time of the call.

Examples
--------
>>> from vp_stats import redact
>>> redact.register("sk-test-123456")
>>> redact.redact("401: bad key sk-test-123456 for model m")
'401: bad key [REDACTED] for model m'
"""

from __future__ import annotations

import os
import re

__all__ = ["register", "redact", "secrets", "MARK"]

MARK = "[REDACTED]"
_SECRETS: set[str] = set()
_ENV = re.compile(r"(_API_KEY|_TOKEN|_SECRET)$")
_MIN_LEN = (
    6  # shorter values (e.g. "no-key" placeholders, empty strings) are not secrets worth masking
)


def register(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it from now on."""
    if value and len(value) >= _MIN_LEN:
        _SECRETS.add(value)


def secrets() -> list[str]:
    """Registered secrets and the values of secret-named environment variables, longest first."""
    env = {v for k, v in os.environ.items() if _ENV.search(k) and v and len(v) >= _MIN_LEN}
    return sorted(_SECRETS | env, key=len, reverse=True)


def redact(text: object) -> str:
    """``text`` as a string with every known secret replaced by ``[REDACTED]``.

    Examples
    --------
    >>> redact("nothing secret here")
    'nothing secret here'
    """
    s = str(text)
    for secret in secrets():
        if secret in s:
            s = s.replace(secret, MARK)
    return s
