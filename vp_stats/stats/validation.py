"""Item validation: item x dimension Spearman correlations, FDR, bootstrap CIs, selection.

An item (a query-response pair) validly measures a value when the ratings its
human raters gave it correlate with the raters' scores on that value
(Han et al., 2025, Value Portrait, section 3). For every item and every
dimension of the three families (10 basic values, 4 higher-order values,
5 Big Five traits) this module computes Spearman's rho over the item's raters,
its two-sided p-value (t approximation with n - 2 degrees of freedom, as
:func:`scipy.stats.spearmanr`), Benjamini-Hochberg adjusted p-values within
each family, and seeded percentile bootstrap confidence intervals that
resample raters.

The engine (:mod:`vp_stats.stats.rank_engine`) keeps the ratings long: items are
grouped by their exact set of raters without a participants x items pivot, and
within each set the ratings and value scores are ranked once and correlated
with one matrix product; the bootstrap ranks under resampling weights from one
sort per column. Memory is linear in the ratings. No per-item scipy call is made.

Examples
--------
>>> from vp_stats.io import datasets
>>> from vp_stats.stats import validation
>>> corr = validation.item_correlations(datasets.load_ratings(), datasets.load_participant_scores())
>>> corr.groupby("family").size().to_dict()
{'pvq': 5200, 'higher_pvq': 2080, 'bfi': 2600}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.errors import TableError
from vp_stats.stats import rank_engine, spearman
from vp_stats.stats.resampling import (
    Resampler,
    check_boot_options,
    multiplicities,
    percentile_ci,
    single_threaded_blas,
)

__all__ = [
    "ITEM_KEYS",
    "spearman_pvalue",
    "item_correlations",
    "add_fdr",
    "bootstrap_ci",
    "upstream_exclusions",
    "selection_rule",
    "select_items",
    "validated_summary",
    "validate_items",
    "ItemValidation",
    "SelectionErrors",
    "SelectionErrorWarning",
    "selection_errors",
    "DEFAULT_MAX_FDR",
    "FDP_WARN",
    "UPSTREAM_PROCEDURE_NOTE",
    "upstream_p186_group0",
    "apply_procedure",
]

ITEM_KEYS = [
    "portrait_id",
    "option_id",
]  # Value Portrait's item-id convention (see vp_stats.tables)


# --------------------------------------------------------------------------- core engine


def _rank_columns(x: np.ndarray) -> np.ndarray:
    """Average ranks along axis -2 (observations), ties averaged, as scipy.stats.rankdata.

    pandas' ``DataFrame.rank`` gives the numbers (a column holding a NaN is all NaN, as
    ``rankdata``'s default ``nan_policy="propagate"``); importing :mod:`scipy.stats` for
    ``rankdata`` would cost a validation run about 0.9 s of start-up (``benchmarks/bench_cli.py``,
    ``python -X importtime -c "import scipy.stats"``). tests/stats/test_validation.py checks the
    correlations against ``scipy.stats.spearmanr`` item by item.
    """
    x = np.asarray(x, dtype=float)
    moved = np.moveaxis(x, -2, 0)
    flat = moved.reshape(moved.shape[0], -1)
    ranks = pd.DataFrame(flat).rank(axis=0, method="average").to_numpy(dtype=float, copy=True)
    ranks[:, np.isnan(flat).any(axis=0)] = np.nan
    return np.moveaxis(ranks.reshape(moved.shape), 0, -2)


_pearson_columns = rank_engine.pearson_columns  # the name versions.py uses


def spearman_pvalue(rho: np.ndarray, n: np.ndarray, method: str = "t") -> np.ndarray:
    """Two-sided p-value of Spearman's rho from rho and n alone.

    ``method="t"``: the t approximation with n - 2 dof, as :func:`scipy.stats.spearmanr` (the
    published tables' p); ``"as89"``: R's ``cor.test(method = "spearman", exact = TRUE)`` (exact
    for n <= 9, AS 89 Edgeworth series above; for untied data). Permutation p-values given the
    ties need the data: :func:`vp_stats.stats.spearman.permutation_pvalues`, used by
    :func:`validate_items` (``p_method``).

    Examples
    --------
    >>> from scipy.stats import spearmanr
    >>> x, y = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]
    >>> res = spearmanr(x, y)
    >>> bool(abs(spearman_pvalue(res.statistic, 6) - res.pvalue) < 1e-12)
    True
    >>> round(float(spearman_pvalue(res.statistic, 6, method="as89")), 4)  # R exact=TRUE
    0.0583
    """
    if method == "t":
        return spearman.pvalue_t(rho, n)
    if method == "as89":
        return spearman.pvalue_as89(rho, n)
    raise ValueError(
        f"method must be 't' or 'as89' (permutation p-values need the data), got {method!r}"
    )


def _value_matrix(
    scores: pd.DataFrame, families, dims
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    cols = [(f, d) for f in families for d in dims[f]]
    sub = scores[scores["family"].isin(families)]
    wide = tables.to_wide(sub, "participant", ["family", "dimension"], "score", source="scores")
    return wide.reindex(
        columns=pd.MultiIndex.from_tuples(cols, names=["family", "dimension"])
    ), cols


def _rater_sets(ratings: pd.DataFrame):
    """Pivot ratings to participants x items and group items by identical rater sets.

    The former dense layout, still used by :func:`_prepare` (for
    :mod:`vp_stats.stats.uncertainty`) and :mod:`vp_stats.stats.versions`; item validation
    itself uses :func:`_study` (no pivot).
    """
    wide = tables.to_wide(ratings, "participant", "item", "rating", source="ratings")
    mat = wide.to_numpy(dtype=float)
    mask = ~np.isnan(mat)
    patterns, inverse = np.unique(mask.T, axis=0, return_inverse=True)
    return wide, mat, patterns, inverse.ravel()


class _Inputs(NamedTuple):
    """Ratings and scores through their contracts, the families used and the rating scale.

    ``raters`` are the sorted participant ids of the ratings, ``rater_codes`` each rating's
    position in them and ``score_raters`` each score row's (-1: not a rater): the participant
    ids are hashed once per table (:func:`_rater_codes`) and reused by :func:`_study`.
    """

    ratings: pd.DataFrame
    scores: pd.DataFrame
    families: list[str]
    dims: dict
    scale: tables.Scale
    raters: np.ndarray
    rater_codes: np.ndarray
    score_raters: np.ndarray


def _inputs(
    ratings,
    scores,
    families,
    participant="participant",
    item="item",
    rating="rating",
    scale=None,
    dimensions=None,
    validated=False,
) -> _Inputs:
    """Both tables through their contracts (pingouin-style column names), and the families used.

    ``validated=True``: the tables are already canonical (:func:`vp_stats.tables.ratings_table`,
    :func:`vp_stats.tables.scores_table`, the readers of :mod:`vp_stats.io`): their contracts are
    not run again, only their columns and the checks across the two tables.
    """
    if validated:
        r = tables.require(
            ratings, ["participant", "item", "rating"], "ratings", numeric=["rating"]
        )
        s = tables.require(
            scores, ["participant", "family", "dimension", "score"], "scores", numeric=["score"]
        )
        sc = tables.parse_scale(scale) or tables.infer_scale(r["rating"])
    else:
        checked = tables.ratings_table(
            ratings, participant=participant, item=item, rating=rating, scale=scale
        )
        r, sc = checked.table, checked.scale
        s = tables.scores_table(scores, participant=participant, dimensions=dimensions)
    dims = dict(dimensions) if dimensions is not None else dict(schema.FAMILIES)
    have = set(s["family"].unique())
    present = [f for f in dims if f in have]
    if families is None:
        families = present
    families = list(families)
    unknown = [f for f in families if f not in dims]
    if unknown:
        raise ValueError(
            f"unknown famil{'ies' if len(unknown) > 1 else 'y'} {unknown}; known: {list(dims)}"
        )
    absent = [f for f in families if f not in present]
    if absent:
        raise ValueError(
            f"the scores hold no {', '.join(absent)} scores "
            f"(present: {', '.join(present) or 'none'})"
            + (
                "; derive higher-order values from the basic values with derive_higher=True "
                "(CLI --derive-higher)"
                if "higher_pvq" in absent and "pvq" in present
                else ""
            )
        )
    raters, rater_codes, score_raters = _rater_codes(r["participant"], s["participant"])
    scored = np.zeros(len(raters) + 1, dtype=bool)  # the last entry: a missing id (code -1)
    scored[score_raters] = True
    scored[-1] = False
    if not scored[:-1].all() or rater_codes.min(initial=0) < 0:
        unknown_raters = ~scored[rater_codes]
        at = int(np.flatnonzero(unknown_raters)[0])
        n_unknown = int(r.loc[unknown_raters, "participant"].nunique())
        raise TableError(
            "ratings",
            r.index[at],
            "participant",
            f"rater {r['participant'].iloc[at]!r} has no scores; {n_unknown} "
            "rater(s) have no scores in all",
            from_file=False,
        )
    return _Inputs(r, s, families, dims, sc, raters, rater_codes, score_raters)


def _rater_codes(
    participant: pd.Series, score_participant: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted rater ids, each rating's code into them, and each score row's (-1: none).

    Each table's participant column is hashed once (:func:`pandas.factorize`); the score rows
    are matched through their distinct ids (``Index.get_indexer`` of a few thousand ids, not
    of every row). This replaces an ``isin`` over the ratings and a ``get_indexer`` over the
    score rows, which hashed the same ids two more times (on a study of 8 million ratings and
    200,000 raters these hash tables outgrow the cache: ``benchmarks/bench_scale.py``).
    """
    codes, raters = rank_engine.factorize_sorted(participant)
    s_codes, s_ids = pd.factorize(score_participant.to_numpy(dtype=object))
    at = pd.Index(raters).get_indexer(s_ids)
    score_raters = np.append(at, -1)[s_codes]  # code -1 (a missing id) takes the last entry
    return raters, codes, score_raters


