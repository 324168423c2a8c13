"""Tests of vp_stats.llm.parse: answer text -> rating 1..6.

References: upstream's own parsed answers (``numeric_response`` and
``parsed_response`` stored with every raw answer in the mirrored
``lm_evaluation/outputs/final`` files), upstream's recorded parse failures (the
"Could not parse valid Likert response from: ..." messages in
``average_outputs``), and hand-worked cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.io import datasets
from vp_stats.llm.parse import (
    FAILURE_REASONS,
    PHRASE_VARIANTS,
    normalize_text,
    parse_answer,
    parse_answers,
    strip_thinking,
)

UNPARSEABLE = "Could not parse valid Likert response from: "


@pytest.fixture(scope="module")
def mirrored_answers() -> pd.DataFrame:
    """Every raw answer of the mirror, read straight from the JSON (not via
    vp_stats.io.averaging)."""
    rows = []
    for rel in datasets.registered(datasets.RAW_OUTPUTS_DIR + "/"):
        for rec in datasets.read_json(datasets.fetch(rel)):
            rows.append(
                (
                    rel.rsplit("/", 1)[1],
                    rec["portrait_id"],
                    rec["option_id"],
                    rec["raw_response"],
                    rec["parsed_response"],
                    rec["numeric_response"],
                )
            )
    return pd.DataFrame(
        rows, columns=["file", "portrait_id", "option_id", "raw", "parsed", "numeric"]
    )


@pytest.fixture(scope="module")
def upstream_failures() -> pd.Series:
    """Answer texts upstream could not parse, recovered from the averaged files' error messages."""
    texts = []
    for rel in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/"):
        if not rel.endswith("_averaged_results.json"):
            continue
        for rec in datasets.read_json(datasets.fetch(rel)):
            for err in (rec.get("version_errors") or {}).values():
                if err["error"].startswith(UNPARSEABLE):
                    texts.append(err["error"][len(UNPARSEABLE) :])
    return pd.Series(texts, dtype=object)


# --------------------------------------------------------------------------- upstream agreement


def test_mirror_has_all_answers(mirrored_answers):
    # 2 models x 6 variants x 520 items, none of them a failed call
    assert len(mirrored_answers) == 6240
    assert mirrored_answers.numeric.between(1, 6).all()


def test_upstream_rule_agrees_on_every_mirrored_answer(mirrored_answers):
    # 6240 records, 0 disagreements, in rating and in the canonical phrase
    out = parse_answers(mirrored_answers.raw, rule="upstream")
    assert out.parse_ok.all()
    assert (out.rating.astype(int).to_numpy() == mirrored_answers.numeric.to_numpy()).all()
    assert (out.label.to_numpy() == mirrored_answers.parsed.to_numpy()).all()


def test_default_rule_agrees_except_three_upstream_misreads(mirrored_answers):
    """6240 records, 3 disagreements, all explained.

    The three are mistral-tiny answers that *begin* "Somewhat like me" and then
    explain that the response is not "very much like me" (quoted). Upstream takes
    the longest phrase anywhere (6); the default rule takes the leading answer (4).
    """
    out = parse_answers(mirrored_answers.raw)
    assert out.parse_ok.all()
    differ = mirrored_answers[
        out.rating.astype(int).to_numpy() != mirrored_answers.numeric.to_numpy()
    ]
    got = sorted(zip(differ.file, differ.portrait_id, differ.option_id, strict=True))
    assert got == [
        ("mistral-tiny_v2_reversed_results.json", 2038, 4),
        ("mistral-tiny_v3_results.json", 2012, 1),
        ("mistral-tiny_v3_reversed_results.json", 3075, 4),
    ]
    assert (differ.numeric == 6).all()
    assert (out.loc[differ.index, "rating"] == 4).all()
    assert (out.loc[differ.index, "reason"] == "leading").all()
    for text in differ.raw:
        assert text.lower().startswith("somewhat like me")
        assert '"very much like me' in text.lower()
    # elsewhere the labels agree too
    same = out.index.difference(differ.index)
    assert (
        out.loc[same, "label"].to_numpy() == mirrored_answers.loc[same, "parsed"].to_numpy()
    ).all()
    # how the answers were read: the rule's branches are all exercised on real data
    assert out.reason.value_counts().to_dict() == {"exact": 4553, "leading": 1647, "contained": 40}


