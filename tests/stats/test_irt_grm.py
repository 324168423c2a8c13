"""Tests of the graded response model (vp_stats.stats.irt.fit_grm and its companions).

References: a seeded recovery simulation (known parameters, tolerances from the standard
errors), direct numerical integration (EAP), finite differences (information), girth's
grm_mml (its marginal log-likelihood is lower) and lavaan's ordinal CFA on psych's bfi
(stored in tests/fixtures/r/grm_lavaan_bfi.csv by make_grm_lavaan_bfi.R; a live R run
checks that the stored file is current).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import r_reference
from scipy import stats

from vp_stats.errors import DataFormatError
from vp_stats.stats import irt

B = [f"b{j}" for j in range(1, 6)]


@pytest.fixture(scope="module")
def recovery():
    sim = irt.simulate_grm(n_participants=2000, n_items=8, n_categories=6, seed=3)
    return sim, irt.fit_grm(sim.responses)


def test_recovers_known_parameters_within_their_standard_errors(recovery):
    """Each estimate lies within 3.5 SE of its true value (48 parameters: a false alarm has
    probability about 48 * 4.7e-4 = 0.02 under correct SEs), and the SEs are calibrated:
    sum z^2 over the 48 parameters is not beyond chi2(48)'s 99.9% point. The seed is fixed,
    so the test is deterministic; the bounds say what it would take to fail by chance."""
    sim, res = recovery
    assert res.notes["converged"] and res.notes["max_abs_gradient"] < 1e-6
    it = res.items.set_index("item")
    truth = sim.items.set_index("item")
    z = np.concatenate([((it[c] - truth[c]) / it[f"{c}_se"]).to_numpy() for c in ["a", *B]])
    assert np.abs(z).max() < 3.5, np.round(z, 2)
    assert (z**2).sum() < stats.chi2.ppf(0.999, z.size)
    # the SEs are of the size sampling theory says (a ~ 0.06-0.1 at n = 2000)
    assert 0.03 < it.a_se.min() and it.a_se.max() < 0.15
    # tidy table == wide table
    tidy = res.summary_frame()
    assert len(tidy) == 48 and set(tidy.parameter) == {"a", *B}
    np.testing.assert_array_equal(tidy[tidy.parameter == "a"].estimate.to_numpy(), it.a.to_numpy())


def test_standard_errors_are_the_inverse_observed_information(recovery):
    """SEs = sqrt(diag((-H)^-1)), H the Hessian of grm_loglik (an independent evaluation of the
    marginal log-likelihood, differenced twice here)."""
    sim, res = recovery
    one = res.items.iloc[[0]]
    d = sim.responses
    a0 = float(one.a.iloc[0])

    def ll(a):  # profile over a only, the other parameters at their estimates
        t = res.items.copy()
        t.loc[0, "a"] = a
        return irt.grm_loglik(d, t)

    h = 1e-3
    d2 = (ll(a0 + h) - 2 * ll(a0) + ll(a0 - h)) / h**2
    H = -np.linalg.inv(res.covariance)
    assert d2 == pytest.approx(H[0, 0], rel=1e-4)
    assert ll(a0) == pytest.approx(res.notes["loglik"], abs=1e-8)


def test_eap_abilities_equal_direct_integration(recovery):
    sim, res = recovery
    ab = res.abilities()
    assert ab.columns.tolist() == ["participant", "ability", "ability_sd", "n_responses"]
    grid = np.linspace(-7, 7, 7001)
    prior = stats.norm.pdf(grid)
    x = sim.responses.to_numpy()[:30]
    means, sds = [], []
    for row in x:
        lik = prior.copy()
        for (_, r), k in zip(res.items.iterrows(), row, strict=True):
            b = r[B].to_numpy(float)
            pstar = np.vstack(
                [
                    np.ones_like(grid),
                    1 / (1 + np.exp(-r.a * (grid[None] - b[:, None]))),
                    np.zeros_like(grid),
                ]
            )
            lik *= pstar[k - 1] - pstar[k]
        w = lik / lik.sum()
        means.append(w @ grid)
        sds.append(np.sqrt(w @ grid**2 - (w @ grid) ** 2))
    np.testing.assert_allclose(ab.ability.to_numpy()[:30], means, atol=1e-6)
    np.testing.assert_allclose(ab.ability_sd.to_numpy()[:30], sds, atol=1e-6)
    # EAP is the posterior mean: cov(EAP, theta) = var(EAP) and var(theta) = 1, so the
    # correlation with the true abilities is sd(EAP) (up to sampling error, ~0.01 at n = 2000)
    r = np.corrcoef(ab.ability, sim.abilities.ability)[0, 1]
    assert r == pytest.approx(ab.ability.std(), abs=0.03)


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_information_equals_fisher_information_by_finite_differences(recovery, link):
    """I(theta) = -E[d^2 log P(X | theta) / d theta^2], the expectation over the categories."""
    _, res = recovery
    theta = np.array([-2.0, -0.3, 0.0, 1.1, 2.0])
    info = irt.grm_information(res.items, theta, link=link)
    from scipy.special import expit

    F = expit if link == "logit" else stats.norm.cdf
    h = 1e-4
    for _, r in res.items.iterrows():
        b = r[B].to_numpy(float)

        def logp(t, a=r.a, b=b):  # categories' probabilities from the upper tails
            up = np.vstack([np.zeros_like(t), F(-a * (t[None] - b[:, None])), np.ones_like(t)])
            return np.log(up[1:] - up[:-1]), up[1:] - up[:-1]

        lp, p = logp(theta)
        d2 = (logp(theta + h)[0] - 2 * lp + logp(theta - h)[0]) / h**2
        expected = -(p * d2).sum(axis=0)
        got = info[info.item == r["item"]].information.to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    test = info[info.item == "test"].information.to_numpy()
    items = info[info.item != "test"].groupby("theta").information.sum().to_numpy()
    np.testing.assert_allclose(test, items)


def test_missing_answers_and_collapsed_categories():
    sim = irt.simulate_grm(600, 5, 4, seed=5)
    x = sim.responses.astype(float)
    rng = np.random.default_rng(0)
    x = x.mask(rng.random(x.shape) < 0.1)
    res = irt.fit_grm(x)
    assert res.items.n_responses.tolist() == x.notna().sum().tolist()
    # an unobserved middle category is no category (as in mirt): 1, 2, 4 -> 3 categories
    y = x.replace({3.0: 4.0})
    res2 = irt.fit_grm(y)
    assert res2.categories["item01"] == (1, 2, 4) and (res2.items.n_categories == 3).all()


def test_orientation_is_most_items_positive():
    sim = irt.simulate_grm(800, 4, 5, seed=2)
    flipped = 6 - sim.responses
    a = irt.fit_grm(sim.responses).items.a
    a2 = irt.fit_grm(flipped).items.a
    assert (a > 0).all() and (a2 > 0).all()
    np.testing.assert_allclose(a, a2, rtol=1e-5)


@pytest.mark.parametrize(
    "bad, field, problem",
    [
        (pd.DataFrame({"q1": [1, 2.5, 3], "q2": [1, 2, 3]}), "q1", "not an integer"),
        (pd.DataFrame({"q1": [1, "x", 3], "q2": [1, 2, 3]}), "q1", "not an integer"),
        (pd.DataFrame({"q1": [2, 2, 2], "q2": [1, 2, 3]}), "q1", "single category"),
        (pd.DataFrame({"q1": range(30), "q2": [1, 2] * 15}), "q1", "more than 20"),
    ],
)
def test_bad_items_are_named(bad, field, problem):
    with pytest.raises(DataFormatError, match=problem) as err:
        irt.fit_grm(bad, source="items.csv")
    assert err.value.field == field and err.value.file == "items.csv"


def test_grm_from_factor_conversion():
    a, b = irt.grm_from_factor([0.6, -0.8], [[-0.3, 0.9], [0.4, 1.2]])
    np.testing.assert_allclose(a, [0.75, -0.8 / 0.6])
    np.testing.assert_allclose(b, [[-0.5, 1.5], [-0.5, -1.5]])
    a_logit, _ = irt.grm_from_factor([0.6], [[0.0]], link="logit")
    assert a_logit[0] == pytest.approx(1.702 * 0.75)


# ----------------------------------------------------------------------------- psych's bfi


@pytest.fixture(scope="module")
def bfi():
    from vp_stats.io import psychtools as pt

    try:
        return pt.read_bfi()
    except pt.PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools not installed: {exc}")


def test_girth_stops_short_of_the_maximum(bfi):
    """Why fit_grm is not girth.grm_mml: on bfi's Neuroticism items girth's estimates have a
    marginal log-likelihood 3.8 below fit_grm's maximum (and no standard errors)."""
    girth = pytest.importorskip("girth")
    d = bfi[[f"N{i}" for i in range(1, 6)]].dropna()
    res = irt.fit_grm(d)
    g = girth.grm_mml(d.to_numpy(int).T)
    items = pd.DataFrame({"item": d.columns, "a": g["Discrimination"]})
    for j in range(5):
        items[f"b{j + 1}"] = g["Difficulty"][:, j]
    ll_girth = irt.grm_loglik(d, items)
    assert res.notes["loglik"] - ll_girth > 1.0
    assert irt.grm_loglik(d, res.items) == pytest.approx(res.notes["loglik"], abs=1e-8)


