"""Map an LLM's answer text to the 6-point Value Portrait scale.

The Value Portrait prompts ask the model to answer with exactly one of six
phrases (:data:`vp_stats.schema.LIKERT_LABELS`): "very much like me" = 6,
"like me" = 5, "somewhat like me" = 4, "a little like me" = 3, "not like me" = 2,
"not like me at all" = 1. Models often add words, punctuation, an explanation
or (reasoning models) their thinking. :func:`parse_answer` decides which phrase
the model gave; :func:`parse_answers` does it for a whole column.

An answer that cannot be read is a *failure*: ``rating`` is ``None`` and
``reason`` says why. There is never a default rating.

Accepted phrases
----------------
Each rating is matched by its label and the paraphrases upstream's parser
accepts (:data:`PHRASE_VARIANTS`, e.g. "likes me very much", "not at all like
me", "little like me", "doesn't like me"), so the two parsers agree on which
texts count as an answer.

Rule ``"default"`` (vp-stats)
-----------------------------
The text is first *cleaned*: ``<think>``, ``<thinking>`` and ``<reasoning>``
blocks are removed (an unclosed opening tag removes everything after it, a
closing tag without an opening one removes everything before it: thinking is
never read as the answer). Matching is on *normalised* text: Unicode NFKC,
lower case, apostrophes dropped ("doesn't" = "doesnt"), every other character
that is not a letter or digit turned into a space, runs of spaces collapsed.
So case, whitespace and punctuation never matter. Phrases match whole words
only ("unlike me" and "like mentioned" contain no phrase). Then, in order:

1. ``exact``: the whole cleaned text is one phrase ("**Somewhat like me.**").
2. ``leading``: the first line, or its first sentence (up to ``. ! ? ; :``), is
   one phrase, optionally after "answer:"/"rating:"/"final answer:": the model
   answered first and explained afterwards ("Somewhat like me. I think ...").
3. ``final_line``: the last line, or its last sentence, is one phrase (same
   optional prefix): the model reasoned first and answered last
   ("... so overall:\\n\\nFinal answer: like me").
4. ``contained``: the phrases found anywhere in the text all mean the same
   rating. Overlapping matches count as one phrase, the longest, so "not like
   me at all" is never also read as "like me" or "not like me".
5. ``conflicting_longest``: they disagree: the longest phrase wins, as in
   upstream (ties: the order of :data:`PHRASE_VARIANTS`). The reason flags the
   ambiguity so it can be reviewed.
6. otherwise a failure: ``not_text`` (None, NaN, a number), ``empty``,
   ``only_thinking`` (nothing left outside the thinking) or ``no_phrase``.

Rule ``"upstream"``
-------------------
A faithful re-implementation of upstream's ``parse_likert_response``
(``lm_evaluation/src/core/response_parser.py``): lower case and collapsed
whitespace only (punctuation kept, no thinking removed); an exact match of the
whole text, else the longest phrase occurring anywhere as a *substring*
(reasons ``exact`` and ``contained_longest``). Use it for parity with the
published numbers.

Step 2 comes before step 3 because a model that opens with a phrase has
answered and is commenting afterwards (it may quote other phrases, or echo the
option list); reasoning models' thinking normally arrives in a separate field
or in think tags, and when it does not, the first line is rarely a bare phrase.

Agreement with upstream
-----------------------
On the 6,240 mirrored upstream answers (gpt-4o-2024-11-20 and mistral-tiny,
6 variants x 520 items) the ``"upstream"`` rule reproduces every stored
rating; the default rule differs on 3, all mistral-tiny answers that begin
"Somewhat like me" and then explain that the response is *not* "very much like
me": upstream's longest-substring rule reads them as 6, the default rule as 4.
Both rules fail on all 166 answers upstream recorded as unparseable across the
34 models of the averaged files (see ``tests/llm/test_parse.py``).

References
----------
Han, Choi, Song, Lee, Jo (2025). Value Portrait. ACL 2025, arXiv 2505.01015;
answer mapping in holi-lab/ValuePortrait, ``lm_evaluation/src/core/response_parser.py``.

Examples
--------
>>> from vp_stats.llm.parse import parse_answer
>>> parse_answer("Not like me at all.")
ParsedAnswer(rating=1, label='not like me at all', phrase='not like me at all', reason='exact')
>>> parse_answer("<think>Maybe very much like me? No.</think>\\nSomewhat like me").rating
4
>>> parse_answer("I cannot answer that.")
ParsedAnswer(rating=None, label=None, phrase=None, reason='no_phrase')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd

from vp_stats import schema

__all__ = [
    "PHRASE_VARIANTS",
    "RULES",
    "FAILURE_REASONS",
    "ParsedAnswer",
    "normalize_text",
    "strip_thinking",
    "parse_answer",
    "parse_answers",
]

#: Paraphrases accepted for each rating, in upstream's order (rating 6 first).
#: The first entry of each is the label of :data:`vp_stats.schema.LIKERT_LABELS`;
#: the others are the variants upstream's ``parse_likert_response`` accepts.
PHRASE_VARIANTS = MappingProxyType(
    {
        6: (schema.LIKERT_LABELS[6], "likes me very much", "like me very much"),
        5: (schema.LIKERT_LABELS[5], "likes me"),
        4: (
            schema.LIKERT_LABELS[4],
            "somewhat likes me",
            "some what like me",
            "some what likes me",
        ),
        3: (schema.LIKERT_LABELS[3], "little like me"),
        2: (schema.LIKERT_LABELS[2], "does not like me", "doesn't like me", "is not like me"),
        1: (
            schema.LIKERT_LABELS[1],
            "not at all like me",
            "does not like me at all",
            "isn't like me at all",
        ),
    }
)

#: Parsing rules understood by :func:`parse_answer`.
RULES: tuple[str, ...] = ("default", "upstream")

#: Reasons of a failed parse (``rating`` is None).
FAILURE_REASONS: tuple[str, ...] = ("not_text", "empty", "only_thinking", "no_phrase")


class ParsedAnswer(NamedTuple):
    """Result of parsing one answer.

    Attributes
    ----------
    rating : int or None
        1..6, or None when the answer could not be read.
    label : str or None
        Canonical label of the rating (:data:`vp_stats.schema.LIKERT_LABELS`).
    phrase : str or None
        The accepted phrase that was matched, normalised (may be a paraphrase).
    reason : str
        How the rating was found, or why parsing failed (:data:`FAILURE_REASONS`).
    """

    rating: int | None
    label: str | None
    phrase: str | None
    reason: str

    @property
    def ok(self) -> bool:
        """True when a rating was found."""
        return self.rating is not None


# --------------------------------------------------------------------------- normalisation

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize_text(text: str) -> str:
    """Lower-case, drop apostrophes, turn other non-alphanumerics into single spaces.

    Examples
    --------
    >>> normalize_text("  **Doesn’t** like-me!! ")
    'doesnt like me'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