@pytest.mark.parametrize("rule", ["default", "upstream"])
def test_upstream_parse_failures_stay_failures(upstream_failures, rule):
    # 166 answers upstream recorded as unparseable across the 34 models of the averaged files (49
    # empty, 117 without a phrase)
    assert len(upstream_failures) == 166
    out = parse_answers(upstream_failures, rule=rule)
    assert not out.parse_ok.any()
    assert out.rating.isna().all()
    assert out.reason.value_counts().to_dict() == {"no_phrase": 117, "empty": 49}


# --------------------------------------------------------------------------- hand cases

HAND_CASES = [
    # exact phrases, any case / whitespace / punctuation
    ("very much like me", 6, "exact"),
    ("Like me", 5, "exact"),
    ("SOMEWHAT LIKE ME", 4, "exact"),
    ("  a little   like me \n", 3, "exact"),
    ("Not like me.", 2, "exact"),
    ("not like me at all!!", 1, "exact"),
    ("**Not like me at all**", 1, "exact"),
    ('"Like me."', 5, "exact"),
    ("Somewhat-like-me", 4, "exact"),
    ("Not Like Me At All.", 1, "exact"),
    # upstream's paraphrases
    ("Like me very much.", 6, "exact"),
    ("It likes me very much", 6, "contained"),
    ("Not at all like me", 1, "exact"),
    ("Doesn’t like me", 2, "exact"),
    ("Little like me", 3, "exact"),
    ("Some what like me", 4, "exact"),
    ("isn't like me at all", 1, "exact"),
    # answer first, explanation after
    ("Somewhat like me. I would add more nuance.", 4, "leading"),
    (
        "Like me\n\nExplanation: it is close to how I think, though not very much like me.",
        5,
        "leading",
    ),
    (
        "Not like me at all.\n\nExplanation: I would never say 'very much like me' here.",
        1,
        "leading",
    ),
    ("Answer: A little like me. The tone differs.", 3, "leading"),
    ("A little like me; the advice is fine but blunt.", 3, "leading"),
    # reasoning first, answer last
    ("The response values honesty.\nIt is not my style though.\n\nNot like me", 2, "final_line"),
    ("Weighing it up.\nFinal answer: Very much like me", 6, "final_line"),
    ("Thinking about whether it is like me or not.\n\n**Somewhat like me**", 4, "final_line"),
    ("First I read it. Then I decide.\nSo overall. Like me.", 5, "final_line"),
    # thinking blocks are never read
    ("<think>Is it very much like me? Probably not.</think>\nA little like me", 3, "exact"),
    ("<THINK>like me</THINK> Not like me at all", 1, "exact"),
    ("<thinking>not like me at all</thinking>\n\nSomewhat like me.", 4, "exact"),
    ("I weighed like me vs. not like me... </think>\nLike me", 5, "exact"),
    # phrase inside a sentence
    ("This response is somewhat like me.", 4, "contained"),
    ("I'd say it's not like me overall, to be honest", 2, "contained"),
    ("Overall it is very much like me in spirit, yes, very much like me indeed", 6, "contained"),
    # longest phrase wins over the phrases it contains
    ("I think this is not like me at all in tone", 1, "contained"),
    ("It is a little like me in tone", 3, "contained"),
    # conflicting phrases inside running text: the longest wins, flagged
    ("Between like me and not like me at all, closer to the latter", 1, "conflicting_longest"),
    ("It could be like me or a little like me", 3, "conflicting_longest"),
    # failures: never a default rating
    ("I cannot answer that.", None, "no_phrase"),
    ("NTA", None, "no_phrase"),
    ("I would not like you at all if I were him", None, "no_phrase"),
    ("This is unlike me.", None, "no_phrase"),
    ("As mentioned, likely meaningful", None, "no_phrase"),
    ("", None, "empty"),
    ("   \n\t ", None, "empty"),
    ("...", None, "empty"),
    ("<think>very much like me</think>", None, "only_thinking"),
    ("<think>I guess like me, but let me check the", None, "only_thinking"),
    (None, None, "not_text"),
    (float("nan"), None, "not_text"),
    (5, None, "not_text"),
]


@pytest.mark.parametrize(("text", "rating", "reason"), HAND_CASES)
def test_hand_cases(text, rating, reason):
    res = parse_answer(text)
    assert res.rating == rating
    assert res.reason == reason
    assert res.ok is (rating is not None)
    if rating is None:
        assert res.label is None and res.phrase is None
        assert res.reason in FAILURE_REASONS
    else:
        assert res.label == schema.LIKERT_LABELS[rating]
        assert res.phrase in {normalize_text(v) for v in PHRASE_VARIANTS[rating]}


