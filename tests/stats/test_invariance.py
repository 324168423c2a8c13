"""Multi-group CFA and measurement invariance against lavaan's cfa(group =, group.equal =).

Reference: psychTools' bfi, the Agreeableness + Neuroticism model (A1-A5, N1-N5), complete
cases, by gender (2 groups, n = 2,618) and by education (5 groups, n = 2,408), at the four
levels configural, metric, scalar, strict, plus a partial scalar model (two intercepts freed)
by gender. lavaan 0.6.14's fitMeasures and every parameter estimate and standard error are
stored in tests/fixtures/r/invariance_bfi.csv (made by make_invariance_bfi.R) and compared
always; a live R run of the same script is compared where R has lavaan and psychTools. The
data are read from the installed psychTools (not vendored): without it the bfi tests skip.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import r_reference  # tests/ is on sys.path via tests/conftest.py

from vp_stats.errors import DataFormatError
from vp_stats.stats import invariance as inv

MODEL = "Agree =~ A1 + A2 + A3 + A4 + A5\nNeuro =~ N1 + N2 + N3 + N4 + N5"
ITEMS = [f"A{i}" for i in range(1, 6)] + [f"N{i}" for i in range(1, 6)]
FIT_NAMES = (
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "srmr",
    "baseline_chisq",
    "baseline_df",
    "n_obs",
    "npar",
)  # lavaan: ... baseline.chisq, baseline.df, ntotal
CHISQ_TOL = 1e-4  # brief: 1e-3; measured <= 1e-6
FIT_TOL = 1e-6  # cfi, tli, rmsea, srmr, pvalue; measured <= 1e-7
EST_TOL = 1e-4  # estimates and standard errors (brief 1e-3)
PARTIAL = ("A1 ~ 1", "N4 ~ 1")


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_psychtools

    try:
        return read_psychtools("bfi")
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")


@pytest.fixture(scope="module")
def fits(bfi):
    return {
        by: inv.invariance(bfi[[*ITEMS, by]], MODEL, by, source="bfi model")
        for by in ("gender", "education")
    }


def _compare(res: inv.MultiGroupCFAResult, ref: dict, tag: str) -> None:
    fit = res.table.iloc[0]
    want = ref[f"{tag}_fit"]
    got = np.array([fit[k] for k in FIT_NAMES], dtype=float)
    np.testing.assert_allclose(got[0], want[0], atol=CHISQ_TOL, err_msg=f"{tag} chisq")
    np.testing.assert_allclose(got[7], want[7], atol=CHISQ_TOL, err_msg=f"{tag} baseline")
    np.testing.assert_array_equal(got[[1, 8, 9, 10]], want[[1, 8, 9, 10]], err_msg=tag)
    np.testing.assert_allclose(got[2:7], want[2:7], atol=FIT_TOL, err_msg=f"{tag} fit")
    np.testing.assert_array_equal(res.groups.n_obs.to_numpy(), ref[f"{tag}_ng"])
    assert fit.status == "ok" and fit.converged and fit.proper
    # every parameter of every group, by lavaan's lhs op rhs and group number
    gno = {g: k + 1 for k, g in enumerate(res.groups.group)}
    est = res.estimates
    seen = 0
    for r in est.itertuples():
        key = f"{tag}_p_{gno[r.group]}_{r.lhs}{r.op}{r.rhs}"
        e, se = ref[key]
        np.testing.assert_allclose(r.estimate, e, atol=EST_TOL, err_msg=key)
        if r.free:
            np.testing.assert_allclose(r.se, se, atol=EST_TOL, err_msg=key + " se")
        else:
            assert np.isnan(r.se) and (np.isnan(se) or se == 0), key
        seen += 1
    assert seen == sum(1 for k in ref if k.startswith(f"{tag}_p_"))


@pytest.mark.parametrize("by", ["gender", "education"])
def test_invariance_equals_lavaan_on_bfi(fits, by):
    ref = r_reference.stored("invariance_bfi")
    res = fits[by]
    assert res.table.level.tolist() == ["configural", "metric", "scalar", "strict"]
    for level, fit in res.fits.items():
        _compare(fit, ref, f"{by}_{level}")
    # groups in the order lavaan takes them (first appearance), the first is the reference
    first = {"gender": [1, 2], "education": [3, 2, 1, 5, 4]}[by]
    assert res.notes["groups"] == first and res.notes["reference_group"] == first[0]


def test_difference_tests(fits):
    t = fits["education"].table
    assert t.loc[0, ["delta_chisq", "delta_df", "p", "delta_cfi", "delta_rmsea"]].isna().all()
    from scipy import stats

    for k in range(1, 4):
        assert t.delta_chisq[k] == pytest.approx(t.chisq[k] - t.chisq[k - 1], abs=1e-12)
        assert t.delta_df[k] == t.df[k] - t.df[k - 1]
        assert t.p[k] == pytest.approx(stats.chi2.sf(t.delta_chisq[k], t.delta_df[k]), rel=1e-12)
        assert t.delta_cfi[k] == pytest.approx(t.cfi[k] - t.cfi[k - 1], abs=1e-15)
    # lavaan: 4 x (8 loadings), 4 x 10 intercepts (+ 8 latent means freed), 4 x 10 residuals
    assert t.delta_df.tolist()[1:] == [32, 32, 40]
    ref = r_reference.stored("invariance_bfi")
    np.testing.assert_allclose(
        t.delta_chisq[2],
        ref["education_scalar_fit"][0] - ref["education_metric_fit"][0],
        atol=CHISQ_TOL,
    )


def test_partial_invariance_equals_lavaan(bfi):
    ref = r_reference.stored("invariance_bfi")
    res = inv.multigroup_cfa(
        bfi[[*ITEMS, "gender"]],
        MODEL,
        "gender",
        group_equal=["loadings", "intercepts"],
        group_partial=list(PARTIAL),
    )
    _compare(res, ref, "gender_partial")
    # the freed intercepts differ between the groups, the others are one parameter
    e = res.estimates[res.estimates.op == "~1"].set_index(["group", "lhs"]).estimate
    assert e[(1, "A1")] != e[(2, "A1")] and e[(1, "A2")] == e[(2, "A2")]
    # invariance() frees them at the levels that hold intercepts equal, not before
    seq = inv.invariance(
        bfi[[*ITEMS, "gender"]], MODEL, "gender", group_partial=PARTIAL, levels=["metric", "scalar"]
    )
    assert seq.table.group_partial.tolist() == ["", "A1 ~ 1,N4 ~ 1"]
    assert seq.table.chisq[1] == pytest.approx(ref["gender_partial_fit"][0], abs=CHISQ_TOL)


def test_live_lavaan_reproduces_the_stored_reference(tmp_path):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    probe = 'q(status = as.integer(!all(sapply(c("lavaan", "psychTools"), requireNamespace)))))'
    if (
        subprocess.run(
            [rscript, "-e", probe.replace(")))))", "))))")], capture_output=True, timeout=120
        ).returncode
        != 0
    ):
        pytest.skip("R has not both lavaan and psychTools")
    script = r_reference.FIXTURES / "make_invariance_bfi.R"
    out = tmp_path / "live.csv"
    subprocess.run(
        [rscript, "--vanilla", str(script), str(out)], check=True, timeout=600, capture_output=True
    )
    live = pd.read_csv(out, na_values=["NA"], keep_default_na=False)
    stored = pd.read_csv(
        r_reference.FIXTURES / "invariance_bfi.csv", na_values=["NA"], keep_default_na=False
    )
    assert live[["name", "index"]].equals(stored[["name", "index"]])
    np.testing.assert_allclose(live.value, stored.value, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- small cases


def _two_groups(n=300, seed=0, shift_item=None):
    rng = np.random.default_rng(seed)
    lam = np.array([0.8, 0.7, 0.6, 0.7])
    frames = []
    for g, mean in (("human", 0.0), ("llm", 0.4)):
        f = rng.standard_normal((n, 1)) + mean
        x = pd.DataFrame(f * lam + 0.6 * rng.standard_normal((n, 4)), columns=list("abcd"))
        if shift_item and g == "llm":
            x[shift_item] += 1.0
        frames.append(x.assign(sample=g))
    return pd.concat(frames, ignore_index=True)


def test_same_input_same_tables_and_latent_mean():
    x = _two_groups()
    one = inv.invariance(x, "F =~ a + b + c + d", "sample")
    two = inv.invariance(x, "F =~ a + b + c + d", "sample")
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.estimates, two.estimates)
    est = one.fits["scalar"].estimates
    alpha = est[(est.op == "~1") & (est.lhs == "F")].set_index("group")
    assert alpha.estimate["human"] == 0 and alpha.free["human"] == 0
    assert alpha.estimate["llm"] == pytest.approx(0.4 / 0.8 * 0.8, abs=0.15)  # in a's units
    assert (one.table.status == "ok").all()


def test_shifted_intercept_is_found_and_freed():
    x = _two_groups(shift_item="d")
    res = inv.invariance(x, "F =~ a + b + c + d", "sample")
    assert res.table.p[2] < 1e-6  # scalar invariance rejected
    freed = inv.invariance(x, "F =~ a + b + c + d", "sample", group_partial="d ~ 1")
    assert freed.table.p[2] > 0.01 and freed.table.delta_df[2] == res.table.delta_df[2] - 1


def test_bad_input_errors():
    x = _two_groups()
    one = pd.concat([x, x.iloc[[0]].assign(sample="lonely")], ignore_index=True)
    with pytest.raises(DataFormatError, match="group 'lonely' has 1 respondent") as e:
        inv.invariance(one, "F =~ a + b + c + d", "sample", source="m.txt")
    assert e.value.field == "sample" and e.value.record == "row 600"
    with pytest.raises(DataFormatError, match="'zz' is neither a factor") as e:
        inv.invariance(x, "F =~ a + b + zz", "sample", source="m.txt")
    assert e.value.file == "m.txt" and e.value.field == "zz"
    with pytest.raises(DataFormatError, match="no group column 'nope'"):
        inv.invariance(x, "F =~ a + b + c", "nope")
    with pytest.raises(DataFormatError, match="names no parameter"):
        inv.invariance(x, "F =~ a + b + c", "sample", group_partial=["q ~ 1"])
    with pytest.raises(ValueError, match="not identified"):  # two items, one factor: df < 0
        inv.invariance(x, "F =~ a + b", "sample")
    with pytest.raises(ValueError, match="information matrix is singular"):  # no scale: df 4
        inv.invariance(x, "F =~ 0*a + b + c + d", "sample")
    with pytest.raises(DataFormatError, match="at least 2 groups"):
        inv.invariance(x.assign(sample="all"), "F =~ a + b + c", "sample")


def test_a_bad_partial_term_is_refused_at_any_level():
    with pytest.raises(DataFormatError, match="'q ~ 1' names no parameter"):
        inv.invariance(
            _two_groups(), "F =~ a + b + c", "sample", levels=["configural"], group_partial="q ~ 1"
        )
