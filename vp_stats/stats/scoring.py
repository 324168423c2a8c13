"""Model value profiles: LLM answers on validated items -> centred value scores.

Value Portrait (Han et al., 2025, section 4) scores a model on a value as the
mean of its (variant-averaged) answers over the items validated for that value,
centred by the mean of its answers over all items valid for any value of the
same family. Formally, for model m, family F, dimension d with validated item
set I_d (``rho > threshold``) and I_F = union of I_d over d in F::

    original_mean(m, d) = mean_{i in I_d} a_{m,i}'       (a' = low + high - a on negatively keyed
    items: 7 - a on 1-6)
    centre(m, F)        = mean_{i in I_F} a_{m,i}        (raw answers)
    centered_mean(m, d) = original_mean(m, d) - centre(m, F)

Items a model failed to answer (NaN) are left out of both means, so ``n`` is the
number of validated items the model answered. ``std_dev`` is the population
standard deviation (ddof 0) of the same answers, as upstream.

The correlation table is an input, so users can score with their own
re-validated items; the hand exclusions of upstream's scoring script are an
explicit data file (:func:`vp_stats.stats.validation.upstream_exclusions`), applied
by default because the published scores apply them.

Examples
--------
>>> import pandas as pd
>>> answers = pd.DataFrame({"model": "m", "portrait_id": [1001, 1002, 1003],
...                         "option_id": 1, "numeric_response": [6.0, 2.0, 4.0]})
>>> corr = pd.DataFrame({"portrait_id": [1001, 1002, 1003], "option_id": 1,
...                      "family": "bfi", "dimension": ["Openness", "Neuroticism", "Openness"],
...                      "rho": [0.5, 0.4, 0.35]})
>>> prof = value_profiles(answers, corr, exclusions=None, n_boot=0)
>>> cols = ["original_mean", "centered_mean", "n"]
>>> prof.set_index("dimension").loc[["Openness", "Neuroticism"], cols]
             original_mean  centered_mean  n
dimension
Openness               5.0            1.0  2
Neuroticism            2.0           -2.0  1
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci
from vp_stats.stats.validation import select_items, upstream_exclusions

__all__ = [
    "PROFILE_COLUMNS",
    "value_profiles",
    "rank_values",
    "mean_profile",
    "variant_profiles",
    "icc_2_1",
    "variant_agreement",
    "reversal_effect",
    "threshold_sensitivity",
    "cluster_models",
]

PROFILE_COLUMNS = [
    "model",
    "family",
    "dimension",
    "centered_mean",
    "original_mean",
    "std_dev",
    "n",
    "ci_low",
    "ci_high",
    "centre",
    "n_failed",
    "reason",
]

_DEFAULT = object()


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN; NaN (no warning) for rows without any value."""
    n = (~np.isnan(a)).sum(axis=1)
    return np.where(n > 0, np.nansum(a, axis=1) / np.maximum(n, 1), np.nan)


def _where_item(model, item) -> str:
    vp = tables.split_vp_item(item)
    return f"model {model!r}, " + (f"portrait {vp[0]}, option {vp[1]}" if vp else f"item {item!r}")


def _answer_matrix(answers: pd.DataFrame, rating: str, scale) -> pd.DataFrame:
    """Models x items matrix of answers, through the Answers contract (any string item ids)."""
    tables.require(answers, [rating], "answers")
    base = answers.drop(columns=["rating"], errors="ignore") if rating != "rating" else answers
    base = tables.with_item_column(base)
    vals = pd.to_numeric(base[rating], errors="coerce")
    out_of = vals.notna() & ~vals.between(scale.low, scale.high)
    if out_of.any() and {"model", "item"} <= set(base.columns):
        row = base[out_of].iloc[0]
        raise ValueError(
            f"answer {row[rating]} outside {scale} for {_where_item(row['model'], row['item'])}"
        )
    checked = tables.answers_table(base, rating=rating, scale=scale, source="answers")
    dup = checked.duplicated(["model", "item"])
    if dup.any():
        row = checked[dup].iloc[0]
        raise ValueError(
            f"answer table has more than one row for {_where_item(row['model'], row['item'])}; "
            "average the variants first (vp_stats.io.averaging)"
        )
    return tables.to_wide(checked, "model", "item", "rating", source="answers")


