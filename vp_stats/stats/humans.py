"""Real human group gaps (SAPA samples of R's psychTools) and persona runs set beside them.

The Value Portrait release has no demographic columns, so group-level
comparisons need another human reference. R's psychTools ships two SAPA
samples with gender, age and education (read in place by
:mod:`vp_stats.io.psychtools`, never copied):

* ``"sapa-bfi"``: ``bfi``, 2,800 respondents, 25 IPIP Big Five items;
* ``"sapa-spi"``: ``spi``, 4,000 respondents, 135 SPI items (the Big Five
  scales of ``spi.keys``, 14 items each; optionally its 27 narrower scales).

Statistics (DataFrames in, DataFrames out):

* :func:`score_keyed`: IPIP scoring with keys (``"-A1"`` reverse keyed,
  recoded ``(lo + hi) - x``, i.e. ``7 - x`` on the 1-6 scale); a scale score is
  the mean of the answered keyed items (psych's ``scoreItems(..., impute =
  "none")``);
* :func:`human_group_gaps`: per trait and pair of groups, ``mean_diff`` (A - B
  in trait units, 1-6 item scale) and Cohen's d with the pooled SD,
  ``d = (mean_A - mean_B) / s_p`` with ``s_p = sqrt(((n_A - 1) s_A^2 + (n_B - 1)
  s_B^2) / (n_A + n_B - 2))`` and sample SDs (ddof 1); no small-sample (Hedges)
  correction (Cohen 1988; Lakens 2013, d_s). CIs: percentile
  bootstrap resampling respondents within each group (seeded,
  :class:`vp_stats.stats.resampling.Resampler`);
* :func:`persona_vs_human`: a persona run's group gap against the humans',
  both as d: sign agreement and the difference ``persona d - human d`` with paired
  bootstrap CIs (no ratio: it is unbounded when the human d is near 0);
* :func:`paper_persona_reference` and :func:`beside_paper`: the paper's
  reported persona gaps (``vp_stats/data/paper_persona_gaps.csv``, cited)
  beside a user's run.

Two instruments, one scale. The LLM answers the BFI-10 (Rammstedt & John
2007; 10 items, 1-5); the SAPA respondents answered IPIP items (bfi: 25 items;
spi: 14 per trait; 1-6). They measure the same five traits but their raw units
differ, so persona and human gaps are compared as standardised mean
differences (d), never in raw units: the human d uses the pooled within-group
SD of the SAPA scores; the persona gap (BFI-10 units) is divided by an SD of
BFI-10 scores, by default that of human BFI-10 answers (``sd_reference``, e.g.
the Value Portrait participants' released BFI-10 scores), else the pooled SD
between persona runs within a group. Equal d's on two instruments mean equal
gaps only to the extent that the two scales are equally reliable (a less
reliable scale attenuates d).

References
----------
Cohen, J. (1988). Statistical power analysis for the behavioral sciences (2nd ed.). Erlbaum.
Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative science.
Frontiers in Psychology, 4, 863.
Revelle, W. psychTools: Tools to accompany the 'psych' package (R package; data sets bfi, spi).
Condon, D. (2017). The SAPA Personality Inventory (https://psyarxiv.com/sc4p9/).
Rammstedt, B., & John, O. P. (2007). Measuring personality in one minute or less: A 10-item
short version of the Big Five Inventory. Journal of Research in Personality, 41, 203-212.

Examples
--------
>>> import pandas as pd
>>> h = pd.DataFrame({"participant": list("abcdef"), "gender": ["male"] * 3 + ["female"] * 3,
...                   "family": "bfi", "dimension": "Agreeableness",
...                   "score": [3.0, 4.0, 5.0, 4.0, 5.0, 6.0]})
>>> g = human_group_gaps(h, "gender", "male", "female", n_boot=0)
>>> g.table[["dimension", "group_a", "group_b", "n_a", "n_b", "mean_diff", "d"]].values.tolist()
[['Agreeableness', 'male', 'female', 3, 3, -1.0, -1.0]]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.instruments.personas import PAPER_PERSONA_LEVELS, PLAIN_PERSONA_ID
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci

__all__ = [
    "HUMAN_SOURCES",
    "HUMAN_GROUPS",
    "HUMAN_GAP_COLUMNS",
    "GroupGaps",
    "PersonaHumanGaps",
    "score_keyed",
    "human_group_gaps",
    "persona_vs_human",
    "paper_persona_reference",
    "beside_paper",
]

#: Human reference samples: name -> description.
HUMAN_SOURCES = {
    "sapa-bfi": "psychTools bfi: 2,800 SAPA respondents (2010), 25 IPIP Big Five items, 1-6",
    "sapa-spi": (
        "psychTools spi: 4,000 SAPA respondents, SPI Big Five scales (14 IPIP items each), 1-6"
    ),
}

#: Group variables of :func:`human_gaps_study` -> column of :func:`sapa_scores`.
HUMAN_GROUPS = {"gender": "gender", "age": "age_band", "education": "education"}

#: Leading columns of :func:`human_group_gaps`.
HUMAN_GAP_COLUMNS = [
    "dimension",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "mean_diff",
    "d",
    "ci_low",
    "ci_high",
]


# --------------------------------------------------------------------------- scoring


@schema.orders_dimensions
def score_keyed(
    items: pd.DataFrame,
    keys: Mapping[str, Sequence[str]],
    *,
    scale: tuple[float, float] = (1, 6),
    min_items: int = 1,
    participant: str = "participant",
) -> pd.DataFrame:
    """Score keyed items: a scale's score is the mean of its answered items after reversing.

    Parameters
    ----------
    items : DataFrame
        One row per participant: ``participant`` (the column named so) and the item
        columns.
    keys : mapping
        Scale -> item names; ``"-X"`` marks item ``X`` as reverse keyed
        (recoded ``scale[0] + scale[1] - x``), the convention of psych's
        ``make.keys`` / ``scoreItems``.
    scale : (lo, hi)
        Answer range (1-6 for the SAPA items).
    min_items : int
        Answered items a scale needs; fewer gives NaN (the default 1 equals
        ``psych::scoreItems(keys, items, min = 1, max = 6, impute = "none")``).

    Returns
    -------
    DataFrame
        ``participant, dimension, score, n_items`` (scales in key order).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"participant": ["p"], "A1": [2.0], "A2": [5.0]})
    >>> score_keyed(x, {"Agreeableness": ["-A1", "A2"]}).score.tolist()  # (7 - 2 + 5) / 2
    [5.0]
    """
    lo, hi = scale
    tables.require(items, [participant], "items")
    frames = []
    for name, its in keys.items():
        cols = [i.lstrip("-") for i in its]
        tables.require(items, cols, f"items of scale {name!r}")
        X = items[cols].to_numpy(dtype=float).copy()
        bad = ~np.isnan(X) & ((X < lo) | (X > hi))
        if bad.any():
            r, c = (int(a[0]) for a in np.nonzero(bad))
            raise ValueError(
                f"participant {items[participant].iloc[r]!r}, item {cols[c]!r}: "
                f"{X[r, c]!r} outside {lo}-{hi}"
            )
        rev = np.array([i.startswith("-") for i in its])
        X[:, rev] = (lo + hi) - X[:, rev]
        n = (~np.isnan(X)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(n >= max(min_items, 1), np.nansum(X, axis=1) / n, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "participant": items[participant].to_numpy(),
                    "dimension": name,
                    "score": s,
                    "n_items": n,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- group gaps


def _levels(col: str, present: Sequence) -> list:
    """Group levels in the paper's persona order when known, else sorted."""
    key = {"age_band": "age"}.get(col, col)
    known = list(PAPER_PERSONA_LEVELS.get(key, ()))
    present = [p for p in pd.unique(pd.Series(list(present))) if pd.notna(p)]
    first = [lv for lv in known if lv in present]
    return first + sorted((p for p in present if p not in first), key=str)


