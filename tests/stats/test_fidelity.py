"""Distribution fidelity (vp_stats.stats.fidelity) against scipy and a second floor method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from vp_stats.stats import fidelity

CATS = np.arange(1, 7, dtype=float)


def _hand_built(seed=0, n=40):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(6) * 0.7, size=n)
    Q = rng.dirichlet(np.ones(6) * 0.7, size=n)
    P[::5, 2] = 0.0  # zero categories on one side
    Q[::7, [0, 5]] = 0.0
    return P / P.sum(1, keepdims=True), Q / Q.sum(1, keepdims=True)


def test_w1_js_representativeness_equal_scipy_on_hand_built_distributions():
    P, Q = _hand_built()
    w1 = fidelity.ordinal_w1(P, Q)
    js = fidelity.js_distance(P, Q)
    rep = fidelity.representativeness(P, Q)
    for i in range(len(P)):
        ref_w1 = wasserstein_distance(CATS, CATS, u_weights=P[i], v_weights=Q[i])
        ref_js = jensenshannon(P[i], Q[i], base=2)
        assert w1[i] == pytest.approx(ref_w1, abs=1e-12)
        assert js[i] == pytest.approx(ref_js, abs=1e-12)
        assert rep[i] == pytest.approx(1 - ref_w1 / 5, abs=1e-12)
    # distance, not divergence: the square is the divergence H(M) - (H(P) + H(Q)) / 2 in bits
    p, q = P[0], Q[0]
    m = (p + q) / 2

    def h(x):
        x = x[x > 0]
        return -(x * np.log2(x)).sum()

    assert js[0] ** 2 == pytest.approx(h(m) - (h(p) + h(q)) / 2, abs=1e-12)
    # the extremes: opposite ends are W1 = K - 1 (representativeness 0), disjoint JS = 1
    e1, e6 = np.eye(6)[0], np.eye(6)[5]
    assert fidelity.ordinal_w1(e1, e6) == 5.0
    assert fidelity.representativeness(e1, e6) == 0.0
    assert fidelity.js_distance(e1, e6) == pytest.approx(1.0)
    # equal distributions: 0, where scipy's rounding gives the square root of -1e-17 (NaN)
    c = np.array([0, 1, 5, 44, 6, 4.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(jensenshannon(c / 60, c, base=2))
    assert fidelity.js_distance(c / 60, c) == 0.0
    assert np.isnan(fidelity.js_distance([0, 0], [1, 0]))  # an empty side stays undefined


def _answers_from(P, n_rows=3):
    """A logprobs-mode answer table: n_rows answers per item, each with the item's probabilities
    jittered, plus the argmax rating."""
    rows = []
    rng = np.random.default_rng(5)
    for i, p in enumerate(P):
        for r in range(n_rows):
            q = p * rng.uniform(0.5, 1.5, 6)
            q = q / q.sum()
            rows.append(
                {
                    "persona_id": f"p{r}",
                    "portrait_id": 1001 + i,
                    "option_id": 1,
                    "rating": float(np.argmax(q) + 1),
                    **{f"p_{c + 1}": q[c] for c in range(6)},
                }
            )
    return pd.DataFrame(rows)


def _humans_from(Q, n=30, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for i, q in enumerate(Q):
        for j, x in enumerate(rng.choice(CATS, size=n, p=q)):
            rows.append(
                {"participant": f"h{j}", "portrait_id": 1001 + i, "option_id": 1, "rating": x}
            )
    return pd.DataFrame(rows)


def test_item_fidelity_uses_the_recorded_probabilities_and_equals_scipy():
    P, Q = _hand_built(n=8)
    ans = _answers_from(P)
    hum = _humans_from(Q)
    t = fidelity.item_fidelity(ans, hum, n_splits=10, n_boot=10).table
    assert (t["distribution_from"] == "probabilities").all()
    for _, r in t.iterrows():
        a = ans[ans.portrait_id == r.portrait_id]
        q_model = a[[f"p_{c}" for c in range(1, 7)]].to_numpy()
        q_model = (q_model / q_model.sum(1, keepdims=True)).mean(0)
        h = hum[hum.portrait_id == r.portrait_id]["rating"].to_numpy()
        counts = np.array([(h == c).sum() for c in CATS], dtype=float)
        assert r.w1 == pytest.approx(
            wasserstein_distance(CATS, CATS, u_weights=q_model, v_weights=counts), abs=1e-12
        )
        assert r.js_distance == pytest.approx(jensenshannon(q_model, counts, base=2), abs=1e-12)
        assert r.representativeness == pytest.approx(1 - r.w1 / 5, abs=1e-12)
        assert r.uniform_w1 == pytest.approx(
            wasserstein_distance(CATS, CATS, v_weights=counts), abs=1e-12
        )
    # without the probabilities: the histogram of the ratings, named as such
    th = fidelity.item_fidelity(ans.drop(columns="p_3"), hum, n_splits=10, n_boot=10).table
    assert (th["distribution_from"] == "histogram").all()
    r = th.iloc[0]
    x = ans.loc[ans.portrait_id == r.portrait_id, "rating"].to_numpy()
    h = hum.loc[hum.portrait_id == r.portrait_id, "rating"].to_numpy()
    assert r.w1 == pytest.approx(wasserstein_distance(x, h), abs=1e-12)
    # one answer without probabilities turns the item to the histogram
    mixed = ans.copy()
    mixed.loc[0, "p_1"] = np.nan
    tm = fidelity.item_fidelity(mixed, hum, n_splits=5, n_boot=5).table
    assert tm["distribution_from"].tolist()[0] == "histogram"
    assert (tm["distribution_from"].iloc[1:] == "probabilities").all()


def test_item_fidelity_is_seeded():
    P, Q = _hand_built(n=5)
    a = fidelity.item_fidelity(_answers_from(P), _humans_from(Q), n_splits=20, seed=4).table
    b = fidelity.item_fidelity(_answers_from(P), _humans_from(Q), n_splits=20, seed=4).table
    pd.testing.assert_frame_equal(a, b)


def test_split_half_floor_agrees_with_the_bootstrap_floor_within_monte_carlo_error():
    # two random halves of n raters are, in distribution, two samples of n/2 from the
    # raters' distribution (up to the finite-population factor n/(n-1), ~0.1 % here):
    # the bootstrap floor at n_model = n_human = n/2 must reproduce the split-half floor
    rng = np.random.default_rng(11)
    n, B = 400, 4000
    Q = np.array(
        [
            [0.05, 0.1, 0.2, 0.3, 0.25, 0.1],
            [0.4, 0.3, 0.1, 0.1, 0.05, 0.05],
            [0.15, 0.15, 0.2, 0.2, 0.15, 0.15],
        ]
    )
    hum = _humans_from(Q, n=n, seed=2)
    split = fidelity.split_half_floor(hum, n_splits=B, seed=1)
    counts = fidelity.human_distributions(hum)[[f"count_{c}" for c in range(1, 7)]].to_numpy()
    boot = fidelity.bootstrap_floor(counts, n // 2, n_human=n // 2, n_boot=B, seed=2)
    # Monte Carlo SE of a mean over B draws, from the spread of single draws
    single = [
        fidelity.bootstrap_floor(counts, n // 2, n_human=n // 2, n_boot=1, seed=rng)
        for _ in range(1000)
    ]
    for col, key in (("split_half_w1", "w1"), ("split_half_js_distance", "js_distance")):
        sd = np.std([s[key] for s in single], axis=0, ddof=1)
        se = np.sqrt(2) * sd / np.sqrt(B)
        diff = split[col].to_numpy() - boot[key]
        assert np.all(np.abs(diff) < 4 * se), (col, diff, se)
    # and the floor is a floor: it grows as the model side gets fewer answers
    small = fidelity.bootstrap_floor(counts, 10, n_boot=500, seed=0)["w1"]
    exact = fidelity.bootstrap_floor(counts, np.inf, n_boot=500, seed=0)["w1"]
    assert np.all(small > exact)


def test_summarise_fidelity_cis_are_a_bootstrap_over_items():
    P, Q = _hand_built(n=30)
    t = fidelity.item_fidelity(_answers_from(P), _humans_from(Q), n_splits=10, n_boot=20).table
    s = fidelity.summarise_fidelity(t, n_boot=2000, seed=3).iloc[0]
    assert s.n_items == 30
    assert s.w1 == pytest.approx(t.w1.mean())
    assert s.representativeness == pytest.approx(1 - t.w1.mean() / 5)
    assert s.similarity == pytest.approx(1 - t.js_distance.mean())
    # the percentile bootstrap over items, by hand
    from vp_stats.stats.resampling import Resampler

    W = Resampler(3).counts(30, 2000)
    bm = W @ t.w1.to_numpy() / 30
    lo, hi = np.quantile(bm, [0.025, 0.975])
    assert (s.w1_ci_low, s.w1_ci_high) == pytest.approx((lo, hi), abs=1e-12)
    assert s.representativeness_ci_low == pytest.approx(1 - hi / 5)
    norm = (t.average_w1.mean() - t.w1.mean()) / (t.average_w1.mean() - t.floor_w1.mean())
    assert s.normalised_w1 == pytest.approx(norm)
    by = fidelity.summarise_fidelity(t.assign(g=np.arange(30) % 2), ["g"], n_boot=0)
    assert by.n_items.tolist() == [15, 15]


def test_released_data_pooled_models_against_the_raters():
    """The released data: 34 models pooled (every variant answer) vs the 559 raters."""
    from vp_stats.io.averaging import load_average_outputs
    from vp_stats.studies.personas import value_portrait_reference

    ref = value_portrait_reference()
    t = fidelity.item_fidelity(
        load_average_outputs(form="tidy"), ref["ratings"], n_splits=200, n_boot=200
    ).table
    assert len(t) == 520 and (t["distribution_from"] == "histogram").all()
    s = fidelity.summarise_fidelity(t, n_boot=200).iloc[0]
    assert s.js_distance == pytest.approx(0.3955, abs=5e-4)  # issue 25's 0.396
    assert s.w1 == pytest.approx(0.6464, abs=5e-4)  # issue 25's 0.646
    assert s.split_half_js_distance == pytest.approx(0.28, abs=0.01)  # issue 25's 0.283
    assert s.split_half_w1 == pytest.approx(0.43, abs=0.015)  # issue 25's 0.438
    assert s.floor_w1 < s.split_half_w1  # the pooled model side has ~200 answers per item
    assert s.normalised_w1 < 0  # further from the raters than the human-average baseline


def test_compare_item_distributions_uses_the_recorded_probabilities():
    from vp_stats.stats.personas import compare_item_distributions

    P, Q = _hand_built(n=6)
    ans = _answers_from(P)
    hum = _humans_from(Q)
    c = compare_item_distributions(ans, hum)
    f = fidelity.item_fidelity(ans, hum, n_splits=2, n_boot=2).table
    assert (c["distribution_from"] == "probabilities").all()
    np.testing.assert_allclose(c["wasserstein"], f["w1"], atol=1e-12)
    np.testing.assert_allclose(c["js_distance"], f["js_distance"], atol=1e-12)
    np.testing.assert_allclose(c["mean_persona"], f["mean_model"], atol=1e-12)
    # the histogram of the argmax ratings is a different (rounded) distribution
    ch = compare_item_distributions(ans.drop(columns="p_1"), hum)
    assert (ch["distribution_from"] == "histogram").all()
    assert not np.allclose(ch["wasserstein"], c["wasserstein"])


# ----------------------------------------------------------------------------- groups, steering


def _group_humans(seed=0, n=60, items=6):
    rng = np.random.default_rng(seed)
    groups = {"a": [0.4, 0.3, 0.1, 0.1, 0.05, 0.05], "b": [0.05, 0.05, 0.1, 0.2, 0.3, 0.3]}
    rows = []
    for g, p in groups.items():
        for j in range(n):
            for i in range(items):
                rows.append(
                    {
                        "participant": f"{g}{j}",
                        "g": g,
                        "item": f"q{i}",
                        "rating": float(rng.choice(CATS, p=p)),
                    }
                )
    return pd.DataFrame(rows)


def test_group_distances_equal_scipy_and_the_shuffled_floor_is_a_null():
    h = _group_humans()
    d = fidelity.group_distances(h, "g", n_perm=99, seed=0).iloc[0]
    w, j = [], []
    for i in h["item"].unique():
        a = h[(h.item == i) & (h.g == "a")].rating.to_numpy()
        b = h[(h.item == i) & (h.g == "b")].rating.to_numpy()
        w.append(wasserstein_distance(a, b))
        ca = np.array([(a == c).sum() for c in CATS])
        cb = np.array([(b == c).sum() for c in CATS])
        j.append(jensenshannon(ca, cb, base=2))
    assert d.w1 == pytest.approx(np.mean(w), abs=1e-12)
    assert d.js_distance == pytest.approx(np.mean(j), abs=1e-12)
    assert d.w1_p == pytest.approx(1 / 100) and d.perm_w1 < d.w1 / 3
    # labels unrelated to the answers: the real groups are no further apart than shuffled ones
    null = h.assign(g=h["participant"].map(lambda p: "a" if int(p[1:]) % 2 else "b"))
    dn = fidelity.group_distances(null, "g", n_perm=99, seed=0).iloc[0]
    assert dn.w1_p > 0.05 and dn.w1 == pytest.approx(dn.perm_w1, rel=0.3)


def test_value_groups_are_the_top_and_bottom_thirds():
    rng = np.random.default_rng(0)
    s = pd.DataFrame(
        {
            "participant": np.repeat([f"p{i}" for i in range(30)], 2),
            "family": "pvq",
            "dimension": ["Tradition", "Power"] * 30,
            "score": rng.normal(size=60),
        }
    )
    g = fidelity.value_groups(s)
    assert g.groupby(["dimension", "group"]).size().eq(10).all()
    for dim, sub in g.groupby("dimension"):
        full = s[s.dimension == dim].score.sort_values().to_numpy()
        assert set(sub[sub.group == "top"].score) == set(full[-10:])
        assert set(sub[sub.group == "bottom"].score) == set(full[:10])


def test_steerability_equals_an_independent_computation():
    h = _group_humans(n=40, items=8)
    rng = np.random.default_rng(3)
    rows = []
    truth = {"a": [0.4, 0.3, 0.1, 0.1, 0.05, 0.05], "b": [0.05, 0.05, 0.1, 0.2, 0.3, 0.3]}
    for pid, own, mix in (("pa", "a", 0.8), ("pb", "b", 0.6), ("pwrong", "a", 0.1)):
        for i in range(8):
            p = mix * np.array(truth[own]) + (1 - mix) * np.array(truth["b" if own == "a" else "a"])
            p = rng.dirichlet(p * 50)
            rows.append(
                {"persona_id": pid, "g": own, "item": f"q{i}", "rating": 3.0}
                | {f"p_{c + 1}": p[c] for c in range(6)}
            )
    ans = pd.DataFrame(rows)
    res = fidelity.steerability(ans, h, "g", "g", n_boot=500, seed=2)
    # by hand: scipy per persona, group and item; item-bootstrap with the same resamples
    from vp_stats.stats.resampling import Resampler

    W = Resampler(2).counts(8, 500)
    items = sorted(h.item.unique())
    for pid in ("pa", "pb", "pwrong"):
        d = {}
        for g in ("a", "b"):
            per = []
            for i in items:
                q = ans[(ans.persona_id == pid) & (ans.item == i)][
                    [f"p_{c}" for c in range(1, 7)]
                ].to_numpy()[0]
                x = h[(h.g == g) & (h.item == i)].rating.to_numpy()
                cx = np.array([(x == c).sum() for c in CATS], dtype=float)
                per.append(wasserstein_distance(CATS, CATS, u_weights=q, v_weights=cx))
            d[g] = np.array(per)
            row = res.table[(res.table.persona_id == pid) & (res.table.group == g)].iloc[0]
            assert row.distance == pytest.approx(d[g].mean(), abs=1e-12)
            lo, hi = np.quantile(W @ d[g] / 8, [0.025, 0.975])
            assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), abs=1e-12)
        own = ans[ans.persona_id == pid].g.iloc[0]
        other = "b" if own == "a" else "a"
        p = res.personas.set_index("persona_id").loc[pid]
        assert p.gap == pytest.approx(d[other].mean() - d[own].mean(), abs=1e-12)
        lo, hi = np.quantile(W @ (d[other] - d[own]) / 8, [0.025, 0.975])
        assert (p.gap_ci_low, p.gap_ci_high) == pytest.approx((lo, hi), abs=1e-12)
    ps = res.personas.set_index("persona_id")
    assert ps.loc["pa", "own_is_closest"] and ps.loc["pa", "gap_ci_low"] > 0
    assert not ps.loc["pwrong", "own_is_closest"] and ps.loc["pwrong", "gap"] < 0


def test_steerability_blocks_limit_the_other_groups():
    h = _group_humans(n=30, items=4)
    h2 = h.assign(g=h["g"] + "2", item=h["item"] + "x")  # a second block on other items
    hum = pd.concat([h, h2], ignore_index=True)
    ans = pd.DataFrame(
        {
            "persona_id": "pa",
            "g": "a",
            "item": [f"q{i}" for i in range(4)] + [f"q{i}x" for i in range(4)],
            "rating": 1.0,
        }
    )
    blocks = {"a": 1, "b": 1, "a2": 2, "b2": 2}
    full = fidelity.steerability(ans, hum, "g", "g", n_boot=0).personas.iloc[0]
    res = fidelity.steerability(ans, hum, "g", "g", blocks=blocks, n_boot=0)
    t = res.table.set_index("group").distance
    p = res.personas.iloc[0]
    assert p.distance_others == pytest.approx(t["b"]) and p.gap == pytest.approx(t["b"] - t["a"])
    assert full.distance_others == pytest.approx(t[["b", "a2", "b2"]].mean())


# ----------------------------------------------------------------------------- normalised score


def _peaked_humans(n_items=40, n=60, seed=0):
    """Raters whose answers peak at an item-specific category (the baseline is then far)."""
    rng = np.random.default_rng(seed)
    peaks = rng.integers(0, 6, n_items)
    P = np.array([np.exp(-1.5 * np.abs(np.arange(6) - k)) for k in peaks])
    P = P / P.sum(1, keepdims=True)
    return P, _humans_from(P, n=n, seed=seed + 1)


def _exact_answers(P):
    """A logprobs-mode model side that answers with the probabilities P (one row per item)."""
    return pd.DataFrame(
        [
            {"portrait_id": 1001 + i, "option_id": 1, "rating": float(np.argmax(p) + 1)}
            | {f"p_{c + 1}": p[c] for c in range(6)}
            for i, p in enumerate(P)
        ]
    )


def _all_random(seed, n_items=40, n_model=300, n_human=30):
    rng = np.random.default_rng(seed)
    item = np.repeat([f"q{i}" for i in range(n_items)], n_model)
    a = pd.DataFrame({"item": item, "rating": rng.integers(1, 7, item.size).astype(float)})
    item = np.repeat([f"q{i}" for i in range(n_items)], n_human)
    h = pd.DataFrame({"item": item, "rating": rng.integers(1, 7, item.size).astype(float)})
    return a, h


def _summary(answers, humans, seed, n_boot=1000):
    t = fidelity.item_fidelity(answers, humans, n_splits=10, n_boot=200, seed=seed).table
    return t, fidelity.summarise_fidelity(t, n_boot=n_boot, seed=seed).iloc[0]


def test_normalised_score_is_one_ratio_of_means_in_the_estimate_and_every_resample():
    P, hum = _peaked_humans()
    rng = np.random.default_rng(1)
    Q = 0.6 * P + 0.4 * rng.dirichlet(np.ones(6), size=len(P))
    t, s = _summary(_exact_answers(Q), hum, seed=2)
    t = t.assign(floor_w1=t.floor_w1.where(np.arange(len(t)) != 3))  # one floor undefined
    s = fidelity.summarise_fidelity(t, n_boot=2000, seed=3).iloc[0]
    from vp_stats.stats.resampling import Resampler

    W = Resampler(3).counts(len(t), 2000)
    ok = np.arange(len(t)) != 3  # the ratio's items: all three distances defined
    num = (t.average_w1 - t.w1).to_numpy()[ok]
    den = (t.average_w1 - t.floor_w1).to_numpy()[ok]
    assert s.normalised_w1 == pytest.approx(num.mean() / den.mean(), abs=1e-12)
    wb = W[:, ok]
    ratio = (wb @ num) / (wb @ den)  # the totals of the weights cancel
    lo, hi = np.quantile(ratio, [0.025, 0.975])
    assert (s.normalised_w1_ci_low, s.normalised_w1_ci_high) == pytest.approx((lo, hi), abs=1e-12)
    assert s.normalised_w1_reason is None
    assert s.normalised_w1_ci_low < s.normalised_w1 < s.normalised_w1_ci_high


@pytest.mark.parametrize("seed", range(4))
def test_normalised_score_on_known_structure(seed):
    P, hum = _peaked_humans(seed=seed)
    # a model answering with the population's own probabilities: at the floor (1). The
    # floor is a plug-in (simulated from the raters' empirical distribution, held fixed
    # in the item bootstrap), a little below the truth's distance: near 1, not exactly
    t, perfect = _summary(_exact_answers(P), hum, seed)
    assert np.isfinite(t.floor_js_distance).all()  # no NaN from scipy on equal draws
    for d in ("w1", "js_distance"):
        assert perfect[f"normalised_{d}"] == pytest.approx(1, abs=0.08)
        assert perfect[f"normalised_{d}_ci_low"] > 0.85
        assert perfect[f"normalised_{d}_ci_high"] > 0.96
    # a uniform model: peaks spread over all categories make the human average nearly
    # uniform, so the uniform model sits at the human-average baseline (0), not above
    _, uniform = _summary(_exact_answers(np.full_like(P, 1 / 6)), hum, seed)
    for d in ("w1", "js_distance"):
        assert uniform[f"normalised_{d}"] == pytest.approx(0, abs=0.05)
        assert uniform[f"normalised_{d}_ci_low"] < 0.01
        assert uniform[f"normalised_{d}_ci_high"] < 0.05
        assert uniform[f"normalised_{d}_reason"] is None
    # a model that always picks the opposite end of each item's peak: below the baseline
    opposite = P[:, ::-1]
    _, worse = _summary(_exact_answers(opposite), hum, seed)
    assert worse.normalised_w1_ci_high < 0 and worse.normalised_js_distance_ci_high < 0


@pytest.mark.parametrize("seed", range(6))
def test_all_random_normalised_score_is_inside_its_ci_or_undefined_with_a_reason(seed):
    # a random model against random raters: the floor sits at the baseline, so the ratio's
    # denominator is ~0; an earlier version dropped the resamples with a non-positive
    # denominator and reported, e.g., -47.7 with a CI of -43.5 to -2.0
    a, h = _all_random(seed)
    _, s = _summary(a, h, seed)
    for d in ("w1", "js_distance"):
        est, lo, hi = (s[f"normalised_{d}{x}"] for x in ("", "_ci_low", "_ci_high"))
        why = s[f"normalised_{d}_reason"]
        if np.isfinite(lo):
            assert lo <= est <= hi and why is None
        else:
            assert np.isnan(hi) and isinstance(why, str) and "baseline" in why
            if np.isnan(est):
                assert why.startswith("the floor is not below the baseline")


def test_normalised_estimate_lies_in_its_ci_whenever_the_ci_is_defined():
    # property over seeds and model quality, from the floor to worse than the baseline
    n_defined = 0
    for seed in range(8):
        P, hum = _peaked_humans(n_items=30, n=40, seed=seed)
        rng = np.random.default_rng(seed)
        for mix in (1.0, 0.5, 0.0):
            Q = mix * P + (1 - mix) * rng.dirichlet(np.ones(6), size=len(P))
            _, s = _summary(_exact_answers(Q), hum, seed, n_boot=500)
            for d in ("w1", "js_distance"):
                est, lo, hi = (s[f"normalised_{d}{x}"] for x in ("", "_ci_low", "_ci_high"))
                if np.isfinite(lo) and np.isfinite(hi):
                    n_defined += 1
                    assert lo <= est <= hi, (seed, mix, d, est, lo, hi)
    assert n_defined >= 40  # the property was exercised, not skipped


def test_normalised_ci_is_undefined_where_the_denominator_interval_covers_zero():
    # hand-built: baseline - floor is +0.02 on average but -1 .. +1 item by item
    t = pd.DataFrame(
        {
            "distribution_from": "probabilities",
            "w1": 0.5,
            "floor_w1": [0.48 + (-1) ** i for i in range(20)],
            "average_w1": 0.5,
            "js_distance": 0.2,
            "floor_js_distance": 0.1,
            "average_js_distance": 0.3,
            "split_half_w1": 0.3,
            "split_half_js_distance": 0.1,
            "uniform_w1": 1.0,
            "uniform_js_distance": 0.4,
        }
    )
    t["w1"] = 0.6
    s = fidelity.summarise_fidelity(t, n_boot=500, seed=0).iloc[0]
    assert s.normalised_w1 == pytest.approx(-0.1 / 0.02)
    assert np.isnan(s.normalised_w1_ci_low) and np.isnan(s.normalised_w1_ci_high)
    assert "interval of baseline - floor" in s.normalised_w1_reason
    # the well-defined measure beside it keeps its interval
    assert s.normalised_js_distance == pytest.approx(0.5)
    assert s.normalised_js_distance_reason is None
    ci_js = (s.normalised_js_distance_ci_low, s.normalised_js_distance_ci_high)
    assert ci_js == pytest.approx((0.5, 0.5))
    # the floor above the baseline: no score at all
    s2 = fidelity.summarise_fidelity(t.assign(floor_w1=0.7), n_boot=100).iloc[0]
    assert np.isnan(s2.normalised_w1) and s2.normalised_w1_reason.startswith("the floor is not")