_THINK_BLOCK = re.compile(
    r"<(think|thinking|reasoning)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_THINK_OPEN = re.compile(r"<(?:think|thinking|reasoning)\b[^>]*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)\s*>", re.IGNORECASE)


def strip_thinking(text: str) -> tuple[str, bool]:
    """Remove reasoning blocks; return the remaining text and whether any was removed.

    Closed ``<think>...</think>`` (also ``thinking``/``reasoning``) blocks are
    deleted; text before a stray closing tag and after an unclosed opening tag is
    thinking too and is deleted.

    Examples
    --------
    >>> strip_thinking("<think>like me?</think> Not like me")
    ('Not like me', True)
    >>> strip_thinking("weighing it up... </think>Like me")
    ('Like me', True)
    >>> strip_thinking("Like me")
    ('Like me', False)
    """
    out = _THINK_BLOCK.sub("\n", text)
    removed = out != text
    closes = list(_THINK_CLOSE.finditer(out))
    if closes:
        out, removed = out[closes[-1].end() :], True
    opened = _THINK_OPEN.search(out)
    if opened:
        out, removed = out[: opened.start()], True
    return out.strip(), removed


# --------------------------------------------------------------------------- phrase tables

#: normalised phrase -> rating, longest phrase first (upstream order among equals).
_NORM_PHRASES: dict[str, int] = {}
for _rating, _variants in PHRASE_VARIANTS.items():
    for _v in _variants:
        _NORM_PHRASES.setdefault(normalize_text(_v), _rating)
