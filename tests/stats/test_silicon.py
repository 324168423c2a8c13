"""Pattern correspondence of a silicon sample (vp_stats.stats.silicon): Tucker's congruence
against a hand computation, the correlation differences against numpy, the reliabilities and
group gaps against direct formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vp_stats.stats.factor_engine import one_factor_loadings
from vp_stats.stats.silicon import (
    correlation_differences,
    pattern_correspondence,
    tucker_congruence,
)


def test_tucker_congruence_by_hand():
    x, y = [0.8, 0.6, 0.4], [0.7, 0.7, 0.2]
    # sum xy = .56 + .42 + .08 = 1.06; sum x^2 = 1.16; sum y^2 = 1.02
    assert tucker_congruence(x, y) == pytest.approx(1.06 / math.sqrt(1.16 * 1.02), abs=1e-14)
    assert tucker_congruence(x, [2 * v for v in x]) == pytest.approx(1.0, abs=1e-14)
    assert tucker_congruence(x, [-v for v in x]) == pytest.approx(-1.0, abs=1e-14)
    # not a correlation: a shift changes it
    assert tucker_congruence([1, 2, 3], [2, 3, 4]) < 1
    with pytest.raises(ValueError, match="same length"):
        tucker_congruence([1, 2], [1, 2, 3])


def _sample(rng, n, lam, shift=3.5):
    f = rng.normal(size=(n, 1))
    x = f * lam + rng.normal(size=(n, len(lam))) * np.sqrt(1 - lam**2)
    return np.clip(np.round(shift + 1.2 * x), 1, 6)


def test_correlation_differences_equal_numpy():
    rng = np.random.default_rng(1)
    h = pd.DataFrame(_sample(rng, 300, np.array([0.8, 0.6, 0.5, 0.3])), columns=list("abcd"))
    s = pd.DataFrame(_sample(rng, 40, np.array([0.2, 0.7, 0.7, 0.6])), columns=list("abcd"))
    t = correlation_differences(h, s)
    rh, rs = np.corrcoef(h.to_numpy().T), np.corrcoef(s.to_numpy().T)
    i, j = np.triu_indices(4, k=1)
    np.testing.assert_allclose(t.r_human, rh[i, j], atol=1e-12)
    np.testing.assert_allclose(t.r_silicon, rs[i, j], atol=1e-12)
    np.testing.assert_allclose(t.r_difference, rs[i, j] - rh[i, j], atol=1e-12)
    assert t[["item_a", "item_b"]].values.tolist()[:3] == [["a", "b"], ["a", "c"], ["a", "d"]]


def _alpha(x):
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_pattern_correspondence_against_direct_computations():
    rng = np.random.default_rng(2)
    lam_h = np.array([0.8, 0.7, 0.6, 0.5])
    lam_s = np.array([0.3, 0.8, 0.8, 0.2])
    H = _sample(rng, 400, lam_h)
    S = _sample(rng, 60, lam_s)
    cols = ["p1", "p2", "p3", "r4"]
    human = pd.DataFrame(H, columns=cols)
    silicon = pd.DataFrame(S, columns=cols)
    # the fourth item is stored reverse keyed in the files and keyed back by "-r4"
    human["r4"] = 7 - human["r4"]
    silicon["r4"] = 7 - silicon["r4"]
    human["gender"] = np.where(np.arange(400) % 2, "female", "male")
    silicon["gender"] = np.where(np.arange(60) % 3, "female", "male")
    # a second scale: other items, to test the all-items row
    human[["q1", "q2", "q3"]] = _sample(rng, 400, np.array([0.7, 0.7, 0.7]))
    silicon[["q1", "q2", "q3"]] = _sample(rng, 60, np.array([0.7, 0.7, 0.7]))
    keys = {"P": ["p1", "p2", "p3", "-r4"], "Q": ["q1", "q2", "q3"]}
    res = pattern_correspondence(
        human, silicon, keys, group="gender", group_a="female", group_b="male", n_boot=300
    )
    t = res.table.set_index("dimension")
    # congruence: one-factor loadings of each sample's keyed correlations, by hand
    lh, _, _ = one_factor_loadings(np.corrcoef(H.T))
    ls, _, _ = one_factor_loadings(np.corrcoef(S.T))
    phi = (lh * ls).sum() / math.sqrt((lh**2).sum() * (ls**2).sum())
    # (pandas and numpy correlations differ in the last bits; the minres solver amplifies it)
    assert t.loc["P", "congruence"] == pytest.approx(phi, abs=1e-8)
    assert t.loc["P", "congruence"] < 0.97  # different loading patterns are told apart
    # correlation differences of the keyed items
    rh, rs = np.corrcoef(H.T), np.corrcoef(S.T)
    i, j = np.triu_indices(4, k=1)
    assert t.loc["P", "mean_abs_r_difference"] == pytest.approx(
        np.abs(rs[i, j] - rh[i, j]).mean(), abs=1e-12
    )
    assert t.loc["P", "mean_r_silicon"] == pytest.approx(rs[i, j].mean(), abs=1e-12)
    # reliabilities beside each other
    assert t.loc["P", "alpha_human"] == pytest.approx(_alpha(H), abs=1e-10)
    assert t.loc["P", "alpha_silicon"] == pytest.approx(_alpha(S), abs=1e-10)
    assert t.loc["P", "alpha_human_ci_low"] < t.loc["P", "alpha_human"]
    assert 0 < t.loc["P", "omega_human"] < 1
    assert (t.loc["P", "n_human"], t.loc["P", "n_silicon"]) == (400, 60)
    # group gaps: female - male mean of the keyed items' mean
    for who, X, g in (("human", H, human.gender), ("silicon", S, silicon.gender)):
        score = X.mean(axis=1)
        gap = score[g == "female"].mean() - score[g == "male"].mean()
        assert t.loc["P", f"gap_{who}"] == pytest.approx(gap, abs=1e-12)
        assert t.loc["P", f"gap_{who}_ci_low"] < gap < t.loc["P", f"gap_{who}_ci_high"]
    # all items: every pair of the seven keyed items
    allx_h = np.column_stack([H, human[["q1", "q2", "q3"]].to_numpy()])
    allx_s = np.column_stack([S, silicon[["q1", "q2", "q3"]].to_numpy()])
    i, j = np.triu_indices(7, k=1)
    d = np.corrcoef(allx_s.T)[i, j] - np.corrcoef(allx_h.T)[i, j]
    assert t.loc["all items", "mean_abs_r_difference"] == pytest.approx(np.abs(d).mean(), 1e-12)
    assert len(res.correlations) == 21


def test_pattern_correspondence_of_a_sample_with_itself():
    rng = np.random.default_rng(3)
    h = pd.DataFrame(_sample(rng, 200, np.array([0.8, 0.7, 0.6])), columns=list("abc"))
    t = pattern_correspondence(h, h.copy(), {"S": list("abc")}).table.set_index("dimension")
    assert t.loc["S", "congruence"] == pytest.approx(1.0, abs=1e-12)
    assert t.loc["S", "mean_abs_r_difference"] == 0
    assert t.loc["S", "alpha_human"] == t.loc["S", "alpha_silicon"]


def test_pattern_correspondence_constant_item_and_bad_input():
    rng = np.random.default_rng(4)
    h = pd.DataFrame(_sample(rng, 100, np.array([0.8, 0.7, 0.6])), columns=list("abc"))
    s = h.head(20).copy()
    s["a"] = 3.0  # a silicon sample answering one item always the same way
    res = pattern_correspondence(h, s, {"S": list("abc")})
    assert np.isnan(res.table.congruence.iloc[0]) and "congruence S" in res.notes
    s.loc[s.index[0], "b"] = 7
    with pytest.raises(ValueError, match="silicon answers: row 0, item 'b': 7 outside 1-6"):
        pattern_correspondence(h, s, {"S": list("abc")})
    with pytest.raises(ValueError, match="item column 'z'"):
        pattern_correspondence(h, h, {"S": ["a", "z"]})


def test_pattern_correspondence_equals_psych_on_sapa_men_and_women():
    """Two real samples (psychTools bfi men as "human", women as "silicon"): congruence,
    correlation differences and alpha equal psych's
    (tests/fixtures/r/make_psych_congruence_bfi.R)."""
    from r_reference import stored  # tests/ is on sys.path (conftest)

    from vp_stats.io import psychtools

    try:
        bfi = psychtools.read_bfi()
    except Exception as exc:  # noqa: BLE001 - psychTools absent
        pytest.skip(f"psychTools not installed: {exc}")
    ref = stored("psych_congruence_bfi")
    men, women = bfi[bfi.gender == "male"], bfi[bfi.gender == "female"]
    t = pattern_correspondence(men, women, psychtools.BFI_KEYS).table.set_index("dimension")
    for s in psychtools.BFI_KEYS:
        assert t.loc[s, "congruence"] == pytest.approx(ref[f"{s}_congruence"][0], abs=1e-6)
        assert t.loc[s, "mean_abs_r_difference"] == pytest.approx(
            ref[f"{s}_mean_abs_r_difference"][0], abs=1e-12
        )
        assert t.loc[s, "alpha_human"] == pytest.approx(ref[f"{s}_alpha_men"][0], abs=1e-10)
        assert t.loc[s, "alpha_silicon"] == pytest.approx(ref[f"{s}_alpha_women"][0], abs=1e-10)
