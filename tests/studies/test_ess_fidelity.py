"""vp_stats.studies.ess_fidelity on a SYNTHETIC ESS-format file (random answers, NOT ESS data).

ESS microdata need registration and are not on this machine; every ESS file here is written
by :func:`vp_stats.io.ess.synthetic_ess` (``attributes=True``: the persona variables and
built-in group differences). The persona answers are built by hand (no model is run).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from vp_stats import schema
from vp_stats.instruments.personas import paper_personas
from vp_stats.io import ess
from vp_stats.studies import ess_fidelity as ef

CATS = np.arange(1, 7, dtype=float)
P_COLS = [f"p_{c}" for c in range(1, 7)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("ess") / "SYNTHETIC_ess.csv"
    raw = ess.synthetic_ess(600, seed=25, attributes=True)
    raw.to_csv(path, index=False)
    return path, raw


def _hand_long(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw file by hand: 7 - code, codes 7/8/9 dropped, anweight, recoded groups."""
    attrs = ess.recode_persona_attributes(raw)
    rows = []
    for j, v in enumerate(schema.ESS_HVS_VARIABLES):
        x = raw[v].to_numpy(dtype=float)
        ok = x <= 6
        rows.append(
            pd.DataFrame(
                {
                    "participant": raw["idno"].astype(str)[ok].to_numpy(),
                    "item": str(j + 1),
                    "rating": 7 - x[ok],
                    "weight": raw["anweight"].to_numpy(dtype=float)[ok],
                    "gender": raw["gndr"].map({1: "male", 2: "female"}).to_numpy()[ok],
                    **{c: attrs[c].to_numpy()[ok] for c in ess.PERSONA_COLUMNS},
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _weighted_p(h: pd.DataFrame) -> np.ndarray:
    """Items x 6: the weighted answer distribution (numpy, by hand)."""
    out = np.zeros((21, 6))
    for i in range(21):
        g = h[h["item"] == str(i + 1)]
        hist = np.bincount(g["rating"].astype(int) - 1, weights=g["weight"], minlength=6)
        out[i] = hist / hist.sum()
    return out


def _perfect_personas(hand: pd.DataFrame) -> pd.DataFrame:
    """The paper's 25 personas, each answering with exactly its own ESS group's weighted
    distribution (logprobs mode), race personas and Buddhist / Hindu with the whole sample's."""
    rows = []
    for r in paper_personas().itertuples():
        col = ess.PERSONA_GROUPS.get(r.attribute)
        sub = hand[hand[col] == r.level] if col else hand.iloc[:0]
        P = _weighted_p(sub if len(sub) else hand)
        for i in range(21):
            rows.append(
                {
                    "persona_id": r.persona_id,
                    "portrait_id": i + 1,
                    "option_id": 0,
                    "item": i + 1,
                    "instrument": "pvq21",
                    r.attribute: r.level,
                    "rating": float(P[i] @ CATS),
                    "parse_ok": True,
                    **dict(zip(P_COLS, P[i], strict=True)),
                }
            )
    return pd.DataFrame(rows)


def test_pooled_fidelity_equals_scipy_weighted_w1_on_the_raw_file(synthetic):
    path, raw = synthetic
    hand = _hand_long(raw)
    ans = _perfect_personas(hand)
    res = ef.ess_fidelity_file(ans, path, n_boot=50, n_floor=20, seed=1)
    fid = res.fidelity.set_index("item")
    pooled = ans.groupby("item")[P_COLS].mean()
    for i in range(1, 22):
        g = hand[hand["item"] == str(i)]
        w1 = wasserstein_distance(CATS, g["rating"], pooled.loc[i].to_numpy(), g["weight"])
        assert fid.loc[str(i), "w1"] == pytest.approx(w1, abs=1e-12)
        kish = g["weight"].sum() ** 2 / (g["weight"] ** 2).sum()
        assert fid.loc[str(i), "n_human_effective"] == pytest.approx(kish, rel=1e-12)
        assert fid.loc[str(i), "distribution_from"] == "probabilities"
    assert set(fid["value"]) == set(schema.PVQ21_KEY)
    assert "anweight" in res.notes["weight"]


def test_perfectly_steered_personas_sit_on_their_own_group(synthetic):
    path, raw = synthetic
    hand = _hand_long(raw)
    ans = _perfect_personas(hand)
    res = ef.ess_fidelity_file(ans, path, n_boot=100, n_floor=20, seed=1)
    sp = res.steerability_personas
    # 6 attributes with ESS groups; Buddhist and Hindu have none (ESS: 'Eastern religions')
    assert set(sp["attribute"]) == set(ess.PERSONA_GROUPS)
    assert len(sp) == 25 - 4 - 2
    assert sp["own_is_closest"].all()
    np.testing.assert_allclose(sp["distance_own"], 0, atol=1e-12)
    assert "Buddhist" in res.notes["own_group"] and "Hindu" in res.notes["own_group"]
    assert "race" in res.notes["race"]
    # the group fidelity of each persona against its own group: W1 0, its own group's n
    gf = res.group
    np.testing.assert_allclose(gf["w1"], 0, atol=1e-12)
    groups = res.table.set_index(["attribute", "group"])
    female = hand[hand["gender"] == "female"].drop_duplicates("participant")
    assert groups.loc[("gender", "female"), "n_participants"] == len(female)
    kish = female["weight"].sum() ** 2 / (female["weight"] ** 2).sum()
    assert groups.loc[("gender", "female"), "n_effective"] == pytest.approx(kish, rel=1e-12)
    # built-in differences (synthetic_ess): the right differ from the left beyond noise
    st = res.steerability
    right = st[(st["attribute"] == "political_orientation") & (st["own_group"] == "right")]
    d = right.set_index("group")["distance"]
    assert d["left"] > d["right"] + 0.1
    summary = res.fidelity_summary
    assert {"all", "value", "persona"} == set(summary["level"])
    assert len(summary[summary["level"] == "persona"]) == 25 - 4 - 2


def test_equal_weights_equal_no_weights_and_runs_are_seeded(synthetic):
    _, raw = synthetic
    hand = _hand_long(raw)
    ans = _perfect_personas(hand)
    ones = hand.assign(weight=1.0)
    a = ef.ess_fidelity(ans, ones, n_boot=30, n_floor=10, seed=3)
    b = ef.ess_fidelity(
        ans, ones.drop(columns="weight"), weight=None, n_boot=30, n_floor=10, seed=3
    )
    pd.testing.assert_frame_equal(a.fidelity, b.fidelity, check_exact=True)
    pd.testing.assert_frame_equal(a.steerability, b.steerability, check_exact=True)
    c = ef.ess_fidelity(ans, ones, n_boot=30, n_floor=10, seed=3)
    for x, y in ((a.fidelity_summary, c.fidelity_summary), (a.group, c.group)):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


def test_not_pvq21_answers_or_unknown_attribute_is_named():
    h = pd.DataFrame({"participant": ["a"], "item": ["1"], "rating": [3.0], "weight": [1.0]})
    vp = pd.DataFrame({"persona_id": ["p"], "portrait_id": [1001], "option_id": [1], "rating": 3})
    with pytest.raises(ValueError, match="field 'item'.*1001.*PVQ-21"):
        ef.ess_fidelity(vp, h)
    a = pd.DataFrame({"persona_id": ["p"], "item": [1], "rating": [3.0], "race": ["Asian"]})
    with pytest.raises(ValueError, match="'race' has no ESS group"):
        ef.ess_fidelity(a, h, attributes=["race"])
    with pytest.raises(Exception, match="'wt'"):
        ef.ess_fidelity(a, h, weight="wt")
