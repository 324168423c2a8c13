"""Tests of vp_stats.stats.llm_psychometrics: hand-worked tables, the released model answers, R.

No LLM is run: the answer tables are made by hand or are the released, variant-averaged
answers of the 34 models (upstream ``average_outputs``); the PVQ-21 self-reports of the
released models do not exist, so a constructed case derives them from the models' profiles.
R (psych 2.2.9; ``cor.test``) is the reference where marked ``r``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import r_reference  # noqa: E402  (tests/ is on sys.path via tests/conftest.py)

from vp_stats import schema
from vp_stats.io import averaging, datasets
from vp_stats.llm.questionnaires import score_llm_pvq21
from vp_stats.stats import llm_psychometrics, reliability, validation
from vp_stats.studies import released as released_study

VALUES = list(schema.PVQ_VALUES)
HAND = np.array(
    [[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5]], dtype=float
)  # alpha 14/15 (test_reliability)


def _tidy(x, unit="persona_id", units=("p1", "p2", "p3", "p4"), items=("a", "b", "c")):
    return pd.DataFrame(
        [(u, it, x[i, j]) for i, u in enumerate(units) for j, it in enumerate(items)],
        columns=[unit, "item", "rating"],
    )


SEL = pd.DataFrame(
    {"item": ["a", "b", "c"], "family": "pvq", "dimension": "Power", "selected": True}
)


# ------------------------------------------------------------------------- reliability, hand-worked


def test_answer_reliability_hand_worked_personas_as_respondents():
    res = llm_psychometrics.answer_reliability(_tidy(HAND), SEL, n_factors=1, scale="1-6")
    rel = res.table
    row = rel.set_index("dimension").loc["Power"]
    assert row.n_units == 4 and row.n_items == 3 and row.n_incomplete == 0
    assert row.alpha == pytest.approx(14 / 15, abs=1e-14)
    assert list(rel.columns) == llm_psychometrics.ANSWER_RELIABILITY_COLUMNS
    assert res.model == "persona_id" and res.n_models == 4
    # a negatively keyed item, answered reversed on 1-6 (7 - x): the same alpha
    flipped = HAND.copy()
    flipped[:, 1] = 7 - flipped[:, 1]
    sel = SEL.assign(sign=[1, -1, 1])
    rev = llm_psychometrics.answer_reliability(_tidy(flipped), sel, n_factors=1, scale="1-6").table
    assert rev.alpha.item() == pytest.approx(14 / 15, abs=1e-14) and rev.n_reversed.item() == 1
    # too few units: NaN and a reason in the units' words
    few = llm_psychometrics.answer_reliability(
        _tidy(HAND[:2], units=("p1", "p2")), SEL, n_factors=1
    ).table
    assert np.isnan(few.alpha.item()) and few.reason.item().startswith(
        "fewer than 3 complete units"
    )


def test_answer_reliability_units_missing_answers_and_variants():
    # prompt variants as respondents: unit = model x variant
    t = _tidy(HAND, unit="model", units=("m", "m", "n", "n"))
    t["variant"] = np.repeat(["v1", "v2", "v1", "v2"], 3)
    res = llm_psychometrics.answer_reliability(t, SEL, model=["model", "variant"], n_factors=1)
    rel = res.table
    assert rel.n_units.item() == 4 and res.model == "model | variant"
    assert rel.alpha.item() == pytest.approx(14 / 15, abs=1e-14)
    with pytest.raises(ValueError, match="answered item 'a' more than once"):
        llm_psychometrics.answer_reliability(t, SEL, model="model", n_factors=1)
    # a failed parse (NaN) is a missing cell: listwise drops the unit, pairwise keeps it
    holed = np.vstack([HAND, [5, np.nan, 5]])
    t5 = _tidy(holed, units=("p1", "p2", "p3", "p4", "p5"))
    lw = llm_psychometrics.answer_reliability(t5, SEL, n_factors=1).table
    pw = llm_psychometrics.answer_reliability(t5, SEL, n_factors=1, missing="pairwise").table
    assert (lw.n_units.item(), lw.n_incomplete.item()) == (
        4,
        1,
    ) and lw.alpha.item() == pytest.approx(14 / 15)
    assert (pw.n_units.item(), pw.n_incomplete.item()) == (5, 1)
    assert pw.alpha.item() == pytest.approx(
        reliability.cronbach_alpha(holed, missing="pairwise").alpha.item(), abs=1e-14
    )
    with pytest.raises(ValueError, match="non-numeric answer 'high'"):
        llm_psychometrics.answer_reliability(
            t5.assign(rating=t5.rating.astype(object).where(t5.index != 2, "high")), SEL
        )
    with pytest.raises(ValueError, match="none of the columns"):
        llm_psychometrics.answer_reliability(t5.rename(columns={"persona_id": "who"}), SEL)


# -------------------------------------------------------------------- reliability, released answers


@pytest.fixture(scope="module")
def released():
    answers = averaging.load_average_outputs()
    sel = validation.select_items(datasets.load_published_correlations())
    profiles = released_study.score_released_models(n_boot=0)
    rel = llm_psychometrics.answer_reliability(answers, sel)
    return {"answers": answers, "sel": sel, "profiles": profiles, "rel": rel}


def _value_matrix(released, dim, family="pvq"):
    sel = released["sel"]
    items = sel[sel.selected & (sel.family == family) & (sel.dimension == dim)]
    a = released["answers"].merge(
        items[["portrait_id", "option_id", "sign"]], on=["portrait_id", "option_id"]
    )
    a = a.assign(x=np.where(a["sign"] < 0, 7 - a["numeric_response"], a["numeric_response"]))
    return a.pivot(index="model", columns=["portrait_id", "option_id"], values="x")


def test_answer_reliability_of_the_34_released_models(released):
    res = released["rel"]
    rel = res.table
    assert res.n_models == 34 and (rel.n_units == 34).all() and str(res.scale) == "1-6"
    assert len(rel) == 19  # 10 values, 4 higher-order values, 5 traits
    for dim in ("Security", "Power", "Tradition"):
        x = _value_matrix(released, dim)
        row = rel[(rel.family == "pvq") & (rel.dimension == dim)].iloc[0]
        assert row.n_items == x.shape[1]
        assert row.alpha == pytest.approx(reliability.cronbach_alpha(x).alpha.item(), abs=1e-12)
        oh = reliability.omega_hierarchical(x, n_factors=3).iloc[0]
        assert row.omega_hierarchical == pytest.approx(oh.omega_hierarchical, abs=1e-12)
    assert (rel.alpha > 0.75).all()  # the value item sets order the models consistently


@pytest.mark.r
def test_answer_reliability_released_models_match_psych(released):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    dims = ["Security", "Conformity", "Benevolence"]
    mats = {f"m{i}": _value_matrix(released, d).to_numpy(float) for i, d in enumerate(dims)}
    ref = r_reference.run(
        r"""