@pytest.fixture(scope="module")
def probit_fits(bfi):
    out = {}
    for tr in "ACENO":
        d = bfi[[f"{tr}{i}" for i in range(1, 6)]].dropna()
        out[tr] = (len(d), irt.fit_grm(d, link="probit"))
    return out


@pytest.mark.parametrize("trait", list("ACENO"))
def test_normal_ogive_grm_agrees_with_lavaan_ordinal_cfa(probit_fits, trait):
    """lavaan's ordinal CFA (DWLS on polychorics, limited information) and the normal-ogive GRM
    by full-information ML estimate the same parameters (a = lambda / sqrt(1 - lambda^2),
    b_k = tau_k / lambda): both are consistent, so under the model their difference is of
    sampling order. Its variance, Var(DWLS) - Var(ML) for an efficient ML (Hausman), is below
    Var(ML) here (DWLS is close to efficient for five items), so 3 ML standard errors bound it;
    the observed largest |difference| / SE over the 150 parameters is 2.4 (N4's a)."""
    ref = r_reference.stored("grm_lavaan_bfi")
    n, res = probit_fits[trait]
    assert n == ref[f"{trait}_n"][0]
    a, b = irt.grm_from_factor(ref[f"{trait}_lambda"], ref[f"{trait}_tau"].reshape(5, 5))
    it = res.items
    sign = np.sign(np.dot(a, it.a))  # the factor's sign is arbitrary in both
    a, b = sign * a, sign * b
    z_a = (it.a.to_numpy() - a) / it.a_se.to_numpy()
    z_b = (it[B].to_numpy() - b) / it[[f"{c}_se" for c in B]].to_numpy()
    assert np.abs(z_a).max() < 3, np.round(z_a, 2)
    assert np.abs(z_b).max() < 3, np.round(z_b, 2)
    # and in absolute terms: discriminations within 0.08, thresholds within 0.2
    assert np.abs(it.a.to_numpy() - a).max() < 0.08
    assert np.abs(it[B].to_numpy() - b).max() < 0.2