def _prepare(ratings: pd.DataFrame, scores: pd.DataFrame, families, dims):
    """Ratings matrix, raters' scores and the blocks of items sharing one set of raters."""
    values, cols = _value_matrix(scores, list(families), dims)
    wide, mat, patterns, inverse = _rater_sets(ratings)
    vals = values.reindex(wide.index).to_numpy(dtype=float)
    blocks = [(rows, np.flatnonzero(inverse == p)) for p, rows in enumerate(patterns)]
    return wide, cols, mat, vals, blocks


def _item_keys(ratings: pd.DataFrame) -> list[str]:
    """The item key columns of the output: ``item`` and Value Portrait's portrait/option ids."""
    return ["item", *(c for c in ("portrait_id", "option_id") if c in ratings.columns)]


class _Study(NamedTuple):
    """The engine's view of a study: sorted item ids, dimensions, values by rater, rater sets."""

    items: np.ndarray
    cols: list[tuple[str, str]]
    values: np.ndarray  # (participants, dimensions), rows in participant-code order
    blocks: list[rank_engine.Block]
    item_rows: np.ndarray  # per item code: the position of one of its rows in the ratings


def _study(inp: _Inputs) -> _Study:
    """Ratings grouped by rater set (no participants x items pivot) and the raters' values."""
    r = inp.ratings
    pc, parts = inp.rater_codes, inp.raters
    ic, items = rank_engine.factorize_sorted(r["item"])
    rating = r["rating"].to_numpy(dtype=float)
    key = ic * len(parts)  # (item, participant) as one integer; in place: no more copies
    key += pc
    step = np.diff(key)
    order = None
    if step.min(initial=1) <= 0:  # not sorted by item and participant already: sort once
        order = np.argsort(key, kind="stable")
        key, pc, ic, rating = key[order], pc[order], ic[order], rating[order]
        step = np.diff(key)
        if (step == 0).any():  # (sorted input has none)
            tables.to_wide(r, "participant", "item", "rating", source="ratings")  # names the row
    del key, step
    first = np.flatnonzero(ic[1:] != ic[:-1]) + 1  # each item's first row in sorted order
    first = np.concatenate([[0], first]) if len(ic) else first
    item_rows = np.zeros(len(items), dtype=np.intp)
    item_rows[ic[first]] = first if order is None else order[first]
    missing = np.isnan(rating)
    if missing.any():
        keep = ~missing
        pc, ic, rating = pc[keep], ic[keep], rating[keep]
    blocks = rank_engine.rater_sets(pc, ic, rating, len(parts), presorted=True)
    cols = [(f, d) for f in inp.families for d in inp.dims[f]]
    values = _values_by_rater(inp.scores, cols, inp.score_raters, len(parts))
    return _Study(items, cols, values, blocks, item_rows)


def _values_by_rater(scores: pd.DataFrame, cols, at: np.ndarray, n_raters: int) -> np.ndarray:
    """The raters' scores (raters, dimensions) in ``cols`` order; NaN where a score is absent.

    ``at``: each score row's code among ``n_raters`` raters (:func:`_rater_codes`; -1: not
    a rater). The values of :func:`_value_matrix` without a pivot (a duplicated score raises
    its error). Each (family, dimension) pair is found through the codes of the two columns
    (a few distinct strings each) rather than a MultiIndex lookup of every row (4x faster on
    the released scores).
    """
    fam, fam_u = pd.factorize(scores["family"].to_numpy(dtype=object))
    dim, dim_u = pd.factorize(scores["dimension"].to_numpy(dtype=object))
    col_of = {c: j for j, c in enumerate(cols)}
    lookup = np.full((len(fam_u) + 1, len(dim_u) + 1), -1, dtype=np.intp)  # code -1: no match
    for a, f in enumerate(fam_u):
        for b, d in enumerate(dim_u):
            lookup[a, b] = col_of.get((f, d), -1)
    dim = lookup[fam, dim]
    keep = (at >= 0) & (dim >= 0)
    at, dim = at[keep], dim[keep]
    flat = at.astype(np.int64) * len(cols) + dim
    if len(flat) and np.bincount(flat).max() > 1:
        s = scores[scores["family"].isin([c[0] for c in cols])]
        tables.to_wide(s, "participant", ["family", "dimension"], "score", source="scores")
    out = np.full((n_raters, len(cols)), np.nan)
    out.ravel()[flat] = scores["score"].to_numpy(dtype=float)[keep]
    return out


def _long_frame(st: _Study, ratings: pd.DataFrame, by_family=False, **parts) -> pd.DataFrame:
    """One row per item x dimension from per-block (items x dimensions) arrays, in item order
    (``by_family``: ordered by family, then item)."""
    placed = np.concatenate([b.items for b in st.blocks])
    back = np.argsort(placed)
    items = st.items[placed[back]]
    k, d = len(items), len(st.cols)
    fams = [c[0] for c in st.cols]
    if by_family:  # rows (family, item, dimension): a stable order of the item-major rows
        code = {f: i for i, f in enumerate(dict.fromkeys(fams))}
        rows = np.argsort(np.tile([code[f] for f in fams], k), kind="stable")
    else:
        rows = np.arange(k * d)
    item_of_row = rows // d
    dim_of_row = rows % d
    data = {"item": items[item_of_row]}
    extra = [c for c in ("portrait_id", "option_id") if c in ratings.columns]
    if extra:  # the ids of each item from one of its rows (they are the same in all)
        at = st.item_rows[placed[back]][item_of_row]
        for c in extra:
            data[c] = ratings[c].to_numpy()[at]
    data["family"] = np.asarray(fams, dtype=object)[dim_of_row]
    data["dimension"] = np.asarray([c[1] for c in st.cols], dtype=object)[dim_of_row]
    for name, arrays in parts.items():
        data[name] = np.concatenate(arrays, axis=0)[back].ravel()[rows]
    return pd.DataFrame(data)


