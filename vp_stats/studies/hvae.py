"""HVAE orchestration layer: running the protocol with a chat function or on a backend.

:func:`run_hvae` walks the steps of :mod:`vp_stats.llm.hvae` with any
``chat_fn(messages, seed) -> str`` and returns the transcript;
:func:`run_grid` builds a cached chat function on a runner backend
(:func:`vp_stats.llm.hvae.make_chat_fn`) and runs targets x runs x goal
conditions, scored with :mod:`vp_stats.stats.hvae`. Nothing here writes
files: the command line writes the tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from vp_stats.instruments import svo
from vp_stats.instruments.svo import TARGETS, check_target
from vp_stats.io.cache import AnswerCache, open_cache
from vp_stats.llm.backends import Decoding, capabilities
from vp_stats.llm.hvae import DEFAULT_DECODING, PARSERS, build_messages, make_chat_fn, steps
from vp_stats.stats.hvae import irrational_rule, score_runs, summarise_runs

__all__ = [
    "HVAEGrid",
    "run_grid",
    "run_hvae",
]


def run_hvae(
    chat_fn: Callable[[list[dict[str, str]], int], str],
    targets: Sequence[str] = TARGETS,
    n_runs: int = 1,
    seed: int = 0,
    with_goal: bool = False,
    *,
    parser: str = "strict",
    item_order: Sequence[int] | None = None,
    system_prompt: str | None = None,
) -> pd.DataFrame:
    """Run the HVAE protocol with any chat function.

    Parameters
    ----------
    chat_fn : callable
        ``chat_fn(messages, seed) -> str``: the assistant's reply to the
        conversation so far (a list of ``{"role", "content"}`` dicts ending
        with a user message). Any backend fits (local llama.cpp, an HTTP API,
        a deterministic fake in tests). It receives a fresh copy of the
        messages at every step.
    targets : sequence of str
        Targets from :data:`TARGETS` (each run is independent).
    n_runs : int
        Runs per target.
    seed : int
        Base seed; run ``r`` of every target uses seed ``seed + r`` for all its
        steps (so targets are paired by seed).
    with_goal : bool
        Include the one-sentence goal step.
    parser : {"strict", "lenient"}
        Reply parser for the item steps.
    item_order : sequence of int, optional
        Presentation order of items 1-6 (default 1..6).
    system_prompt : str, optional
        System message prepended to every conversation.

    Returns
    -------
    pandas.DataFrame
        The transcript, one row per (target, run, step): ``target``, ``run``,
        ``seed``, ``step``, ``item`` (canonical item id, missing for the value
        and goal steps), ``position``, ``prompt``, ``reply``, ``letter``
        (parsed A-I or missing) and ``parse_ok`` (missing for non-item steps).
        Score it with :func:`score_runs`.

    Examples
    --------
    >>> t = run_hvae(lambda m, s: "A", targets=["altruistic"], n_runs=1)
    >>> t[["step", "item", "letter", "parse_ok"]].head(3)
         step  item letter  parse_ok
    0   value  <NA>   <NA>      <NA>
    1  item_1     1      A      True
    2  item_2     2      A      True
    """
    if parser not in PARSERS:
        raise ValueError(f"unknown parser {parser!r}; use 'strict' or 'lenient'")
    if int(n_runs) != n_runs or n_runs < 1:
        raise ValueError(f"n_runs must be a positive integer; got {n_runs!r}")
    for t in targets:
        check_target(t)
    step_names = steps(with_goal, item_order)
    n_lead = 2 if with_goal else 1
    rows = []
    for target in targets:
        for run in range(int(n_runs)):
            run_seed = int(seed) + run
            replies: list[str] = []
            for k, step in enumerate(step_names):
                msgs = build_messages(
                    target,
                    replies,
                    with_goal=with_goal,
                    item_order=item_order,
                    system_prompt=system_prompt,
                )
                reply = chat_fn([dict(m) for m in msgs], run_seed)
                if not isinstance(reply, str):
                    raise TypeError(
                        f"chat_fn returned {type(reply).__name__} for target {target!r}, "
                        f"run {run}, step {step!r}; expected str"
                    )
                replies.append(reply)
                is_item = step.startswith("item_")
                letter = PARSERS[parser](reply) if is_item else None
                rows.append(
                    {
                        "target": target,
                        "run": run,
                        "seed": run_seed,
                        "step": step,
                        "item": int(step.split("_")[1]) if is_item else None,
                        "position": k - n_lead + 1 if is_item else None,
                        "prompt": msgs[-1]["content"],
                        "reply": reply,
                        "letter": letter,
                        "parse_ok": (letter is not None) if is_item else None,
                    }
                )
    df = pd.DataFrame(rows)
    df["item"] = df["item"].astype("Int64")
    df["position"] = df["position"].astype("Int64")
    df["letter"] = df["letter"].astype("string")
    df["parse_ok"] = df["parse_ok"].astype("boolean")
    return df


class HVAEGrid(NamedTuple):
    """Result of :func:`run_grid`: ``runs``, ``summary`` and ``transcript`` tables, how many
    answers were new LLM calls (``n_calls``) or came from the cache (``n_cached``), and the
    value-rationality rule applied to one-letter and intransitive runs (``irrational``, with
    its sentence ``rule``; :func:`vp_stats.stats.hvae.irrational_rule`)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    transcript: pd.DataFrame
    n_calls: int = 0
    n_cached: int = 0
    irrational: str = "miss"
    rule: str = ""


