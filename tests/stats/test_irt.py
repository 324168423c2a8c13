"""Tests of the 2PL IRT wrappers (girth) and the binary-matrix helper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats.stats import irt


@pytest.fixture(scope="module")
def fitted():
    sim = irt.simulate_2pl(n_respondents=500, n_items=20, seed=0)
    items, abilities = irt.fit_2pl(sim.responses)
    return sim, items, abilities


def test_parameter_recovery(fitted):
    sim, items, abilities = fitted
    assert items["item"].tolist() == sim.items["item"].tolist()
    assert abilities["model"].tolist() == sim.abilities["model"].tolist()
    r_b = np.corrcoef(items["difficulty"], sim.items["difficulty"])[0, 1]
    r_a = np.corrcoef(items["discrimination"], sim.items["discrimination"])[0, 1]
    r_t = np.corrcoef(abilities["ability"], sim.abilities["ability"])[0, 1]
    assert r_b > 0.95
    assert r_a > 0.8
    assert r_t > 0.85
    assert np.abs(items["difficulty"] - sim.items["difficulty"]).mean() < 0.25
    assert (items["n_responses"] == 500).all()
    np.testing.assert_allclose(items["p_endorsed"], sim.responses.mean().to_numpy())


def _eap_reference(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """EAP by direct numerical integration with a N(0, 1) prior (independent of girth)."""
    grid = np.linspace(-6, 6, 4001)
    prior = np.exp(-0.5 * grid**2)
    p = 1 / (1 + np.exp(-a[:, None] * (grid[None, :] - b[:, None])))  # items x grid
    out = []
    for row in x:
        ok = ~np.isnan(row)
        lik = np.prod(np.where(row[ok, None] == 1, p[ok], 1 - p[ok]), axis=0) * prior
        out.append((grid * lik).sum() / lik.sum())
    return np.array(out)


def test_ability_matches_direct_integration(fitted):
    sim, items, abilities = fitted
    x = sim.responses.to_numpy(float)[:40]
    ref = _eap_reference(x, items["discrimination"].to_numpy(), items["difficulty"].to_numpy())
    np.testing.assert_allclose(abilities["ability"].to_numpy()[:40], ref, atol=2e-3)
    # with known item parameters as well
    known = irt.estimate_ability(sim.responses.iloc[:40], sim.items)
    ref_known = _eap_reference(
        x, sim.items["discrimination"].to_numpy(), sim.items["difficulty"].to_numpy()
    )
    np.testing.assert_allclose(known["ability"], ref_known, atol=2e-3)


def test_missing_responses_and_tidy_input():
    sim = irt.simulate_2pl(n_respondents=300, n_items=10, seed=3)
    x = sim.responses.astype(float)
    rng = np.random.default_rng(0)
    x = x.mask(rng.random(x.shape) < 0.05)
    items, abilities = irt.fit_2pl(x)
    assert np.corrcoef(items["difficulty"], sim.items["difficulty"])[0, 1] > 0.9
    assert (abilities["n_responses"] <= 10).all() and (abilities["n_responses"] < 10).any()
    tidy = x.stack().rename("rating").reset_index()
    items2, abilities2 = irt.fit_2pl(tidy)
    np.testing.assert_allclose(items2["difficulty"], items["difficulty"], atol=1e-10)
    np.testing.assert_allclose(abilities2["ability"], abilities["ability"], atol=1e-10)


def test_errors_and_constant_items():
    sim = irt.simulate_2pl(n_respondents=100, n_items=4, seed=1)
    x = sim.responses.copy()
    x["always"] = 1
    with pytest.raises(ValueError, match=r"1 item\(s\) have no variance.*'always'"):
        irt.fit_2pl(x)
    with pytest.warns(UserWarning, match="dropped 1 constant item"):
        items, _ = irt.fit_2pl(x, constant_items="drop")
    assert "always" not in set(items["item"])
    bad = sim.responses.copy()
    bad.iloc[3, 2] = 2
    with pytest.raises(ValueError, match=r"model 'm0004', item 'item03': response 2 is not 0/1"):
        irt.fit_2pl(bad)
    with pytest.raises(ValueError, match="at least 2 models and 2"):
        irt.fit_2pl(sim.responses.iloc[:, :1])
    with pytest.raises(ValueError, match="items not in the response matrix"):
        irt.estimate_ability(sim.responses, sim.items.assign(item="zz"))


def test_binary_matrix_from_answers():
    ans = pd.DataFrame(
        {
            "model": ["m1"] * 3 + ["m2"] * 3,
            "portrait_id": [1001, 1001, 2002] * 2,
            "option_id": [1, 2, 3] * 2,
            "rating": [4.0, 3.99, 6.0, 1.0, 5.5, np.nan],
        }
    )
    val = pd.DataFrame(
        {
            "portrait_id": [1001, 1001, 2002, 1001],
            "option_id": [1, 2, 3, 1],
            "dimension": ["Power", "Power", "Power", "Security"],
        }
    )
    out = irt.binary_matrix_from_answers(ans, val, dimension="Power")
    assert out.columns.tolist() == ["1001/1", "1001/2", "2002/3"]
    assert out.loc["m1"].tolist() == [1.0, 0.0, 1.0]
    assert out.loc["m2"].tolist()[:2] == [0.0, 1.0] and np.isnan(out.loc["m2", "2002/3"])
    sec = irt.binary_matrix_from_answers(ans, val, dimension="Security", threshold=5)
    assert sec.columns.tolist() == ["1001/1"] and sec["1001/1"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="pass dimension="):
        irt.binary_matrix_from_answers(ans, val)
    with pytest.raises(ValueError, match="no items validated for dimension 'Care'"):
        irt.binary_matrix_from_answers(ans, val, dimension="Care")
    with pytest.raises(ValueError, match="duplicate answers for model 'm1'"):
        irt.binary_matrix_from_answers(pd.concat([ans, ans.iloc[[0]]]), val, dimension="Power")
    with pytest.raises(
        ValueError, match=r"model 'm2', item \(1001, 1\): answer 7.0 is outside 1..6"
    ):
        irt.binary_matrix_from_answers(
            ans.assign(rating=ans.rating.replace({1.0: 7.0})), val, dimension="Power"
        )
    with pytest.raises(ValueError, match="answers: table, field 'rating': missing column"):
        irt.binary_matrix_from_answers(ans.drop(columns="rating"), val, dimension="Power")