def _boot_means(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Each model's mean answer over each resample of items, NaN (no answer) left out.

    ``a`` is models x items, ``idx`` the ``(n_boot, items)`` resampled item indices; returns
    ``(n_boot, models)``. The numbers are those of ``np.nanmean(a[:, idx], axis=2)``, bit for bit:
    numpy lays ``a[:, idx]`` out resample-major with the models innermost, so that mean adds a
    resample's items one after the other in index order, as the loop here does on
    ``n_boot x models`` slices; the counts of answered items are integers (exact in any order).
    Hand-written because the nanmean builds, copies and masks the models x resamples x items
    array: 3-10x slower on the 19 dimensions x 34 models of ``vp-stats reproduce``
    (``tests/stats/test_scoring.py`` checks the equality on items with and without answers).

    Examples
    --------
    >>> a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    >>> _boot_means(a, np.array([[0, 1, 2], [2, 2, 1]])).tolist()
    [[2.0, nan], [3.0, nan]]
    """
    answered = ~np.isnan(a)
    filled = np.where(answered, a, 0.0).T.copy()  # items x models
    total = filled[idx[:, 0]]
    for j in range(1, idx.shape[1]):
        total += filled[idx[:, j]]
    n_boot, k = idx.shape
    picks = np.bincount((np.arange(n_boot)[:, None] * k + idx).ravel(), minlength=n_boot * k)
    count = picks.reshape(n_boot, k).astype(float) @ answered.T.astype(float)
    with np.errstate(invalid="ignore"):  # 0 / 0: a model without answers here gets NaN
        return total / count


@schema.orders_dimensions
def value_profiles(
    answers: pd.DataFrame,
    corr: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None | object = _DEFAULT,
    upstream_parity: bool = False,
    rating: str = "numeric_response",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    scale=None,
    *,
    dimensions=None,
) -> pd.DataFrame:
    """Value profiles of one or more models.

    Parameters
    ----------
    answers : DataFrame
        One row per model and item: ``model, portrait_id, option_id`` (or ``item``) and the
        variant-averaged answer in column ``rating`` (NaN where no variant parsed).
        With ``upstream_parity`` it also needs the boolean ``upstream_tagged``.
    corr : DataFrame
        Item x dimension correlations (``portrait_id, option_id, family, dimension, rho``):
        the published table or :func:`vp_stats.stats.validation.item_correlations`.
    families : sequence of str, optional
        Families to score; default all families present in ``corr``.
    threshold, mode : float, str
        Item selection (see :func:`vp_stats.stats.validation.select_items`); published: 0.3,
        ``pos``.
    exclusions : DataFrame or None
        (item, dimension) pairs never used; default: upstream's three hand exclusions.
        ``None`` turns exclusions off.
    rating : str
        The answers' column (default ``numeric_response``, the variant average of
        :func:`vp_stats.io.averaging.load_average_outputs`).
    upstream_parity : bool
        Drop, per model, the items whose upstream averaged record carried no
        correlation tags (a quirk of upstream's scorer; reproduces the published numbers).
    n_boot, ci, seed :
        Percentile bootstrap over the dimension's items (centre held fixed;
        :mod:`vp_stats.stats.resampling`); ``n_boot=0`` gives NaN CIs. The items are
        taken as validated: for the uncertainty of the selection itself see
        :func:`vp_stats.stats.uncertainty.selection_uncertainty`.
    scale : Scale or "LOW-HIGH", optional
        The answers' scale (default: the Value Portrait items' 1-6); answers outside
        it are errors, and negatively keyed items are reversed as ``low + high - x``.
    dimensions : mapping family -> dimensions, optional
        Your own families of dimensions (as
        :func:`vp_stats.stats.validation.item_correlations`); default
        :data:`vp_stats.schema.FAMILIES`.

    Returns
    -------
    DataFrame
        ``model, family, dimension, centered_mean, original_mean, std_dev, n,
        ci_low, ci_high, centre, n_failed, reason`` (``n_failed``: validated items of the
        dimension the model has no answer for; ``reason``: why a row's score is missing, empty
        where it is computed).
    """
    if exclusions is _DEFAULT:
        exclusions = upstream_exclusions()
    dims = dict(dimensions) if dimensions is not None else dict(schema.FAMILIES)
    if families is None:
        families = [f for f in dims if f in set(corr["family"])]
    sel = select_items(corr, threshold=threshold, mode=mode, exclusions=exclusions)
    sel = sel[sel["selected"] & sel["family"].isin(families)]
    sc = tables.parse_scale(scale) or tables.VP_SCALE
    mat = _answer_matrix(answers, rating, sc)
    if upstream_parity:
        # as vp_stats.io.averaging.load_average_outputs gives it
        tables.require(answers, ["upstream_tagged"], "answers (upstream_parity)")
        tagged = tables.to_wide(
            tables.with_item_column(answers), "model", "item", "upstream_tagged"
        )
        mat = mat.where(tagged.reindex_like(mat).fillna(False).astype(bool))
    models = mat.index.to_numpy()
    if n_boot:
        check_boot_options(n_boot, ci, allow_zero=True)
    resampler = Resampler(seed)
    rows = []
    for fam in families:
        fsel = sel[sel["family"] == fam]
        fam_items = pd.Index(fsel["item"].drop_duplicates())
        missing = fam_items.difference(mat.columns)
        if len(
            missing
        ):  # items never put to the model (e.g. a partial run): no answer, counted in n_failed
            mat = mat.reindex(columns=mat.columns.append(missing))
        centre = _nanmean_rows(mat[fam_items].to_numpy(dtype=float))
        for dim in dims[fam]:
            dsel = fsel[fsel["dimension"] == dim]
            a = mat[pd.Index(dsel["item"])].to_numpy(dtype=float)
            sign = dsel["sign"].to_numpy()
            a = np.where(sign < 0, sc.reverse(a), a)
            n = (~np.isnan(a)).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                orig = np.where(n > 0, np.nansum(a, axis=1) / np.maximum(n, 1), np.nan)
                sd = np.sqrt(
                    np.where(
                        n > 0,
                        np.nansum((a - orig[:, None]) ** 2, axis=1) / np.maximum(n, 1),
                        np.nan,
                    )
                )
            lo = hi = np.full(len(models), np.nan)
            if n_boot and a.shape[1]:
                boot = _boot_means(a, resampler.indices(a.shape[1], n_boot))  # n_boot x models
                lo, hi, _ = percentile_ci(boot, ci, axis=0)
                lo, hi = lo - centre, hi - centre
            why = _missing_reason(a.shape[1], n)
            for k, m in enumerate(models):
                rows.append(
                    (
                        m,
                        fam,
                        dim,
                        orig[k] - centre[k],
                        orig[k],
                        sd[k],
                        int(n[k]),
                        lo[k],
                        hi[k],
                        centre[k],
                        int(a.shape[1] - n[k]),
                        why[k],
                    )
                )
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)  # ordered by @schema.orders_dimensions


def _missing_reason(n_items: int, n: np.ndarray) -> list:
    """Why a profile row has no score: no validated item, or no answer to any of them (NaN where
    it has one, as the column reads back from ``llm_value_scores.csv``).

    Examples
    --------
    >>> _missing_reason(2, np.array([2, 0]))
    [nan, 'no answer from this model to any of the 2 validated items']
    >>> _missing_reason(0, np.array([0]))
    ['no item of this dimension is validated (none passes the selection rule)']
    """
    if n_items == 0:
        return ["no item of this dimension is validated (none passes the selection rule)"] * len(n)
    return [
        np.nan if k > 0 else f"no answer from this model to any of the {n_items} validated items"
        for k in n
    ]


@schema.orders_dimensions
def rank_values(profiles: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Rank of each dimension within each model (1 = highest centred score).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": "m", "family": "bfi", "dimension": ["Openness", "Neuroticism"],
    ...                   "centered_mean": [0.2, -0.1]})
    >>> rank_values(p, "bfi").set_index("dimension")["rank"].to_dict()
    {'Openness': 1.0, 'Neuroticism': 2.0}
    """
    sub = profiles[profiles["family"] == family].copy()
    sub["rank"] = sub.groupby("model")["centered_mean"].rank(ascending=False, method="average")
    return sub[["model", "family", "dimension", "centered_mean", "rank"]].reset_index(drop=True)


