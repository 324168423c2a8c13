"""Two-parameter logistic (2PL) item response theory for models x items response matrices.

The evolving-test idea of Value Compass (Yao, Yi et al., arXiv 2501.07071)
adapts item difficulty to the model under test, which rests on item response
theory: the probability that respondent (model) *m* endorses item *i* is

    p_mi = 1 / (1 + exp(-a_i (theta_m - b_i)))

with item discrimination ``a_i``, item difficulty ``b_i`` and ability (here:
strength of the measured value) ``theta_m`` (Birnbaum 1968). Parameters are
estimated by marginal maximum likelihood with the maintained ``girth`` package
(:func:`girth.twopl_mml`, abilities by expected a posteriori,
:func:`girth.ability_eap`, standard normal prior); nothing is optimised by hand.

:func:`binary_matrix_from_answers` builds the binary matrix from a per-item
answer table: an item counts as endorsed when the (mean) answer is at least 4
("somewhat like me") on items validated for a value.

References
----------
Birnbaum, A. (1968). Some latent trait models and their use in inferring an
examinee's ability. In Lord & Novick, Statistical Theories of Mental Test Scores.
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item
parameters: application of an EM algorithm. Psychometrika, 46, 443-459.
girth: https://github.com/eribean/girth (MIT licence).

Examples
--------
>>> from vp_stats.stats import irt
>>> sim = irt.simulate_2pl(n_respondents=200, n_items=5, seed=0)
>>> items, abilities = irt.fit_2pl(sim.responses)
>>> items.columns.tolist()
['item', 'discrimination', 'difficulty', 'n_responses', 'p_endorsed']
>>> abilities.columns.tolist()
['model', 'ability', 'n_responses']
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from vp_stats import tables

__all__ = [
    "fit_2pl",
    "estimate_ability",
    "binary_matrix_from_answers",
    "simulate_2pl",
    "Simulated2PL",
]


def _girth():
    try:
        import girth
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "vp_stats.stats.irt needs the 'girth' package: pip install 'vp-stats[irt]'"
        ) from exc
    return girth


def _py(x):
    """A numpy scalar as the plain Python value (readable error messages)."""
    return x.item() if isinstance(x, np.generic) else x


def _as_binary(responses: pd.DataFrame, model: str, item: str, rating: str) -> pd.DataFrame:
    """Validate a wide (models x items) or tidy (model, item, rating) 0/1 table; return it wide."""
    if not isinstance(responses, pd.DataFrame) or responses.empty:
        raise ValueError("responses must be a non-empty pandas DataFrame")
    if {model, item, rating} <= set(responses.columns):
        dup = responses.duplicated([model, item], keep=False)
        if dup.any():
            r = responses.loc[dup].iloc[0]
            raise ValueError(
                f"duplicate responses for model {_py(r[model])!r}, item {_py(r[item])!r}"
            )
        wide = tables.to_wide(responses, model, item, rating, source="responses", as_float=False)
        wide = wide.reindex(index=pd.unique(responses[model]), columns=pd.unique(responses[item]))
    else:
        wide = responses.set_index(model) if model in responses.columns else responses
    wide = wide.copy()
    wide.index.name, wide.columns.name = "model", "item"
    vals = wide.to_numpy(dtype=object)
    out = np.full(vals.shape, np.nan)
    for (r, c), x in np.ndenumerate(vals):
        if x is None or x is pd.NA or (isinstance(x, (float, np.floating)) and np.isnan(x)):
            continue
        if isinstance(x, (bool, np.bool_)) or (
            isinstance(x, (int, float, np.integer, np.floating)) and x in (0, 1)
        ):
            out[r, c] = float(x)
            continue
        raise ValueError(
            f"model {_py(wide.index[r])!r}, item {_py(wide.columns[c])!r}: "
            f"response {_py(x)!r} is not 0/1 (or missing)"
        )
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)


def _constant_items(mat: pd.DataFrame) -> list:
    n1 = (mat == 1).sum()
    n0 = (mat == 0).sum()
    return list(mat.columns[(n1 == 0) | (n0 == 0)])


def _to_girth(mat: pd.DataFrame, girth) -> np.ndarray:
    """items x respondents int matrix with girth's missing-value code."""
    x = mat.to_numpy().T
    return np.where(np.isnan(x), girth.INVALID_RESPONSE, x).astype(int)


