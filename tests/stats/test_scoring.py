"""Model value profiles: an independent loop reference, identities, options, the paper's finding."""

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.io import averaging, datasets
from vp_stats.stats import scoring, validation


@pytest.fixture(scope="module")
def wide():
    return averaging.load_average_outputs()


@pytest.fixture(scope="module")
def pub():
    return datasets.load_published_correlations()


@pytest.fixture(scope="module")
def profiles(wide, pub):
    return scoring.value_profiles(wide, pub, n_boot=200, seed=1)


def _loop_profile(wide, pub, model, exclusions=True):
    """Straightforward per-dimension loops over plain dicts, like upstream's scorer."""
    answers = {
        (r.portrait_id, r.option_id): r.numeric_response
        for r in wide[wide.model == model].itertuples()
    }
    ex = (
        {(3902, 4, "Achievement"), (1901, 1, "Universalism"), (2901, 4, "Extraversion")}
        if exclusions
        else set()
    )
    out = {}
    for fam, dims in schema.FAMILIES.items():
        chosen = {d: [] for d in dims}
        for r in pub[pub.family == fam].itertuples():
            if r.rho > 0.3 and (r.portrait_id, r.option_id, r.dimension) not in ex:
                chosen[r.dimension].append((r.portrait_id, r.option_id))
        union = sorted({i for items in chosen.values() for i in items})
        vals = [answers[i] for i in union if not np.isnan(answers[i])]
        centre = sum(vals) / len(vals)
        for d in dims:
            a = [answers[i] for i in chosen[d] if not np.isnan(answers[i])]
            m = sum(a) / len(a)
            out[(fam, d)] = (m - centre, m, (sum((x - m) ** 2 for x in a) / len(a)) ** 0.5, len(a))
    return out


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-2024-11-20",
        "claude-3.7-sonnet:thinking",
        "mistral-tiny",
        "gemini-flash-1.5",
        "llama-3.1-8b-instruct",
    ],
)
def test_profiles_equal_an_independent_loop(profiles, wide, pub, model):
    ref = _loop_profile(wide, pub, model)
    got = profiles[profiles.model == model].set_index(["family", "dimension"])
    assert len(got) == 19
    for key, (c, m, sd, n) in ref.items():
        row = got.loc[key]
        assert abs(row.centered_mean - c) < 1e-12 and abs(row.original_mean - m) < 1e-12
        assert abs(row.std_dev - sd) < 1e-12 and row.n == n


def test_internal_consistency_for_all_models(profiles, wide, pub):
    assert profiles.model.nunique() == 34  # the release holds 34 averaged files
    assert np.allclose(profiles.centered_mean + profiles.centre, profiles.original_mean, atol=1e-12)
    sel = validation.select_items(pub, exclusions=validation.upstream_exclusions())
    sel = sel[sel.selected]
    answered = wide.set_index(["model", "portrait_id", "option_id"]).numeric_response.notna()
    for (model, _fam, dim), row in (
        profiles.set_index(["model", "family", "dimension"]).iloc[::37].iterrows()
    ):
        items = sel[sel.dimension == dim][["portrait_id", "option_id"]].itertuples(index=False)
        n = sum(bool(answered.loc[(model, p, o)]) for p, o in items)
        assert row.n == n and row.n + row.n_failed == (sel.dimension == dim).sum()
    # centre = mean of the model's answers over the union of the family's items
    fam_items = sel[sel.family == "higher_pvq"][["portrait_id", "option_id"]].drop_duplicates()
    m = wide[wide.model == "deepseek-r1"].merge(fam_items)
    c = profiles[(profiles.model == "deepseek-r1") & (profiles.family == "higher_pvq")].centre.iloc[
        0
    ]
    assert abs(m.numeric_response.mean() - c) < 1e-12


def test_bootstrap_ci_contains_estimate_and_is_seeded(profiles, wide, pub):
    ok = profiles.dropna(subset=["ci_low"])
    assert (
        (ok.ci_low <= ok.centered_mean + 1e-12) & (ok.centered_mean <= ok.ci_high + 1e-12)
    ).mean() > 0.99
    again = scoring.value_profiles(wide, pub, n_boot=200, seed=1)
    pd.testing.assert_frame_equal(profiles, again)


