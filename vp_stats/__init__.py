"""vp-stats: psychometric item validation and LLM value assessment.

Implements three published systems on one tidy data model:
Value Portrait (item validation and LLM value profiles), HVAE (Social Value
Orientation and value rationality) and Value Compass (pluralistic alignment
composites). See the README, ``docs/`` and ``notebooks/`` for a tour.

The main functions are available flat, pingouin style (imported on first use,
so ``import vp_stats`` stays fast):

>>> import vp_stats as vp
>>> st = vp.synthetic_study(n_participants=40, n_items=10, seed=0)
>>> corr = vp.item_correlations(st["ratings"], st["scores"])
>>> sorted(corr.family.unique())
['bfi', 'pvq']
>>> "item_correlations" in vp.__all__ and "stats" in vp.__all__
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"  # kept equal to pyproject.toml by tests/test_packaging.py

#: flat name -> module that defines it
_EXPORTS = {
    # data model and files
    **dict.fromkeys(
        [
            "Scale",
            "Ratings",
            "Scores",
            "Correlations",
            "Answers",
            "Profiles",
            "ratings_table",
            "scores_table",
            "correlations_table",
            "answers_table",
            "to_wide",
            "derive_higher_order",
            "parse_scale",
            "infer_scale",
        ],
        "tables",
    ),
    **dict.fromkeys(["TableError", "DataError", "DataFormatError"], "errors"),
    **dict.fromkeys(
        [
            "read_ratings",
            "read_scores",
            "read_correlations",
            "read_item_matrix",
            "read_answers",
            "write_csv",
        ],
        "io.tables",
    ),
    **dict.fromkeys(
        [
            "load_ratings",
            "load_participant_scores",
            "load_items",
            "load_published_correlations",
        ],
        "io.datasets",
    ),
    **dict.fromkeys(["synthetic", "synthetic_study"], "stats.simulate"),
    # item validation
    **dict.fromkeys(
        [
            "item_correlations",
            "validate_items",
            "select_items",
            "add_fdr",
            "bootstrap_ci",
            "selection_rule",
            "selection_errors",
            "validated_summary",
        ],
        "stats.validation",
    ),
    **dict.fromkeys(["validate_study", "reliability_study", "load_study"], "studies.validate"),
    # psychometrics
    **dict.fromkeys(
        [
            "cronbach_alpha",
            "omega_total",
            "omega_hierarchical",
            "scale_reliability",
            "item_statistics",
            "split_half",
            "value_reliability",
        ],
        "stats.reliability",
    ),
    **dict.fromkeys(
        ["efa", "adequacy", "parallel_analysis", "polychoric_correlations"], "stats.factor"
    ),
    "selection_uncertainty": "stats.uncertainty",
    "compare_versions": "stats.versions",
    "Resampler": "stats.resampling",
    # LLM value profiles
    **dict.fromkeys(["value_profiles", "mean_profile"], "stats.scoring"),
    **dict.fromkeys(["validate_data", "score_released_models"], "studies.released"),
}
_SUBMODULES = [
    # contracts, then the layers from the bottom up (README, "Architecture")
    "schema",
    "tables",
    "errors",
    "redact",
    "instruments",
    "stats",
    "llm",
    "plots",
    "io",
    "studies",
    "cli",
]

__all__ = sorted({*_EXPORTS, *_SUBMODULES, "__version__"})


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(f"vp_stats.{_EXPORTS[name]}")
        value = getattr(mod, name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"vp_stats.{name}")
    else:
        raise AttributeError(f"module 'vp_stats' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