def _pairs(col, present, group_a, group_b):
    if (group_a is None) != (group_b is None):
        raise ValueError("give both group_a and group_b, or neither (all pairs of levels)")
    if group_a is not None:
        for g in (group_a, group_b):
            if g not in set(present):
                raise ValueError(
                    f"group {g!r} has no rows in {col!r} (levels: {_levels(col, present)})"
                )
        return [(group_a, group_b)]
    lv = _levels(col, present)
    if len(lv) < 2:
        raise ValueError(f"{col!r} has fewer than two groups ({lv}); nothing to compare")
    return [(lv[i], lv[j]) for i in range(len(lv)) for j in range(i + 1, len(lv))]


def _wide(scores: pd.DataFrame, unit: str, group: str, family: str, score: str):
    sub = scores[scores["family"] == family] if "family" in scores.columns else scores
    if sub.duplicated([unit, "dimension"]).any():
        r = sub[sub.duplicated([unit, "dimension"])].iloc[0]
        raise ValueError(
            f"more than one score for {unit} {r[unit]!r}, dimension {r['dimension']!r}"
        )
    W = sub.pivot(index=unit, columns="dimension", values=score)
    traits = [t for t in schema.FAMILIES.get(family, ()) if t in W.columns] or list(W.columns)
    W = W.reindex(columns=traits).astype(float)
    grp = sub.drop_duplicates(unit).set_index(unit)[group].reindex(W.index)
    return W, grp.to_numpy(dtype=object), traits