@pytest.mark.parametrize("k", [1, 2, 7, 8, 9, 33, 130])
def test_bootstrap_means_equal_numpys_nanmean_bit_for_bit(k):
    """The profiles' resample means are np.nanmean of the resampled answers, bit for bit: answers
    that are means of up to six ratings (inexact sums), unanswered items, a model without any."""
    import warnings

    rng = np.random.default_rng(k)
    a = rng.integers(1, 37, size=(34, k)) / rng.integers(1, 7, size=(34, k))
    a[rng.random(a.shape) < 0.1] = np.nan
    a[5] = np.nan
    idx = scoring.Resampler(k).indices(k, 1000)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmean(a[:, idx], axis=2)
    got = scoring._boot_means(a, idx)
    assert got.shape == (1000, 34)
    assert np.array_equal(got.T, ref, equal_nan=True)
    assert np.isnan(got[:, 5]).all()


def test_mean_profile_reproduces_the_paper_finding(profiles):
    """LLMs prioritise Benevolence, Self-Direction, Security, Universalism.

    Tradition, Achievement and Power come low.

    The mission notes give +0.47, +0.33, +0.30, +0.29 and -0.34, -0.28, -0.17 across the released
    models; over the 34 averaged files we get 0.467, 0.331, 0.299, 0.279 and -0.333, -0.283, -0.173
    (Universalism and Tradition differ by 0.011 and 0.007: the notes' model set is not specified).
    """
    mp = scoring.mean_profile(profiles).set_index("dimension")["mean"]
    assert list(mp.index[:4]) == ["Benevolence", "Self_Direction", "Security", "Universalism"]
    assert set(mp.index[-3:]) == {"Tradition", "Achievement", "Power"}
    stated = {
        "Benevolence": 0.47,
        "Self_Direction": 0.33,
        "Security": 0.30,
        "Universalism": 0.29,
        "Tradition": -0.34,
        "Achievement": -0.28,
        "Power": -0.17,
    }
    for d, v in stated.items():
        assert abs(mp[d] - v) < 0.015, d


def test_exclusions_change_only_their_dimensions(wide, pub):
    a = scoring.value_profiles(wide, pub, n_boot=0)
    b = scoring.value_profiles(wide, pub, n_boot=0, exclusions=None)
    diff = a.merge(b, on=["model", "family", "dimension"])
    changed = diff[(diff.original_mean_x - diff.original_mean_y).abs() > 1e-12]
    assert set(changed.dimension) <= {"Achievement", "Universalism", "Extraversion"}
    assert (diff.n_y - diff.n_x).groupby(diff.dimension).max()[
        ["Achievement", "Universalism", "Extraversion"]
    ].tolist() == [1, 1, 1]


def test_upstream_parity_drops_the_untagged_items(wide, pub):
    a = scoring.value_profiles(wide, pub, n_boot=0)
    b = scoring.value_profiles(wide, pub, n_boot=0, upstream_parity=True)
    m = a.merge(b, on=["model", "family", "dimension"])
    changed = set(m.loc[(m.centered_mean_x - m.centered_mean_y).abs() > 1e-12, "model"])
    assert changed == {"llama-3.1-8b-instruct", "gemini-2.0-flash-thinking-exp-01-21"}


def test_abs_mode_reverses_negative_items():
    ans = pd.DataFrame(
        {
            "model": "m",
            "portrait_id": [1001, 1002, 1003],
            "option_id": 1,
            "numeric_response": [6.0, 2.0, 5.0],
        }
    )
    corr = pd.DataFrame(
        {
            "portrait_id": [1001, 1002, 1003],
            "option_id": 1,
            "family": "bfi",
            "dimension": ["Openness", "Openness", "Neuroticism"],
            "rho": [0.5, -0.4, 0.35],
        }
    )
    p = scoring.value_profiles(ans, corr, exclusions=None, n_boot=0, mode="abs").set_index(
        "dimension"
    )
    assert p.loc["Openness", "original_mean"] == (6 + (7 - 2)) / 2
    assert abs(p.loc["Openness", "centre"] - 13 / 3) < 1e-12
    pos = scoring.value_profiles(ans, corr, exclusions=None, n_boot=0).set_index("dimension")
    assert pos.loc["Openness", "original_mean"] == 6 and pos.loc["Openness", "n"] == 1


