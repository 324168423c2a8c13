"""Tests for HVAE (the protocol, metrics and runs, Zhang et al. 2023, arXiv 2305.17147).

References: hand-worked metric values; Murphy et al. (2011) ideal-type angles
and reachable range; HVAE's acceptable answers (bare letter, optional full
stop); deterministic fake chat functions for the protocol logic.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from vp_stats.instruments import svo
from vp_stats.llm import hvae as hvae_protocol
from vp_stats.stats import hvae as hvae_metrics
from vp_stats.studies import hvae as hvae_runs

# ---------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------

STRICT_CASES = [
    ("A", "A"),
    ("I", "I"),
    ("C.", "C"),
    ("  C.  ", "C"),
    ("\nE\n", "E"),
    ("c", None),
    ("C..", None),
    ("C!", None),
    ("(C)", None),
    ("J", None),
    ("Option C", None),
    ("I choose C.", None),
    ("", None),
    ("AB", None),
    ("A B", None),
    (". C", None),
]

LENIENT_CASES = [
    ("C", "C"),
    ("C.", "C"),
    ("c", "C"),
    ("i.", "I"),
    ("(C)", "C"),
    ("**D**", "D"),
    ("'F'", "F"),
    ("C)", "C"),
    ("Option C", "C"),
    ("option: G", "G"),
    ("I choose C.", "C"),
    ("I choose I.", "I"),
    ("I would pick option B because it is fair.", "B"),
    ("My answer is: E", "E"),
    ("My choice is H", "H"),
    ("Answer - A", "A"),
    ("I'll go with F.", "F"),
    ("C: 85, 68", "C"),
    ("The answer is C, not option A.", None),  # two choice phrases, two letters
    ("Option A or option B", None),
    ("A or B", None),
    ("I think a fair split matters most.", None),
    ("J", None),
    ("Option J", None),
    ("None of the options suit me.", None),
    ("", None),
    ("I choose the first one.", None),
]


@pytest.mark.parametrize(("reply", "expected"), STRICT_CASES)
def test_parse_strict(reply, expected):
    assert hvae_protocol.parse_strict(reply) == expected
    assert hvae_protocol.parse_reply(reply, "strict") == expected


@pytest.mark.parametrize(("reply", "expected"), LENIENT_CASES)
def test_parse_lenient(reply, expected):
    assert hvae_protocol.parse_lenient(reply) == expected
    assert hvae_protocol.parse_reply(reply, "lenient") == expected


def test_lenient_accepts_everything_strict_accepts():
    for reply, expected in STRICT_CASES:
        if expected is not None:
            assert hvae_protocol.parse_lenient(reply) == expected


def test_parser_guards():
    assert hvae_protocol.parse_strict(None) is None and hvae_protocol.parse_lenient(3) is None
    with pytest.raises(ValueError, match="unknown parser"):
        hvae_protocol.parse_reply("A", "fuzzy")


# ---------------------------------------------------------------------------
# Targets and value-rationality metrics
# ---------------------------------------------------------------------------


def test_target_angles_are_murphy_ideal_types():
    expected = {
        "altruistic": 61.39,
        "prosocial": 45.00,
        "individualistic": 0.0,
        "competitive": -16.26,
    }
    for t, a in expected.items():
        assert svo.TARGET_ANGLES[t] == pytest.approx(a, abs=0.005)
        assert hvae_metrics.target_angle(t) == pytest.approx(a, abs=0.005)
    assert hvae_metrics.target_angle("prosocial", {"prosocial": 37.48}) == 37.48
    # published two-decimal bounds are accepted
    assert hvae_metrics.target_angle("altruistic", {"altruistic": 61.39}) == 61.39
    assert hvae_metrics.target_angle("competitive", {"competitive": -16.26}) == -16.26


def test_unreachable_target_angle():
    with pytest.raises(ValueError, match=r"outside the reachable SVO range -16.26..61.39"):
        hvae_metrics.target_angle("altruistic", {"altruistic": 90.0})
    with pytest.raises(ValueError, match="reachable"):
        hvae_metrics.mean_abs_angular_distance(
            [10.0], "competitive", target_angles={"competitive": -45.0}
        )
    with pytest.warns(UserWarning, match="outside the reachable"):
        d = hvae_metrics.mean_abs_angular_distance(
            [10.0, 20.0],
            "competitive",
            target_angles={"competitive": -45.0},
            allow_unreachable=True,
        )
    assert d == pytest.approx(60.0)
    with pytest.raises(ValueError, match="unknown targets"):
        hvae_metrics.target_angle("prosocial", {"cooperative": 30.0})
    with pytest.raises(ValueError, match="unknown HVAE target 'cooperative'"):
        hvae_metrics.target_angle("cooperative")


def test_metrics_hand_worked():
    cats = ["prosocial", "individualistic", "prosocial", "prosocial", None]
    assert hvae_metrics.categorical_hit_rate(cats, "prosocial") == pytest.approx(3 / 4)
    assert (
        hvae_metrics.categorical_hit_rate(pd.Series(cats, dtype="category"), "individualistic")
        == 0.25
    )
    assert np.isnan(hvae_metrics.categorical_hit_rate([None, None], "prosocial"))
    # |30-45| + |45-45| + |50-45| = 20 -> mean 20/3; NaN ignored
    angles = [30.0, 45.0, 50.0, np.nan]
    assert hvae_metrics.mean_abs_angular_distance(angles, "prosocial") == pytest.approx(20 / 3)
    assert hvae_metrics.mean_abs_angular_distance(
        angles, "prosocial", normalise=True
    ) == pytest.approx((20 / 3) / 77.6497, rel=1e-4)
    # altruistic target 61.3895: |0 - 61.3895| = 61.3895
    assert hvae_metrics.mean_abs_angular_distance([0.0], "altruistic") == pytest.approx(
        61.3895, abs=1e-4
    )
    assert np.isnan(hvae_metrics.mean_abs_angular_distance([np.nan], "altruistic"))


# ---------------------------------------------------------------------------
# Prompts and conversation
# ---------------------------------------------------------------------------


def test_item_prompts_list_all_payoffs():
    for item in svo.PRIMARY_ITEMS:
        text = hvae_protocol.item_prompt(item, position=item)
        lines = re.findall(r"^([A-I]): (\d+) coins for you, (\d+) coins for the other", text, re.M)
        assert [x[0] for x in lines] == list(svo.OPTION_LETTERS)
        got = np.array([[int(x[1]), int(x[2])] for x in lines])
        np.testing.assert_array_equal(got, svo.PAYOFFS[item - 1])
        assert f"question {item} of 6" in text
        assert hvae_protocol.DEFAULT_GOAL in text
    assert "'Share fairly.'" in hvae_protocol.item_prompt(2, 1, goal="Share\nfairly.")
    with pytest.raises(ValueError, match="primary SVO items"):
        hvae_protocol.item_prompt(7)


def test_value_prompts_name_the_target():
    for t in svo.TARGETS:
        text = hvae_protocol.value_assignment_prompt(t)
        assert f"{t} value orientation" in text and hvae_protocol.VALUE_DEFINITIONS[t] in text
        for other in set(svo.TARGETS) - {t}:
            assert other not in text
    with pytest.raises(ValueError, match="unknown HVAE target"):
        hvae_protocol.value_assignment_prompt("selfish")


@pytest.mark.parametrize("with_goal", [False, True])
def test_conversation_structure(with_goal):
    names = hvae_protocol.steps(with_goal)
    assert len(names) == (8 if with_goal else 7)
    replies = [f"reply {k}" for k in range(len(names))]
    for k in range(len(names)):
        msgs = hvae_protocol.build_messages("competitive", replies[:k], with_goal=with_goal)
        assert [m["role"] for m in msgs] == ["user", "assistant"] * k + ["user"]
        assert [m["content"] for m in msgs[1::2]] == replies[:k]
    full = hvae_protocol.build_messages(
        "competitive", replies, with_goal=with_goal, system_prompt="sys"
    )
    assert full[0] == {"role": "system", "content": "sys"}
    assert [m["role"] for m in full[1:]] == ["user", "assistant"] * len(names)
    users = [m["content"] for m in full if m["role"] == "user"]
    assert users[0] == hvae_protocol.value_assignment_prompt("competitive")
    lock = hvae_protocol.role_lock_prompt()
    assert [lock in u for u in users] == [False, True] + [False] * (len(users) - 2)
    if with_goal:
        assert users[1] == lock + "\n\n" + hvae_protocol.goal_prompt()
        # item prompts quote the model's goal reply
        assert all("'reply 1'" in u for u in users[2:])
    else:
        assert users[1] == lock + "\n\n" + hvae_protocol.item_prompt(1, 1)
        assert all(hvae_protocol.DEFAULT_GOAL in u for u in users[1:])
    with pytest.raises(ValueError, match="replies for a conversation"):
        hvae_protocol.build_messages("competitive", replies + ["extra"], with_goal=with_goal)


def test_item_order_changes_presentation():
    msgs = hvae_protocol.build_messages("prosocial", ["desc"], item_order=[6, 5, 4, 3, 2, 1])
    assert msgs[-1]["content"].endswith(hvae_protocol.item_prompt(6, 1))
    assert hvae_protocol.steps(item_order=[6, 5, 4, 3, 2, 1])[1] == "item_6"


# ---------------------------------------------------------------------------
# Running with deterministic fake chat functions
# ---------------------------------------------------------------------------

IDEAL_FOR_TARGET = {t: svo.IDEAL_PATTERNS[svo.TARGET_IDEAL_TYPES[t]] for t in svo.TARGETS}


def _target_of(messages):
    first = next(m["content"] for m in messages if m["role"] == "user")
    return re.search(r"with an? (\w+) value orientation", first).group(1)


def _question(messages):
    m = re.search(r"question (\d) of 6", messages[-1]["content"])
    return int(m.group(1)) if m else None


def make_ideal_fake(log=None, fail=None):
    """Answers each item with the target's ideal option; `fail` = (target, run seed, q)."""

    def chat(messages, seed):
        if log is not None:
            log.append((len(messages), seed))
        messages.append({"role": "user", "content": "mutation must not leak"})
        msgs = messages[:-1]
        target = _target_of(msgs)
        q = _question(msgs)
        if q is None:
            return f"As a {target} person I ..."
        if fail is not None and (target, seed, q) == fail:
            return "I cannot decide."
        return svo.OPTION_LETTERS[IDEAL_FOR_TARGET[target][q - 1] - 1]

    return chat


