"""BFI-10 scoring from raw answers (Rammstedt & John 2007).

Ten items on a 5-point scale (1 = disagree strongly ... 5 = agree strongly),
two per Big Five trait, one of each pair reverse-keyed
(:data:`vp_stats.schema.BFI10_KEY`). A reverse-keyed answer is recoded as
``6 - x``; a trait score is the mean of its two (recoded) items, on the 1..5
scale, not centred (as in the released Value Portrait ``value.json``).

References
----------
Rammstedt, B., & John, O. P. (2007). Measuring personality in one minute or
less: A 10-item short version of the Big Five Inventory in English and German.
Journal of Research in Personality, 41, 203-212.

Examples
--------
>>> import pandas as pd
>>> from vp_stats.instruments import bfi
>>> wide = pd.DataFrame([["p1", 1, 4, 2, 2, 1, 5, 2, 4, 4, 5]],
...                     columns=["participant"] + list(range(1, 11)))
>>> bfi.score_bfi10(wide)[["dimension", "score"]]
           dimension  score
0       Extraversion    5.0
1      Agreeableness    4.0
2  Conscientiousness    4.0
3        Neuroticism    4.0
4           Openness    5.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vp_stats import schema
from vp_stats.instruments.pvq import _check_complete, _warn_missing, answers_matrix

__all__ = ["score_bfi10"]

_N_ITEMS = len(schema.BFI10_KEY)


def score_bfi10(
    answers: pd.DataFrame,
    *,
    min_items: int = 2,
    require_complete: bool = False,
    missing_codes=(),
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
) -> pd.DataFrame:
    """Score BFI-10 answers into the five trait means.

    Parameters
    ----------
    answers : pandas.DataFrame
        Long (``participant``, ``item`` 1..10, ``rating``) or wide
        (``participant`` plus 10 item columns named 1..10). Answers are integers 1..5.
    min_items : {2, 1}
        Answered items a trait needs; with the default 2 a trait with a missing
        item is NaN (reported in ``status`` and by a warning).
    require_complete : bool
        Raise :class:`ValueError` if any participant misses any item.
    missing_codes : sequence of numbers
        Answer codes meaning "missing".
    participant, item, rating : str
        Column names of the input (the participant id, the item number, the answer).

    Returns
    -------
    pandas.DataFrame
        Columns ``participant, family ('bfi'), dimension, score, n_items, status``,
        traits in :data:`vp_stats.schema.BFI_TRAITS` order.

    Raises
    ------
    ValueError
        Answers outside 1..5, unknown or duplicate items, wrong item counts.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"participant": "p", "item": [1, 6], "rating": [2, 5]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the other eight items are missing
    ...     out = score_bfi10(long)
    >>> out[["dimension", "score", "n_items"]].head(2)  # Extraversion: (6 - 2 + 5) / 2
           dimension  score  n_items
    0   Extraversion    4.5        2
    1  Agreeableness    NaN        0
    """
    if min_items not in (1, 2):
        raise ValueError(f"min_items must be 1 or 2 (two items per trait), got {min_items}")
    mat = answers_matrix(
        answers,
        n_items=_N_ITEMS,
        lo=schema.BFI_MIN,
        hi=schema.BFI_MAX,
        instrument="BFI-10",
        participant=participant,
        item=item,
        rating=rating,
        missing_codes=missing_codes,
    )
    if require_complete:
        _check_complete(mat, "BFI-10")
    x = mat.to_numpy().copy()
    rev = np.array([schema.BFI10_KEY[i][1] for i in range(1, _N_ITEMS + 1)])
    x[:, rev] = (schema.BFI_MIN + schema.BFI_MAX) - x[:, rev]
    answered = ~np.isnan(x)
    x0 = np.where(answered, x, 0.0)
    traits = schema.BFI_TRAITS
    n_resp = x.shape[0]
    score = np.empty((n_resp, len(traits)))
    n_items = np.empty((n_resp, len(traits)), dtype=int)
    for k, t in enumerate(traits):
        idx = np.array([i - 1 for i, (trait, _) in schema.BFI10_KEY.items() if trait == t])
        cnt = answered[:, idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = x0[:, idx].sum(axis=1) / cnt
        score[:, k] = np.where(cnt >= min_items, mean, np.nan)
        n_items[:, k] = cnt
    out = pd.DataFrame(
        {
            "participant": np.repeat(mat.index.to_numpy(), len(traits)),
            "family": "bfi",
            "dimension": np.tile(traits, n_resp),
            "score": score.ravel(),
            "n_items": n_items.ravel(),
            "status": np.where(np.isnan(score.ravel()), "too_few_items", "ok"),
        }
    )
    _warn_missing(out, "BFI-10")
    return out
