"""LLM backends: one protocol, a local llama.cpp model and any OpenAI-compatible endpoint.

Every backend offers the :class:`Backend` protocol:

* ``identity()``: the non-secret description that enters every cache key;
* ``prompt_text(messages)``: the exact text the model receives (hashed into the key);
* ``generate(messages, decoding, grammar=None)``: one answer, optionally constrained
  by any GBNF ``grammar`` (text);
* ``score(messages, continuations)``: the log-probability of each complete answer
  (:class:`Scores`);
* ``reset()``: forget any evaluation state (the local model's KV cache);
* attributes ``backend``, ``model``, ``concurrency``, ``secret`` (None or the API
  key, registered with :mod:`vp_stats.redact`), ``supports_grammar`` and
  ``supports_scoring``.

Code outside :mod:`vp_stats.llm` uses only this protocol, through the cached call
path of :mod:`vp_stats.llm.calls`. :class:`BaseBackend` gives the defaults for
backends written elsewhere (tests, notebooks). The backends themselves live in
:mod:`vp_stats.llm.local` (llama.cpp) and :mod:`vp_stats.llm.openai_backend` (HTTP);
:func:`make_backend` builds either from the command line's options.

Examples
--------
>>> answer_grammar(("yes", "no"))
'root ::= "yes" | "no"\\n'
>>> isinstance(BaseBackend(), Backend)
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from vp_stats import redact, schema

__all__ = [
    "BACKENDS",
    "PHRASES",
    "Backend",
    "BackendError",
    "BaseBackend",
    "Capabilities",
    "Decoding",
    "DeadlineExceeded",
    "GenResult",
    "GrammarError",
    "Scores",
    "answer_grammar",
    "capabilities",
    "grammar_text",
    "make_backend",
    "scores_to_result",
]

#: Answer phrases in rating order 1..6.
PHRASES: tuple[str, ...] = tuple(schema.LIKERT_LABELS[r] for r in range(1, 7))


class BackendError(RuntimeError):
    """A backend could not be set up or did not answer (message says why; secrets redacted)."""

    def __init__(self, message: object = ""):
        super().__init__(redact.redact(message))


class GrammarError(ValueError):
    """A grammar is not valid GBNF."""


class DeadlineExceeded(TimeoutError):
    """A request did not finish within its wall-clock deadline (connect, reads and retries)."""


def answer_grammar(phrases=PHRASES[::-1]) -> str:
    """GBNF grammar allowing exactly one of the answer phrases.

    Examples
    --------
    >>> "not like me at all" in answer_grammar()
    True
    """
    alts = " | ".join(json.dumps(p) for p in phrases)
    return f"root ::= {alts}\n"


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters (part of every cache key)."""

    temperature: float = 0.0
    max_tokens: int = 32
    top_p: float = 1.0
    seed: int = 0


@dataclass
class GenResult:
    """One backend answer; ``error`` set means the call gave no answer (never cached)."""

    raw_text: str = ""
    distribution: list[float] | None = None
    answer_mass: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None


@dataclass
class Scores:
    """Log-probabilities (natural log) of complete answers, in the order asked."""

    logprobs: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    #: None when exact; otherwise how the scores were approximated (e.g. first token only). Only
    #: approximate scores may hold ``-inf`` (an answer given probability 0), never all of them.
    approximation: str | None = None
    error: str | None = None


def scores_to_result(phrases: Sequence[str], scores: Scores) -> GenResult:
    """The answer of a scoring request: distribution renormalised over the answers, their total
    mass.

    Examples
    --------
    >>> import math
    >>> r = scores_to_result(("a", "b"), Scores([math.log(0.3), math.log(0.1)]))
    >>> r.raw_text, [round(p, 6) for p in r.distribution], round(r.answer_mass, 6)
    ('a', [0.75, 0.25], 0.4)
    """
    if scores.error is not None:
        return GenResult(error=scores.error)
    logps = np.asarray(scores.logprobs, dtype=np.float64)
    usable = np.isfinite(logps) | ((logps == -np.inf) & (scores.approximation is not None))
    if logps.shape != (len(phrases),) or not usable.all() or not np.isfinite(logps).any():
        return GenResult(
            error=f"the backend returned {int(np.isfinite(logps).sum())} usable scores for "
            f"{len(phrases)} answers"
        )
    mass = float(np.exp(logps).sum())
    dist = np.exp(logps - logps.max())
    dist /= dist.sum()
    return GenResult(
        raw_text=phrases[int(np.argmax(dist))],
        distribution=dist.tolist(),
        answer_mass=mass,
        prompt_tokens=scores.prompt_tokens,
        completion_tokens=scores.completion_tokens,
    )


@runtime_checkable
class Backend(Protocol):
    """What every LLM backend offers (see the module docstring)."""

    backend: str
    model: str
    concurrency: int
    supports_grammar: bool
    supports_scoring: bool

    @property
    def secret(self) -> str | None: ...

    def identity(self) -> dict: ...

    def prompt_text(self, messages: list[dict]) -> str: ...

    def generate(
        self, messages: list[dict], decoding: Decoding, grammar: str | None = None
    ) -> GenResult: ...

    def score(self, messages: list[dict], continuations: Sequence[str]) -> Scores: ...

    def reset(self) -> None: ...