def test_run_hvae_ideal_fake_hits_every_target():
    log = []
    tr = hvae_runs.run_hvae(make_ideal_fake(log), n_runs=2, seed=10, with_goal=True)
    assert len(tr) == 4 * 2 * 8
    assert tr.groupby(["target", "run"]).size().eq(8).all()
    # messages grow by two per step; seeds are seed + run
    assert [n for n, _ in log[:8]] == [1, 3, 5, 7, 9, 11, 13, 15]
    assert sorted({s for _, s in log}) == [10, 11]
    assert tr.loc[tr.run == 1, "seed"].eq(11).all()
    assert tr.parse_ok.dropna().all()
    runs = hvae_metrics.score_runs(tr)
    assert len(runs) == 8 and runs.complete.all() and runs.hit.all()
    np.testing.assert_allclose(runs.abs_angular_distance, 0.0, atol=1e-9)
    summ = hvae_metrics.summarise_runs(runs)
    assert summ.target.tolist() == list(svo.TARGETS)
    assert summ.hit_rate.eq(1.0).all() and summ.hit_rate_all_runs.eq(1.0).all()
    np.testing.assert_allclose(summ.mean_abs_angular_distance, 0.0, atol=1e-9)
    assert (summ.share_constant_letter == 0).all()


def test_run_hvae_records_failures_never_as_options():
    fake = make_ideal_fake(fail=("prosocial", 1, 3))
    tr = hvae_runs.run_hvae(fake, targets=["prosocial"], n_runs=2, seed=0)
    bad = tr[(tr.run == 1) & (tr.step == "item_3")].iloc[0]
    assert bad.reply == "I cannot decide." and pd.isna(bad.letter) and not bad.parse_ok
    runs = hvae_metrics.score_runs(tr)
    r1 = runs.set_index("run").loc[1]
    assert r1.n_parse_failures == 1 and r1.n_items_parsed == 5 and not r1.complete
    assert np.isnan(r1.svo_angle) and pd.isna(r1.hit) and pd.isna(r1.transitive)
    assert r1.letters == "AI?AEI"
    s = hvae_metrics.summarise_runs(runs).iloc[0]
    assert s.n_runs == 2 and s.n_complete == 1 and s.n_parse_failures == 1
    assert s.hit_rate == 1.0 and s.hit_rate_all_runs == 0.5