@schema.orders_dimensions
def mean_profile(profiles: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Across-model mean, SD and mean rank of each dimension, sorted high to low.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"model": ["a", "a", "b", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"] * 2,
    ...                   "centered_mean": [0.2, -0.2, 0.4, -0.4]})
    >>> mean_profile(p, "bfi")[["dimension", "mean"]].values.tolist()
    [['Openness', 0.30000000000000004], ['Neuroticism', -0.30000000000000004]]
    """
    ranks = rank_values(profiles, family)
    g = ranks.groupby("dimension")
    out = pd.DataFrame(
        {
            "mean": g["centered_mean"].mean(),
            "sd": g["centered_mean"].std(ddof=1),
            "mean_rank": g["rank"].mean(),
            "n_models": g["model"].nunique(),
        }
    )
    out = out.sort_values("mean", ascending=False).reset_index()
    out.insert(0, "family", family)
    return out


# --------------------------------------------------------------------------- robustness


@schema.orders_dimensions
def variant_profiles(
    wide: pd.DataFrame,
    corr: pd.DataFrame,
    variants: tuple[str, ...] | list[str] = schema.VARIANTS,
    **kwargs,
) -> pd.DataFrame:
    """Value profiles computed from each prompt variant alone.

    Parameters
    ----------
    wide : DataFrame
        Per-item table with one rating column per variant (``v1`` ... ``v3_reversed``),
        e.g. :func:`vp_stats.io.averaging.load_average_outputs`.
    corr : DataFrame
        Correlation table (see :func:`value_profiles`).
    **kwargs
        Passed to :func:`value_profiles` (``n_boot`` defaults to 0 here).

    Returns
    -------
    DataFrame
        The profile columns plus ``variant``.
    """
    kwargs.setdefault("n_boot", 0)
    tables.require(wide, list(variants), "answers")
    frames = []
    for v in variants:
        if wide[v].isna().all():
            continue
        frames.append(value_profiles(wide, corr, rating=v, **kwargs).assign(variant=v))
    return pd.concat(frames, ignore_index=True)


def icc_2_1(x: np.ndarray) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout & Fleiss 1979).

    ``x`` is targets x raters (here: dimensions x prompt variants), complete.

    Examples
    --------
    >>> import numpy as np
    >>> round(icc_2_1(np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
    ...                         [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)), 4)
    0.2898
    """
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    return float((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n))


