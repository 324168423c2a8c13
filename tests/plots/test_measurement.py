"""Tests of the measurement figures (vp_stats.plots.measurement): drawn values are the input
values, titles and labels are set, and legends sit outside the data area."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from vp_stats.plots import measurement as mplot
from vp_stats.stats import dif, irt
from vp_stats.stats import invariance as inv


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def grm():
    sim = irt.simulate_grm(400, 3, 4, seed=0)
    return irt.fit_grm(sim.responses)


def _legend_outside(ax: Axes) -> None:
    """The legend's box lies right of the axes' box: it cannot cover data."""
    ax.figure.canvas.draw()
    leg = ax.get_legend()
    assert leg is not None
    r = ax.figure.canvas.get_renderer()
    # the axes, and a twin's tick labels and label (tight box), end left of the legend
    twins = [a for a in ax.figure.axes if a is ax or a.bbox.bounds == ax.bbox.bounds]
    right = max(a.get_tightbbox(r).x1 if a is not ax else a.get_window_extent(r).x1 for a in twins)
    assert leg.get_window_extent(r).x0 >= right - 1


@pytest.fixture(scope="module")
def inv_table():
    """A real invariance table: one item's intercept shifted in one group (scalar step fails)."""
    rng = np.random.default_rng(3)
    f = rng.standard_normal((600, 1))
    x = pd.DataFrame(
        f * [0.8, 0.7, 0.6, 0.5] + 0.6 * rng.standard_normal((600, 4)), columns=list("abcd")
    )
    x["sample"] = np.repeat(["human", "llm"], 300)
    x.loc[x["sample"] == "llm", "d"] += 1.0
    return inv.invariance(x, "F =~ a + b + c + d", "sample").table


def test_invariance_summary_draws_the_table(inv_table):
    ax = mplot.invariance_summary(inv_table)
    assert isinstance(ax, Axes) and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    steps = inv_table.iloc[1:]
    cfi, rmsea = ax.lines[0], ax.lines[1]
    np.testing.assert_allclose(cfi.get_ydata(), steps.delta_cfi, rtol=0, atol=0)
    np.testing.assert_allclose(rmsea.get_ydata(), steps.delta_rmsea, rtol=0, atol=0)
    np.testing.assert_array_equal(cfi.get_xdata(), [0, 1, 2])
    assert [ln.get_ydata()[0] for ln in ax.lines[2:5]] == [-0.01, 0.015, 0]  # cut-offs, zero
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.splitlines()[0] for t in ticks] == [
        "configural -> metric",
        "metric -> scalar",
        "scalar -> strict",
    ]
    for t, r in zip(ticks, steps.itertuples(), strict=True):
        assert f"chi2({r.delta_df:g}) = {r.delta_chisq:.1f}" in t
    # the shifted intercept: scalar step's chi-square difference rejects, its delta CFI drops
    # past -0.01, and only that step is highlighted (on the CFI line)
    assert ticks[1].endswith("\np < 0.001") and steps.delta_cfi.iloc[1] < -0.01
    beyond_cfi = steps.delta_cfi.to_numpy() < -0.01
    beyond_rmsea = steps.delta_rmsea.to_numpy() > 0.015
    marked = np.concatenate([c.get_offsets() for c in ax.collections])
    expected = [[i, steps.delta_cfi.iloc[i]] for i in np.flatnonzero(beyond_cfi)] + [
        [i, steps.delta_rmsea.iloc[i]] for i in np.flatnonzero(beyond_rmsea)
    ]
    np.testing.assert_allclose(marked, expected)
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names[:2] == ["delta CFI", "delta RMSEA"] and names[-1] == "beyond cut-off"
    lo, hi = ax.get_ylim()
    assert lo < min(steps.delta_cfi.min(), -0.01) and hi > max(steps.delta_rmsea.max(), 0.015)
    _legend_outside(ax)


