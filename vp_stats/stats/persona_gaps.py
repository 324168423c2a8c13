"""Group-level comparisons: an LLM's demographic group gaps against the human gaps.

Persona statistics for groups (DataFrames in,
DataFrames out, no files): :func:`group_gap_comparison` and its weighted,
stratified bootstrap helpers. The human reference is typically ESS microdata
(:func:`vp_stats.io.ess.load_ess`), since the Value Portrait release has no
demographic columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.stats.personas import _SCORE_COLS, _detect
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci

__all__ = ["group_gap_comparison"]


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
) -> pd.DataFrame:
    """Compare an LLM's demographic group gap with the real human gap, per value.

    Two forms:

    * ``group_b`` given: LLM gap = mean persona score of group A minus group B;
      human gap = (weighted) mean of group A minus group B;
    * ``group_b=None`` (the Value Portrait paper's form): LLM shift = persona
      A minus the plain model (``persona_baseline``); human shift = group A
      mean minus the overall mean (all participants, weighted).

    ``ratio = llm_gap / human_gap``: above 1 the LLM exaggerates the gap, in
    (0, 1) it flattens it, below 0 the sign is wrong (``sign_agree`` False). The
    ratio is unstable when the human gap is near 0 (its CI is then very wide);
    ``gap_difference = llm_gap - human_gap`` is the robust companion.

    CIs: percentile bootstrap (seeded; :mod:`vp_stats.stats.resampling`; resamples
    with an undefined statistic, e.g. a ratio over a zero gap, left out).
    Humans are resampled within each group
    (stratified by ``group``, missing group its own stratum) with their
    survey weights carried along; persona runs are resampled within group (a
    group with a single run is held fixed), the baseline runs likewise;
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

    Returns
    -------
    DataFrame
        ``family, dimension, group_a, group_b, llm_gap, llm_ci_low, llm_ci_high,
        human_gap, human_ci_low, human_ci_high, gap_difference, diff_ci_low,
        diff_ci_high, ratio, ratio_ci_low, ratio_ci_high, sign_agree,
        n_llm_a, n_llm_b, n_human_a, n_human_b``.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "gender": ["m", "m", "f", "f"], "family": "pvq",
    ...                   "dimension": "Power", "score": [1.0, 0.0, 0.0, 0.0]})
    >>> p = pd.DataFrame({"persona_id": ["pm", "pf"], "gender": ["m", "f"], "family": "pvq",
    ...                   "dimension": "Power", "centered_mean": [1.0, 0.0]})
    >>> g = group_gap_comparison(p, h, "gender", "m", "f", n_boot=0)
    >>> g.set_index("dimension").loc["Power", ["llm_gap", "human_gap", "ratio"]].tolist()
    [1.0, 0.5, 2.0]
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
    wanted_p = [group_a, group_b] if group_b is not None else [group_a]
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
    llm_gap, llm_boot = la - lb, lab_a_boot - lab_b_boot

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

    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = llm_gap / human_gap
        ratio_boot = llm_boot / human_boot
    if n_boot:
        (l_lo, l_hi, _), (h_lo, h_hi, _) = (
            percentile_ci(llm_boot, ci),
            percentile_ci(human_boot, ci),
        )
        d_lo, d_hi, _ = percentile_ci(llm_boot - human_boot, ci)
        r_lo, r_hi, _ = percentile_ci(ratio_boot, ci)
    else:
        l_lo = l_hi = h_lo = h_hi = d_lo = d_hi = r_lo = r_hi = np.full(len(dims), np.nan)
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
            "ratio": ratio,
            "ratio_ci_low": r_lo,
            "ratio_ci_high": r_hi,
            "sign_agree": np.sign(llm_gap) == np.sign(human_gap),
            "n_llm_a": n_la,
            "n_llm_b": n_lb,
            "n_human_a": n_ha,
            "n_human_b": n_hb,
        }
    )