for (nm in c("m0", "m1", "m2")) {
  x <- get(nm)
  a <- alpha(x, warnings = FALSE)
  out(paste0(nm, ".alpha"), c(a$total$raw_alpha, a$feldt$lower.ci, a$feldt$upper.ci))
  o <- suppressMessages(suppressWarnings(omega(x, nfactors = 3, plot = FALSE)))
  out(paste0(nm, ".omega"), c(o$omega_h, o$omega.tot))
}
""",
        mats,
    )
    rel = released["rel"].table.query("family == 'pvq'")
    for i, d in enumerate(dims):
        row = rel[rel.dimension == d].iloc[0]
        np.testing.assert_allclose(
            [row.alpha, row.alpha_ci_low, row.alpha_ci_high], ref[f"m{i}.alpha"], atol=1e-10
        )
        # 34 models, 13-23 items: measured 1e-13 (Security, Conformity),
        # 3e-4 (Benevolence: a Heywood case)
        np.testing.assert_allclose(
            [row.omega_hierarchical, row.omega_total], ref[f"m{i}.omega"], atol=1e-3
        )


# ----------------------------------------------------------------- convergent validity, hand-worked


def _profiles(models, scores):
    return pd.DataFrame(
        [
            (m, "pvq", v, s)
            for m, ss in zip(models, scores, strict=True)
            for v, s in zip(VALUES, ss, strict=True)
        ],
        columns=["model", "family", "dimension", "centered_mean"],
    )


def test_convergent_validity_hand_worked():
    ranks = np.arange(1.0, 11.0)
    swapped = ranks.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    prof = _profiles(["a", "b"], [ranks, ranks])
    self = _profiles(["a", "b"], [ranks * 2 - 3, swapped]).rename(
        columns={"model": "persona_id", "centered_mean": "score"}
    )
    cv = llm_psychometrics.convergent_validity(self, prof)
    bu = cv.by_model.set_index("model")
    assert bu.loc["a", "pearson_r"] == pytest.approx(1) and bu.loc[
        "a", "spearman_rho"
    ] == pytest.approx(1)
    # b: one adjacent swap of ranks: rho = 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 12 / 990
    # (= Pearson of ranks)
    assert bu.loc["b", "spearman_rho"] == pytest.approx(1 - 12 / 990, abs=1e-14)
    assert bu.loc["b", "pearson_r"] == pytest.approx(1 - 12 / 990, abs=1e-14)
    assert (bu.n == 10).all()
    # across three models on one value: self (1, 2, 3) vs profile (1, 3, 2): r = rho = 1/2;
    # t = 0.5 / sqrt(0.75) with 1 df (Cauchy): p = 1 - (2 / pi) atan(1 / sqrt(3)) = 2/3
    p3 = _profiles(["a", "b", "c"], [np.full(10, v) for v in (1.0, 3.0, 2.0)])
    s3 = _profiles(["a", "b", "c"], [np.full(10, v) for v in (1.0, 2.0, 3.0)]).rename(
        columns={"centered_mean": "score"}
    )
    bv = llm_psychometrics.convergent_validity(s3, p3).by_value.set_index("dimension")
    assert list(bv.index) == VALUES and (bv.n == 3).all()
    np.testing.assert_allclose(bv.pearson_r, 0.5, atol=1e-14)
    np.testing.assert_allclose(bv.spearman_rho, 0.5, atol=1e-14)
    np.testing.assert_allclose(bv.pearson_p, 2 / 3, atol=1e-12)
    np.testing.assert_allclose(bv.spearman_p, 2 / 3, atol=1e-12)
    # within each of those models every value has the same score: constant, NaN
    assert cv.by_model.notna().all().all()
    assert llm_psychometrics.convergent_validity(s3, p3).by_model.pearson_r.isna().all()


def test_convergent_validity_missing_scores_and_units():
    ranks = np.arange(1.0, 11.0)
    prof = _profiles(["a", "b"], [ranks, ranks])
    self = _profiles(["a", "c"], [ranks, ranks]).rename(columns={"centered_mean": "score"})
    self.loc[3, "score"] = np.nan  # a value the model's PVQ-21 answers could not score
    cv = llm_psychometrics.convergent_validity(self, prof)
    assert cv.by_model.model.tolist() == ["a"] and cv.by_model.n.item() == 9
    assert cv.pairs.unmatched == ["b", "c"]
    with pytest.raises(ValueError, match="share no model"):
        llm_psychometrics.convergent_validity(self.assign(model=self.model + "_x"), prof)
    with pytest.raises(ValueError, match="more than one pvq score"):
        llm_psychometrics.convergent_validity(pd.concat([self, self.iloc[[0]]]), prof)
    with pytest.raises(ValueError, match="not pvq dimensions"):
        llm_psychometrics.convergent_validity(self.assign(dimension="Openness"), prof)


# ----------------------------------------------------------- convergent validity, released profiles


def _constructed_pvq21(profiles, noise=0.0, seed=0):
    """PVQ-21 answers of each released model: 3.5 + its profile score of the item's value (+ noise).

    Expected-rating answers (fractional, as logprobs mode): score_llm_pvq21 then gives
    profile - (weighted mean of the profile over the 21 items), exactly.
    """
    rng = np.random.default_rng(seed)
    cm = profiles[profiles.family == "pvq"].pivot(
        index="model", columns="dimension", values="centered_mean"
    )
    rows = []
    for m in cm.index:
        for v, items in schema.PVQ21_KEY.items():
            for i in items:
                rows.append((m, i, 3.5 + cm.loc[m, v] + noise * rng.normal()))
    ans = pd.DataFrame(rows, columns=["persona_id", "item", "rating"])
    assert ans.rating.between(1, 6).all()
    return ans, cm


def test_convergent_validity_constructed_from_the_released_profiles(released):
    profiles = released["profiles"]
    ans, cm = _constructed_pvq21(profiles)
    self = score_llm_pvq21(ans, rating="expected")
    cv = llm_psychometrics.convergent_validity(self, profiles)
    bu = cv.by_model
    assert len(bu) == 34 and (bu.n == 10).all()
    np.testing.assert_allclose(bu.pearson_r, 1, atol=1e-12)  # self = profile - constant per model
    np.testing.assert_allclose(bu.spearman_rho, 1, atol=1e-12)
    # across models: corr(cm_v - c_m, cm_v) with c_m = sum_v n_v cm_v / 21
    n_v = pd.Series({v: len(i) for v, i in schema.PVQ21_KEY.items()})
    c = (cm[n_v.index] * n_v).sum(axis=1) / 21
    bv = cv.by_value.set_index("dimension")
    for v in VALUES:
        want = np.corrcoef(cm[v] - c, cm[v])[0, 1]
        assert bv.loc[v, "pearson_r"] == pytest.approx(want, abs=1e-12)
        assert bv.loc[v, "n"] == 34


@pytest.mark.r
def test_convergent_validity_correlations_match_r_cor_test(released):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    profiles = released["profiles"]
    ans, _ = _constructed_pvq21(profiles, noise=0.6, seed=3)
    self = score_llm_pvq21(ans.assign(rating=ans.rating.clip(1, 6)), rating="expected")
    cv = llm_psychometrics.convergent_validity(self, profiles)
    pairs = cv.pairs.table
    units = list(dict.fromkeys(pairs.model))
    s = pairs.pivot(index="model", columns="dimension", values="self_report").loc[units, VALUES]
    p = pairs.pivot(index="model", columns="dimension", values="profile").loc[units, VALUES]
    ref = r_reference.run(
        r"""
