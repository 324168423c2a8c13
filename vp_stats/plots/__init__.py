"""Figures: one function per figure, tidy data in, a matplotlib Figure out, no global state.

Submodules by area: :mod:`~vp_stats.plots.validation` (item validation),
:mod:`~vp_stats.plots.profiles` (LLM value profiles), :mod:`~vp_stats.plots.svo` (SVO / HVAE),
:mod:`~vp_stats.plots.compass` (Value Compass), :mod:`~vp_stats.plots.personas` (personas).
Import the submodule you need, e.g. ``from vp_stats.plots import profiles``.
"""
