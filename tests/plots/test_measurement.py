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