_BY_LENGTH = sorted(_NORM_PHRASES, key=len, reverse=True)  # stable: upstream order among ties
_RANK = {p: k for k, p in enumerate(_BY_LENGTH)}  # 0 = longest
_PHRASE_RES = tuple(
    (p, re.compile(r"(?<![a-z0-9])" + re.escape(p) + r"(?![a-z0-9])")) for p in _BY_LENGTH
)
_PREFIX_RE = re.compile(
    r"^(?:(?:my|the|your)\s+)?(?:final\s+)?(?:answer|rating|response|choice|verdict)(?:\s+is)?\s+"
)
_SENTENCE_END = re.compile(r"[.!?;:]")

#: upstream's table: (canonical label, variant as upstream normalises it), in upstream order.
_UPSTREAM_TABLE: tuple[tuple[int, str], ...] = tuple(
    (rating, " ".join(v.lower().split())) for rating, vs in PHRASE_VARIANTS.items() for v in vs
)


def _ok(rating: int, phrase: str, reason: str) -> ParsedAnswer:
    return ParsedAnswer(rating, schema.LIKERT_LABELS[rating], phrase, reason)


def _fail(reason: str) -> ParsedAnswer:
    return ParsedAnswer(None, None, None, reason)


def _as_phrase(fragment: str) -> str | None:
    """The phrase a text fragment consists of (after an optional 'answer:' prefix), if any."""
    norm = normalize_text(fragment)
    if norm in _NORM_PHRASES:
        return norm
    norm = _PREFIX_RE.sub("", norm)
    return norm if norm in _NORM_PHRASES else None


def _is_prefix(fragment: str) -> bool:
    return _PREFIX_RE.fullmatch(normalize_text(fragment) + " ") is not None


def _edge_phrase(line: str, last: bool) -> str | None:
    """Phrase making up a whole line, or its first (``last``: final) sentence.

    A sentence that is only an answer prefix ("Final answer:") joins the next one.
    """
    found = _as_phrase(line)
    if found is not None:
        return found
    pieces = [p for p in _SENTENCE_END.split(line) if normalize_text(p)]
    if len(pieces) < 2:
        return None
    if last:  # "... Final answer: like me" ends in the phrase itself
        return _as_phrase(pieces[-1])
    found = _as_phrase(pieces[0])
    if found is None and _is_prefix(pieces[0]):
        found = _as_phrase(pieces[1])
    return found


def _maximal_matches(norm: str) -> list[str]:
    """Phrases found in normalised text, one per region of overlapping matches, in text order.

    Matches that overlap form one region, read as its longest phrase: "not like
    me at all" is not also "like me" or "not like me", and "is not like me at
    all" (which holds both "is not like me" and "not like me at all") is 1.
    """
    spans = sorted(
        (m.start(), m.end(), p) for p, rx in _PHRASE_RES if p in norm for m in rx.finditer(norm)
    )
    regions: list[list[tuple[int, int, str]]] = []
    end = -1
    for span in spans:
        if span[0] < end:
            regions[-1].append(span)
            end = max(end, span[1])
        else:
            regions.append([span])
            end = span[1]
    return [min((p for _, _, p in region), key=_RANK.__getitem__) for region in regions]


def _parse_default(text: str) -> ParsedAnswer:
    cleaned, had_thinking = strip_thinking(text)
    norm = normalize_text(cleaned)
    if not norm:
        return _fail("only_thinking" if had_thinking and normalize_text(text) else "empty")
    if norm in _NORM_PHRASES:
        return _ok(_NORM_PHRASES[norm], norm, "exact")
    lines = [ln for ln in cleaned.splitlines() if normalize_text(ln)]
    found = _edge_phrase(lines[0], last=False)
    if found is not None:
        return _ok(_NORM_PHRASES[found], found, "leading")
    found = _edge_phrase(lines[-1], last=True)
    if found is not None:
        return _ok(_NORM_PHRASES[found], found, "final_line")
    matches = _maximal_matches(norm)
    if not matches:
        return _fail("no_phrase")
    ratings = {_NORM_PHRASES[m] for m in matches}
    if len(ratings) == 1:
        return _ok(ratings.pop(), matches[-1], "contained")
    longest = min(matches, key=_RANK.__getitem__)
    return _ok(_NORM_PHRASES[longest], longest, "conflicting_longest")