@schema.orders_dimensions
def variant_agreement(vprof: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Agreement of a model's value profile across prompt variants.

    For each model: ICC(2,1) of the centred scores (dimensions x variants) and the
    mean pairwise Spearman correlation between the variants' value orderings.

    Returns
    -------
    DataFrame
        ``model, family, n_variants, icc_2_1, mean_pairwise_spearman``.
    """
    from scipy.stats import spearmanr

    rows = []
    sub = vprof[vprof["family"] == family]
    for model, g in sub.groupby("model", sort=True):
        mat = tables.to_wide(g, "dimension", "variant", "centered_mean", source="profiles").dropna(
            axis=1, how="any"
        )
        k = mat.shape[1]
        if k < 2:
            rows.append((model, family, k, np.nan, np.nan))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # a constant variant profile gives NaN, reported as such
            rhos = [
                spearmanr(mat.iloc[:, i], mat.iloc[:, j]).statistic
                for i in range(k)
                for j in range(i + 1, k)
            ]
        rows.append((model, family, k, icc_2_1(mat.to_numpy()), float(np.nanmean(rhos))))
    return pd.DataFrame(
        rows, columns=["model", "family", "n_variants", "icc_2_1", "mean_pairwise_spearman"]
    )


def reversal_effect(wide: pd.DataFrame) -> pd.DataFrame:
    """Effect of reversing the order of the answer options, per model and wording.

    For wording k in v1, v2, v3: the mean and SD over items of (answer under
    ``vk_reversed`` minus answer under ``vk``), the share of items whose answer
    changed, and the number of items where both parsed. A positive mean means
    reversed order (``not like me at all`` listed first) raises the answers.

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.DataFrame({"model": "m", "v1": [4.0, 5.0], "v1_reversed": [5.0, 5.0]})
    >>> reversal_effect(w)[["model", "wording", "mean_shift", "share_changed"]].values.tolist()
    [['m', 'v1', 0.5, 0.5]]
    """
    rows = []
    for model, g in wide.groupby("model", sort=True):
        for k in ("v1", "v2", "v3"):
            if k not in g or f"{k}_reversed" not in g:
                continue
            d = (g[f"{k}_reversed"] - g[k]).dropna()
            if d.empty:
                continue
            rows.append(
                (
                    model,
                    k,
                    float(d.mean()),
                    float(d.std(ddof=1)) if len(d) > 1 else np.nan,
                    float((d != 0).mean()),
                    int(len(d)),
                )
            )
    return pd.DataFrame(
        rows, columns=["model", "wording", "mean_shift", "sd_shift", "share_changed", "n_items"]
    )


def threshold_sensitivity(
    answers: pd.DataFrame,
    corr: pd.DataFrame,
    thresholds: tuple[float, ...] = (0.2, 0.25, 0.3, 0.35, 0.4),
    reference: float = 0.3,
    family: str = "pvq",
    **kwargs,
) -> pd.DataFrame:
    """How value rankings change with the selection threshold.

    For each threshold: each model's centred profile, and the Spearman
    correlation of its value ordering with the ordering at ``reference``.

    Returns
    -------
    DataFrame
        ``threshold, model, spearman_vs_reference, n_items_min`` (fewest items of
        any dimension at that threshold).
    """
    from scipy.stats import spearmanr

    kwargs.setdefault("n_boot", 0)
    profs = {
        t: value_profiles(answers, corr, families=[family], threshold=t, **kwargs)
        for t in sorted({*thresholds, reference})
    }
    ref = tables.to_wide(profs[reference], "model", "dimension", "centered_mean", source="profiles")
    rows = []
    for t in thresholds:
        p = tables.to_wide(
            profs[t], "model", "dimension", "centered_mean", source="profiles"
        ).reindex(columns=ref.columns)
        nmin = int(profs[t].groupby("dimension")["n"].max().min())
        for m in p.index:
            rows.append((t, m, spearmanr(p.loc[m], ref.loc[m], nan_policy="omit").statistic, nmin))
    return pd.DataFrame(
        rows, columns=["threshold", "model", "spearman_vs_reference", "n_items_min"]
    )


def cluster_models(
    profiles: pd.DataFrame, family: str = "pvq", n_clusters: int = 4
) -> pd.DataFrame:
    """Hierarchical clustering of models by their centred profiles.

    Average linkage on correlation distance (1 - Pearson r between profiles),
    cut into ``n_clusters``; ``leaf_order`` is the dendrogram order.

    Returns
    -------
    DataFrame
        ``model, cluster, leaf_order``.
    """
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import pdist

    mat = tables.to_wide(
        profiles[profiles["family"] == family],
        "model",
        "dimension",
        "centered_mean",
        source="profiles",
    )
    mat = mat.dropna(axis=0, how="any")
    link = hierarchy.linkage(pdist(mat.to_numpy(), metric="correlation"), method="average")
    cl = hierarchy.fcluster(link, t=n_clusters, criterion="maxclust")
    order = hierarchy.leaves_list(link)
    pos = np.empty(len(order), dtype=int)
    pos[order] = np.arange(len(order))
    return pd.DataFrame({"model": mat.index, "cluster": cl, "leaf_order": pos}).sort_values(
        "leaf_order", ignore_index=True
    )


# --------------------------------------------------------------------------- released data
