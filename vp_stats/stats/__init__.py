"""The statistics layer: DataFrames in, DataFrames (or small results objects) out, no files.

One module per statistical family: item validation (:mod:`~vp_stats.stats.validation`),
reliability, factor analysis and CFA, IRT (2PL and graded response model), differential item
functioning (:mod:`~vp_stats.stats.dif`), value structure, LLM value profiles
(:mod:`~vp_stats.stats.scoring`), selection uncertainty, item-version comparisons, the one
resampling engine, the null distribution of Spearman's rho (:mod:`~vp_stats.stats.spearman`),
LLM-side psychometrics, persona and human-group statistics (distribution fidelity and
steerability: :mod:`~vp_stats.stats.fidelity`), the Value
Compass composites and weights and the HVAE metrics. A module here imports only the
contracts (:mod:`vp_stats.schema`, :mod:`vp_stats.tables`, :mod:`vp_stats.errors`),
:mod:`vp_stats.instruments` and other statistics modules; no function takes a path.
"""

__all__ = [
    "averaging",
    "cfa",
    "compass",
    "compass_weights",
    "dif",
    "factor",
    "fidelity",
    "humans",
    "hvae",
    "invariance",
    "irt",
    "llm_psychometrics",
    "ordinal_cfa",
    "persona_gaps",
    "personas",
    "reliability",
    "resampling",
    "scoring",
    "simulate",
    "spearman",
    "survey",
    "structure",
    "uncertainty",
    "validation",
    "versions",
]
