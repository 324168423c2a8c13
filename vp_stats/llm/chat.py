"""LLM layer: the cached chat function and grammar-constrained generation of HVAE runs.

The plumbing between a multi-turn protocol (:mod:`vp_stats.hvae`) and the
backends of :mod:`vp_stats.llm.runner`: recognising the turns that ask for one
letter (:func:`is_item_turn`, by :data:`ITEM_INSTRUCTION`, the last line of
every item prompt), generating with any GBNF grammar on a local llama.cpp
model or an OpenAI-compatible endpoint (:func:`generate_text`, which reaches
into ``backend.llm`` / ``backend.client``), and a cached, resumable
``chat_fn(messages, seed) -> str`` (:func:`make_chat_fn`). The protocol layers
above see only ``chat_fn``. This module never imports :mod:`vp_stats.hvae`
(its doctests do).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from functools import lru_cache
from typing import Any

from vp_stats.llm import runner
from vp_stats.llm.cache import AnswerCache, request_key, sha256_text

__all__ = [
    "CHAT_MODES",
    "DEFAULT_DECODING",
    "ITEM_GRAMMAR",
    "ITEM_INSTRUCTION",
    "generate_text",
    "is_item_turn",
    "make_chat_fn",
]

#: Last line of every item prompt (:func:`vp_stats.hvae.item_prompt`);
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
    """Whether a conversation ends with an item question (:func:`vp_stats.hvae.item_prompt`).

    Examples
    --------
    >>> from vp_stats.hvae import build_messages
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


@lru_cache(maxsize=16)
def _llama_grammar(text: str):
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


