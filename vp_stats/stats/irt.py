"""Item response theory: the 2PL for binary and the graded response model for Likert items.

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

The Likert alternative keeps the six categories: :func:`ordinal_matrix_from_answers` and
Samejima's graded response model :func:`fit_grm` (own marginal maximum likelihood with
standard errors, item and test information :func:`grm_information`, EAP abilities with
posterior SDs :func:`grm_abilities`; girth's ``grm_mml`` gives no standard errors and stops
short of the maximum, see :func:`fit_grm`). Differential item functioning of such items is in
:mod:`vp_stats.stats.dif`.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from vp_stats import tables

__all__ = [
    "fit_2pl",
    "estimate_ability",
    "binary_matrix_from_answers",
    "ordinal_matrix_from_answers",
    "simulate_2pl",
    "Simulated2PL",
    "fit_grm",
    "GRMResult",
    "grm_information",
    "grm_abilities",
    "grm_loglik",
    "grm_from_factor",
    "ordinal_codes",
    "simulate_grm",
    "SimulatedGRM",
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
    return _answer_matrix(
        answers,
        validated_items,
        dimension=dimension,
        transform=lambda x: (x >= threshold).astype(float),
        unit="2PL",
        model=model,
        item=item,
        rating=rating,
    )


def ordinal_matrix_from_answers(
    answers: pd.DataFrame,
    validated_items: pd.DataFrame,
    *,
    dimension: str | None = None,
    model: str = "model",
    item: str | tuple[str, ...] = ("portrait_id", "option_id"),
    rating: str = "rating",
) -> pd.DataFrame:
    """Models x items matrix of the 1..6 answers themselves, for the graded response model.

    The Likert alternative to :func:`binary_matrix_from_answers` (Value Compass's 2PL
    dichotomises at 4 and loses the other five category boundaries; on the released models
    several 2PL discriminations sit at girth's bound of 5): the answers, rounded to the
    nearest scale point (halves up) where they are means over prompt variants, go into
    :func:`fit_grm`.

    Parameters and errors as :func:`binary_matrix_from_answers`.

    Examples
    --------
    >>> import pandas as pd
    >>> ans = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"], "portrait_id": [1001] * 4,
    ...                     "option_id": [1, 2, 1, 2], "rating": [4.5, 2.0, 3.9, 6.0]})
    >>> val = pd.DataFrame({"portrait_id": [1001, 1001], "option_id": [1, 2],
    ...                     "dimension": ["Power", "Power"]})
    >>> ordinal_matrix_from_answers(ans, val)  # doctest: +NORMALIZE_WHITESPACE
    item   1001/1  1001/2
    model
    m1        5.0     2.0
    m2        4.0     6.0
    """
    return _answer_matrix(
        answers,
        validated_items,
        dimension=dimension,
        transform=lambda x: np.floor(x + 0.5),
        unit="graded",
        model=model,
        item=item,
        rating=rating,
    )


def _answer_matrix(
    answers: pd.DataFrame,
    validated_items: pd.DataFrame,
    *,
    dimension: str | None = None,
    transform,
    unit: str = "binary",
    model: str = "model",
    item: str | tuple[str, ...] = ("portrait_id", "option_id"),
    rating: str = "rating",
) -> pd.DataFrame:
    """The per-item answer matrix with ``transform`` applied to the ratings (see callers)."""
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
            f"(a {unit} scale measures one value)"
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
            "response": np.where(score.isna(), np.nan, transform(score.to_numpy(float))),
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


# =========================================================================== graded response model
#
# Samejima's (1969) graded response model for ordered categories 0..K-1 of item i:
#
#     P(X_i >= k | theta) = F(a_i (theta - b_ik)),   k = 1..K-1,   b_i1 < ... < b_i,K-1
#
# with F the logistic (``link="logit"``) or the standard normal distribution function
# (``link="probit"``, the normal-ogive GRM: the model of an ordinal one-factor CFA).
# Estimated by full-information marginal maximum likelihood (Bock & Aitkin 1981): theta ~ N(0, 1)
# integrated out by Gauss-Hermite quadrature; the marginal log-likelihood is maximised directly
# (L-BFGS-B on its exact gradient, Fisher's identity) and polished by Newton steps on the
# numerical Hessian of that gradient, whose inverse gives the standard errors (observed
# information).


def _link_functions(link: str):
    from scipy import special, stats

    if link == "logit":
        return special.expit, lambda z: special.expit(z) * special.expit(-z)
    if link == "probit":
        return special.ndtr, stats.norm.pdf
    raise ValueError(f"link must be 'logit' or 'probit', got {link!r}")


def _quadrature(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log weights for E[g(theta)], theta ~ N(0, 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, np.log(w / w.sum())


def _category_probs(a: float, d: np.ndarray, theta: np.ndarray, F, f):
    """P (K x Q) category probabilities and fs (K+1 x Q) densities at the boundaries.

    ``P_k = F(z_k) - F(z_k+1)`` is taken as ``F(-z_k+1) - F(-z_k)`` where ``z_k+1 > 0`` (both
    F are symmetric), so a far tail keeps its digits instead of cancelling to 0.
    """
    z = a * theta[None, :] + d[:, None]
    one, zero = np.ones((1, theta.size)), np.zeros((1, theta.size))
    Fs = np.vstack([one, F(z), zero])
    Gs = np.vstack([zero, F(-z), one])  # 1 - F(z)
    hi = np.vstack([z, np.full((1, theta.size), -np.inf)]) > 0  # z_{k+1} > 0
    P = np.where(hi, Gs[1:] - Gs[:-1], Fs[:-1] - Fs[1:])
    fs = np.vstack([zero, f(z), zero])
    return np.clip(P, 1e-300, None), fs


class _GRMData(NamedTuple):
    codes: np.ndarray  # n x items, 0..K_i-1, -1 missing
    n_cat: np.ndarray  # K_i
    onehot: list  # per item: K_i x n indicator matrix (float)


def _grm_data(codes: np.ndarray, n_cat: np.ndarray) -> _GRMData:
    onehot = []
    for i, k in enumerate(n_cat):
        m = np.zeros((int(k), codes.shape[0]))
        ok = codes[:, i] >= 0
        m[codes[ok, i], np.flatnonzero(ok)] = 1.0
        onehot.append(m)
    return _GRMData(codes, n_cat, onehot)


def _split(params: np.ndarray, n_cat: np.ndarray) -> list[np.ndarray]:
    return np.split(params, np.cumsum(n_cat)[:-1])


def _loglik_parts(ad: list, data: _GRMData, theta, logw, F, f):
    """Per-respondent marginal log-likelihood ``ll`` (n), posterior weights (n x Q) and the
    per-item ``(P, fs)`` of :func:`_category_probs`."""
    M = np.zeros((data.codes.shape[0], theta.size)) + logw[None, :]
    cache = []
    for i, p in enumerate(ad):
        P, fs = _category_probs(p[0], p[1:], theta, F, f)
        M += data.onehot[i].T @ np.log(P)
        cache.append((P, fs))
    m = M.max(axis=1, keepdims=True)
    E = np.exp(M - m)
    s = E.sum(axis=1, keepdims=True)
    return (m + np.log(s)).ravel(), E / s, cache


def _grad_ad(ad: list, data: _GRMData, theta, logw, F, f):
    """Marginal log-likelihood and its exact gradient in (a, d) per item (Fisher's identity)."""
    ll, post, cache = _loglik_parts(ad, data, theta, logw, F, f)
    grads = []
    for i, (P, fs) in enumerate(cache):
        ratio = (data.onehot[i] @ post) / P  # K x Q: expected counts / P
        g_a = np.sum(theta[None, :] * (fs[:-1] - fs[1:]) * ratio)
        g_d = np.sum(fs[1:-1] * (ratio[1:] - ratio[:-1]), axis=1)
        grads.append(np.concatenate([[g_a], g_d]))
    return float(ll.sum()), grads


def _ab_to_ad(ab: list) -> list:
    return [np.concatenate([[p[0]], -p[0] * p[1:]]) for p in ab]


def _grad_ab(x: np.ndarray, data: _GRMData, theta, logw, F, f):
    """Gradient of the marginal log-likelihood in the natural (a, b_1..b_K-1) parameters."""
    ab = _split(x, data.n_cat)
    _, g = _grad_ad(_ab_to_ad(ab), data, theta, logw, F, f)
    out = []
    for p, gi in zip(ab, g, strict=True):
        a, b = p[0], p[1:]
        out.append(np.concatenate([[gi[0] - np.dot(gi[1:], b)], -a * gi[1:]]))
    return np.concatenate(out)


def _hessian_ab(x, data, theta, logw, F, f) -> np.ndarray:
    """Numerical Hessian (central differences of the exact gradient, symmetrised)."""
    from statsmodels.tools.numdiff import approx_fprime

    H = approx_fprime(x, _grad_ab, args=(data, theta, logw, F, f), centered=True)
    return (H + H.T) / 2


def _fit_grm_arrays(codes, n_cat, link, n_quadrature, max_iter, tol):
    from scipy import optimize, special, stats

    F, f = _link_functions(link)
    theta, logw = _quadrature(n_quadrature)
    data = _grm_data(codes, n_cat)
    inv = special.logit if link == "logit" else stats.norm.ppf
    # starting values: a = 1, d_k from the marginal proportions P(X >= k) (attenuated by the
    # variance of a theta that is integrated out)
    scale = np.sqrt(1 + (1.0 if link == "probit" else 1 / 1.702**2))
    start = []
    for i, k in enumerate(n_cat):
        x = codes[codes[:, i] >= 0, i]
        pk = np.array([(x >= j).mean() for j in range(1, int(k))])
        d = inv(np.clip(pk, 0.01, 0.99)) * scale
        d = np.maximum.accumulate(d[::-1])[::-1] + 0  # non-increasing
        u = np.log(np.maximum(-np.diff(d), 0.05))
        start.append(np.concatenate([[1.0, d[0]], u]))

    def unpack(v):
        out = []
        for p in _split(v, n_cat):
            d = p[1] - np.concatenate([[0.0], np.cumsum(np.exp(p[2:]))])
            out.append(np.concatenate([[p[0]], d]))
        return out

    n_total = codes.shape[0]

    def objective(v):
        ad = unpack(v)
        ll, g = _grad_ad(ad, data, theta, logw, F, f)
        gv = []
        for p, gi in zip(_split(v, n_cat), g, strict=True):
            gd = gi[1:]
            tail = np.cumsum(gd[::-1])[::-1]  # sum over j >= l of dLL/dd_j
            gv.append(np.concatenate([[gi[0], tail[0]], -np.exp(p[2:]) * tail[1:]]))
        return -ll / n_total, -np.concatenate(gv) / n_total

    res = optimize.minimize(
        objective,
        np.concatenate(start),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-15, "maxcor": 30},
    )
    ad = unpack(res.x)
    ab = np.concatenate([np.concatenate([[p[0]], -p[1:] / p[0]]) for p in ad])
    # Newton polish in (a, b): the Hessian is needed for the standard errors anyway
    H = None
    for _ in range(5):
        g = _grad_ab(ab, data, theta, logw, F, f)
        if np.max(np.abs(g)) < tol:
            break
        H = _hessian_ab(ab, data, theta, logw, F, f)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        cand = ab - step
        if not all(np.all(np.diff(-p[0] * p[1:]) < 0) for p in _split(cand, n_cat)):
            break
        ab, H = cand, None
    if H is None:
        H = _hessian_ab(ab, data, theta, logw, F, f)
    g = _grad_ab(ab, data, theta, logw, F, f)
    if sum(p[0] for p in _split(ab, n_cat)) < 0:  # theta's sign: most items load positively
        ab, g = -ab, -g  # (a, b) -> (-a, -b) is theta -> -theta; the Hessian is unchanged
    ll, _ = _grad_ad(_ab_to_ad(_split(ab, n_cat)), data, theta, logw, F, f)
    return ab, H, ll, float(np.max(np.abs(g))), res


