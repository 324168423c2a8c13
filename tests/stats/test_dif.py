"""Tests of ordinal logistic regression DIF (vp_stats.stats.dif).

Reference: R's MASS::polr on psych's bfi by gender (stored in tests/fixtures/r/dif_polr_bfi.csv
by make_dif_polr_bfi.R; a live R run checks that the stored file is current), and simulations
with and without DIF.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import r_reference

from vp_stats.errors import DataFormatError
from vp_stats.stats import dif, irt


@pytest.fixture(scope="module")
def bfi():
    from vp_stats.io import psychtools as pt

    try:
        raw = pt.read_bfi()
    except pt.PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools not installed: {exc}")
    keyed = raw[[*pt.BFI_ITEMS, "gender"]].copy()
    for keys in pt.BFI_KEYS.values():
        for k in keys:
            if k.startswith("-"):
                keyed[k[1:]] = 7 - keyed[k[1:]]
    return keyed


def _check_against_polr(res, ref):
    """LR statistics to 1e-6 (absolute), log-likelihoods, R^2 and the beta change."""
    for _, row in res.table.iterrows():
        it = row["item"]
        ll = ref[f"{it}_loglik"]
        assert row.n == ref[f"{it}_n"][0]
        np.testing.assert_allclose(
            row[["loglik_0", "loglik_1", "loglik_2", "loglik_3"]].to_numpy(float), ll, atol=1e-6
        )
        lr = [2 * (ll[2] - ll[1]), 2 * (ll[3] - ll[2]), 2 * (ll[3] - ll[1])]
        got = row[["chi2_uniform", "chi2_nonuniform", "chi2_total"]].to_numpy(float)
        np.testing.assert_allclose(got, lr, atol=1e-6, rtol=0, err_msg=it)
        mcf = 1 - ll[1:] / ll[0]
        assert row.delta_r2_mcfadden_total == pytest.approx(mcf[2] - mcf[0], abs=1e-9)
        n = row.n
        nag = (1 - np.exp(2 * (ll[0] - ll[1:]) / n)) / (1 - np.exp(2 * ll[0] / n))
        assert row.delta_r2_nagelkerke_uniform == pytest.approx(nag[1] - nag[0], abs=1e-9)
        b = ref[f"{it}_beta"]
        assert row.beta_1 == pytest.approx(b[0], abs=1e-5)
        assert row.beta_change == pytest.approx(abs(b[0] - b[1]) / abs(b[0]), abs=1e-4)


def test_agreeableness_equals_polr(bfi):
    items = [f"A{i}" for i in range(1, 6)]
    res = dif.ordinal_dif(bfi[[*items, "gender"]], "gender")
    assert res.table.item.tolist() == items
    assert res.notes["groups"] == ["female", "male"]  # sorted; R's reference level is male:
    # the LR statistics and R^2 do not depend on which group is the reference
    _check_against_polr(res, r_reference.stored("dif_polr_bfi"))
    assert res.table.df_total.tolist() == [2] * 5
    # bfi's gender differences are small: no item reaches the 0.02 McFadden change
    assert not res.table.flag.any() and res.flagged == []


@pytest.mark.slow
@pytest.mark.parametrize("trait", list("CENO"))
def test_other_scales_equal_polr(bfi, trait):
    items = [f"{trait}{i}" for i in range(1, 6)]
    res = dif.ordinal_dif(bfi[[*items, "gender"]], "gender")
    _check_against_polr(res, r_reference.stored("dif_polr_bfi"))


def _with_dif(shift=0.0, slope=0.0, n=1500, seed=4):
    """Simulated GRM answers of two groups of equal ability; item01 is harder for group b by
    ``shift`` (uniform DIF) or discriminates less by ``slope`` (non-uniform DIF)."""
    sim = irt.simulate_grm(n, 6, 5, seed=seed)
    rng = np.random.default_rng(seed + 1)
    grp = np.where(np.arange(n) % 2 == 0, "a", "b")
    it = sim.items.iloc[0]
    theta = sim.abilities.ability.to_numpy()
    b = it[[f"b{j}" for j in range(1, 5)]].to_numpy(float) + np.where(grp == "b", shift, 0)[:, None]
    a = it.a * np.where(grp == "b", 1 - slope, 1)
    pstar = 1 / (1 + np.exp(-a[:, None] * (theta[:, None] - b)))
    x = sim.responses.copy()
    x["item01"] = 1 + (rng.random((n, 1)) < pstar).sum(axis=1)
    return x.assign(group=grp)


def test_flags_simulated_uniform_dif_and_nothing_else():
    res = dif.ordinal_dif(_with_dif(shift=1.0), "group")
    t = res.table.set_index("item")
    assert res.flagged == ["item01"]
    assert t.loc["item01", "dif_type"] == "uniform"
    assert t.loc["item01", "p_uniform"] < 1e-10 and t.loc["item01", "jodoin_gierl"] != "A"
    assert (t.drop("item01").dif_type == "none").all()


def test_no_dif_no_flags_and_rest_score_option():
    x = _with_dif()
    total = dif.ordinal_dif(x, "group").table
    rest = dif.ordinal_dif(x, "group", matching="rest").table
    assert not total.flag.any() and not rest.flag.any()
    assert (total.beta_1 != rest.beta_1).all()  # a different matching score


def test_three_groups_have_two_df_per_test():
    x = _with_dif().assign(group=lambda d: np.array(["a", "b", "c"])[np.arange(len(d)) % 3])
    t = dif.ordinal_dif(x, "group").table
    assert (t.df_uniform == 2).all() and (t.df_total == 4).all()


def test_dif_curves_separate_for_a_dif_item():
    cur = dif.dif_curves(_with_dif(shift=1.0), "group", "item01")
    assert set(cur.columns) == {"score", "group", "expected", "observed", "n"}
    wide = cur.pivot(index="score", columns="group", values="expected")
    assert (wide["a"] - wide["b"]).mean() > 0.3  # harder for b at every score


@pytest.mark.parametrize(
    "frame, kwargs, field, problem",
    [
        (
            pd.DataFrame({"q1": [1, 2, 3], "q2": [2, 3, 1], "g": ["a", "a", "b"]}),
            {},
            "g",
            "1 member",
        ),
        (pd.DataFrame({"q1": [1, 2, 3], "q2": [2, 3, 1]}), {}, "g", "no such column"),
        (
            pd.DataFrame({"q1": [1, 2, 3], "q2": [2, 3, 1], "g": ["a", "a", "b"]}),
            {"items": ["q1", "q9"]},
            "q9",
            "no such item column",
        ),
        (
            pd.DataFrame({"q1": [1, 2.5, 3, 1], "q2": [2, 3, 1, 1], "g": ["a", "a", "b", "b"]}),
            {},
            "q1",
            "not an integer",
        ),
        (
            pd.DataFrame({"q1": [2, 2, 2, 2], "q2": [2, 3, 1, 1], "g": ["a", "a", "b", "b"]}),
            {},
            "q1",
            "single category",
        ),
        (
            pd.DataFrame({"q1": [1, 2, 3, 4], "q2": [2, 3, 1, 1], "g": ["a"] * 4}),
            {},
            "g",
            "one group",
        ),
    ],
)
def test_bad_input_is_named(frame, kwargs, field, problem):
    with pytest.raises(DataFormatError, match=problem) as err:
        dif.ordinal_dif(frame, "g", source="items.csv", **kwargs)
    assert err.value.field == field and err.value.file == "items.csv"


@pytest.mark.r
def test_stored_polr_reference_equals_live_r(tmp_path):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    out = tmp_path / "dif_polr_bfi.csv"
    script = r_reference.FIXTURES / "make_dif_polr_bfi.R"
    res = subprocess.run(
        [rscript, "--vanilla", str(script), str(out)], capture_output=True, text=True, timeout=600
    )
    if res.returncode != 0 and ("psychTools" in res.stderr or "MASS" in res.stderr):
        pytest.skip(f"R lacks psychTools or MASS: {res.stderr[-300:]}")
    assert res.returncode == 0, res.stderr[-2000:]
    live = pd.read_csv(out)
    stored = pd.read_csv(r_reference.FIXTURES / "dif_polr_bfi.csv")
    assert live[["name", "index"]].equals(stored[["name", "index"]])
    np.testing.assert_allclose(live.value, stored.value, rtol=1e-9, atol=1e-12)