ct <- function(a, b, m) {
  if (m == "pearson") t <- cor.test(a, b) else t <- cor.test(a, b, method = m, exact = FALSE)
  c(t$estimate, t$p.value)
}
for (i in seq_len(nrow(s))) {
  out(paste0("u", i, ".p"), ct(s[i, ], p[i, ], "pearson"))
  out(paste0("u", i, ".s"), ct(s[i, ], p[i, ], "spearman"))
}
for (j in seq_len(ncol(s))) {
  out(paste0("v", j, ".p"), ct(s[, j], p[, j], "pearson"))
  out(paste0("v", j, ".s"), ct(s[, j], p[, j], "spearman"))
}
""",
        {"s": s, "p": p},
    )
    bu = cv.by_model.set_index("model").loc[units]
    for i, u in enumerate(units, start=1):
        np.testing.assert_allclose(
            bu.loc[u, ["pearson_r", "pearson_p"]].to_numpy(float),
            ref[f"u{i}.p"],
            rtol=1e-9,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            bu.loc[u, ["spearman_rho", "spearman_p"]].to_numpy(float),
            ref[f"u{i}.s"],
            rtol=1e-9,
            atol=1e-12,
        )
    bv = cv.by_value.set_index("dimension").loc[VALUES]
    for j, v in enumerate(VALUES, start=1):
        np.testing.assert_allclose(
            bv.loc[v, ["pearson_r", "pearson_p"]].to_numpy(float),
            ref[f"v{j}.p"],
            rtol=1e-9,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            bv.loc[v, ["spearman_rho", "spearman_p"]].to_numpy(float),
            ref[f"v{j}.s"],
            rtol=1e-9,
            atol=1e-12,
        )
    assert (
        bu.pearson_r < 1
    ).all() and bu.pearson_r.median() > 0.5  # the noise lowers, not destroys, agreement