@schema.orders_dimensions
def item_correlations(
    ratings: pd.DataFrame,
    scores: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    *,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    dimensions=None,
    validated: bool = False,
) -> pd.DataFrame:
    """Spearman correlation of every item's ratings with its raters' dimension scores.

    Parameters
    ----------
    ratings : DataFrame
        Tidy ratings (contract :class:`vp_stats.tables.Ratings`): one row per
        participant and item, columns ``participant``, ``item`` (any string id)
        and ``rating``. Value Portrait tables with ``portrait_id, option_id``
        instead of ``item`` are accepted (e.g. :func:`vp_stats.io.datasets.load_ratings`).
    scores : DataFrame
        Participant scores (contract :class:`vp_stats.tables.Scores`), long
        (``participant, family, dimension, score``) or wide (one column per dimension).
    families : sequence of str, optional
        Families to correlate with (``pvq``, ``higher_pvq``, ``bfi``); default:
        every family present in ``scores``.
    participant, item, rating : str
        Column names where yours differ (pingouin style).
    scale : Scale, "LOW-HIGH" or (low, high), optional
        Rating scale; ratings outside it are errors. Default: inferred (min..max).
    dimensions : mapping family -> dimensions, optional
        Your own families of dimensions; default :data:`vp_stats.schema.FAMILIES`.
    validated : bool
        ``True`` when ``ratings`` and ``scores`` are canonical tables already validated
        (:func:`vp_stats.tables.ratings_table` / :func:`vp_stats.tables.scores_table`, the
        readers of :mod:`vp_stats.io`, :func:`vp_stats.studies.validate.load_study`): their
        contracts are not run again (their columns, numbers and raters are still checked;
        the column-name parameters do not apply).

    Returns
    -------
    DataFrame
        ``item, [portrait_id, option_id,] family, dimension, rho, p_value, n``;
        one row per item and dimension, ordered by family, item, dimension
        (schema order). ``rho`` is NaN where an item's ratings are constant.

    Notes
    -----
    rho is the Pearson correlation of average ranks (ties averaged); the
    p-value uses t = rho sqrt((n-2)/(1-rho^2)) with n - 2 degrees of freedom,
    exactly as :func:`scipy.stats.spearmanr`.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"participant": list("abcde"), "item": "abby_Ach_likely",
    ...                   "rating": [1, 2, 3, 4, 5]})
    >>> s = pd.DataFrame({"participant": list("abcde"), "Extraversion": [1.0, 2.5, 2.0, 4.0, 5.0]})
    >>> s = s.assign(Agreeableness=s.Extraversion, Conscientiousness=s.Extraversion,
    ...              Neuroticism=s.Extraversion, Openness=s.Extraversion)
    >>> item_correlations(r, s).rho.round(3).tolist()
    [0.9, 0.9, 0.9, 0.9, 0.9]
    """
    inp = _inputs(
        ratings, scores, families, participant, item, rating, scale, dimensions, validated
    )
    return _correlations(inp)


def _correlations(inp: _Inputs, st: _Study | None = None) -> pd.DataFrame:
    """:func:`item_correlations` of tables through their contracts (``st``: their rater sets)."""
    st = _study(inp) if st is None else st
    rho_blocks = [rank_engine.block_correlations(b, st.values) for b in st.blocks]
    n_blocks = [np.full((len(b.items), len(st.cols)), len(b.raters)) for b in st.blocks]
    out = _long_frame(st, inp.ratings, by_family=True, rho=rho_blocks, n=n_blocks)
    out["p_value"] = spearman_pvalue(out["rho"].to_numpy(), out["n"].to_numpy())
    return out[[*_item_keys(inp.ratings), "family", "dimension", "rho", "p_value", "n"]]


# --------------------------------------------------------------------------- FDR


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values: min over j >= i of p_(j) m / j, capped at 1.

    The steps of ``scipy.stats.false_discovery_control(p, method="bh")``, written out so that a
    validation does not import :mod:`scipy.stats` (about 0.9 s); tests/stats/test_validation.py
    checks them against statsmodels' ``multipletests(method="fdr_bh")`` to 1e-12 and by hand.
    """
    m = p.size
    if m <= 1:
        return p.copy()
    order = np.argsort(p)
    scaled = p[order] * (m / np.arange(1, m + 1, dtype=float))  # scipy's order of operations
    adj = np.empty(m)
    adj[order] = np.clip(np.minimum.accumulate(scaled[::-1])[::-1], 0.0, 1.0)
    return adj


@schema.orders_dimensions
def add_fdr(corr: pd.DataFrame, by: str | list[str] = "family") -> pd.DataFrame:
    """Add Benjamini-Hochberg adjusted p-values (``p_fdr``) within each family.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"family": "pvq", "p_value": [0.01, 0.04, 0.03, 0.2]})
    >>> add_fdr(df).p_fdr.round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    out = corr.copy()
    out["p_fdr"] = np.nan
    for _, idx in out.groupby(by, sort=False).groups.items():
        p = out.loc[idx, "p_value"].to_numpy(dtype=float)
        ok = ~np.isnan(p)
        adj = np.full_like(p, np.nan)
        if ok.any():
            adj[ok] = _bh(p[ok])
        out.loc[idx, "p_fdr"] = adj
    return out


# --------------------------------------------------------------------------- bootstrap


