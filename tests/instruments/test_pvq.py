"""Tests of the PVQ-21 / ESS Human Values Scale scorer."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.instruments.pvq import PVQ_ITEM_WEIGHTS, score_pvq21
from vp_stats.io import datasets


def _wide(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([[r, *a] for r, a in rows.items()], columns=["participant", *range(1, 22)])


def _reference(answers: list[float]) -> dict[str, float]:
    """Plain-Python MRAT scoring straight from the ESS key (independent of the vectorised code)."""
    given = [a for a in answers if a == a]
    pm = sum(given) / len(given)
    out = {}
    for v, items in schema.PVQ21_KEY.items():
        xs = [answers[i - 1] for i in items if answers[i - 1] == answers[i - 1]]
        out[v] = sum(xs) / len(xs) - pm if xs else float("nan")
    for h, vals in schema.HIGHER_ORDER_MAP.items():
        xs = [answers[i - 1] for v in vals for i in schema.PVQ21_KEY[v]]
        xs = [x for x in xs if x == x]
        out[h] = sum(xs) / len(xs) - pm if all(out[v] == out[v] for v in vals) else float("nan")
    return out


def test_hand_worked_respondent():
    # Self_Direction items 1, 11 = 6, 5; Power 2, 17 = 1, 2; everything else 3.
    a = [3.0] * 21
    a[0], a[10], a[1], a[16] = 6, 5, 1, 2
    out = score_pvq21(_wide({"p1": a})).set_index("dimension")
    pm = (6 + 5 + 1 + 2 + 17 * 3) / 21  # 65 / 21
    assert out.loc["Self_Direction", "score"] == pytest.approx(5.5 - pm, abs=1e-12)
    assert out.loc["Power", "score"] == pytest.approx(1.5 - pm, abs=1e-12)
    assert out.loc["Universalism", "score"] == pytest.approx(3 - pm, abs=1e-12)
    # Openness_to_Change: items 1, 11, 6, 15 -> (6 + 5 + 3 + 3) / 4
    assert out.loc["Openness_to_Change", "score"] == pytest.approx(17 / 4 - pm, abs=1e-12)
    # Self_Enhancement: items 4, 13, 2, 17 -> (3 + 3 + 1 + 2) / 4 (Hedonism excluded)
    assert out.loc["Self_Enhancement", "score"] == pytest.approx(9 / 4 - pm, abs=1e-12)
    assert out.loc["Self_Transcendence", "n_items"] == 5
    assert out.loc["Conservation", "n_items"] == 6
    assert out.loc["Universalism", "n_items"] == 3
    assert list(out.columns) == ["participant", "family", "score", "n_items", "status"]
    assert (out["status"] == "ok").all()
    assert out.loc["Conservation", "family"] == "higher_pvq"
    assert out.loc["Hedonism", "family"] == "pvq"


def test_raw_means():
    a = [3.0] * 21
    a[0], a[10] = 6, 5
    out = score_pvq21(_wide({"p1": a}), centre=False).set_index("dimension")["score"]
    assert out["Self_Direction"] == 5.5
    assert out["Power"] == 3.0
    assert out["Openness_to_Change"] == pytest.approx(17 / 4)


def test_matches_plain_reference_on_random_answers():
    rng = np.random.default_rng(7)
    ans = rng.integers(1, 7, size=(40, 21)).astype(float)
    ans[rng.random(ans.shape) < 0.05] = np.nan
    ans[0, [0, 10]] = np.nan  # keep at least one value unscored
    rows = {f"r{i}": list(a) for i, a in enumerate(ans)}
    with pytest.warns(UserWarning, match="NaN"):
        out = score_pvq21(_wide(rows))
    for r, a in rows.items():
        ref = _reference(a)
        got = out[out.participant == r].set_index("dimension")["score"]
        for dim, val in ref.items():
            if np.isnan(val):
                assert np.isnan(got[dim]), (r, dim)
                continue
            assert got[dim] == pytest.approx(val, abs=1e-12), (r, dim)
    r0 = out[out.participant == "r0"].set_index("dimension")
    assert np.isnan(r0.loc["Self_Direction", "score"])
    assert r0.loc["Self_Direction", "status"] == "too_few_items"
    assert r0.loc["Self_Direction", "n_items"] == 0
    assert np.isnan(r0.loc["Openness_to_Change", "score"])  # a constituent is unscored


def test_centring_identity():
    rng = np.random.default_rng(1)
    ans = rng.integers(1, 7, size=(200, 21))
    out = score_pvq21(_wide({f"r{i}": list(a) for i, a in enumerate(ans)}))
    basic = out[out.family == "pvq"].pivot(index="participant", columns="dimension", values="score")
    w = pd.Series(PVQ_ITEM_WEIGHTS)
    assert w.sum() == 21
    assert np.abs((basic[w.index] * w).sum(axis=1)).max() < 1e-12
    # higher-order = item-weighted mean of the centred basic scores
    higher = out[out.family == "higher_pvq"].pivot(
        index="participant", columns="dimension", values="score"
    )
    for h, vals in schema.HIGHER_ORDER_MAP.items():
        comb = sum(basic[v] * w[v] for v in vals) / sum(w[v] for v in vals)
        assert np.abs(comb - higher[h]).max() < 1e-12


def test_long_wide_and_ess_names_agree():
    rng = np.random.default_rng(3)
    ans = rng.integers(1, 7, size=(5, 21))
    wide = _wide({f"r{i}": list(a) for i, a in enumerate(ans)})
    long = wide.melt(id_vars="participant", var_name="item", value_name="rating").sample(
        frac=1, random_state=0
    )
    long = long.reset_index(drop=True)
    ess = wide.rename(columns=dict(zip(range(1, 22), schema.ESS_HVS_VARIABLES, strict=True)))
    ess = ess.rename(columns={"participant": "idno"})
    a = score_pvq21(wide)
    b = (
        score_pvq21(long)
        .set_index(["participant", "dimension"])
        .loc[a.set_index(["participant", "dimension"]).index]
    )
    c = score_pvq21(ess, participant="idno")
    np.testing.assert_allclose(a["score"], b["score"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(a["score"], c["score"], atol=1e-12)


def test_ess_coding_reverses():
    a = [3.0] * 21
    a[0], a[10] = 1, 2  # ESS: very much like me / like me on Self_Direction
    out = score_pvq21(_wide({"p": a}), ess_coding=True).set_index("dimension")["score"]
    recoded = [7 - x for x in a]
    ref = _reference(recoded)
    assert out["Self_Direction"] == pytest.approx(ref["Self_Direction"], abs=1e-12)
    assert out["Self_Direction"] > 0


def test_missing_codes_and_policies():
    a = [3.0] * 21
    a[0] = 8  # ESS "don't know"
    with pytest.raises(ValueError, match=r"participant 'p', item 1: answer 8"):
        score_pvq21(_wide({"p": a}))
    out = score_pvq21(_wide({"p": a}), missing_codes=(7, 8, 9)).set_index("dimension")
    assert out.loc["Self_Direction", "n_items"] == 1
    assert out.loc["Self_Direction", "score"] == pytest.approx(0.0, abs=1e-12)
    with pytest.warns(UserWarning, match="2 scores are NaN"):
        out2 = score_pvq21(_wide({"p": a}), missing_codes=(8,), min_items=2)
    out2 = out2.set_index("dimension")
    assert np.isnan(out2.loc["Self_Direction", "score"])
    assert np.isnan(out2.loc["Openness_to_Change", "score"])
    assert out2["score"].isna().sum() == 2
    with pytest.warns(UserWarning):
        out3 = score_pvq21(_wide({"p": a}), missing_codes=(8,), min_total=21)
    assert (out3["status"] == "too_few_total").all()
    with pytest.raises(
        ValueError, match=r"wrong item count for participant 'p'.*missing items \[1\]"
    ):
        score_pvq21(_wide({"p": a}), missing_codes=(8,), require_complete=True)


def test_long_missing_rows_are_missing_answers():
    long = pd.DataFrame({"participant": "p", "item": range(1, 21), "rating": 4})
    out = score_pvq21(long).set_index("dimension")
    assert out.loc["Hedonism", "n_items"] == 1  # item 21 absent
    assert out.loc["Hedonism", "score"] == 0.0
    with pytest.raises(ValueError, match="wrong item count"):
        score_pvq21(long, require_complete=True)


@pytest.mark.parametrize("bad", [0, 7, 2.5, "a", True])
def test_answers_outside_scale(bad):
    a: list[object] = [3] * 21
    a[4] = bad
    with pytest.raises(
        ValueError, match=r"participant 'p', item 5: answer .* outside the integers 1..6"
    ):
        score_pvq21(_wide({"p": a}))


def test_structural_errors():
    wide = _wide({"p": [3] * 21})
    with pytest.raises(ValueError, match="wrong item count: 20 item columns, expected 21"):
        score_pvq21(wide.drop(columns=[21]))
    with pytest.raises(ValueError, match="unknown item column"):
        score_pvq21(wide.assign(country="DE"))
    with pytest.raises(ValueError, match="duplicate item 3"):
        score_pvq21(wide.drop(columns=[21]).assign(item3=3))
    with pytest.raises(ValueError, match="no participant column"):
        score_pvq21(wide.drop(columns="participant"))
    long = pd.DataFrame({"participant": "p", "item": range(1, 22), "rating": 3})
    with pytest.raises(ValueError, match=r"unknown item 22 for participant 'p'"):
        score_pvq21(
            pd.concat([long, pd.DataFrame({"participant": ["p"], "item": [22], "rating": [3]})])
        )
    with pytest.raises(ValueError, match=r"duplicate answers for participant 'p', item 4"):
        score_pvq21(pd.concat([long, long.iloc[[3]]]))
    with pytest.raises(ValueError, match="duplicate rows for participant"):
        score_pvq21(pd.concat([wide, wide]))
    with pytest.raises(ValueError, match="min_items"):
        score_pvq21(wide, min_items=0)


def test_released_higher_order_scores_are_item_weighted_basic_scores():
    """Upstream check: value.json's higher-order scores = item-weighted basic combos (1e-12)."""
    data = json.loads(datasets.fetch("data/prolific/value/main/value.json").read_text())
    assert len(data) > 500
    w = PVQ_ITEM_WEIGHTS
    worst = 0.0
    for pid, rec in data.items():
        basic, higher = rec["pvq"], rec["higher_pvq"]
        assert set(basic) == set(schema.PVQ_VALUES), pid
        assert set(higher) == set(schema.HIGHER_ORDER_VALUES), pid
        # centring identity holds on the released basic scores too
        assert abs(sum(w[v] * basic[v] for v in schema.PVQ_VALUES)) < 1e-12, pid
        for h, vals in schema.HIGHER_ORDER_MAP.items():
            comb = sum(w[v] * basic[v] for v in vals) / sum(w[v] for v in vals)
            worst = max(worst, abs(comb - higher[h]))
    assert worst < 1e-12


def test_no_warning_when_complete():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_pvq21(_wide({"p": [2] * 21}))