def test_position_bias_constant_letter():
    def always_a(messages, seed):
        return "A"

    runs = hvae_metrics.score_runs(hvae_runs.run_hvae(always_a, targets=["competitive"], n_runs=3))
    assert runs.constant_letter.all() and (~runs.transitive.astype(bool)).all()
    np.testing.assert_allclose(runs.svo_angle, 30.4655, atol=1e-4)
    s = hvae_metrics.summarise_runs(runs).iloc[0]
    assert s.n_rational == 0 and np.isnan(s.mean_abs_angular_distance)  # position bias: left out
    s = hvae_metrics.summarise_runs(runs, irrational="include").iloc[0]
    # competitive target, prosocial behaviour: hit rate 0, distance 30.4655 + 16.2602
    assert s.hit_rate == 0.0 and s.share_constant_letter == 1.0 and s.share_transitive == 0.0
    assert s.mean_abs_angular_distance == pytest.approx(46.7257, abs=1e-3)
    assert s.mean_abs_angular_distance_normalised == pytest.approx(46.7257 / 77.6497, abs=1e-4)
    assert s.modal_category == "prosocial" and s.sd_angle == pytest.approx(0.0, abs=1e-9)


def test_strict_and_lenient_parsing_in_runs():
    def verbose(messages, seed):
        return "I choose E." if _question(messages) else "description"

    strict = hvae_metrics.score_runs(hvae_runs.run_hvae(verbose, targets=["prosocial"]))
    lenient = hvae_metrics.score_runs(
        hvae_runs.run_hvae(verbose, targets=["prosocial"], parser="lenient")
    )
    assert strict.n_parse_failures.iloc[0] == 6 and not strict.complete.iloc[0]
    assert lenient.complete.iloc[0] and lenient.svo_angle.iloc[0] == pytest.approx(22.93, abs=0.01)


