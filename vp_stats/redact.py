"""The one redaction point: secret values never reach a message, a log line, a cache or an output.

Secrets hide in four places, and :func:`redact` masks all of them:

1. **registered values**: a backend that holds an API key registers it here
   (:func:`register`), and so does every URL it is given (:func:`register_url`: the password of
   its userinfo, raw, percent-decoded and base64-encoded as HTTP Basic auth sends it, and the
   value of every credential-like query parameter). The values of environment variables named
   ``*_API_KEY``, ``*_TOKEN`` or ``*_SECRET`` are masked too.
2. **URL userinfo** in any text: ``https://user:KEY@host/v1`` becomes
   ``https://[REDACTED]@host/v1`` (a bare ``https://KEY@host`` as well: some providers put the
   key in the user name).
3. **credential-like query parameters** in any text: a parameter whose name contains ``key``,
   ``token``, ``secret``, ``password``, ``passwd``, ``auth``, ``credential`` or ``session``, or
   is ``sig`` / ``signature`` / ``code`` (``?api-key=KEY``, ``&access_token=KEY``, ``&sig=...``)
   keeps its name and loses its value.
4. **credential headers** in any text: ``Authorization: Bearer KEY``, ``api-key: KEY``,
   ``x-api-key: KEY`` (also as JSON or a Python dict's repr), and any ``Bearer KEY``.

Every error message the command line prints, every text the LLM layer stores or raises, every
``provenance.json`` (:func:`redact_obj`) and the backend identity that goes into cache keys and
provenance (:func:`redact_url`) pass through here. Registration is process-wide.

Examples
--------
>>> from vp_stats import redact
>>> redact.register("sk-test-123456")
>>> redact.redact("401: bad key sk-test-123456 for model m")
'401: bad key [REDACTED] for model m'
>>> redact.redact_url("https://me:hunter2hunter2@host/v1?api-version=1&api-key=abc123xyz")
'https://[REDACTED]@host/v1?api-version=1&api-key=[REDACTED]'
>>> redact.redact("headers: {'Authorization': 'Bearer abcdef123456'}")
"headers: {'Authorization': '[REDACTED]'}"
"""

from __future__ import annotations

import base64
import os
import re
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["register", "register_url", "redact", "redact_obj", "redact_url", "secrets", "MARK"]

MARK = "[REDACTED]"
_SECRETS: set[str] = set()
_ENV = re.compile(r"(_API_KEY|_TOKEN|_SECRET)$")
_MIN_LEN = (
    6  # shorter values (e.g. "no-key" placeholders, empty strings) are not secrets worth masking
)
#: Query-parameter names that carry credentials (a name containing a word, or equal to a name).
_PARAM_WORDS = r"key|token|secret|password|passwd|auth|credential|session"
_PARAM_NAMES = r"sig|signature|code|pwd"
_PARAM_NAME = re.compile(rf"(?i)^(?:[\w.\-]*(?:{_PARAM_WORDS})[\w.\-]*|{_PARAM_NAMES})$")
# scheme://userinfo@ : everything between '//' and the last '@' before the host's end
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#'\"<>]+@")
# ?name=value / &name=value / ;name=value with a credential-like name
_QUERY = re.compile(
    rf"(?i)([?&;](?:[\w.\-]*(?:{_PARAM_WORDS})[\w.\-]*|{_PARAM_NAMES})=)([^&#\s'\"<>;]+)"
)
# Authorization: Bearer x / "api-key": "x" / 'x-api-key': 'x' (headers in text, JSON or reprs)
_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key|ocp-apim-subscription-key)"
    r"(['\"]?\s*[:=]\s*['\"]?)((?:bearer|basic|token)\s+)?([^\s'\",}]+)"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[a-z0-9._~+/=\-]{6,}")


def register(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it from now on."""
    if value and len(value) >= _MIN_LEN:
        _SECRETS.add(value)
        decoded = unquote(value)
        if decoded != value and len(decoded) >= _MIN_LEN:
            _SECRETS.add(decoded)


def register_url(url: str | None) -> None:
    """Register the credentials a URL carries: its userinfo and credential-like query values.

    Examples
    --------
    >>> register_url("https://user:pa55word-xyz@host/v1?token=tok-987654")
    >>> redact("sent pa55word-xyz and tok-987654")
    'sent [REDACTED] and [REDACTED]'
    """
    if not url:
        return
    try:
        parts = urlsplit(str(url))
    except ValueError:  # an unparseable URL: the regular expressions of redact() still apply
        return
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        register(password)
        register(user if not password else None)  # a key given as the user name
        register(userinfo)
        for info in {userinfo, unquote(userinfo)}:  # as HTTP Basic auth sends it, if echoed
            register(base64.b64encode(info.encode("utf-8")).decode("ascii"))
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _PARAM_NAME.match(name):
            register(value)


def secrets() -> list[str]:
    """Registered secrets and the values of secret-named environment variables, longest first."""
    env = {v for k, v in os.environ.items() if _ENV.search(k) and v and len(v) >= _MIN_LEN}
    return sorted(_SECRETS | env, key=len, reverse=True)


def redact(text: object, patterns: bool = True) -> str:
    """``text`` as a string with every secret (see the module docstring) replaced by
    ``[REDACTED]``.

    ``patterns=False`` masks registered and environment secrets only (1.), not the URL and
    header patterns (2.-4.): for a model's answers, which must not be rewritten where they
    merely look like a credential.

    Examples
    --------
    >>> redact("nothing secret here")
    'nothing secret here'
    >>> redact("GET https://host/v1/models?key=AIza0123456789 failed")
    'GET https://host/v1/models?key=[REDACTED] failed'
    >>> redact("Authorization: Bearer sk-abcdef0123")
    'Authorization: [REDACTED]'
    """
    s = str(text)
    for secret in secrets():
        if secret in s:
            s = s.replace(secret, MARK)
    if not patterns:
        return s
    if "://" in s:
        s = _USERINFO.sub(lambda m: f"{m.group(1)}{MARK}@", s)
    if "=" in s:
        s = _QUERY.sub(lambda m: m.group(1) + (m.group(2) if m.group(2) == MARK else MARK), s)
    s = _HEADER.sub(lambda m: m.group(1) + m.group(2) + MARK, s)
    s = _BEARER.sub(MARK, s)
    return s


def redact_url(url: str | None) -> str | None:
    """A URL without its credentials (userinfo, credential-like query values); None stays None.

    The host, path and other query parameters are kept, so the URL still says where requests
    went.

    Examples
    --------
    >>> redact_url("https://host/v1?api-version=2024-06-01")
    'https://host/v1?api-version=2024-06-01'
    >>> redact_url("https://key-0123456789@host/v1")
    'https://[REDACTED]@host/v1'
    """
    if url is None:
        return None
    register_url(url)
    return redact(url)


def redact_obj(obj):
    """A copy of a JSON-like object (dicts, lists, tuples, strings) with every string redacted.

    Examples
    --------
    >>> redact_obj({"argv": ["--base-url", "https://u:secret-pw-1@h/v1"], "n": 3})
    {'argv': ['--base-url', 'https://[REDACTED]@h/v1'], 'n': 3}
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact(k) if isinstance(k, str) else k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj
