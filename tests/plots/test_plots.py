"""Tests of the figure functions (vp_stats.plots.validation, vp_stats.plots.profiles, base).

Each figure is checked on small synthetic inputs (and one real-data case) for its
structure: the number of axes and of the artists that carry the data (bars,
points, lines, cells), and that the drawn values are the input values (bar
heights, point positions, heatmap cells), so a figure that silently drops or
reorders data fails.

Axes-level functions return the Axes they drew on (``ax.figure`` is the figure);
figure-level ones return the Figure. Heatmaps are seaborn's: the cells are a
QuadMesh (``_cells``) and row ``i`` spans ``i .. i + 1`` from the top, so positions
are converted to row-centre coordinates (``_row``) before the assertions, which
are written in those. Every file written goes to pytest's ``tmp_path``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vp_stats import schema
from vp_stats.io import datasets, figures
from vp_stats.plots import base
from vp_stats.plots import compass as cplot
from vp_stats.plots import personas as ppplot
from vp_stats.plots import profiles as pplot
from vp_stats.plots import svo as splot
from vp_stats.plots import validation as vplot
from vp_stats.stats import scoring, simulate, structure, validation
from vp_stats.studies import released


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def syn():
    return simulate.synthetic(n_participants=80, n_items=30, n_groups=2, seed=4)


@pytest.fixture(scope="module")
def syn_corr(syn):
    return validation.item_correlations(syn["ratings"], syn["scores"])


@pytest.fixture(scope="module")
def syn_table(syn):
    return validation.validate_items(
        syn["ratings"], syn["scores"], families=["pvq"], n_boot=50, seed=1
    ).table


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


def _cells(ax):
    """The heatmap cells drawn on ``ax`` (rows x columns)."""
    return base.heatmap_cells(ax)


def _row(y):
    """A seaborn heatmap y position (row i spans i .. i + 1) in row-centre coordinates."""
    return y - 0.5


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
    ax = vplot.rho_heatmap(syn_corr, family="pvq", threshold=0.3)
    fig = ax.figure
    assert len(fig.axes) == 2  # heatmap + colour bar
    assert fig.axes[0] is ax
    img = _cells(ax)
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
    ax = vplot.strongest_items_forest(syn_table, family="pvq", k=2)
    fig = ax.figure
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
    from vp_stats.stats import reliability

    rel = reliability.value_reliability(syn["ratings"], validation.select_items(syn_corr))
    fig = vplot.reliability_plot(rel, family="pvq")
    assert len(fig.axes) == 2
    for ax, stat in zip(fig.axes, ("alpha", "omega"), strict=True):
        pts = ax.collections[0].get_offsets()
        vals = rel.loc[rel.family == "pvq", stat].dropna().to_numpy(dtype=float)
        assert len(pts) == len(vals)
        np.testing.assert_allclose(np.sort(np.asarray(pts)[:, 1]), np.sort(vals))
    # the key of point size, median bar and 0.7 line, once, right of the top panel
    legend = fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[-2:] == ["median over groups", "0.7"]
    assert all(t.startswith("a group, ") for t in labels[:-2]) and fig.axes[1].get_legend() is None
    sizes = [h.get_markersize() ** 2 / 8.0 for h in legend.legend_handles[:-2]]
    n_items = [int(t.split(", ")[1].split()[0]) for t in labels[:-2]]
    np.testing.assert_allclose(sizes, n_items)  # marker area 8 * n_items, as the points


def test_circumplex_plot_polygon_follows_order():
    pos = structure.circumplex_positions(structure.synthetic_circumplex(n_participants=300, seed=2))
    check = structure.circumplex_check(pos)
    ax = vplot.circumplex_plot(pos, check=check)
    fig = ax.figure
    assert len(fig.axes) == 1
    assert len(ax.patches) == 1 and len(ax.texts) == 10
    verts = ax.patches[0].get_xy()[:10]
    expected = pos.set_index("dimension").loc[list(schema.PVQ_VALUES), ["x", "y"]].to_numpy()
    np.testing.assert_allclose(verts, expected)
    assert check.recovered_order.item() in ax.get_title()
    # every code of the title is keyed by the point labels: "Self Direction (SD)", ...
    texts = {t.get_text() for t in ax.texts}
    assert texts == {f"{d.replace('_', ' ')} ({schema.PVQ_ABBREV[d]})" for d in schema.PVQ_VALUES}


def test_circumplex_plot_missing_value_raises():
    pos = pd.DataFrame({"dimension": ["Power"], "x": [1.0], "y": [0.0]})
    with pytest.raises(ValueError, match="lack dimension"):
        vplot.circumplex_plot(pos)


def test_published_vs_recomputed_highlights_group():
    k = {"portrait_id": [1, 2, 3, 4], "option_id": 1, "family": "pvq", "dimension": "Power"}
    pub = pd.DataFrame({**k, "rho": [0.1, 0.2, 0.3, 0.4]})
    rec = pd.DataFrame({**k, "rho": [0.1, 0.25, 0.3, 0.4]})
    groups = pd.DataFrame({"portrait_id": [1, 2, 3, 4], "option_id": 1, "group": [0, 0, 1, 1]})
    ax = vplot.published_vs_recomputed(pub, rec, groups, highlight_group=0)
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
    fig = vplot.published_vs_recomputed(pub, rec, groups).figure
    # the known group-0 finding: 598 of 9,880 rows differ, all in group 0 (40 items x 19 dimensions)
    assert fig.axes[0].get_title() == "598 of 9880 rows differ; 598 of them in group 0"
    assert len(fig.axes[0].collections[1].get_offsets()) == 40 * 19


# --------------------------------------------------------------------------- profile figures


@pytest.mark.parametrize("family", schema.FAMILY_NAMES)
def test_profile_heatmap_families(family):
    p = _profiles(family=family)
    fig = pplot.profile_heatmap(p, family=family).figure
    assert len(fig.axes) == 2
    img = np.asarray(_cells(fig.axes[0]))
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
    ax = pplot.profile_heatmap(p, order=order, highlight="m4")
    assert _tick_texts(ax.get_yticklabels()) == ["m3", "m1", "m4", "m2"]
    assert [_row(line.get_ydata()[0]) for line in ax.lines] == [1.5]  # one cluster boundary
    assert sorted(t.get_text() for t in ax.texts) == ["C1", "C2"]
    assert "C1-C2: clusters of models with similar profiles" in ax.get_title()  # what a C is
    assert len(ax.patches) == 1 and _row(ax.patches[0].get_y()) == pytest.approx(1.5)


def test_profile_heatmap_real_cluster_order():
    prof = released.score_released_models(n_boot=0)
    cl = scoring.cluster_models(prof, n_clusters=4)
    ax = pplot.profile_heatmap(prof, family="pvq", order=cl)
    assert _tick_texts(ax.get_yticklabels()) == cl.model.tolist()
    assert np.asarray(_cells(ax)).shape == (34, 10)
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
    ax = pplot.value_ranking(p, error=error, ci=0.9)
    fig = ax.figure
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
    # one key for all panels, outside them (a figure legend), none on a panel
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(schema.VARIANTS)
    assert all(ax.get_legend() is None for ax in fig.axes)
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
    ax = pplot.variant_agreement_plot(a, highlight="b")
    assert _tick_texts(ax.get_yticklabels()) == ["b", "a", "c"]
    assert list(ax.lines[0].get_xdata()[:2]) == [0.9, 0.5]
    assert ax.get_yticklabels()[0].get_color() == pplot.HIGHLIGHT


def test_reversal_plot_real():
    from vp_stats.io import averaging

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
        {
            "threshold": [0.2, 0.3, 0.4] * 3,
            "model": np.repeat(["a", "b", "c"], 3),
            "spearman_vs_reference": [0.8, 1, 0.6, 0.9, 1, 0.7, 0.5, 1, 0.4],
            "n_items_min": [30, 12, 3] * 3,
        }
    )
    ax = pplot.threshold_plot(s, highlight="c")
    med = [ln for ln in ax.lines if ln.get_label() == "median over models"][0]
    np.testing.assert_allclose(med.get_ydata(), [0.8, 1.0, 0.6])
    assert [ln for ln in ax.lines if ln.get_label() == "c"][0].get_color() == pplot.HIGHLIGHT
    assert sum(ln.get_color() == "0.7" for ln in ax.lines) == 2


def test_overlay_model_lines_and_heatmap():
    p = _profiles()
    extra = _profiles(models=("local",), seed=9).assign(ci_low=-1.0, ci_high=1.0)
    ax = pplot.overlay_model(p, extra, family="pvq")
    red = [ln for ln in ax.lines if ln.get_label() == "local"][0]
    np.testing.assert_allclose(red.get_ydata(), extra.centered_mean.to_numpy())
    assert sum(ln.get_color() == "0.75" for ln in ax.lines) == 4
    assert len(ax.collections) == 1  # the CI band
    ax = pplot.overlay_model(p, extra, kind="heatmap", order=["m2", "m1", "m3", "m4"])
    assert _tick_texts(ax.get_yticklabels()) == ["m2", "m1", "m3", "m4", "local"]
    assert _row(ax.patches[0].get_y()) == pytest.approx(3.5)


def test_overlay_model_rejects_known_or_several_models():
    p = _profiles()
    with pytest.raises(ValueError, match="already among"):
        pplot.overlay_model(p, p[p.model == "m1"])
    with pytest.raises(ValueError, match="exactly one model"):
        pplot.overlay_model(p, p[p.model.isin(["m1", "m2"])].assign(model=lambda d: d.model + "x"))


# ------------------------------------------------------------------------ axes-level / figure-level

MODULES = (vplot, pplot, cplot, ppplot, splot)
FIGURE_LEVEL = {
    "rho_distribution",
    "validated_counts",
    "reliability_plot",
    "variant_profile_lines",
    "reversal_plot",
    "svo_ring",
    "rationality_bars",
    "consistency_bars",
    "item_level_plot",
    "structure_plot",
}


def _public_functions():
    import inspect

    for mod in MODULES:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield mod, name, obj


def test_every_plot_function_is_axes_or_figure_level():
    import inspect

    seen = set()
    for mod, name, fn in _public_functions():
        seen.add(name)
        sig = inspect.signature(fn)
        if name in FIGURE_LEVEL:
            assert sig.return_annotation in (Figure, "Figure"), f"{mod.__name__}.{name}"
        else:
            assert "ax" in sig.parameters, f"{mod.__name__}.{name} takes no ax="
            assert sig.return_annotation in (Axes, "Axes"), f"{mod.__name__}.{name}"
    assert FIGURE_LEVEL <= seen


def _inputs(syn_corr, syn_table):
    """One small call per axes-level function: name -> callable(ax)."""
    summary = validation.validated_summary(validation.select_items(syn_corr))
    rel = pd.DataFrame(
        {
            "family": "pvq",
            "dimension": ["Power", "Power", "Security"],
            "group": [0, 1, 0],
            "n_items": [3, 2, 4],
            "alpha": [0.7, 0.5, 0.8],
        }
    )
    a = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    pos = pd.DataFrame({"dimension": schema.PVQ_VALUES, "x": np.cos(a), "y": np.sin(a)})
    p = _profiles()
    vprof = pd.concat([_profiles(seed=i).assign(variant=v) for i, v in enumerate(schema.VARIANTS)])
    rev = pd.DataFrame(
        {
            "model": ["a", "a", "b"],
            "wording": ["v1", "v2", "v1"],
            "mean_shift": [0.5, 0.1, -0.2],
            "share_changed": [0.5, 0.2, 0.1],
        }
    )
    sens = pd.DataFrame(
        {
            "threshold": [0.2, 0.3] * 2,
            "model": ["a", "a", "b", "b"],
            "spearman_vs_reference": [0.8, 1, 0.9, 1],
            "n_items_min": [30, 12] * 2,
        }
    )
    comp = pd.DataFrame(
        {
            "group": ["g", "g", "h", "h"],
            "model": ["a", "b"] * 2,
            "weighted_composite": [0.1, 0.2, 0.3, -0.1],
            "weighted_rank": [2, 1, 1, 2],
        }
    )
    item = pd.DataFrame(
        {
            "source": ["Reddit", "LMSYS"],
            "mean_persona": [4.0, 5.0],
            "mean_human": [3.5, 4.0],
            "sd_persona": [0.2, 0.3],
            "sd_human": [1.2, 1.4],
            "js_distance": [0.4, 0.5],
        }
    )
    corr_m = pd.DataFrame(
        np.eye(3), index=list(schema.PVQ_VALUES[:3]), columns=list(schema.PVQ_VALUES[:3])
    )
    runs = pd.DataFrame({"target": ["prosocial", "competitive"], "svo_angle": [30.0, -10.0]})
    return {
        "rho_histogram": lambda ax: vplot.rho_histogram(syn_corr, ax=ax),
        "rho_heatmap": lambda ax: vplot.rho_heatmap(syn_corr, ax=ax),
        "validated_bars": lambda ax: vplot.validated_bars(summary, ax=ax),
        "strongest_items_forest": lambda ax: vplot.strongest_items_forest(syn_table, ax=ax),
        "reliability_strip": lambda ax: vplot.reliability_strip(rel, ax=ax),
        "circumplex_plot": lambda ax: vplot.circumplex_plot(pos, ax=ax),
        "published_vs_recomputed": lambda ax: vplot.published_vs_recomputed(
            syn_corr, syn_corr, ax=ax
        ),
        "rho_by_loading": lambda ax: vplot.rho_by_loading(
            pd.DataFrame({"loading": [0, 0.6], "rho": [0.0, 0.5], "selected": [False, True]}), ax=ax
        ),
        "profile_heatmap": lambda ax: pplot.profile_heatmap(p, ax=ax),
        "value_ranking": lambda ax: pplot.value_ranking(p, ax=ax),
        "variant_lines": lambda ax: pplot.variant_lines(vprof, "m1", ax=ax),
        "variant_agreement_plot": lambda ax: pplot.variant_agreement_plot(
            pd.DataFrame({"model": ["a"], "icc_2_1": [0.9], "mean_pairwise_spearman": [0.8]}), ax=ax
        ),
        "reversal_points": lambda ax: pplot.reversal_points(rev, ax=ax),
        "threshold_plot": lambda ax: pplot.threshold_plot(sens, ax=ax),
        "overlay_model": lambda ax: pplot.overlay_model(p, _profiles(models=("x",), seed=3), ax=ax),
        "agreement_heatmap": lambda ax: cplot.agreement_heatmap(comp, ax=ax),
        "ranking_plot": lambda ax: cplot.ranking_plot(
            comp[comp.group == "g"], "weighted_composite", ax=ax
        ),
        "rank_change_plot": lambda ax: cplot.rank_change_plot(comp, ax=ax),
        "sensitivity_plot": lambda ax: cplot.sensitivity_plot(
            pd.DataFrame(
                {"model": ["a"], "rank": [1], "rank_p05": [1], "rank_p95": [2], "rank_median": [1]}
            ),
            ax=ax,
        ),
        "item_scatter": lambda ax: ppplot.item_scatter(item, ax=ax),
        "js_distance_box": lambda ax: ppplot.js_distance_box(item, ax=ax),
        "variance_ratio_plot": lambda ax: ppplot.variance_ratio_plot(
            pd.DataFrame({"dimension": ["Power"], "variance_ratio": [0.5]}), ax=ax
        ),
        "hierarchy_plot": lambda ax: ppplot.hierarchy_plot(
            pd.DataFrame({"dimension": ["Power"], "mean_persona": [0.1], "mean_human": [0.2]}),
            ax=ax,
        ),
        "correlation_heatmap": lambda ax: ppplot.correlation_heatmap(corr_m, ax=ax),
        "shift_heatmap": lambda ax: ppplot.shift_heatmap(
            pd.DataFrame({"persona_id": ["a"], "dimension": ["Power"], "shift": [0.2]}), ax=ax
        ),
        "group_gap_plot": lambda ax: ppplot.group_gap_plot(
            pd.DataFrame(
                {
                    "dimension": ["Power"],
                    "llm_gap": [0.5],
                    "human_gap": [0.1],
                    "group_a": ["a"],
                    "group_b": ["b"],
                }
            ),
            ax=ax,
        ),
        "steerability_heatmap": lambda ax: ppplot.steerability_heatmap(
            pd.DataFrame(
                {
                    "persona_id": ["pa", "pa"],
                    "own_group": "a",
                    "group": ["a", "b"],
                    "own": [True, False],
                    "distance": [0.2, 0.9],
                }
            ),
            ax=ax,
        ),
        "fidelity_plot": lambda ax: ppplot.fidelity_plot(
            pd.DataFrame(
                {
                    "persona_id": ["pa", "pb"],
                    "w1": [0.5, 0.9],
                    "w1_ci_low": [0.4, 0.7],
                    "w1_ci_high": [0.6, 1.1],
                    "floor_w1": 0.2,
                    "split_half_w1": 0.25,
                    "average_w1": 0.8,
                    "uniform_w1": 1.2,
                }
            ),
            ax=ax,
        ),
        "svo_angles": lambda ax: splot.svo_angles(runs, ax=ax),
        "target_bars": lambda ax: splot.target_bars(
            pd.DataFrame({"target": ["prosocial"], "x": [0.5]}), "x", ax=ax
        ),
    }


def test_axes_level_functions_draw_on_the_given_axes(syn_corr, syn_table):
    calls = _inputs(syn_corr, syn_table)
    axes_level = {name for _, name, _ in _public_functions() if name not in FIGURE_LEVEL}
    assert set(calls) == axes_level  # every axes-level function is exercised here
    for name, call in calls.items():
        fig = plt.figure(figsize=(8, 6))
        ax = fig.add_subplot(1, 2, 2, projection="polar" if name == "svo_angles" else None)
        n_figs = len(plt.get_fignums())
        assert call(ax) is ax, name
        assert len(plt.get_fignums()) == n_figs, f"{name} opened a figure although ax was given"
        assert ax.has_data() or ax.texts, f"{name} drew nothing"
        plt.close(fig)


def test_without_ax_a_pyplot_figure_is_opened(syn_corr, syn_table):
    """What a notebook needs to show a figure inline: it is registered with pyplot."""
    for name, call in _inputs(syn_corr, syn_table).items():
        ax = call(None)
        assert isinstance(ax, Axes), name
        assert ax.figure.number in plt.get_fignums(), name
        plt.close("all")
    fig = vplot.rho_distribution(syn_corr)
    assert isinstance(fig, Figure) and fig.number in plt.get_fignums()


def test_svo_angles_needs_polar_axes():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="polar"):
        splot.svo_angles(pd.DataFrame({"target": ["prosocial"], "svo_angle": [30.0]}), ax=ax)


def test_figure_level_functions_compose_axes_level_panels(syn_corr):
    summary = validation.validated_summary(validation.select_items(syn_corr))
    fig = vplot.validated_counts(summary)
    for ax, fam in zip(fig.axes, schema.FAMILY_NAMES, strict=True):
        alone = vplot.validated_bars(summary, fam)
        assert [p.get_height() for p in ax.patches] == [p.get_height() for p in alone.patches]
    fig = plt.figure()
    grid = fig.subplots(1, 2)
    vplot.rho_histogram(syn_corr, "pvq", ax=grid[0])
    ref = vplot.rho_distribution(syn_corr, families="pvq").axes[0]
    assert [p.get_height() for p in grid[0].patches] == [p.get_height() for p in ref.patches]


# --------------------------------------------------------------------------- large heatmaps


def _many_items(n_items=300, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        (i, 1, "pvq", d, float(r))
        for i in range(n_items)
        for d, r in zip(schema.PVQ_VALUES, rng.uniform(-0.4, 0.6, 10), strict=True)
    ]
    return pd.DataFrame(rows, columns=["portrait_id", "option_id", "family", "dimension", "rho"])


def test_rho_heatmap_top_n_keeps_the_strongest_items_of_each_block():
    corr = _many_items()
    ax = vplot.rho_heatmap(corr, top_n=3)
    cells = _cells(ax)
    best = np.nanargmax(cells, axis=1)
    assert np.all(np.bincount(best, minlength=10) <= 3) and len(cells) == 30
    wide = corr.pivot(index="portrait_id", columns="dimension", values="rho")[
        list(schema.PVQ_VALUES)
    ]
    for d_idx, d in enumerate(schema.PVQ_VALUES):
        owners = wide[wide.to_numpy().argmax(axis=1) == d_idx][d]
        owners = owners[owners > 0.3].sort_values(ascending=False)
        np.testing.assert_allclose(
            np.sort(cells[best == d_idx, d_idx])[::-1], owners.head(3).to_numpy()
        )
    labels = _tick_texts(ax.get_yticklabels())
    assert len(labels) == 30 and all("/" in t for t in labels)  # every item labelled


def test_rho_heatmap_large_item_sets_label_the_blocks_and_stay_readable():
    corr = _many_items()
    ax = vplot.rho_heatmap(corr)
    n = len(_cells(ax))
    assert n > vplot.MAX_LABELLED_ROWS
    labels = _tick_texts(ax.get_yticklabels())
    assert len(labels) == 10 and sum(int(t.rsplit("(", 1)[1].rstrip(")")) for t in labels) == n
    w, h = ax.figure.get_size_inches()
    assert h <= 14 and min(t.get_fontsize() for t in ax.get_yticklabels()) >= 7
    assert len(ax.lines) == 9  # block separators


# --------------------------------------------------------------------------- base: heatmap, save


def test_heatmap_helper_cells_labels_and_scale():
    m = pd.DataFrame([[0.5, np.nan], [-1.0, 0.25]], index=["r1", "r2"], columns=["a_b", "c"])
    ax = base.heatmap(m, annot=True, cbar_label="x")
    np.testing.assert_array_equal(_cells(ax), m.to_numpy())
    assert _tick_texts(ax.get_yticklabels()) == ["r1", "r2"]
    assert _tick_texts(ax.get_xticklabels()) == ["a b", "c"]
    assert ax.collections[0].get_clim() == (-1.0, 1.0)  # centred at 0, symmetric
    assert len(ax.texts) == 3  # NaN is not annotated
    ax = base.heatmap(m, center=None, vmin=0, vmax=2, cmap="viridis")
    assert ax.collections[0].get_clim() == (0, 2)


def test_save_figure_formats_suffixes_and_dpi(tmp_path):
    ax = base.new_axes(figsize=(2.0, 1.5))
    ax.plot([0, 1], [0, 1])
    paths = figures.save_figure(ax, tmp_path / "fig", formats=("png", "svg", "pdf"))
    assert [p.name for p in paths] == ["fig.png", "fig.svg", "fig.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:400]
    assert paths[2].read_bytes()[:5] == b"%PDF-"
    assert figures.save_figure(ax.figure, tmp_path / "one.svg") == [tmp_path / "one.svg"]
    assert figures.save_figure(ax, tmp_path / "x.png", formats="pdf") == [tmp_path / "x.pdf"]
    assert figures.save_figure(ax, tmp_path / "noext") == [tmp_path / "noext.png"]
    from PIL import Image

    full = figures.save_figure(ax, tmp_path / "full.png", bbox_inches=None)[0]
    assert Image.open(full).size == (2 * base.DPI, int(1.5 * base.DPI))  # one resolution: DPI
    for bad in ("fig.xyz",):
        with pytest.raises(ValueError, match="unknown figure format"):
            figures.save_figure(ax, tmp_path / bad)
    with pytest.raises(ValueError, match="unknown figure format"):
        figures.save_figure(ax, tmp_path / "f", formats=["png", "docx"])
    with pytest.raises(TypeError):
        figures.save_figure(object(), tmp_path / "f.png")


def test_save_figure_vector_output_is_reproducible(tmp_path):
    ax = vplot.rho_histogram(_many_items(30), "pvq")
    a = figures.save_figure(ax, tmp_path / "a.svg")[0].read_bytes()
    b = figures.save_figure(ax, tmp_path / "b.svg")[0].read_bytes()
    assert a == b


def test_rho_by_loading_points_are_the_items():
    t = pd.DataFrame(
        {
            "loading": [0, 0, 0.3, 0.6, 0.6],
            "rho": [0.0, -0.1, 0.31, 0.5, 0.7],
            "selected": [False, False, True, True, True],
        }
    )
    ax = vplot.rho_by_loading(t)
    sel, other = ax.collections
    np.testing.assert_allclose(np.sort(np.asarray(sel.get_offsets())[:, 1]), [0.31, 0.5, 0.7])
    np.testing.assert_allclose(np.sort(np.asarray(other.get_offsets())[:, 1]), [-0.1, 0.0])
    assert _tick_texts(ax.get_xticklabels()) == ["0", "0.3", "0.6"]


def test_group_gap_plot_draws_the_tables_intervals_on_their_bars():
    from matplotlib.container import BarContainer, ErrorbarContainer

    g = pd.DataFrame(
        {
            "dimension": ["Power", "Security", "Tradition"],
            "llm_gap": [0.5, -0.2, 0.1],
            "human_gap": [0.1, 0.0, -0.3],
            "group_a": "male",
            "group_b": "female",
            "llm_ci_low": [0.3, -0.4, np.nan],
            "llm_ci_high": [0.7, 0.0, np.nan],
            "human_ci_low": [0.0, -0.1, -0.5],
            "human_ci_high": [0.2, 0.1, -0.1],
        }
    )
    ax = ppplot.group_gap_plot(g)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    errs = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [[b.get_height() for b in c] for c in bars] == [[0.5, -0.2, 0.1], [0.1, 0.0, -0.3]]
    assert len(errs) == 2
    for c, eb, lo, hi in zip(
        bars, errs, ("llm_ci_low", "human_ci_low"), ("llm_ci_high", "human_ci_high"), strict=True
    ):
        ok = g[lo].notna().to_numpy()
        segs = eb.lines[2][0].get_segments()
        centres = [b.get_x() + b.get_width() / 2 for b, k in zip(c, ok, strict=True) if k]
        np.testing.assert_allclose([s[0, 0] for s in segs], centres)
        np.testing.assert_allclose([s[:, 1] for s in segs], g.loc[ok, [lo, hi]].to_numpy())


# ------------------------------------------------------------------ self-explaining figures


def _figure_level_inputs(syn_corr):
    """One small call per figure-level function: name -> callable() returning the Figure."""
    summary = validation.validated_summary(validation.select_items(syn_corr))
    rel = pd.DataFrame(
        {
            "family": "pvq",
            "dimension": ["Power", "Power", "Security"],
            "group": [0, 1, 0],
            "n_items": [3, 2, 4],
            "alpha": [0.7, 0.5, 0.8],
            "omega": [0.72, 0.6, 0.81],
        }
    )
    vprof = pd.concat([_profiles(seed=i).assign(variant=v) for i, v in enumerate(schema.VARIANTS)])
    rev = pd.DataFrame(
        {
            "model": ["a", "a", "b"],
            "wording": ["v1", "v2", "v1"],
            "mean_shift": [0.5, 0.1, -0.2],
            "share_changed": [0.5, 0.2, 0.1],
        }
    )
    item = pd.DataFrame(
        {
            "source": ["Reddit", "LMSYS"],
            "mean_persona": [4.0, 5.0],
            "mean_human": [3.5, 4.0],
            "sd_persona": [0.2, 0.3],
            "sd_human": [1.2, 1.4],
            "js_distance": [0.4, 0.5],
        }
    )
    corr_m = pd.DataFrame(
        np.eye(10), index=list(schema.PVQ_VALUES), columns=list(schema.PVQ_VALUES)
    )
    return {
        "rho_distribution": lambda: vplot.rho_distribution(syn_corr),
        "validated_counts": lambda: vplot.validated_counts(summary),
        "reliability_plot": lambda: vplot.reliability_plot(rel),
        "variant_profile_lines": lambda: pplot.variant_profile_lines(vprof, ["m1", "m2"]),
        "reversal_plot": lambda: pplot.reversal_plot(rev),
        "svo_ring": lambda: splot.svo_ring(
            pd.DataFrame(
                {
                    "target": ["altruistic", "competitive"],
                    "svo_angle": [30.47, np.nan],
                    "with_goal": [False, True],
                }
            )
        ),
        "rationality_bars": lambda: splot.rationality_bars(
            pd.DataFrame(
                {
                    "target": ["prosocial", "competitive"],
                    "hit_rate": [1.0, 0.0],
                    "mean_abs_angular_distance_normalised": [0.2, np.nan],
                }
            )
        ),
        "consistency_bars": lambda: splot.consistency_bars(
            pd.DataFrame(
                {
                    "target": ["prosocial"] * 2,
                    "complete": [True, False],
                    "transitive": [False, None],
                    "position_bias": [True, False],
                    "n_parse_failures": [0, 6],
                }
            )
        ),
        "item_level_plot": lambda: ppplot.item_level_plot(item),
        "structure_plot": lambda: ppplot.structure_plot(corr_m, corr_m),
    }


def _every_figure(syn_corr, syn_table):
    """(name, Figure) for every public plot function, axes-level ones on their own figure."""
    for name, call in _inputs(syn_corr, syn_table).items():
        yield name, call(None).figure
    for name, call in _figure_level_inputs(syn_corr).items():
        yield name, call()


def test_every_figure_level_function_is_exercised(syn_corr):
    assert set(_figure_level_inputs(syn_corr)) == FIGURE_LEVEL


def _title(ax) -> str:
    return ax.get_title() or ax.get_title("left") or ax.get_title("right")


def test_every_figure_has_a_title(syn_corr, syn_table):
    """A title on the figure (suptitle) or on every panel that holds data."""
    untitled = []
    for name, fig in _every_figure(syn_corr, syn_table):
        sup = fig._suptitle.get_text() if fig._suptitle is not None else ""
        panels = [ax for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"]
        assert panels, name
        if not (sup or all(_title(ax) for ax in panels)):
            untitled.append(name)
        plt.close(fig)
    assert untitled == []


def _data_extents(ax):
    """Display-space boxes of the artists that carry data (points, lines, bars, cells)."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    boxes = []
    renderer = ax.figure.canvas.get_renderer()
    for art in ax.get_children():
        if not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = art.get_xydata()
            if len(xy) == 0 or not np.isfinite(xy).any():
                continue
            # a line spanning the axes (axhline/axvline) is a reference line, not data
            if art.get_transform() is not ax.transData:
                continue
            pts = ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])
            boxes.extend(pts)  # the data points themselves (a polyline's box is too coarse)
        elif isinstance(art, Collection) and not art.get_label().startswith("_child"):
            offs = art.get_offsets()
            if len(offs) and art.get_offset_transform() is ax.transData:
                boxes.extend(ax.transData.transform(np.asarray(offs, dtype=float)))
        elif isinstance(art, Rectangle) and art is not ax.patch:
            bb = art.get_window_extent(renderer)
            if bb.width > 0 and bb.height > 0:
                boxes.append(bb)
    return boxes


def test_no_legend_covers_the_plotted_data(syn_corr, syn_table):
    """After drawing, no legend box contains a data point or overlaps a bar of its axes."""
    from matplotlib.transforms import Bbox

    checked, covering = 0, set()
    for name, fig in _every_figure(syn_corr, syn_table):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            leg = ax.get_legend()
            if leg is None or not leg.get_visible():
                continue
            box = leg.get_window_extent(renderer)
            for b in _data_extents(ax):
                if isinstance(b, Bbox):
                    inter = Bbox.intersection(box, b)
                    hit = inter is not None and inter.width > 1 and inter.height > 1
                else:
                    hit = box.contains(*b)
                if hit:
                    covering.add(name)
            checked += 1
        plt.close(fig)
    assert sorted(covering) == []
    assert checked >= 8  # the figures with a legend were all checked