@schema.orders_dimensions
def bootstrap_ci(
    ratings: pd.DataFrame,
    scores: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    batch: int | None = None,
    *,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    dimensions=None,
    validated: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Percentile bootstrap confidence intervals of every item x dimension rho.

    Raters are resampled with replacement (pairs of rating and value score kept
    together), independently for each set of items sharing the same raters;
    each resample re-ranks both variables. Resamples in which an item's
    ratings are constant give no rho and are left out of that item's interval
    (counted in ``n_boot_valid``).

    Parameters
    ----------
    n_boot : int
        Number of resamples.
    ci : float
        Coverage of the interval.
    seed : int
        Seed of :class:`numpy.random.Generator`; equal seeds give equal tables.
    batch : int, optional
        At most this many resamples at once; default: as many as fit in
        :data:`vp_stats.stats.rank_engine.BATCH_BYTES` (memory knob; results do not depend on
        it).
    participant, item, rating, scale, dimensions, validated :
        As :func:`item_correlations`.
    progress : bool
        Show a tqdm progress bar (resamples x rater sets).

    Notes
    -----
    The engine (:mod:`vp_stats.stats.rank_engine`) ranks every resample from the
    multiplicities of its raters: one sort per column before resampling, then per
    resample cumulative weights over the tie groups and one batched matrix product
    for all items and dimensions of a rater set. Memory is O(ratings + resamples x
    raters of one rater set); the resample indices are those of
    :meth:`vp_stats.stats.resampling.Resampler.indices`, drawn per rater set in a fixed
    order, so a seed gives the same table as every earlier version of the engine.

    Returns
    -------
    DataFrame
        ``item, [portrait_id, option_id,] family, dimension, ci_low, ci_high, n_boot_valid``.

    Examples
    --------
    >>> from vp_stats.stats import simulate
    >>> syn = simulate.synthetic(n_participants=60, n_items=4, seed=1)
    >>> ci = bootstrap_ci(syn["ratings"], syn["scores"], families=["pvq"], n_boot=200, seed=3)
    >>> bool((ci.ci_low <= ci.ci_high).all())
    True
    """
    check_boot_options(n_boot, ci)
    inp = _inputs(
        ratings, scores, families, participant, item, rating, scale, dimensions, validated
    )
    return _bootstrap(inp, n_boot, ci, seed, batch, progress)


#: Bootstrap values of this many bytes (several small rater sets) share one percentile call.
PERCENTILE_BYTES = 8 * 2**20


def _bootstrap(
    inp: _Inputs,
    n_boot: int,
    ci: float,
    seed: int,
    batch: int | None,
    progress: bool = False,
    st: _Study | None = None,
) -> pd.DataFrame:
    """:func:`bootstrap_ci` of tables through their contracts (``st``: their rater sets).

    BLAS runs on one thread here (:func:`~vp_stats.stats.resampling.single_threaded_blas`:
    the products per rater set are small).
    """
    from tqdm.auto import tqdm

    st = _study(inp) if st is None else st
    resampler = Resampler(seed)
    lo_blocks, hi_blocks, valid_blocks = [], [], []
    bad = np.isnan(st.values)
    pending = []

    def intervals():  # the percentiles of the pending blocks, in one call
        stacked = np.concatenate([b.transpose(1, 2, 0) for b in pending]).transpose(2, 0, 1)
        at = np.cumsum([b.shape[1] for b in pending])[:-1]
        parts = percentile_ci(stacked, ci)
        for part, out in zip(parts, (lo_blocks, hi_blocks, valid_blocks), strict=True):
            out.extend(np.split(part, at))
        pending.clear()

    with (
        single_threaded_blas(),
        tqdm(
            total=n_boot * len(st.blocks), disable=not progress, unit="resample", desc="bootstrap"
        ) as bar,
    ):
        for blk in st.blocks:
            idx = resampler.indices(len(blk.raters), n_boot)
            boots = rank_engine.block_bootstrap(blk, st.values, idx, batch, on_batch=bar.update)
            boots[:, :, bad[blk.raters].any(axis=0)] = np.nan  # a missing score: no rho
            pending.append(boots)
            if sum(b.nbytes for b in pending) >= PERCENTILE_BYTES:  # small sets: one call
                intervals()
        if pending:
            intervals()
    return _long_frame(
        st, inp.ratings, ci_low=lo_blocks, ci_high=hi_blocks, n_boot_valid=valid_blocks
    )


def _tie_matrices(x: np.ndarray) -> np.ndarray:
    """Rank contributions of the columns of x (n, k) as an (n, k*n) matrix.

    Memory O(k n^2): the former bootstrap engine, kept for :mod:`vp_stats.stats.versions` and
    as an independent check of :class:`vp_stats.stats.rank_engine.BlockRanks` in the tests;
    item validation ranks its resamples with :mod:`vp_stats.stats.rank_engine`.

    Entry [j, c*n + i] is [x_jc < x_ic] + [x_jc == x_ic] / 2, so that
    ``w @ m`` gives, for multiplicities w, every observation's rank in the resample (minus 1/2).
    """
    xt = x.T
    m = (xt[:, None, :] < xt[:, :, None]) + 0.5 * (xt[:, None, :] == xt[:, :, None])
    return np.ascontiguousarray(m.reshape(-1, x.shape[0]).T)


_multiplicities = multiplicities  # the engine's, under the name the tests of the rank trick use


def _weighted_rank_corr(w: np.ndarray, lr: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Spearman rho of every resample, computed from multiplicities without materialising it.

    A resample that draws observation j w_j times gives observation i the
    average rank sum_j w_j [x_j < x_i] + (sum_j w_j [x_j == x_i] + 1) / 2, and
    Pearson's r of those ranks with weights w equals Spearman's rho of the
    expanded resample exactly. Ranks of a resample of size W = sum_j w_j average
    (W + 1) / 2, so they are centred analytically. W is n when the resample
    draws n of these n observations (:func:`bootstrap_ci`); it varies when the
    observations are the raters of one item set within a resample of all
    raters (:mod:`vp_stats.stats.uncertainty`, :mod:`vp_stats.stats.versions`). Resamples
    with a constant variable (or W < 2) give NaN.
    """
    b, n = w.shape
    size = w.sum(axis=1)[:, None, None]  # W, exact: sums of integer counts
    centre = (size + 1) / 2
    rr = (w @ lr).reshape(b, -1, n) + (0.5 - centre)
    rv = (w @ lv).reshape(b, -1, n) + (0.5 - centre)
    cov = (rr * w[:, None, :]) @ np.swapaxes(rv, 1, 2)
    var_r = np.einsum("bki,bi->bk", rr * rr, w)
    var_v = np.einsum("bdi,bi->bd", rv * rv, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(var_r[:, :, None] * var_v[:, None, :])
    tiny = 1e-9 * size**3
    r[(var_r[:, :, None] < tiny) | (var_v[:, None, :] < tiny)] = np.nan
    return np.clip(r, -1.0, 1.0)


# --------------------------------------------------------------------------- selection


@schema.orders_dimensions
def upstream_exclusions() -> pd.DataFrame:
    """The (item, dimension) pairs upstream's scoring script excludes by hand.

    Read from the data file ``vp_stats/data/upstream_exclusions.csv`` (with a
    note on what is known of each).

    Examples
    --------
    >>> upstream_exclusions()[["portrait_id", "option_id", "dimension"]].values.tolist()
    [[3902, 4, 'Achievement'], [1901, 1, 'Universalism'], [2901, 4, 'Extraversion']]
    """
    with (
        resources.files("vp_stats")
        .joinpath("data/upstream_exclusions.csv")
        .open("r", encoding="utf-8") as fh
    ):
        df = pd.read_csv(fh, comment="#")
    unknown = set(df["dimension"]) - {d for dims in schema.FAMILIES.values() for d in dims}
    if unknown:
        raise ValueError(f"upstream_exclusions.csv: unknown dimension(s) {sorted(unknown)}")
    return df


#: The rule :func:`validate_items` applies by default for a study of one's own: rho above the
#: threshold *and* a Benjamini-Hochberg adjusted p (within each family) below this.
DEFAULT_MAX_FDR = 0.05
#: An estimated false-discovery proportion above this gets a :class:`SelectionErrorWarning`.
FDP_WARN = 0.2


class SelectionErrorWarning(UserWarning):
    """A selection whose estimated false-discovery proportion exceeds :data:`FDP_WARN`.

    Its message says how many selected pairs are expected by chance and names a rule that would
    hold the proportion near 0.05. Filter it like any warning
    (``warnings.simplefilter("ignore", SelectionErrorWarning)``); the numbers are also in the
    results (:class:`SelectionErrors`).
    """


def selection_rule(
    threshold: float = 0.3,
    mode: str = "pos",
    max_p: float | None = None,
    max_fdr: float | None = None,
    min_ci_low: float | None = None,
) -> str:
    """The selection rule in words, as recorded beside the outputs.

    Examples
    --------
    >>> selection_rule(0.3, "pos", max_fdr=0.05)
    'rho > 0.3 and p_fdr < 0.05'
    >>> selection_rule(0.2, "abs", min_ci_low=0)
    '|rho| > 0.2 and the CI excludes 0 on the side of rho (ci_low > 0 or ci_high < -0)'
    """
    rule = {
        "pos": f"rho > {threshold:g}",
        "neg": f"rho < -{threshold:g}",
        "abs": f"|rho| > {threshold:g}",
    }[mode]
    if max_p is not None:
        rule += f" and p_value < {max_p:g}"
    if max_fdr is not None:
        rule += f" and p_fdr < {max_fdr:g}"
    if min_ci_low is not None:
        rule += {
            "pos": f" and ci_low > {min_ci_low:g}",
            "neg": f" and ci_high < -{min_ci_low:g}",
            "abs": f" and the CI excludes {min_ci_low:g} on the side of rho "
            f"(ci_low > {min_ci_low:g} or ci_high < -{min_ci_low:g})",
        }[mode]
    return rule


def _check_rule(threshold, mode, max_p, max_fdr, min_ci_low, p_method="t", n_perm=1) -> None:
    """The selection and p-value options, checked in one place."""
    if mode not in schema.SELECTION_MODES:
        raise ValueError(f"mode must be one of {schema.SELECTION_MODES}, got {mode!r}")
    if not (
        isinstance(threshold, (int, float, np.number))
        and np.isfinite(threshold)
        and 0 <= threshold < 1
    ):
        raise ValueError(f"threshold must be a number in [0, 1), got {threshold!r}")
    for name, v in (("max_p", max_p), ("max_fdr", max_fdr)):
        if v is not None and not (np.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"{name} must be in (0, 1], got {v!r}")
    if min_ci_low is not None and not (np.isfinite(min_ci_low) and -1 <= min_ci_low < 1):
        raise ValueError(f"min_ci_low must be in [-1, 1), got {min_ci_low!r}")
    if p_method not in spearman.P_METHODS:
        raise ValueError(f"p_method must be one of {spearman.P_METHODS}, got {p_method!r}")
    if isinstance(n_perm, bool) or not isinstance(n_perm, (int, np.integer)) or n_perm < 1:
        raise ValueError(f"n_perm must be a positive integer, got {n_perm!r}")


@schema.orders_dimensions
def select_items(
    corr: pd.DataFrame,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None = None,
    alpha: float | None = None,
    p_column: str = "p_value",
    *,
    max_p: float | None = None,
    max_fdr: float | None = None,
    min_ci_low: float | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Mark the items that measure each dimension.

    The defaults are the published scoring rule (``rho > 0.3``), which the reproduction of the
    paper and the scoring of LLMs with the published tables apply. Its error rate is not small:
    at 47 raters a null item x dimension pair passes ``rho > 0.3`` with probability 0.02, and
    each item is tested on 10-19 dimensions while valid for at most one, so a large share of
    the selected pairs can be false. Where the table has ``n``, the rule's expected number of
    null passes and the estimated false-discovery proportion are computed
    (:func:`selection_errors`, which gives them as a result) and a
    :class:`SelectionErrorWarning` names a stricter rule when the proportion exceeds
    :data:`FDP_WARN` (``warn=False``: no warning). :func:`validate_items`, the function for a
    study of one's own, selects by ``rho > 0.3 and p_fdr < 0.05`` by default.

    Parameters
    ----------
    corr : DataFrame
        Output of :func:`item_correlations` (or the published table): ``item``
        (or ``portrait_id, option_id``), ``dimension``, ``rho`` and the columns
        the rule uses.
    threshold : float
        Strict threshold on rho (published scoring: ``rho > 0.3``).
    mode : {"pos", "abs", "neg"}
        ``pos``: rho > threshold; ``neg``: rho < -threshold; ``abs``: ``|rho|`` > threshold.
    exclusions : DataFrame, optional
        (item, dimension) pairs never selected, e.g. :func:`upstream_exclusions`;
        ``item`` or ``portrait_id, option_id``.
    alpha, p_column :
        Also require ``p_column < alpha`` (older spelling of ``max_p`` / ``max_fdr``).
    max_p, max_fdr : float, optional
        Also require ``p_value < max_p`` / ``p_fdr < max_fdr`` (Benjamini-Hochberg).
    min_ci_low : float, optional
        Also require the bootstrap CI to clear this bound on the side of the
        correlation: ``ci_low > min_ci_low`` for a positive rho, ``ci_high <
        -min_ci_low`` for a negative one (``0``: the CI excludes zero).
    warn : bool
        Warn (:class:`SelectionErrorWarning`) when the estimated false-discovery proportion
        exceeds :data:`FDP_WARN` (needs ``n``).

    Returns
    -------
    DataFrame
        ``corr`` with ``item`` (if it was absent) and boolean ``selected``,
        ``sign`` (+1/-1 for the direction of the correlation, 0 where not
        selected) and ``excluded`` columns. :func:`selection_rule` of the same
        options says the rule in words; :func:`selection_errors` of the same options gives
        its error rates.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"item": ["a", "b", "c"], "dimension": "Power", "rho": [0.5, -0.4, 0.3],
    ...                   "ci_low": [0.1, -0.7, 0.0], "ci_high": [0.8, -0.1, 0.6]})
    >>> select_items(c).selected.tolist(), select_items(c, mode="abs").sign.tolist()
    ([True, False, False], [1, -1, 0])
    >>> select_items(c, mode="abs", min_ci_low=0.2).selected.tolist()
    [False, False, False]
    """
    _check_rule(threshold, mode, max_p, max_fdr, min_ci_low)
    out = tables.require(
        tables.with_item_column(corr.copy()), ["item", "dimension", "rho"], "correlations"
    )
    rho = pd.to_numeric(out["rho"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        pos, neg = rho > threshold, rho < -threshold
    sel = {"pos": pos, "neg": neg, "abs": pos | neg}[mode]

    def need(col):  # a column the rule uses
        tables.require(out, [col], "correlations")
        return pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)

    with np.errstate(invalid="ignore"):
        if alpha is not None:
            sel = sel & (need(p_column) < alpha)
        if max_p is not None:
            sel = sel & (need("p_value") < max_p)
        if max_fdr is not None:
            sel = sel & (need("p_fdr") < max_fdr)
        if min_ci_low is not None:
            lo, hi = need("ci_low"), need("ci_high")
            sel = sel & np.where(rho > 0, lo > min_ci_low, hi < -min_ci_low)
    excluded = np.zeros(len(out), dtype=bool)
    if exclusions is not None and len(exclusions):
        ex = tables.require(
            tables.with_item_column(exclusions), ["item", "dimension"], "exclusions"
        )
        key = pd.MultiIndex.from_arrays([out["item"].astype(str), out["dimension"].astype(str)])
        excluded = key.isin(
            pd.MultiIndex.from_arrays([ex["item"].astype(str), ex["dimension"].astype(str)])
        )
    sel = sel & ~excluded
    out["selected"] = sel
    out["sign"] = np.where(sel, np.where(rho > 0, 1, -1), 0)
    out["excluded"] = excluded
    if warn and "n" in out.columns:
        rule_kw = {"max_p": max_p, "max_fdr": max_fdr, "min_ci_low": min_ci_low}
        if alpha is not None:
            rule_kw["max_fdr" if p_column == "p_fdr" else "max_p"] = alpha
        errs = selection_errors(out, threshold, mode, **rule_kw)
        if errs.warning:
            warnings.warn(errs.warning, SelectionErrorWarning, stacklevel=2)
    return out


# --------------------------------------------------------------------------- selection errors


@dataclass(frozen=True, kw_only=True)
class SelectionErrors(tables.Result):
    """The error rates of a selection rule on one table (:func:`selection_errors`).

    Attributes
    ----------
    table : DataFrame
        Per family (or overall when the table has no ``family``): ``family, n_tested,
        n_selected, expected_null, fdp`` (see below).
    rule : str
        The rule in words (:func:`selection_rule`).
    n_tested : int
        Item x dimension pairs the rule could select (rho defined, not excluded).
    n_selected : int
        Pairs selected.
    expected_null : float
        Expected number of pairs passing the rule if every tested pair were null (no
        association): the sum over pairs of the rule's pass probability under the exact null
        of Spearman's rho at the pair's n.
    fdp : float
        Estimated false-discovery proportion ``min(1, expected_null / n_selected)`` (0 when
        nothing is selected). All pairs are counted as null, so it estimates from above
        (Storey's estimator with pi0 = 1); each item is valid for at most one of its 10-19
        dimensions, so pi0 is above 0.9 in item validation and the excess is small.
    suggestion : str or None
        A rule that holds the estimate near 0.05, with what it would select (when ``fdp``
        exceeds :data:`FDP_WARN`).
    warning : str or None
        The warning's text (when ``fdp`` exceeds :data:`FDP_WARN`).
    summary : str
        One line: selected, expected by chance, estimated FDP.
    """

    rule: str
    n_tested: int
    n_selected: int
    expected_null: float
    fdp: float
    suggestion: str | None = None
    warning: str | None = None
    summary: str = ""

    def record(self) -> dict:
        """The numbers as a JSON-ready mapping (what ``provenance.json`` holds)."""
        return {
            "rule": self.rule,
            "n_tested": self.n_tested,
            "n_selected": self.n_selected,
            "expected_null_passes": round(self.expected_null, 4),
            "estimated_fdp": round(self.fdp, 4),
            "by_family": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.table.to_dict("records")
            ],
            "suggestion": self.suggestion,
            "warning": self.warning,
        }


def _pass_probability(
    t: pd.DataFrame, threshold, mode, max_p, max_fdr
) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's probability of passing the rule were it null (0 if untested), and if tested.

    rho beyond the threshold: the exact null of Spearman's rho at the pair's n (untied;
    :func:`vp_stats.stats.spearman.null_sf`). A p-value cut c on the two-sided p passes a null
    pair with probability c (c / 2 on one side); Benjamini-Hochberg's ``p_fdr < q`` is the cut
    ``p_value <= p*`` with p* the largest p it rejects in the pair's family. Both cuts and the
    threshold select the same tail of rho, so the pass probability is the smallest of the three.
    A CI condition is not modelled (the probability is then an upper bound).
    """
    n = pd.to_numeric(t["n"], errors="coerce").to_numpy(dtype=float)
    rho = pd.to_numeric(t["rho"], errors="coerce").to_numpy(dtype=float)
    tail = spearman.null_sf(threshold, n)
    prob = 2 * tail if mode == "abs" else tail
    cut = np.ones(len(t))
    if max_p is not None:
        cut = np.minimum(cut, max_p)
    if max_fdr is not None:
        p = pd.to_numeric(t["p_value"], errors="coerce").to_numpy(dtype=float)
        q = pd.to_numeric(t["p_fdr"], errors="coerce").to_numpy(dtype=float)
        groups = t["family"].to_numpy() if "family" in t.columns else np.zeros(len(t))
        for g in pd.unique(groups):
            at = groups == g
            with np.errstate(invalid="ignore"):
                rejected = at & (q < max_fdr)
            pstar = float(np.nanmax(p[rejected])) if rejected.any() else 0.0
            cut[at] = np.minimum(cut[at], pstar)
    prob = np.minimum(prob, cut if mode == "abs" else cut / 2)
    excluded = t["excluded"].to_numpy(dtype=bool) if "excluded" in t.columns else False
    tested = np.isfinite(rho) & (n >= 3) & ~excluded
    return np.where(tested, prob, 0.0), tested


def selection_errors(
    selected: pd.DataFrame,
    threshold: float = 0.3,
    mode: str = "pos",
    max_p: float | None = None,
    max_fdr: float | None = None,
    min_ci_low: float | None = None,
    *,
    suggest: bool = True,
) -> SelectionErrors:
    """Expected null passes and estimated false-discovery proportion of a selection.

    ``selected`` is :func:`select_items`'s output for the same rule (columns ``dimension, rho,
    n, selected`` and, as the rule needs, ``p_value, p_fdr``; ``family`` for a per-family
    count and for BH within each family; ``excluded`` pairs are not counted).

    The expected number of null passes is the sum over the tested pairs of the probability
    that the pair passes the rule were it null (:func:`_pass_probability`: the exact null
    distribution of Spearman's rho at each pair's n, exact enumeration for n <= 9 and R's AS 89
    series above; with a p-value cut, the cut). The estimated false-discovery proportion is
    that number over the number selected (Storey 2002, with pi0 = 1: an estimate from above).
    When it exceeds :data:`FDP_WARN`, ``warning`` says so and ``suggestion`` names a rule that
    holds it near 0.05: the same rule with ``p_fdr < 0.05`` where the table has p-values, else
    the smallest threshold on rho whose estimate is at most 0.05.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"family": "pvq", "dimension": "Power", "rho": [0.35, 0.1, 0.32, -0.2],
    ...                   "n": 47, "selected": [True, False, True, False]})
    >>> e = selection_errors(t)
    >>> e.n_selected, round(e.expected_null, 4), round(e.fdp, 4)
    (2, 0.0817, 0.0409)
    >>> e.summary.split("; ")[1]
    '0.08 expected by chance (estimated false-discovery proportion 0.04)'
    """
    _check_rule(threshold, mode, max_p, max_fdr, min_ci_low)
    need = ["dimension", "rho", "n", "selected"]
    if max_p is not None or max_fdr is not None:
        need.append("p_value")
    if max_fdr is not None:
        need.append("p_fdr")
    t = tables.require(selected, need, "selection")
    prob, tested = _pass_probability(t, threshold, mode, max_p, max_fdr)
    sel = t["selected"].to_numpy(dtype=bool)
    groups = t["family"].to_numpy() if "family" in t.columns else np.full(len(t), "all")
    rows = []
    for g in pd.unique(groups):
        at = groups == g
        k = int(sel[at].sum())
        e = float(prob[at].sum())
        rows.append((g, int(tested[at].sum()), k, e, min(1.0, e / k) if k else 0.0))
    table = pd.DataFrame(rows, columns=["family", "n_tested", "n_selected", "expected_null", "fdp"])
    n_sel, expected = int(sel.sum()), float(prob.sum())
    fdp = min(1.0, expected / n_sel) if n_sel else 0.0
    rule = selection_rule(threshold, mode, max_p, max_fdr, min_ci_low)
    summary = (
        f"{n_sel} of {int(tested.sum())} item x dimension pairs selected ({rule}); "
        f"{expected:.2f} expected by chance (estimated false-discovery proportion {fdp:.2f})"
    )
    suggestion = warning = None
    if suggest and fdp > FDP_WARN:
        suggestion = _suggest(t, threshold, mode, max_p, max_fdr, min_ci_low)
        warning = (
            f"{n_sel} item x dimension pairs pass '{rule}', and {expected:.1f} of the "
            f"{int(tested.sum())} pairs tested would pass it by chance if none were valid: the "
            f"estimated false-discovery proportion is {fdp:.2f}. {suggestion}"
        )
    return SelectionErrors(
        table=table,
        notes={"rule": rule, "summary": summary},
        rule=rule,
        n_tested=int(tested.sum()),
        n_selected=n_sel,
        expected_null=expected,
        fdp=fdp,
        suggestion=suggestion,
        warning=warning,
        summary=summary,
    )


def _suggest(t, threshold, mode, max_p, max_fdr, min_ci_low) -> str:
    """A rule holding the estimated false-discovery proportion near 0.05, with what it selects."""
    base = t.drop(columns=["selected", "sign"], errors="ignore")
    excluded = base["excluded"].to_numpy(dtype=bool) if "excluded" in base.columns else None
    if "p_value" in base.columns:
        if "p_fdr" not in base.columns or max_fdr is None:
            base = (
                add_fdr(base, by="family")
                if "family" in base.columns
                else add_fdr(base.assign(family="all")).drop(columns="family")
            )
        kw = {"max_p": max_p, "max_fdr": 0.05, "min_ci_low": min_ci_low}
        if not {"ci_low", "ci_high"} <= set(base.columns):
            kw["min_ci_low"] = None
        hint = "--max-fdr 0.05"
        new_threshold = threshold
    else:
        kw = {"max_p": max_p, "max_fdr": None, "min_ci_low": None}
        new_threshold = None
        for cand in np.round(np.arange(threshold + 0.01, 0.995, 0.01), 2):
            alt = select_items(base, float(cand), mode, warn=False)
            if excluded is not None:
                alt["excluded"] = excluded
                alt["selected"] &= ~excluded
            if selection_errors(alt, float(cand), mode, suggest=False).fdp <= 0.05:
                new_threshold = float(cand)
                break
        if new_threshold is None:
            return "No threshold on rho holds it near 0.05 at these sample sizes."
        hint = f"--threshold {new_threshold:g}"
    alt = select_items(base, new_threshold, mode, warn=False, **kw)
    if excluded is not None:
        alt["excluded"] = excluded
        alt["selected"] &= ~excluded
    errs = selection_errors(alt, new_threshold, mode, **kw, suggest=False)
    return (
        f"The rule '{errs.rule}' ({hint}) would hold it near 0.05: it selects "
        f"{errs.n_selected} pairs, {errs.expected_null:.1f} expected by chance (estimated "
        f"false-discovery proportion {errs.fdp:.2f})."
    )


@schema.orders_dimensions
def validated_summary(selected: pd.DataFrame) -> pd.DataFrame:
    """Count selected items per family and dimension (schema order).

    The counts' error rates are :func:`selection_errors` of the same table and rule.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"family": "pvq", "dimension": ["Power", "Power", "Hedonism"],
    ...                   "selected": [True, True, False]})
    >>> validated_summary(s).query("dimension == 'Power'").n_selected.item()
    2
    """
    tables.require(selected, ["family", "dimension", "selected"], "selection")
    rows = []
    for fam, dims in schema.FAMILIES.items():
        sub = selected[selected["family"] == fam]
        if sub.empty:
            continue
        for d in dims:
            rows.append((fam, d, int(sub.loc[sub["dimension"] == d, "selected"].sum())))
    return pd.DataFrame(rows, columns=["family", "dimension", "n_selected"])


# --------------------------------------------------------------------------- calibrated p-values


def _calibrated_pvalues(
    inp: _Inputs, st: _Study, corr: pd.DataFrame, p_method: str, n_perm: int, seed: int
) -> tuple[pd.DataFrame, dict]:
    """Replace the t-approximation p-values by ``p_method``'s; count the pairs per method.

    ``permutation`` (and ``auto`` below :data:`vp_stats.stats.spearman.AUTO_MAX_N` raters):
    for each rater set of ``st`` (the blocks the correlations came from, rows in the same
    order), :func:`vp_stats.stats.spearman.permutation_pvalues` tests every item x dimension
    with the same permutations of its raters.
    """
    n = corr["n"].to_numpy(dtype=float)
    counts = {"t approximation": 0, "exact permutation": 0, "Monte Carlo permutation": 0}
    if p_method == "t":
        counts["t approximation"] = len(corr)
        return corr, counts
    corr = corr.copy()
    if p_method == "as89":
        corr["p_value"] = spearman.pvalue_as89(corr["rho"].to_numpy(dtype=float), n)
        return corr, {"R exact=TRUE (AS 89)": len(corr)}
    need = n < spearman.AUTO_MAX_N if p_method == "auto" else np.ones(len(corr), dtype=bool)
    counts["t approximation"] = int((~need).sum())
    if not need.any():
        return corr, counts
    p_blocks = []
    for blk in st.blocks:  # one rater set: every item x dimension with the same permutations
        p = np.full((len(blk.items), len(st.cols)), np.nan)
        n_set = len(blk.raters)
        y = st.values[blk.raters]
        ok = ~np.isnan(y).any(axis=0)  # dimensions scored for every rater of the set
        wanted = p_method != "auto" or n_set < spearman.AUTO_MAX_N
        if wanted and ok.any() and n_set >= 2:
            p[:, ok] = spearman.permutation_pvalues(blk.ratings, y[:, ok], n_perm, seed)[0]
        p_blocks.append(p)
    perm = _long_frame(st, inp.ratings, by_family=True, p=p_blocks)["p"].to_numpy()
    corr["p_value"] = np.where(need, perm, corr["p_value"].to_numpy())
    counts["exact permutation"] = int((need & (n <= spearman.EXACT_MAX_N)).sum())
    counts["Monte Carlo permutation"] = int((need & (n > spearman.EXACT_MAX_N)).sum())
    return corr, counts


# --------------------------------------------------------------------------- all in one


@dataclass(frozen=True, kw_only=True)
class ItemValidation(tables.Result):
    """What :func:`validate_items` returns: the table of ``item_correlations.csv`` and its notes.

    Attributes
    ----------
    table : DataFrame
        ``item, [portrait_id, option_id,] family, dimension, rho, p_value, n, p_fdr, ci_low,
        ci_high, selected``.
    rule : str
        The selection rule in words (:func:`selection_rule`).
    scale : Scale
        The rating scale (given, or inferred from the ratings: ``scale.inferred``).
    errors : SelectionErrors or None
        The selection's expected null passes and estimated false-discovery proportion
        (:func:`selection_errors`); ``errors.warning`` when it exceeds :data:`FDP_WARN`.
    p_values : str
        How ``p_value`` was computed, with the number of pairs per method.
    notes : mapping
        ``rule``, ``scale``, ``p_values``, ``selection_errors`` (the summary line) and
        ``selection_warning`` as text (what is recorded beside the table).

    Examples
    --------
    >>> import pandas as pd
    >>> from vp_stats import tables
    >>> res = ItemValidation(table=pd.DataFrame({"item": ["q1"]}), rule="rho > 0.3",
    ...                      scale=tables.Scale(1, 5))
    >>> res.notes["rule"], res.notes["scale"], len(res.summary_frame())
    ('rho > 0.3', '1-5', 1)
    """

    rule: str
    scale: tables.Scale
    errors: SelectionErrors | None = None
    p_values: str = ""

    def __post_init__(self):
        if not self.notes:
            notes = {"rule": self.rule, "scale": str(self.scale)}
            if self.p_values:
                notes["p_values"] = self.p_values
            if self.errors is not None:
                notes["selection_errors"] = self.errors.summary
                notes["selection_warning"] = self.errors.warning
            object.__setattr__(self, "notes", notes)


def validate_items(
    ratings: pd.DataFrame,
    scores: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    *,
    max_p: float | None = None,
    max_fdr: float | None = DEFAULT_MAX_FDR,
    min_ci_low: float | None = None,
    p_method: str = "auto",
    n_perm: int = 10_000,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    dimensions=None,
    validated: bool = False,
    progress: bool = False,
) -> ItemValidation:
    """Correlations, calibrated p-values, FDR, bootstrap CIs, selection and its error rates.

    The ratings and scores go through their contracts once (not at all with
    ``validated=True``, for tables a reader or :func:`vp_stats.studies.validate.load_study`
    has validated). ``n_boot=0`` skips the bootstrap (CI columns NaN); ``progress`` shows its
    progress bar (:func:`bootstrap_ci`). Other parameters as :func:`item_correlations` and
    :func:`select_items`.

    The default rule is ``rho > 0.3 and p_fdr < 0.05``: the paper's threshold on rho and
    Benjamini-Hochberg's adjusted p (within each family) below 0.05. Why: the paper's rule
    alone (``max_fdr=None``) passes about 2 % of null item x dimension pairs at 47 raters, and
    each item is tested on 10-19 dimensions while valid for at most one, so 34-57 % of what it
    selects is false under realistic mixtures; BH bounds the expected share at 5 %, and the
    threshold keeps the selected correlations large enough to matter. The price is power at
    small samples (on a 40-rater pilot the paper's rule selects 148 pairs, this rule 4): a
    small study can validate few items, and the result says so. The reproduction of the paper
    passes ``max_fdr=None, p_method="t"`` (:func:`vp_stats.studies.released.validate_data`).

    Parameters
    ----------
    max_fdr : float or None
        Require ``p_fdr < max_fdr`` (default :data:`DEFAULT_MAX_FDR`); ``None``: no FDR filter.
    p_method : {"auto", "permutation", "t", "as89"}
        The p-value of each rho (:mod:`vp_stats.stats.spearman`). ``auto`` (default):
        permutation p-values given the observed ties below 100 raters (exact enumeration for
        n <= 9, ``n_perm`` seeded Monte Carlo permutations above), the t approximation from 100
        on, where its tail error is a few per cent (at 47 raters it is anti-conservative by
        about 20 % at p = 1e-3). ``t``: scipy's and the published tables'. ``as89``: R's
        ``cor.test(exact = TRUE)`` (untied data).
    n_perm : int
        Monte Carlo permutations per rater set (seeded by ``seed``); the smallest p they can
        give is ``1 / (n_perm + 1)``.

    Returns
    -------
    ItemValidation
        ``table``: the columns of ``item_correlations.csv``: ``item, [portrait_id,
        option_id,] family, dimension, rho, p_value, n, p_fdr, ci_low, ci_high,
        selected`` (the Value Portrait ids only for tables that carry them);
        ``rule`` (:func:`selection_rule`), the rating ``scale``, ``errors``
        (:func:`selection_errors`: expected null passes, estimated false-discovery
        proportion, a warning and a stricter rule when it exceeds 0.2) and ``p_values``.

    Warns
    -----
    SelectionErrorWarning
        When the estimated false-discovery proportion exceeds :data:`FDP_WARN` (the same text
        as ``errors.warning``).

    Examples
    --------
    >>> from vp_stats.stats import simulate
    >>> syn = simulate.synthetic(n_participants=80, n_items=6, seed=2)
    >>> res = validate_items(syn["ratings"], syn["scores"], families=["pvq"], n_boot=50)
    >>> list(res.table.columns)[-4:], res.rule, str(res.scale)
    (['p_fdr', 'ci_low', 'ci_high', 'selected'], 'rho > 0.3 and p_fdr < 0.05', '1-6')
    >>> res.errors.n_selected, res.errors.fdp < 0.2
    (6, True)
    """
    _check_rule(threshold, mode, max_p, max_fdr, min_ci_low, p_method, n_perm)
    if min_ci_low is not None and not n_boot:
        raise ValueError("min_ci_low needs the bootstrap CIs: set n_boot > 0")
    inp = _inputs(
        ratings, scores, families, participant, item, rating, scale, dimensions, validated
    )
    st = _study(inp)  # the rater sets, once for the correlations and their bootstrap
    corr, counts = _calibrated_pvalues(inp, st, _correlations(inp, st), p_method, n_perm, seed)
    corr = add_fdr(corr)
    keys = [
        c for c in corr.columns if c in ("item", "portrait_id", "option_id", "family", "dimension")
    ]
    if n_boot:
        check_boot_options(n_boot, ci)
        cis = _bootstrap(inp, n_boot, ci, seed, None, progress, st)
        corr = corr.merge(
            cis[[*keys, "ci_low", "ci_high"]], on=keys, how="left", validate="one_to_one"
        )
    else:
        corr["ci_low"] = np.nan
        corr["ci_high"] = np.nan
    rule_kw = {"max_p": max_p, "max_fdr": max_fdr, "min_ci_low": min_ci_low}
    sel = select_items(
        corr, threshold=threshold, mode=mode, exclusions=exclusions, warn=False, **rule_kw
    )
    errors = selection_errors(sel, threshold, mode, **rule_kw)
    if errors.warning:
        warnings.warn(errors.warning, SelectionErrorWarning, stacklevel=2)
    used = "; ".join(f"{k}: {v} pairs" for k, v in counts.items() if v)
    cols = [*keys, "rho", "p_value", "n", "p_fdr", "ci_low", "ci_high", "selected"]
    return ItemValidation(
        table=schema.order_dimensions(sel[cols]),  # sorting keeps the circumplex
        rule=selection_rule(threshold, mode, **rule_kw),
        scale=inp.scale,
        errors=errors,
        p_values=f"{spearman.describe(p_method, n_perm)} ({used})",
    )


# --------------------------------------------------------------------------- upstream procedure

#: Why the published tables differ from a recomputation on the released files, in brief.
UPSTREAM_PROCEDURE_NOTE = (
    "Participant P186 rated groups 0 and 5 and answered the value questionnaires once per group. "
    "The released value.json keeps only the group-5 record (the file was merged group by group and "
    "the later record overwrote the earlier one; the key still sits at P186's group-0 position). "
    "The "
    "published correlations used P186's group-0 record for the 40 group-0 items, so 598 of 9,880 "
    "published rows (all in group 0) differ from a recomputation with the released scores. "
    "procedure='upstream' substitutes that record, recovered from the published tables "
    "(vp_stats/data/upstream_p186_group0.csv), and reproduces every published row exactly."
)


@schema.orders_dimensions
def upstream_p186_group0() -> pd.DataFrame:
    """P186's group-0 value record that the published correlations used (recovered; see the file).

    Examples
    --------
    >>> rec = upstream_p186_group0()
    >>> rec.groupby("family").size().to_dict()
    {'pvq': 10, 'higher_pvq': 4, 'bfi': 5}
    """
    with (
        resources.files("vp_stats")
        .joinpath("data/upstream_p186_group0.csv")
        .open("r", encoding="utf-8") as fh
    ):
        return pd.read_csv(fh, comment="#")


@schema.orders_dimensions
def apply_procedure(
    ratings: pd.DataFrame, scores: pd.DataFrame, procedure: str = "correct"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the (ratings, scores) pair a correlation procedure works on.

    ``"correct"`` leaves both unchanged: every rating is paired with the rater's
    released scores. ``"upstream"`` pairs P186's group-0 ratings with the group-0
    value record the published tables used (see :data:`UPSTREAM_PROCEDURE_NOTE`),
    by giving those ratings the participant id ``P186@group0``.

    Examples
    --------
    >>> from vp_stats.io import datasets
    >>> ratings, scores = datasets.load_ratings(), datasets.load_participant_scores()
    >>> r, s = apply_procedure(ratings, scores, "upstream")
    >>> int((r.participant == "P186@group0").sum()), int((s.participant == "P186@group0").sum())
    (40, 19)
    """
    if procedure == "correct":
        return ratings, scores
    if procedure != "upstream":
        raise ValueError(f"procedure must be 'correct' or 'upstream', got {procedure!r}")
    rec = upstream_p186_group0()
    alias = "P186@group0"
    # the ratings' participant group, as datasets.load_ratings gives it
    tables.require(ratings, ["participant", "group"], "ratings (procedure='upstream')")
    hit = (ratings["participant"] == "P186") & (ratings["group"] == 0)
    ratings = ratings.copy()
    ratings.loc[hit, "participant"] = alias
    scores = pd.concat(
        [scores, rec.assign(participant=alias)[["participant", "family", "dimension", "score"]]],
        ignore_index=True,
    )
    return ratings, scores