def run_grid(
    backend: Any,
    targets: Sequence[str] = TARGETS,
    n_runs: int = 2,
    seed: int = 0,
    with_goal: bool | Sequence[bool] = (False, True),
    *,
    cache: AnswerCache | str | os.PathLike | None = None,
    mode: str = "grammar",
    temperature: float | None = None,
    decoding: Decoding | None = None,
    item_max_tokens: int | None = None,
    reset_kv: str = "run",
    parser: str = "strict",
    convention: str = "murphy",
    item_order: Sequence[int] | None = None,
    system_prompt: str | None = None,
    target_angles: Mapping[str, float] | None = None,
    progress: bool = False,
    irrational: str = "miss",
) -> HVAEGrid:
    """Run the HVAE protocol on a backend over targets x runs x goal conditions.

    Parameters
    ----------
    backend : LlamaCppBackend, OpenAIBackend or compatible
        See :func:`make_chat_fn`.
    targets : sequence of str
        Targets from :data:`TARGETS` (default: all four).
    n_runs : int
        Runs per (target, goal condition).
    seed : int
        Base seed: run ``r`` uses seed ``seed + r`` for every step, in every
        target and goal condition (conditions are paired by seed). With
        temperature > 0 runs with different seeds differ; the same seed and
        settings give the same answers (and a cached grid is read back
        exactly).
    with_goal : bool or sequence of bool
        Goal conditions to run (default both). The value-description step is
        the same request in both conditions (same target, seed and message),
        so it is generated once and shared: the conditions of a run differ
        only from the goal step on.
    cache : AnswerCache or path, optional
        SQLite answer cache (default in memory). Pass a path to persist/resume: the file is
        opened here (:func:`vp_stats.io.cache.open_cache`) and closed at the end.
    mode : {"grammar", "text"}
        Item answer mode (:func:`make_chat_fn`).
    temperature : float, optional
        Overrides the temperature of ``decoding`` (default
        :data:`DEFAULT_DECODING`, 0.7).
    decoding : vp_stats.llm.Decoding, optional
        Decoding parameters (``max_tokens`` limits the free-text steps).
    item_max_tokens, reset_kv
        See :func:`make_chat_fn`.
    parser : {"strict", "lenient"}
        Reply parser for items (HVAE's rule is ``"strict"``).
    convention : {"murphy", "hvae"}
        Category boundaries used for ``svo_category`` and hits.
    item_order, system_prompt
        See :func:`run_hvae`.
    target_angles : mapping, optional
        Override of :data:`~vp_stats.instruments.svo.TARGET_ANGLES` (see
        :func:`~vp_stats.stats.hvae.target_angle`).
    progress : bool
        Show a tqdm bar over LLM steps.
    irrational : {"miss", "exclude", "include"}
        What a run answered with one letter throughout (position bias) or with intransitive
        preferences counts for in ``hit`` and the summary
        (:func:`vp_stats.stats.hvae.irrational_rule`; default: a miss, and left out of the
        angular distance).

    Returns
    -------
    HVAEGrid
        ``runs``: one row per (with_goal, target, run): ``model``, ``mode``,
        ``temperature``, ``with_goal``, ``target``, ``run``, ``seed``,
        ``answers`` (letters in presentation order, ``?`` = parse failure),
        ``n_parse_failures``, ``complete``, ``svo_angle``, ``svo_category``,
        ``category_match``, ``rational``, ``hit`` (under ``irrational``),
        ``target_angle``, ``abs_angular_distance``, ``transitive``,
        ``preference_ranking``, ``position_bias`` (all six answers the same
        letter), ``value_reply``, ``goal_reply`` (missing without the goal
        step) and ``item_replies`` (JSON list of the six raw replies).
        ``summary``: :func:`summarise_runs` per (with_goal, target).
        ``transcript``: :func:`run_hvae`'s table with ``with_goal``.

    Examples
    --------
    >>> from vp_stats.llm.backends import GenResult
    >>> class Fake:  # always answers E
    ...     def identity(self):
    ...         return {"backend": "fake", "model": "always-e"}
    ...     def prompt_text(self, messages):
    ...         return repr(messages)
    ...     def generate(self, messages, decoding, grammar=None):
    ...         return GenResult(raw_text="E")
    >>> g = run_grid(Fake(), targets=["prosocial"], n_runs=2, with_goal=False)
    >>> g.runs[["target", "run", "seed", "answers", "svo_category", "position_bias"]]
          target  run  seed answers svo_category  position_bias
    0  prosocial    0     0  EEEEEE    prosocial           True
    1  prosocial    1     1  EEEEEE    prosocial           True
    >>> print(g.summary.loc[0, "hit_rate"], g.summary.loc[0, "n_rational"])  # position bias
    0.0 0
    """
    rule = irrational_rule(irrational)
    conditions = [bool(with_goal)] if isinstance(with_goal, (bool, np.bool_)) else list(with_goal)
    if not conditions or any(not isinstance(w, (bool, np.bool_)) for w in conditions):
        raise ValueError(
            f"with_goal must be a bool or a non-empty sequence of bools; got {with_goal!r}"
        )
    if len(set(conditions)) != len(conditions):
        raise ValueError(f"with_goal lists a condition twice: {with_goal!r}")
    targets = list(targets)
    for t in targets:
        check_target(t)
    if convention not in svo.CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; use one of {svo.CONVENTIONS}")
    dec = DEFAULT_DECODING if decoding is None else decoding
    if temperature is not None:
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0; got {temperature!r}")
        dec = replace(dec, temperature=float(temperature))
    stack = ExitStack()
    chat = make_chat_fn(
        backend,
        mode=mode,
        cache=stack.enter_context(open_cache(cache)),
        decoding=dec,
        item_max_tokens=item_max_tokens,
        reset_kv=reset_kv,
    )

    n_steps = sum(len(steps(w, item_order)) for w in conditions) * len(targets) * int(n_runs)
    from tqdm.auto import tqdm

    bar = tqdm(total=n_steps, disable=not progress, unit="step", desc="HVAE")

    def counted(messages, s):
        out = chat(messages, s)
        bar.update(1)
        return out

    transcripts, runs, summaries = [], [], []
    model = str(backend.identity().get("model"))
    concurrency = capabilities(backend).concurrency
    try:
        for w in conditions:
            tr = _run_conditions(
                counted,
                targets,
                n_runs,
                seed,
                w,
                concurrency,
                parser=parser,
                item_order=item_order,
                system_prompt=system_prompt,
            )
            sc = score_runs(
                tr, convention=convention, target_angles=target_angles, irrational=irrational
            )
            sc.insert(0, "with_goal", w)
            texts = _run_texts(tr)
            sc = sc.merge(texts, on=["target", "run"], how="left")
            sm = summarise_runs(sc, irrational=irrational)
            sm.insert(0, "with_goal", w)
            tr.insert(0, "with_goal", w)
            transcripts.append(tr)
            runs.append(sc)
            summaries.append(sm)
    finally:
        bar.close()
        stack.close()
    runs_df = pd.concat(runs, ignore_index=True)
    runs_df = runs_df.rename(columns={"letters": "answers", "constant_letter": "position_bias"})
    runs_df.insert(0, "model", model)
    runs_df.insert(1, "mode", mode)
    runs_df.insert(2, "temperature", dec.temperature)
    cols = [
        "model",
        "mode",
        "temperature",
        "with_goal",
        "target",
        "run",
        "seed",
        "answers",
        "n_items_parsed",
        "n_parse_failures",
        "complete",
        "svo_angle",
        "svo_category",
        "category_match",
        "rational",
        "hit",
        "target_angle",
        "abs_angular_distance",
        "transitive",
        "preference_ranking",
        "position_bias",
        "value_reply",
        "goal_reply",
        "item_replies",
    ]
    runs_df = runs_df[cols]
    summary = pd.concat(summaries, ignore_index=True)
    summary.insert(0, "model", model)
    transcript = pd.concat(transcripts, ignore_index=True)
    stats = chat.stats  # type: ignore[attr-defined]
    return HVAEGrid(
        runs_df, summary, transcript, stats["n_calls"], stats["n_cached"], irrational, rule
    )


