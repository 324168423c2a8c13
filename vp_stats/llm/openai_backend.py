"""The HTTP backend: any OpenAI-compatible endpoint through the ``openai`` SDK.

Named ``openai_backend`` so that it never shadows the ``openai`` package.

Examples
--------
>>> import math
>>> [round(math.exp(v), 2) for v in first_token_scores([("yes", math.log(0.5))], ("yes", "no"))]
[0.5, 0.0]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import threading
import time
from collections.abc import Sequence

from vp_stats import redact
from vp_stats.llm.backends import (
    PHRASES,
    BackendError,
    BaseBackend,
    DeadlineExceeded,
    Decoding,
    GenResult,
    Scores,
    grammar_text,
)
from vp_stats.llm.retry import ServerSlots, http_client, request_deadline, with_retries
from vp_stats.llm.templates import ChatTemplate, answer_turns

__all__ = ["OpenAIBackend", "base_url_problem", "first_token_scores"]


def base_url_problem(url: object) -> str | None:
    """What is wrong with an endpoint URL (None if it is an http(s) URL with a host).

    Examples
    --------
    >>> base_url_problem("http://127.0.0.1:8000/v1") is None
    True
    >>> base_url_problem("localhost/v1")
    "must be an http:// or https:// URL with a host, got 'localhost/v1'"
    >>> base_url_problem("not a url")
    "must be a URL without spaces, got 'not a url'"
    >>> base_url_problem("http://host:port/v1")
    "has a port that is not a number 0-65535: 'http://host:port/v1'"
    """
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url.strip():
        return f"must be a non-empty string, got {url!r}"
    shown = redact.redact(url)
    if any(c.isspace() for c in url):
        return f"must be a URL without spaces, got {shown!r}"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"is not a URL ({exc}): {shown!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http:// or https:// URL with a host, got {shown!r}"
    try:
        _ = parts.port
    except ValueError:
        return f"has a port that is not a number 0-65535: {shown!r}"
    return None


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
        Wall-clock deadline of one attempt of a request in seconds (connecting and reading),
        counted from when the request is sent: time waiting for a free server slot (see
        Notes) does not count.
    retries : int
        Retries on 429, 5xx, timeouts and connection errors (``Retry-After`` or
        exponential backoff with per-request jitter).
    concurrency : int
        Parallel requests, at most (see Notes).
    chat_template : ChatTemplate, optional
        The served model's chat template (read from a ``.gguf`` file, a
        ``tokenizer_config.json`` or a Jinja file by
        :func:`vp_stats.io.templates.load_chat_template`). With it, :meth:`score` is
        exact on completions endpoints that echo prompt log-probabilities;
        without it, :meth:`score` is the first-token approximation over chat completions.
    top_logprobs : int
        Alternatives per token the first-token approximation asks for (OpenAI allows up to 20).

    Notes
    -----
    **Server slots.** The backend sends at most ``concurrency`` requests at once, and no more
    than the server serves: the ``total_slots`` a llama.cpp server reports at ``/props`` (asked
    once, before the first request), and half as many (down to one) for the rest of the run
    each time a request timed out while another was in flight (it was most likely waiting in
    the server's queue). Requests wait for a slot here, outside their deadline, so a server
    that answers one request at a time is not mistaken for a dead one
    (:class:`vp_stats.llm.retry.ServerSlots`).

    **Exact scoring** (``scoring = "echo:<16 hex digits of the template's sha256>"``): for each
    answer, one request
    to ``/v1/completions`` with the rendered prompt followed by the complete answer turn
    (``echo=True, logprobs=1, max_tokens=1, temperature=0``); the answer's log-probability
    is the sum of the echoed log-probabilities of the tokens after the prompt's. Where the
    prompt's tokens end is the longest run of tokens all answers' echoes share when the
    answers begin with different characters (so with different tokens) and the tokens after
    it spell each answer; otherwise the echo of one more request holding the prompt alone. The
    prompt's echoed tokens must be
    a prefix of each answer's, and the tokens after them must spell the answer (with or
    without its end-of-turn marker, which some servers show as empty text); an error says
    so otherwise. The generated token at the end of an echo is left out by the response's
    ``usage.completion_tokens``, or, without usage, when ``finish_reason`` is ``"length"``
    (a server that echoes a generated end-of-sequence token and reports no usage cannot
    be told apart). The llama.cpp server (``python -m
    llama_cpp.server``) and vLLM (``echo`` on ``/v1/completions``) implement this;
    OpenAI's own models no longer do.

    **First-token approximation** (``scoring = "first_token:k<top_logprobs>"``): one chat
    completion with
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
        if base_url is not None and (problem := base_url_problem(base_url)):
            raise BackendError(f"the base URL {problem}")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._api_key = os.environ.get(api_key_env) or "no-key"
        redact.register(self.secret)
        redact.register_url(base_url)  # a key in the URL (userinfo or ?api-key=) is a secret too
        self.timeout = float(timeout)
        self.retries, self.concurrency, self.backoff_base = (
            retries,
            max(1, int(concurrency)),
            backoff_base,
        )
        self.slots = ServerSlots(self.concurrency)
        self.server_slots: int | None = None  # as reported at /props
        self._probe_lock, self._probed = threading.Lock(), False
        # a key passed as a query parameter (?api-key=KEY) goes with every request, not into the
        # path the SDK appends to the base URL
        url, query = _split_query(base_url)
        self.client = openai.OpenAI(
            base_url=url,
            default_query=query or None,
            api_key=self._api_key,
            timeout=self.timeout,
            max_retries=0,
            http_client=http_client(self.timeout),
        )
        self.model_id = model
        if chat_template is not None and not isinstance(chat_template, ChatTemplate):
            raise TypeError(
                "chat_template must be a ChatTemplate (read a file with "
                f"vp_stats.io.templates.load_chat_template), got {type(chat_template).__name__}"
            )
        self.chat_template = chat_template
        if not 1 <= int(top_logprobs) <= 100:
            raise ValueError(f"top_logprobs must be 1..100, got {top_logprobs!r}")
        self.top_logprobs = int(top_logprobs)

    @property
    def scoring(self) -> str:
        """``echo:<first 16 hex digits of the template's sha256>`` (exact) or
        ``first_token:k<top_logprobs>``
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
            "base_url": redact.redact_url(self.base_url),
        }

    def prompt_text(self, messages: list[dict]) -> str:
        """Canonical JSON of the messages (what the server receives)."""
        return json.dumps(messages, sort_keys=True, ensure_ascii=False)

    def _probe_slots(self) -> None:
        """Once: the server's ``total_slots`` from llama.cpp's ``/props`` (next to ``/v1``) lowers
        the number of requests sent at once; any other answer leaves it."""
        with self._probe_lock:
            if self._probed:
                return
            self._probed = True
            if not self.base_url:
                return
            import httpx

            try:
                url = httpx.URL(self.base_url)
                root = url.path.rstrip("/").removesuffix("/v1")
                headers = {"Authorization": f"Bearer {self._api_key}"} if self.secret else {}
                resp = httpx.get(
                    url.copy_with(path=root + "/props"),
                    headers=headers,
                    timeout=min(5.0, self.timeout),
                )
                n = resp.json().get("total_slots") if resp.status_code == 200 else None
            except Exception:  # noqa: BLE001 - a server without /props: the limit stays
                return
            if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
                self.server_slots = n
                self.slots.report(n)

    def _request(self, call, request_id: str):
        """``call()`` with retries, each attempt within its own wall-clock deadline once it has a
        server slot; errors redacted, fatal ones as BackendError."""
        import openai

        where = redact.redact_url(self.base_url) or "(SDK default)"
        rng = random.Random(int(hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:16], 16))
        self._probe_slots()
        attempts = [0]

        def attempt():
            with self.slots.slot() as held:
                attempts[0] += 1
                try:
                    with request_deadline(time.monotonic() + self.timeout):
                        return call()
                except openai.APITimeoutError:
                    if held.crowded():  # probably queued behind our other requests: fewer
                        self.slots.narrow()
                    raise

        try:
            return with_retries(attempt, retries=self.retries, base=self.backoff_base, rng=rng)
        except DeadlineExceeded as exc:
            raise DeadlineExceeded(
                f"{where}: {redact.redact(exc)} (deadline {self.timeout:g} s)"
            ) from None
        except openai.APITimeoutError:
            raise DeadlineExceeded(
                f"{where}: no answer within {self.timeout:g} s in {attempts[0]} attempt(s) "
                "(the request deadline)"
            ) from None
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
        """One chat completion (``grammar`` sent as the llama.cpp server's field), with retries and
        a deadline."""
        text = grammar_text(grammar, phrases)
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

        where = redact.redact_url(self.base_url) or "(SDK default)"
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
                f"{where} sent a malformed echo (tokens must be text, log-probabilities numbers <= "
                "0)"
            )
        # the generated token(s) at the end: as many as the usage reports, else one when generation
        # hit max_tokens
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
        # what each answer's echoed tokens must spell: the whole turn, or the turn without its
        # end-of-turn marker (servers that show special tokens as empty text)
        spelled = [
            {turn, turn[: turn.rfind(ph) + len(ph)]}
            for turn, ph in zip(turns, phrases, strict=True)
        ]
        answers = [self._echo(prompt + turn) for turn in turns]
        p_tokens = None
        if len({turn[:1] for turn in turns}) > 1:
            # answers beginning with different characters begin with different tokens, so the
            # prompt's
            # tokens are the longest run all echoes share; kept if each answer's tokens spell its
            # text
            n = 0
            while all(len(t) > n for t, _ in answers) and len({t[n] for t, _ in answers}) == 1:
                n += 1
            if all("".join(t[n:]) in ok for ok, (t, _) in zip(spelled, answers, strict=True)):
                p_tokens = answers[0][0][:n]
        if (
            p_tokens is None
            # the prompt alone (last: a server reusing its KV cache evaluated each answer in one
            # batch)
        ):
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
                f"{redact.redact_url(self.base_url) or '(SDK default)'} returned no top_logprobs "
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
                f"{redact.redact_url(self.base_url) or '(SDK default)'} sent malformed "
                "top_logprobs "
                "(tokens must be text, log-probabilities finite numbers <= 0)"
            )
        logps = first_token_scores(pairs, phrases)
        return Scores(
            logps,
            prompt_tokens=getattr(getattr(resp, "usage", None), "prompt_tokens", None),
            completion_tokens=1,
            approximation="first_token",
        )


def _split_query(url: str | None) -> tuple[str | None, dict]:
    """A base URL without its query string, and the query's parameters."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    if not url or "?" not in url:
        return url, {}
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="")), dict(parse_qsl(parts.query))


def first_token_scores(top: Sequence[tuple[str, float]], phrases: Sequence[str]) -> list[float]:
    """The first-token approximation of answers' log-probabilities from a chat API's
    ``top_logprobs``.

    Each returned token whose text (stripped, lower case) is non-empty and begins an
    answer gives its probability to the answers it begins, in equal shares; an
    answer no token begins gets ``-inf``. See :class:`OpenAIBackend` (Notes).

    Examples
    --------
    >>> import math
    >>> top = [("not", math.log(0.5)), (" like", math.log(0.3)), ("Very", math.log(0.1)),
    ...        ("I", math.log(0.05))]
    >>> answers = ("not like me at all", "not like me", "like me", "very much like me")
    >>> [round(math.exp(v), 3) for v in first_token_scores(top, answers)]
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