@dataclass(frozen=True)
class GRMResult(tables.Result):
    """A fitted graded response model: item parameters with standard errors, and what follows.

    ``table`` (:meth:`summary_frame`) is tidy, one row per item parameter: ``item``,
    ``parameter`` (``"a"``, ``"b1"`` ... ``"b<K-1>"``), ``estimate``, ``se``. :attr:`items`
    is the wide form (one row per item). ``notes`` holds ``link``, ``loglik`` (marginal
    log-likelihood at the estimates), ``n_participants``, ``n_quadrature``, ``converged``,
    ``max_abs_gradient`` and ``estimator``.
    """

    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    categories: Mapping[str, tuple] = field(default_factory=dict)
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    data: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def link(self) -> str:
        return str(self.notes["link"])

    def information(self, theta=None) -> pd.DataFrame:
        """Item and test information over ``theta`` (default -4..4 in 161 steps).

        ``I_i(theta) = sum_k P'_ik(theta)^2 / P_ik(theta)`` (Samejima 1969; Baker & Kim 2004,
        eq. 8.18), the test information is the sum over items.

        Returns
        -------
        pandas.DataFrame
            ``theta, item, information``; the rows with ``item == "test"`` are the test
            information.
        """
        return grm_information(self.items, theta, link=self.link)

    def abilities(self, data: pd.DataFrame | None = None, *, n_quadrature: int = 121):
        """EAP abilities and posterior SDs (:func:`grm_abilities`) of ``data`` (default: the
        fitted data)."""
        return grm_abilities(
            self.data if data is None else data,
            self.items,
            categories=self.categories,
            link=self.link,
            n_quadrature=n_quadrature,
        )

    def expected_score(self, theta=None) -> pd.DataFrame:
        """Expected item score (in category positions 0..K-1) over ``theta``:
        ``theta, item, expected``."""
        F, f = _link_functions(self.link)
        theta = np.linspace(-4, 4, 161) if theta is None else np.asarray(theta, float)
        rows = []
        for _, a, b in _item_params(self.items):
            P, _ = _category_probs(a, -a * b, theta, F, f)
            rows.append(np.arange(P.shape[0]) @ P)
        items = self.items["item"].tolist()
        return pd.DataFrame(
            {
                "theta": np.tile(theta, len(items)),
                "item": np.repeat(items, theta.size),
                "expected": np.concatenate(rows),
            }
        )


