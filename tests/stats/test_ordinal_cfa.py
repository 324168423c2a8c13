"""Ordinal CFA (DWLS / WLSMV) against lavaan::cfa(ordered = TRUE) on psychTools' bfi.

Every stage is compared with lavaan 0.6.14 (stored in tests/fixtures/r/ordinal_cfa_bfi.csv by
make_ordinal_cfa_bfi.R; a live R run where R has lavaan and psychTools): thresholds and
polychoric correlations, the asymptotic covariance matrix Gamma (diagonal and first row), the
DWLS estimates with robust standard errors, and the fit measures of the scaled-and-shifted test.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import r_reference  # tests/ is on sys.path via tests/conftest.py

from vp_stats.errors import DataFormatError
from vp_stats.stats import ordinal_cfa as oc

ITEMS = [f"A{i}" for i in range(1, 6)] + [f"N{i}" for i in range(1, 6)]
MODELS = {
    "an": "Agree =~ A1 + A2 + A3 + A4 + A5\nNeuro =~ N1 + N2 + N3 + N4 + N5",
    "an2": "Agree =~ A1 + A2 + a*A3 + a*A4 + A5\nNeuro =~ N1 + N2 + N3 + N4 + N5\nA1 ~~ A2",
}
FIT_NAMES = (
    "chisq", "df", "pvalue", "chisq_scaled", "pvalue_scaled", "chisq_scaling_factor",
    "baseline_chisq", "baseline_chisq_scaled", "cfi", "tli", "rmsea", "cfi_scaled",
    "tli_scaled", "rmsea_scaled", "srmr", "npar", "n_obs",
)  # fmt: skip
CHISQ_TOL = 1e-3  # chisq and baseline (absolute; measured <= 2e-4 on values of 600-29000)
FIT_TOL = 1e-6  # the indices; measured <= 1e-8
EST_TOL = 1e-5  # estimates, standard errors, thresholds, polychorics; measured <= 2e-7


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_psychtools

    try:
        return read_psychtools("bfi")[ITEMS]
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")


@pytest.fixture(scope="module")
def fits(bfi):
    return {tag: oc.ordinal_cfa(bfi, m) for tag, m in MODELS.items()}


@pytest.mark.parametrize("tag", list(MODELS))
def test_ordinal_cfa_equals_lavaan_wlsmv(fits, tag):
    ref = r_reference.stored("ordinal_cfa_bfi")
    res = fits[tag]
    mom = res.moments[0]
    np.testing.assert_allclose(mom.s, ref[f"{tag}_s"], atol=EST_TOL)
    np.testing.assert_allclose(np.diag(mom.gamma), ref[f"{tag}_gamma"], rtol=1e-5)
    np.testing.assert_allclose(mom.gamma[0], ref[f"{tag}_gamma_row1"], atol=1e-5)
    fit = res.table.iloc[0]
    got = np.array([fit[k] for k in FIT_NAMES], dtype=float)
    want = ref[f"{tag}_fit"]
    for k, name in enumerate(FIT_NAMES):
        tol = CHISQ_TOL if "chisq" in name and "factor" not in name else FIT_TOL
        np.testing.assert_allclose(got[k], want[k], atol=tol, err_msg=name)
    assert fit.status == "ok"
    est = res.estimates[res.estimates.op.isin(["=~", "~~", "|"])]
    seen = 0
    for r in est.itertuples():
        key = f"{tag}_p_{r.lhs}{r.op}{r.rhs}"
        e, se = ref[key]
        np.testing.assert_allclose(r.estimate, e, atol=EST_TOL, err_msg=key)
        if np.isfinite(r.se):
            np.testing.assert_allclose(r.se, se, atol=EST_TOL, err_msg=key + " se")
        else:
            assert se == 0 or np.isnan(se), key
        seen += 1
    assert seen == sum(1 for k in ref if k.startswith(f"{tag}_p_"))


def test_live_lavaan_reproduces_the_stored_reference(tmp_path):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    probe = 'q(status = as.integer(!all(sapply(c("lavaan", "psychTools"), requireNamespace))))'
    if subprocess.run([rscript, "-e", probe], capture_output=True, timeout=120).returncode:
        pytest.skip("R has not both lavaan and psychTools")
    out = tmp_path / "live.csv"
    subprocess.run(
        [rscript, "--vanilla", str(r_reference.FIXTURES / "make_ordinal_cfa_bfi.R"), str(out)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    live = pd.read_csv(out, na_values=["NA"], keep_default_na=False)
    stored = pd.read_csv(
        r_reference.FIXTURES / "ordinal_cfa_bfi.csv", na_values=["NA"], keep_default_na=False
    )
    assert live[["name", "index"]].equals(stored[["name", "index"]])
    np.testing.assert_allclose(live.value, stored.value, rtol=1e-6, atol=1e-8)


def _ordinal(n=600, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = np.array([0.8, 0.7, 0.6, 0.7])
    z = rng.standard_normal((n, 1)) * lam + rng.standard_normal((n, 4)) * np.sqrt(1 - lam**2)
    return pd.DataFrame(np.digitize(z, [-1.0, 0.0, 1.0]) + 1, columns=list("abcd"))


def test_recovers_the_loadings_of_a_simulated_ordinal_model():
    res = oc.ordinal_cfa(_ordinal(n=20000, seed=1), "F =~ a + b + c + d")
    e = res.estimates
    lam = e[e.op == "=~"].estimate.to_numpy()
    psi = e[(e.op == "~~") & (e.lhs == "F")].estimate.item()
    std = lam * np.sqrt(psi)  # standardised loadings in the delta parameterization
    np.testing.assert_allclose(std, [0.8, 0.7, 0.6, 0.7], atol=0.02)
    th = e[(e.op == "|") & (e.lhs == "a")].estimate.to_numpy()
    np.testing.assert_allclose(th, [-1.0, 0.0, 1.0], atol=0.03)


def test_bad_input():
    x = _ordinal()
    with pytest.raises(DataFormatError, match="not an integer category") as e:
        oc.ordinal_cfa(x.assign(b=x.b + 0.5), "F =~ a + b + c + d", data_source="items.csv")
    assert e.value.field == "b" and e.value.file == "items.csv"
    cont = x.assign(c=np.arange(len(x)))
    with pytest.raises(DataFormatError, match="is it continuous"):
        oc.ordinal_cfa(cont, "F =~ a + b + c + d")
    with pytest.raises(DataFormatError, match="single category"):
        oc.ordinal_cfa(x.assign(d=2), "F =~ a + b + c + d")
    with pytest.raises(DataFormatError, match="'zz' is neither a factor"):
        oc.ordinal_cfa(x, "F =~ a + b + zz", source="m.txt")
    with pytest.raises(DataFormatError, match="not identified"):
        oc.ordinal_cfa(x, "F =~ 0*a + b + c + d", source="m.txt")
    with pytest.raises(DataFormatError, match="residual variances of ordinal items"):
        oc.ordinal_cfa(x, "F =~ a + b + c + d\na ~~ a")


# --------------------------------------------------------------------------- several groups


@pytest.fixture(scope="module")
def bfi_gender() -> pd.DataFrame:
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_psychtools

    try:
        return read_psychtools("bfi")[[*ITEMS, "gender"]]
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")


def _compare_multigroup(res, ref, tag):
    fit = res.table.iloc[0]
    want = ref[f"{tag}_fit"]
    for k, name in enumerate(FIT_NAMES):
        tol = CHISQ_TOL if "chisq" in name and "factor" not in name else FIT_TOL
        np.testing.assert_allclose(fit[name], want[k], atol=tol, err_msg=f"{tag} {name}")
    assert fit.status == "ok" and res.groups.group.tolist() == [1, 2]
    seen = 0
    for r in res.estimates.itertuples():
        key = f"{tag}_p_{r.group}_{r.lhs}{r.op}{r.rhs}"  # groups 1, 2 are lavaan's 1, 2
        e, se = ref[key]
        np.testing.assert_allclose(r.estimate, e, atol=EST_TOL, err_msg=key)
        if np.isfinite(r.se):
            np.testing.assert_allclose(r.se, se, atol=EST_TOL, err_msg=key + " se")
        else:
            assert se == 0 or np.isnan(se), key
        seen += 1
    # lavaan also lists the items' intercepts (~1, fixed 0), which are not parameters here
    item_means = {f"{tag}_p_{g}_{it}~1" for g in (1, 2) for it in ITEMS}
    assert seen == sum(1 for k in ref if k.startswith(f"{tag}_p_") and k not in item_means)


@pytest.mark.parametrize("level", list(oc.LEVELS))
def test_ordinal_multigroup_equals_lavaan(bfi_gender, level):
    ref = r_reference.stored("ordinal_invariance_bfi")
    res = oc.ordinal_multigroup_cfa(
        bfi_gender, MODELS["an"], "gender", group_equal=oc.LEVELS[level]
    )
    _compare_multigroup(res, ref, level)


def _compare_lrt(row, want):
    np.testing.assert_allclose(row.delta_chisq, want[0], atol=CHISQ_TOL)
    assert row.delta_df == want[1]
    np.testing.assert_allclose(row.p, want[2], rtol=1e-4, atol=1e-12)


def test_ordinal_invariance_equals_lavaan_lrt(bfi_gender):
    from vp_stats.stats import invariance as inv

    ref = r_reference.stored("ordinal_invariance_bfi")
    res = inv.invariance(bfi_gender, MODELS["an"], "gender", ordered=True)
    t = res.table.set_index("level")
    assert t.index.tolist() == ["configural", "metric", "scalar"]
    for lv in ("metric", "scalar"):
        _compare_lrt(t.loc[lv], ref[f"lrt_{lv}"])
        assert t.delta_cfi[lv] == pytest.approx(
            ref[f"{lv}_fit"][11] - t.cfi_scaled.shift(1)[lv], abs=FIT_TOL
        )
    # partial invariance: two thresholds freed at the scalar level
    part = inv.invariance(
        bfi_gender,
        MODELS["an"],
        "gender",
        ordered=True,
        levels=["metric", "scalar"],
        group_partial=["A1 | t1", "N4 | t2"],
    )
    _compare_multigroup(part.fits["scalar"], ref, "partial")
    _compare_lrt(part.table.iloc[1], ref["lrt_partial"])
    with pytest.raises(ValueError, match="no strict level"):
        inv.invariance(bfi_gender, MODELS["an"], "gender", ordered=True, levels=["strict"])


def test_ordinal_multigroup_bad_input():
    x = _ordinal(n=400).assign(g=np.repeat(["u", "v"], 200))
    y = x.copy()
    y.loc[(y.g == "v") & (y.a == 4), "a"] = 3  # category 4 of a only in group u
    with pytest.raises(DataFormatError, match="category 4 has no answer in group 'v'") as e:
        oc.ordinal_multigroup_cfa(y, "F =~ a + b + c + d", "g", data_source="items.csv")
    assert e.value.field == "a"
    lonely = pd.concat([x, x.iloc[[0]].assign(g="w")], ignore_index=True)
    with pytest.raises(DataFormatError, match="group 'w' has 1 respondent"):
        oc.ordinal_multigroup_cfa(lonely, "F =~ a + b + c + d", "g")
    with pytest.raises(DataFormatError, match="names no parameter"):
        oc.ordinal_multigroup_cfa(
            x, "F =~ a + b + c + d", "g", group_equal=["thresholds"], group_partial=["q | t1"]
        )
