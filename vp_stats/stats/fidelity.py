"""Distribution fidelity: a model's answer distribution per item against real people's.

Per item, the model side's distribution over the answer categories 1..K is the
mean of the recorded answer probabilities ``p_1..p_K`` where every answer of the
item has them (logprobs mode: the exact distribution), else the histogram of the
answers; the column ``distribution_from`` says which (``"probabilities"`` or
``"histogram"``). The human side is the histogram of the raters' answers.

Measures (all on the ordinal support 1..K):

* ``w1``: the 1-Wasserstein (earth mover's) distance,
  :math:`W_1 = \\sum_{k=1}^{K-1} |F_\\text{model}(k) - F_\\text{human}(k)|` (unit spacing;
  the same number as
  :func:`scipy.stats.wasserstein_distance` on the category values with the
  probabilities as weights);
* ``representativeness`` :math:`= 1 - W_1 / (K - 1)`: OpinionQA's measure (Santurkar et al.
  2023, "Whose opinions do language models reflect?", ICML: ``1 - WD / (N - 1)``
  for an ordinal question with N answers, so 1 is identical and 0 the two ends);
* ``js_distance``: the Jensen-Shannon *distance* in base 2 (the square root of the
  divergence, in [0, 1]; :func:`scipy.spatial.distance.jensenshannon`), and
  ``similarity = 1 - js_distance``: GlobalOpinionQA's measure (Durmus et al. 2023,
  "Towards measuring the representation of subjective global opinions in language
  models", which reports ``1 - Jensen-Shannon distance``).

A model is only as close to people as people are to each other; the noise floor
says how close that is:

* ``split_half_*``: the distance between two random halves of an item's raters
  (``n_splits`` random splits, mean);
* ``floor_*``: the expected distance of a perfect model (answers drawn from the
  human distribution) from the raters: both sides drawn from the raters' empirical
  distribution, the model side at its own n (no draw where the model side is
  exact probabilities) and the human side at the raters' n (``n_boot`` draws). At
  ``n_model = n_human = n / 2`` this is the split-half design (the two estimates agree
  within Monte Carlo error; tests/stats/test_fidelity.py), and it is the floor that
  fits the comparison actually made (model at its n against all raters).

Survey weights (``weight=``, a column of the human side: e.g. the ESS ``anweight``,
:func:`vp_stats.io.ess.load_ess_answers`). The human distribution is then the normalised
weighted histogram (``count_c = n * sum_{answer c} w / sum w``: the weighted histogram on
the scale of the raw n), and the human n is reported twice: ``n_human`` (raters) and
``n_human_effective``, Kish's effective n ``(sum w)^2 / sum w^2`` (Kish 1965, *Survey
Sampling*, Wiley; Kish 1992, "Weighting for unequal P_i", J. Off. Stat. 8:183-200).
The floors follow the weights: split halves compare the two halves' weighted histograms,
and the bootstrap floor draws the model side's answers as respondents drawn with
probability proportional to their weight (a multinomial draw at the model side's n from
the weighted histogram: what a perfect model of the weighted population answers) and the
human side by resampling the raters with replacement, each carrying its weight (Rao & Wu
1988; :func:`bootstrap_floor`). Two such weighted resamples of n / 2 raters reproduce the
weighted split-half floor within Monte Carlo error
(tests/stats/test_fidelity_weights.py). Without weights, or when every weight is equal
(then the weighted histogram is the histogram), every function takes the unweighted path
and returns exactly today's table (no ``n_human_effective`` column without ``weight=``).

Baselines: ``uniform_*`` (every category ``1/K``) and ``average_*`` (the human
answer distribution averaged over all items: a model that knows how people answer
in general but not this item; the human-average baseline of OpinionQA). The
normalised score (:func:`summarise_fidelity`) puts a model between the baseline
(0) and the floor (1): ``(d_baseline - d_model) / (d_baseline - d_floor)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from vp_stats import schema, tables
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci

__all__ = [
    "ordinal_w1",
    "js_distance",
    "representativeness",
    "model_distributions",
    "human_distributions",
    "kish_effective_n",
    "split_half_floor",
    "bootstrap_floor",
    "weighted_resample_counts",
    "ItemFidelity",
    "item_fidelity",
    "FIDELITY_MEASURES",
    "summarise_fidelity",
    "group_distributions",
    "group_distances",
    "value_groups",
    "Steerability",
    "steerability",
]

_LOW, _HIGH = schema.LIKERT_MIN, schema.LIKERT_MAX

#: The distances of :func:`item_fidelity`, each with its floor and baselines.
FIDELITY_MEASURES = ("w1", "js_distance")


def _normalise(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    s = p.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / s


def ordinal_w1(p, q) -> np.ndarray:
    """1-Wasserstein distance of distributions over the ordinal categories 1..K (last axis).

    ``W1 = sum_{k<K} |F_p(k) - F_q(k)|`` with unit spacing between categories; the
    inputs are normalised (counts allowed). Hand-written because
    :func:`scipy.stats.wasserstein_distance` takes one pair per call and the noise
    floors need millions of pairs; tests/stats/test_fidelity.py checks it against
    scipy.

    Examples
    --------
    >>> float(ordinal_w1([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]))
    5.0
    >>> float(ordinal_w1([2, 2, 0], [0, 1, 1]))
    1.0
    """
    a, b = _normalise(p), _normalise(q)
    d = np.cumsum(a - b, axis=-1)[..., :-1]
    return np.abs(d).sum(axis=-1)


def js_distance(p, q) -> np.ndarray:
    """Jensen-Shannon distance, base 2 (in [0, 1]): :func:`scipy.spatial.distance.jensenshannon`.

    The distance is the square root of the Jensen-Shannon divergence; inputs are
    normalised along the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> float(js_distance([1, 0], [0, 1]))
    1.0
    >>> round(float(js_distance([1, 1], [1, 0]) ** 2), 4)  # the divergence
    0.3113
    >>> c = np.array([0, 1, 5, 44, 6, 4])
    >>> float(js_distance(c / 60, c))  # scipy: nan (the square root of a rounded -1e-17)
    0.0
    """
    p, q = np.asarray(p, float), np.asarray(q, float)
    with np.errstate(invalid="ignore"):
        d = np.asarray(jensenshannon(p, q, base=2, axis=-1))
    # scipy takes the square root of a divergence that rounds to -1e-17 for equal inputs: NaN
    valid = (p.sum(axis=-1) > 0) & (q.sum(axis=-1) > 0)
    return np.where(np.isnan(d) & valid, 0.0, d)


def representativeness(p, q) -> np.ndarray:
    """OpinionQA's representativeness ``1 - W1 / (K - 1)`` (Santurkar et al. 2023).

    Examples
    --------
    >>> float(representativeness([1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]))
    0.0
    """
    k = np.shape(p)[-1]
    return 1.0 - ordinal_w1(p, q) / (k - 1)


def _item_keys(df: pd.DataFrame) -> list[str]:
    if {"portrait_id", "option_id"} <= set(df.columns):
        return ["portrait_id", "option_id"]
    if "item" in df.columns:
        return ["item"]
    raise ValueError(
        f"no item columns: expected portrait_id and option_id, or item; columns are "
        f"{list(df.columns)}"
    )


def _split_counts(x: np.ndarray, k: int, low: int) -> np.ndarray:
    """One row of category weights per value: integer values one-hot, others split."""
    lo = np.floor(x).astype(int)
    frac = x - lo
    out = np.zeros((len(x), k + 1))
    rows = np.arange(len(x))
    np.add.at(out, (rows, lo - low), 1 - frac)
    np.add.at(out, (rows, np.minimum(lo - low + 1, k)), frac)
    return out[:, :k]


def _checked_values(df: pd.DataFrame, rating: str, low: int, high: int, what: str) -> np.ndarray:
    x = pd.to_numeric(df[rating], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(x) & ((x < low) | (x > high))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what}: row {i}: rating {x[i]:g} outside {low}-{high}")
    return x


def _survey_weights(df: pd.DataFrame, weight: str | None, what: str) -> np.ndarray | None:
    """The rows' survey weights (finite, >= 0), or None without ``weight``."""
    if weight is None:
        return None
    tables.require(df, [weight], what, numeric=[weight])
    w = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}: row {i}: field {weight!r}: weight {w[i]:g} is not a finite number >= 0"
        )
    return w