def _item_params(items: pd.DataFrame):
    """(item, a, b array) per row of a wide GRM item table (columns a, b1, b2, ...)."""
    bcols = sorted(
        (c for c in items.columns if str(c).startswith("b") and str(c)[1:].isdigit()),
        key=lambda c: int(str(c)[1:]),
    )
    for _, r in items.iterrows():
        b = r[bcols].to_numpy(dtype=float)
        yield r["item"], float(r["a"]), b[~np.isnan(b)]


def ordinal_codes(
    data: pd.DataFrame,
    *,
    max_categories: int = 20,
    source: str = "data",
    categories: Mapping[str, tuple] | None = None,
) -> tuple[np.ndarray, dict[str, tuple]]:
    """Ordinal item columns as category positions 0..K-1 (missing -1), checked.

    Each item's categories are its observed distinct values in increasing order (an
    unobserved value in between is not a category, as in mirt), unless ``categories``
    gives them. Values must be integers; an item needs 2 to ``max_categories`` categories.

    Raises
    ------
    vp_stats.errors.DataFormatError
        Naming ``source``, the row (index label) and the item: a non-integer or non-numeric
        value, a single category, more than ``max_categories`` categories, a value not
        among the given ``categories``.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, cats = ordinal_codes(pd.DataFrame({"q1": [1, 3, None, 3]}))
    >>> codes[:, 0].tolist(), cats["q1"]
    ([0, 1, -1, 1], (1, 3))
    """
    from vp_stats.errors import DataFormatError

    codes = np.full(data.shape, -1, dtype=int)
    cats: dict[str, tuple] = {}
    for j, col in enumerate(data.columns):
        raw = data[col]
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = (np.isnan(x) & raw.notna().to_numpy()) | (~np.isnan(x) & (x != np.round(x)))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                source,
                f"row {_py(data.index[r])!r}",
                str(col),
                f"value {_py(raw.iloc[r])!r} is not an integer category (ordinal items take "
                "whole numbers)",
            )
        ok = ~np.isnan(x)
        values = (
            tuple(categories[col])
            if categories is not None
            else tuple(int(v) for v in np.unique(x[ok]))
        )
        if categories is None and len(values) < 2:
            raise DataFormatError(
                source,
                None,
                str(col),
                f"a single category ({values[0] if values else 'no answers'}): the item carries "
                "no information; leave it out",
            )
        if len(values) > max_categories:
            raise DataFormatError(
                source,
                None,
                str(col),
                f"{len(values)} distinct values, more than {max_categories}: not an ordinal "
                "rating item",
            )
        pos = {v: i for i, v in enumerate(values)}
        for r in np.flatnonzero(ok):
            k = pos.get(int(x[r]))
            if k is None:
                raise DataFormatError(
                    source,
                    f"row {_py(data.index[r])!r}",
                    str(col),
                    f"value {int(x[r])} is not one of the item's categories {list(values)}",
                )
            codes[r, j] = k
        cats[str(col)] = values
    return codes, cats


