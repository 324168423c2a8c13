"""Survey weights in vp_stats.stats.fidelity: against numpy, scipy and a second floor method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from vp_stats.stats import fidelity

CATS = np.arange(1, 7, dtype=float)
Q = np.array(
    [
        [0.05, 0.1, 0.2, 0.3, 0.25, 0.1],
        [0.4, 0.3, 0.1, 0.1, 0.05, 0.05],
        [0.15, 0.15, 0.2, 0.2, 0.15, 0.15],
    ]
)


def _weighted_humans(n=60, seed=3, weights=None):
    """Raters answering the items of Q, one survey weight per rater (a few answers missing)."""
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, 0.6, size=n) if weights is None else np.broadcast_to(weights, n)
    rows = []
    for i, q in enumerate(Q):
        x = rng.choice(CATS, size=n, p=q)
        x[rng.random(n) < 0.05] = np.nan
        for j in range(n):
            rows.append({"participant": f"h{j}", "item": f"q{i}", "rating": x[j], "w": w[j]})
    return pd.DataFrame(rows)


def _answers(seed=5, n=7):
    rng = np.random.default_rng(seed)
    rows = [
        {"persona_id": f"p{j % 2}", "item": f"q{i}", "rating": float(rng.integers(1, 7))}
        for i in range(len(Q))
        for j in range(n)
    ]
    return pd.DataFrame(rows)


def test_weighted_histogram_and_kish_n_equal_numpy_by_hand():
    h = _weighted_humans()
    d = fidelity.human_distributions(h, weight="w").set_index("item")
    for item, g in h.dropna(subset=["rating"]).groupby("item"):
        x, w = g["rating"].to_numpy(), g["w"].to_numpy()
        hist, _ = np.histogram(x, bins=np.arange(0.5, 7.5), weights=w)
        p = hist / hist.sum()
        got = d.loc[item, [f"count_{c}" for c in range(1, 7)]].to_numpy(dtype=float)
        np.testing.assert_allclose(got / got.sum(), p, rtol=0, atol=1e-14)
        np.testing.assert_allclose(got.sum(), len(x), rtol=1e-13)  # on the raw n's scale
        assert d.loc[item, "n_human"] == len(x)
        kish = w.sum() ** 2 / (w**2).sum()
        assert d.loc[item, "n_human_effective"] == pytest.approx(kish, rel=1e-13)
        assert fidelity.kish_effective_n(w) == pytest.approx(kish, rel=1e-13)
    # a hand-worked case: weights 3, 1 on answers 1, 2 -> (3/4, 1/4), n_eff = 16 / 10
    hw = pd.DataFrame({"item": "q", "rating": [1, 2], "w": [3.0, 1.0]})
    r = fidelity.human_distributions(hw, weight="w").iloc[0]
    assert (r.count_1, r.count_2, r.n_human, r.n_human_effective) == (1.5, 0.5, 2.0, 1.6)


def test_weighted_w1_and_js_equal_scipy_on_weighted_samples():
    h = _weighted_humans()
    a = _answers()
    t = fidelity.item_fidelity(a, h, weight="w", n_splits=5, n_boot=5).table.set_index("item")
    for item, g in h.dropna(subset=["rating"]).groupby("item"):
        m = a.loc[a["item"] == item, "rating"].to_numpy()
        w1 = wasserstein_distance(m, g["rating"].to_numpy(), v_weights=g["w"].to_numpy())
        assert t.loc[item, "w1"] == pytest.approx(w1, abs=1e-12)
        assert t.loc[item, "representativeness"] == pytest.approx(1 - w1 / 5, abs=1e-12)
        pm = np.bincount(m.astype(int), minlength=7)[1:] / len(m)
        ph = np.histogram(g["rating"], bins=np.arange(0.5, 7.5), weights=g["w"])[0]
        js = jensenshannon(pm, ph / ph.sum(), base=2)
        assert t.loc[item, "js_distance"] == pytest.approx(js, abs=1e-12)
        kish = g["w"].sum() ** 2 / (g["w"] ** 2).sum()
        assert t.loc[item, "n_human_effective"] == pytest.approx(kish, rel=1e-13)
        assert t.loc[item, "n_human"] == len(g)
        mean_h = np.average(g["rating"], weights=g["w"])
        assert t.loc[item, "mean_human"] == pytest.approx(mean_h, rel=1e-13)
    # and the weights matter: the unweighted W1 differs
    t0 = fidelity.item_fidelity(a, h, n_splits=5, n_boot=5).table.set_index("item")
    assert not np.allclose(t0["w1"], t["w1"])
    assert "n_human_effective" not in t0.columns


@pytest.mark.parametrize("value", [1.0, 2.7])
def test_equal_weights_give_exactly_the_unweighted_results(value):
    h = _weighted_humans(weights=value)
    h0 = h.drop(columns="w")
    a = _answers()
    d0 = fidelity.human_distributions(h0)
    dw = fidelity.human_distributions(h, weight="w")
    pd.testing.assert_frame_equal(dw, d0, check_exact=True)
    s0 = fidelity.split_half_floor(h0, n_splits=50, seed=4)
    sw = fidelity.split_half_floor(h, n_splits=50, seed=4, weight="w")
    pd.testing.assert_frame_equal(sw, s0, check_exact=True)
    t0 = fidelity.item_fidelity(a, h0, by=["persona_id"], n_splits=30, n_boot=30, seed=2)
    tw = fidelity.item_fidelity(a, h, by=["persona_id"], n_splits=30, n_boot=30, seed=2, weight="w")
    pd.testing.assert_frame_equal(tw.table, t0.table, check_exact=True)
    g0 = fidelity.group_distributions(h0.assign(g=h0["participant"].str[-1] < "5"), "g")
    gw = fidelity.group_distributions(h.assign(g=h["participant"].str[-1] < "5"), "g", weight="w")
    pd.testing.assert_frame_equal(gw.drop(columns="n_human_effective"), g0, check_exact=True)
    assert (gw["n_human_effective"] == gw["n_human"]).all()
    hg = h.assign(g=np.where(h["participant"].str[-1] < "5", "x", "y"))
    ag = a.assign(g=np.where(a["persona_id"] == "p0", "x", "y"))
    st0 = fidelity.steerability(ag, hg.drop(columns="w"), "g", "g", n_boot=50, seed=1)
    stw = fidelity.steerability(ag, hg, "g", "g", n_boot=50, seed=1, weight="w")
    pd.testing.assert_frame_equal(stw.table, st0.table, check_exact=True)
    pd.testing.assert_frame_equal(stw.personas, st0.personas, check_exact=True)
    # the bootstrap floor: integer n_human is unchanged by the rounding of Kish's n
    C = d0[[f"count_{c}" for c in range(1, 7)]].to_numpy()
    f_default = fidelity.bootstrap_floor(C, 7, n_boot=40, seed=3)
    f_given = fidelity.bootstrap_floor(C, 7, n_human=d0["n_human"].to_numpy(), n_boot=40, seed=3)
    for key in ("w1", "js_distance"):
        np.testing.assert_array_equal(f_default[key], f_given[key])


def _big_weighted_sample(n=400):
    w = np.random.default_rng(8).lognormal(0.0, 0.7, size=n)  # unrelated to the answers
    rows = []
    for i, q in enumerate(Q):
        for j, x in enumerate(np.random.default_rng(20 + i).choice(CATS, size=n, p=q)):
            rows.append({"participant": f"h{j}", "item": f"q{i}", "rating": x, "w": w[j]})
    return pd.DataFrame(rows)


def _resp(hum):
    return [
        (g["rating"].to_numpy().astype(int) - 1, g["w"].to_numpy())
        for _, g in hum.groupby("item", sort=True)
    ]


def test_weighted_split_half_floor_agrees_with_two_weighted_resamples():
    # two random halves of n weighted raters are, in distribution, two resamples of n/2
    # raters carrying their weights (up to the finite-population factor): the human-side
    # sampler of the weighted bootstrap floor must reproduce the weighted split half
    n, B = 400, 4000
    hum = _big_weighted_sample(n)
    split = fidelity.split_half_floor(hum, n_splits=B, seed=1, weight="w")
    resp = _resp(hum)
    rng = np.random.default_rng(2)
    d = {"w1": [], "js_distance": []}
    for cat, w in resp:
        a = fidelity.weighted_resample_counts(cat, w, n // 2, B, 6, rng)
        b = fidelity.weighted_resample_counts(cat, w, n // 2, B, 6, rng)
        d["w1"].append(fidelity.ordinal_w1(a, b))
        d["js_distance"].append(fidelity.js_distance(a, b))
    dn = fidelity.human_distributions(hum, weight="w")
    n_eff = dn["n_human_effective"].to_numpy()
    assert np.all(n_eff < 0.8 * n)  # the weights matter: a design effect above 1.25
    counts = dn[[f"count_{c}" for c in range(1, 7)]].to_numpy()
    kish = fidelity.bootstrap_floor(counts, n_eff / 2, n_human=np.rint(n_eff / 2), n_boot=B)
    for col, key in (("split_half_w1", "w1"), ("split_half_js_distance", "js_distance")):
        draws = np.array(d[key])  # items x B
        se = np.sqrt(2) * draws.std(axis=1, ddof=1) / np.sqrt(B)
        diff = split[col].to_numpy() - draws.mean(axis=1)
        assert np.all(np.abs(diff) < 4 * se), (col, diff, se)
        if key == "js_distance":
            # the rejected scheme (multinomials at Kish's n_eff / 2) misses on the item
            # with rare categories (q1: 5 % and 5 %) by far more than Monte Carlo error
            miss = kish[key] - split[col].to_numpy()
            assert miss[1] > 8 * se[1] and miss[1] / split[col].iloc[1] > 0.05, miss


def test_weighted_bootstrap_floor_equals_an_independent_resampling():
    # exact model side (probabilities): the floor is the mean distance of the weighted
    # histogram from resamples of all n raters carrying their weights; computed here with
    # numpy's choice, independently of the library's sampler
    n, B = 300, 3000
    hum = _big_weighted_sample(n)
    dn = fidelity.human_distributions(hum, weight="w")
    C = dn[[f"count_{c}" for c in range(1, 7)]].to_numpy()
    resp = _resp(hum)
    got = fidelity.bootstrap_floor(C, np.inf, n_boot=B, seed=4, weighted_answers=resp)
    rng = np.random.default_rng(99)
    for i, (cat, w) in enumerate(resp):
        p = C[i] / C[i].sum()
        w1, js = [], []
        for _ in range(B):
            idx = rng.choice(len(cat), size=len(cat), replace=True)
            h = np.bincount(cat[idx], weights=w[idx], minlength=6)
            w1.append(wasserstein_distance(CATS, CATS, p, h))
            js.append(jensenshannon(p, h / h.sum(), base=2))
        for key, ref in (("w1", w1), ("js_distance", js)):
            se = np.sqrt(2) * np.std(ref, ddof=1) / np.sqrt(B)
            assert abs(got[key][i] - np.mean(ref)) < 4 * se, (key, i, got[key][i], np.mean(ref))
    # through item_fidelity: the weighted floor of a model recording probabilities
    a = pd.DataFrame({"item": ["q0", "q1", "q2"], "rating": 3.0})
    for c in range(1, 7):
        a[f"p_{c}"] = 1 / 6
    t = fidelity.item_fidelity(a, hum, weight="w", n_boot=B, n_splits=2, seed=4).table
    np.testing.assert_allclose(t["floor_w1"], got["w1"], rtol=0, atol=0)


def test_bad_weights_are_named():
    h = _weighted_humans(n=5)
    with pytest.raises(ValueError, match="field 'w'"):
        fidelity.human_distributions(h.assign(w=-1.0), weight="w")
    with pytest.raises(Exception, match="'wt'"):
        fidelity.item_fidelity(_answers(), h, weight="wt")


def test_split_half_is_the_rank_definition_by_hand():
    # the halves are the raters whose random numbers rank below n // 2 (two argsorts, the
    # definition), drawn from the same seeded stream: the partition shortcut is exact
    h = _weighted_humans(n=41, seed=6).dropna(subset=["rating"])
    got = fidelity.split_half_floor(h, n_splits=64, seed=9, weight="w")
    rng = np.random.default_rng(9)
    for item, g in h.groupby("item", sort=True):
        n = len(g)
        onehot = np.eye(6)[g["rating"].to_numpy().astype(int) - 1] * g["w"].to_numpy()[:, None]
        half = (rng.random((64, n)).argsort(axis=1).argsort(axis=1) < n // 2).astype(float)
        a = half @ onehot
        b = onehot.sum(axis=0) - a
        w1 = np.mean([wasserstein_distance(CATS, CATS, x, y) for x, y in zip(a, b, strict=True)])
        row = got.set_index("item").loc[item]
        assert row["split_half_w1"] == pytest.approx(w1, abs=1e-12)


def test_weighted_group_distances_equal_numpy_and_equal_weights_the_unweighted():
    h = _weighted_humans(n=40, seed=12).dropna(subset=["rating"])
    h = h.assign(g=np.where(h["participant"].str[1:].astype(int) % 3 == 0, "a", "b"))
    got = fidelity.group_distances(h, "g", weight="w", n_perm=30, seed=2).iloc[0]
    w1, js = [], []
    for _, it in h.groupby("item"):
        hist = {
            g: np.histogram(x["rating"], bins=np.arange(0.5, 7.5), weights=x["w"])[0]
            for g, x in it.groupby("g")
        }
        w1.append(wasserstein_distance(CATS, CATS, hist["a"], hist["b"]))
        js.append(jensenshannon(hist["a"], hist["b"], base=2))
    assert got["w1"] == pytest.approx(np.mean(w1), abs=1e-12)
    assert got["js_distance"] == pytest.approx(np.mean(js), abs=1e-12)
    ones = h.assign(w=3.3)
    pd.testing.assert_frame_equal(
        fidelity.group_distances(ones, "g", weight="w", n_perm=30, seed=2),
        fidelity.group_distances(ones.drop(columns="w"), "g", n_perm=30, seed=2),
        check_exact=True,
    )
