"""Figures: tidy data in, seaborn-style axes-level and figure-level functions, no global state.

Axes-level functions take ``ax=`` and return the :class:`~matplotlib.axes.Axes` they drew
on; figure-level functions compose several panels and return the
:class:`~matplotlib.figure.Figure`. Without ``ax`` a new pyplot-managed figure is opened, so
a notebook shows it inline. Shared machinery (the one heatmap, saving as PNG/SVG/PDF at
:data:`~vp_stats.plots.base.DPI`) is in :mod:`~vp_stats.plots.base`.

Submodules by area: :mod:`~vp_stats.plots.validation` (item validation),
:mod:`~vp_stats.plots.profiles` (LLM value profiles), :mod:`~vp_stats.plots.svo` (SVO / HVAE),
:mod:`~vp_stats.plots.compass` (Value Compass), :mod:`~vp_stats.plots.personas` (personas),
:mod:`~vp_stats.plots.measurement` (GRM information, DIF, invariance).
Import the submodule you need, e.g. ``from vp_stats.plots import profiles``.
"""

__all__ = ["base", "compass", "measurement", "personas", "profiles", "svo", "validation"]