def _parse_upstream(text: str) -> ParsedAnswer:
    norm = " ".join(text.lower().split())
    for rating, variant in _UPSTREAM_TABLE:
        if variant == norm:
            return _ok(rating, variant, "exact")
    hits = [(rating, variant) for rating, variant in _UPSTREAM_TABLE if variant in norm]
    if not hits:
        return _fail("empty" if not norm else "no_phrase")
    hits.sort(key=lambda h: len(h[1]), reverse=True)  # stable, as upstream's list.sort
    return _ok(hits[0][0], hits[0][1], "contained_longest")


def parse_answer(text: object, rule: str = "default") -> ParsedAnswer:
    """Parse one answer text to a rating 1..6 (or a recorded failure).

    Parameters
    ----------
    text : str
        The model's answer. Anything that is not a string (None, NaN) is the
        failure ``not_text``.
    rule : {"default", "upstream"}
        ``"default"``: the vp-stats rule (module docstring): thinking removed,
        case/whitespace/punctuation insensitive, whole-word phrases, leading or
        final answer first, else the phrases found, longest winning among
        conflicting ones. ``"upstream"``: upstream's ``parse_likert_response``.

    Returns
    -------
    ParsedAnswer
        ``(rating, label, phrase, reason)``; ``rating`` is None on failure.

    Examples
    --------
    >>> parse_answer("  VERY   much like me!! ")
    ParsedAnswer(rating=6, label='very much like me', phrase='very much like me', reason='exact')
    >>> parse_answer("Somewhat like me. It is not 'very much like me'.").reason
    'leading'
    >>> parse_answer("Somewhat like me. It is not 'very much like me'.", rule="upstream").rating
    6
    >>> parse_answer("Let me think.\\nThe tone differs.\\n\\n**Answer:** A little like me").rating
    3
    >>> parse_answer("It is unlike me.")
    ParsedAnswer(rating=None, label=None, phrase=None, reason='no_phrase')
    >>> parse_answer(None).reason
    'not_text'
    """
    if rule not in RULES:
        raise ValueError(f"unknown parsing rule {rule!r}; expected one of {RULES}")
    if not isinstance(text, str):
        return _fail("not_text")
    return _parse_default(text) if rule == "default" else _parse_upstream(text)


def parse_answers(texts: pd.Series | Iterable[object], rule: str = "default") -> pd.DataFrame:
    """Parse many answers; one row per input, aligned on the input's index.

    Each distinct text is parsed once (answers repeat a lot), so a column of
    100,000 answers takes well under a second.

    Parameters
    ----------
    texts : pandas.Series or iterable of str
        Answer texts; non-strings (None, NaN) are failures ``not_text``.
    rule : {"default", "upstream"}
        See :func:`parse_answer`.

    Returns
    -------
    pandas.DataFrame
        Columns ``rating`` (nullable ``Int64``), ``label``, ``phrase``,
        ``reason``, ``parse_ok`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> out = parse_answers(pd.Series(["Like me.", "not like me at all", "n/a"]))
    >>> out[["rating", "reason", "parse_ok"]]
       rating     reason  parse_ok
    0       5      exact      True
    1       1      exact      True
    2    <NA>  no_phrase     False
    """
    if rule not in RULES:
        raise ValueError(f"unknown parsing rule {rule!r}; expected one of {RULES}")
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    values = series.to_numpy(dtype=object)
    cache: dict[str, ParsedAnswer] = {}
    not_text = _fail("not_text")
    results = []
    for v in values:
        if isinstance(v, str):
            res = cache.get(v)
            if res is None:
                res = cache[v] = parse_answer(v, rule)
        else:
            res = not_text
        results.append(res)
    n = len(results)
    rating = np.fromiter(
        (r.rating if r.rating is not None else 0 for r in results), dtype=np.int64, count=n
    )
    ok = rating > 0
    return pd.DataFrame(
        {
            "rating": pd.arrays.IntegerArray(rating, ~ok),
            "label": pd.array([r.label for r in results], dtype=object),
            "phrase": pd.array([r.phrase for r in results], dtype=object),
            "reason": pd.array([r.reason for r in results], dtype=object),
            "parse_ok": ok,
        },
        index=series.index,
    )
