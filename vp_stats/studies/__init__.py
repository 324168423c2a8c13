"""The studies layer: what runs models, reads a study's files or fills an output folder.

A study reads its inputs through :mod:`vp_stats.io`, calls the statistics
(:mod:`vp_stats.stats`) and the LLM layer (:mod:`vp_stats.llm`), and writes its tables
and ``provenance.json`` atomically. The command line (:mod:`vp_stats.cli`) and the
notebooks call these functions, so both give the same tables.
"""

__all__ = [
    "compass",
    "humans",
    "hvae",
    "invariance",
    "items",
    "notebooks",
    "personas",
    "released",
    "runs",
    "validate",
]