def test_invariance_summary_cutoffs_and_p_formatting():
    t = pd.DataFrame(
        {
            "level": ["metric", "scalar"],
            "delta_chisq": [np.nan, 4.0],
            "delta_df": [np.nan, 3.0],
            "p": [np.nan, 0.2614641],
            "delta_cfi": [np.nan, -0.004],
            "delta_rmsea": [np.nan, 0.002],
        }
    )
    fig, axes = plt.subplots(1, 2)
    ax = mplot.invariance_summary(t, cfi_cutoff=-0.002, rmsea_cutoff=0.01, ax=axes[0])
    assert ax is axes[0] and len(fig.axes) == 2
    assert ax.get_xticklabels()[0].get_text() == "metric -> scalar\nchi2(3) = 4.0\np = 0.261"
    assert [ln.get_ydata()[0] for ln in ax.lines[2:4]] == [-0.002, 0.01]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[0, -0.004]])  # CFI only
    with pytest.raises(ValueError, match="one level"):
        mplot.invariance_summary(t.iloc[:1])
    with pytest.raises(Exception, match="delta_rmsea"):
        mplot.invariance_summary(t.drop(columns="delta_rmsea"))


def test_invariance_summary_draws_an_ordinal_table():
    """The WLSMV table (no strict level; deltas of the scaled indices) is drawn as it stands."""
    x = irt.simulate_grm(600, 4, 4, seed=1).responses.assign(group=["a", "b"] * 300)
    t = inv.invariance(x, "F =~ item01 + item02 + item03 + item04", "group", ordered=True).table
    ax = mplot.invariance_summary(t)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), t.delta_cfi.iloc[1:], rtol=0, atol=0)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), t.delta_rmsea.iloc[1:], rtol=0, atol=0)
    assert [tk.get_text().splitlines()[0] for tk in ax.get_xticklabels()] == [
        "configural -> metric",
        "metric -> scalar",
    ]


def test_every_measurement_figure_is_axes_level():
    """As test_plots' check for the other modules: ``ax=`` in, Axes out."""
    import inspect

    for name in mplot.__all__:
        sig = inspect.signature(getattr(mplot, name))
        assert "ax" in sig.parameters and sig.return_annotation in (Axes, "Axes"), name


def test_information_curves_draw_the_information(grm):
    info = grm.information()
    ax = mplot.information_curves(info)
    assert isinstance(ax, Axes) and ax.get_title() and ax.get_xlabel() == "ability (theta)"
    assert len(ax.lines) == 3
    for line, name in zip(ax.lines, grm.items.item, strict=True):
        np.testing.assert_allclose(line.get_ydata(), info[info.item == name].information)
    twin = ax.figure.axes[-1]
    assert twin is not ax and twin.get_ylabel() == "test information"
    np.testing.assert_allclose(twin.lines[0].get_ydata(), info[info.item == "test"].information)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        *grm.items.item,
        "test (right axis)",
    ]
    _legend_outside(ax)


def test_information_curves_on_given_axes_and_item_subset(grm):
    fig, axes = plt.subplots(1, 2)
    ax = mplot.information_curves(grm.information(), items=["item01"], test=False, ax=axes[1])
    assert ax is axes[1] and len(ax.lines) == 1 and len(fig.axes) == 2


def test_dif_effect_sizes_marks_flagged_items_and_the_threshold():
    t = pd.DataFrame(
        {
            "item": ["q1", "q2", "q3"],
            "delta_r2_mcfadden_total": [0.001, 0.05, 0.01],
            "flag": [False, True, False],
        }
    )
    ax = mplot.dif_effect_sizes(t, threshold=0.02)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "item"
    not_flagged, flagged = ax.collections[0], ax.collections[1]
    np.testing.assert_allclose(not_flagged.get_offsets(), [[0.001, 0], [0.01, 2]])
    np.testing.assert_allclose(flagged.get_offsets(), [[0.05, 1]])
    assert ax.lines[0].get_xdata()[0] == 0.02  # the threshold
    assert [tk.get_text() for tk in ax.get_yticklabels()] == ["q1", "q2", "q3"]
    _legend_outside(ax)


def test_dif_item_curves_draw_expected_and_observed():
    sim = irt.simulate_grm(300, 4, 4, seed=1)
    x = sim.responses.assign(group=["a", "b"] * 150)
    cur = dif.dif_curves(x, "group", "item01")
    ax = mplot.dif_item_curves(cur, item="item01")
    assert len(ax.lines) == 2 and "item01" in ax.get_title() and ax.get_ylabel()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cur[cur.group == "a"].expected)
    obs = cur[(cur.group == "b") & (cur.n > 0)]
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 1], obs.observed)
    _legend_outside(ax)


def test_missing_columns_are_named():
    with pytest.raises(Exception, match="information"):
        mplot.information_curves(pd.DataFrame({"theta": [0.0]}))