def generate_text(
    backend: Any,
    messages: list[dict[str, str]],
    decoding: runner.Decoding,
    grammar: str | None = None,
) -> runner.GenResult:
    """One generation from a runner backend, optionally constrained by any GBNF grammar.

    Parameters
    ----------
    backend : LlamaCppBackend, OpenAIBackend or compatible
        ``grammar=None``: ``backend.generate(messages, decoding)``.
        With a grammar: a backend's own ``generate_gbnf(messages, decoding,
        grammar)`` if it has one; the local backend renders the chat template
        (``backend.render``) and calls ``backend.llm.create_completion`` with
        ``LlamaGrammar.from_string(grammar)``; an OpenAI-compatible backend sends
        the grammar in the request body (``extra_body={"grammar": ...}``, the
        llama.cpp server's field, as :mod:`vp_stats.llm.runner` does). Endpoints
        that ignore the field answer unconstrained, so replies are always parsed.
    messages : list of dict
        Chat messages.
    decoding : vp_stats.llm.runner.Decoding
        Temperature, max_tokens, top_p, seed.
    grammar : str, optional
        GBNF text (e.g. :data:`ITEM_GRAMMAR`).

    Returns
    -------
    vp_stats.llm.runner.GenResult

    Examples
    --------
    >>> class Echo:
    ...     def generate(self, messages, decoding, grammar=False):
    ...         return runner.GenResult(raw_text=messages[-1]["content"].upper())
    >>> generate_text(Echo(), [{"role": "user", "content": "hi"}], DEFAULT_DECODING).raw_text
    'HI'
    """
    if grammar is None:
        return backend.generate(messages, decoding, grammar=False)
    if hasattr(backend, "generate_gbnf"):
        return backend.generate_gbnf(messages, decoding, grammar)
    if hasattr(backend, "llm") and hasattr(backend, "render"):
        llm = backend.llm
        prompt = llm.tokenize(backend.render(messages).encode("utf-8"), add_bos=False, special=True)
        out = llm.create_completion(
            prompt=prompt,
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            seed=decoding.seed,
            grammar=_llama_grammar(grammar),
        )
        usage = out.get("usage", {})
        return runner.GenResult(
            raw_text=out["choices"][0]["text"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )
    if hasattr(backend, "client"):
        return _openai_generate(backend, messages, decoding, grammar)
    raise ValueError(
        f"backend {type(backend).__name__} cannot constrain generation with a grammar; "
        "use mode='text' (free generation, then the strict parser)"
    )


def _openai_generate(backend, messages, decoding, grammar: str) -> runner.GenResult:
    """Chat completion with ``extra_body={"grammar": ...}`` and the runner's retries."""

    def call():
        return backend.client.chat.completions.create(
            model=backend.model,
            messages=messages,
            temperature=decoding.temperature,
            max_tokens=decoding.max_tokens,
            top_p=decoding.top_p,
            seed=decoding.seed,
            extra_body={"grammar": grammar},
        )

    resp = runner.with_retries(
        call,
        retries=getattr(backend, "retries", 5),
        base=getattr(backend, "backoff_base", 0.5),
    )
    if not resp.choices:
        return runner.GenResult(error="the model returned no choices")
    text = resp.choices[0].message.content
    usage = getattr(resp, "usage", None)
    return runner.GenResult(
        raw_text=text or "",
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        error=None if text else "the model returned an empty answer",
    )


def make_chat_fn(
    backend: Any,
    mode: str = "grammar",
    cache: AnswerCache | str | os.PathLike | None = None,
    decoding: runner.Decoding | None = None,
    *,
    item_max_tokens: int | None = None,
    reset_kv: str = "run",
) -> Callable[[list[dict[str, str]], int], str]:
    """A cached ``chat_fn(messages, seed) -> str`` for :func:`vp_stats.hvae.run_hvae` on a runner backend.

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
        Needs ``identity()``, ``prompt_text(messages)`` and
        ``generate(messages, decoding, grammar=False)``; grammar mode also
        needs a grammar route (see :func:`generate_text`).
    mode : {"grammar", "text"}
        ``"grammar"``: item replies are constrained to one letter A-I
        (:data:`ITEM_GRAMMAR`); ``"text"``: free generation (the parser of
        :func:`vp_stats.hvae.run_hvae` then decides). The free-text steps (value
        description, goal sentence) are ordinary generation in both modes and
        share cache entries across modes.
    cache : AnswerCache or path, optional
        Default: an in-memory cache (nothing persisted).
    decoding : vp_stats.llm.runner.Decoding, optional
        Default :data:`DEFAULT_DECODING`. ``max_tokens`` limits the free-text
        steps; the seed is replaced by the seed :func:`vp_stats.hvae.run_hvae` passes.
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
        cache}``), ``cache``, ``mode`` and ``decoding``.

    Examples
    --------
    >>> class Fake:
    ...     def identity(self):
    ...         return {"backend": "fake", "model": "letters"}
    ...     def prompt_text(self, messages):
    ...         return repr(messages)
    ...     def generate(self, messages, decoding, grammar=False):
    ...         return runner.GenResult(raw_text="B")
    >>> from vp_stats.hvae import build_messages
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
    if not isinstance(cache, AnswerCache):
        cache = AnswerCache(cache if cache is not None else ":memory:")
    cache.add_secret(getattr(backend, "secret", None))
    identity = backend.identity()
    llm = getattr(backend, "llm", None)
    can_reset = reset_kv != "never" and hasattr(llm, "reset")
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
        params = {"task": "hvae", "grammar": gram, **asdict(dec)}
        ptxt = backend.prompt_text(messages)
        key = request_key(identity, params, label, ptxt)
        hit = cache.get(key)
        if hit is not None:
            stats["n_cached"] += 1
            return hit["raw_text"] or ""
        first_step = not any(m.get("role") == "assistant" for m in messages)
        if can_reset and (reset_kv == "call" or first_step):
            llm.reset()
        t0 = time.perf_counter()
        res = generate_text(backend, messages, dec, gram)
        system = next((m["content"] for m in messages if m.get("role") == "system"), None)
        cache.put(
            {
                "key": key,
                **{k: identity.get(k) for k in ("backend", "model", "model_id")},
                "params": params,
                "mode": label,
                "prompt_hash": sha256_text(ptxt),
                "system_prompt": system,
                "raw_text": res.raw_text,
                "latency_s": time.perf_counter() - t0,
                "prompt_tokens": res.prompt_tokens,
                "completion_tokens": res.completion_tokens,
                "error": res.error,
            }
        )
        stats["n_calls"] += 1
        return res.raw_text or ""

    chat_fn.stats = stats  # type: ignore[attr-defined]
    chat_fn.cache = cache  # type: ignore[attr-defined]
    chat_fn.mode = mode  # type: ignore[attr-defined]
    chat_fn.decoding = decoding  # type: ignore[attr-defined]
    return chat_fn
