"""Persona-vs-human gap agreement that cannot mislead.

The LLM gap and the human gap are compared by their difference (with a percentile CI
from resampling personas, items and people) and their sign agreement, never by a ratio;
a gap from one persona per group gets its interval from the items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vp_stats import schema
from vp_stats.stats import persona_gaps, personas

DIMS = list(schema.FAMILIES["pvq"])


def _humans(rng, n_a=200, n_b=200, gap=0.0):
    rows = []
    for g, n, shift in (("a", n_a, gap), ("b", n_b, 0.0)):
        x = rng.normal(size=(n, len(DIMS)))
        x -= x.mean(axis=0)  # the group means are exactly `shift`
        x += shift
        for i in range(n):
            for j, d in enumerate(DIMS):
                rows.append((f"{g}{i}", g, d, x[i, j]))
    return pd.DataFrame(rows, columns=["participant", "grp", "dimension", "score"]).assign(
        family="pvq"
    )


def _personas(rng, n_per_group, shift_a=0.5, sd=0.3):
    rows = []
    for g, shift in (("a", shift_a), ("b", 0.0)):
        x = rng.normal(scale=sd, size=(n_per_group, len(DIMS))) + shift
        for i in range(n_per_group):
            for j, d in enumerate(DIMS):
                rows.append((f"{g}-{i}", g, d, x[i, j]))
    return pd.DataFrame(rows, columns=["persona_id", "grp", "dimension", "centered_mean"]).assign(
        family="pvq"
    )


def _items(rng, n_items=8, shift_a=0.5):
    """One persona per group: item rows whose means are the persona scores."""
    rows = []
    for g, shift in (("a", shift_a), ("b", 0.0)):
        for d in DIMS:
            z = rng.normal(size=n_items) + shift
            for k in range(n_items):
                rows.append((f"{g}-0", g, d, f"{d}_{k}", z[k]))
    items = pd.DataFrame(rows, columns=["persona_id", "grp", "dimension", "item", "score"])
    scores = (
        items.groupby(["persona_id", "grp", "dimension"], sort=False)["score"]
        .mean()
        .reset_index()
        .rename(columns={"score": "centered_mean"})
        .assign(family="pvq")
    )
    return scores, items.assign(family="pvq")


def test_no_ratio_and_the_estimates_lie_inside_their_intervals():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        g = persona_gaps.group_gap_comparison(
            _personas(rng, 6), _humans(rng, gap=0.2), "grp", "a", "b", n_boot=500, seed=seed
        )
        assert not [c for c in g.columns if "ratio" in c]
        assert (g.llm_ci_low <= g.llm_gap).all() and (g.llm_gap <= g.llm_ci_high).all()
        assert (g.human_ci_low <= g.human_gap).all() and (g.human_gap <= g.human_ci_high).all()
        assert (g.diff_ci_low <= g.gap_difference).all()
        assert (g.gap_difference <= g.diff_ci_high).all()
        np.testing.assert_allclose(g.gap_difference, g.llm_gap - g.human_gap, atol=1e-12)
        assert g.sign_agree_share.between(0, 1).all()


def test_a_zero_human_gap_keeps_every_number_bounded():
    rng = np.random.default_rng(1)
    h = _humans(rng, gap=0.0)  # every human gap is exactly 0
    g = persona_gaps.group_gap_comparison(_personas(rng, 6), h, "grp", "a", "b", n_boot=500)
    assert np.allclose(g.human_gap, 0.0, atol=1e-12)
    num = g.select_dtypes("number")
    assert np.isfinite(num.to_numpy(dtype=float)).all()
    # the difference's interval is no wider than the two gaps' intervals together
    width = g.diff_ci_high - g.diff_ci_low
    assert (width <= (g.llm_ci_high - g.llm_ci_low) + (g.human_ci_high - g.human_ci_low)).all()
    assert (width < 1.0).all()


def test_one_persona_per_group_gets_an_interval_from_its_items():
    rng = np.random.default_rng(2)
    p, items = _items(rng)
    h = _humans(rng, gap=0.1)
    g = persona_gaps.group_gap_comparison(
        p, h, "grp", "a", "b", n_boot=800, seed=3, persona="persona_id", persona_items=items
    )
    assert (g.llm_ci_low < g.llm_ci_high).all()
    assert (g.llm_ci_low <= g.llm_gap).all() and (g.llm_gap <= g.llm_ci_high).all()
    assert (g.n_llm_a == 1).all() and g.llm_resampled.str.contains("items").all()
    # without the items: no interval rather than a degenerate one
    g0 = persona_gaps.group_gap_comparison(p, h, "grp", "a", "b", n_boot=200)
    assert g0.llm_ci_low.isna().all() and g0.llm_ci_high.isna().all()
    assert (g0.diff_ci_low < g0.diff_ci_high).all()


def _numpy_percentile_ci(x, ci=0.95):
    return np.quantile(x, [(1 - ci) / 2, (1 + ci) / 2], axis=0)


def test_difference_interval_equals_a_plain_numpy_bootstrap():
    """Reference: resample personas and people within group with numpy's own generator."""
    rng = np.random.default_rng(4)
    p = _personas(rng, 8, shift_a=0.4)
    h = _humans(rng, n_a=60, n_b=80, gap=0.1)
    B = 20000
    g = persona_gaps.group_gap_comparison(p, h, "grp", "a", "b", n_boot=B, seed=9)
    ref = np.random.default_rng(123)

    def wide(df, unit, score):
        return {
            k: v.pivot_table(index=unit, columns="dimension", values=score)[DIMS].to_numpy()
            for k, v in df.groupby("grp")
        }

    P, H = wide(p, "persona_id", "centered_mean"), wide(h, "participant", "score")

    def boot_means(X):
        idx = ref.integers(0, len(X), size=(B, len(X)))
        return X[idx].mean(axis=1)

    diff = (boot_means(P["a"]) - boot_means(P["b"])) - (boot_means(H["a"]) - boot_means(H["b"]))
    lo, hi = _numpy_percentile_ci(diff)
    se = diff.std(axis=0)
    np.testing.assert_allclose(g.diff_ci_low, lo, atol=0.1 * se.max())
    np.testing.assert_allclose(g.diff_ci_high, hi, atol=0.1 * se.max())
    # hand-worked point: the means of the groups
    want = (P["a"].mean(0) - P["b"].mean(0)) - (H["a"].mean(0) - H["b"].mean(0))
    np.testing.assert_allclose(g.gap_difference, want, atol=1e-12)


