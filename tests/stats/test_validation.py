"""Item validation: the engine against scipy and against every published row (both procedures)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vp_stats import schema, tables
from vp_stats.errors import DataError
from vp_stats.io import datasets
from vp_stats.stats import simulate, validation
from vp_stats.studies import released

KEYS = ["portrait_id", "option_id", "family", "dimension"]


@pytest.fixture(scope="module")
def real():
    scores = datasets.load_participant_scores()
    ratings = datasets.load_ratings(participants=scores)
    return ratings, scores


@pytest.fixture(scope="module")
def published():
    return datasets.load_published_correlations()


def _compare(ours, pub):
    m = ours.merge(pub, on=KEYS, suffixes=("", "_pub"), validate="one_to_one")
    assert len(m) == len(pub) == 9880
    m["d_rho"] = (m.rho - m.rho_pub).abs()
    m["d_p"] = (m.p_value - m.p_value_pub).abs()
    return m


def test_upstream_procedure_reproduces_every_published_row(real, published):
    """All 9,880 published rows (5,200 + 2,080 + 2,600) to 1e-12 in rho and p.

    The published tables pair P186's 40 group-0 ratings with a value record that the
    released value.json no longer holds (see validation.UPSTREAM_PROCEDURE_NOTE).
    """
    r, s = validation.apply_procedure(*real, "upstream")
    m = _compare(validation.item_correlations(r, s), published)
    assert m.groupby("family").size().to_dict() == {"pvq": 5200, "higher_pvq": 2080, "bfi": 2600}
    assert m.d_rho.max() < 1e-12
    assert m.d_p.max() < 1e-12


def test_correct_procedure_differs_only_in_group_0(real, published):
    """Recomputed from the released files: 9,282 rows equal; the 598 others are group-0 items."""
    ratings, scores = real
    m = _compare(validation.item_correlations(ratings, scores), published)
    group = ratings.groupby(["portrait_id", "option_id"]).group.first().rename("group")
    m = m.join(group, on=["portrait_id", "option_id"])
    off = m.d_rho > 1e-12
    assert int(off.sum()) == 598
    assert set(m.loc[off, "group"]) == {0}
    assert m.loc[m.group != 0, "d_rho"].max() < 1e-12
    assert m.loc[m.group != 0, "d_p"].max() < 1e-12
    assert off.groupby(m.family).sum().to_dict() == {"bfi": 80, "higher_pvq": 120, "pvq": 398}
    # the group-0 rows differ by up to 0.125 in rho
    assert 0.12 < m.d_rho.max() < 0.13


def test_p186_group0_record_is_a_valid_pvq_profile():
    rec = validation.upstream_p186_group0().set_index("dimension")["score"]
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES])
    pvq = rec[list(schema.PVQ_VALUES)].to_numpy()
    assert abs(pvq @ w) < 1e-12  # MRAT centring identity
    for h, members in schema.HIGHER_ORDER_MAP.items():
        ww = np.array([len(schema.PVQ21_KEY[v]) for v in members])
        assert abs(rec[h] - rec[list(members)].to_numpy() @ ww / ww.sum()) < 1e-12


def test_engine_equals_scipy_item_by_item(real):
    ratings, scores = real
    corr = validation.item_correlations(ratings, scores)
    rng = np.random.default_rng(0)
    items = ratings[["portrait_id", "option_id"]].drop_duplicates().to_numpy()
    wide = {f: tables.participant_matrix(scores, f) for f in schema.FAMILY_NAMES}
    for portrait, option in items[rng.choice(len(items), 25, replace=False)]:
        it = ratings[(ratings.portrait_id == portrait) & (ratings.option_id == option)]
        for fam, dims in schema.FAMILIES.items():
            for dim in dims:
                ref = stats.spearmanr(it.rating, wide[fam].loc[it.participant, dim])
                row = corr[
                    (corr.portrait_id == portrait)
                    & (corr.option_id == option)
                    & (corr.dimension == dim)
                ]
                assert abs(row.rho.item() - ref.statistic) < 1e-13
                assert abs(row.p_value.item() - ref.pvalue) < 1e-13
                assert row.n.item() == len(it)


def test_engine_handles_different_rater_sets_and_constant_items():
    syn = simulate.synthetic(n_participants=90, n_items=20, n_groups=3, seed=5)
    r = syn["ratings"]
    # drop a few ratings so rater sets differ within a group, and make one item constant
    r = r.drop(index=[0, 1, 500]).reset_index(drop=True)
    const = (r.portrait_id == 1004) & (r.option_id == 2)
    r.loc[const, "rating"] = 3
    corr = validation.item_correlations(r, syn["scores"], families=["pvq"])
    wide = tables.participant_matrix(syn["scores"], "pvq")
    for (p, o), it in r.groupby(["portrait_id", "option_id"]):
        for dim in ("Power", "Benevolence"):
            row = corr[(corr.portrait_id == p) & (corr.option_id == o) & (corr.dimension == dim)]
            if it.rating.nunique() == 1:
                assert np.isnan(row.rho.item())
                continue
            ref = stats.spearmanr(it.rating, wide.loc[it.participant, dim])
            assert abs(row.rho.item() - ref.statistic) < 1e-13 and row.n.item() == len(it)
    sel = validation.select_items(corr)
    assert not sel[(sel.portrait_id == 1004) & (sel.option_id == 2)].selected.any()


def test_synthetic_ground_truth_is_recovered():
    syn = simulate.synthetic(n_participants=400, n_items=30, loading=0.7, seed=11)
    sel = validation.select_items(
        validation.item_correlations(syn["ratings"], syn["scores"], ["pvq"])
    )
    truth = syn["truth"].assign(true=True)
    m = sel.merge(
        truth[["portrait_id", "option_id", "dimension", "true"]],
        on=["portrait_id", "option_id", "dimension"],
        how="left",
    )
    m["true"] = m["true"].fillna(False).astype(bool)
    assert m.loc[m.true, "selected"].all()  # every true pair found
    assert m.loc[~m.true, "selected"].mean() < 0.02  # few false positives


def test_fdr_matches_hand_worked_bh():
    df = pd.DataFrame(
        {"family": ["pvq"] * 5 + ["bfi"] * 2, "p_value": [0.01, 0.02, 0.03, 0.04, 0.5, 0.02, 0.04]}
    )
    out = validation.add_fdr(df)
    # BH: p_(i) * m / i, then the running minimum from the top; per family
    assert np.allclose(out.p_fdr[:5], [0.05, 0.05, 0.05, 0.05, 0.5])
    assert np.allclose(out.p_fdr[5:], [0.04, 0.04])


def test_fdr_equals_statsmodels_on_real_p_values(real):
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    corr = validation.add_fdr(validation.item_correlations(*real))
    for _fam, sub in corr.groupby("family"):
        ref = multitest.multipletests(sub.p_value, method="fdr_bh")[1]
        assert np.abs(sub.p_fdr.to_numpy() - ref).max() < 1e-12


def test_bootstrap_equals_naive_resampling():
    """The multiplicity trick gives exactly the rho of the materialised resample."""
    rng = np.random.default_rng(3)
    n = 30
    x = rng.integers(1, 7, size=(n, 4)).astype(float)
    y = np.round(rng.normal(size=(n, 3)), 1)  # with ties
    idx = rng.integers(0, n, size=(50, n))
    fast = validation._weighted_rank_corr(
        validation._multiplicities(idx, n), validation._tie_matrices(x), validation._tie_matrices(y)
    )
    for b in range(50):
        for k in range(4):
            for d in range(3):
                ref = stats.spearmanr(x[idx[b], k], y[idx[b], d]).statistic
                assert abs(fast[b, k, d] - ref) < 1e-12 or (
                    np.isnan(ref) and np.isnan(fast[b, k, d])
                )


def test_bootstrap_is_seeded_and_covers_the_estimate():
    syn = simulate.synthetic(n_participants=120, n_items=10, seed=2)
    a = validation.bootstrap_ci(syn["ratings"], syn["scores"], ["pvq"], n_boot=300, seed=1)
    b = validation.bootstrap_ci(syn["ratings"], syn["scores"], ["pvq"], n_boot=300, seed=1, batch=7)
    c = validation.bootstrap_ci(syn["ratings"], syn["scores"], ["pvq"], n_boot=300, seed=2)
    pd.testing.assert_frame_equal(a, b)  # batch size does not change results
    assert not a.ci_low.equals(c.ci_low)
    corr = validation.item_correlations(syn["ratings"], syn["scores"], ["pvq"]).merge(a, on=KEYS)
    inside = (corr.ci_low <= corr.rho) & (corr.rho <= corr.ci_high)
    assert inside.mean() > 0.97
    assert (corr.n_boot_valid == 300).all()


def test_selection_modes_threshold_and_exclusions():
    c = pd.DataFrame(
        {"portrait_id": [1001, 1001, 1002, 1003, 3902], "option_id": [1, 2, 1, 1, 4],
         "dimension": ["Power", "Power", "Power", "Power", "Achievement"],
         "rho": [0.31, -0.5, 0.3, 0.2, 0.6]}
    )  # fmt: skip
    assert validation.select_items(c).selected.tolist() == [True, False, False, False, True]
    assert validation.select_items(c, mode="neg").selected.tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert validation.select_items(c, mode="abs").sign.tolist() == [1, -1, 0, 0, 1]
    assert validation.select_items(c, threshold=0.15).selected.tolist() == [
        True,
        False,
        True,
        True,
        True,
    ]
    ex = validation.select_items(c, exclusions=validation.upstream_exclusions())
    assert ex.selected.tolist() == [True, False, False, False, False] and ex.excluded.tolist()[-1]
    with pytest.raises(ValueError, match="mode must be one of"):
        validation.select_items(c, mode="both")


def test_published_selection_counts(published):
    """Published scoring rule (rho > 0.3, positive, upstream exclusions) on the published table."""
    sel = validation.select_items(published, exclusions=validation.upstream_exclusions())
    summary = validation.validated_summary(sel).set_index("dimension").n_selected
    assert summary.sum() == int(sel.selected.sum())
    assert (summary > 0).all()
    assert int(sel.excluded.sum()) == 3


def test_validate_data_table_columns_and_determinism():
    a = released.validate_data(n_boot=20, seed=4).table
    b = released.validate_data(n_boot=20, seed=4).table
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [
        "item",
        "portrait_id",
        "option_id",
        "family",
        "dimension",
        "rho",
        "p_value",
        "n",
        "p_fdr",
        "ci_low",
        "ci_high",
        "selected",
    ]
    assert set(a.dimension) >= {"Self_Direction", "Self_Transcendence", "Openness"}


def test_unknown_procedure_and_missing_scores(real):
    ratings, scores = real
    with pytest.raises(ValueError, match="procedure must be"):
        validation.apply_procedure(ratings, scores, "published")
    with pytest.raises(ValueError, match=r"rater\(s\) have no scores"):
        validation.item_correlations(ratings, scores[scores.participant != "P506"])


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "BASE_URL", "http://127.0.0.1:9/")
    with pytest.raises(
        DataError,
        match=r"'LICENSE' is not in the data directory .* could not be downloaded",
    ):
        datasets.fetch("LICENSE", data_dir=tmp_path)


def test_bootstrap_and_engine_refuse_raters_without_scores_and_duplicate_scores():
    syn = simulate.synthetic(n_participants=40, n_items=5, seed=3)
    scores = syn["scores"][syn["scores"].participant != "S0003"]
    with pytest.raises(ValueError, match=r"rater\(s\) have no scores"):
        validation.bootstrap_ci(syn["ratings"], scores, ["pvq"], n_boot=10)
    dup = pd.concat(
        [syn["scores"], syn["scores"][syn["scores"].participant == "S0001"].assign(score=99.0)]
    )
    with pytest.raises(ValueError, match="S0001 has more than one pvq score"):
        validation.item_correlations(syn["ratings"], dup, ["pvq"])


# --------------------------------------------------------------------------- validated once


def test_the_study_path_validates_once_and_reproduces_every_published_row(published, monkeypatch):
    """load_study runs the contracts; validate_items(validated=True) does not run them again."""
    from vp_stats.studies import validate as study

    r, s, info = study.load_study(procedure="upstream")
    calls = []
    monkeypatch.setattr(tables, "ratings_table", lambda *a, **k: calls.append("ratings"))
    monkeypatch.setattr(tables, "scores_table", lambda *a, **k: calls.append("scores"))
    res = validation.validate_items(
        r, s, n_boot=0, scale=info["scale_obj"], validated=True, p_method="t", max_fdr=None
    )  # the paper's p-values and rule, explicitly
    assert calls == []
    m = _compare(res.table, published)
    assert m.d_rho.max() < 1e-12
    assert m.d_p.max() < 1e-12


def test_validated_tables_give_the_same_table():
    syn = simulate.synthetic(n_participants=60, n_items=8, seed=5)
    r, s = tables.ratings_table(syn["ratings"]).table, tables.scores_table(syn["scores"])
    a = validation.validate_items(syn["ratings"], syn["scores"], n_boot=30, seed=2)
    b = validation.validate_items(r, s, n_boot=30, seed=2, validated=True)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.rule, a.scale) == (b.rule, b.scale)
    with pytest.raises(tables.TableError, match="field 'participant': missing column"):
        validation.item_correlations(
            syn["ratings"].rename(columns={"participant": "rater"}), s, validated=True
        )


def test_ranks_p_values_and_bh_equal_scipy_stats_bit_for_bit():
    # the engine uses pandas' rank, scipy.special.stdtr and a written-out BH instead of importing
    # scipy.stats (0.9 s of start-up): the numbers are scipy.stats' own
    from scipy import stats

    rng = np.random.default_rng(5)
    x = rng.integers(1, 7, size=(40, 6)).astype(float)
    x[3, 2] = np.nan  # a column with a NaN is all NaN, as rankdata's nan_policy="propagate"
    np.testing.assert_array_equal(validation._rank_columns(x), stats.rankdata(x, axis=0))
    rho, n = rng.uniform(-1, 1, size=200), rng.integers(3, 60, size=200)
    t = rho * np.sqrt((n - 2) / ((rho + 1.0) * (1.0 - rho)))
    np.testing.assert_array_equal(
        validation.spearman_pvalue(rho, n), 2 * stats.t.sf(np.abs(t), n - 2)
    )
    for m in (1, 2, 7, 520):
        p = rng.uniform(size=m) ** 3
        p[::5] = p[0]  # ties
        np.testing.assert_array_equal(
            validation._bh(p), stats.false_discovery_control(p, method="bh")
        )
