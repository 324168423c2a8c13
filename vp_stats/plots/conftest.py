"""pytest: close the figures each doctest of :mod:`vp_stats.plots` opened (pyplot keeps them)."""

import matplotlib.pyplot as plt
import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