def fit_grm(
    data: pd.DataFrame,
    *,
    items: list[str] | None = None,
    participant: str = "participant",
    link: str = "logit",
    n_quadrature: int = 61,
    max_iter: int = 2000,
    source: str = "data",
) -> GRMResult:
    """Fit Samejima's graded response model by full-information marginal maximum likelihood.

    ``P(X_i >= k | theta) = F(a_i (theta - b_ik))`` for the ordered categories of item ``i``
    (``k = 1 .. K_i - 1``, ``b_i1 < ... < b_i,K-1``), ``theta ~ N(0, 1)``; ``F`` is the
    logistic function (``link="logit"``, the metric of mirt's ``graded``) or the standard
    normal distribution function (``link="probit"``, the normal-ogive GRM, the model of a
    one-factor ordinal CFA: :func:`grm_from_factor`).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one column per item (whole-number categories such as 1..6;
        missing allowed, taken as missing at random), optionally a ``participant`` column.
    items : list of str, optional
        The item columns (default: every column but ``participant``).
    participant : str
        Column naming the respondents (used if present; else the index).
    link : {"logit", "probit"}
    n_quadrature : int
        Gauss-Hermite nodes of the marginal likelihood (61, as mirt's default for one
        dimension).
    max_iter : int
        L-BFGS-B iterations.
    source : str
        Name of the data in error messages (the file, for the command line).

    Returns
    -------
    GRMResult
        Item parameters with standard errors (``table``, ``items``), the marginal
        log-likelihood and convergence in ``notes``; :meth:`GRMResult.information`,
        :meth:`GRMResult.abilities`, :meth:`GRMResult.expected_score`.

    Notes
    -----
    Why not ``girth.grm_mml``: girth (used for the 2PL, :func:`fit_2pl`) gives no standard
    errors (only a bootstrap), bounds the discrimination to 0.25..5 (the bound several released
    Value Compass discriminations sit at), and its alternating one-item-at-a-time updates with
    a fixed iteration cap stop short of the maximum: on psych's bfi Neuroticism items its
    estimates have a lower marginal log-likelihood than these
    (``tests/stats/test_irt_grm.py::test_girth_stops_short_of_the_maximum``). Here the
    marginal log-likelihood (Bock & Aitkin 1981) is maximised directly with scipy's
    L-BFGS-B on its exact gradient (Fisher's identity: the posterior-weighted complete-data
    score), then polished by Newton steps in the natural ``(a, b)`` parameters on the
    Hessian of that gradient by central differences (statsmodels' ``approx_fprime``). The
    standard errors are the square roots of the diagonal of the inverse of that Hessian
    (observed information), as mirt's ``SE.type = "Richardson"``/"complete".

    Each item's categories are its observed distinct values (:func:`ordinal_codes`); the
    thresholds ``b1 ...`` are the boundaries between successive categories.

    Cost: the observed information takes ``2 p`` gradient evaluations (``p`` parameters, 6 per
    six-category item), each linear in respondents x items x nodes: a 25-item, 2,800-respondent
    bfi fit takes seconds, a few hundred items minutes. Fits run on one BLAS thread
    (:func:`vp_stats.stats.resampling.single_threaded_blas`; on 2 busy cores a 5-item bfi fit
    took 87 s with OpenBLAS threads and 6 s without).

    References
    ----------
    Samejima, F. (1969). Estimation of latent ability using a response pattern of graded
    scores. Psychometrika Monograph Supplement, 17.
    Bock, R. D., & Aitkin, M. (1981). Psychometrika, 46, 443-459.
    Baker, F. B., & Kim, S.-H. (2004). Item Response Theory: Parameter Estimation
    Techniques (2nd ed.), ch. 8.

    Examples
    --------
    >>> sim = simulate_grm(n_participants=400, n_items=4, seed=1)
    >>> res = fit_grm(sim.responses)
    >>> res.items.columns[:4].tolist()
    ['item', 'a', 'a_se', 'b1']
    >>> bool((abs(res.items.a - sim.items.a) < 4 * res.items.a_se).all())
    True
    """
    if link not in ("logit", "probit"):
        raise ValueError(f"link must be 'logit' or 'probit', got {link!r}")
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("data must be a non-empty pandas DataFrame")
    frame = data.set_index(participant) if participant in data.columns else data
    if items is None:
        items = [c for c in frame.columns]
    absent = [c for c in items if c not in frame.columns]
    if absent:
        from vp_stats.errors import DataFormatError

        raise DataFormatError(source, None, str(absent[0]), "no such item column")
    if len(items) < 2:
        raise ValueError(f"a graded response model needs at least 2 items, got {len(items)}")
    frame = frame[list(items)]
    codes, cats = ordinal_codes(frame, source=source)
    keep = (codes >= 0).any(axis=1)
    codes, frame = codes[keep], frame.loc[keep]
    n_cat = np.array([len(cats[str(c)]) for c in items])
    from vp_stats.stats.resampling import single_threaded_blas

    with single_threaded_blas():  # small products: BLAS threads only slow them (x14 when busy)
        ab, H, ll, gmax, opt = _fit_grm_arrays(codes, n_cat, link, n_quadrature, max_iter, 1e-6)
    try:
        cov = np.linalg.inv(-H)
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        cov = np.full(H.shape, np.nan)
        se = np.full(H.shape[0], np.nan)
    kmax = int(n_cat.max())
    rows, tidy = [], []
    for it, p, s, k in zip(items, _split(ab, n_cat), _split(se, n_cat), n_cat, strict=True):
        row = {"item": str(it), "a": p[0], "a_se": s[0]}
        tidy.append((str(it), "a", p[0], s[0]))
        for j in range(1, kmax):
            row[f"b{j}"] = p[j] if j < k else np.nan
            row[f"b{j}_se"] = s[j] if j < k else np.nan
            if j < k:
                tidy.append((str(it), f"b{j}", p[j], s[j]))
        row["n_categories"] = int(k)
        row["n_responses"] = int((codes[:, list(items).index(it)] >= 0).sum())
        rows.append(row)
    wide = pd.DataFrame(rows)
    order = ["item", "a", "a_se", *[f"b{j}" for j in range(1, kmax)]]
    order += [f"{c}_se" for c in order[3:]] + ["n_categories", "n_responses"]
    converged = bool(np.isfinite(ll) and gmax < 1e-3 and np.all(np.isfinite(se)))
    if not converged:
        warnings.warn(
            f"the GRM fit may not have converged (max |gradient| {gmax:.2g}, "
            f"{int(np.isnan(se).sum())} standard errors undefined)",
            RuntimeWarning,
            stacklevel=2,
        )
    return GRMResult(
        table=pd.DataFrame(tidy, columns=["item", "parameter", "estimate", "se"]),
        notes={
            "link": link,
            "loglik": ll,
            "n_participants": int(codes.shape[0]),
            "n_quadrature": n_quadrature,
            "converged": converged,
            "max_abs_gradient": gmax,
            "estimator": "marginal maximum likelihood (Gauss-Hermite), observed-information SEs",
        },
        items=wide[order],
        categories=cats,
        covariance=cov,
        data=frame,
    )


