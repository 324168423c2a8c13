"""Two-stage (selection) uncertainty of model value profiles.

A model's value profile (:func:`vp_stats.stats.scoring.value_profiles`) rests on two
samples: the human raters, whose item correlations decide which items are
validated for each value (Han et al., 2025, section 3), and the items, whose
mean answer is the score (section 4). The item-resampling CI of
``value_profiles`` takes the selection as given. :func:`selection_uncertainty`
adds the first stage: it resamples raters, recomputes every item x dimension
Spearman rho, reselects the items with the same rule, and rescores every model
on the reselected items, so that the interval also carries the uncertainty of
which items were validated (a bootstrap of the whole procedure, selection
included, in the spirit of Efron 2014, "Estimation and accuracy after model
selection", JASA 109, 991-1007).

Per rater resample ``b`` (raters drawn with replacement, optionally within
strata; :class:`vp_stats.stats.resampling.Resampler`):

1. ``rho_b`` of every item and dimension over the drawn raters who rated the
   item (the multiplicity-weighted rank engine of
   :func:`vp_stats.stats.validation.bootstrap_ci`, one matrix product per set of
   items sharing raters);
2. the selection ``S_b`` by the rule (``threshold``, ``mode``, optionally
   ``max_p`` / ``max_fdr`` with p-values and Benjamini-Hochberg within each
   family recomputed in the resample; exclusions kept);
3. the profile on ``S_b`` (``centered_mean`` as in ``value_profiles``: mean
   answer over ``S_b`` of the dimension, reversed for negatively keyed items,
   minus the mean answer over the family's selected items): its percentiles
   give ``sel_ci_low, sel_ci_high`` (selection uncertainty alone);
4. one item resample within each dimension's ``S_b`` (centre held fixed, as in
   ``value_profiles``): these resamples give ``ci_low, ci_high``, the two-stage
   interval (raters, then items): by default their percentiles at Hesterberg's
   expanded level (:func:`expanded_level`), which corrects the narrowness of a
   bootstrap over few items.

By default (``reselect="same_size"``, ``interval="expanded"``) the two-stage
interval covers a known profile at least as often as it claims (0.988 at 47 and
0.978 at 200 raters per item, nominal 0.95); the one-stage item CI of
``value_profiles`` does not (0.873 and 0.877; validation/operating_characteristics.py,
README.md "Operating characteristics").

Examples
--------
>>> from vp_stats.stats import simulate
>>> from vp_stats.stats import uncertainty
>>> st = simulate.synthetic_study(n_participants=120, n_items=40, seed=1)
>>> answers = st["truth"].assign(model="m", numeric_response=[3.0 + (i % 3) for i in range(40)])
>>> res = uncertainty.selection_uncertainty(st["ratings"], st["scores"], answers, families=["pvq"],
...                                         exclusions=None, n_boot=50, seed=1, answer_scale="1-5")
>>> list(res.profiles.columns[:5]), list(res.selection.columns[-2:]), res.rule
(['model', 'family', 'dimension', 'centered_mean', 'n'], ['selected', 'freq_selected'], 'rho > 0.3')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import schema, tables
from vp_stats.stats import rank_engine, validation
from vp_stats.stats.resampling import Resampler, check_boot_options, multiplicities, percentile_ci

__all__ = [
    "selection_uncertainty",
    "SelectionUncertainty",
    "PROFILE_UNCERTAINTY_COLUMNS",
    "INTERVALS",
    "expanded_level",
]

_DEFAULT = object()

#: Columns of ``selection_uncertainty(...).profiles``.
PROFILE_UNCERTAINTY_COLUMNS = [
    "model",
    "family",
    "dimension",
    "centered_mean",
    "n",
    "ci_low",
    "ci_high",
    "sel_ci_low",
    "sel_ci_high",
    "item_ci_low",
    "item_ci_high",
    "n_boot_valid",
    "mean_n_selected",
]


@dataclass(frozen=True, kw_only=True)
class SelectionUncertainty(tables.Result):
    """What :func:`selection_uncertainty` returns: profile intervals, the selection, and notes.

    Attributes
    ----------
    table : DataFrame
        The profiles with their intervals (:data:`PROFILE_UNCERTAINTY_COLUMNS`); also
        :attr:`profiles`.
    selection : DataFrame
        One row per item and dimension: ``item, [portrait_id, option_id,] family, dimension,
        rho, selected, freq_selected``.
    rule : str
        The selection rule in words (:func:`vp_stats.stats.validation.selection_rule`).
    n_boot, seed : int
        Rater resamples used and their seed.
    notes : mapping
        ``rule``, ``n_boot`` and ``seed`` (what is recorded beside the tables).

    Examples
    --------
    >>> import pandas as pd
    >>> res = SelectionUncertainty(table=pd.DataFrame({"model": ["m"]}), selection=pd.DataFrame(),
    ...                            rule="rho > 0.3", n_boot=10, seed=0)
    >>> res.profiles.model.tolist(), res.notes
    (['m'], {'rule': 'rho > 0.3', 'n_boot': 10, 'seed': 0})
    """

    selection: pd.DataFrame
    rule: str
    n_boot: int
    seed: int

    def __post_init__(self):
        if not self.notes:
            notes = {"rule": self.rule, "n_boot": self.n_boot, "seed": self.seed}
            object.__setattr__(self, "notes", notes)

    @property
    def profiles(self) -> pd.DataFrame:
        """The profiles with their intervals (the result's ``table``)."""
        return self.table


def _rater_strata(r: pd.DataFrame, raters: pd.Index, strata: str | None) -> np.ndarray | None:
    """Each rater's stratum: the value(s) of the ratings' column ``strata`` (joined with '+')."""
    if strata is None:
        return None
    tables.require(r, [strata], "ratings")
    lab = r.groupby("participant")[strata].agg(lambda v: "+".join(sorted(map(str, pd.unique(v)))))
    return lab.reindex(raters).to_numpy(dtype=object)


def _resample_rhos(w, blocks, ties, k, d):
    """rho (B, K, D) and drawn raters (B, K) of every item, from rater multiplicities w (B, N).

    ``ties``: per block, its :class:`vp_stats.stats.rank_engine.BlockRanks` (tie groups from
    one sort per column, memory linear in the block's ratings) or, as before, its pair of
    (n, k*n) tie matrices (:func:`vp_stats.stats.validation._tie_matrices`).
    """
    b = w.shape[0]
    rho = np.empty((b, k, d))
    n = np.empty((b, k))
    for (rows, items), t in zip(blocks, ties, strict=True):
        wb = w[:, rows]
        if isinstance(t, rank_engine.BlockRanks):
            rho[:, items] = t.rhos(wb)
        else:
            rho[:, items] = validation._weighted_rank_corr(wb, *t)
        n[:, items] = wb.sum(axis=1)[:, None]
    return rho, n


def _select(rho, n, rule, excluded, fam_of_col, size=None):
    """The rule applied to every resample: selected (B, K, D) and sign (+1 / -1).

    With ``size`` (D,), each dimension instead takes its ``size[d]`` items with
    the largest resampled rho in the rule's direction (exclusions kept).
    """
    threshold, mode, max_p, max_fdr = rule
    sign = np.where(rho > 0, 1, -1)
    if size is not None:
        strength = {"pos": rho, "neg": -rho, "abs": np.abs(rho)}[mode]
        strength = np.where(excluded[None] | np.isnan(strength), -np.inf, strength)
        order = np.argsort(-strength, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(
            rank,
            order,
            np.broadcast_to(np.arange(rho.shape[1])[None, :, None], order.shape),
            axis=1,
        )
        return (rank < np.asarray(size)[None, None, :]) & np.isfinite(strength), sign
    with np.errstate(invalid="ignore"):
        pos, neg = rho > threshold, rho < -threshold
    sel = {"pos": pos, "neg": neg, "abs": pos | neg}[mode]
    if max_p is not None or max_fdr is not None:
        p = validation.spearman_pvalue(rho, n[:, :, None])
        if max_p is not None:
            with np.errstate(invalid="ignore"):
                sel = sel & (p < max_p)
        if max_fdr is not None:
            q = np.full_like(p, np.nan)
            for f in dict.fromkeys(fam_of_col):
                cols = np.flatnonzero(fam_of_col == f)
                for i in range(p.shape[0]):
                    pf = p[i][:, cols]
                    ok = ~np.isnan(pf)
                    qf = np.full_like(pf, np.nan)
                    if ok.any():
                        qf[ok] = stats.false_discovery_control(pf[ok], method="bh")
                    q[i][:, cols] = qf
            with np.errstate(invalid="ignore"):
                sel = sel & (q < max_fdr)
    return sel & ~excluded[None], sign


def _profiles(weights, sign, a0, r0, ok, fam_index, centre=None):
    """Centred scores (B, M, D) of every model from item weights (B, K, D).

    The weights are 0/1 selections or resample counts.

    ``centre`` (B, M, F) is the mean raw answer over each family's selected
    items; computed from ``weights`` (its non-zero pattern) when not given.
    """
    b, k, d = weights.shape
    pos = np.where(sign > 0, weights, 0.0).transpose(1, 0, 2).reshape(k, b * d)
    neg = np.where(sign < 0, weights, 0.0).transpose(1, 0, 2).reshape(k, b * d)
    num = a0 @ pos + r0 @ neg
    den = ok @ (pos + neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        orig = (num / den).reshape(-1, b, d).transpose(1, 0, 2)  # (B, M, D)
    if centre is None:
        union = np.stack(
            [(weights[:, :, cols] > 0).any(axis=2) for cols in fam_index], axis=2
        )  # (B, K, F)
        u = union.transpose(1, 0, 2).reshape(k, -1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = ((a0 @ u) / (ok @ u)).reshape(-1, b, len(fam_index)).transpose(1, 0, 2)
    col_fam = np.empty(d, dtype=int)
    for j, cols in enumerate(fam_index):
        col_fam[cols] = j
    return orig - centre[:, :, col_fam], centre


def _item_se(weights, sign, a0, r0, ok) -> np.ndarray:
    """Bootstrap standard error (B, M, D) of the mean answer over the items of ``weights``.

    ``sqrt(v / n)`` with ``v`` the (weighted) population variance of the answers and ``n``
    the (weighted) number of answered items: the exact standard deviation of the item
    resample's mean (Efron & Tibshirani 1993, eq. 6.9), the scale of the studentised interval.
    """
    b, k, d = weights.shape
    pos = np.where(sign > 0, weights, 0.0).transpose(1, 0, 2).reshape(k, b * d)
    neg = np.where(sign < 0, weights, 0.0).transpose(1, 0, 2).reshape(k, b * d)
    den = ok @ (pos + neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = (a0 @ pos + r0 @ neg) / den
        m2 = ((a0**2) @ pos + (r0**2) @ neg) / den
        se = np.sqrt(np.maximum(m2 - m1**2, 0.0) / den)
    return se.reshape(-1, b, d).transpose(1, 0, 2)


def _item_resample(sel, resampler: Resampler) -> np.ndarray:
    """Draw the selected items with replacement per resample and dimension: counts (B, K, D)."""
    counts = np.zeros(sel.shape)
    for i in range(sel.shape[0]):
        for j in range(sel.shape[2]):
            members = np.flatnonzero(sel[i, :, j])
            if len(members):
                counts[i, members, j] = multiplicities(
                    resampler.indices(len(members), 1), len(members)
                )[0]
    return counts


#: The two-stage intervals :func:`selection_uncertainty` offers (``interval=``).
INTERVALS = ("expanded", "studentized", "percentile")


def expanded_level(n_items, ci: float = 0.95) -> np.ndarray:
    """Coverage at which to read the percentiles of a mean of ``n_items`` items.

    Hesterberg's (2015, "What teachers should know about the bootstrap", The American
    Statistician 69, 371-386, section 4.3) expanded percentile interval: the resamples'
    percentiles at ``1 - 2 Phi(-sqrt(n / (n - 1)) t_{n-1, (1 + ci) / 2})`` instead of
    ``ci``. The bootstrap distribution of a mean is narrower than its sampling
    distribution by ``sqrt((n - 1) / n)`` and normal rather than t; the expansion makes
    the interval equal the t interval for normal data. NaN for ``n < 2``.

    Examples
    --------
    >>> expanded_level([1, 2, 5, 1000]).round(4).tolist()
    [nan, 1.0, 0.9981, 0.9504]
    """
    n = np.asarray(n_items, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf((1 + ci) / 2, n - 1)
        return np.where(n >= 2, 1 - 2 * stats.norm.sf(np.sqrt(n / (n - 1)) * t), np.nan)


def _interval(kind, boot, point, ci, se_boot=None, se0=None, n_items=None):
    """``(low, high, n_valid)`` of one kind from resamples ``boot`` (B, ...) and the estimate.

    ``percentile``: the resamples' quantiles (:func:`vp_stats.stats.resampling.percentile_ci`).
    ``expanded``: the quantiles at :func:`expanded_level` of each cell's ``n_items`` (the
    answered items the data selected); NaN for fewer than two.
    ``studentized`` (bootstrap-t; Davison & Hinkley 1997, eq. 5.7; Efron & Tibshirani
    1993, ch. 12.5): ``point - t_high se0, point - t_low se0`` with the quantiles of
    ``t = (boot - point) / se_boot``. A resample whose drawn items all give one answer
    (``se_boot = 0``) while its profile moved has an infinite ``t`` and is kept (it
    widens the interval instead of being dropped); where the data's own standard error
    ``se0`` is 0 or NaN (fewer than two answered items) the interval is NaN.
    """
    if kind == "percentile":
        return percentile_ci(boot, ci)
    if kind == "expanded":
        level = expanded_level(n_items, ci)
        lo = np.full(point.shape, np.nan)
        hi = lo.copy()
        valid = np.zeros(point.shape, dtype=int)
        for lev in np.unique(level[np.isfinite(level)]):
            m = level == lev
            lo_, hi_, v_ = percentile_ci(boot, float(lev))
            lo[m], hi[m], valid[m] = lo_[m], hi_[m], v_[m]
        return lo, hi, valid
    dev = boot - point
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dev == 0, 0.0, dev / se_boot)
    t = np.where(np.isnan(boot) | np.isnan(se_boot), np.nan, t)
    big = np.finfo(float).max / 4  # a finite stand-in for an infinite t, so it sorts last
    tlo, thi, valid = percentile_ci(np.clip(t, -big, big), ci)
    tlo, thi = (
        np.where(q >= big / 2, np.inf, np.where(q <= -big / 2, -np.inf, q)) for q in (tlo, thi)
    )
    defined = np.isfinite(se0) & (se0 > 0)
    with np.errstate(invalid="ignore"):
        lo = np.where(defined, point - thi * se0, np.nan)
        hi = np.where(defined, point - tlo * se0, np.nan)
    return lo, hi, valid


def selection_uncertainty(
    ratings: pd.DataFrame,
    scores: pd.DataFrame,
    answers: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None | object = _DEFAULT,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    *,
    max_p: float | None = None,
    max_fdr: float | None = None,
    strata: str | None = None,
    reselect: str = "same_size",
    interval: str = "expanded",
    answer_rating: str = "numeric_response",
    answer_scale=None,
    batch: int = 50,
    rater_indices: np.ndarray | None = None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    dimensions=None,
) -> SelectionUncertainty:
    """Profile CIs that carry the uncertainty of the item selection.

    Raters are resampled and the items reselected in every resample.

    Parameters
    ----------
    ratings, scores : DataFrame
        The human raters' item ratings and value scores (as
        :func:`vp_stats.stats.validation.item_correlations`).
    answers : DataFrame
        The models' answers (as :func:`vp_stats.stats.scoring.value_profiles`): one
        row per model and item, ``model``, ``item`` (or ``portrait_id,
        option_id``) and the answer in column ``answer_rating``.
    families : sequence of str, optional
        Families to validate and score; default every family in ``scores``.
    threshold, mode, exclusions, max_p, max_fdr :
        The selection rule (:func:`vp_stats.stats.validation.select_items`), applied
        to the data and to every resample; ``exclusions`` defaults to upstream's
        hand exclusions, as ``value_profiles``. A rule on the bootstrap CI
        (``min_ci_low``) would need a bootstrap within every resample and is not offered.
    n_boot, ci, seed :
        Rater resamples, coverage, seed (:class:`vp_stats.stats.resampling.Resampler`);
        equal seeds give equal tables. The item-resampling CIs
        (``item_ci_low, item_ci_high``) are those of ``value_profiles`` with the
        same ``n_boot``, ``ci`` and ``seed``.
    reselect : {"same_size", "rule"}
        ``"same_size"`` (default): every resample selects, per dimension, as many
        items as the data did: those with the largest resampled rho in the rule's
        direction (exclusions kept). ``"rule"``: every resample selects with the
        rule itself. See Notes for why the two differ and how often each covers.
    interval : {"expanded", "studentized", "percentile"}
        How ``ci_low, ci_high`` are read from the two-stage resamples.
        ``"expanded"`` (default): the percentiles at :func:`expanded_level` of the
        cell's ``n`` (Hesterberg 2015; NaN where ``n < 2``); coverage of a known
        profile 0.988 at 47 and 0.978 at 200 raters per item (nominal 0.95:
        conservative, the only one of the three at or above nominal at both
        sizes). ``"studentized"``: bootstrap-t with the item-resampling standard
        error (:func:`_interval`); coverage 0.935 and 0.943, and wider.
        ``"percentile"``: the plain percentiles; coverage 0.963 and 0.928. See Notes.
    strata : str, optional
        A ratings column (e.g. ``"group"``) within whose values raters are
        resampled; a rater's stratum is the set of values of their ratings.
        Default: all raters resampled together, so each item's number of
        drawn raters varies between resamples.
    answer_rating, answer_scale :
        The answers' column and scale (default 1-6), as ``rating`` and ``scale``
        of ``value_profiles``.
    batch : int
        Rater resamples processed at once (memory knob; results do not depend on it).
    rater_indices : array (B, N), optional
        Use these rater resamples instead of drawing ``n_boot`` (indices into
        the raters sorted by id); ``np.arange(N)[None]`` is the data itself.
    participant, item, rating, scale, dimensions :
        As :func:`vp_stats.stats.validation.item_correlations`.

    Returns
    -------
    SelectionUncertainty
        ``profiles`` (also ``table``): one row per model and dimension: ``model, family,
        dimension, centered_mean`` (the profile on the items selected in the
        data), ``n`` (those items the model answered), ``ci_low, ci_high``
        (two-stage: raters, reselection, then items), ``sel_ci_low,
        sel_ci_high`` (raters and reselection only, all reselected items),
        ``item_ci_low, item_ci_high`` (items only, selection fixed: today's
        ``value_profiles`` CI), ``n_boot_valid`` (resamples with a score) and
        ``mean_n_selected`` (items selected per resample, mean).
        ``selection``: one row per item and dimension: ``item, [portrait_id,
        option_id,] family, dimension, rho, selected`` (in the data) and
        ``freq_selected`` (share of rater resamples that select it).
        ``rule``, ``n_boot`` (resamples used) and ``seed``.

    Notes
    -----
    The bootstrap treats the raters as the sampled units of the validation
    stage and the items as the sampled units of the scoring stage; the model
    answers are fixed.

    Coverage of a known profile (validation/operating_characteristics.py
    ``--reps 100 --intervals``, seed 0: 100 simulated studies of 120 items and 5
    models at 47 and at 200 raters per item, 200 resamples; nominal 0.95; Monte
    Carlo error after ``±``; mean width in scale points):

    ==========================================  ===============  ===============
    interval                                    47 raters        200 raters
    ==========================================  ===============  ===============
    one-stage item CI (``item_ci_low/high``)    0.873 ± 0.005    0.877 ± 0.005
    same_size, expanded (default)               0.988 ± 0.002    0.978 ± 0.002
    same_size, studentized                      0.935 ± 0.004    0.943 ± 0.003
    same_size, percentile                       0.963 ± 0.003    0.928 ± 0.004
    rule, percentile (the earlier default)      0.902 ± 0.005    0.931 ± 0.004
    width: one-stage / default                  0.82 / 1.50      0.78 / 1.13
    ==========================================  ===============  ===============

    A percentile interval over few items is too narrow (a bootstrap mean varies
    by ``sqrt((n - 1) / n)`` of the sampling SD and is read on the normal, not the
    t, scale): the one-stage CI misses at 200 raters as at 47, where selection is
    no longer in doubt. Chance cross-value selections pull the estimate towards 0
    (by 0.166 ± 0.008 of the true profile at 47 raters, none at 200); the expanded
    level corrects the first and the reselection spreads the interval over the
    second. The default is conservative (it over-covers by 3-4 points and is 1.4
    to 1.8 times as wide as the one-stage CI); no offered interval reaches 0.95 at
    both sizes with less width.

    With a hard threshold the ``"rule"`` bootstrap selects more items than
    the data: a resample adds its own sampling noise to item correlations
    that already carry it, so the many items a little below the threshold
    cross it more often than the few above it fall back. On the released Value
    Portrait data (about 47 raters per item; 200 resamples, seed 0) the
    resamples select 1.3 to 5 times as many items per dimension as the data
    (about twice in the median; ``mean_n_selected`` against ``n``), mostly
    weaker ones, which pulls the resampled profiles towards the centre: the
    selection-only interval misses the data's profile in 21% of model x
    dimension cells, and the two-stage interval is narrower than the
    item-resampling one for 10 of 19 dimensions (more, weaker items). With
    ``"same_size"``, which keeps each dimension's number of items and lets the
    resamples decide which items (the which-items uncertainty without the
    size bias), the two-stage interval is wider than the item-resampling one
    for all 19 dimensions (mean width 0.86 against 0.62 scale points) and
    holds the data's profile in every cell.

    Examples
    --------
    >>> from vp_stats.stats import simulate
    >>> st = simulate.synthetic_study(n_participants=150, n_items=60, seed=2)
    >>> ans = st["truth"].assign(model="m", numeric_response=3.0)
    >>> res = selection_uncertainty(st["ratings"], st["scores"], ans, families=["pvq"],
    ...                             exclusions=None, n_boot=40, seed=0, answer_scale="1-5")
    >>> sel = res.selection.merge(st["truth"], on=["item", "dimension"])
    >>> strong, null = sel.query("loading == 0.6"), sel.query("loading == 0")
    >>> bool(strong.freq_selected.min() > 0.9), bool(null.freq_selected.max() < 0.1)
    (True, True)
    """
    from vp_stats.stats import scoring

    validation._check_rule(threshold, mode, max_p, max_fdr, None)
    if reselect not in ("rule", "same_size"):
        raise ValueError(f"reselect must be 'rule' or 'same_size', got {reselect!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if rater_indices is None:
        check_boot_options(n_boot, ci)
    elif not (0 < ci < 1):
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if exclusions is _DEFAULT:
        exclusions = validation.upstream_exclusions()
    kw = dict(participant=participant, item=item, rating=rating, scale=scale, dimensions=dimensions)
    inp = validation._inputs(ratings, scores, families, **kw)
    r, s, families, dims = inp.ratings, inp.scores, inp.families, inp.dims
    corr = validation._correlations(inp)
    if max_fdr is not None:
        corr = validation.add_fdr(corr)
    sel0 = validation.select_items(
        corr, threshold=threshold, mode=mode, exclusions=exclusions, max_p=max_p, max_fdr=max_fdr
    )
    rule = validation.selection_rule(threshold, mode, max_p, max_fdr)

    wide, cols, mat, vals, blocks = validation._prepare(r, s, families, dims)
    items = wide.columns
    k, d = len(items), len(cols)
    col_index = pd.MultiIndex.from_tuples(cols)
    ki = items.get_indexer(sel0["item"])
    di = col_index.get_indexer(pd.MultiIndex.from_arrays([sel0["family"], sel0["dimension"]]))
    excluded = np.zeros((k, d), dtype=bool)
    excluded[ki, di] = sel0["excluded"].to_numpy(dtype=bool)
    fam_of_col = np.array([c[0] for c in cols], dtype=object)
    fam_index = [np.flatnonzero(fam_of_col == f) for f in families]

    # the models' answers on the rated items
    sc = tables.parse_scale(answer_scale) or tables.VP_SCALE
    amat = scoring._answer_matrix(answers, answer_rating, sc).reindex(columns=items)
    a = amat.to_numpy(dtype=float)
    ok = (~np.isnan(a)).astype(float)
    a0 = np.where(np.isnan(a), 0.0, a)
    r0 = np.where(np.isnan(a), 0.0, sc.reverse(a))
    models = amat.index.to_numpy()

    # rater resamples (all drawn up front: results do not depend on batch)
    resampler = Resampler(seed)
    n_raters = len(wide.index)
    if rater_indices is not None:
        idx = np.asarray(rater_indices)
        if idx.ndim != 2 or idx.shape[1] != n_raters or idx.min() < 0 or idx.max() >= n_raters:
            raise ValueError(
                f"rater_indices must be an (n_boot, {n_raters}) array of indices into the raters"
            )
    else:
        lab = _rater_strata(r, wide.index, strata)
        idx = (
            resampler.indices(n_raters, n_boot)
            if lab is None
            else resampler.stratified(lab, n_boot)
        )
    n_res = idx.shape[0]
    ties = [rank_engine.BlockRanks.of(mat[np.ix_(rows, its)], vals[rows]) for rows, its in blocks]
    rule_args = (threshold, mode, max_p, max_fdr)
    size = None
    if reselect == "same_size":
        size = np.zeros(d, dtype=int)
        np.add.at(size, di, sel0["selected"].to_numpy(dtype=int))
    freq = np.zeros((k, d))
    sel_boot = np.empty((n_res, len(models), d))
    two_boot = np.empty((n_res, len(models), d))
    n_sel = np.empty((n_res, d))
    two_se = np.empty((n_res, len(models), d))
    w0 = np.zeros((1, k, d))
    w0[0, ki, di] = sel0["selected"].to_numpy(dtype=float)
    sign0 = np.ones((1, k, d))
    sign0[0, ki, di] = np.where(sel0["rho"].to_numpy(dtype=float) < 0, -1.0, 1.0)
    est = _profiles(w0, sign0, a0, r0, ok, fam_index)[0]  # the data's profile (1, M, D)
    se0 = _item_se(w0, sign0, a0, r0, ok)
    for start in range(0, n_res, batch):
        w = multiplicities(idx[start : start + batch], n_raters)
        rho, n = _resample_rhos(w, blocks, ties, k, d)
        sel, sign = _select(rho, n, rule_args, excluded, fam_of_col, size)
        freq += sel.sum(axis=0)
        n_sel[start : start + batch] = sel.sum(axis=1)
        prof, centre = _profiles(sel.astype(float), sign, a0, r0, ok, fam_index)
        sel_boot[start : start + batch] = prof
        counts = _item_resample(sel, resampler)
        two_boot[start : start + batch] = _profiles(counts, sign, a0, r0, ok, fam_index, centre)[0]
        two_se[start : start + batch] = _item_se(counts, sign, a0, r0, ok)

    # the data: selection and profile as value_profiles gives them, with its item-resampling CIs
    chosen = sel0.assign(
        rho=sel0["rho"].where(sel0["selected"])
    )  # value_profiles selects exactly these
    point = scoring.value_profiles(
        answers,
        chosen,
        families=families,
        threshold=threshold,
        mode=mode,
        exclusions=None,
        rating=answer_rating,
        n_boot=n_boot if rater_indices is None else 0,
        ci=ci,
        seed=seed,
        scale=answer_scale,
        dimensions=dims,
    )
    n_ans = (ok @ w0[0]).astype(float)  # answered selected items (M, D)
    lo2, hi2, valid = _interval(interval, two_boot, est[0], ci, two_se, se0[0], n_ans)
    lo1, hi1, _ = percentile_ci(sel_boot, ci)
    m_i = np.repeat(np.arange(len(models)), d)
    d_i = np.tile(np.arange(d), len(models))
    boot = pd.DataFrame(
        {
            "model": models[m_i],
            "family": [cols[j][0] for j in d_i],
            "dimension": [cols[j][1] for j in d_i],
            "ci_low": lo2[m_i, d_i],
            "ci_high": hi2[m_i, d_i],
            "sel_ci_low": lo1[m_i, d_i],
            "sel_ci_high": hi1[m_i, d_i],
            "n_boot_valid": valid[m_i, d_i],
            "mean_n_selected": n_sel.mean(axis=0)[d_i],
        }
    )
    point = point.rename(columns={"ci_low": "item_ci_low", "ci_high": "item_ci_high"})
    profiles = point[
        ["model", "family", "dimension", "centered_mean", "n", "item_ci_low", "item_ci_high"]
    ].merge(boot, on=["model", "family", "dimension"], how="left", validate="one_to_one")
    profiles = schema.order_dimensions(profiles[PROFILE_UNCERTAINTY_COLUMNS])  # as value_profiles
    keys = [c for c in ("item", "portrait_id", "option_id") if c in sel0.columns]
    selection = sel0[[*keys, "family", "dimension", "rho", "selected"]].copy()
    selection["freq_selected"] = freq[ki, di] / n_res
    return SelectionUncertainty(
        table=profiles,
        selection=selection.reset_index(drop=True),
        rule=rule,
        n_boot=int(n_res),
        seed=seed,
    )
