"""Tests for vp_stats.instruments.svo (SVO slider measure, Murphy et al. 2011).

References used as independent checks:
- Murphy, Ackermann & Handgraaf (2011), Table 1 (primary items) and the
  published ideal-type angles / reachable range;
- SVO_Slider.m (K. Ackermann, 2011; the authors' MATLAB scorer): secondary
  item matrix, ideal options, endpoint archetype pairs, version-B conversion;
- chapkovski/svo (oTree), svo/svo_choices.csv: the 15-item payoff table;
- plain-Python re-computations (loops, DFS cycle search) written here.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest

from vp_stats.instruments import svo

# ---------------------------------------------------------------------------
# Item tables
# ---------------------------------------------------------------------------

# Murphy et al. (2011) Table 1, as (self, other) per option (MISSION.md table).
MURPHY_PRIMARY = [
    [(85, 85), (85, 76), (85, 68), (85, 59), (85, 50), (85, 41), (85, 33), (85, 24), (85, 15)],
    [(85, 15), (87, 19), (89, 24), (91, 28), (93, 33), (94, 37), (96, 41), (98, 46), (100, 50)],
    [(50, 100), (54, 98), (59, 96), (63, 94), (68, 93), (72, 91), (76, 89), (81, 87), (85, 85)],
    [(50, 100), (54, 89), (59, 79), (63, 68), (68, 58), (72, 47), (76, 36), (81, 26), (85, 15)],
    [(100, 50), (94, 56), (88, 63), (81, 69), (75, 75), (69, 81), (63, 88), (56, 94), (50, 100)],
    [(100, 50), (98, 54), (96, 59), (94, 63), (93, 68), (91, 72), (89, 76), (87, 81), (85, 85)],
]

# SVO_Slider.m, matrix SM_inequality_stim_v1 (self, other interleaved per option).
ACKERMANN_SECONDARY = """
100 50 96 56 93 63 89 69 85 75 81 81 78 88 74 94 70 100
90 100 91 99 93 98 94 96 95 95 96 94 98 93 99 91 100 90
100 70 94 74 88 78 81 81 75 85 69 89 63 93 56 96 50 100
100 70 99 74 98 78 96 81 95 85 94 89 93 93 91 96 90 100
70 100 74 96 78 93 81 89 85 85 89 81 93 78 96 74 100 70
50 100 56 99 63 98 69 96 75 95 81 94 88 93 94 91 100 90
50 100 56 94 63 88 69 81 75 75 81 69 88 63 94 56 100 50
100 90 96 91 93 93 89 94 85 95 81 96 78 98 74 99 70 100
90 100 91 94 93 88 94 81 95 75 96 69 98 63 99 56 100 50
"""

# chapkovski/svo svo_choices.csv rows for items 7-15: "self;...,other;...".
CHAPKOVSKI_SECONDARY = [
    "100;96;93;89;85;81;78;74;70,50;56;63;69;75;81;88;94;100",
    "90;91;93;94;95;96;98;99;100,100;99;98;96;95;94;93;91;90",
    "100;94;88;81;75;69;63;56;50,70;74;78;81;85;89;93;96;100",
    "100;99;98;96;95;94;93;91;90,70;74;78;81;85;89;93;96;100",
    "70;74;78;81;85;89;93;96;100,100;96;93;89;85;81;78;74;70",
    "50;56;63;69;75;81;88;94;100,100;99;98;96;95;94;93;91;90",
    "50;56;63;69;75;81;88;94;100,100;94;88;81;75;69;63;56;50",
    "100;96;93;89;85;81;78;74;70,90;91;93;94;95;96;98;99;100",
    "90;91;93;94;95;96;98;99;100,100;94;88;81;75;69;63;56;50",
]


def test_primary_payoffs_match_murphy_table_1():
    assert svo.PAYOFFS.shape == (15, 9, 2)
    np.testing.assert_array_equal(svo.PAYOFFS[:6], np.array(MURPHY_PRIMARY))


def test_secondary_payoffs_match_two_independent_sources():
    ack = np.array(
        [[int(x) for x in line.split()] for line in ACKERMANN_SECONDARY.split("\n") if line]
    )
    ack = np.stack([ack[:, 0::2], ack[:, 1::2]], axis=2)
    chap = np.array(
        [
            [[int(v) for v in half.split(";")] for half in row.split(",")]
            for row in CHAPKOVSKI_SECONDARY
        ]
    ).transpose(0, 2, 1)
    np.testing.assert_array_equal(ack, chap)
    np.testing.assert_array_equal(svo.PAYOFFS[6:], ack)


def test_options_are_evenly_spaced_between_endpoints_within_rounding():
    # Published design: the nine options divide the line between the two
    # endpoints into eight equal steps, rounded to whole payoffs.
    p = svo.PAYOFFS.astype(float)
    step = np.arange(9)[None, :, None] / 8
    exact = p[:, :1] + step * (p[:, -1:] - p[:, :1])
    assert np.abs(p - exact).max() <= 0.5
    # all options of an item are distinct (a payoff pair identifies an option)
    for it in range(15):
        assert len({tuple(x) for x in svo.PAYOFFS[it]}) == 9


def test_secondary_ideals_equal_svo_slider_m():
    # ideal option vectors of SVO_Slider.m (option format)
    assert svo.SECONDARY_IDEALS["inequality_aversion"] == (6, 5, 4, 7, 5, 8, 5, 3, 2)
    assert svo.SECONDARY_IDEALS["joint_gain"] == (9, None, 1, 9, None, 9, None, 1, 1)
    assert svo.SECONDARY_IDEALS["individualist"] == (1, 9, 1, 1, 9, 9, 9, 1, 9)
    assert svo.SECONDARY_IDEALS["altruist"] == (9, 1, 9, 9, 1, 1, 1, 9, 1)


def test_secondary_items_contrast_joint_gain_with_inequality_aversion():
    sec = svo.PAYOFFS[6:]
    for i in range(9):
        s, o = sec[i, :, 0], sec[i, :, 1]
        ia = svo.SECONDARY_IDEALS["inequality_aversion"][i]
        jm = svo.SECONDARY_IDEALS["joint_gain"][i]
        # the equal split lies strictly inside the slider (|self - other| <= 3)
        assert 1 < ia < 9 and abs(int(s[ia - 1]) - int(o[ia - 1])) <= 3
        if jm is None:  # constant joint payoff between the endpoints
            assert s[0] + o[0] == s[-1] + o[-1]
        else:  # joint-gain ideal at an endpoint, away from the equal split
            assert jm in (1, 9) and jm != ia
            assert s[jm - 1] + o[jm - 1] > s[ia - 1] + o[ia - 1]
            assert abs(int(s[jm - 1]) - int(o[jm - 1])) >= 10 > abs(int(s[ia - 1]) - int(o[ia - 1]))
        # individualist and altruist at opposite endpoints
        assert {svo.SECONDARY_IDEALS["individualist"][i], svo.SECONDARY_IDEALS["altruist"][i]} == {
            1,
            9,
        }


def test_primary_endpoint_archetypes_equal_svo_slider_m():
    # SVO_Slider.m: catagories = [2 4; 4 3; 1 2; 1 4; 3 1; 3 2], 1=alt 2=pro 3=ind 4=comp
    code = {1: "altruistic", 2: "prosocial", 3: "individualistic", 4: "competitive"}
    matlab = [(2, 4), (4, 3), (1, 2), (1, 4), (3, 1), (3, 2)]
    assert dict(svo.PRIMARY_ENDPOINTS) == {
        i + 1: (code[a], code[b]) for i, (a, b) in enumerate(matlab)
    }
    pairs = {frozenset(v) for v in svo.PRIMARY_ENDPOINTS.values()}
    assert len(pairs) == 6  # every pair of archetypes exactly once


def test_item_table_and_version_orders():
    t = svo.item_table()
    assert t.shape == (135, 7)
    assert t.loc[
        (t.item == 2) & (t.option == 9), ["letter", "payoff_self", "payoff_other"]
    ].values.tolist() == [["I", 100, 50]]
    assert t.archetype.notna().sum() == 12
    # SVO_Slider.m conv_opt: version 2 = fliplr within the primary and secondary blocks
    assert svo.ITEM_ORDERS["B"] == (6, 5, 4, 3, 2, 1, 15, 14, 13, 12, 11, 10, 9, 8, 7)
    assert svo.presentation_order(9, "B") == (15, 14, 13, 12, 11, 10, 9, 8, 7)


# ---------------------------------------------------------------------------
# Angles, categories, transitivity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ideal", "angle"),
    [
        ("altruist", 61.39),
        ("joint_gain_maximizer", 45.00),
        ("inequality_averser", 37.48),
        ("individualist", 0.00),
        ("competitor", -16.26),
    ],
)
def test_ideal_type_angles(ideal, angle):
    pattern = svo.IDEAL_PATTERNS[ideal]
    assert svo.svo_angle(list(pattern)) == pytest.approx(angle, abs=0.01)
    assert svo.IDEAL_TYPE_ANGLES[ideal] == pytest.approx(angle, abs=0.01)
    # plain-Python recomputation from Murphy's table
    pay = [MURPHY_PRIMARY[i][k - 1] for i, k in enumerate(pattern)]
    ms = sum(p[0] for p in pay) / 6
    mo = sum(p[1] for p in pay) / 6
    assert math.degrees(math.atan2(mo - 50, ms - 50)) == pytest.approx(angle, abs=0.01)


def test_individualist_range():
    # item 1 fixes self at 85: the individualist's free choice there spans -7.82..7.82
    angles = [svo.svo_angle([k, 9, 9, 9, 1, 1]) for k in range(1, 10)]
    assert max(angles) == pytest.approx(7.82, abs=0.01)
    assert min(angles) == pytest.approx(-7.82, abs=0.01)
    assert all(svo.svo_category(a) == "individualistic" for a in angles)


@pytest.mark.parametrize(
    ("letter", "angle", "category", "transitive"),
    [
        ("A", 30.47, "prosocial", False),
        ("E", 22.93, "prosocial", True),
        ("I", 14.74, "individualistic", False),
    ],
)
def test_constant_letter_patterns(letter, angle, category, transitive):
    r = svo.score_svo([letter] * 6).iloc[0]
    assert r.svo_angle == pytest.approx(angle, abs=0.01)
    assert r.svo_category == category
    assert bool(r.transitive) is transitive


def test_transitivity_hand_worked_all_e():
    # All-E, by hand (squared distances to the endpoints):
    # item 1 (85,50): 35^2 vs 35^2 -> tie prosocial/competitive (half each)
    # item 2 (93,33): 388 vs 338 -> individualistic beats competitive
    # item 3 (68,93): altruistic 373 vs prosocial 353 -> prosocial
    # item 4 (68,58): altruistic 2088 vs competitive 2138 -> altruistic
    # item 5 (75,75): tie individualistic/altruistic
    # item 6 (93,68): individualistic 373 vs prosocial 353 -> prosocial
    t = svo.transitivity([5] * 6).iloc[0]
    assert [t.wins_altruistic, t.wins_prosocial, t.wins_individualistic, t.wins_competitive] == [
        1.5,
        2.5,
        1.5,
        0.5,
    ]
    assert t.preference_ranking == "prosocial > altruistic = individualistic > competitive"
    assert bool(t.transitive)
    # All-A: A>P (3), P>C (1), C>I (2), I>A (5): a 4-cycle
    t = svo.transitivity([1] * 6).iloc[0]
    assert not bool(t.transitive)
    assert [t.wins_altruistic, t.wins_prosocial, t.wins_individualistic, t.wins_competitive] == [
        2,
        1,
        2,
        1,
    ]


def test_category_boundary_conventions():
    b = [57.15, 22.45, -12.04]
    assert svo.svo_category(b, "murphy").tolist() == ["altruistic", "prosocial", "individualistic"]
    assert svo.svo_category(b, "hvae").tolist() == ["prosocial", "individualistic", "competitive"]
    assert (
        svo.svo_category(57.1499) == "prosocial"
        and svo.svo_category(57.1501, "hvae") == "altruistic"
    )
    assert svo.svo_category(float("nan")) is None
    with pytest.raises(ValueError, match="convention"):
        svo.svo_category(0.0, "other")


# ---------------------------------------------------------------------------
# All 9**6 primary patterns
# ---------------------------------------------------------------------------

# Derived once with enumerate_primary_patterns() and verified below by a
# plain-Python loop over all patterns. No reachable angle lies within 0.0008
# degrees of a boundary, so both conventions give the same counts.
EXPECTED_COUNTS = {
    "altruistic": 260,
    "prosocial": 269348,
    "individualistic": 261605,
    "competitive": 228,
}
EXPECTED_TRANSITIVE = 222445


@pytest.fixture(scope="module")
def patterns():
    return svo.enumerate_primary_patterns()


def test_enumeration_range_and_counts(patterns):
    assert len(patterns) == 9**6
    assert patterns.svo_angle.min() == pytest.approx(-16.26, abs=0.01)
    assert patterns.svo_angle.max() == pytest.approx(61.39, abs=0.01)
    assert svo.REACHABLE_SPAN == pytest.approx(77.65, abs=0.01)
    for conv in svo.CONVENTIONS:
        counts = patterns[f"category_{conv}"].value_counts().to_dict()
        assert counts == EXPECTED_COUNTS
    assert int(patterns.transitive.sum()) == EXPECTED_TRANSITIVE
    gap = np.abs(patterns.svo_angle.to_numpy()[:, None] - np.array(svo.CATEGORY_BOUNDARIES)).min()
    assert gap > 5e-4


def test_enumeration_counts_plain_python():
    # Independent slow-but-simple check of EXPECTED_COUNTS: a plain loop over
    # all 531,441 patterns with math.atan2 and if-chains for both conventions.
    counts = {
        "murphy": dict.fromkeys(EXPECTED_COUNTS, 0),
        "hvae": dict.fromkeys(EXPECTED_COUNTS, 0),
    }
    for choice in itertools.product(*MURPHY_PRIMARY):
        ms = sum(c[0] for c in choice) / 6
        mo = sum(c[1] for c in choice) / 6
        a = math.degrees(math.atan2(mo - 50, ms - 50))
        if a >= 57.15:
            counts["murphy"]["altruistic"] += 1
        elif a >= 22.45:
            counts["murphy"]["prosocial"] += 1
        elif a >= -12.04:
            counts["murphy"]["individualistic"] += 1
        else:
            counts["murphy"]["competitive"] += 1
        if a > 57.15:
            counts["hvae"]["altruistic"] += 1
        elif a > 22.45:
            counts["hvae"]["prosocial"] += 1
        elif a > -12.04:
            counts["hvae"]["individualistic"] += 1
        else:
            counts["hvae"]["competitive"] += 1
    assert counts["murphy"] == EXPECTED_COUNTS
    assert counts["hvae"] == EXPECTED_COUNTS


def _dfs_transitive(pattern):
    """Plain-Python transitivity: nearest endpoint, then DFS cycle search."""
    graph = {c: set() for c in svo.CATEGORIES}
    for i, k in enumerate(pattern):
        s, o = MURPHY_PRIMARY[i][k - 1]
        (s1, o1), (s9, o9) = MURPHY_PRIMARY[i][0], MURPHY_PRIMARY[i][8]
        d1 = math.hypot(s - s1, o - o1)
        d9 = math.hypot(s - s9, o - o9)
        a, b = svo.PRIMARY_ENDPOINTS[i + 1]
        if d1 < d9:
            graph[a].add(b)
        elif d9 < d1:
            graph[b].add(a)
    state = {}

    def visit(u):
        state[u] = "open"
        for v in graph[u]:
            if state.get(v) == "open" or (v not in state and visit(v)):
                return True
        state[u] = "done"
        return False

    return not any(visit(u) for u in svo.CATEGORIES if u not in state)


def test_enumeration_matches_plain_python_on_subsample(patterns):
    # random subsample: angle, categories and transitivity recomputed by hand
    rng = np.random.default_rng(20110801)
    rows = rng.choice(len(patterns), size=3000, replace=False)
    sub = patterns.iloc[rows]
    opts = sub[[f"item_{i}" for i in range(1, 7)]].to_numpy()
    for pattern, (_, r) in zip(opts, sub.iterrows(), strict=True):
        pay = [MURPHY_PRIMARY[i][k - 1] for i, k in enumerate(pattern)]
        a = math.degrees(
            math.atan2(sum(p[1] for p in pay) / 6 - 50, sum(p[0] for p in pay) / 6 - 50)
        )
        assert r.svo_angle == pytest.approx(a, abs=1e-9)
        assert bool(r.transitive) == _dfs_transitive(pattern)
    # the first pattern (all A) and the index layout (last item fastest)
    assert patterns.iloc[0][[f"item_{i}" for i in range(1, 7)]].tolist() == [1] * 6
    assert patterns.iloc[1].item_6 == 2


# ---------------------------------------------------------------------------
# Secondary items
# ---------------------------------------------------------------------------


def test_secondary_hand_worked():
    # all options 5: distances to the ideals (SVO_Slider.m, |opt - ideal| / 8)
    # IA (6,5,4,7,5,8,5,3,2): 1+0+1+2+0+3+0+2+3 = 12 -> 12/72
    # JM (9,-,1,9,-,9,-,1,1): 4+4+4+4+4+4 = 24 over 6 items -> 24/48
    # individualist / altruist: 4 per item -> 36/72
    r = svo.secondary_scores([5] * 9).iloc[0]
    assert r.dist_inequality_aversion == pytest.approx(12 / 72)
    assert r.dist_joint_gain == pytest.approx(24 / 48)
    assert r.dist_individualist == pytest.approx(0.5)
    assert r.dist_altruist == pytest.approx(0.5)
    assert r.inequality_aversion_index == pytest.approx((12 / 72) / (12 / 72 + 0.5))
    assert r.prosocial_type == "inequality_averse"
    jm = [9, 9, 1, 9, 5, 9, 5, 1, 1]  # JM ideal, free items at the middle
    r = svo.secondary_scores(jm).iloc[0]
    assert r.dist_joint_gain == 0.0 and r.inequality_aversion_index == 1.0
    assert r.prosocial_type == "joint_gain_maximizing"
    r = svo.secondary_scores(list(svo.SECONDARY_IDEALS["individualist"])).iloc[0]
    assert pd.isna(r.prosocial_type)  # IA/JM are not the two nearest ideals
    assert r.dist_individualist == 0.0


def test_secondary_needs_all_nine_items():
    r = svo.score_svo([5] * 8 + [np.nan], allow_missing=True).iloc[0]
    assert not r.secondary_complete and np.isnan(r.dist_inequality_aversion)
    assert "svo_angle" not in r.index  # primary block absent


# ---------------------------------------------------------------------------
# Input forms and batch scoring
# ---------------------------------------------------------------------------


def test_numbers_letters_pairs_and_versions_agree():
    rng = np.random.default_rng(7)
    opts = rng.integers(1, 10, size=(50, 15))
    by_num = svo.score_svo(opts)
    letters = np.array(svo.OPTION_LETTERS)[opts - 1]
    by_letter = svo.score_svo(letters)
    pairs = svo.PAYOFFS[np.arange(15), opts - 1]
    by_pair = svo.score_svo(pairs)
    order_b = np.array(svo.ITEM_ORDERS["B"]) - 1
    by_b = svo.score_svo(opts[:, order_b], version="B")
    by_b_pairs = svo.score_svo(pairs[:, order_b], item_order=svo.ITEM_ORDERS["B"])
    lower = svo.score_svo(np.char.lower(letters.astype(str)))
    for other in (by_letter, by_pair, by_b, by_b_pairs, lower):
        pd.testing.assert_frame_equal(by_num, other)


def test_long_batch_matches_enumeration(patterns):
    rng = np.random.default_rng(3)
    n = 20000
    opts = rng.integers(1, 10, size=(n, 6))
    long = pd.DataFrame(
        {
            "participant": np.repeat([f"p{i}" for i in range(n)], 6),
            "item": np.tile(np.arange(1, 7), n),
            "rating": opts.ravel(),
        }
    ).sample(frac=1.0, random_state=1)  # row order must not matter
    res = svo.score_svo_long(long).set_index("participant").loc[[f"p{i}" for i in range(n)]]
    idx = ((opts - 1) * 9 ** np.arange(5, -1, -1)).sum(axis=1)
    ref = patterns.iloc[idx]
    np.testing.assert_allclose(res.svo_angle.to_numpy(), ref.svo_angle.to_numpy())
    assert (res.transitive.to_numpy(dtype=bool) == ref.transitive.to_numpy()).all()
    assert (
        res.svo_category.astype(str).to_numpy() == ref.category_murphy.astype(str).to_numpy()
    ).all()


def test_long_positions_versions_and_payoffs():
    a_items = [1, 2, 3, 4, 5, 6]
    pairs = [tuple(svo.PAYOFFS[i - 1, 0]) for i in a_items]  # all A
    df = pd.DataFrame(
        {
            "participant": ["a"] * 6 + ["b"] * 6,
            "position": list(range(1, 7)) * 2,
            "version": ["A"] * 6 + ["B"] * 6,
            "rating": ["A"] * 12,
            "ps": [p[0] for p in pairs] + [p[0] for p in pairs[::-1]],
            "po": [p[1] for p in pairs] + [p[1] for p in pairs[::-1]],
        }
    )
    r = svo.score_svo_long(df, item=None, position="position", version_column="version")
    assert r.svo_angle.round(2).tolist() == [30.47, 30.47]
    r = svo.score_svo_long(
        df,
        item=None,
        rating=None,
        payoffs=("ps", "po"),
        position="position",
        version_column="version",
    )
    assert r.svo_angle.round(2).tolist() == [30.47, 30.47]


def test_missing_primary_item_gives_undefined_angle():
    df = pd.DataFrame({"participant": [1] * 5, "item": [1, 2, 3, 4, 5], "rating": [1] * 5})
    r = svo.score_svo_long(df).iloc[0]
    assert not r.primary_complete and r.n_primary_answered == 5
    assert np.isnan(r.svo_angle) and pd.isna(r.svo_category) and pd.isna(r.transitive)
    r = svo.score_svo([1, 1, 1, 1, 1, None], allow_missing=True).iloc[0]
    assert np.isnan(r.svo_angle) and not r.primary_complete
    assert np.isnan(svo.svo_angle([1, 1, 1, 1, 1, np.nan]))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_wrong_item_counts():
    with pytest.raises(ValueError, match="wrong item count: got 5"):
        svo.score_svo([[1, 2, 3, 4, 5]])
    with pytest.raises(ValueError, match="wrong item count: got 7"):
        svo.score_svo([[1] * 7])
    df = pd.DataFrame({"participant": ["r1"] * 7, "item": [1, 2, 3, 4, 5, 6, 6], "rating": [1] * 7})
    with pytest.raises(
        ValueError,
        match=r"wrong item count: duplicated answers: participant 'r1', item 6 \(2 rows\)",
    ):
        svo.score_svo_long(df)
    df = pd.DataFrame({"participant": ["r1"] * 6, "item": [1, 2, 3, 4, 5, 16], "rating": [1] * 6})
    with pytest.raises(ValueError, match="participant 'r1': item id 16"):
        svo.score_svo_long(df)


@pytest.mark.parametrize(
    ("bad", "shown"), [(0, "0"), (10, "10"), ("J", "'J'"), (2.5, "2.5"), (True, "True")]
)
def test_invalid_options_name_respondent_item_value(bad, shown):
    with pytest.raises(ValueError, match=re.escape(f"participant 'r2', item 4: got {shown}")):
        svo.score_svo([[1] * 6, [1, 1, 1, bad, 1, 1]], participants=["r1", "r2"])
    df = pd.DataFrame(
        {"participant": ["x"] * 6, "item": [1, 2, 3, 4, 5, 6], "rating": [1, 1, 1, bad, 1, 1]}
    )
    df["rating"] = df["rating"].astype(object)
    with pytest.raises(ValueError, match=re.escape(f"participant 'x', item 4: got {shown}")):
        svo.score_svo_long(df)


def test_nan_choice_is_an_error_unless_allowed():
    df = pd.DataFrame(
        {"participant": ["x"] * 6, "item": range(1, 7), "rating": [1, 1, np.nan, 1, 1, 1]}
    )
    with pytest.raises(ValueError, match=r"missing SVO choice: participant 'x', item 3: got nan"):
        svo.score_svo_long(df)
    with pytest.raises(ValueError, match=r"participant 0, item 3: got nan"):
        svo.score_svo([1, 1, np.nan, 1, 1, 1])
    assert np.isnan(svo.score_svo_long(df, allow_missing=True).svo_angle.iloc[0])


def test_version_mixups():
    with pytest.raises(ValueError, match="unknown SVO version 'C'"):
        svo.score_svo([1] * 6, version="C")
    with pytest.raises(ValueError, match="not both"):
        svo.score_svo([1] * 6, version="B", item_order=range(1, 7))
    with pytest.raises(ValueError, match="not a permutation"):
        svo.score_svo([1] * 6, item_order=[1, 2, 3, 4, 5, 5])
    # version-B payoff pairs scored as version A: reported, with the fix
    pairs_b = [tuple(svo.PAYOFFS[i - 1, 0]) for i in (6, 5, 4, 3, 2, 1)]
    with pytest.raises(
        ValueError, match=r"participant 0, item 1: got \(self, other\) = \(100, 50\).*version='B'"
    ):
        svo.score_svo(pairs_b)
    # position and item columns that disagree under the given version
    df = pd.DataFrame(
        {
            "participant": ["r"] * 6,
            "position": range(1, 7),
            "item": [6, 5, 4, 3, 2, 1],
            "rating": [1] * 6,
        }
    )
    with pytest.raises(ValueError, match="version mix-up: participant 'r', position 1 is item 1"):
        svo.score_svo_long(df, position="position", version="A")
    assert svo.score_svo_long(df, position="position", version="B").svo_angle.round(2).tolist() == [
        30.47
    ]
    df["v"] = ["A", "B", "B", "B", "B", "B"]
    with pytest.raises(
        ValueError, match=r"version mix-up: participant 'r' has several versions \['A', 'B'\]"
    ):
        svo.score_svo_long(df, item=None, position="position", version_column="v")
    with pytest.raises(ValueError, match="only apply with a position column"):
        svo.score_svo_long(df.drop(columns="position"), version="B")


def test_payoffs_off_the_item_are_never_snapped():
    pairs = [tuple(svo.PAYOFFS[i, 0]) for i in range(6)]
    pairs[2] = (51, 100)  # one unit from item 3 option A
    with pytest.raises(
        ValueError, match=r"participant 0, item 3: got \(self, other\) = \(51, 100\)"
    ):
        svo.score_svo(pairs)
    df = pd.DataFrame(
        {
            "participant": "r",
            "item": range(1, 7),
            "s": [p[0] for p in pairs],
            "o": [p[1] for p in pairs],
        }
    )
    with pytest.raises(ValueError, match="never snapped"):
        svo.score_svo_long(df, rating=None, payoffs=("s", "o"))
    pairs[2] = (50, np.nan)
    with pytest.raises(ValueError, match="incomplete SVO payoff pair: participant 0, item 3"):
        svo.score_svo(pairs)