def _codes_for(frame: pd.DataFrame, items: pd.DataFrame, categories) -> np.ndarray:
    """Category positions of ``frame``'s items, checked against the items' category counts."""
    codes, cats = ordinal_codes(frame, categories=categories)
    for it, _, b in _item_params(items):
        if len(cats[str(it)]) != b.size + 1:
            raise ValueError(
                f"item {it!r}: the data show categories {list(cats[str(it)])} but the item "
                f"parameters have {b.size + 1}; pass categories= (GRMResult.categories)"
            )
    return codes


def grm_loglik(
    data: pd.DataFrame,
    items: pd.DataFrame,
    *,
    link: str = "logit",
    n_quadrature: int = 61,
    categories: Mapping[str, tuple] | None = None,
) -> float:
    """Marginal log-likelihood of wide ordinal ``data`` under GRM item parameters ``items``.

    ``items`` has ``item, a, b1, b2, ...`` (as :attr:`GRMResult.items`); the categories are
    the observed values of each item unless ``categories`` gives them.
    """
    F, f = _link_functions(link)
    theta, logw = _quadrature(n_quadrature)
    cols = items["item"].tolist()
    codes = _codes_for(data[cols], items, categories)
    n_cat = np.array([b.size + 1 for _, _, b in _item_params(items)])
    params = [np.concatenate([[a], -a * b]) for _, a, b in _item_params(items)]
    ll, _ = _grad_ad(params, _grm_data(codes, n_cat), theta, logw, F, f)
    return ll