def test_bad_answer_tables():
    corr = pd.DataFrame(
        {
            "portrait_id": [1001],
            "option_id": 1,
            "family": "bfi",
            "dimension": "Openness",
            "rho": [0.5],
        }
    )
    dup = pd.DataFrame(
        {"model": "m", "portrait_id": [1001, 1001], "option_id": 1, "numeric_response": [3.0, 4.0]}
    )
    with pytest.raises(
        ValueError, match="more than one row for model 'm', portrait 1001, option 1"
    ):
        scoring.value_profiles(dup, corr, exclusions=None, n_boot=0)
    bad = pd.DataFrame(
        {"model": "m", "portrait_id": [1001], "option_id": 1, "numeric_response": [7.0]}
    )
    with pytest.raises(
        ValueError, match="answer 7.0 outside 1-6 for model 'm', portrait 1001, option 1"
    ):
        scoring.value_profiles(bad, corr, exclusions=None, n_boot=0)
    with pytest.raises(ValueError, match="field 'numeric_response': missing column"):
        scoring.value_profiles(
            bad.drop(columns="numeric_response"), corr, exclusions=None, n_boot=0
        )


def test_icc_matches_pingouin():
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 6)) + rng.normal(size=(10, 1)) * 2
    long = (
        pd.DataFrame(x)
        .stack()
        .rename("score")
        .reset_index()
        .rename(columns={"level_0": "t", "level_1": "r"})
    )
    ref = (
        pg.intraclass_corr(long, targets="t", raters="r", ratings="score")
        .set_index("Type")
        .loc["ICC(A,1)", "ICC"]
    )  # ICC(2,1) = absolute agreement
    assert abs(scoring.icc_2_1(x) - ref) < 1e-12


def test_robustness_tables(wide, pub, profiles):
    vp = scoring.variant_profiles(wide, pub)
    assert set(vp.variant) == set(schema.VARIANTS)
    ag = scoring.variant_agreement(vp)
    assert len(ag) == 34 and ag.icc_2_1.between(-1, 1).all()
    assert (
        ag.set_index("model").loc["gemini-flash-1.5", "n_variants"] == 2
    )  # only v1 and v1_reversed were run
    rev = scoring.reversal_effect(wide)
    assert set(rev.wording) == {"v1", "v2", "v3"}
    ts = scoring.threshold_sensitivity(wide, pub)
    assert np.allclose(ts[ts.threshold == 0.3].spearman_vs_reference, 1.0)
    cl = scoring.cluster_models(profiles)
    assert len(cl) == 34 and cl.cluster.between(1, 4).all()


def test_a_row_without_a_score_says_why(wide, pub):
    """A model with no answer to a dimension's validated items, and a dimension with no validated
    item, give NaN scores with a reason; computed rows have none."""
    sel = validation.select_items(pub, threshold=0.3)
    power = sel[sel.selected & (sel.dimension == "Power")][["portrait_id", "option_id"]]
    one = wide[wide.model == "deepseek-r1"]
    gap = one.merge(power, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    prof = scoring.value_profiles(one[~gap], pub, families=["pvq"], n_boot=0)
    row = prof.set_index("dimension").loc["Power"]
    assert np.isnan(row.centered_mean) and row.n == 0 and row.n_failed == len(power)
    assert row.reason == f"no answer from this model to any of the {len(power)} validated items"
    assert prof[prof.dimension != "Power"].reason.isna().all()
    strict = scoring.value_profiles(one, pub, families=["pvq"], threshold=0.99, n_boot=0)
    assert strict.centered_mean.isna().all()
    assert strict.reason.str.startswith("no item of this dimension is validated").all()
