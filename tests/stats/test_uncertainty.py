"""Two-stage (selection) uncertainty of value profiles: engine, identities, ground truth, released
data."""

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vp_stats.io import averaging, datasets
from vp_stats.stats import scoring, simulate, uncertainty, validation
from vp_stats.stats.resampling import Resampler, multiplicities


def _answers(items, models=("m1", "m2", "m3"), seed=0, scale=(1, 5)):
    rng = np.random.default_rng(seed)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "model": m,
                    "item": list(items),
                    "numeric_response": rng.integers(scale[0], scale[1] + 1, len(items)).astype(
                        float
                    ),
                }
            )
            for m in models
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def study(make_study):
    st = make_study(n_participants=150, n_items=60, seed=2)
    return st, _answers(st["truth"]["item"])


def test_resampled_rhos_equal_scipy_on_the_materialised_rater_resample():
    """Raters resampled together; items with two rater sets (two groups, one rater in both)."""
    rng = np.random.default_rng(4)
    raters = [f"r{i:02d}" for i in range(30)]
    rows = []
    for i, p in enumerate(raters):
        items = ["a1", "a2", "a3"] if i < 16 else ["b1", "b2"]
        if i == 15:
            items = items + ["b1", "b2"]
        rows += [(p, it, int(rng.integers(1, 6))) for it in items]
    r = pd.DataFrame(rows, columns=["participant", "item", "rating"])
    s = pd.DataFrame(
        {
            "participant": raters,
            **{
                d: rng.normal(size=30).round(1)
                for d in [
                    "Extraversion",
                    "Agreeableness",
                    "Conscientiousness",
                    "Neuroticism",
                    "Openness",
                ]
            },
        }
    )
    inp = validation._inputs(r, s, None)
    rr, ss, fams, dims = inp.ratings, inp.scores, inp.families, inp.dims
    wide, cols, mat, vals, blocks = validation._prepare(rr, ss, fams, dims)
    ties = [
        (validation._tie_matrices(mat[np.ix_(b, it)]), validation._tie_matrices(vals[b]))
        for b, it in blocks
    ]
    idx = Resampler(3).indices(len(wide), 25)
    rho, n = uncertainty._resample_rhos(
        multiplicities(idx, len(wide)), blocks, ties, mat.shape[1], len(cols)
    )
    for b, draw in enumerate(idx):
        for k in range(mat.shape[1]):
            x = mat[draw, k]
            ok = ~np.isnan(x)
            assert n[b, k] == ok.sum()
            for d in range(len(cols)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ref = stats.spearmanr(x[ok], vals[draw][ok, d]).statistic
                assert rho[b, k, d] == pytest.approx(ref, abs=1e-12) or (
                    np.isnan(ref) and np.isnan(rho[b, k, d])
                )


@pytest.mark.parametrize(
    "rule", [{}, {"mode": "abs"}, {"max_fdr": 0.05}, {"mode": "abs", "max_p": 0.01}]
)
def test_the_data_itself_gives_select_items_and_value_profiles(study, rule):
    st, ans = study
    res = uncertainty.selection_uncertainty(
        st["ratings"],
        st["scores"],
        ans,
        exclusions=None,
        rater_indices=np.arange(150)[None],
        answer_scale="1-5",
        **rule,
    )
    paper = {"max_fdr": None, "p_method": "t"}  # selection_uncertainty's defaults
    ref = validation.validate_items(
        st["ratings"], st["scores"], n_boot=0, **{**paper, **rule}
    ).table
    sel = res.selection
    assert (
        sel["item"].tolist() == ref["item"].tolist()
        and sel["dimension"].tolist() == ref["dimension"].tolist()
    )
    np.testing.assert_array_equal(sel.freq_selected.to_numpy(), ref.selected.to_numpy(dtype=float))
    np.testing.assert_array_equal(sel.selected, ref.selected)
    corr = ref.assign(rho=ref.rho.where(ref.selected))
    prof = scoring.value_profiles(
        ans, corr, exclusions=None, n_boot=0, mode=rule.get("mode", "pos"), scale="1-5"
    )
    got = res.profiles
    assert got[["model", "dimension"]].equals(prof[["model", "dimension"]])
    np.testing.assert_allclose(got.centered_mean, prof.centered_mean, atol=1e-12)
    np.testing.assert_allclose(
        got.sel_ci_low, prof.centered_mean, atol=1e-12
    )  # one resample: the data
    np.testing.assert_allclose(got.sel_ci_high, prof.centered_mean, atol=1e-12)
    assert res.rule == validation.selection_rule(**rule)


def test_deterministic_per_seed_and_batch_free(study):
    st, ans = study
    kw = dict(exclusions=None, families=["pvq"], n_boot=60, answer_scale="1-5")
    a = uncertainty.selection_uncertainty(st["ratings"], st["scores"], ans, seed=5, **kw)
    b = uncertainty.selection_uncertainty(st["ratings"], st["scores"], ans, seed=5, batch=7, **kw)
    c = uncertainty.selection_uncertainty(st["ratings"], st["scores"], ans, seed=6, **kw)
    for key in ("profiles", "selection"):
        pd.testing.assert_frame_equal(getattr(a, key), getattr(b, key))
    assert not a.profiles.ci_low.equals(c.profiles.ci_low)
    # the item-resampling CIs are value_profiles' own
    prof = scoring.value_profiles(
        ans,
        a.selection.assign(rho=a.selection.rho.where(a.selection.selected)),
        families=["pvq"],
        exclusions=None,
        n_boot=60,
        seed=5,
        scale="1-5",
    )
    np.testing.assert_array_equal(a.profiles.item_ci_low, prof.ci_low)


def test_selection_frequency_follows_the_ground_truth(study):
    st, ans = study
    res = uncertainty.selection_uncertainty(
        st["ratings"],
        st["scores"],
        ans,
        families=["pvq"],
        exclusions=None,
        n_boot=100,
        seed=1,
        answer_scale="1-5",
        reselect="rule",
    )
    own = res.selection.merge(
        st["truth"], on=["item", "dimension"]
    )  # each item on the value it targets
    assert own.query("loading == 0.6").freq_selected.min() >= 0.95
    assert own.query("loading == 0.0").freq_selected.max() <= 0.05
    others = res.selection.merge(
        st["truth"][["item", "dimension"]], on="item", suffixes=("", "_target")
    )
    assert others.query("dimension != dimension_target").freq_selected.mean() < 0.01


@pytest.mark.parametrize("reselect", ["rule", "same_size"])
def test_intervals_contain_the_estimate_when_selection_is_clear(reselect):
    st = simulate.synthetic_study(n_participants=300, n_items=60, loadings=(0.0, 0.7), seed=4)
    ans = _answers(st["truth"]["item"], models=[f"m{i}" for i in range(6)], seed=3)
    res = uncertainty.selection_uncertainty(
        st["ratings"],
        st["scores"],
        ans,
        families=["pvq"],
        exclusions=None,
        n_boot=150,
        seed=2,
        answer_scale="1-5",
        reselect=reselect,
    )
    p = res.profiles.dropna(subset=["centered_mean"])
    assert len(p) == 60
    for lo, hi in (
        ("ci_low", "ci_high"),
        ("sel_ci_low", "sel_ci_high"),
        ("item_ci_low", "item_ci_high"),
    ):
        assert (
            (p[lo] <= p.centered_mean + 1e-12) & (p.centered_mean <= p[hi] + 1e-12)
        ).mean() >= 0.95
    assert (p.ci_high - p.ci_low >= p.sel_ci_high - p.sel_ci_low - 1e-12).mean() >= 0.9


def test_same_size_keeps_the_number_of_items(study):
    st, ans = study
    res = uncertainty.selection_uncertainty(
        st["ratings"],
        st["scores"],
        ans,
        families=["pvq"],
        exclusions=None,
        n_boot=40,
        seed=0,
        answer_scale="1-5",
        reselect="same_size",
    )
    n_data = res.selection.groupby("dimension", sort=False).selected.sum()
    per_dim = res.profiles.groupby("dimension", sort=False).mean_n_selected.first()
    np.testing.assert_array_equal(per_dim.to_numpy(), n_data.reindex(per_dim.index).to_numpy())


def test_strata_and_bad_options(study):
    st, ans = study
    r = st["ratings"].assign(group=np.where(st["ratings"].participant < "P075", "g1", "g2"))
    a = uncertainty.selection_uncertainty(
        r,
        st["scores"],
        ans,
        families=["pvq"],
        exclusions=None,
        n_boot=20,
        seed=0,
        answer_scale="1-5",
        strata="group",
    )
    assert (a.profiles.n_boot_valid <= 20).all()
    with pytest.raises(ValueError, match="field 'nope': missing column"):
        uncertainty.selection_uncertainty(
            r, st["scores"], ans, n_boot=5, strata="nope", answer_scale="1-5"
        )
    with pytest.raises(ValueError, match="reselect"):
        uncertainty.selection_uncertainty(
            r, st["scores"], ans, n_boot=5, reselect="top", answer_scale="1-5"
        )
    with pytest.raises(ValueError, match="rater_indices"):
        uncertainty.selection_uncertainty(
            r, st["scores"], ans, rater_indices=np.zeros((2, 3), int), answer_scale="1-5"
        )
    with pytest.raises(ValueError, match="n_boot"):
        uncertainty.selection_uncertainty(r, st["scores"], ans, n_boot=0, answer_scale="1-5")


# --------------------------------------------------------------------------- released data


@pytest.fixture(scope="module")
def released():
    scores = datasets.load_participant_scores()
    ratings = datasets.load_ratings(participants=scores)
    return ratings, scores, averaging.load_average_outputs()


def _widths(p):
    w = p.assign(
        two=p.ci_high - p.ci_low,
        item=p.item_ci_high - p.item_ci_low,
        sel=p.sel_ci_high - p.sel_ci_low,
    )
    return w.groupby(["family", "dimension"], sort=False)[["two", "item", "sel"]].median()


def test_released_data_fast_and_two_stage_vs_item_widths(released):
    """559 raters, 520 items, 34 models, 200 resamples: well under a minute (about 3 s here).

    With reselection by the rule itself the resamples select about twice as many
    items as the data (the many items just under rho = 0.3 cross it), so the
    two-stage CI is not systematically wider than the item-resampling CI
    (median widths: wider for 9 of 19 dimensions). With the number of items
    held (``same_size``) the two-stage CI is wider for every dimension.
    """
    r, s, ans = released
    t0 = time.perf_counter()
    rule = uncertainty.selection_uncertainty(
        r, s, ans, n_boot=200, seed=0, scale="1-6", reselect="rule", interval="percentile"
    )
    assert time.perf_counter() - t0 < 60
    p = rule.profiles
    assert p.model.nunique() == 34 and len(p) == 34 * 19
    assert rule.selection.selected.sum() == p.groupby("dimension").n.max().sum() > 0
    per_dim = p.groupby(["family", "dimension"], sort=False).agg(
        n=("n", "max"), sel=("mean_n_selected", "first")
    )
    assert (per_dim.sel > per_dim.n).all()  # the size bias of rule reselection
    w = _widths(p)
    assert (w.sel < w.item).all()  # selection alone varies less than the items
    same = uncertainty.selection_uncertainty(
        r, s, ans, n_boot=200, seed=0, scale="1-6", reselect="same_size", interval="percentile"
    )
    w2 = _widths(same.profiles)
    assert (w2.two >= w2.item).sum() >= 17  # 19 of 19 with seed 0
    p2 = same.profiles
    inside = (p2.ci_low <= p2.centered_mean) & (p2.centered_mean <= p2.ci_high)
    assert inside.mean() > 0.97


# --------------------------------------------------------------------------- your own dimensions


def test_your_own_dimensions(study):
    """A user's own family and dimensions (not the Value Portrait ones): once a KeyError in the
    scoring step; now the same numbers as the data under the Value Portrait names."""
    st, ans = study
    mine = (
        st["scores"]
        .query("family == 'pvq'")
        .assign(family="mine", dimension=lambda d: "my_" + d["dimension"])
    )
    dims = {"mine": ["my_" + v for v in st["scores"].query("family == 'pvq'").dimension.unique()]}
    kw = dict(exclusions=None, n_boot=30, seed=4, answer_scale="1-5")
    own = uncertainty.selection_uncertainty(st["ratings"], mine, ans, dimensions=dims, **kw)
    ref = uncertainty.selection_uncertainty(
        st["ratings"], st["scores"], ans, families=["pvq"], **kw
    )
    assert set(own.profiles.family) == {"mine"} and len(own.profiles) == len(ref.profiles)
    assert (
        own.profiles.dimension.str.removeprefix("my_").tolist() == ref.profiles.dimension.tolist()
    )
    cols = ["centered_mean", "n", "ci_low", "ci_high", "sel_ci_low", "item_ci_low"]
    pd.testing.assert_frame_equal(own.profiles[cols], ref.profiles[cols])
    np.testing.assert_array_equal(own.selection.freq_selected, ref.selection.freq_selected)


# --------------------------------------------------------------------------- the interval


def test_the_default_is_same_size_reselection_with_the_expanded_interval(study):
    import inspect

    sig = inspect.signature(uncertainty.selection_uncertainty).parameters
    assert sig["reselect"].default == "same_size" and sig["interval"].default == "expanded"
    st, ans = study
    kw = dict(families=["pvq"], exclusions=None, n_boot=40, seed=2, answer_scale="1-5")
    a = uncertainty.selection_uncertainty(st["ratings"], st["scores"], ans, **kw)
    b = uncertainty.selection_uncertainty(
        st["ratings"], st["scores"], ans, reselect="same_size", interval="expanded", **kw
    )
    pd.testing.assert_frame_equal(a.profiles, b.profiles)
    pct = uncertainty.selection_uncertainty(
        st["ratings"], st["scores"], ans, interval="percentile", **kw
    ).profiles
    # the same resamples read at a higher level: the expanded interval holds the percentile one
    ok = a.profiles.n >= 2
    assert (a.profiles.ci_low[ok] <= pct.ci_low[ok] + 1e-12).all()
    assert (a.profiles.ci_high[ok] >= pct.ci_high[ok] - 1e-12).all()
    with pytest.raises(ValueError, match="interval must be one of"):
        uncertainty.selection_uncertainty(st["ratings"], st["scores"], ans, interval="bca", **kw)


@pytest.mark.parametrize("n", [3, 5, 12, 40])  # n = 2: the level rounds to 1
def test_expanded_level_turns_the_bootstrap_spread_into_the_t_interval(n):
    """Hesterberg (2015): the bootstrap SD of a mean is sqrt((n-1)/n) s/sqrt(n); read at the
    expanded level, a normal bootstrap distribution gives exactly the t interval's half-width."""
    level = uncertainty.expanded_level(n, 0.95)
    half = stats.norm.ppf((1 + level) / 2) * np.sqrt((n - 1) / n)
    assert half == pytest.approx(stats.t.ppf(0.975, n - 1), rel=1e-9)
    assert np.isnan(uncertainty.expanded_level(1))


def test_intervals_by_hand():
    rng = np.random.default_rng(0)
    boot = rng.normal(size=(400, 2, 3))
    se_boot = rng.uniform(0.5, 1.5, size=boot.shape)
    point = np.full((2, 3), 0.1)
    se0 = np.full((2, 3), 0.8)
    n = np.array([[1, 2, 5], [12, 40, 5]])
    lo, hi, _ = uncertainty._interval("expanded", boot, point, 0.95, n_items=n)
    for i, j in np.ndindex(2, 3):
        if n[i, j] < 2:
            assert np.isnan(lo[i, j]) and np.isnan(hi[i, j])
            continue
        lev = uncertainty.expanded_level(n[i, j])
        ref = np.quantile(boot[:, i, j], [(1 - lev) / 2, (1 + lev) / 2])
        np.testing.assert_allclose([lo[i, j], hi[i, j]], ref, rtol=0, atol=1e-14)
    lo, hi, _ = uncertainty._interval("studentized", boot, point, 0.95, se_boot, se0)
    t = (boot - point) / se_boot
    q = np.quantile(t, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(lo, point - q[1] * se0, atol=1e-14)
    np.testing.assert_allclose(hi, point - q[0] * se0, atol=1e-14)


def test_item_se_is_the_sd_of_the_item_resample_mean():
    """sqrt(population variance / n) of the selected (reversed where negative) answers: the
    exact SD of the item bootstrap's mean; checked by hand and against many item resamples."""
    rng = np.random.default_rng(1)
    k, d = 9, 2
    a = rng.uniform(1, 6, size=(2, k))
    a[1, 3] = np.nan  # model 2 skipped an item
    ok = (~np.isnan(a)).astype(float)
    a0, r0 = np.nan_to_num(a), np.nan_to_num(7 - a)
    w = np.zeros((1, k, d))
    w[0, [0, 2, 3, 5, 8], 0] = 1
    w[0, [1, 3, 4], 1] = 1
    sign = np.ones((1, k, d))
    sign[0, 4, 1] = -1
    se = uncertainty._item_se(w, sign, a0, r0, ok)[0]
    for m in range(2):
        x0 = a[m, [0, 2, 3, 5, 8]]
        x1 = np.array([a[m, 1], a[m, 3], 7 - a[m, 4]])
        for j, x in enumerate((x0, x1)):
            x = x[~np.isnan(x)]
            assert se[m, j] == pytest.approx(x.std() / np.sqrt(len(x)), rel=1e-12)
    x = a[0, [0, 2, 3, 5, 8]]
    draws = x[Resampler(2).indices(len(x), 40000)].mean(axis=1)
    assert se[0, 0] == pytest.approx(draws.std(), rel=0.02)