def _run_conditions(chat, targets, n_runs, seed, with_goal, concurrency, **kw) -> pd.DataFrame:
    """:func:`run_hvae` over ``targets``; with ``concurrency > 1`` (HTTP backends) the conversations
    of
    different (target, run) pairs run in parallel threads (each conversation's steps stay
    sequential);
    the transcript is the same table in the same order."""
    pairs = [(t, r) for t in targets for r in range(int(n_runs))]
    if concurrency <= 1 or len(pairs) <= 1:
        return run_hvae(chat, targets, n_runs, seed, with_goal, **kw)
    from concurrent.futures import ThreadPoolExecutor

    def one(pair):
        t, r = pair
        tr = run_hvae(chat, [t], 1, int(seed) + r, with_goal, **kw)
        return tr.assign(run=r)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        parts = list(pool.map(one, pairs))
    return pd.concat(parts, ignore_index=True)


def _run_texts(tr: pd.DataFrame) -> pd.DataFrame:
    """Raw replies per (target, run): value, goal and item replies (JSON list)."""
    rows = []
    for (target, run), g in tr.groupby(["target", "run"], sort=False):
        by_step = dict(zip(g["step"], g["reply"], strict=True))
        items = g[g["step"].str.startswith("item_")]["reply"].tolist()
        rows.append(
            {
                "target": target,
                "run": run,
                "value_reply": by_step.get("value"),
                "goal_reply": by_step.get("goal"),
                "item_replies": json.dumps(items, ensure_ascii=False),
            }
        )
    return pd.DataFrame(rows)