def _moments(X: np.ndarray):
    """Per column: n, mean, sample variance (ddof 1) over non-missing values."""
    ok = ~np.isnan(X)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(X, axis=0)
        v = np.nanvar(X, axis=0, ddof=1)
    return n, m, np.where(n >= 2, v, np.nan)


def _boot_moments(X: np.ndarray, n_boot: int, rs: Resampler):
    """Bootstrap (n_boot, k) counts, means, variances of X's columns, resampling its rows."""
    n = len(X)
    ok = ~np.isnan(X)
    X0 = np.where(ok, X, 0.0)
    cnt = np.empty((n_boot, X.shape[1]))
    s1, s2 = np.empty_like(cnt), np.empty_like(cnt)
    chunk = max(1, int(4_000_000 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        M = rs.counts(n, b)  # multiplicities of b resamples (one multinomial each)
        cnt[s : s + b], s1[s : s + b], s2[s : s + b] = M @ ok, M @ X0, M @ (X0 * X0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s1 / cnt
        v = np.maximum(s2 - s1 * s1 / cnt, 0.0) / (cnt - 1)
    return cnt, m, np.where(cnt >= 2, v, np.nan)


def _d(na, ma, va, nb, mb, vb):
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = np.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
        return (ma - mb) / sp, sp


def _group_stats(
    W: np.ndarray, labels: np.ndarray, groups, n_boot: int, seed: int, fixed_single: bool = False
):
    """Point and bootstrap moments per group (resampling rows within each group)."""
    rs = Resampler(seed)
    out = {}
    for g in groups:
        X = W[labels == g]
        pt = _moments(X)
        if n_boot and not (fixed_single and len(X) == 1):
            bt = _boot_moments(X, n_boot, rs)
        elif n_boot:
            bt = tuple(np.broadcast_to(a, (n_boot, len(a))).astype(float) for a in pt)
        else:
            bt = None
        out[g] = (pt, bt)
    return out


def _human_column(scores: pd.DataFrame, group: str) -> str:
    """``age`` in years -> the ``age_band`` column (the persona attribute holds bands)."""
    if (
        group == "age"
        and "age_band" in scores.columns
        and pd.api.types.is_numeric_dtype(scores["age"])
    ):
        return "age_band"
    return group


@dataclass(frozen=True)
class GroupGaps(tables.Result):
    """:func:`human_group_gaps`' result: the gap table and how its effect size was computed.

    Attributes
    ----------
    table : DataFrame
        One row per dimension and pair of groups (:data:`HUMAN_GAP_COLUMNS` first).
    effect_size : str
        The effect size's definition and the bootstrap behind its CIs.
    """

    effect_size: str = ""


@dataclass(frozen=True)
class PersonaHumanGaps(tables.Result):
    """:func:`persona_vs_human`'s result: the comparison table and how each side was standardised.

    Attributes
    ----------
    table : DataFrame
        One row per dimension and pair of groups.
    note : str
        How the persona d and the human d were standardised.
    """

    note: str = ""


def human_group_gaps(
    data: pd.DataFrame,
    group: str,
    group_a: object | None = None,
    group_b: object | None = None,
    *,
    family: str = "bfi",
    participant: str = "participant",
    score: str = "score",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> GroupGaps:
    """Human group gaps per dimension: mean difference and Cohen's d (pooled SD), bootstrap CIs.

    Parameters
    ----------
    data : DataFrame
        Tidy scores with ``participant``, ``group``, ``family``, ``dimension``,
        ``score`` (e.g. :func:`sapa_scores`). ``group="age"`` with ages
        in years uses the ``age_band`` column.
    group : str
        The column holding the groups (``"gender"``, ``"age"``, ``"education"``).
    group_a, group_b : optional
        The pair (A - B). Neither: every pair of levels, in the paper's persona
        order (:data:`vp_stats.instruments.personas.PAPER_PERSONA_LEVELS`), e.g. male -
        female, 18-29 - 30-44 ...; participants with a missing group are left out.
    family : str
        The family whose dimensions are compared.
    participant, score : str
        Column names.
    n_boot, ci, seed
        Percentile bootstrap: participants resampled with replacement within
        each group (group sizes fixed); ``n_boot=0`` skips the CIs.

    Returns
    -------
    GroupGaps
        ``table``: :data:`HUMAN_GAP_COLUMNS` (``ci_low, ci_high`` are d's interval), then
        ``family, mean_a, mean_b, sd_a, sd_b, sd_pooled, diff_ci_low,
        diff_ci_high, n_boot_valid``. Means in score units (1-6 item scale for
        SAPA); ``n`` counts participants with a score on the dimension. ``effect_size``
        says how d and its CIs were computed.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(6), "g": list("aaabbb"), "family": "bfi",
    ...                   "dimension": "Openness", "score": [1.0, 2, 3, 2, 3, 4]})
    >>> r = human_group_gaps(h, "g", n_boot=200, seed=1).table
    >>> r[["group_a", "group_b", "mean_diff", "d"]].values.tolist()
    [['a', 'b', -1.0, -1.0]]
    >>> bool(r.ci_low.item() < -1.0 < r.ci_high.item())
    True
    """
    check_boot_options(n_boot, ci, allow_zero=True)
    col = _human_column(data, group)
    tables.require(data, [participant, col, "dimension"], "scores", numeric=[score])
    W, labels, traits = _wide(data, participant, col, family, score)
    present = [g for g in pd.unique(labels) if pd.notna(g)]
    pairs = _pairs(col, present, group_a, group_b)
    groups = list(dict.fromkeys(g for p in pairs for g in p))
    X = W.to_numpy()
    stats = _group_stats(X, labels, groups, n_boot, seed)
    rows = []
    for a, b in pairs:
        (na, ma, va), bta = stats[a]
        (nb, mb, vb), btb = stats[b]
        d, sp = _d(na, ma, va, nb, mb, vb)
        if n_boot:
            db, _ = _d(*bta, *btb)
            lo, hi, nv = percentile_ci(db, ci)
            dlo, dhi, _ = percentile_ci(bta[1] - btb[1], ci)
        else:
            lo = hi = dlo = dhi = np.full(len(traits), np.nan)
            nv = np.zeros(len(traits), dtype=int)
        for k, t in enumerate(traits):
            rows.append(
                {
                    "dimension": t,
                    "group_a": a,
                    "group_b": b,
                    "n_a": int(na[k]),
                    "n_b": int(nb[k]),
                    "mean_diff": ma[k] - mb[k],
                    "d": d[k],
                    "ci_low": lo[k],
                    "ci_high": hi[k],
                    "family": family,
                    "mean_a": ma[k],
                    "mean_b": mb[k],
                    "sd_a": np.sqrt(va[k]),
                    "sd_b": np.sqrt(vb[k]),
                    "sd_pooled": sp[k],
                    "diff_ci_low": dlo[k],
                    "diff_ci_high": dhi[k],
                    "n_boot_valid": int(nv[k]),
                }
            )
    effect_size = (
        "Cohen's d = (mean_a - mean_b) / pooled SD, SD with ddof 1, no Hedges correction; "
        f"CIs: percentile bootstrap ({n_boot} resamples within groups, seed {seed}, {ci:.0%})"
    )
    return GroupGaps(pd.DataFrame(rows), {"effect_size": effect_size}, effect_size)


# --------------------------------------------------------------------------- persona side


def _pct_ci(x, ci):
    lo, hi, _ = percentile_ci(x, ci)
    return lo, hi


def persona_vs_human(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    group: str,
    group_a: object | None = None,
    group_b: object | None = None,
    *,
    sd_reference: pd.DataFrame | None = None,
    family: str = "bfi",
    persona: str | None = None,
    participant: str = "participant",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> PersonaHumanGaps:
    """A persona run's group gaps against the human group gaps, both standardised (d).

    The persona gap of a pair (A, B) is ``mean(persona A runs) - mean(persona
    B runs)`` (a plain-model baseline would cancel in A - B); its d divides it
    by a BFI-10 SD: the SD of each trait in ``sd_reference`` (human BFI-10
    scores, ddof 1; e.g. the Value Portrait participants), else the pooled SD
    between persona runs within the two groups (needs 2+ runs per group). The
    human d is :func:`human_group_gaps`'s (pooled within-group SD). ``d_difference =
    persona_d - human_d`` says how far the personas' standardised gap lies from the
    humans' (positive: above it), with ``sign_agree``; no ratio ``persona_d / human_d`` is
    reported, since it is unbounded when the human d is near 0.

    CIs: percentile bootstrap; humans resampled within groups, persona runs
    within groups (a group with one run held fixed), ``sd_reference``
    participants resampled; persona and human replicates paired by index.
    ``sign_agree_share`` is the share of replicates whose signs agree.

    Parameters
    ----------
    persona_scores : DataFrame
        Tidy persona trait scores (:func:`persona_bfi10_scores`, or any table
        with a persona column, ``group``, ``dimension`` and ``score`` /
        ``centered_mean``); plain-model rows (no group) are ignored.
    human_scores : DataFrame
        Tidy human scores with ``participant`` and ``group`` (:func:`sapa_scores`).
    group : str
        The attribute column the groups are read from (``"gender"``, ``"age"`` ...).
    sd_reference : DataFrame, optional
        Tidy human scores on the persona's instrument (``participant,
        family, dimension, score``).
    persona : str, optional
        The column naming a persona run; default the first of ``run, persona_id, model``
        present.
    participant : str
        The column naming a participant in ``human_scores`` and ``sd_reference``.

    Returns
    -------
    PersonaHumanGaps
        ``table``: ``dimension, group_a, group_b, persona_gap, persona_sd, persona_d,
        persona_ci_low, persona_ci_high, human_mean_diff, human_d,
        human_ci_low, human_ci_high, d_difference, d_difference_ci_low,
        d_difference_ci_high, sign_agree, sign_agree_share, n_persona_a, n_persona_b, n_human_a,
        n_human_b``; ``note`` says how each side was standardised.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "gender": ["male", "male", "female", "female"],
    ...                   "family": "bfi", "dimension": "Agreeableness", "score": [3.0, 4, 4, 5]})
    >>> p = pd.DataFrame({"persona_id": ["m", "f"], "gender": ["male", "female"], "family": "bfi",
    ...                   "dimension": "Agreeableness", "score": [2.0, 4.0]})
    >>> ref = pd.DataFrame({"participant": range(3), "family": "bfi", "dimension": "Agreeableness",
    ...                     "score": [1.0, 2.0, 3.0]})
    >>> r = persona_vs_human(p, h, "gender", "male", "female", sd_reference=ref, n_boot=0).table
    >>> r[["persona_d", "human_d", "d_difference", "sign_agree"]].round(4).values.tolist()
    [[-2.0, -1.4142, -0.5858, True]]
    """
    check_boot_options(n_boot, ci, allow_zero=True)
    tables.require(persona_scores, [group, "dimension"], "persona scores")
    tables.require(human_scores, [participant, "dimension"], "human scores", numeric=["score"])
    pscore = next((c for c in ("score", "centered_mean") if c in persona_scores.columns), None)
    if pscore is None:
        raise ValueError("persona scores need a 'score' or 'centered_mean' column")
    punit = persona or next(
        (c for c in ("run", "persona_id", "model") if c in persona_scores.columns), None
    )
    if punit is None:
        raise ValueError("persona scores need a persona column (run or persona_id) or persona=")
    tables.require(persona_scores, [punit], "persona scores")
    ps = persona_scores
    if "persona_id" in ps.columns:
        ps = ps[ps["persona_id"] != PLAIN_PERSONA_ID]
    ps = ps[ps[group].notna()]
    Wp, plab, ptraits = _wide(ps, punit, group, family, pscore)
    hcol = _human_column(human_scores, group)
    tables.require(human_scores, [hcol], "human scores")
    Wh, hlab, htraits = _wide(human_scores, participant, hcol, family, "score")
    traits = [t for t in htraits if t in ptraits]
    if not traits:
        raise ValueError(f"no dimension in common: personas {ptraits}, humans {htraits}")
    Wp, Wh = Wp.reindex(columns=traits).to_numpy(), Wh.reindex(columns=traits).to_numpy()
    common = [g for g in pd.unique(plab) if pd.notna(g) and g in set(hlab)]
    pairs = _pairs(group, common, group_a, group_b)
    for g in {x for p in pairs for x in p}:
        if g not in set(plab):
            raise ValueError(f"no persona with {group} = {g!r}")
    groups = list(dict.fromkeys(g for p in pairs for g in p))
    hstats = _group_stats(Wh, hlab, groups, n_boot, seed)
    pstats = _group_stats(Wp, plab, groups, n_boot, seed + 1, fixed_single=True)
    if sd_reference is not None:
        tables.require(sd_reference, [participant, "dimension"], "sd_reference", numeric=["score"])
        ref = (
            sd_reference[sd_reference["family"] == family]
            if "family" in sd_reference.columns
            else sd_reference
        )
        R = ref.pivot_table(index=participant, columns="dimension", values="score", aggfunc="first")
        missing = [t for t in traits if t not in R.columns]
        if missing:
            raise ValueError(f"sd_reference has no scores for {missing}")
        R = R.reindex(columns=traits).to_numpy(dtype=float)
        _, _, rv = _moments(R)
        rsd = np.sqrt(rv)
        rsd_boot = np.sqrt(_boot_moments(R, n_boot, Resampler(seed + 2))[2]) if n_boot else None
        how = f"persona gap / SD of the sd_reference scores ({len(R)} participants, ddof 1)"
    else:
        how = "persona gap / pooled SD between persona runs within the two groups (ddof 1)"
    rows = []
    for a, b in pairs:
        (hna, hma, hva), hbta = hstats[a]
        (hnb, hmb, hvb), hbtb = hstats[b]
        hd, _ = _d(hna, hma, hva, hnb, hmb, hvb)
        (pna, pma, pva), pbta = pstats[a]
        (pnb, pmb, pvb), pbtb = pstats[b]
        gap = pma - pmb
        if sd_reference is not None:
            psd = rsd
        else:
            if np.any(pna < 2) or np.any(pnb < 2):
                raise ValueError(
                    f"persona groups {a!r} / {b!r} have fewer than 2 runs each: a persona d "
                    "needs an SD; pass sd_reference= (human scores on the persona's instrument, "
                    "e.g. the Value Portrait participants' BFI-10 scores) or run each persona "
                    "several times"
                )
            _, psd = _d(pna, pma, pva, pnb, pmb, pvb)
        with np.errstate(invalid="ignore", divide="ignore"):
            pd_ = gap / psd
        diff = pd_ - hd
        if n_boot:
            hdb, _ = _d(*hbta, *hbtb)
            gapb = pbta[1] - pbtb[1]
            psdb = rsd_boot if sd_reference is not None else _d(*pbta, *pbtb)[1]
            with np.errstate(invalid="ignore", divide="ignore"):
                pdb = gapb / psdb
            plo, phi = _pct_ci(pdb, ci)
            hlo, hhi = _pct_ci(hdb, ci)
            rlo, rhi = _pct_ci(pdb - hdb, ci)
            share = np.nanmean(
                np.where(
                    np.isnan(pdb) | np.isnan(hdb),
                    np.nan,
                    (np.sign(pdb) == np.sign(hdb)).astype(float),
                ),
                axis=0,
            )
        else:
            plo = phi = hlo = hhi = rlo = rhi = share = np.full(len(traits), np.nan)
        for k, t in enumerate(traits):
            rows.append(
                {
                    "dimension": t,
                    "group_a": a,
                    "group_b": b,
                    "persona_gap": gap[k],
                    "persona_sd": psd[k],
                    "persona_d": pd_[k],
                    "persona_ci_low": plo[k],
                    "persona_ci_high": phi[k],
                    "human_mean_diff": hma[k] - hmb[k],
                    "human_d": hd[k],
                    "human_ci_low": hlo[k],
                    "human_ci_high": hhi[k],
                    "d_difference": diff[k],
                    "d_difference_ci_low": rlo[k],
                    "d_difference_ci_high": rhi[k],
                    "sign_agree": bool(np.sign(pd_[k]) == np.sign(hd[k])),
                    "sign_agree_share": share[k],
                    "n_persona_a": int(pna[k]),
                    "n_persona_b": int(pnb[k]),
                    "n_human_a": int(hna[k]),
                    "n_human_b": int(hnb[k]),
                }
            )
    note = (
        f"persona d: {how}; human d: mean difference / pooled within-group SD (ddof 1). The "
        "two sides use different instruments measuring the same traits (e.g. BFI-10 vs IPIP), so "
        "they are compared as standardised mean differences only."
    )
    return PersonaHumanGaps(pd.DataFrame(rows), {"note": note}, note)


# --------------------------------------------------------------------------- the paper's numbers


@schema.orders_dimensions
def paper_persona_reference() -> pd.DataFrame:
    """The Value Portrait paper's reported persona group gaps (cited; the shipped CSV).

    The numbers are in ``vp_stats/data/paper_persona_gaps.csv``.

    Only numbers quoted from the paper are stored: GPT-4o's male - female gaps
    in Conformity (+0.51) and Tradition (+0.58) against the ESS's (+0.02,
    -0.11), and the left - right gap in Hedonism (0.74 against 0.03). Each
    row's ``source`` names where it was reported.

    Examples
    --------
    >>> t = paper_persona_reference()
    >>> t[["group_a", "group_b", "dimension", "llm_gap", "human_gap"]].values.tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['male', 'female', 'Conformity', 0.51, 0.02], ['male', 'female', 'Tradition', 0.58, -0.11],
     ['left', 'right', 'Hedonism', 0.74, 0.03]]
    """
    with (
        resources.files("vp_stats")
        .joinpath("data/paper_persona_gaps.csv")
        .open("r", encoding="utf-8") as fh
    ):
        t = pd.read_csv(fh, comment="#")
    return t


@schema.orders_dimensions
def beside_paper(gaps: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Set a user's group-gap comparison beside the paper's reported numbers.

    Parameters
    ----------
    gaps : DataFrame
        :func:`vp_stats.stats.persona_gaps.group_gap_comparison` output (``dimension,
        group_a, group_b, llm_gap, human_gap``, optionally ``sign_agree``, CIs), e.g. a
        persona run against ESS data. A pair
        given the other way round (female - male) is matched with its signs flipped.
    reference : DataFrame, optional
        Default :func:`paper_persona_reference`.

    Returns
    -------
    DataFrame
        One row per paper number: the paper's ``model, attribute, group_a,
        group_b, dimension, llm_gap, human_gap, source`` renamed ``paper_*``
        where needed, then ``your_llm_gap, your_human_gap, your_gap_difference,
        your_sign_agree, paper_gap_difference`` (``llm_gap - human_gap``; NaN where your
        table lacks the pair). No ratio of the gaps: the paper's human gaps come near 0
        (Hedonism, left - right: 0.03), where a ratio explodes.

    Examples
    --------
    >>> import pandas as pd
    >>> mine = pd.DataFrame({"dimension": ["Conformity"], "group_a": ["female"],
    ...                      "group_b": ["male"],
    ...                      "llm_gap": [-0.2], "human_gap": [-0.05]})
    >>> b = beside_paper(mine)
    >>> b.loc[b.dimension == "Conformity", ["paper_llm_gap", "your_llm_gap",
    ...                                     "your_human_gap"]].values.tolist()
    [[0.51, 0.2, 0.05]]
    """
    ref = paper_persona_reference() if reference is None else reference
    tables.require(
        gaps,
        ["dimension", "group_a", "group_b", "llm_gap", "human_gap"],
        "gaps (group_gap_comparison output)",
    )
    fwd = gaps.assign(_sign=1.0)
    rev = gaps.rename(columns={"group_a": "group_b", "group_b": "group_a"}).assign(_sign=-1.0)
    both = pd.concat([fwd, rev], ignore_index=True).drop_duplicates(
        ["dimension", "group_a", "group_b"]
    )
    both = both.assign(group_a=both["group_a"].astype(str), group_b=both["group_b"].astype(str))
    out = ref.rename(columns={"llm_gap": "paper_llm_gap", "human_gap": "paper_human_gap"})
    out = out.assign(group_a=out["group_a"].astype(str), group_b=out["group_b"].astype(str))
    m = out.merge(both, on=["dimension", "group_a", "group_b"], how="left", suffixes=("", "_yours"))
    m["your_llm_gap"] = m["llm_gap"] * m["_sign"]
    m["your_human_gap"] = m["human_gap"] * m["_sign"]
    m["your_gap_difference"] = m["your_llm_gap"] - m["your_human_gap"]
    m["paper_gap_difference"] = m["paper_llm_gap"] - m["paper_human_gap"]
    m["your_sign_agree"] = np.where(
        m["your_llm_gap"].isna(), None, np.sign(m["your_llm_gap"]) == np.sign(m["your_human_gap"])
    )
    cols = list(out.columns) + [
        "your_llm_gap",
        "your_human_gap",
        "your_gap_difference",
        "your_sign_agree",
        "paper_gap_difference",
    ]
    return m[cols]


# --------------------------------------------------------------------------- studies (files)
