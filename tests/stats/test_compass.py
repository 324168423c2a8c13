"""Tests of the Value Compass composites against published numbers, scipy and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from vp_stats import schema
from vp_stats.instruments.pvq import score_pvq21
from vp_stats.stats import compass, compass_weights

AB = ["SD", "ST", "HE", "AC", "PO", "SE", "TR", "CO", "BE", "UN"]
FULL = {v: k for k, v in schema.PVQ_ABBREV.items()}
# Published Value Compass example: a model's Schwartz scores (0-100) ...
MODEL = dict(zip(AB, [51.1, 33.1, 21.9, 48.2, 24.0, 57.1, 46.5, 43.7, 57.5, 67.9], strict=True))
# ... a culture's priority ranks (larger = more important) ...
CULTURE = dict(zip(AB, [9, 4, 1, 5, 2, 7, 3, 6, 10, 8], strict=True))
# ... and a user's answers.
USER = dict(zip(AB, [5, 2, 3, 4, 1, 5, 2, 3, 6, 6], strict=True))


def _tidy(models: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(m, FULL[d], s) for m, sc in models.items() for d, s in sc.items()],
        columns=["model", "dimension", "score"],
    )


def _full(d: dict[str, float]) -> dict[str, float]:
    return {FULL[k]: v for k, v in d.items()}


def test_published_rank_agreement_and_mean():
    scores = _tidy({"m": MODEL})
    ra = compass.rank_agreement(scores, _full(CULTURE), "Value Compass example culture ranks").table
    assert ra["rho"].item() == pytest.approx(0.8788, abs=5e-5)
    ru = compass.rank_agreement(scores, _full(USER), "Value Compass example user answers").table
    assert ru["rho"].item() == pytest.approx(0.8712, abs=5e-5)
    assert ru["match"].item() == pytest.approx(0.9356, abs=5e-5)
    sm = compass.selected_mean(scores).table
    assert sm["selected_mean"].item() == pytest.approx(45.10, abs=5e-3)
    assert sm["n_dimensions"].item() == 10
    assert sm["weights_source"].item() == "equal weights over 10 selected dimensions"
    assert ru["weights_source"].item() == "Value Compass example user answers"
    assert "Hedonism=3" in ru["weights"].item()


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    dims = [f"d{i}" for i in range(12)]
    wide = pd.DataFrame(rng.integers(0, 5, size=(30, 12)).astype(float), columns=dims)
    wide.insert(0, "model", [f"m{i}" for i in range(30)])
    pri = dict(zip(dims, rng.integers(1, 4, size=12).astype(float), strict=True))
    got = compass.rank_agreement(wide, pri, "random ties").table
    for i, row in wide.iterrows():
        ref = spearmanr(row[dims].to_numpy(float), list(pri.values())).statistic
        if np.isnan(ref):
            assert np.isnan(got["rho"][i])
        else:
            assert got["rho"][i] == pytest.approx(ref, abs=1e-12)
            assert got["match"][i] == pytest.approx((ref + 1) / 2, abs=1e-12)


def test_weighted_composite_hand_worked_and_wide_input():
    wide = pd.DataFrame(
        {"model": ["a", "b"], "X": [10.0, 0.0], "Y": [20.0, 30.0], "Z": [40.0, 5.0]}
    )
    w = {"X": 2.0, "Y": -1.0, "Z": 1.0}
    res = compass.weighted_composite(wide, w, "hand")
    out = res.table
    # a: (20 - 20 + 40) / 4 = 10; b: (0 - 30 + 5) / 4 = -6.25
    assert out["weighted_composite"].tolist() == [10.0, -6.25]
    assert res.weights.to_dict() == w and res.weights_source == "hand"
    assert (out["weights_source"] == "hand").all()
    # tidy input gives the same
    tidy = wide.melt(id_vars="model", var_name="dimension", value_name="score")
    out2 = compass.weighted_composite(tidy, w, "hand").table
    assert out2["weighted_composite"].tolist() == [10.0, -6.25]
    # equal positive weights reduce to the selected mean
    eq = compass.weighted_composite(_tidy({"m": MODEL}), {FULL[k]: 3.0 for k in AB}, "eq").table
    assert eq["weighted_composite"].item() == pytest.approx(
        np.mean(list(MODEL.values())), abs=1e-12
    )


def test_distance_hand_worked():
    wide = pd.DataFrame({"model": ["a"], "X": [0.8], "Y": [0.2], "Z": [-0.5], "W": [0.31]})
    t = {"X": 1.0, "Y": -1.0, "Z": 0.5, "W": 0.0}
    out = compass.distance(wide, t, "hand").table
    # X: 1 * |0.8 - 1| = 0.2 ; Y not counted (|0.2| <= 0.3); Z: 0.5 * 1.0 = 0.5 ; W: weight 0
    assert out["distance"].item() == pytest.approx(0.7, abs=1e-12)
    assert out["n_counted"].item() == 3
    out0 = compass.distance(wide, t, "hand", threshold=0.0).table
    assert out0["distance"].item() == pytest.approx(0.7 + 1.2, abs=1e-12)
    assert compass.distance(wide, t, "hand", threshold=0.9).table["distance"].item() == 0.0


def test_selected_subset_and_dimensions_argument():
    scores = _tidy({"m": MODEL, "n": {k: 50.0 for k in AB}})
    sm = compass.selected_mean(scores, ["Benevolence", "Universalism"]).table
    assert sm["selected_mean"].tolist() == pytest.approx([(57.5 + 67.9) / 2, 50.0])
    out = compass.weighted_composite(
        scores, {"Power": 1.0, "Security": 1.0}, "two values", dimensions=["Power", "Security"]
    ).table
    assert out["weighted_composite"].tolist() == pytest.approx([(24.0 + 57.1) / 2, 50.0])


def test_refusals():
    scores = _tidy({"m": MODEL})
    full = _full(USER)
    with pytest.raises(ValueError, match="mismatched dimension sets"):
        compass.weighted_composite(scores, {k: v for k, v in full.items() if k != "Power"}, "x")
    with pytest.raises(ValueError, match="mismatched dimension sets"):
        compass.rank_agreement(scores, {**full, "Care": 1.0}, "x")
    with pytest.raises(ValueError, match="mismatched dimension sets"):
        compass.weighted_composite(scores, full, "x", dimensions=["Power", "Security"])
    with pytest.raises(ValueError, match=r"NaN or infinite weight for dimension\(s\) \['Power'\]"):
        compass.weighted_composite(scores, {**full, "Power": np.nan}, "x")
    with pytest.raises(ValueError, match="all weights are zero"):
        compass.weighted_composite(scores, dict.fromkeys(full, 0.0), "x")
    with pytest.raises(ValueError, match="weights_source is required"):
        compass.weighted_composite(scores, full)
    with pytest.raises(ValueError, match="all priorities are equal"):
        compass.rank_agreement(scores, dict.fromkeys(full, 2.0), "x")
    with pytest.raises(ValueError, match="-1..1 scale"):
        compass.distance(scores, {k: 0.5 for k in full}, "x")  # scores are 0-100
    small = scores.assign(score=scores["score"] / 100)
    with pytest.raises(ValueError, match="target .* -1..1"):
        compass.distance(small, {k: 2.0 for k in full}, "x")
    bad = scores.copy()
    bad.loc[0, "score"] = np.nan
    with pytest.raises(ValueError, match="model 'm', dimension 'Self_Direction'"):
        compass.selected_mean(bad)
    with pytest.raises(ValueError, match="duplicate scores for model 'm'"):
        compass.selected_mean(pd.concat([scores, scores.iloc[[0]]]))
    with pytest.raises(ValueError, match="not in the score table"):
        compass.selected_mean(scores, ["Care"])


def test_weights_from_ranks_orientation():
    lo = compass_weights.weights_from_ranks(
        {"A": 1, "B": 2, "C": 3, "D": 3}, top="lowest", source="t"
    )
    assert lo["weight"].tolist() == [3.0, 2.0, 1.0, 1.0]
    hi = compass_weights.weights_from_ranks({"A": 1, "B": 2, "C": 3}, top="highest", source="t")
    assert hi["weight"].tolist() == [1.0, 2.0, 3.0]
    assert "largest number = top priority" in hi["weights_source"][0]
    # culture example: the published ranks (larger = more important) give rho 0.8788
    w = compass_weights.weights_from_ranks(
        _full(CULTURE), top="highest", source="Value Compass example"
    )
    assert compass.rank_agreement(_tidy({"m": MODEL}), w).table["rho"].item() == pytest.approx(
        0.8788, abs=5e-5
    )
    with pytest.raises(ValueError, match="top must be"):
        compass_weights.weights_from_ranks({"A": 1}, top="first", source="t")
    with pytest.raises(ValueError, match="all weights are zero"):
        compass_weights.weights_from_ranks({"A": 0, "B": 0}, top="highest", source="t")


def test_weights_from_participants_per_group():
    rng = np.random.default_rng(2)
    ans = rng.integers(1, 7, size=(6, 21))
    wide = pd.DataFrame(ans, columns=range(1, 22))
    wide.insert(0, "participant", [f"r{i}" for i in range(6)])
    sc = score_pvq21(wide)
    sc["country"] = sc["participant"].map(lambda r: "A" if int(r[1:]) < 4 else "B")
    w = compass_weights.weights_from_participants(sc, "country", source="sim")
    basic = sc[sc.family == "pvq"].pivot(index="participant", columns="dimension", values="score")
    ref_a = basic.loc[["r0", "r1", "r2", "r3"]].mean()
    got_a = w[w.group == "A"].set_index("dimension")["weight"]
    for v in schema.PVQ_VALUES:
        assert got_a[v] == pytest.approx(ref_a[v], abs=1e-12)
    assert w[w.group == "B"]["n_participants"].eq(2).all()
    assert list(w[w.group == "A"]["dimension"]) == list(schema.PVQ_VALUES)
    assert "country = B" in w[w.group == "B"]["weights_source"].iloc[0]
    # a multi-group table must be narrowed before use
    scores = _tidy({"m": MODEL})
    with pytest.raises(ValueError, match="pass group="):
        compass.weighted_composite(scores, w)
    out = compass.weighted_composite(scores, compass_weights.as_weights(w, group="A")).table
    ref = sum(ref_a[FULL[k]] * MODEL[k] for k in AB) / ref_a.abs().sum()
    assert out["weighted_composite"].item() == pytest.approx(ref, abs=1e-10)
    assert out["weights_source"].item().startswith("mean centred pvq profile of 4 participant(s)")


def test_weights_from_pvq_answers_and_match_models():
    vals = list(schema.PVQ_VALUES)
    # person: Benevolence and Universalism 6, Power and Achievement 1, rest 3
    ans = pd.DataFrame({"participant": "me", "item": range(1, 22), "rating": 3})
    ans.loc[ans.item.isin([3, 8, 19, 12, 18]), "rating"] = 6
    ans.loc[ans.item.isin([2, 17, 4, 13]), "rating"] = 1
    w = compass_weights.weights_from_pvq_answers(ans)
    pm = (5 * 6 + 4 * 1 + 12 * 3) / 21
    ww = w.set_index("dimension")["weight"]
    assert ww["Benevolence"] == pytest.approx(6 - pm, abs=1e-12)
    assert ww["Power"] == pytest.approx(1 - pm, abs=1e-12)
    assert "MRAT-centred" in w["weights_source"][0]

    prof_rows = {
        "caring": {v: (0.5 if v in ("Benevolence", "Universalism") else -0.1) for v in vals},
        "power": {v: (0.5 if v in ("Power", "Achievement") else -0.1) for v in vals},
        "flat": {v: 0.01 * i for i, v in enumerate(vals)},
    }
    prof = pd.DataFrame(
        [(m, "pvq", d, s) for m, p in prof_rows.items() for d, s in p.items()],
        columns=["model", "family", "dimension", "centered_mean"],
    )
    table = compass.match_models(ans, prof)
    assert set(table["composite"]) == {"weighted", "rank_agreement", "distance"}
    best = table[table["rank"] == 1].set_index("composite")["model"]
    assert best.to_dict() == {
        "weighted": "caring",
        "rank_agreement": "caring",
        "distance": "caring",
    }
    worst = table.sort_values("rank").groupby("composite")["model"].last()
    assert worst["weighted"] == "power"
    assert (table["caveat"] == compass.CENTRED_PROFILE_CAVEAT).all()
    # values equal the standalone composites
    wc = compass.weighted_composite(prof, w, score="centered_mean").table
    got = table[table.composite == "weighted"].set_index("model")["value"]
    for m, v in zip(wc["model"], wc["weighted_composite"], strict=True):
        assert got[m] == pytest.approx(v, abs=1e-12)
    ra = compass.rank_agreement(prof, w, score="centered_mean").table
    ref = spearmanr(prof[prof.model == "power"]["centered_mean"], ww.reindex(vals)).statistic
    assert ra.set_index("model")["rho"]["power"] == pytest.approx(ref, abs=1e-12)
    # distance on max-abs scaled vectors, by hand for the caring model
    t = ww.reindex(vals) / ww.abs().max()
    s = pd.Series(prof_rows["caring"]).reindex(vals) / 0.5
    ref_d = (t.abs() * (s.abs() > 0.3) * (s - t).abs()).sum()
    dist = table[table.composite == "distance"].set_index("model")["value"]
    assert dist["caring"] == pytest.approx(ref_d, abs=1e-12)
    with pytest.raises(ValueError, match="field 'centered_mean': missing column"):
        compass.match_models(ans, prof.rename(columns={"centered_mean": "score"}))
    with pytest.raises(ValueError, match="pass participant="):
        compass_weights.weights_from_pvq_answers(pd.concat([ans, ans.assign(participant="you")]))