@pytest.mark.r
def test_stored_lavaan_reference_equals_live_r(tmp_path):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    out = tmp_path / "grm_lavaan_bfi.csv"
    script = r_reference.FIXTURES / "make_grm_lavaan_bfi.R"
    res = subprocess.run(
        [rscript, "--vanilla", str(script), str(out)], capture_output=True, text=True, timeout=600
    )
    if res.returncode != 0 and "psychTools" in res.stderr:
        pytest.skip(f"R has no psychTools: {res.stderr[-300:]}")
    assert res.returncode == 0, res.stderr[-2000:]
    live = pd.read_csv(out)
    stored = pd.read_csv(r_reference.FIXTURES / "grm_lavaan_bfi.csv")
    assert live[["name", "index"]].equals(stored[["name", "index"]])
    np.testing.assert_allclose(live.value, stored.value, rtol=1e-9, atol=1e-12)


def test_ordinal_matrix_from_answers_is_the_likert_alternative_of_the_2pl_matrix():
    """Value Compass: same items and models as the 2PL's binary matrix, the six categories
    kept (means over prompt variants rounded half up), ready for fit_grm."""
    sim = irt.simulate_grm(300, 4, 6, seed=11)
    tidy = (
        sim.responses.rename_axis("model")
        .reset_index()
        .melt(id_vars="model", var_name="option_id", value_name="rating")
    )
    tidy["portrait_id"] = 1001
    tidy["rating"] = tidy["rating"].astype(float)
    tidy.loc[0, "rating"] = 3.5  # a mean over prompt variants
    val = pd.DataFrame({"portrait_id": 1001, "option_id": sim.items.item, "dimension": "Power"})
    ordm = irt.ordinal_matrix_from_answers(tidy, val)
    binm = irt.binary_matrix_from_answers(tidy, val)
    assert ordm.shape == binm.shape and (ordm.index == binm.index).all()
    assert ordm.iloc[0, 0] == 4.0  # 3.5 rounds half up
    np.testing.assert_array_equal((ordm.iloc[1:] >= 4).to_numpy(float), binm.iloc[1:].to_numpy())
    res = irt.fit_grm(ordm)
    assert res.notes["converged"] and len(res.items) == 4
    with pytest.raises(ValueError, match="graded scale measures one value"):
        irt.ordinal_matrix_from_answers(tidy, val.assign(dimension=["Power", "Care"] * 2))
