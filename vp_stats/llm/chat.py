"""LLM layer: the cached chat function and grammar-constrained generation of HVAE runs.

The plumbing between a multi-turn protocol (:mod:`vp_stats.llm.hvae`) and the
backends of :mod:`vp_stats.llm.backends`: recognising the turns that ask for one
letter (:func:`is_item_turn`, by :data:`ITEM_INSTRUCTION`, the last line of
every item prompt), generating with any GBNF grammar through the backend
protocol (:func:`generate_text`: ``backend.generate(messages, decoding, grammar)``),
and a cached, resumable ``chat_fn(messages, seed) -> str`` (:func:`make_chat_fn`),
whose every call goes through the one cached call path
(:class:`vp_stats.llm.calls.CachedBackend`). The protocol layers above see only
``chat_fn``. This module never imports :mod:`vp_stats.llm.hvae`
(its doctests do).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from vp_stats.llm import runner
from vp_stats.llm.backends import capabilities
from vp_stats.llm.cache import AnswerCache
from vp_stats.llm.calls import CALL_FAILED, CachedBackend

__all__ = [
    "CHAT_MODES",
    "DEFAULT_DECODING",
    "ITEM_GRAMMAR",
    "ITEM_INSTRUCTION",
    "generate_text",
    "is_item_turn",
    "make_chat_fn",
]

#: Last line of every item prompt (:func:`vp_stats.llm.hvae.item_prompt`);
#: :func:`is_item_turn` recognises item steps by it.
ITEM_INSTRUCTION = "Reply with one letter from A to I and nothing else."

#: GBNF grammar of an item reply in ``"grammar"`` mode: one bare letter A-I.
ITEM_GRAMMAR = "root ::= [A-I]\n"

#: Chat-function modes: ``"grammar"`` constrains item replies with
#: :data:`ITEM_GRAMMAR`; ``"text"`` generates freely (then a parser decides).
CHAT_MODES: tuple[str, ...] = ("grammar", "text")

#: Default decoding of HVAE runs: sampling (temperature 0.7, top-p 0.95) so
#: that runs with different seeds differ; ``max_tokens`` bounds the free-text
#: steps (value description, goal sentence). Item steps use ``item_max_tokens``
#: of :func:`make_chat_fn`. The seed is replaced by each run's seed.
DEFAULT_DECODING = runner.Decoding(temperature=0.7, max_tokens=64, top_p=0.95, seed=0)


def is_item_turn(messages: Sequence[Mapping[str, str]]) -> bool:
    """Whether a conversation ends with an item question (:func:`vp_stats.llm.hvae.item_prompt`).

    Examples
    --------
    >>> from vp_stats.llm.hvae import build_messages
    >>> is_item_turn(build_messages("prosocial", ["..."]))
    True
    >>> is_item_turn(build_messages("prosocial"))
    False
    """
    if not messages:
        return False
    last = messages[-1]
    return last.get("role") == "user" and str(last.get("content", "")).rstrip().endswith(
        ITEM_INSTRUCTION
    )


def generate_text(
    backend: Any,
    messages: list[dict[str, str]],
    decoding: runner.Decoding,
    grammar: str | None = None,
) -> runner.GenResult:
    """One generation from a backend, optionally constrained by any GBNF grammar (uncached).

    ``backend.generate(messages, decoding, grammar)`` of the backend protocol
    (:class:`vp_stats.llm.backends.Backend`): the local backend compiles the
    grammar for llama.cpp; an OpenAI-compatible backend sends it in the request
    body (``grammar``, the llama.cpp server's field). Endpoints that ignore the
    field answer unconstrained, so replies are always parsed.

    Examples
    --------
    >>> from vp_stats.llm.backends import BaseBackend
    >>> class Echo(BaseBackend):
    ...     def generate(self, messages, decoding, grammar=None):
    ...         return runner.GenResult(raw_text=messages[-1]["content"].upper())
    >>> generate_text(Echo(), [{"role": "user", "content": "hi"}], DEFAULT_DECODING).raw_text
    'HI'
    """
    if grammar is not None and not capabilities(backend).supports_grammar:
        raise ValueError(
            f"backend {type(backend).__name__} cannot constrain generation with a grammar; "
            "use mode='text' (free generation, then the strict parser)"
        )
    return backend.generate(messages, decoding, grammar)


def make_chat_fn(
    backend: Any,
    mode: str = "grammar",
    cache: AnswerCache | str | os.PathLike | None = None,
    decoding: runner.Decoding | None = None,
    *,
    item_max_tokens: int | None = None,
    reset_kv: str = "run",
) -> Callable[[list[dict[str, str]], int], str]:
    """A cached ``chat_fn(messages, seed) -> str`` for :func:`vp_stats.studies.hvae.run_hvae` on a runner backend.

    Every call goes through the SQLite :class:`~vp_stats.llm.cache.AnswerCache`:
    the key (:func:`~vp_stats.llm.cache.request_key`) covers the backend
    identity (backend, model, model file sha256 or endpoint), the decoding
    parameters including the run's seed, the step kind and grammar, and the
    full conversation (``backend.prompt_text(messages)``: the rendered chat
    template holding every message for the local backend, the canonical JSON
    of the message list for HTTP backends). A cached answer is never asked
    again, so an interrupted grid resumes where it stopped.

    Parameters
    ----------
    backend : LlamaCppBackend, OpenAIBackend or compatible
        The backend protocol (:class:`vp_stats.llm.backends.Backend`): needs
        ``identity()``, ``prompt_text(messages)`` and
        ``generate(messages, decoding, grammar=None)``; grammar mode needs
        ``supports_grammar`` (default True).
    mode : {"grammar", "text"}
        ``"grammar"``: item replies are constrained to one letter A-I
        (:data:`ITEM_GRAMMAR`); ``"text"``: free generation (the parser of
        :func:`vp_stats.studies.hvae.run_hvae` then decides). The free-text steps (value
        description, goal sentence) are ordinary generation in both modes and
        share cache entries across modes.
    cache : AnswerCache or path, optional
        Default: an in-memory cache (nothing persisted).
    decoding : vp_stats.llm.runner.Decoding, optional
        Default :data:`DEFAULT_DECODING`. ``max_tokens`` limits the free-text
        steps; the seed is replaced by the seed :func:`vp_stats.studies.hvae.run_hvae` passes.
    item_max_tokens : int, optional
        Token limit of item replies (default 2 in grammar mode, 16 in text mode).
    reset_kv : {"run", "call", "never"}
        Local backend only: when to clear llama.cpp's KV cache before an LLM
        call. llama.cpp reuses the longest prompt prefix already evaluated,
        and logits computed in different batch layouts differ in the last
        bits, which can flip a sampled token at temperature > 0. ``"run"``
        (default) clears it at the first step of every conversation, so a
        complete run depends only on its own prompts and seed (not on what
        ran before it) while later steps still reuse the run's own prefix;
        ``"call"`` clears it before every call (fully history-independent,
        slower: each step re-reads the whole conversation); ``"never"``
        maximises reuse. Answers read from the cache are always exact.

    Returns
    -------
    callable
        ``chat_fn(messages, seed) -> str`` with attributes ``stats``
        (``{"n_calls": new LLM calls, "n_cached": answers read from the
        cache}``), ``cache``, ``mode`` and ``decoding``. A failed call
        (timeout, HTTP error after its retries) raises
        :class:`~vp_stats.llm.backends.BackendError` (nothing is cached; a
        rerun resumes).

    Examples
    --------
    >>> class Fake:
    ...     def identity(self):
    ...         return {"backend": "fake", "model": "letters"}
    ...     def prompt_text(self, messages):
    ...         return repr(messages)
    ...     def generate(self, messages, decoding, grammar=None):
    ...         return runner.GenResult(raw_text="B")
    >>> from vp_stats.llm.hvae import build_messages
    >>> chat = make_chat_fn(Fake(), mode="text")
    >>> msgs = build_messages("prosocial", ["A prosocial person ..."])
    >>> chat(msgs, 0), chat(msgs, 0), chat.stats
    ('B', 'B', {'n_calls': 1, 'n_cached': 1})
    """
    if mode not in CHAT_MODES:
        raise ValueError(f"mode must be one of {CHAT_MODES}; got {mode!r}")
    decoding = DEFAULT_DECODING if decoding is None else decoding
    if item_max_tokens is None:
        item_max_tokens = 2 if mode == "grammar" else 16
    if int(item_max_tokens) < 1:
        raise ValueError(f"item_max_tokens must be >= 1; got {item_max_tokens!r}")
    if reset_kv not in ("run", "call", "never"):
        raise ValueError(f"reset_kv must be 'run', 'call' or 'never'; got {reset_kv!r}")
    cb = CachedBackend(backend, cache)
    stats = {"n_calls": 0, "n_cached": 0}

    def chat_fn(messages: list[dict[str, str]], seed: int) -> str:
        item = is_item_turn(messages)
        dec = replace(
            decoding,
            seed=int(seed),
            max_tokens=int(item_max_tokens) if item else decoding.max_tokens,
        )
        gram = ITEM_GRAMMAR if (item and mode == "grammar") else None
        label = f"hvae-item-{mode}" if item else "hvae-free"
        req = cb.prepare(messages, label, {"task": "hvae", "grammar": gram, **asdict(dec)})
        hit = cb.lookup([req]).get(req.key)
        if hit is not None:
            stats["n_cached"] += 1
            return hit["raw_text"] or ""
        first_step = not any(m.get("role") == "assistant" for m in messages)
        if reset_kv == "call" or (reset_kv == "run" and first_step):
            cb.reset()
        rec = cb.answer(req, decoding=dec, grammar=gram)
        stats["n_calls"] += 1
        if rec.get("error") and str(rec["error"]).startswith(CALL_FAILED):
            # a failed call (timeout, HTTP error) must not become a reply: the run stops, nothing is cached
            raise runner.BackendError(f"{label} step failed: {rec['error']}")
        return rec.get("raw_text") or ""

    chat_fn.stats = stats  # type: ignore[attr-defined]
    chat_fn.cache = cb.cache  # type: ignore[attr-defined]
    chat_fn.mode = mode  # type: ignore[attr-defined]
    chat_fn.decoding = decoding  # type: ignore[attr-defined]
    return chat_fn
