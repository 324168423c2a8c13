"""The released Value Portrait study: validation and LLM value scores from the upstream files.

The statistics are :mod:`vp_stats.stats.validation` and :mod:`vp_stats.stats.scoring`; this
module reads the pinned upstream files (:mod:`vp_stats.io.datasets`) and hands the tables on.
"""

from __future__ import annotations

import pandas as pd

from vp_stats import schema, tables
from vp_stats.io import averaging, datasets
from vp_stats.stats import scoring, validation

__all__ = ["validate_data", "score_released_models"]


def validate_data(
    data_dir=None,
    families: tuple[str, ...] | list[str] = schema.FAMILY_NAMES,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    procedure: str = "correct",
    *,
    max_fdr: float | None = None,
    p_method: str = "t",
    **rule,
) -> validation.ItemValidation:
    """Validate the released Value Portrait items.

    Loads the released ratings and scores, pairs them by ``procedure``
    (:func:`~vp_stats.stats.validation.apply_procedure`) and validates the items
    (:func:`~vp_stats.stats.validation.validate_items`). The defaults are the paper's
    analysis, explicitly: ``rho > 0.3`` with no p-value filter (``max_fdr=None``) and the t
    approximation's p (``p_method="t"``, as the published tables); the result's ``errors``
    give that rule's expected null passes and estimated false-discovery proportion (and it
    warns). ``rule`` passes ``max_p``, ``min_ci_low``, ``n_perm`` to
    :func:`~vp_stats.stats.validation.validate_items`.

    Examples
    --------
    >>> res = validate_data(n_boot=0)
    >>> len(res.table), int(res.table.selected.sum()) > 0, res.rule
    (9880, True, 'rho > 0.3')
    """
    scores = datasets.load_participant_scores(data_dir)
    ratings = datasets.load_ratings(data_dir, participants=scores)
    ratings, scores = validation.apply_procedure(ratings, scores, procedure)
    return validation.validate_items(
        ratings,
        scores,
        families,
        threshold,
        mode,
        exclusions,
        n_boot,
        ci,
        seed,
        scale=tables.VP_SCALE,
        max_fdr=max_fdr,
        p_method=p_method,
        **rule,
    )


def score_released_models(
    corr: pd.DataFrame | None = None,
    data_dir=None,
    upstream_parity: bool = False,
    **kwargs,
) -> pd.DataFrame:
    """Profiles of every model in upstream's ``average_outputs`` (34 files).

    ``corr`` defaults to the published correlation tables (identical to
    :func:`vp_stats.stats.validation.item_correlations` with ``procedure='upstream'``).

    Examples
    --------
    >>> p = score_released_models(n_boot=0)
    >>> p.model.nunique(), sorted(p.family.unique())
    (34, ['bfi', 'higher_pvq', 'pvq'])
    """
    if corr is None:
        corr = datasets.load_published_correlations(data_dir=data_dir)
    directory = None
    if data_dir is not None:  # verify every registered file there, then read that folder
        for rel in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/"):
            datasets.fetch(rel, data_dir)
        directory = datasets.data_dir(data_dir) / datasets.AVERAGE_OUTPUTS_DIR
    wide = averaging.load_average_outputs(directory=directory)
    return scoring.value_profiles(wide, corr, upstream_parity=upstream_parity, **kwargs)
