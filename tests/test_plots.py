"""Tests of the figure functions (vp_stats.plots.validation, vp_stats.plots.profiles).

Each figure is checked on small synthetic inputs (and one real-data case) for its
structure: the number of axes and of the artists that carry the data (bars,
points, lines, cells), and that the drawn values are the input values (bar
heights, point positions, heatmap cells), so a figure that silently drops or
reorders data fails.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from vp_stats import datasets, schema, scoring, structure, validation
from vp_stats.plots import profiles as pplot
from vp_stats.plots import validation as vplot

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def syn():
    return datasets.synthetic(n_participants=80, n_items=30, n_groups=2, seed=4)


@pytest.fixture(scope="module")
def syn_corr(syn):
    return validation.item_correlations(syn["ratings"], syn["scores"])


@pytest.fixture(scope="module")
def syn_table(syn):
    return validation.validate_items(
        syn["ratings"], syn["scores"], families=["pvq"], n_boot=50, seed=1
    )


def _profiles(models=("m1", "m2", "m3", "m4"), family="pvq", seed=0):
    rng = np.random.default_rng(seed)
    dims = schema.FAMILIES[family]
    rows = [
        (m, family, d, float(v))
        for m in models
        for d, v in zip(dims, rng.normal(size=len(dims)), strict=True)
    ]
    return pd.DataFrame(rows, columns=["model", "family", "dimension", "centered_mean"])


def _tick_texts(labels):
    return [t.get_text() for t in labels]


# --------------------------------------------------------------------------- validation figures


def test_rho_distribution_panels_and_counts(syn_corr):
    fig = vplot.rho_distribution(syn_corr, threshold=0.3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    for ax, fam in zip(fig.axes, schema.FAMILY_NAMES, strict=True):
        rho = syn_corr.loc[syn_corr.family == fam, "rho"].dropna()
        # bar heights sum to the number of finite rho values of the family
        assert sum(p.get_height() for p in ax.patches) == len(rho)
        assert f"{int((rho > 0.3).sum())} of {len(rho)} pairs" in ax.get_title()
        xs = sorted(line.get_xdata()[0] for line in ax.lines)
        assert xs == [-0.3, 0.3]


def test_rho_distribution_one_family(syn_corr):
    fig = vplot.rho_distribution(syn_corr, families="bfi")
    assert len(fig.axes) == 1


def test_rho_heatmap_cells_are_rho(syn_corr):
    fig = vplot.rho_heatmap(syn_corr, family="pvq", threshold=0.3)
    assert len(fig.axes) == 2  # heatmap + colour bar
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    pvq = syn_corr[syn_corr.family == "pvq"]
    n_selected_items = pvq[pvq.rho > 0.3][["portrait_id", "option_id"]].drop_duplicates().shape[0]
    assert img.shape == (n_selected_items, 10)
    labels = _tick_texts(ax.get_yticklabels())
    first = pvq.set_index(["portrait_id", "option_id", "dimension"])["rho"]
    pid, oid = map(int, labels[0].split("/"))
    expected = [first[(pid, oid, d)] for d in schema.PVQ_VALUES]
    np.testing.assert_allclose(np.asarray(img[0]), expected)
    # every row holds at least one value above the threshold
    assert (np.nanmax(np.asarray(img), axis=1) > 0.3).all()


def test_rho_heatmap_no_selected_raises():
    c = pd.DataFrame(
        {"portrait_id": [1], "option_id": 1, "family": "bfi", "dimension": "Openness", "rho": [0.1]}
    )
    with pytest.raises(ValueError, match="rho > 0.3"):
        vplot.rho_heatmap(c, family="bfi")


def test_validated_counts_bars_match_summary(syn_corr):
    summary = validation.validated_summary(validation.select_items(syn_corr))
    fig = vplot.validated_counts(summary)
    assert len(fig.axes) == 3
    for ax, fam in zip(fig.axes, schema.FAMILY_NAMES, strict=True):
        expected = summary.loc[summary.family == fam, "n_selected"].tolist()
        assert [int(p.get_height()) for p in ax.patches] == expected
        assert len(ax.patches) == len(schema.FAMILIES[fam])


def test_strongest_items_forest(syn_table):
    fig = vplot.strongest_items_forest(syn_table, family="pvq", k=2)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert len(ax.containers) == 10  # one errorbar container per value
    assert len(ax.get_yticklabels()) == 20
    # the first point is the strongest Self_Direction item with its CI
    sd = (
        syn_table[(syn_table.dimension == "Self_Direction")]
        .sort_values("rho", ascending=False)
        .iloc[0]
    )
    line = ax.containers[0].lines[0]
    assert line.get_xdata()[0] == pytest.approx(sd.rho)
    assert (
        _tick_texts(ax.get_yticklabels())[0] == f"Self Direction  {sd.portrait_id}/{sd.option_id}"
    )


def test_reliability_plot_points(syn, syn_corr):
    from vp_stats import reliability

    rel = reliability.value_reliability(syn["ratings"], validation.select_items(syn_corr))
    fig = vplot.reliability_plot(rel, family="pvq")
    assert len(fig.axes) == 2
    for ax, stat in zip(fig.axes, ("alpha", "omega"), strict=True):
        pts = ax.collections[0].get_offsets()
        vals = rel.loc[rel.family == "pvq", stat].dropna().to_numpy(dtype=float)
        assert len(pts) == len(vals)
        np.testing.assert_allclose(np.sort(np.asarray(pts)[:, 1]), np.sort(vals))


def test_circumplex_plot_polygon_follows_order():
    pos = structure.circumplex_positions(structure.synthetic_circumplex(n_participants=300, seed=2))
    check = structure.circumplex_check(pos)
    fig = vplot.circumplex_plot(pos, check=check)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert len(ax.patches) == 1 and len(ax.texts) == 10
    verts = ax.patches[0].get_xy()[:10]
    expected = pos.set_index("dimension").loc[list(schema.PVQ_VALUES), ["x", "y"]].to_numpy()
    np.testing.assert_allclose(verts, expected)
    assert check.recovered_order.item() in ax.get_title()


def test_circumplex_plot_missing_value_raises():
    pos = pd.DataFrame({"dimension": ["Power"], "x": [1.0], "y": [0.0]})
    with pytest.raises(ValueError, match="lack dimension"):
        vplot.circumplex_plot(pos)


def test_published_vs_recomputed_highlights_group():
    k = {"portrait_id": [1, 2, 3, 4], "option_id": 1, "family": "pvq", "dimension": "Power"}
    pub = pd.DataFrame({**k, "rho": [0.1, 0.2, 0.3, 0.4]})
    rec = pd.DataFrame({**k, "rho": [0.1, 0.25, 0.3, 0.4]})
    groups = pd.DataFrame({"portrait_id": [1, 2, 3, 4], "option_id": 1, "group": [0, 0, 1, 1]})
    fig = vplot.published_vs_recomputed(pub, rec, groups, highlight_group=0)
    ax = fig.axes[0]
    other, hi = ax.collections
    np.testing.assert_allclose(np.asarray(hi.get_offsets()), [[0.1, 0.1], [0.2, 0.25]])
    assert len(other.get_offsets()) == 2
    assert ax.get_title() == "1 of 4 rows differ; 1 of them in group 0"


def test_published_vs_recomputed_real_group0():
    scores = datasets.load_participant_scores()
    ratings = datasets.load_ratings(participants=scores)
    rec = validation.item_correlations(ratings, scores)
    pub = datasets.load_published_correlations()
    groups = ratings[["portrait_id", "option_id", "group"]].drop_duplicates()
    fig = vplot.published_vs_recomputed(pub, rec, groups)
    # the known group-0 finding: 598 of 9,880 rows differ, all in group 0 (40 items x 19 dimensions)
    assert fig.axes[0].get_title() == "598 of 9880 rows differ; 598 of them in group 0"
    assert len(fig.axes[0].collections[1].get_offsets()) == 40 * 19


# --------------------------------------------------------------------------- profile figures


@pytest.mark.parametrize("family", schema.FAMILY_NAMES)
def test_profile_heatmap_families(family):
    p = _profiles(family=family)
    fig = pplot.profile_heatmap(p, family=family)
    assert len(fig.axes) == 2
    img = np.asarray(fig.axes[0].images[0].get_array())
    assert img.shape == (4, len(schema.FAMILIES[family]))
    expected = p.pivot(index="model", columns="dimension", values="centered_mean").loc[
        ["m1", "m2", "m3", "m4"], list(schema.FAMILIES[family])
    ]
    np.testing.assert_allclose(img, expected.to_numpy())


def test_profile_heatmap_cluster_order_and_highlight():
    p = _profiles()
    order = pd.DataFrame(
        {"model": ["m3", "m1", "m4", "m2"], "cluster": [2, 2, 1, 1], "leaf_order": [0, 1, 2, 3]}
    )
    fig = pplot.profile_heatmap(p, order=order, highlight="m4")
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == ["m3", "m1", "m4", "m2"]
    assert [line.get_ydata()[0] for line in ax.lines] == [1.5]  # one cluster boundary
    assert sorted(t.get_text() for t in ax.texts) == ["C1", "C2"]
    assert len(ax.patches) == 1 and ax.patches[0].get_y() == pytest.approx(1.5)


def test_profile_heatmap_real_cluster_order():
    prof = scoring.score_released_models(n_boot=0)
    cl = scoring.cluster_models(prof, n_clusters=4)
    fig = pplot.profile_heatmap(prof, family="pvq", order=cl)
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == cl.model.tolist()
    assert np.asarray(ax.images[0].get_array()).shape == (34, 10)
    assert len(ax.lines) == 3  # four clusters, three boundaries


def test_profile_heatmap_errors():
    p = _profiles()
    with pytest.raises(ValueError, match="unknown family"):
        pplot.profile_heatmap(p, family="nope")
    with pytest.raises(ValueError, match="without a profile"):
        pplot.profile_heatmap(p, order=["m1", "zz"])
    with pytest.raises(ValueError, match="more than one row"):
        pplot.profile_heatmap(pd.concat([p, p]))


@pytest.mark.parametrize("error", ["sd", "ci"])
def test_value_ranking_bars(error):
    p = _profiles(models=[f"m{i}" for i in range(6)])
    fig = pplot.value_ranking(p, error=error, ci=0.9)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert len(ax.patches) == 10
    mean = p.groupby("dimension").centered_mean.mean().sort_values(ascending=False)
    np.testing.assert_allclose([b.get_width() for b in ax.patches], mean.to_numpy())
    assert _tick_texts(ax.get_yticklabels()) == [d.replace("_", " ") for d in mean.index]
    # error bar half-width: SD (ddof 1) or the t interval (scipy reference)
    from scipy import stats

    sd = p.groupby("dimension").centered_mean.std(ddof=1)[mean.index].to_numpy()
    half = sd if error == "sd" else stats.t.ppf(0.95, 5) * sd / np.sqrt(6)
    from matplotlib.container import ErrorbarContainer

    eb = [c for c in ax.containers if isinstance(c, ErrorbarContainer)][0]
    segs = eb.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 0] - s[0, 0] for s in segs], 2 * half)


def test_variant_profile_lines():
    rows = []
    for v in schema.VARIANTS:
        q = _profiles(models=("a", "b", "c"), seed=hash(v) % 100).assign(variant=v)
        rows.append(q)
    vprof = pd.concat(rows)
    fig = pplot.variant_profile_lines(vprof, ["a", "b", "c"], ncols=2)
    assert len(fig.axes) == 3  # the unused fourth cell is removed
    data_lines = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) == 10]
    assert len(data_lines) == 6
    assert sum(ln.get_linestyle() == "--" for ln in data_lines) == 3
    with pytest.raises(ValueError, match="no pvq profile"):
        pplot.variant_profile_lines(vprof, ["zz"])


def test_variant_agreement_plot():
    a = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "icc_2_1": [0.5, 0.9, np.nan],
            "mean_pairwise_spearman": [0.4, 0.8, np.nan],
        }
    )
    fig = pplot.variant_agreement_plot(a, highlight="b")
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == ["b", "a", "c"]
    assert list(ax.lines[0].get_xdata()[:2]) == [0.9, 0.5]
    assert ax.get_yticklabels()[0].get_color() == pplot.HIGHLIGHT


def test_reversal_plot_real():
    from vp_stats import averaging

    wide = averaging.load_average_outputs(["mistral-tiny", "gemini-flash-1.5"])
    rev = scoring.reversal_effect(wide)
    fig = pplot.reversal_plot(rev)
    assert len(fig.axes) == 2
    ax1, ax2 = fig.axes
    pts = [ln for ln in ax1.lines if ln.get_marker() == "o"]
    assert len(pts) == rev.wording.nunique()
    assert sum(len(ln.get_xdata()) for ln in pts) == len(rev)  # gemini-flash-1.5 ran v1 only
    np.testing.assert_allclose(
        np.sort(np.concatenate([ln.get_xdata() for ln in ax2.lines])),
        np.sort(rev.share_changed.to_numpy()),
    )


def test_threshold_plot():
    s = pd.DataFrame(
        {"threshold": [0.2, 0.3, 0.4] * 3, "model": np.repeat(["a", "b", "c"], 3),
         "spearman_vs_reference": [0.8, 1, 0.6, 0.9, 1, 0.7, 0.5, 1, 0.4], "n_items_min": [30, 12, 3] * 3}
    )  # fmt: skip
    fig = pplot.threshold_plot(s, highlight="c")
    ax = fig.axes[0]
    med = [ln for ln in ax.lines if ln.get_label() == "median over models"][0]
    np.testing.assert_allclose(med.get_ydata(), [0.8, 1.0, 0.6])
    assert [ln for ln in ax.lines if ln.get_label() == "c"][0].get_color() == pplot.HIGHLIGHT
    assert sum(ln.get_color() == "0.7" for ln in ax.lines) == 2


def test_overlay_model_lines_and_heatmap():
    p = _profiles()
    extra = _profiles(models=("local",), seed=9).assign(ci_low=-1.0, ci_high=1.0)
    fig = pplot.overlay_model(p, extra, family="pvq")
    ax = fig.axes[0]
    red = [ln for ln in ax.lines if ln.get_label() == "local"][0]
    np.testing.assert_allclose(red.get_ydata(), extra.centered_mean.to_numpy())
    assert sum(ln.get_color() == "0.75" for ln in ax.lines) == 4
    assert len(ax.collections) == 1  # the CI band
    fig = pplot.overlay_model(p, extra, kind="heatmap", order=["m2", "m1", "m3", "m4"])
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == ["m2", "m1", "m3", "m4", "local"]
    assert ax.patches[0].get_y() == pytest.approx(3.5)


def test_overlay_model_rejects_known_or_several_models():
    p = _profiles()
    with pytest.raises(ValueError, match="already among"):
        pplot.overlay_model(p, p[p.model == "m1"])
    with pytest.raises(ValueError, match="exactly one model"):
        pplot.overlay_model(p, p[p.model.isin(["m1", "m2"])].assign(model=lambda d: d.model + "x"))
