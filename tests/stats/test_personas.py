"""Tests of the persona statistics and definitions: synthetic data with known answers.

Also the released reference.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from vp_stats import schema
from vp_stats.instruments import personas
from vp_stats.stats import persona_gaps
from vp_stats.stats import personas as persona_stats
from vp_stats.studies import personas as persona_studies

VALUES = list(schema.PVQ_VALUES)


# --------------------------------------------------------------------------- rendering and ids


def test_render_paper_form_and_order():
    assert personas.render_persona({"gender": "male"}) == "**Your Profile**: Your gender is male."
    a = {
        "political_orientation": "right",
        "education": "high school",
        "gender": "female",
        "zodiac": "Leo",
    }
    b = dict(reversed(list(a.items())))
    expected = (
        "**Your Profile**: Your gender is female. Your education is high school. "
        "Your political orientation is right. Your zodiac is Leo."
    )
    assert personas.render_persona(a) == personas.render_persona(b) == expected
    t = {"prefix": "You are a person. ", "sentence": "{attribute}: {value}.", "separator": "\n"}
    assert (
        personas.render_persona({"age": 40, "gender": "male"}, t)
        == "You are a person. gender: male.\nage: 40."
    )
    assert personas.render_persona({}) == ""
    with pytest.raises(ValueError, match="missing value"):
        personas.render_persona({"gender": None})
    with pytest.raises(ValueError, match="empty value"):
        personas.render_persona({"gender": " "})
    with pytest.raises(ValueError, match="lacks key"):
        personas.render_persona({"gender": "male"}, {"prefix": ""})


def test_persona_id_is_sha256_of_canonical_json():
    attrs = {"gender": "male", "age": 30}
    payload = {
        "attributes": {"age": "30", "gender": "male"},
        "template": dict(personas.DEFAULT_TEMPLATE),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert personas.persona_id(attrs) == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert personas.persona_id({"age": "30", "gender": "male"}) == personas.persona_id(attrs)
    assert personas.persona_id({"gender": "female", "age": 30}) != personas.persona_id(attrs)
    t = dict(personas.DEFAULT_TEMPLATE, prefix="Profile: ")
    assert personas.persona_id(attrs, t) != personas.persona_id(attrs)


def test_paper_personas():
    t = personas.paper_personas()
    assert len(t) == 25 and t.persona_id.is_unique and t.system_prompt.is_unique
    counts = t.attribute.value_counts().to_dict()
    assert counts["age"] == 4 and counts["political_orientation"] == 3 and counts["education"] == 4
    assert set(counts) == {
        "gender",
        "age",
        "political_orientation",
        "education",
        "race",
        "religion",
        "income",
    }
    assert sum(counts.values()) == 25
    assert t.system_prompt.iloc[0] == "**Your Profile**: Your gender is male."
    assert (t.system_prompt.str.count(r"\. ") == 0).all()  # one sentence each
    assert "Your political orientation is left." in set(
        t.system_prompt.str.replace("**Your Profile**: ", "")
    )


def test_full_factorial_grid():
    levels = {
        "gender": ["male", "female"],
        "age": ["18-29", "30-44", "45-59"],
        "country": ["DE", "FR"],
    }
    g = personas.persona_grid(levels)
    assert len(g) == 12 and g.persona_id.is_unique
    got = set(g[["gender", "age", "country"]].itertuples(index=False, name=None))
    assert got == {
        (a, b, c) for a in levels["gender"] for b in levels["age"] for c in levels["country"]
    }
    assert (g.n_attributes == 3).all()
    with pytest.raises(ValueError, match="duplicate levels"):
        personas.persona_grid({"gender": ["male", "male"]})


def test_sampling_from_margins_is_seeded_and_matches_margins():
    margins = {"gender": {"male": 0.3, "female": 0.7}, "age": {"young": 0.5, "old": 0.5}}
    a = personas.sample_personas(4000, margins=margins, seed=7)
    pd.testing.assert_frame_equal(a, personas.sample_personas(4000, margins=margins, seed=7))
    assert not a.equals(personas.sample_personas(4000, margins=margins, seed=8))
    p_male = (a.gender == "male").mean()
    se = math.sqrt(0.3 * 0.7 / 4000)
    assert abs(p_male - 0.3) < 4 * se
    # independence: joint = product of margins
    p_joint = ((a.gender == "male") & (a.age == "old")).mean()
    assert abs(p_joint - 0.15) < 4 * math.sqrt(0.15 * 0.85 / 4000)
    with pytest.raises(ValueError, match="exactly one"):
        personas.sample_personas(3)


def test_sampling_from_reference_keeps_joint_distribution():
    # perfectly dependent attributes, with survey weights 3:1
    ref = pd.DataFrame(
        {
            "gender": ["male", "female", "female", None],
            "country": ["DE", "FR", "FR", "DE"],
            "w": [3.0, 0.5, 0.5, 9.0],
        }
    )
    s = personas.sample_personas(
        4000, reference=ref, attributes=["gender", "country"], weight="w", seed=1
    )
    assert set(s[["gender", "country"]].itertuples(index=False, name=None)) == {
        ("male", "DE"),
        ("female", "FR"),
    }
    assert abs((s.gender == "male").mean() - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 4000)


# --------------------------------------------------------------------------- item level


def _ratings(values, portrait=1001, option=1, extra=None):
    d = pd.DataFrame({"portrait_id": portrait, "option_id": option, "rating": values})
    if extra:
        for k, v in extra.items():
            d[k] = v
    return d


def test_identical_distributions_give_zero_distances():
    rng = np.random.default_rng(0)
    h = pd.concat([_ratings(rng.integers(1, 7, 40), portrait=p) for p in (1001, 2001, 3001)])
    pers = h.assign(persona_id=np.arange(len(h)).astype(str))
    c = persona_stats.compare_item_distributions(pers, h)
    assert len(c) == 3
    np.testing.assert_allclose(c.js_distance, 0, atol=1e-7)
    np.testing.assert_allclose(c.wasserstein, 0, atol=1e-12)
    np.testing.assert_allclose(c.mean_diff, 0, atol=1e-12)
    np.testing.assert_allclose(c.sd_ratio, 1, atol=1e-12)
    assert c.source.tolist() == ["Reddit", "DearAbby", "ShareGPT"]


def test_hand_worked_item_case():
    h = _ratings([1, 2, 2, 2])
    p = _ratings([1, 1, 2, 2], extra={"persona_id": list("abcd")})
    c = persona_stats.compare_item_distributions(p, h).iloc[0]
    assert c.mean_diff == pytest.approx(1.5 - 1.75)
    assert c.sd_ratio == pytest.approx(0.5 / math.sqrt(3 / 16))
    assert c.wasserstein == pytest.approx(0.25)  # |F_p - F_h| = 0.25 on [1, 2]
    pp, qq = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    m = (pp + qq) / 2
    js2 = 0.5 * sum(pp * np.log2(pp / m)) + 0.5 * sum(qq * np.log2(qq / m))
    assert c.js_distance == pytest.approx(math.sqrt(js2), abs=1e-12)
    assert c.n_persona == 4 and c.n_human == 4


def test_random_items_against_scipy_and_non_integer_answers():
    rng = np.random.default_rng(5)
    h = _ratings(rng.integers(1, 7, 47))
    vals = rng.integers(1, 7, 30) + rng.choice([0, 0.5], 30)
    vals = np.minimum(vals, 6)
    p = _ratings(vals, extra={"persona_id": "x"})
    c = persona_stats.compare_item_distributions(p, h).iloc[0]
    assert c.wasserstein == pytest.approx(stats.wasserstein_distance(vals, h.rating), abs=1e-12)
    assert c.mean_diff == pytest.approx(vals.mean() - h.rating.mean(), abs=1e-12)
    assert c.sd_ratio == pytest.approx(vals.std() / h.rating.std(ddof=0), abs=1e-12)
    # split of half-points between neighbouring categories
    cp = np.zeros(6)
    for v in vals:
        lo = int(np.floor(v))
        cp[lo - 1] += 1 - (v - lo)
        if v > lo:
            cp[lo] += v - lo
    ch = np.bincount(h.rating, minlength=7)[1:]
    assert c.js_distance == pytest.approx(jensenshannon(cp, ch, base=2), abs=1e-12)
    with pytest.raises(ValueError, match="outside 1-6"):
        persona_stats.compare_item_distributions(_ratings([0, 3], extra={"persona_id": "x"}), h)


def test_summaries_by_source_and_value():
    c = pd.DataFrame(
        {
            "portrait_id": [1001, 1002, 2001, 4001],
            "option_id": 1,
            "source": ["Reddit", "Reddit", "DearAbby", "LMSYS"],
            "mean_diff": [1.0, -0.5, 0.25, 2.0],
            "sd_ratio": [1.0, 0.5, np.inf, 2.0],
            "js_distance": [0.1, 0.3, 0.2, 0.4],
            "wasserstein": [1.0, 0.5, 0.25, 2.0],
        }
    )
    s = persona_stats.summarise_item_comparison(c).set_index("source")
    assert s.index.tolist() == ["Reddit", "DearAbby", "LMSYS"]
    assert s.loc["Reddit", "mean_diff"] == pytest.approx(0.25)
    assert s.loc["Reddit", "abs_mean_diff"] == pytest.approx(0.75)
    assert s.loc["Reddit", "sd_ratio"] == pytest.approx(0.75)
    assert np.isnan(s.loc["DearAbby", "sd_ratio"])  # infinite ratio (human SD 0) skipped
    sel = pd.DataFrame(
        {
            "portrait_id": [1001, 2001, 4001, 1002],
            "option_id": 1,
            "family": "pvq",
            "dimension": ["Power", "Power", "Tradition", "Tradition"],
            "selected": [True, True, True, False],
        }
    )
    v = persona_stats.summarise_item_comparison(c, "value", sel).set_index("dimension")
    assert v.index.tolist() == ["Power", "Tradition"]
    assert v.loc["Power", "n_items"] == 2 and v.loc["Tradition", "n_items"] == 1
    assert v.loc["Power", "js_distance"] == pytest.approx(0.15)
    assert v.loc["Tradition", "wasserstein"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="needs selected"):
        persona_stats.summarise_item_comparison(c, "value")


# --------------------------------------------------------------------------- population level


def _tidy(X: np.ndarray, unit: str, prefix: str, score="score", family="pvq", dims=VALUES):
    df = pd.DataFrame(X, columns=dims)
    df.index = [f"{prefix}{i}" for i in range(len(X))]
    t = df.stack().rename(score).reset_index()
    t.columns = [unit, "dimension", score]
    t["family"] = family
    return t


def test_variance_ratio_half_sd_gives_quarter():
    rng = np.random.default_rng(1)
    H = rng.normal(size=(300, 10))
    Pm = 0.5 * H + 1.0  # exactly half the spread
    h, p = _tidy(H, "participant", "h"), _tidy(Pm, "persona_id", "p", "centered_mean")
    v = persona_stats.variance_ratio(p, h, n_boot=500, seed=2)
    np.testing.assert_allclose(v.variance_ratio, 0.25, rtol=1e-12)
    np.testing.assert_allclose(v.var_human, np.var(H, axis=0, ddof=1), rtol=1e-12)
    assert ((v.ci_low < 0.25) & (v.ci_high > 0.25)).all()
    # an independently drawn population with half the SD: ratio near 0.25, inside its CI
    p2 = _tidy(rng.normal(scale=0.5, size=(3000, 10)), "persona_id", "q", "centered_mean")
    h2 = _tidy(rng.normal(size=(3000, 10)), "participant", "g")
    v2 = persona_stats.variance_ratio(p2, h2, n_boot=400, seed=3)
    assert ((v2.ci_low < 0.25) & (v2.ci_high > 0.25)).sum() >= 8  # 95% CIs, 10 values
    np.testing.assert_allclose(v2.variance_ratio, 0.25, atol=0.04)
    pd.testing.assert_frame_equal(v2, persona_stats.variance_ratio(p2, h2, n_boot=400, seed=3))


def test_value_hierarchy_and_agreement():
    H = np.tile(
        np.arange(10, dtype=float), (5, 1)
    )  # Universalism highest ... Self_Direction lowest
    Pm = H[:, ::-1].copy()  # reversed hierarchy
    h, p = _tidy(H, "participant", "h"), _tidy(Pm, "persona_id", "p")
    v = persona_stats.value_hierarchy(p, h).set_index("dimension")
    assert (
        v.loc["Universalism", "mean_rank_human"] == 1
        and v.loc["Self_Direction", "mean_rank_human"] == 10
    )
    assert v.loc["Universalism", "mean_rank_persona"] == 10
    assert v.loc["Power", "mean_human"] == 4
    assert persona_stats.hierarchy_agreement(v).spearman_rho.item() == pytest.approx(-1)
    assert persona_stats.hierarchy_agreement(
        persona_stats.value_hierarchy(h.rename(columns={"participant": "persona_id"}), h)
    ).kendall_tau.item() == pytest.approx(1)


def _circumplex_scores(n, order, rng, noise=0.3):
    """Scores whose correlations follow a circle with values at the given angular order."""
    ang = 2 * np.pi * np.arange(10) / 10
    pos = {v: ang[i] for i, v in enumerate(order)}
    a = np.array([pos[v] for v in VALUES])
    z = rng.normal(size=(n, 2))
    return z[:, :1] * np.cos(a) + z[:, 1:] * np.sin(a) + noise * rng.normal(size=(n, 10))


def test_value_structure_recovers_circle_and_matrix_correlation():
    rng = np.random.default_rng(4)
    H = _circumplex_scores(800, VALUES, rng)
    scrambled = [
        "Power",
        "Benevolence",
        "Hedonism",
        "Tradition",
        "Self_Direction",
        "Security",
        "Universalism",
        "Stimulation",
        "Achievement",
        "Conformity",
    ]
    Pm = _circumplex_scores(800, scrambled, rng)
    h, p = _tidy(H, "participant", "h"), _tidy(Pm, "persona_id", "p", "centered_mean")
    s = persona_stats.value_structure(p, h).iloc[0]
    assert s.exact_order_human and s.mean_displacement_human == 0 and s.adjacent_pairs_human == 10
    assert s.order_human == "SD-ST-HE-AC-PO-SE-CO-TR-BE-UN"
    assert not s.exact_order_persona and s.mean_displacement_persona > 0.4
    il = np.tril_indices(10, -1)
    a, b = np.corrcoef(Pm.T)[il], np.corrcoef(H.T)[il]
    assert s.matrix_r == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12)
    assert s.matrix_rho == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)
    assert s.n_pairs == 45 and s.n_persona == 800
    # one swap of neighbours: displaced by one position each, 9 of 10 neighbour pairs kept
    swapped = list(VALUES)
    swapped[6], swapped[7] = swapped[7], swapped[6]
    q = _tidy(_circumplex_scores(2000, swapped, rng, 0.1), "persona_id", "s", "centered_mean")
    s2 = persona_stats.value_structure(q, h).iloc[0]
    assert s2.order_persona == "SD-ST-HE-AC-PO-SE-TR-CO-BE-UN"
    assert s2.mean_displacement_persona == pytest.approx(0.2) and s2.adjacent_pairs_persona == 8
    # persona units with a missing value are dropped (complete cases)
    q2 = q[~((q.persona_id == "s0") & (q.dimension == "Power"))]
    assert persona_stats.value_structure(q2, h).n_persona.item() == 1999
    np.testing.assert_allclose(
        persona_stats.value_correlation_matrix(q, persona="persona_id").to_numpy(),
        np.corrcoef(
            q.pivot(index="persona_id", columns="dimension", values="centered_mean")[VALUES].T
        ),
        atol=1e-12,
    )


def test_released_human_structure_is_near_circular():
    ref = persona_studies.value_portrait_reference()
    s = persona_stats.value_structure(ref["scores"], ref["scores"]).iloc[0]
    assert s.matrix_r == pytest.approx(1.0)
    # the Value Portrait raters: only Security, Conformity and Tradition out of order
    assert s.order_human == "SD-ST-HE-AC-PO-CO-TR-SE-BE-UN"
    assert s.adjacent_pairs_human == 7


# --------------------------------------------------------------------------- group level


def _group_population(rng, n_a, n_b, gap, group="gender"):
    X = rng.normal(scale=0.8, size=(n_a + n_b, 10))
    X[:n_a, 6] += gap  # Conformity
    t = _tidy(X, "participant", "h")
    lab = np.array(["male"] * n_a + ["female"] * n_b)
    t[group] = lab[t.participant.str[1:].astype(int)]
    return t


def test_exaggerated_gap_is_measured_as_twice_within_ci():
    rng = np.random.default_rng(11)
    h = _group_population(rng, 500, 500, gap=0.5)
    hm = h[h.dimension == "Conformity"].groupby("gender").score.mean()
    human_gap = hm["male"] - hm["female"]
    # persona runs: 40 per group with noise, shifted so the run gap is exactly 2 x the human gap
    runs = []
    for g, shift in (("male", 2 * human_gap), ("female", 0.0)):
        X = rng.normal(scale=0.3, size=(40, 10))
        X -= X.mean(axis=0)
        X[:, 6] += shift
        t = _tidy(X, "persona_id", f"{g}-", "centered_mean")
        t["gender"] = g
        runs.append(t)
    p = pd.concat(runs, ignore_index=True)
    g = persona_gaps.group_gap_comparison(
        p, h, "gender", "male", "female", n_boot=1000, seed=5
    ).set_index("dimension")
    row = g.loc["Conformity"]
    assert row.human_gap == pytest.approx(human_gap, abs=1e-12)
    assert row.llm_gap == pytest.approx(2 * human_gap, abs=1e-12)
    assert row.gap_difference == pytest.approx(human_gap, abs=1e-9)
    assert row.diff_ci_low > 0  # exaggeration detected: the LLM gap lies above the humans'
    assert row.sign_agree and row.n_llm_a == 40 and row.n_human_b == 500
    assert row.human_ci_low < 0.5 < row.human_ci_high
    assert row.diff_ci_low < row.gap_difference < row.diff_ci_high
    g2 = persona_gaps.group_gap_comparison(p, h, "gender", "male", "female", n_boot=1000, seed=5)
    pd.testing.assert_frame_equal(g.reset_index()[g2.columns], g2)


def test_weighted_human_gap_and_baseline_form():
    h = pd.DataFrame(
        {
            "participant": ["a", "b", "c", "d", "e"],
            "gender": ["male", "male", "female", "female", None],
            "family": "pvq",
            "dimension": "Hedonism",
            "score": [1.0, 0.0, 0.5, -0.5, 2.0],
            "weight": [3.0, 1.0, 1.0, 1.0, 2.0],
        }
    )
    p = pd.DataFrame(
        {
            "persona_id": ["pm", "pf"],
            "gender": ["male", "female"],
            "family": "pvq",
            "dimension": "Hedonism",
            "centered_mean": [0.9, -0.3],
        }
    )
    g = persona_gaps.group_gap_comparison(
        p, h, "gender", "male", "female", weight="weight", n_boot=0
    )
    row = g.set_index("dimension").loc["Hedonism"]
    assert row.human_gap == pytest.approx(0.75 - 0.0)  # (3*1 + 0)/4 - 0
    assert row.llm_gap == pytest.approx(1.2)
    assert row.gap_difference == pytest.approx(1.2 - 0.75)
    # paper form: persona minus plain model vs group mean minus overall (weighted) mean
    base = pd.DataFrame(
        {"model": "plain", "family": "pvq", "dimension": "Hedonism", "centered_mean": [0.4]}
    )
    gb = persona_gaps.group_gap_comparison(
        p, h, "gender", "male", persona_baseline=base, weight="weight", n_boot=200
    )
    rb = gb.set_index("dimension").loc["Hedonism"]
    overall = (3 * 1 + 0 + 0.5 - 0.5 + 2 * 2) / 8
    assert rb.human_gap == pytest.approx(0.75 - overall)
    assert rb.llm_gap == pytest.approx(0.5)
    # single runs and no items to resample: the LLM gap has no interval (never ci_low = ci_high)
    assert np.isnan(rb.llm_ci_low) and np.isnan(rb.llm_ci_high)
    assert rb.llm_resampled.startswith("none")
    assert rb.diff_ci_low < rb.gap_difference < rb.diff_ci_high
    assert rb.sign_agree == (np.sign(0.75 - overall) == 1)
    with pytest.raises(ValueError, match="persona_baseline"):
        persona_gaps.group_gap_comparison(p, h, "gender", "male")


def test_flattened_and_reversed_gaps():
    rng = np.random.default_rng(3)
    h = _group_population(rng, 300, 300, gap=0.6)
    hm = h[h.dimension == "Conformity"].groupby("gender").score.mean()
    hg = hm["male"] - hm["female"]
    rows = []
    for g, val in (("male", -0.5 * hg), ("female", 0.0)):
        t = _tidy(np.zeros((1, 10)), "persona_id", g, "centered_mean")
        t.loc[t.dimension == "Conformity", "centered_mean"] = val
        t["gender"] = g
        rows.append(t)
    g = persona_gaps.group_gap_comparison(
        pd.concat(rows), h, "gender", "male", "female", n_boot=300, seed=0
    )
    row = g.set_index("dimension").loc["Conformity"]
    assert row.gap_difference == pytest.approx(-1.5 * hg, abs=1e-9)
    assert not row.sign_agree and row.sign_agree_share < 0.05


# --------------------------------------------------------------------------- released reference


def test_value_portrait_reference_counts():
    ref = persona_studies.value_portrait_reference()
    s, r, d = ref["scores"], ref["ratings"], ref["item_distributions"]
    assert s.participant.nunique() == 569
    assert s.groupby("participant").rater.first().sum() == 559
    assert len(d) == 520 and d.n.sum() == 24320 == len(r)
    counts = d[[f"count_{k}" for k in range(1, 7)]].to_numpy()
    np.testing.assert_allclose(counts.sum(axis=1), d.n)
    direct = r.groupby(["portrait_id", "option_id"]).rating.agg(["mean", lambda x: x.std(ddof=0)])
    np.testing.assert_allclose(d["mean"], direct["mean"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(d["sd"], direct.iloc[:, 1].to_numpy(), rtol=1e-9)
    assert d.source.value_counts().to_dict() == {s: 130 for s in schema.SOURCES}


def test_gap_against_ess_format_reference(tmp_path):
    """Human gaps from an ESS-format file equal the weighted group means of stats.survey."""
    from vp_stats.io import ess
    from vp_stats.stats import survey

    path = tmp_path / "ess.csv"
    ess.synthetic_ess(400, seed=9).to_csv(path, index=False)
    h = ess.load_ess(path)
    means = survey.weighted_group_means(h, "gender", families=["pvq"]).set_index(
        ["gender", "dimension"]
    )["mean"]
    over = survey.weighted_group_means(h, families=["pvq"]).set_index("dimension")["mean"]
    p = pd.DataFrame(
        {
            "persona_id": ["m", "f"] * 10,
            "gender": ["male", "female"] * 10,
            "family": "pvq",
            "dimension": np.repeat(VALUES, 2),
            "centered_mean": 0.1,
        }
    )
    g = persona_gaps.group_gap_comparison(
        p, h, "gender", "male", "female", weight="weight", n_boot=200
    )
    g = g.set_index("dimension")
    for v in VALUES:
        assert g.loc[v, "human_gap"] == pytest.approx(
            means[("male", v)] - means[("female", v)], abs=1e-12
        )
        assert g.loc[v, "human_ci_low"] <= g.loc[v, "human_gap"] <= g.loc[v, "human_ci_high"]
    assert (g.llm_gap == 0).all()
    base = (
        p[p.persona_id == "m"].drop(columns="gender").assign(persona_id="plain", centered_mean=0.0)
    )
    gb = persona_gaps.group_gap_comparison(
        p, h, "gender", "male", persona_baseline=base, weight="weight", n_boot=0
    )
    gb = gb.set_index("dimension")
    for v in VALUES:
        assert gb.loc[v, "human_gap"] == pytest.approx(means[("male", v)] - over[v], abs=1e-12)
        assert gb.loc[v, "llm_gap"] == pytest.approx(0.1)