def test_item_interval_equals_a_plain_numpy_item_bootstrap():
    """One persona per group: the LLM gap's replicates resample the value's items (paired)."""
    rng = np.random.default_rng(5)
    p, items = _items(rng, n_items=10)
    h = _humans(rng, gap=0.1)
    B = 20000
    g = persona_gaps.group_gap_comparison(
        p, h, "grp", "a", "b", n_boot=B, seed=1, persona="persona_id", persona_items=items
    )
    ref = np.random.default_rng(7)
    lo, hi, se = [], [], []
    for d in DIMS:
        za = items[(items.grp == "a") & (items.dimension == d)].sort_values("item").score
        zb = items[(items.grp == "b") & (items.dimension == d)].sort_values("item").score
        diff = za.to_numpy() - zb.to_numpy()  # same items for both personas
        idx = ref.integers(0, len(diff), size=(B, len(diff)))
        q = _numpy_percentile_ci(diff[idx].mean(axis=1))
        lo.append(q[0])
        hi.append(q[1])
        se.append(diff[idx].mean(axis=1).std())
    # two Monte Carlo estimates of a 2.5% quantile (B = 20000) differ by ~0.03 SE: 0.1 SE is 3.5 x
    np.testing.assert_allclose(g.llm_ci_low, lo, atol=0.1 * max(se))
    np.testing.assert_allclose(g.llm_ci_high, hi, atol=0.1 * max(se))


def test_persona_item_scores_average_to_the_scorers_profiles():
    rng = np.random.default_rng(6)
    corr_rows, k = [], 0
    for d in DIMS:
        for _ in range(4):
            corr_rows.append((1001 + k, 1, "pvq", d, 0.5))
            k += 1
    corr_rows.append((1001, 1, "pvq", "Power", 0.45))  # an item valid for two values
    corr_rows.append((1002, 1, "pvq", "Hedonism", 0.1))  # not selected
    corr = pd.DataFrame(
        corr_rows, columns=["portrait_id", "option_id", "family", "dimension", "rho"]
    )
    ans = []
    for pid in ("p1", "p2", "plain"):
        for item in range(1001, 1001 + k):
            for _variant in range(2):  # two variants, averaged
                ans.append((pid, item, 1, float(rng.integers(1, 7)), True))
    ans.append(("p1", 1003, 1, 6.0, False))  # a failed answer is left out
    answers = pd.DataFrame(
        ans, columns=["persona_id", "portrait_id", "option_id", "rating", "parse_ok"]
    )
    items = persona_gaps.persona_item_scores(answers, corr, "pvq", exclusions=None)
    got = items.groupby(["persona_id", "dimension"])["score"].mean()
    prof = personas.persona_value_profiles(answers, corr, exclusions=None)
    prof = prof[prof.family == "pvq"].set_index(["persona_id", "dimension"])["centered_mean"]
    np.testing.assert_allclose(got.sort_index(), prof.reindex(got.sort_index().index), atol=1e-12)
    assert items.groupby(["persona_id", "dimension"]).size().loc[("p1", "Power")] == 5