def fit_2pl(
    responses: pd.DataFrame,
    *,
    constant_items: str = "raise",
    model: str = "model",
    item: str = "item",
    rating: str = "rating",
    options: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit a 2PL model ``p = sigmoid(a_i (theta_m - b_i))`` by marginal maximum likelihood.

    Parameters
    ----------
    responses : pandas.DataFrame
        Wide (rows = models, optionally a ``model`` column; columns = items;
        cells 0/1/NaN) or tidy (columns ``model``, ``item``, ``rating``).
        Missing responses are allowed.
    constant_items : {'raise', 'drop'}
        Items everybody (or nobody) endorsed carry no information on
        discrimination and difficulty; raise (default) or drop them with a
        warning that names them.
    model, item, rating : str
        Column names of the models, the items and the 0/1 ratings.
    options : dict, optional
        Passed to :func:`girth.twopl_mml` (e.g. ``{"quadrature_n": 61}``).

    Returns
    -------
    items : pandas.DataFrame
        ``item, discrimination, difficulty, n_responses, p_endorsed``.
    abilities : pandas.DataFrame
        ``model, ability, n_responses`` (EAP estimates, standard normal prior).

    Raises
    ------
    ValueError
        Responses other than 0/1, fewer than 2 models or items, constant items
        (with ``constant_items='raise'``), models with no response.

    Notes
    -----
    Identification follows girth: abilities have a standard normal prior, so
    difficulties are on the ability scale of the fitted sample.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> endorsed = (rng.random((100, 3)) < [0.2, 0.5, 0.8]).astype(int)
    >>> x = pd.DataFrame(endorsed, columns=["i1", "i2", "i3"])
    >>> items, _ = fit_2pl(x)
    >>> bool(items.difficulty.iloc[0] > items.difficulty.iloc[2])  # the rarely endorsed is harder
    True
    """
    girth = _girth()
    if constant_items not in ("raise", "drop"):
        raise ValueError(f"constant_items must be 'raise' or 'drop', got {constant_items!r}")
    mat = _as_binary(responses, model, item, rating)
    const = _constant_items(mat)
    if const:
        if constant_items == "raise":
            raise ValueError(
                f"{len(const)} item(s) have no variance (all endorsed or none): {const[:10]}; "
                "pass constant_items='drop' to leave them out"
            )
        warnings.warn(
            f"dropped {len(const)} constant item(s): {const[:10]}", UserWarning, stacklevel=2
        )
        mat = mat.drop(columns=const)
    if mat.shape[1] < 2 or mat.shape[0] < 2:
        raise ValueError(
            f"need at least 2 models and 2 informative items, got {mat.shape[0]} x {mat.shape[1]}"
        )
    empty = mat.index[mat.isna().all(axis=1)]
    if len(empty):
        raise ValueError(f"model(s) with no response: {list(empty[:10])}")
    data = _to_girth(mat, girth)
    res = girth.twopl_mml(data, options)
    a = np.asarray(res["Discrimination"], dtype=float).ravel()
    b = np.asarray(res["Difficulty"], dtype=float).ravel()
    items = pd.DataFrame(
        {
            "item": mat.columns.to_numpy(),
            "discrimination": a,
            "difficulty": b,
            "n_responses": mat.notna().sum().to_numpy(),
            "p_endorsed": mat.mean().to_numpy(),
        }
    )
    abilities = estimate_ability(mat, items)
    return items, abilities


def estimate_ability(
    responses: pd.DataFrame,
    items: pd.DataFrame,
    *,
    model: str = "model",
    item: str = "item",
    rating: str = "rating",
    options: dict | None = None,
) -> pd.DataFrame:
    """EAP abilities of models given fitted (or known) 2PL item parameters.

    Parameters
    ----------
    responses : pandas.DataFrame
        Wide or tidy 0/1 responses (as for :func:`fit_2pl`); only items listed
        in ``items`` are used.
    items : pandas.DataFrame
        ``item, discrimination, difficulty`` (e.g. from :func:`fit_2pl`).
    model, item, rating : str
        Column names, as for :func:`fit_2pl`.
    options : dict, optional
        Passed to :func:`girth.ability_eap`.

    Returns
    -------
    pandas.DataFrame
        ``model, ability, n_responses``.

    Examples
    --------
    >>> import pandas as pd
    >>> items = pd.DataFrame({"item": ["a", "b"], "discrimination": [1.0, 1.0],
    ...                       "difficulty": [0.0, 1.0]})
    >>> resp = pd.DataFrame({"a": [1, 0], "b": [1, 0]}, index=["strong", "weak"])
    >>> ab = estimate_ability(resp, items)
    >>> bool(ab.ability.iloc[0] > 0 > ab.ability.iloc[1])
    True
    """
    girth = _girth()
    mat = _as_binary(responses, model, item, rating)
    tables.require(items, ["item", "discrimination", "difficulty"], "items")
    absent = [i for i in items["item"] if i not in mat.columns]
    if absent:
        raise ValueError(f"items not in the response matrix: {absent[:10]}")
    mat = mat[list(items["item"])]
    data = _to_girth(mat, girth)
    theta = girth.ability_eap(
        data, items["difficulty"].to_numpy(float), items["discrimination"].to_numpy(float), options
    )
    return pd.DataFrame(
        {
            "model": mat.index.to_numpy(),
            "ability": np.asarray(theta, float),
            "n_responses": mat.notna().sum(axis=1).to_numpy(),
        }
    )


def binary_matrix_from_answers(
    answers: pd.DataFrame,
    validated_items: pd.DataFrame,
    *,
    dimension: str | None = None,
    threshold: float = 4.0,
    model: str = "model",
    item: str | tuple[str, ...] = ("portrait_id", "option_id"),
    rating: str = "rating",
) -> pd.DataFrame:
    """Models x items 0/1 matrix: answer >= ``threshold`` on items validated for a value.

    Parameters
    ----------
    answers : pandas.DataFrame
        Per-item answers, one row per model and item (e.g. the mean over prompt
        variants): ``model``, ``item`` (one or several key columns), ``rating`` on the 1..6 scale.
    validated_items : pandas.DataFrame
        Items validated for a value: the ``item`` column(s) plus ``dimension`` (e.g. the
        item selection of :mod:`vp_stats.stats.validation`).
    dimension : str, optional
        Keep only the items validated for this dimension. Required when the
        table lists several dimensions.
    threshold : float
        Endorsement threshold; default 4 ("somewhat like me" or more).
    model, item, rating : str
        Column names (``item`` may be a tuple of key columns).

    Returns
    -------
    pandas.DataFrame
        Index ``model``, one column per validated item (labelled
        ``"<portrait_id>/<option_id>"``), cells 1.0 / 0.0, NaN where a model has
        no answer for the item.

    Raises
    ------
    ValueError
        Missing columns, duplicate (model, item) answers, answers outside
        1..6, no validated item answered.

    Examples
    --------
    >>> import pandas as pd
    >>> ans = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"], "portrait_id": [1001] * 4,
    ...                     "option_id": [1, 2, 1, 2], "rating": [4.5, 2.0, 3.9, 6.0]})
    >>> val = pd.DataFrame({"portrait_id": [1001, 1001], "option_id": [1, 2],
    ...                     "dimension": ["Power", "Power"]})
    >>> binary_matrix_from_answers(ans, val)  # doctest: +NORMALIZE_WHITESPACE
    item   1001/1  1001/2
    model
    m1        1.0     0.0
    m2        0.0     1.0
    """
    item_cols = (item,) if isinstance(item, str) else tuple(item)
    tables.require(answers, [model, *item_cols, rating], "answers")
    tables.require(validated_items, [*item_cols, "dimension"], "validated_items")
    val = validated_items
    if dimension is not None:
        val = val[val["dimension"] == dimension]
        if val.empty:
            raise ValueError(f"no items validated for dimension {dimension!r}")
    elif val["dimension"].nunique() > 1:
        raise ValueError(
            f"validated_items lists {val['dimension'].nunique()} dimensions; pass dimension= "
            "(a 2PL scale measures one value)"
        )
    keys = val[list(item_cols)].drop_duplicates()
    dup = answers.duplicated([model, *item_cols], keep=False)
    if dup.any():
        r = answers.loc[dup].iloc[0]
        raise ValueError(
            f"duplicate answers for model {_py(r[model])!r}, "
            f"item {tuple(_py(r[c]) for c in item_cols)}; "
            "average prompt variants first"
        )
    a = pd.to_numeric(answers[rating], errors="coerce")
    bad = answers[a.notna() & ((a < 1) | (a > 6)) | (a.isna() & answers[rating].notna())]
    if len(bad):
        r = bad.iloc[0]
        raise ValueError(
            f"model {_py(r[model])!r}, item {tuple(_py(r[c]) for c in item_cols)}: "
            f"answer {_py(r[rating])!r} "
            "is outside 1..6"
        )
    sub = answers.merge(keys, on=list(item_cols), how="inner")
    if sub.empty:
        raise ValueError("no answers on the validated items")
    label = sub[list(item_cols)].astype(str).agg("/".join, axis=1)
    score = pd.to_numeric(sub[rating], errors="coerce")
    tidy = pd.DataFrame(
        {
            "model": sub[model].to_numpy(),
            "item": label.to_numpy(),
            "response": np.where(score.isna(), np.nan, (score >= threshold).astype(float)),
        }
    )
    wide = tables.to_wide(tidy, "model", "item", "response", source="answers")
    wide = wide.reindex(
        index=pd.unique(tidy["model"]),
        columns=pd.unique(keys[list(item_cols)].astype(str).agg("/".join, axis=1)),
    )
    wide = wide.loc[:, wide.columns.isin(tidy["item"])]
    wide.index.name, wide.columns.name = "model", "item"
    return wide


class Simulated2PL(NamedTuple):
    """Simulated 2PL data with its generating parameters."""

    responses: pd.DataFrame
    items: pd.DataFrame
    abilities: pd.DataFrame


def simulate_2pl(
    n_respondents: int = 500,
    n_items: int = 20,
    *,
    seed: int = 0,
    discrimination: tuple[float, float] = (0.7, 2.0),
    difficulty_sd: float = 1.0,
) -> Simulated2PL:
    """Simulate a 2PL response matrix with known parameters (for tests and notebooks).

    Abilities ``theta ~ N(0, 1)``, difficulties ``b ~ N(0, difficulty_sd)``,
    discriminations ``a ~ U(discrimination)``, responses ``Bernoulli(sigmoid(a (theta - b)))``.

    Examples
    --------
    >>> sim = simulate_2pl(10, 3, seed=1)
    >>> sim.responses.shape, sim.items.columns.tolist()
    ((10, 3), ['item', 'discrimination', 'difficulty'])
    """
    rng = np.random.default_rng(seed)
    a = rng.uniform(*discrimination, size=n_items)
    b = rng.normal(0.0, difficulty_sd, size=n_items)
    theta = rng.normal(0.0, 1.0, size=n_respondents)
    p = 1.0 / (1.0 + np.exp(-a[None, :] * (theta[:, None] - b[None, :])))
    x = (rng.random(p.shape) < p).astype(int)
    items_lab = [f"item{i + 1:02d}" for i in range(n_items)]
    models = [f"m{j + 1:04d}" for j in range(n_respondents)]
    return Simulated2PL(
        responses=pd.DataFrame(
            x, index=pd.Index(models, name="model"), columns=pd.Index(items_lab, name="item")
        ),
        items=pd.DataFrame({"item": items_lab, "discrimination": a, "difficulty": b}),
        abilities=pd.DataFrame({"model": models, "ability": theta}),
    )