def test_summary_hand_worked():
    # prosocial target (45 deg): angles 40 (prosocial), 20 (individualistic), incomplete run
    runs = pd.DataFrame(
        {
            "target": ["prosocial"] * 3,
            "run": [0, 1, 2],
            "complete": [True, True, False],
            "svo_angle": [40.0, 20.0, np.nan],
            "svo_category": ["prosocial", "individualistic", None],
            "hit": pd.array([True, False, None], dtype="boolean"),
            "target_angle": 45.0,
            "abs_angular_distance": [5.0, 25.0, np.nan],
            "transitive": pd.array([True, False, None], dtype="boolean"),
            "constant_letter": pd.array([False, True, False], dtype="boolean"),
            "n_parse_failures": [0, 0, 2],
        }
    )
    s = hvae_metrics.summarise_runs(runs).iloc[0]
    assert s.hit_rate == 0.5 and s.hit_rate_all_runs == pytest.approx(1 / 3)
    assert s.mean_abs_angular_distance == 5.0  # run 1 (one letter, intransitive) is left out
    s = hvae_metrics.summarise_runs(runs, irrational="include").iloc[0]
    assert s.mean_abs_angular_distance == 15.0
    assert s.mean_angle == 30.0 and s.sd_angle == pytest.approx(np.std([40.0, 20.0], ddof=1))
    assert s.share_transitive == 0.5 and s.share_constant_letter == 0.5
    assert s.n_parse_failures == 2 and s.n_complete == 2


def test_run_hvae_argument_checks():
    with pytest.raises(ValueError, match="unknown HVAE target"):
        hvae_runs.run_hvae(lambda m, s: "A", targets=["selfish"])
    with pytest.raises(ValueError, match="n_runs"):
        hvae_runs.run_hvae(lambda m, s: "A", n_runs=0)
    with pytest.raises(ValueError, match="unknown parser"):
        hvae_runs.run_hvae(lambda m, s: "A", parser="fuzzy")
    with pytest.raises(TypeError, match="chat_fn returned NoneType for target 'altruistic', run 0"):
        hvae_runs.run_hvae(lambda m, s: None, targets=["altruistic"])
    tr = hvae_runs.run_hvae(lambda m, s: "E", targets=["altruistic"])
    with pytest.raises(ValueError, match="outside the reachable"):
        hvae_metrics.score_runs(tr, target_angles={"altruistic": 75.0})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        runs = hvae_metrics.score_runs(
            tr, target_angles={"altruistic": 75.0}, allow_unreachable=True
        )
    assert any("reachable" in str(x.message) for x in w)
    assert runs.abs_angular_distance.iloc[0] == pytest.approx(75.0 - 22.9321, abs=1e-3)
