"""The one cached call path of every LLM request: key -> cache get -> backend call -> validate ->
cache put.

Value Portrait items and questionnaires (:func:`vp_stats.llm.runner.run`), persona
runs (:mod:`vp_stats.studies.personas`, through the runner) and multi-turn HVAE
conversations (:func:`vp_stats.llm.hvae.make_chat_fn`) all go through
:class:`CachedBackend`:

1. **key**: :func:`~vp_stats.llm.keys.request_key` of the backend identity, the
   caller's parameters (``params``), the answer mode label and the full prompt text
   (``backend.prompt_text(messages)``). The key format is the one of earlier
   versions, so earlier caches still answer. A scoring request (``mode="logprobs"``)
   adds the backend's scoring method to ``params`` (``"scoring"``: ``"batched"``
   for the local model, ``"echo:<template hash>"`` or ``"first_token:k<top_logprobs>"``
   over HTTP): answers scored by another method are other answers. Rows of an older
   cache format (e.g. scores cached before the method entered the key) are not reused.
2. **get**: a stored row is used only when its checksum holds and its stored
   backend, model, parameters, mode and prompt hash are those of the request;
   otherwise it is recomputed (and replaced), with a :class:`CacheWarning` saying
   how many rows and in which file.
3. **call**: ``backend.generate(messages, decoding, grammar)`` or
   ``backend.score(messages, continuations)``; any exception other than a fatal
   :class:`~vp_stats.llm.backends.BackendError` becomes a recorded failed call.
4. **validate**: a failed call, an empty answer or a response without choices is
   an error.
5. **put**: only valid answers are stored; every text field passes through
   :func:`vp_stats.redact.redact` first (and the cache refuses secrets anyway).

Examples
--------
>>> from vp_stats.llm.backends import BaseBackend, GenResult, Decoding
>>> class Echo(BaseBackend):
...     def generate(self, messages, decoding, grammar=None):
...         return GenResult(raw_text=messages[-1]["content"].upper())
>>> cb = CachedBackend(Echo())
>>> req = cb.prepare([{"role": "user", "content": "hi"}], "text", {"t": 0})
>>> cb.call(req, decoding=Decoding())["raw_text"], cb.call(req, decoding=Decoding())["raw_text"]
('HI', 'HI')
>>> cb.stats
{'n_calls': 1, 'n_cached': 1, 'n_failed': 0, 'n_bad_cache': 0}
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vp_stats import redact
from vp_stats.llm.backends import (
    BackendError,
    Decoding,
    GenResult,
    GrammarError,
    capabilities,
    scores_to_result,
)
from vp_stats.llm.keys import MemoryCache, canonical, request_key, sha256_text

__all__ = ["CALL_FAILED", "CacheWarning", "CachedBackend", "Request"]

#: Prefix of the ``error`` of a request whose call raised (timeout, HTTP error): never cached.
CALL_FAILED = "call failed: "


class CacheWarning(UserWarning):
    """Cached rows were ignored (checksum or request mismatch) and recomputed."""


@dataclass(frozen=True)
class Request:
    """One prepared request: its messages, prompt text, key and key parts."""

    messages: list
    prompt_text: str
    key: str
    mode: str
    params: dict


def _redacted(rec: dict) -> dict:
    # every secret is masked; the URL/header patterns only in the error text (an answer that
    # merely looks like "bearer xyz" is kept as the model wrote it)
    return {
        k: (redact.redact(v, patterns=k == "error") if isinstance(v, str) else v)
        for k, v in rec.items()
    }


class CachedBackend:
    """A backend behind the answer cache (see the module docstring).

    Parameters
    ----------
    backend : Backend
        :class:`~vp_stats.llm.local.LlamaCppBackend`,
        :class:`~vp_stats.llm.openai_backend.OpenAIBackend`
        or any object with the protocol's ``identity``, ``prompt_text`` and ``generate``.
    cache : cache object, optional
        Anything with the cache protocol of :mod:`vp_stats.llm.keys` (``get_many``, ``put``,
        ``add_secret``, ``bad_keys``, ``path``), e.g. :class:`vp_stats.io.cache.AnswerCache`
        (a file, opened by the caller) or :class:`~vp_stats.llm.keys.MemoryCache`. Default: a
        new :class:`~vp_stats.llm.keys.MemoryCache` (nothing persisted).
    """

    def __init__(self, backend, cache=None):
        self.caps = capabilities(backend)
        self.backend = backend
        if cache is not None and not callable(getattr(cache, "get_many", None)):
            raise TypeError(
                f"cache must be a cache object, not {type(cache).__name__} (open a file with "
                "vp_stats.io.cache.AnswerCache)"
            )
        self.own_cache = cache is None
        self.cache = MemoryCache() if cache is None else cache
        redact.register(self.caps.secret)
        self.cache.add_secret(self.caps.secret)
        self.identity = backend.identity()
        self.stats = {"n_calls": 0, "n_cached": 0, "n_failed": 0, "n_bad_cache": 0}
        self._bad: set[str] = set()

    # 1. key ---------------------------------------------------------------------------
    def prepare(self, messages: list[dict], mode: str, params: dict) -> Request:
        """The request's prompt text and cache key."""
        ptxt = self.backend.prompt_text(messages)
        if mode == "logprobs" and self.caps.scoring is not None:
            params = {**params, "scoring": self.caps.scoring}
        return Request(messages, ptxt, request_key(self.identity, params, mode, ptxt), mode, params)

    # 2. get ---------------------------------------------------------------------------
    def _matches(self, row: dict, req: Request) -> bool:
        try:
            params = (
                canonical(json.loads(row["params"])) if isinstance(row.get("params"), str) else None
            )
        except ValueError:
            return False
        return (
            row.get("mode") == req.mode
            and row.get("prompt_hash") in (None, sha256_text(req.prompt_text))
            and params == canonical(req.params)
            and all(
                row.get(k) == self.identity.get(k)
                for k in ("backend", "model")
                if k in self.identity
            )
            and (
                row.get("model_id") is None
                or row.get("model_id") == self.identity.get("model_id", row.get("model_id"))
            )
        )

    def lookup(self, requests: Sequence[Request]) -> dict[str, dict]:
        """Valid cached rows of many requests, ``{key: row}``; a row failing its checks is
        recomputed later."""
        by_key = {r.key: r for r in requests}
        self.cache.bad_keys.clear()
        got = self.cache.get_many(list(by_key))
        bad = set(self.cache.bad_keys) & set(by_key)
        out = {}
        for key, row in got.items():
            if self._matches(row, by_key[key]):
                out[key] = row
            else:
                bad.add(key)
        if bad - self._bad:
            new_bad = bad - self._bad
            self.stats["n_bad_cache"] += len(new_bad)
            warnings.warn(
                f"cache {self.cache.path}: {len(new_bad)} stored answer(s) failed their checksum "
                "or do not match their "
                "request (corrupted or edited rows); they are recomputed and replaced",
                CacheWarning,
                stacklevel=3,
            )
        self._bad |= bad
        self.stats["n_cached"] += len(out)
        missing = len(set(by_key) - set(out))
        if missing and getattr(self.cache, "read_only", False):
            raise self.cache.refusal(missing)  # before any request: a read-only cache
        return out

    # 3.-5. call, validate, put ----------------------------------------------------------
    def answer(self, req: Request, **kw) -> dict:
        """:meth:`_answer` under the cache's claim on the key (when the cache offers claims).

        Another run sharing the cache may be asking the same request: the cache's ``claim``
        then waits for its answer and returns it instead of a second request.
        """
        claim = getattr(self.cache, "claim", None)
        if claim is None:
            return self._answer(req, **kw)
        got = claim(req.key, stored_ok=req.key not in self._bad)
        if got is not None and self._matches(got, req):
            return got  # another run answered it meanwhile
        try:
            return self._answer(req, **kw)
        finally:
            self.cache.release(req.key)

    def _answer(
        self,
        req: Request,
        *,
        decoding: Decoding | None = None,
        grammar: str | None = None,
        continuations: Sequence[str] | None = None,
        meta: dict | None = None,
        finish: Callable[[dict, GenResult], None] | None = None,
    ) -> dict:
        """Call the backend for a request not in the cache, store the answer if valid; the record.

        ``continuations`` makes it a scoring request (distribution over them); otherwise
        ``decoding`` (and ``grammar``) drive a generation. ``meta`` adds columns
        (persona_id, portrait_id ...); ``finish(record, result)`` may set ``rating`` or
        ``error`` (e.g. an unparseable answer, which is a valid answer and is cached).
        """
        if grammar is not None and not self.caps.supports_grammar:
            raise ValueError(
                f"backend {type(self.backend).__name__} cannot constrain generation with a "
                "grammar; "
                "use mode='text' (free generation, then the strict parser)"
            )
        t0 = time.perf_counter()
        try:
            if continuations is not None:
                score = getattr(
                    self.backend, "score", None
                )  # a backend that cannot score raises its own reason
                if score is None:
                    raise BackendError(
                        f"backend {type(self.backend).__name__} cannot score given answers; "
                        "use mode text or grammar"
                    )
                res = scores_to_result(
                    tuple(continuations), score(req.messages, tuple(continuations))
                )
            else:
                res = self.backend.generate(
                    req.messages, decoding if decoding is not None else Decoding(), grammar
                )
            if not isinstance(res, GenResult):
                raise TypeError(f"the backend returned {type(res).__name__}, not a GenResult")
        except BackendError as exc:
            raise BackendError(
                str(exc)
            ) from None  # fatal (redacted again: the message may quote a server)
        except (GrammarError, TypeError):
            raise  # bad input or a backend not following the protocol: not a failed call
        except Exception as exc:  # a failed call is recorded, not fatal, and not cached
            res = GenResult(error=f"{CALL_FAILED}{type(exc).__name__}: {redact.redact(exc)[:300]}")
        if res.error is None and res.distribution is None and not (res.raw_text or "").strip():
            res.error = "the model returned an empty answer"
        system = next((m["content"] for m in req.messages if m.get("role") == "system"), None)
        rec = {
            "key": req.key,
            **{k: self.identity.get(k) for k in ("backend", "model", "model_id")},
            "params": req.params,
            "mode": req.mode,
            "prompt_hash": sha256_text(req.prompt_text),
            "system_prompt": system,
            **(meta or {}),
            "raw_text": res.raw_text,
            "latency_s": time.perf_counter() - t0,
            "prompt_tokens": res.prompt_tokens,
            "completion_tokens": res.completion_tokens,
            "error": res.error,
        }
        if res.distribution is not None:
            p = np.asarray(res.distribution)
            rec["distribution"] = [float(x) for x in p]
            rec["expected_rating"] = float(p @ np.arange(1, len(p) + 1))
            nz = p[p > 0]
            rec["entropy"] = float(-(nz * np.log2(nz)).sum())
            rec["answer_mass"] = res.answer_mass
            rec["rating"] = rec["expected_rating"]
        elif res.error is None and finish is not None:
            finish(rec, res)
        rec = _redacted(rec)
        self.stats["n_calls"] += 1
        if (
            res.error is None
        ):  # failed, empty and choice-less answers are never stored: a rerun asks again
            self.cache.put(rec, replace=req.key in self._bad)
            self._bad.discard(req.key)
        else:
            self.stats["n_failed"] += 1
        return rec

    def call(self, req: Request, **kw) -> dict:
        """:meth:`lookup` then, on a miss, :meth:`answer`: one request through the whole path."""
        hit = self.lookup([req]).get(req.key)
        return hit if hit is not None else self.answer(req, **kw)

    def reset(self) -> None:
        """Forget the backend's evaluation state (the local model's KV cache)."""
        reset = getattr(self.backend, "reset", None)
        if callable(reset):
            reset()
