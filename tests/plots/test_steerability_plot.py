"""The steerability heat map draws the distances it is given, with each persona's own group
framed (vp_stats.plots.personas.steerability_heatmap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from vp_stats.plots.base import heatmap_cells
from vp_stats.plots.personas import steerability_heatmap


def test_cells_and_own_group_frames():
    rng = np.random.default_rng(0)
    groups = ["g1", "g2", "g3"]
    rows = []
    for p, own in (("p3", "g3"), ("p1", "g1"), ("p2", "g2")):
        for g in groups:
            rows.append(
                {
                    "persona_id": p,
                    "own_group": own,
                    "group": g,
                    "own": g == own,
                    "distance": float(rng.uniform()),
                }
            )
    t = pd.DataFrame(rows)
    ax = steerability_heatmap(t)
    cells = heatmap_cells(ax)
    want = t.pivot(index="persona_id", columns="group", values="distance").loc[["p1", "p2", "p3"]]
    np.testing.assert_allclose(cells, want.to_numpy())
    frames = [
        (p.get_x(), p.get_y()) for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()
    ]
    assert sorted(frames) == [(0, 0), (1, 1), (2, 2)]  # personas ordered by own group: diagonal