UPSTREAM_CASES = [
    ("Somewhat like me", 4, "exact"),
    ("  LIKE   me ", 5, "exact"),
    ("Like me.", 5, "contained_longest"),  # punctuation is kept, so not an exact match
    ("Somewhat like me. Not 'very much like me'.", 6, "contained_longest"),  # longest anywhere
    ("not like me at all", 1, "exact"),
    ("It is unlike me", 5, "contained_longest"),  # plain substring match
    ("<think>very much like me</think>like me", 6, "contained_longest"),  # no thinking removed
    (
        "somewhat like me or does not like me",
        4,
        "contained_longest",
    ),  # equal length: upstream order
    ("NTA", None, "no_phrase"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("text", "rating", "reason"), UPSTREAM_CASES)
def test_upstream_rule_hand_cases(text, rating, reason):
    res = parse_answer(text, rule="upstream")
    assert (res.rating, res.reason) == (rating, reason)


def test_every_variant_with_noise_is_read_exactly():
    # seeded random case, padding and punctuation around every accepted phrase
    rng = np.random.default_rng(20250501)
    for rating, variants in PHRASE_VARIANTS.items():
        for v in variants:
            for _ in range(20):
                chars = [c.upper() if rng.random() < 0.5 else c for c in v]
                noisy = "".join(chars).replace(" ", " " * int(rng.integers(1, 4)))
                noisy = (
                    rng.choice(["", "**", '"', "  ", "\n"])
                    + noisy
                    + rng.choice(["", ".", "!", "**", " \n"])
                )
                res = parse_answer(noisy)
                assert (res.rating, res.reason) == (rating, "exact"), noisy


def test_each_label_embedded_in_a_sentence():
    # the longest phrase is taken, so "not like me at all" is never "like me" or "not like me"
    for rating, label in schema.LIKERT_LABELS.items():
        res = parse_answer(f"Honestly, I find it {label} in most respects")
        assert (res.rating, res.reason) == (rating, "contained")


def test_strip_thinking():
    assert strip_thinking("<think>a</think>b<think>c</think>d") == ("b\nd", True)
    assert strip_thinking("<reasoning>x</reasoning>Like me") == ("Like me", True)
    assert strip_thinking("Like me <think>unfinished") == ("Like me", True)
    assert strip_thinking("plain") == ("plain", False)


def test_normalize_text():
    assert normalize_text("  Isn’t  LIKE-me,   at ALL!? ") == "isnt like me at all"
    assert normalize_text("ＬＩＫＥ ＭＥ") == "like me"  # NFKC folds full-width letters


# --------------------------------------------------------------------------- vectorised helper


def test_parse_answers_matches_scalar_and_keeps_index():
    texts = pd.Series(
        ["Like me", None, "Somewhat like me. Because.", "Like me", np.nan, "nope"],
        index=[10, 11, 12, 13, 14, 15],
    )
    out = parse_answers(texts)
    assert out.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert out.columns.tolist() == ["rating", "label", "phrase", "reason", "parse_ok"]
    assert str(out.rating.dtype) == "Int64"
    for idx, text in texts.items():
        ref = parse_answer(text)
        row = out.loc[idx]
        assert row.reason == ref.reason
        assert bool(row.parse_ok) is ref.ok
        assert (pd.isna(row.rating) and ref.rating is None) or row.rating == ref.rating
    assert out.parse_ok.tolist() == [True, False, True, True, False, False]


def test_parse_answers_accepts_lists_and_empty_input():
    out = parse_answers(["A little like me", "x"])
    assert out.rating.tolist() == [3, pd.NA]
    empty = parse_answers(pd.Series([], dtype=object))
    assert len(empty) == 0 and empty.columns.tolist() == [
        "rating",
        "label",
        "phrase",
        "reason",
        "parse_ok",
    ]


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="unknown parsing rule 'fuzzy'"):
        parse_answer("Like me", rule="fuzzy")
    with pytest.raises(ValueError, match="unknown parsing rule"):
        parse_answers(["Like me"], rule="fuzzy")


def test_phrase_table_starts_with_the_schema_labels():
    assert list(PHRASE_VARIANTS) == [6, 5, 4, 3, 2, 1]
    for rating, variants in PHRASE_VARIANTS.items():
        assert variants[0] == schema.LIKERT_LABELS[rating]