def grm_information(items: pd.DataFrame, theta=None, *, link: str = "logit") -> pd.DataFrame:
    """Item and test information of GRM items over ``theta`` (default -4..4, 161 points).

    ``I_i(theta) = sum_k (dP_ik/dtheta)^2 / P_ik`` with ``dP_ik/dtheta = a_i (f(z_k) -
    f(z_k+1))``, ``z_k = a_i (theta - b_ik)`` (Samejima 1969; Baker & Kim 2004, ch. 8); the
    test information is the sum over the items (its inverse square root is the standard
    error of the maximum-likelihood ability).

    Parameters
    ----------
    items : pandas.DataFrame
        ``item, a, b1, b2, ...`` (:attr:`GRMResult.items`).

    Returns
    -------
    pandas.DataFrame
        ``theta, item, information``; ``item == "test"`` rows hold the test information.

    Examples
    --------
    >>> import pandas as pd
    >>> one = pd.DataFrame({"item": ["q"], "a": [2.0], "b1": [0.0]})  # a 2PL item
    >>> info = grm_information(one, [0.0])
    >>> float(info.information.iloc[0])  # a^2 p (1 - p) at p = 0.5
    1.0
    """
    F, f = _link_functions(link)
    theta = np.linspace(-4, 4, 161) if theta is None else np.asarray(theta, float).ravel()
    names, infos = [], []
    for it, a, b in _item_params(items):
        P, fs = _category_probs(a, -a * b, theta, F, f)
        dP = a * (fs[:-1] - fs[1:])
        infos.append(np.sum(dP**2 / P, axis=0))
        names.append(it)
    infos.append(np.sum(infos, axis=0))
    names.append("test")
    return pd.DataFrame(
        {
            "theta": np.tile(theta, len(names)),
            "item": np.repeat(names, theta.size),
            "information": np.concatenate(infos),
        }
    )