class BaseBackend:
    """Defaults of the :class:`Backend` protocol for backends written elsewhere (fakes, adapters).

    Subclasses implement ``identity``, ``prompt_text`` and ``generate`` (and ``score``
    when ``supports_scoring``).
    """

    backend = "custom"
    model = "custom"
    concurrency = 1
    supports_grammar = True
    supports_scoring = True
    secret: str | None = None

    def identity(self) -> dict:
        return {"backend": self.backend, "model": self.model}

    def prompt_text(self, messages: list[dict]) -> str:
        return json.dumps(messages, sort_keys=True, ensure_ascii=False)

    def generate(self, messages, decoding, grammar=None) -> GenResult:
        raise BackendError(f"{type(self).__name__} does not generate")

    def score(self, messages, continuations) -> Scores:
        raise BackendError(
            f"{type(self).__name__} cannot score given answers; use mode text or grammar"
        )

    def score_phrases(self, messages: list[dict], phrases=PHRASES, **options) -> GenResult:
        """:meth:`score` turned into the answer distribution over ``phrases``
        (:func:`scores_to_result`);
        ``options`` go to ``score`` (e.g. the local backend's ``share_prefix``)."""
        return scores_to_result(tuple(phrases), self.score(messages, tuple(phrases), **options))

    def reset(self) -> None:
        return None


@dataclass(frozen=True)
class Capabilities:
    concurrency: int
    secret: str | None
    supports_grammar: bool
    supports_scoring: bool
    #: How ``score`` computes its answers' log-probabilities (part of scoring requests' keys), or
    #: None.
    scoring: str | None = None


def capabilities(backend) -> Capabilities:
    """The protocol's attributes of any backend, with :class:`BaseBackend`'s defaults (the one place
    that probes).

    Raises ``TypeError`` naming what is missing when ``backend`` lacks a required method.
    """
    missing = [
        m
        for m in ("identity", "prompt_text", "generate")
        if not callable(getattr(backend, m, None))
    ]
    if missing:
        raise TypeError(
            f"{type(backend).__name__} is not an LLM backend: it lacks {', '.join(missing)} "
            "(see vp_stats.llm.backends.Backend)"
        )
    return Capabilities(
        concurrency=max(1, int(getattr(backend, "concurrency", 1) or 1)),
        secret=getattr(backend, "secret", None),
        supports_grammar=bool(getattr(backend, "supports_grammar", True)),
        supports_scoring=callable(getattr(backend, "score", None))
        and bool(getattr(backend, "supports_scoring", True)),
        scoring=getattr(backend, "scoring", None),
    )


def grammar_text(grammar, phrases) -> str | None:
    """``grammar`` as GBNF text; ``True`` (the former flag) means the answer-phrase grammar."""
    if grammar is True:
        return answer_grammar(tuple(phrases)[::-1])
    if grammar is False or grammar is None:
        return None
    if not isinstance(grammar, str) or "root" not in grammar:
        raise GrammarError(f"grammar must be GBNF text with a root rule, got {str(grammar)[:60]!r}")
    return grammar


# ----------------------------------------------------------- construction from command-line options

BACKENDS = ("local", "openai")


def make_backend(
    kind: str = "local",
    *,
    model: str | None = None,
    model_path=None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    concurrency: int = 4,
    timeout: float = 60.0,
    retries: int = 5,
    chat_template=None,
):
    """The backend the command line's ``--backend`` options describe (``ValueError`` on bad
    options).

    ``chat_template`` is a :class:`vp_stats.llm.templates.ChatTemplate` (read a file with
    :func:`vp_stats.io.templates.load_chat_template`); ``model_path`` is the local backend's GGUF
    file, the one path :mod:`vp_stats.llm` takes (llama.cpp loads its weights from a file).

    Examples
    --------
    >>> make_backend("cloud")
    Traceback (most recent call last):
    ...
    ValueError: --backend must be local or openai, got 'cloud'
    """
    if kind not in BACKENDS:
        raise ValueError(f"--backend must be local or openai, got {kind!r}")
    if int(concurrency) < 1 or int(retries) < 0 or not (timeout > 0):
        raise ValueError("--concurrency must be >= 1, --retries >= 0 and --timeout > 0")
    if kind == "local":
        if base_url is not None:
            raise ValueError("--base-url needs --backend openai")
        if chat_template is not None:
            raise ValueError(
                "--chat-template needs --backend openai (the local model uses its own)"
            )
        from vp_stats.llm.local import LlamaCppBackend

        return LlamaCppBackend(model_path=model_path, name=model)
    if not model:
        raise ValueError("--backend openai needs --model (the model name at the endpoint)")
    if model_path is not None:
        raise ValueError("--model-path needs --backend local")
    from vp_stats.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
        chat_template=chat_template,
    )
