"""Group-level comparisons: an LLM's demographic group gaps against the human gaps.

Persona statistics for groups (DataFrames in,
DataFrames out, no files): :func:`group_gap_comparison` and its weighted,
stratified bootstrap helpers, and :func:`persona_item_scores` (each item's part of a
persona's value score, for resampling items). The human reference is typically ESS microdata
(:func:`vp_stats.io.ess.load_ess`), since the Value Portrait release has no
demographic columns. These are gaps between group *means*; the same ESS groups are
compared with personas at the level of answer *distributions* (weighted, with noise
floors and steerability) by :func:`vp_stats.studies.ess_fidelity.ess_fidelity`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.stats.personas import _SCORE_COLS, _detect
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci

__all__ = ["group_gap_comparison", "persona_item_scores"]

_DEFAULT = object()


@schema.orders_dimensions
def persona_item_scores(
    answers: pd.DataFrame,
    corr: pd.DataFrame,
    family: str = "pvq",
    *,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None | object = _DEFAULT,
    scale=None,
) -> pd.DataFrame:
    """Each validated item's part of every persona's value score: the items to resample.

    A persona's Value Portrait score of a value is the mean of its answers to the value's
    validated items (negatively keyed items reversed) minus its centre, the mean over all
    items validated for any value of the family
    (:func:`vp_stats.stats.scoring.value_profiles`). Here each item's answer minus the
    centre is one row, so the mean of a persona's rows of a value is its ``centered_mean``;
    resampling the rows resamples items with the centre held fixed, as ``value_profiles``'s
    item bootstrap does.

    Parameters
    ----------
    answers : DataFrame
        A persona run's answers: ``persona_id, portrait_id, option_id, rating`` (several rows
        per item are averaged, failed answers with ``parse_ok`` False left out).
    corr : DataFrame
        Item correlations (the published table or your own ``item_correlations.csv``).
    family : str
        The family scored.
    threshold, mode, exclusions, scale
        As in :func:`vp_stats.stats.scoring.value_profiles`.

    Returns
    -------
    DataFrame
        ``persona_id, family, dimension, item, score`` (answered items only).

    Examples
    --------
    >>> a = pd.DataFrame({"persona_id": "p", "portrait_id": [1001, 1002, 1003], "option_id": 1,
    ...                   "rating": [6.0, 2.0, 4.0]})
    >>> corr = pd.DataFrame({"portrait_id": [1001, 1002, 1003], "option_id": 1, "family": "bfi",
    ...                      "dimension": ["Openness", "Neuroticism", "Openness"],
    ...                      "rho": [0.5, 0.4, 0.6]})
    >>> s = persona_item_scores(a, corr, "bfi", exclusions=None)
    >>> s[["dimension", "item", "score"]].values.tolist()  # centre 4
    [['Neuroticism', '1002_1', -2.0], ['Openness', '1001_1', 2.0], ['Openness', '1003_1', 0.0]]
    """
    from vp_stats.stats.scoring import _answer_matrix
    from vp_stats.stats.validation import select_items, upstream_exclusions

    tables.require(answers, ["persona_id", "rating"], "answers")
    a = answers
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    a = tables.with_item_column(a)
    avg = (
        a.assign(numeric_response=pd.to_numeric(a["rating"], errors="coerce"))
        .groupby(["persona_id", "item"], sort=False)["numeric_response"]
        .mean()
        .reset_index()
        .rename(columns={"persona_id": "model"})
    )
    if exclusions is _DEFAULT:
        exclusions = upstream_exclusions()
    sel = select_items(corr, threshold=threshold, mode=mode, exclusions=exclusions)
    sel = tables.with_item_column(sel[sel["selected"] & (sel["family"] == family)])
    sc = tables.parse_scale(scale) or tables.VP_SCALE
    mat = _answer_matrix(avg, "numeric_response", sc)
    fam_items = pd.Index(sel["item"].drop_duplicates())
    mat = mat.reindex(columns=mat.columns.union(fam_items, sort=False))
    fam = mat[fam_items].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        n = (~np.isnan(fam)).sum(axis=1)
        centre = np.where(n > 0, np.nansum(fam, axis=1) / np.maximum(n, 1), np.nan)
    frames = []
    for dim in schema.FAMILIES[family]:
        dsel = sel[sel["dimension"] == dim]
        x = mat[pd.Index(dsel["item"])].to_numpy(dtype=float)
        x = np.where(dsel["sign"].to_numpy() < 0, sc.reverse(x), x) - centre[:, None]
        long = pd.DataFrame(x, index=mat.index, columns=dsel["item"].to_numpy()).stack()
        frames.append(
            pd.DataFrame(
                {
                    "persona_id": long.index.get_level_values(0).astype(str),
                    "family": family,
                    "dimension": dim,
                    "item": long.index.get_level_values(1).astype(str),
                    "score": long.to_numpy(dtype=float),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["persona_id", "dimension", "item"], kind="stable").reset_index(
        drop=True
    )


def _item_group_means(
    pwide: pd.DataFrame,
    keys: np.ndarray,
    labels: np.ndarray,
    items: pd.DataFrame,
    wanted,
    n_boot: int,
    resampler: Resampler,
):
    """Bootstrap of persona group means resampling personas within group and items.

    Replicate ``b`` draws the items of each value once (multinomial counts shared by every
    persona and group, so a gap compares the same items) and the personas of each group
    (a group of one persona keeps it: its spread is then the items' alone). A persona's
    replicate score is the count-weighted mean of its item rows (:func:`persona_item_scores`).
    """
    dims = list(pwide.columns)
    boot = {lab: np.full((n_boot, len(dims)), np.nan) for lab in wanted}
    members = {lab: np.flatnonzero(labels == lab) for lab in wanted}
    for lab, m in members.items():
        if m.size == 0:
            raise ValueError(f"group {lab!r} has no persona")
    pcounts = {lab: resampler.counts(len(m), n_boot) for lab, m in members.items()}
    for j, dim in enumerate(dims):
        it = items[items["dimension"] == dim]
        Z = (
            it.pivot_table(index="_unit", columns="item", values="score", aggfunc="mean")
            .reindex(index=keys)
            .to_numpy(dtype=float)
        )
        if Z.shape[1] == 0:
            continue
        ok = ~np.isnan(Z)
        C = resampler.counts(Z.shape[1], n_boot)  # (B, items)
        with np.errstate(invalid="ignore", divide="ignore"):
            S = (C @ np.where(ok, Z, 0.0).T) / (C @ ok.T)  # (B, units)
        for lab, m in members.items():
            Sg = S[:, m]
            okg = ~np.isnan(Sg)
            W = pcounts[lab] * okg
            with np.errstate(invalid="ignore", divide="ignore"):
                boot[lab][:, j] = (W * np.where(okg, Sg, 0.0)).sum(axis=1) / W.sum(axis=1)
    return boot


def _stratum_sums(X: np.ndarray, w: np.ndarray, n_boot: int, resampler: Resampler):
    """Weighted sums of one stratum: point (2, k) and bootstrap (n_boot, 2, k) of (sum w x, sum w).

    The stratum's rows are resampled as multinomial counts (:meth:`Resampler.counts`);
    a stratum of one row is thereby held fixed.
    """
    ok = ~np.isnan(X)
    W = w[:, None] * ok
    WX = W * np.where(ok, X, 0.0)
    point = np.stack([WX.sum(axis=0), W.sum(axis=0)])
    n = len(X)
    boot = np.empty((n_boot, 2, X.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        M = resampler.counts(n, b)
        boot[s : s + b, 0] = M @ WX
        boot[s : s + b, 1] = M @ W
    return point, boot


def _group_means(wide: pd.DataFrame, labels: np.ndarray, w: np.ndarray, wanted, n_boot, resampler):
    """Point and bootstrap weighted means per wanted label (and 'overall'), resampled in strata."""
    X = wide.to_numpy(dtype=float)
    keys = pd.Series(labels).astype(object).where(pd.notna(labels), "__missing__").to_numpy()
    sums = {}
    for lab in pd.unique(keys):
        m = keys == lab
        sums[lab] = _stratum_sums(X[m], w[m], n_boot, resampler)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for lab in wanted:
            if lab == "__overall__":
                pt = sum(s[0] for s in sums.values())
                bt = sum(s[1] for s in sums.values())
            else:
                if lab not in sums:
                    raise ValueError(
                        f"group {lab!r} has no rows (groups: {sorted(map(str, sums))})"
                    )
                pt, bt = sums[lab]
            out[lab] = (
                pt[0] / pt[1],
                bt[:, 0] / bt[:, 1],
                int((keys == lab).sum()) if lab != "__overall__" else len(keys),
            )
    return out


@schema.orders_dimensions
def group_gap_comparison(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    group: str,
    group_a: object,
    group_b: object | None = None,
    *,
    persona_baseline: pd.DataFrame | None = None,
    family: str = "pvq",
    weight: str | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    persona: str | Sequence[str] | None = None,
    participant: str = "participant",
    persona_items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare an LLM's demographic group gap with the real human gap, per value.

    Two forms:

    * ``group_b`` given: LLM gap = mean persona score of group A minus group B;
      human gap = (weighted) mean of group A minus group B;
    * ``group_b=None`` (the Value Portrait paper's form): LLM shift = persona
      A minus the plain model (``persona_baseline``); human shift = group A
      mean minus the overall mean (all participants, weighted).

    Agreement of the two gaps: ``gap_difference = llm_gap - human_gap`` (on the score
    scale: positive, the LLM's gap lies above the humans') with its CI, ``sign_agree``
    (the two gaps point the same way) and ``sign_agree_share`` (the share of bootstrap
    replicates in which they do). No ratio ``llm_gap / human_gap`` is reported: it is
    unbounded near a zero human gap, and its percentile interval need not even hold its
    own estimate.

    CIs: percentile bootstrap (seeded; :mod:`vp_stats.stats.resampling`).
    Humans are resampled within each group
    (stratified by ``group``, missing group its own stratum) with their
    survey weights carried along; persona runs are resampled within group, the
    baseline runs likewise. With ``persona_items`` (:func:`persona_item_scores`) the
    items are resampled as well (the same draw for every persona of a replicate), so a
    group of a single persona has an interval from its items; without it such a group is
    held fixed and, when every LLM group has one persona, the LLM CIs are missing (a
    fixed gap has no interval) and ``llm_resampled`` says so.
    LLM and human replicates are paired by index, independent by construction.

    Parameters
    ----------
    persona_scores : DataFrame
        Tidy persona scores with ``group``, ``family``, ``dimension``, a
        score column (``centered_mean`` or ``score``) and the column(s) ``persona``
        identifying a run. Several rows per group and dimension are several runs.
    human_scores : DataFrame
        Tidy human scores (e.g. :func:`vp_stats.io.ess.load_ess`): ``participant``,
        ``group``, ``family``, ``dimension``, ``score`` and ``weight``.
    group : str
        The column holding the groups, in both tables.
    group_a, group_b : object
        The pair of groups compared (A - B); ``group_b=None``: A against the plain model.
    persona_baseline : DataFrame, optional
        Plain-model scores (same layout without ``group``); needed when
        ``group_b`` is None.
    family : str
        The family whose dimensions are compared.
    weight : str, optional
        The column of the humans' survey weights (none: equal weights).
    n_boot, ci, seed
        Bootstrap replicates (0: no CIs), CI level and seed.
    persona : str or sequence of str, optional
        The column(s) identifying a persona run; default those of ``model, persona_id,
        run`` present.
    participant : str
        The column naming a participant in ``human_scores``.
    persona_items : DataFrame, optional
        Each item's part of the personas' scores (:func:`persona_item_scores`; the
        ``persona`` column(s), ``dimension``, ``item``, ``score``), for the baseline too
        when ``group_b`` is None: the LLM bootstrap then resamples items as well.

    Returns
    -------
    DataFrame
        ``family, dimension, group_a, group_b, llm_gap, llm_ci_low, llm_ci_high,
        human_gap, human_ci_low, human_ci_high, gap_difference, diff_ci_low,
        diff_ci_high, sign_agree, sign_agree_share, llm_resampled, n_llm_a, n_llm_b,
        n_human_a, n_human_b``.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "gender": ["m", "m", "f", "f"], "family": "pvq",
    ...                   "dimension": "Power", "score": [1.0, 0.0, 0.0, 0.0]})
    >>> p = pd.DataFrame({"persona_id": ["pm", "pf"], "gender": ["m", "f"], "family": "pvq",
    ...                   "dimension": "Power", "centered_mean": [1.0, 0.0]})
    >>> g = group_gap_comparison(p, h, "gender", "m", "f", n_boot=0)
    >>> g.set_index("dimension").loc["Power", ["llm_gap", "human_gap", "gap_difference"]].tolist()
    [1.0, 0.5, 0.5]
    """
    if group_b is None and persona_baseline is None:
        raise ValueError("group_b=None compares against the plain model: pass persona_baseline=")
    tables.require(persona_scores, [group, "dimension"], "persona_scores")
    tables.require(human_scores, [group, participant, "dimension"], "human_scores")
    if weight is not None:
        tables.require(human_scores, [weight], "human_scores", numeric=[weight])
    dims = list(schema.FAMILIES[family])
    if n_boot:
        check_boot_options(n_boot, ci)
    resampler = Resampler(seed)

    # persona runs: wide runs x dims, with their group
    if persona is None:
        units = [c for c in ("model", "persona_id", "run") if c in persona_scores.columns]
    else:
        units = [persona] if isinstance(persona, str) else list(persona)
        tables.require(persona_scores, units, "persona_scores")
    if not units:
        raise ValueError(
            "persona_scores need a column naming a run (persona_id, model or run) or persona="
        )
    pscore = _detect(persona_scores, None, _SCORE_COLS, "score")
    psub = (
        persona_scores[persona_scores["family"] == family]
        if "family" in persona_scores.columns
        else persona_scores
    )
    key = psub[units].astype(str).agg("|".join, axis=1)
    pwide = psub.assign(_unit=key).pivot_table(
        index=["_unit", group], columns="dimension", values=pscore, aggfunc="mean"
    )
    pwide = pwide.reindex(columns=dims)
    plabels = pwide.index.get_level_values(group).to_numpy()
    pkeys = pwide.index.get_level_values("_unit").to_numpy(dtype=object)
    wanted_p = [group_a, group_b] if group_b is not None else [group_a]
    items = None
    if persona_items is not None:
        tables.require(persona_items, [*units, "dimension", "item", "score"], "persona_items")
        isub = (
            persona_items[persona_items["family"] == family]
            if "family" in persona_items.columns
            else persona_items
        )
        items = isub.assign(_unit=isub[units].astype(str).agg("|".join, axis=1))
        unknown = sorted(set(pkeys) - set(items["_unit"]))
        if unknown:
            raise ValueError(f"persona_items has no items of persona {unknown[0]!r}")
    pm = _group_means(pwide, plabels, np.ones(len(pwide)), wanted_p, n_boot, resampler)
    la, lab_a_boot, n_la = pm[group_a]
    if group_b is not None:
        lb, lab_b_boot, n_lb = pm[group_b]
    else:
        bunits = [c for c in units if c in persona_baseline.columns] or None
        bscore = _detect(persona_baseline, None, _SCORE_COLS, "score")
        bsub = (
            persona_baseline[persona_baseline["family"] == family]
            if "family" in persona_baseline.columns
            else persona_baseline
        )
        bkey = (
            bsub[bunits].astype(str).agg("|".join, axis=1)
            if bunits
            else pd.Series(np.arange(len(bsub)) // len(dims), index=bsub.index).astype(str)
        )
        bwide = (
            bsub.assign(_unit=bkey.to_numpy())
            .pivot_table(index="_unit", columns="dimension", values=bscore, aggfunc="mean")
            .reindex(columns=dims)
        )
        bm = _group_means(
            bwide,
            np.full(len(bwide), "base", dtype=object),
            np.ones(len(bwide)),
            ["base"],
            n_boot,
            resampler,
        )
        lb, lab_b_boot, n_lb = bm["base"]
    if items is not None and n_boot:
        if group_b is not None:
            ib = _item_group_means(pwide, pkeys, plabels, items, wanted_p, n_boot, resampler)
            lab_a_boot, lab_b_boot = ib[group_a], ib[group_b]
        else:
            bkeys = bwide.index.to_numpy(dtype=object)
            unknown = sorted(set(bkeys) - set(items["_unit"]))
            if unknown:
                raise ValueError(f"persona_items has no items of baseline run {unknown[0]!r}")
            ib = _item_group_means(
                pd.concat([pwide.reset_index(drop=True), bwide.reset_index(drop=True)]),
                np.concatenate([pkeys, bkeys]),
                np.concatenate([plabels.astype(object), np.full(len(bkeys), "__base__", object)]),
                items,
                [group_a, "__base__"],
                n_boot,
                resampler,
            )
            lab_a_boot, lab_b_boot = ib[group_a], ib["__base__"]
        resampled = "personas within group and items"
    else:
        resampled = "personas within group (a group of one persona held fixed)"
    llm_gap, llm_boot = la - lb, lab_a_boot - lab_b_boot
    fixed = items is None and n_la == 1 and n_lb == 1
    if fixed and n_boot:  # one persona per group, no items to resample: no interval
        llm_boot = np.full_like(llm_boot, np.nan)
        resampled = "none: one persona per group (pass persona_items= to resample items)"

    # humans
    hunit = participant
    hsub = (
        human_scores[human_scores["family"] == family]
        if "family" in human_scores.columns
        else human_scores
    )
    hscore = _detect(hsub, None, ("score", "centered_mean"), "score")
    hwide = tables.to_wide(hsub, hunit, "dimension", hscore, source="human_scores").reindex(
        columns=dims
    )
    first = hsub.drop_duplicates(hunit).set_index(hunit).reindex(hwide.index)
    hlabels = first[group].to_numpy(dtype=object)
    if weight is None:
        hw = np.ones(len(hwide))
    else:
        hw = first[weight].to_numpy(dtype=float)
        if np.any(~np.isfinite(hw) | (hw < 0)):
            r = int(np.flatnonzero(~np.isfinite(hw) | (hw < 0))[0])
            raise ValueError(
                f"weight {hw[r]!r} of participant {hwide.index[r]!r} is missing or negative"
            )
    wanted_h = [group_a, group_b if group_b is not None else "__overall__"]
    hm = _group_means(hwide, hlabels, hw, wanted_h, n_boot, resampler)
    ha, ha_boot, n_ha = hm[group_a]
    hb, hb_boot, n_hb = hm[wanted_h[1]]
    human_gap, human_boot = ha - hb, ha_boot - hb_boot

    if n_boot:
        (l_lo, l_hi, _), (h_lo, h_hi, _) = (
            percentile_ci(llm_boot, ci),
            percentile_ci(human_boot, ci),
        )
        if fixed:  # the LLM gap is a constant: the difference varies with the humans only
            d_lo, d_hi = llm_gap - h_hi, llm_gap - h_lo
            agree = np.sign(llm_gap) == np.sign(human_boot)
        else:
            d_lo, d_hi, _ = percentile_ci(llm_boot - human_boot, ci)
            agree = np.sign(llm_boot) == np.sign(human_boot)
        both = ~np.isnan(human_boot) & (fixed | ~np.isnan(llm_boot))
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (agree & both).sum(axis=0) / both.sum(axis=0)
    else:
        l_lo = l_hi = h_lo = h_hi = d_lo = d_hi = share = np.full(len(dims), np.nan)
    return pd.DataFrame(
        {
            "family": family,
            "dimension": dims,
            "group_a": group_a,
            "group_b": group_b if group_b is not None else "plain model / overall mean",
            "llm_gap": llm_gap,
            "llm_ci_low": l_lo,
            "llm_ci_high": l_hi,
            "human_gap": human_gap,
            "human_ci_low": h_lo,
            "human_ci_high": h_hi,
            "gap_difference": llm_gap - human_gap,
            "diff_ci_low": d_lo,
            "diff_ci_high": d_hi,
            "sign_agree": np.sign(llm_gap) == np.sign(human_gap),
            "sign_agree_share": share,
            "llm_resampled": resampled,
            "n_llm_a": n_la,
            "n_llm_b": n_lb,
            "n_human_a": n_ha,
            "n_human_b": n_hb,
        }
    )