def _varying(w: np.ndarray | None) -> np.ndarray | None:
    """``w`` when its values differ; None when absent or all equal (the unweighted path)."""
    if w is None or len(w) == 0 or np.all(w == w[0]):
        return None
    return w


def kish_effective_n(weights) -> float:
    """Kish's effective sample size of a weighted sample: ``(sum w)^2 / sum w^2``.

    Kish (1965), *Survey Sampling*, Wiley; Kish (1992), "Weighting for unequal
    P_i", Journal of Official Statistics 8:183-200 (the design effect of weighting
    ``n sum w^2 / (sum w)^2``). Equals n for equal weights.

    Examples
    --------
    >>> kish_effective_n([1, 1, 1, 1])
    4.0
    >>> kish_effective_n([1, 1, 1, 3])
    3.0
    """
    w = np.asarray(weights, dtype=float)
    s2 = float((w * w).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def model_distributions(
    answers: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
) -> pd.DataFrame:
    """Per item (and ``by`` group): the model side's answer distribution and where it came from.

    Where every answered row of an item has the answer probabilities ``p_1..p_K``
    (logprobs mode), the distribution is their mean over the rows (the mixture
    over personas, variants or models) and ``distribution_from`` is
    ``"probabilities"``; otherwise it is the histogram of ``rating``
    (``"histogram"``; a non-integer rating, e.g. a mean over variants, is split
    between its two neighbouring categories, which keeps the mean). Rows with
    neither a rating nor probabilities are left out (failed answers).

    Returns
    -------
    DataFrame
        ``by..., <item keys>, distribution_from, n_model, q_1..q_K`` (``q``: the
        distribution, summing to 1; ``n_model``: the answers pooled).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [2, 2],
    ...                   "p_1": 0.0, "p_2": [1.0, 0.5], "p_3": [0.0, 0.5], "p_4": 0.0,
    ...                   "p_5": 0.0, "p_6": 0.0})
    >>> d = model_distributions(a)
    >>> d[["distribution_from", "n_model", "q_2", "q_3"]].values.tolist()
    [['probabilities', 2, 0.75, 0.25]]
    >>> model_distributions(a.drop(columns="p_1"))[["distribution_from", "q_2"]].values.tolist()
    [['histogram', 1.0]]
    """
    low, high = scale
    k = high - low + 1
    keys = [*by, *_item_keys(answers)]
    tables.require(answers, [*keys, rating], "answers")
    pcols = [f"p_{c}" for c in range(1, k + 1)]
    x = _checked_values(answers, rating, low, high, "answers")
    has_p = set(pcols) <= set(answers.columns)
    P = answers[pcols].to_numpy(dtype=float) if has_p else np.full((len(answers), k), np.nan)
    p_ok = np.isfinite(P).all(axis=1) & (np.nansum(P, axis=1) > 0)
    keep = p_ok | ~np.isnan(x)
    df = answers.loc[keep, keys].reset_index(drop=True)
    x, P, p_ok = x[keep], P[keep], p_ok[keep]
    H = np.zeros((len(x), k))
    H[~np.isnan(x)] = _split_counts(x[~np.isnan(x)], k, low)
    P = _normalise(np.where(p_ok[:, None], P, 0.0))
    gid = df.groupby(keys, sort=True).ngroup().to_numpy()
    n_g = int(gid.max()) + 1 if len(gid) else 0
    n = np.bincount(gid, minlength=n_g)
    all_p = np.bincount(gid, weights=p_ok.astype(float), minlength=n_g) == n
    out = df.groupby(keys, sort=True).size().reset_index()[keys]
    out["distribution_from"] = np.where(all_p, "probabilities", "histogram")
    out["n_model"] = n
    Q = np.empty((n_g, k))
    for c in range(k):
        hp = np.bincount(gid, weights=np.nan_to_num(P[:, c]), minlength=n_g)
        hh = np.bincount(gid, weights=H[:, c], minlength=n_g)
        Q[:, c] = np.where(all_p, hp, hh)
    Q = _normalise(Q)
    for c in range(k):
        out[f"q_{c + 1}"] = Q[:, c]
    return out


def human_distributions(
    ratings: pd.DataFrame,
    *,
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    weight: str | None = None,
) -> pd.DataFrame:
    """Per item: the raters' answer counts ``count_1..count_K`` and ``n_human``.

    With ``weight`` (a column of survey weights) the counts are the weighted histogram
    on the scale of the raw n, ``count_c = n * sum_{answer c} w / sum w`` (normalised:
    the weighted answer distribution), and ``n_human_effective`` is Kish's effective n
    ``(sum w)^2 / sum w^2`` of the item's raters (:func:`kish_effective_n`). Equal
    weights give exactly the unweighted table (without ``n_human_effective``).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"item": "q1", "rating": [1, 2, 2, None]})
    >>> human_distributions(h)[["n_human", "count_1", "count_2"]].values.tolist()
    [[3.0, 1.0, 2.0]]
    >>> hw = h.assign(w=[2.0, 1.0, 1.0, 5.0])  # the 1 counts twice: 2 of 4 weight units
    >>> human_distributions(hw, weight="w")[["n_human", "n_human_effective", "count_1"]
    ...                                     ].values.tolist()
    [[3.0, 2.6666666666666665, 1.5]]
    """
    low, high = scale
    k = high - low + 1
    keys = _item_keys(ratings)
    tables.require(ratings, [*keys, rating], "human ratings")
    x = _checked_values(ratings, rating, low, high, "human ratings")
    w = _survey_weights(ratings, weight, "human ratings")
    ok = ~np.isnan(x)
    df = ratings.loc[ok, keys].reset_index(drop=True)
    H = _split_counts(x[ok], k, low)
    gid = df.groupby(keys, sort=True).ngroup().to_numpy()
    n_g = int(gid.max()) + 1 if len(gid) else 0
    out = df.groupby(keys, sort=True).size().reset_index()[keys]
    n = np.bincount(gid, minlength=n_g).astype(float)
    cols = {}
    w = _varying(None if w is None else w[ok])
    if w is None:
        for c in range(k):
            cols[f"count_{c + 1}"] = np.bincount(gid, weights=H[:, c], minlength=n_g)
        out["n_human"] = n
        return pd.concat([out, pd.DataFrame(cols)], axis=1)
    sw = np.bincount(gid, weights=w, minlength=n_g)
    sw2 = np.bincount(gid, weights=w * w, minlength=n_g)
    scale_to_n = np.divide(n, sw, out=np.zeros(n_g), where=sw > 0)
    for c in range(k):
        cols[f"count_{c + 1}"] = np.bincount(gid, weights=H[:, c] * w, minlength=n_g) * scale_to_n
    out["n_human"] = n
    out["n_human_effective"] = np.divide(sw * sw, sw2, out=np.zeros(n_g), where=sw2 > 0)
    return pd.concat([out, pd.DataFrame(cols)], axis=1)


def split_half_floor(
    ratings: pd.DataFrame,
    *,
    n_splits: int = 200,
    seed: int = 0,
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    weight: str | None = None,
) -> pd.DataFrame:
    """Per item: mean W1 and JS distance between two random halves of its raters.

    Each of ``n_splits`` splits shuffles the item's raters (answers missing left
    out) and compares the first ``floor(n / 2)`` with the rest. Items with fewer
    than 2 answers get NaN. With ``weight`` (survey weights) each half is its
    weighted histogram (the raters are split as without weights, with the same
    random numbers); equal weights give exactly the unweighted table.

    Returns
    -------
    DataFrame
        ``<item keys>, n_human, split_half_w1, split_half_js_distance`` (with
        ``weight``: ``n_human_effective``, Kish's effective n, after ``n_human``).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"item": "q1", "rating": [3] * 10})
    >>> split_half_floor(h, n_splits=5)[["split_half_w1", "split_half_js_distance"]].values.tolist()
    [[0.0, 0.0]]
    """
    low, high = scale
    k = high - low + 1
    keys = _item_keys(ratings)
    tables.require(ratings, [*keys, rating], "human ratings")
    x = _checked_values(ratings, rating, low, high, "human ratings")
    w = _survey_weights(ratings, weight, "human ratings")
    ok = ~np.isnan(x)
    w = _varying(None if w is None else w[ok])
    df = ratings.loc[ok, keys].assign(_x=x[ok], _w=1.0 if w is None else w)
    rng = np.random.default_rng(seed)
    rows = []
    for key, g in df.groupby(keys, sort=True):
        v = g["_x"].to_numpy()
        n = len(v)
        w1 = js = np.nan
        if n >= 2:
            onehot = _split_counts(v, k, low)  # n x K
            if w is not None:
                onehot = onehot * g["_w"].to_numpy()[:, None]
            # the n // 2 raters with the smallest random numbers: their ranks are < n // 2
            # (ties have probability ~ n^2 / 2^53); a partition instead of two sorts
            r = rng.random((n_splits, n))
            kth = np.partition(r, n // 2 - 1, axis=1)[:, n // 2 - 1 : n // 2]
            half = (r <= kth).astype(float)
            a = half @ onehot
            b = onehot.sum(axis=0) - a
            w1 = float(ordinal_w1(a, b).mean())
            js = float(js_distance(a, b).mean())
        head = (*(key if isinstance(key, tuple) else (key,)), float(n))
        if w is not None:
            head = (*head, kish_effective_n(g["_w"].to_numpy()))
        rows.append((*head, w1, js))
    ns = ["n_human"] if w is None else ["n_human", "n_human_effective"]
    return pd.DataFrame(rows, columns=[*keys, *ns, "split_half_w1", "split_half_js_distance"])


def bootstrap_floor(
    human_counts: np.ndarray,
    n_model,
    *,
    n_human=None,
    n_boot: int = 200,
    seed: int | np.random.Generator = 0,
    weighted_answers: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """Expected W1 and JS distance of a perfect model from the raters, per item, by simulation.

    A perfect model answers like the population; the raters' empirical
    distribution stands in for it. Each of ``n_boot`` draws takes ``n_model``
    answers (a multinomial draw; where ``n_model`` is infinite, the exact
    distribution itself: the model side recorded its probabilities) and
    ``n_human`` answers (default: the raters' own n) from it and measures their
    distance; the floor is the mean over draws.

    Survey weights: pass the weighted histogram as ``human_counts``
    (:func:`human_distributions` with ``weight=``) and the raters' answers with their
    weights as ``weighted_answers``. The model side's draws are then respondents drawn with
    probability proportional to their weight (a multinomial at the model side's n from
    the weighted histogram: what a perfect model of the weighted population answers);
    the human side's are the raters resampled with replacement, ``n_human`` of them
    (default: all), each carrying its weight, and their weighted histogram: the
    with-replacement bootstrap of a weighted sample (Rao & Wu 1988, "Resampling
    inference with complex survey data", JASA 83:231-241, for one stratum with
    replacement; Efron & Tibshirani 1993, ch. 6). Its cost is ``n_boot x n`` draws per
    item, the order of :func:`split_half_floor`'s. The simpler multinomial at Kish's
    effective n was rejected: it matches the variance of the weighted histogram only on
    average over categories, and put the Jensen-Shannon floor 9 % above the weighted
    split half on an item with a rare category (tests/stats/test_fidelity_weights.py).

    Parameters
    ----------
    human_counts : array (items, K)
        The raters' answer counts per item.
    n_model : int, float or array (items,)
        The model side's number of answers per item (``numpy.inf``: exact probabilities).
    n_human : int or array (items,), optional
        Default: the row sums of ``human_counts`` (with ``weighted_answers``: each item's
        number of raters).
    weighted_answers : sequence of (categories, weights), optional
        Per item (rows of ``human_counts``): the raters' answer categories ``0..K-1``
        and their survey weights; the human side is then the weighted resample of
        them (see above).

    Returns
    -------
    dict
        ``"w1"`` and ``"js_distance"``: arrays (items,).

    Examples
    --------
    >>> import numpy as np
    >>> f = bootstrap_floor(np.array([[0, 0, 10, 0, 0, 0]]), 20)
    >>> float(f["w1"][0]), float(f["js_distance"][0])
    (0.0, 0.0)
    """
    C = np.asarray(human_counts, dtype=float)
    p = _normalise(C)
    m = C.shape[0]
    if n_human is None and weighted_answers is not None:
        nh = np.array([len(c) for c, _ in weighted_answers], dtype=float)
    elif n_human is None:
        nh = C.sum(axis=1)
    else:
        nh = np.broadcast_to(np.asarray(n_human), (m,))
    nm = np.broadcast_to(np.asarray(n_model, dtype=float), (m,))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    w1 = np.full(m, np.nan)
    js = np.full(m, np.nan)
    ok = np.isfinite(p).all(axis=1) & (nh >= 1)
    if not ok.any():
        return {"w1": w1, "js_distance": js}
    po = p[ok]
    po = po / po.sum(axis=1, keepdims=True)
    if weighted_answers is None:
        h = rng.multinomial(nh[ok].astype(np.int64), po, size=(n_boot, int(ok.sum())))
    else:
        h = np.stack(
            [
                weighted_resample_counts(*weighted_answers[i], int(nh[i]), n_boot, C.shape[1], rng)
                for i in np.flatnonzero(ok)
            ],
            axis=1,
        )
    exact = ~np.isfinite(nm[ok])
    nmod = np.where(exact, 1, nm[ok]).astype(np.int64)
    mod = rng.multinomial(nmod, po, size=(n_boot, int(ok.sum()))).astype(float)
    mod = np.where(exact[None, :, None], po[None], mod)
    w1[ok] = ordinal_w1(mod, h).mean(axis=0)
    js[ok] = js_distance(mod, h).mean(axis=0)
    return {"w1": w1, "js_distance": js}


def weighted_resample_counts(
    categories: np.ndarray,
    weights: np.ndarray,
    size: int,
    n_boot: int,
    k: int,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Weighted histograms of ``n_boot`` resamples (with replacement) of weighted answers.

    Each resample draws ``size`` of the answers uniformly with replacement; each drawn
    answer adds its weight to its category (``categories``: ``0..K-1``). The human side
    of :func:`bootstrap_floor` with survey weights (Rao & Wu 1988). Drawn in chunks of
    about two million answers (memory bounded for large files).

    Returns
    -------
    array (n_boot, k)

    Examples
    --------
    >>> import numpy as np
    >>> h = weighted_resample_counts(np.array([0, 0, 1]), np.array([1.0, 1.0, 2.0]), 3, 4, 2)
    >>> h.shape, bool(np.all(h.sum(axis=1) >= 3))
    ((4, 2), True)
    """
    cat = np.asarray(categories, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.zeros((n_boot, k))
    if size < 1 or len(cat) == 0:
        return out
    chunk = max(1, 2_000_000 // size)
    for s0 in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s0)
        idx = rng.integers(0, len(cat), size=(b, size))
        code = cat[idx] + k * np.arange(b)[:, None]
        hist = np.bincount(code.ravel(), weights=w[idx].ravel(), minlength=b * k)
        out[s0 : s0 + b] = hist.reshape(b, k)
    return out


@dataclass(frozen=True)
class ItemFidelity(tables.Result):
    """:func:`item_fidelity`'s per-item table; ``notes`` hold the settings and the scale."""


def _respondents(ratings, items: pd.DataFrame, keys, weight, scale):
    """Per row of ``items``: the raters' answer categories (0-based) and weights.

    A non-integer rating goes to its nearest category (ratings of people are integers).
    """
    low, high = scale
    x = _checked_values(ratings, "rating", low, high, "human ratings")
    w = _survey_weights(ratings, weight, "human ratings")
    ok = ~np.isnan(x)
    df = ratings.loc[ok, keys].assign(_c=np.rint(x[ok]).astype(np.int64) - low, _w=w[ok])
    groups = {k if isinstance(k, tuple) else (k,): g for k, g in df.groupby(keys, sort=True)}
    return [
        (groups[tuple(r)]["_c"].to_numpy(), groups[tuple(r)]["_w"].to_numpy())
        for r in items.itertuples(index=False)
    ]


def item_fidelity(
    answers: pd.DataFrame,
    human_ratings: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    n_splits: int = 200,
    n_boot: int = 200,
    seed: int = 0,
    weight: str | None = None,
) -> ItemFidelity:
    """Per item (and ``by`` group, e.g. ``["model"]``, ``["persona_id"]``): fidelity to raters.

    Parameters
    ----------
    answers : DataFrame
        The model side: ``by..., portrait_id, option_id`` (or ``item``), ``rating`` and,
        in logprobs mode, ``p_1..p_K`` (:func:`vp_stats.llm.runner.run`); pooled over
        every row of an item within a ``by`` group.
    human_ratings : DataFrame
        The raters: the same item keys and ``rating``.
    n_splits, n_boot : int
        Random splits of :func:`split_half_floor`; draws of :func:`bootstrap_floor`.
    seed : int
        Seed of both (two runs give identical tables).
    weight : str, optional
        A column of ``human_ratings`` holding survey weights: the human side is the
        weighted histogram, the floors weighted (module notes: split halves of the
        weighted histograms; the bootstrap floor draws the model side proportional to
        weight at its n and the human side at Kish's effective n), and the table gets
        ``n_human_effective`` after ``n_human``. Equal weights: exactly the unweighted
        table.

    Returns
    -------
    ItemFidelity
        ``table``: ``by..., <item keys>, source`` (Value Portrait items),
        ``distribution_from, n_model, n_human, w1, representativeness,
        js_distance, similarity, floor_w1, floor_js_distance, split_half_w1,
        split_half_js_distance, uniform_w1, uniform_js_distance, average_w1,
        average_js_distance, mean_model, mean_human``; items without raters
        are left out (``notes["n_items_without_raters"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"item": "q1", "rating": [1, 2, 2, 3] * 5})
    >>> a = pd.DataFrame({"item": "q1", "rating": [2, 2]})
    >>> t = item_fidelity(a, h, n_splits=20, n_boot=20).table
    >>> t[["distribution_from", "n_model", "w1", "representativeness"]].values.tolist()
    [['histogram', 2, 0.5, 0.9]]
    """
    low, high = scale
    k = high - low + 1
    by = list(by)
    keys = _item_keys(answers)
    md = model_distributions(answers, by=by, rating=rating, scale=scale)
    hd = human_distributions(human_ratings, scale=scale, weight=weight)
    weighted = "n_human_effective" in hd.columns
    if _item_keys(human_ratings) != keys:
        raise ValueError(
            f"answers identify items by {keys}, human ratings by {_item_keys(human_ratings)}"
        )
    merged = md.merge(hd, on=keys, how="inner")
    n_lost = len(md[keys].drop_duplicates()) - len(merged[keys].drop_duplicates())
    Q = merged[[f"q_{c}" for c in range(1, k + 1)]].to_numpy()
    C = merged[[f"count_{c}" for c in range(1, k + 1)]].to_numpy()
    Hn = _normalise(C)
    cats = np.arange(low, high + 1, dtype=float)
    exact = (merged["distribution_from"] == "probabilities").to_numpy()
    n_model = np.where(exact, np.inf, merged["n_model"].to_numpy(dtype=float))
    resp = _respondents(human_ratings, merged[keys], keys, weight, scale) if weighted else None
    n_eff = merged["n_human_effective"].to_numpy() if weighted else None
    floor = bootstrap_floor(C, n_model, n_boot=n_boot, seed=seed, weighted_answers=resp)
    halves = split_half_floor(
        human_ratings, n_splits=n_splits, seed=seed, scale=scale, weight=weight
    )
    halves = halves.drop(columns=["n_human", "n_human_effective"], errors="ignore")
    halves = merged[keys].merge(halves, on=keys, how="left")
    uniform = np.full(k, 1.0 / k)
    average = np.nanmean(_normalise(hd[[f"count_{c}" for c in range(1, k + 1)]].to_numpy()), 0)
    out = merged[[*by, *keys]].copy()
    if keys == ["portrait_id", "option_id"]:
        out["source"] = [schema.source_of(p) for p in out["portrait_id"]]
    w1 = ordinal_w1(Q, Hn)
    js = js_distance(Q, Hn)
    out["distribution_from"] = merged["distribution_from"].to_numpy()
    out["n_model"] = merged["n_model"].to_numpy()
    out["n_human"] = merged["n_human"].to_numpy()
    if weighted:
        out["n_human_effective"] = n_eff
    out["w1"] = w1
    out["representativeness"] = 1 - w1 / (k - 1)
    out["js_distance"] = js
    out["similarity"] = 1 - js
    out["floor_w1"] = floor["w1"]
    out["floor_js_distance"] = floor["js_distance"]
    out["split_half_w1"] = halves["split_half_w1"].to_numpy()
    out["split_half_js_distance"] = halves["split_half_js_distance"].to_numpy()
    out["uniform_w1"] = ordinal_w1(uniform, Hn)
    out["uniform_js_distance"] = js_distance(np.broadcast_to(uniform, Hn.shape), Hn)
    out["average_w1"] = ordinal_w1(average, Hn)
    out["average_js_distance"] = js_distance(np.broadcast_to(average, Hn.shape), Hn)
    out["mean_model"] = Q @ cats
    out["mean_human"] = Hn @ cats
    notes = {
        "scale": f"{low}-{high}",
        "n_splits": n_splits,
        "n_boot": n_boot,
        "seed": seed,
        "n_items_without_raters": int(n_lost),
        "js": "Jensen-Shannon distance, base 2 (square root of the divergence)",
    }
    if weight is not None:
        notes["weight"] = weight if weighted else f"{weight} (all equal: unweighted)"
    return ItemFidelity(out.reset_index(drop=True), notes)


def _normalised_score(
    model: np.ndarray,
    floor: np.ndarray,
    baseline: np.ndarray,
    W: np.ndarray | None,
    ci: float,
) -> tuple[float, float, float, str | None]:
    """``(estimate, ci_low, ci_high, reason)`` of ``(baseline - model) / (baseline - floor)``.

    The ratio of the item means, over the items where all three distances are
    defined, in the estimate and in every resample (the rows of ``W``, item
    multiplicities). ``reason`` says why the estimate or its interval is NaN (None
    where both are defined or no bootstrap was asked for); the rule is
    :func:`summarise_fidelity`'s.
    """
    ok = np.isfinite(model) & np.isfinite(floor) & np.isfinite(baseline)
    if not ok.any():
        return np.nan, np.nan, np.nan, "no item with the model, floor and baseline distances"
    num_i = (baseline - model)[ok]
    den_i = (baseline - floor)[ok]
    num, den = float(num_i.mean()), float(den_i.mean())
    if not den > 0:
        return (
            np.nan,
            np.nan,
            np.nan,
            f"the floor is not below the baseline (baseline - floor = {den:.3g}): too few "
            "answers per item on the model side, or items the raters answer alike",
        )
    est = num / den
    if W is None:
        return est, np.nan, np.nan, None
    w = W[:, ok]
    tot = w.sum(axis=1)
    w, tot = w[tot > 0], tot[tot > 0]  # resamples without such items say nothing about it
    bnum, bden = (w @ num_i) / tot, (w @ den_i) / tot
    dlo, dhi, _ = percentile_ci(bden, ci)
    if not dlo > 0:
        return (
            est,
            np.nan,
            np.nan,
            f"the {ci:.0%} interval of baseline - floor ({dlo:.3g} to {dhi:.3g}) is not above "
            "0: the ratio's interval is unbounded",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        # a resample with baseline - floor <= 0: the limit from above, +-inf by the numerator
        ratio = np.where(bden > 0, bnum / bden, np.copysign(np.inf, bnum))
        lo, hi = np.quantile(ratio, [(1 - ci) / 2, (1 + ci) / 2])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return (
            est,
            np.nan,
            np.nan,
            "a bound of the ratio's interval falls on resamples where baseline - floor <= 0",
        )
    return est, float(lo), float(hi), None


@schema.orders_dimensions
def summarise_fidelity(
    item_table: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    selected: pd.DataFrame | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    scale: tuple[int, int] = (_LOW, _HIGH),
) -> pd.DataFrame:
    """Average an :func:`item_fidelity` table per group, with CIs from a bootstrap over items.

    Parameters
    ----------
    item_table : DataFrame
        :func:`item_fidelity`'s table.
    by : sequence of str
        Grouping columns of the table (``model``, ``persona_id``, ``source`` ...),
        or ``family, dimension`` with ``selected``.
    selected : DataFrame, optional
        ``portrait_id, option_id, family, dimension, selected``
        (:func:`vp_stats.stats.validation.select_items`): items are grouped by the
        values they were validated for (an item counts once per value).
    n_boot, ci, seed : bootstrap over items (resampled within each group; seeded).

    Returns
    -------
    DataFrame
        One row per group: ``by..., n_items, distribution_from`` (``probabilities``,
        ``histogram`` or ``mixed``), and for each distance ``d`` in
        ``w1, js_distance``: the mean over items ``d`` with ``d_ci_low, d_ci_high``;
        ``floor_d, split_half_d, uniform_d, average_d`` (means); ``normalised_d``
        ``= (average_d - d) / (average_d - floor_d)`` (0: the human-average
        baseline, 1: the noise floor, negative: worse than the baseline) with
        ``normalised_d_ci_low, normalised_d_ci_high`` and ``normalised_d_reason``
        (why the score or its CI is NaN; None where both are defined or
        ``n_boot=0``); plus ``representativeness = 1 - w1 / (K - 1)`` and
        ``similarity = 1 - js_distance`` of the means, with CIs.

    Notes
    -----
    The normalised score is a ratio of means, ``mean(a - m) / mean(a - f)`` over
    the items where the model's distance ``m``, the floor ``f`` and the baseline
    ``a`` are all defined, and every bootstrap resample takes the same ratio of
    its resampled means (never a mean of per-item ratios). Its percentile
    interval (Efron & Tibshirani 1993, ch. 13) is reported only where it is
    bounded:

    * the score is NaN where ``mean(a - f) <= 0``: the floor is not below the
      baseline (a model side of a few answers per item, whose sampling noise
      alone puts it further from the raters than the baseline, or items whose
      raters all answer alike, so that the human average is already each item's
      distribution);
    * its CI is NaN where the percentile interval (same ``ci``) of the
      denominator ``mean(a - f)`` over the resamples is not above 0: the
      resampled ratio then has a pole inside the bulk of its distribution and
      any percentile interval of it is arbitrary (dropping the resamples with a
      non-positive denominator, as an earlier version did, gave an interval of
      the resamples that happened to stay away from the pole, which could
      exclude the estimate: -47.7 with a CI of -43.5 to -2.0 on an all-random
      check);
    * where the denominator's interval is above 0, the few resamples with
      ``mean(a - f) <= 0`` count as ``+-inf`` (the limit as the denominator
      falls to 0 from above, signed by the numerator); a bound that lands on
      them is NaN too.

    The reason column names the rule that applied.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": "m", "distribution_from": "histogram",
    ...                   "w1": [0.5, 1.0], "js_distance": 0.2, "floor_w1": 0.25,
    ...                   "floor_js_distance": 0.1, "split_half_w1": 0.3,
    ...                   "split_half_js_distance": 0.1, "uniform_w1": 1.5,
    ...                   "uniform_js_distance": 0.4, "average_w1": 1.25,
    ...                   "average_js_distance": 0.3})
    >>> s = summarise_fidelity(t, ["model"], n_boot=0)
    >>> s[["w1", "normalised_w1", "representativeness"]].values.tolist(), int(s.n_items[0])
    ([[0.75, 0.5, 0.85]], 2)
    """
    low, high = scale
    k = high - low + 1
    by = list(by)
    df = item_table
    if selected is not None:
        tables.require(
            selected, ["portrait_id", "option_id", "family", "dimension", "selected"], "selected"
        )
        sel = selected.loc[
            selected["selected"].astype(bool), ["portrait_id", "option_id", "family", "dimension"]
        ]
        df = df.merge(sel, on=["portrait_id", "option_id"], how="inner")
    tables.require(df, by, "item fidelity table")
    check_boot_options(n_boot, ci, allow_zero=True)
    resampler = Resampler(seed)
    rows = []
    groups = df.groupby(by, sort=False) if by else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row["n_items"] = len(g)
        src = g["distribution_from"].unique()
        row["distribution_from"] = src[0] if len(src) == 1 else "mixed"
        W = resampler.counts(len(g), n_boot) if n_boot else None
        for d in FIDELITY_MEASURES:
            cols = {
                "": d,
                "floor_": f"floor_{d}",
                "split_half_": f"split_half_{d}",
                "uniform_": f"uniform_{d}",
                "average_": f"average_{d}",
            }
            vals = {p: g[c].to_numpy(dtype=float) for p, c in cols.items()}
            means = {p: np.nanmean(v) if np.isfinite(v).any() else np.nan for p, v in vals.items()}

            row[d] = means[""]
            for p in ("floor_", "split_half_", "uniform_", "average_"):
                row[f"{p}{d}"] = means[p]
            lo = hi = np.nan
            if W is not None:
                v = vals[""]
                okv = np.isfinite(v)
                with np.errstate(invalid="ignore", divide="ignore"):
                    bm = (W[:, okv] @ v[okv]) / W[:, okv].sum(axis=1)
                lo, hi, _ = percentile_ci(bm, ci)
            nest, nlo, nhi, why = _normalised_score(
                vals[""], vals["floor_"], vals["average_"], W, ci
            )
            row[f"normalised_{d}"] = nest
            row[f"{d}_ci_low"], row[f"{d}_ci_high"] = float(lo), float(hi)
            row[f"normalised_{d}_ci_low"], row[f"normalised_{d}_ci_high"] = float(nlo), float(nhi)
            row[f"normalised_{d}_reason"] = why
        row["representativeness"] = 1 - row["w1"] / (k - 1)
        row["representativeness_ci_low"] = 1 - row["w1_ci_high"] / (k - 1)
        row["representativeness_ci_high"] = 1 - row["w1_ci_low"] / (k - 1)
        row["similarity"] = 1 - row["js_distance"]
        row["similarity_ci_low"] = 1 - row["js_distance_ci_high"]
        row["similarity_ci_high"] = 1 - row["js_distance_ci_low"]
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- human groups


def _pair_distances(Q: np.ndarray, H: np.ndarray) -> dict[str, np.ndarray]:
    return {"w1": ordinal_w1(Q, H), "js_distance": js_distance(Q, H)}


def group_distributions(
    ratings: pd.DataFrame,
    group: str,
    *,
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    weight: str | None = None,
) -> pd.DataFrame:
    """Per group and item: the answer counts ``count_1..count_K`` and ``n_human``.

    Rows with a missing group are left out. ``weight``: survey weights, as in
    :func:`human_distributions` (each group's weighted histogram and
    ``n_human_effective``; a group whose weights are all equal gets its plain counts
    and ``n_human_effective = n_human``).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"item": "q1", "gender": ["m", "m", "f"], "rating": [1, 2, 2]})
    >>> group_distributions(h, "gender")[["gender", "n_human", "count_2"]].values.tolist()
    [['f', 1.0, 1.0], ['m', 2.0, 1.0]]
    """
    tables.require(ratings, [group], "human ratings")
    r = ratings[ratings[group].notna()]
    parts = []
    for g, sub in r.groupby(group, sort=True):
        d = human_distributions(sub, rating=rating, scale=scale, weight=weight)
        if weight is not None and "n_human_effective" not in d.columns:
            d.insert(d.columns.get_loc("n_human") + 1, "n_human_effective", d["n_human"])
        d.insert(0, group, g)
        parts.append(d)
    if not parts:
        raise ValueError(f"no ratings with a {group!r} group")
    return pd.concat(parts, ignore_index=True)


def group_distances(
    ratings: pd.DataFrame,
    group: str,
    *,
    participant: str = "participant",
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    n_perm: int = 200,
    seed: int = 0,
    weight: str | None = None,
) -> pd.DataFrame:
    """How far apart real groups answer, item by item, against groups formed at random.

    For every pair of groups the mean over items of the W1 and JS distance between
    the two groups' answer distributions; the floor (``perm_*``) is the same mean
    with the participants' group labels shuffled (``n_perm`` times, group sizes
    kept): the distance two groups of these sizes show by chance. A persona can
    only be steered towards a group that differs from the others beyond it.
    ``weight`` (survey weights): each group's weighted histogram, and a shuffled
    participant carries its weight into its new group; equal weights give exactly the
    unweighted table.

    Returns
    -------
    DataFrame
        ``group_a, group_b, n_a, n_b, n_items, w1, perm_w1, js_distance,
        perm_js_distance, w1_p`` (share of shuffles at least as far apart as
        the real groups, with the +1 correction: (1 + #) / (1 + n_perm)).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(40), "item": "q1",
    ...                   "g": ["a"] * 20 + ["b"] * 20, "rating": [1] * 20 + [6] * 20})
    >>> d = group_distances(h, "g", n_perm=50).iloc[0]
    >>> float(d.w1), bool(d.perm_w1 < 5), float(d.w1_p)
    (5.0, True, 0.0196078431372549)
    """
    low, high = scale
    k = high - low + 1
    keys = _item_keys(ratings)
    tables.require(ratings, [participant, group, *keys, rating], "human ratings")
    r = ratings[ratings[group].notna()]
    x = _checked_values(r, rating, low, high, "human ratings")
    w = _survey_weights(r, weight, "human ratings")
    ok = ~np.isnan(x)
    r, x = r[ok], x[ok]
    onehot = _split_counts(x, k, low)
    w = _varying(None if w is None else w[ok])
    if w is not None:  # each group's weighted histogram; shuffled people carry their weights
        onehot = onehot * w[:, None]
    item_id = r.groupby(keys, sort=True).ngroup().to_numpy()
    n_items = int(item_id.max()) + 1
    people, person_idx = np.unique(r[participant].astype(str).to_numpy(), return_inverse=True)
    person_group = pd.Series(r[group].to_numpy(), index=person_idx).groupby(level=0).first()
    levels = sorted(person_group.unique().tolist(), key=str)
    labels = person_group.sort_index().to_numpy()

    def counts(lab: np.ndarray) -> np.ndarray:
        g_of_row = pd.Categorical(lab[person_idx], categories=levels).codes
        C = np.zeros((len(levels), n_items, k))
        np.add.at(C, (g_of_row, item_id), onehot)
        return C

    def mean_dist(C: np.ndarray, a: int, b: int) -> tuple[float, float]:
        okk = (C[a].sum(1) > 0) & (C[b].sum(1) > 0)
        d = _pair_distances(C[a][okk], C[b][okk])
        return float(d["w1"].mean()), float(d["js_distance"].mean())

    real = counts(labels)
    rng = np.random.default_rng(seed)
    perms = [counts(rng.permutation(labels)) for _ in range(n_perm)]
    rows = []
    for i, a in enumerate(levels):
        for j in range(i + 1, len(levels)):
            w1, js = mean_dist(real, i, j)
            pw = np.array([mean_dist(P, i, j) for P in perms]).reshape(-1, 2)
            okk = (real[i].sum(1) > 0) & (real[j].sum(1) > 0)
            rows.append(
                {
                    "group_a": a,
                    "group_b": levels[j],
                    "n_a": int((labels == a).sum()),
                    "n_b": int((labels == levels[j]).sum()),
                    "n_items": int(okk.sum()),
                    "w1": w1,
                    "perm_w1": float(pw[:, 0].mean()) if n_perm else np.nan,
                    "js_distance": js,
                    "perm_js_distance": float(pw[:, 1].mean()) if n_perm else np.nan,
                    "w1_p": float((1 + (pw[:, 0] >= w1).sum()) / (1 + n_perm)),
                }
            )
    return pd.DataFrame(rows)


@schema.orders_dimensions
def value_groups(
    scores: pd.DataFrame,
    family: str = "pvq",
    *,
    fraction: float = 1 / 3,
    participant: str = "participant",
) -> pd.DataFrame:
    """Raters grouped by their own value scores: the top and bottom ``fraction`` on each value.

    Per dimension of ``family`` the participants are ranked by ``score`` (ties by
    participant id, so the groups have exactly ``floor(fraction * n)`` people);
    the highest are ``"top"``, the lowest ``"bottom"``, the rest are not listed.

    Returns
    -------
    DataFrame
        ``participant, family, dimension, group`` (``"top"`` / ``"bottom"``),
        ``score``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"participant": list("abcdef"), "family": "pvq",
    ...                   "dimension": "Tradition", "score": [1.0, 2, 3, 4, 5, 6]})
    >>> value_groups(s)[["participant", "group"]].values.tolist()
    [['f', 'top'], ['e', 'top'], ['a', 'bottom'], ['b', 'bottom']]
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    tables.require(scores, [participant, "family", "dimension", "score"], "scores")
    s = scores[(scores["family"] == family) & scores["score"].notna()]
    parts = []
    for _dim, g in s.groupby("dimension", sort=False):
        g = g.sort_values(["score", participant], kind="stable")
        m = int(np.floor(fraction * len(g)))
        if m < 1:
            continue
        top = g.iloc[::-1].head(m).assign(group="top")
        bottom = g.head(m).assign(group="bottom")
        parts.append(pd.concat([top, bottom]))
    if not parts:
        raise ValueError(f"no {family} scores to group")
    out = pd.concat(parts, ignore_index=True)
    return out[[participant, "family", "dimension", "group", "score"]]


# --------------------------------------------------------------------------- steerability


@dataclass(frozen=True)
class Steerability(tables.Result):
    """:func:`steerability`'s result: ``table`` (persona x group distances) and ``personas``
    (per persona: the distance to its own group against the others)."""

    personas: pd.DataFrame = field(default_factory=pd.DataFrame)


def steerability(
    answers: pd.DataFrame,
    human_ratings: pd.DataFrame,
    group: str,
    own_group: str,
    *,
    persona: str = "persona_id",
    measure: str = "w1",
    blocks: Mapping[object, object] | None = None,
    rating: str = "rating",
    scale: tuple[int, int] = (_LOW, _HIGH),
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    weight: str | None = None,
) -> Steerability:
    """Is each persona closer to its own group than to the others? Item-bootstrap CIs.

    For every persona and human group, the mean over their common items of the
    distance (``measure``: ``"w1"`` or ``"js_distance"``) between the persona's
    answer distribution (:func:`model_distributions`: the recorded probabilities
    where present) and the group's. A persona is steered to its group when its
    distance to its own group (``own_group``: the answers' column naming it, e.g.
    ``gender``) is smaller than to the others (Santurkar et al. 2023's
    steerability, here per persona and group). ``gap = mean distance to the other
    groups - distance to the own group`` (positive: closer to its own group).
    CIs: percentile bootstrap resampling the items (the same resample for every
    pair, so distances and gaps are compared on the same items; seeded).

    ``blocks`` (group -> block) limits the other groups of a persona to those of its
    own group's block: for value-steered personas, the opposite third on the same
    value, measured on the same items (groups of different values are rated on
    different items, so their distances are not comparable).

    ``weight``: a column of ``human_ratings`` with survey weights; each group's
    distribution is then its weighted histogram (:func:`group_distributions`).

    Returns
    -------
    Steerability
        ``table``: ``persona, own_group, group, own, n_items, distance,
        ci_low, ci_high`` (``own``: the persona's own group); ``personas``:
        ``persona, own_group, n_items`` (of the own group), ``distance_own,
        distance_others, gap, gap_ci_low, gap_ci_high, closest_group, own_is_closest``
        (others and closest: within the own group's block when ``blocks`` is given). An
        item bootstrap over a handful of items gives intervals that are too narrow: read
        the CIs with ``n_items``.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"item": ["q1", "q2"] * 4, "g": ["a"] * 4 + ["b"] * 4,
    ...                   "rating": [1, 1, 2, 1, 5, 6, 6, 6]})
    >>> a = pd.DataFrame({"persona_id": ["pa", "pa", "pb", "pb"], "g": ["a", "a", "b", "b"],
    ...                   "item": ["q1", "q2"] * 2, "rating": [1, 1, 6, 6]})
    >>> s = steerability(a, h, "g", "g", n_boot=0)
    >>> s.personas[["persona_id", "distance_own", "gap", "own_is_closest"]].values.tolist()
    [['pa', 0.25, 4.5, True], ['pb', 0.25, 4.5, True]]
    """
    if measure not in FIDELITY_MEASURES:
        raise ValueError(f"measure must be one of {FIDELITY_MEASURES}, got {measure!r}")
    check_boot_options(n_boot, ci, allow_zero=True)
    low, high = scale
    k = high - low + 1
    keys = _item_keys(answers)
    tables.require(answers, [persona, own_group], "answers")
    own = answers[[persona, own_group]].drop_duplicates(persona).set_index(persona)[own_group]
    md = model_distributions(answers, by=[persona], rating=rating, scale=scale)
    gd = group_distributions(human_ratings, group, rating=rating, scale=scale, weight=weight)
    items = md[keys].drop_duplicates().merge(gd[keys].drop_duplicates(), on=keys)
    items = items.sort_values(keys).reset_index(drop=True)
    iid = items.assign(_i=np.arange(len(items)))
    n_items = len(items)
    personas_ = md[persona].drop_duplicates().tolist()
    groups = gd[group].drop_duplicates().tolist()
    qcols = [f"q_{c}" for c in range(1, k + 1)]
    ccols = [f"count_{c}" for c in range(1, k + 1)]
    D = np.full((len(personas_), len(groups), n_items), np.nan)
    mdi = md.merge(iid, on=keys)
    gdi = gd.merge(iid, on=keys)
    fn = ordinal_w1 if measure == "w1" else js_distance
    for gi, g in enumerate(groups):
        sub = gdi[gdi[group] == g]
        H = np.full((n_items, k), np.nan)
        H[sub["_i"].to_numpy()] = _normalise(sub[ccols].to_numpy())
        for pi, p in enumerate(personas_):
            ps = mdi[mdi[persona] == p]
            idx = ps["_i"].to_numpy()
            D[pi, gi, idx] = fn(ps[qcols].to_numpy(), H[idx])
    ok = np.isfinite(D)
    with np.errstate(invalid="ignore"):
        mean = np.where(ok.any(-1), np.nansum(D, -1) / ok.sum(-1), np.nan)
    boot = None
    if n_boot:
        W = Resampler(seed).counts(n_items, n_boot)  # B x items
        D0 = np.where(ok, D, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.einsum("bi,pgi->bpg", W, D0) / np.einsum("bi,pgi->bpg", W, ok)
    rows, prow = [], []
    for pi, p in enumerate(personas_):
        mine = own.get(p)
        is_own = np.array([g == mine for g in groups])
        same = np.array(
            [blocks is None or blocks.get(g) == blocks.get(mine) for g in groups], dtype=bool
        )
        for gi, g in enumerate(groups):
            lo = hi = np.nan
            if boot is not None:
                lo, hi, _ = percentile_ci(boot[:, pi, gi], ci)
            rows.append(
                {
                    persona: p,
                    "own_group": mine,
                    "group": g,
                    "own": bool(is_own[gi]),
                    "n_items": int(ok[pi, gi].sum()),
                    "distance": mean[pi, gi],
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                }
            )
        others = ~is_own & same
        if not is_own.any() or not others.any():
            continue  # no own group among the human groups (e.g. the plain model)
        d_own = float(mean[pi, is_own][0])
        d_oth = float(np.nanmean(mean[pi, others]))
        glo = ghi = np.nan
        if boot is not None:
            with warnings.catch_warnings():  # resamples without the other groups' items
                warnings.simplefilter("ignore", RuntimeWarning)
                bg = np.nanmean(boot[:, pi, others], axis=1) - boot[:, pi, is_own][:, 0]
            glo, ghi, _ = percentile_ci(bg, ci)
        cand = np.where(same, mean[pi], np.nan)
        closest = groups[int(np.nanargmin(cand))]
        prow.append(
            {
                persona: p,
                "own_group": mine,
                "n_items": int(ok[pi, is_own].sum()),
                "distance_own": d_own,
                "distance_others": d_oth,
                "gap": d_oth - d_own,
                "gap_ci_low": float(glo),
                "gap_ci_high": float(ghi),
                "closest_group": closest,
                "own_is_closest": closest == mine,
            }
        )
    notes = {"measure": measure, "n_boot": n_boot, "ci": ci, "seed": seed}
    if weight is not None:
        notes["weight"] = weight
    return Steerability(pd.DataFrame(rows), notes, personas=pd.DataFrame(prow))