def grm_abilities(
    data: pd.DataFrame,
    items: pd.DataFrame,
    *,
    categories: Mapping[str, tuple] | None = None,
    link: str = "logit",
    participant: str = "participant",
    n_quadrature: int = 121,
) -> pd.DataFrame:
    """EAP abilities with posterior SDs under GRM item parameters (prior N(0, 1)).

    ``theta_EAP = E[theta | x]``, ``sd = sqrt(Var[theta | x])`` by Gauss-Hermite quadrature
    (Bock & Mislevy 1982); missing answers are left out of a respondent's likelihood.

    Returns
    -------
    pandas.DataFrame
        ``participant`` (the index of ``data`` or its ``participant`` column), ``ability``,
        ``ability_sd``, ``n_responses``.

    Examples
    --------
    >>> import pandas as pd
    >>> it = pd.DataFrame({"item": ["q1", "q2"], "a": [1.5, 1.5], "b1": [-1.0, -1.0],
    ...                    "b2": [1.0, 1.0]})
    >>> x = pd.DataFrame({"q1": [1, 3], "q2": [1, 3]})
    >>> ab = grm_abilities(x, it, categories={"q1": (1, 2, 3), "q2": (1, 2, 3)})
    >>> bool(ab.ability[0] < 0 < ab.ability[1]), bool((ab.ability_sd < 1).all())
    (True, True)
    """
    F, f = _link_functions(link)
    frame = data.set_index(participant) if participant in data.columns else data
    cols = items["item"].tolist()
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise ValueError(f"items not in the data: {absent[:10]}")
    codes = _codes_for(frame[cols], items, categories)
    theta, logw = _quadrature(n_quadrature)
    L = np.zeros((codes.shape[0], theta.size))
    for j, (_, a, b) in enumerate(_item_params(items)):
        P, _ = _category_probs(a, -a * b, theta, F, f)
        ok = codes[:, j] >= 0
        L[ok] += np.log(P[codes[ok, j]])
    L += logw[None, :]
    L -= L.max(axis=1, keepdims=True)
    w = np.exp(L)
    w /= w.sum(axis=1, keepdims=True)
    mean = w @ theta
    sd = np.sqrt(np.maximum(w @ theta**2 - mean**2, 0.0))
    return pd.DataFrame(
        {
            "participant": frame.index.to_numpy(),
            "ability": mean,
            "ability_sd": sd,
            "n_responses": (codes >= 0).sum(axis=1),
        }
    )


def grm_from_factor(loadings, thresholds, *, link: str = "probit") -> tuple[np.ndarray, np.ndarray]:
    """GRM ``(a, b)`` from the standardised loadings and thresholds of an ordinal one-factor CFA.

    With ``y* = lambda theta + e``, ``Var(y*) = 1`` (lavaan's ``std.lv = TRUE``, delta
    parameterisation) and ``X >= k`` iff ``y* > tau_k``: ``P(X >= k | theta) =
    Phi((lambda theta - tau_k) / sqrt(1 - lambda^2))``, i.e. the normal-ogive GRM with
    ``a = lambda / sqrt(1 - lambda^2)`` and ``b_k = tau_k / lambda`` (Takane & de Leeuw 1987).
    ``link="logit"`` multiplies ``a`` by 1.702, the scaling that makes the logistic close to
    the normal ogive (Camilli 1994); that is an approximation.

    Parameters
    ----------
    loadings : array, one per item
    thresholds : 2-D array, items x (K-1)

    Examples
    --------
    >>> a, b = grm_from_factor([0.6], [[-0.3, 0.9]])
    >>> round(float(a[0]), 4), b.round(4).tolist()
    (0.75, [[-0.5, 1.5]])
    """
    lam = np.asarray(loadings, float)
    tau = np.asarray(thresholds, float)
    a = lam / np.sqrt(1 - lam**2)
    b = tau / lam[:, None]
    if link == "logit":
        a = 1.702 * a
    elif link != "probit":
        raise ValueError(f"link must be 'logit' or 'probit', got {link!r}")
    return a, b


class SimulatedGRM(NamedTuple):
    """Simulated graded responses with their generating parameters."""

    responses: pd.DataFrame
    items: pd.DataFrame
    abilities: pd.DataFrame


def simulate_grm(
    n_participants: int = 1000,
    n_items: int = 6,
    n_categories: int = 6,
    *,
    seed: int = 0,
    discrimination: tuple[float, float] = (0.8, 2.2),
    link: str = "logit",
) -> SimulatedGRM:
    """Simulate graded responses (categories 1..K) with known GRM parameters.

    ``theta ~ N(0, 1)``, ``a ~ U(discrimination)``, thresholds the sorted draws of
    ``N(0, 1.2)`` spread to at least 0.3 apart.

    Examples
    --------
    >>> sim = simulate_grm(5, 3, 4, seed=2)
    >>> sim.responses.shape, sim.items.columns.tolist()
    ((5, 3), ['item', 'a', 'b1', 'b2', 'b3'])
    """
    F, f = _link_functions(link)
    rng = np.random.default_rng(seed)
    a = rng.uniform(*discrimination, size=n_items)
    b = np.sort(rng.normal(0.0, 1.2, size=(n_items, n_categories - 1)), axis=1)
    for j in range(1, n_categories - 1):
        b[:, j] = np.maximum(b[:, j], b[:, j - 1] + 0.3)
    theta = rng.normal(size=n_participants)
    pstar = F(a[None, :, None] * (theta[:, None, None] - b[None, :, :]))  # n x items x K-1
    u = rng.random((n_participants, n_items, 1))
    x = 1 + (u < pstar).sum(axis=2)
    names = [f"item{i + 1:02d}" for i in range(n_items)]
    people = [f"p{j + 1:05d}" for j in range(n_participants)]
    items = pd.DataFrame({"item": names, "a": a})
    for j in range(n_categories - 1):
        items[f"b{j + 1}"] = b[:, j]
    return SimulatedGRM(
        responses=pd.DataFrame(
            x, index=pd.Index(people, name="participant"), columns=pd.Index(names, name="item")
        ),
        items=items,
        abilities=pd.DataFrame({"participant": people, "ability": theta}),
    )
