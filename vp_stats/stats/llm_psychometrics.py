"""Psychometrics of LLM answers: reliability across personas or prompt variants, convergent validity.

Two questions asked of an LLM's answers with the tools used for human raters:

1. **Reliability** (:func:`answer_reliability`). Treat each model, persona or
   prompt variant as a respondent and each validated item of a value as an
   item: do the items of one value order the respondents consistently? This
   is :func:`vp_stats.stats.reliability.value_reliability` (Cronbach's alpha with its
   Feldt interval, psych's omega total and omega hierarchical of a
   Schmid-Leiman solution, the one-factor omegas) on a tidy answer table
   ``unit, item, rating``. With personas of one model as units it measures how
   consistently the value's items register the persona's shift; with models
   as units, how consistently they separate models. Few units (the 34
   released models) give wide Feldt intervals: read them.

2. **Convergent validity** (:func:`convergent_validity`). Does a model's
   questionnaire self-report (PVQ-21, :func:`vp_stats.llm.questionnaires.score_llm_pvq21`,
   MRAT-centred) agree with its Value Portrait profile
   (:func:`vp_stats.stats.scoring.value_profiles`, centred)? Per unit: the Pearson
   and Spearman correlation across the family's values (10 basic values: a
   profile correlation, ipsative on both sides because both scores are
   centred within the unit); per value: the correlations across units (does
   the model that says it values Power most also answer the Power items
   most power-oriented?).

Correlations are :func:`scipy.stats.pearsonr` and :func:`scipy.stats.spearmanr`
(Spearman's rho = Pearson's r of the mid-ranks; its p-value from the t
approximation, as R's ``cor.test(method = "spearman", exact = FALSE)``; the
Pearson p-value from the t distribution with n - 2 df, as ``cor.test``). Pairs
with a missing score are left out (``n`` says how many remain); fewer than 3
pairs or a constant side give NaN.

Examples
--------
>>> import pandas as pd
>>> from vp_stats import schema
>>> values = list(schema.PVQ_VALUES)
>>> prof = pd.DataFrame({"model": "m", "family": "pvq", "dimension": values,
...                      "centered_mean": [float(i) for i in range(10)]})
>>> self = prof.rename(columns={"centered_mean": "score"}).assign(score=lambda d: d.score ** 2)
>>> cv = convergent_validity(self, prof)
>>> cv["by_unit"][["unit", "n", "spearman_rho"]].round(12).values.tolist()  # monotone: rho = 1
[['m', 10, 1.0]]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import schema, tables
from vp_stats.stats import reliability

__all__ = ["answer_reliability", "paired_scores", "convergent_validity", "UNIT_COLUMNS"]

#: Columns recognised as the unit (respondent) of an answer or score table, in order of preference.
UNIT_COLUMNS = ("model", "persona_id", "respondent", "participant")
#: Columns recognised as the answer of an answer table, in order of preference.
RATING_COLUMNS = ("rating", "numeric_response", "answer")
SELF_SCORE_COLUMNS = ("score", "centered_mean")
PROFILE_SCORE_COLUMNS = ("centered_mean", "score")

ANSWER_RELIABILITY_COLUMNS = [
    c if c != "n_raters" else "n_units"
    for c in reliability.VALUE_RELIABILITY_COLUMNS
    if c != "group"
]
CORRELATION_COLUMNS = ["n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"]


def _pick(table: pd.DataFrame, given, options, what: str) -> str:
    if given is not None:
        if given not in table.columns:
            raise ValueError(f"{what}: no column {given!r}; have {list(table.columns)}")
        return given
    for c in options:
        if c in table.columns:
            return c
    raise ValueError(
        f"{what}: none of the columns {list(options)} found; have {list(table.columns)} (name it)"
    )


def _unit_labels(table: pd.DataFrame, unit, what: str) -> tuple[pd.Series, str]:
    """One label per row: the unit column, or several columns joined with ' | ' (e.g. model and variant)."""
    if isinstance(unit, (list, tuple)):
        cols = [_pick(table, u, (), what) for u in unit]
        if len(cols) == 1:
            return table[cols[0]].astype(str), cols[0]
        return table[cols].astype(str).agg(" | ".join, axis=1), " | ".join(cols)
    col = _pick(table, unit, UNIT_COLUMNS, what)
    return table[col].astype(str), col


# --------------------------------------------------------------------------- reliability


def answer_reliability(
    answers: pd.DataFrame,
    selected: pd.DataFrame,
    *,
    unit=None,
    rating: str | None = None,
    n_factors: int = 3,
    missing: str = "listwise",
    method: str = "minres",
    ci: float = 0.95,
    scale=None,
    min_units: int = 3,
) -> pd.DataFrame:
    """Reliability of each validated item set over LLM units (models, personas, prompt variants).

    Parameters
    ----------
    answers : DataFrame
        Tidy answers, one row per unit and item: a unit column (``model``,
        ``persona_id``, ... or ``unit``), the item (``item``, or Value
        Portrait's ``portrait_id, option_id``) and the answer (``rating``,
        ``numeric_response`` or ``rating=``). Rows with a missing answer (a
        failed parse) are missing cells.
    selected : DataFrame
        The validated item set: ``item`` (or ``portrait_id, option_id``),
        ``family, dimension, selected`` and optionally ``sign`` (e.g.
        :func:`vp_stats.stats.validation.select_items`); items with ``sign < 0`` are
        reversed as ``low + high - x``.
    unit : str or list of str, optional
        Unit column(s); several columns make one unit per combination (e.g.
        ``["model", "variant"]``: every prompt variant of every model is a
        respondent). Default: the first of :data:`UNIT_COLUMNS` present.
    rating : str, optional
        Answer column; default the first of :data:`RATING_COLUMNS` present.
    n_factors, missing, method, ci :
        As :func:`vp_stats.stats.reliability.value_reliability` (Schmid-Leiman factors,
        listwise or pairwise, one-factor estimator, Feldt coverage).
    scale : Scale or "LOW-HIGH", optional
        Answer scale (reverse keying; answers outside are errors); default 1-6
        for Value Portrait items, else inferred.
    min_units : int
        Fewer complete units: NaN statistics with a reason.

    Returns
    -------
    DataFrame
        One row per (family, dimension): the columns of
        :func:`~vp_stats.stats.reliability.value_reliability` without ``group`` and
        with ``n_units`` for ``n_raters`` (:data:`ANSWER_RELIABILITY_COLUMNS`).
        ``attrs``: ``unit`` (the unit column or columns), ``n_units``, ``scale``.

    Examples
    --------
    >>> import pandas as pd
    >>> ans = pd.DataFrame({"persona_id": ["p1"] * 3 + ["p2"] * 3 + ["p3"] * 3 + ["p4"] * 3,
    ...                     "item": ["a", "b", "c"] * 4,
    ...                     "rating": [1, 2, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5]})
    >>> sel = pd.DataFrame({"item": ["a", "b", "c"], "family": "pvq", "dimension": "Power", "selected": True})
    >>> rel = answer_reliability(ans, sel, n_factors=1)
    >>> rel[["dimension", "n_items", "n_units", "alpha"]].round(4).values.tolist()
    [['Power', 3, 4, 0.9333]]
    """
    labels, unit_name = _unit_labels(answers, unit, "answers")
    base = tables.with_item_column(answers)
    if "item" not in base.columns:
        raise ValueError(
            f"answers: no item column ('item' or 'portrait_id, option_id'); have {list(answers.columns)}"
        )
    rating = _pick(base, rating, RATING_COLUMNS, "answers")
    vals = pd.to_numeric(base[rating], errors="coerce")
    bad = vals.isna() & base[rating].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"answers: unit {labels.iloc[i]!r}, item {base['item'].iloc[i]!r}: "
            f"non-numeric answer {base[rating].iloc[i]!r}"
        )
    long = pd.DataFrame(
        {
            "participant": labels.to_numpy(),
            "item": base["item"].astype(str).to_numpy(),
            "rating": vals.to_numpy(),
        }
    )
    dup = long.duplicated(["participant", "item"])
    if dup.any():
        r = long[dup].iloc[0]
        raise ValueError(
            f"answers: unit {r['participant']!r} answered item {r['item']!r} more than once; "
            "average the prompt variants first (vp_stats.io.averaging) or add the variant to unit"
        )
    long = long[long["rating"].notna()]
    if long.empty:
        raise ValueError("answers: no numeric answers")
    is_vp = {"portrait_id", "option_id"} <= set(answers.columns)
    sc = tables.parse_scale(scale) or (tables.VP_SCALE if is_vp else None)
    rel = reliability.value_reliability(
        long,
        selected,
        method=method,
        ci=ci,
        min_raters=min_units,
        n_factors=n_factors,
        missing=missing,
        scale=sc,
    )
    out = rel.drop(columns=["group"]).rename(columns={"n_raters": "n_units"})
    out["reason"] = out["reason"].map(
        lambda t: t.replace("complete raters", "complete units") if isinstance(t, str) else t
    )
    out = out.reindex(columns=ANSWER_RELIABILITY_COLUMNS)
    out.attrs.update(
        unit=unit_name, n_units=int(long["participant"].nunique()), scale=rel.attrs["scale"]
    )
    return out


# --------------------------------------------------------------------------- convergent validity


def paired_scores(
    self_report: pd.DataFrame,
    profiles: pd.DataFrame,
    family: str = "pvq",
    *,
    self_unit: str | None = None,
    profile_unit: str | None = None,
    self_score: str | None = None,
    profile_score: str | None = None,
) -> pd.DataFrame:
    """Self-report and profile score of every (unit, dimension) of a family, side by side.

    Parameters
    ----------
    self_report : DataFrame
        Tidy questionnaire scores: unit, ``family``, ``dimension`` and the
        score (``score``; as :func:`vp_stats.llm.questionnaires.score_llm_pvq21`, whose
        ``persona_id`` is the unit, or :func:`vp_stats.instruments.pvq.score_pvq21`).
    profiles : DataFrame
        Tidy item-profile scores: unit, ``family``, ``dimension`` and the score
        (``centered_mean``; as :func:`vp_stats.stats.scoring.value_profiles`, unit ``model``).
    family : str
        Family compared (``pvq``: the 10 basic values; ``higher_pvq``; ``bfi``).
    self_unit, profile_unit, self_score, profile_score : str, optional
        Column names; default the first of :data:`UNIT_COLUMNS` (units) and of
        ``score, centered_mean`` / ``centered_mean, score`` present.

    Returns
    -------
    DataFrame
        ``unit, dimension, self_report, profile`` for the units in both tables
        (in the profiles' order) and the family's dimensions scored in either
        table (schema order; NaN where one side lacks the score);
        ``attrs["unmatched"]``: units of either table missing from the other.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"persona_id": "m", "family": "bfi", "dimension": ["Openness", "Neuroticism"], "score": [1.0, 2.0]})
    >>> p = pd.DataFrame({"model": "m", "family": "bfi", "dimension": ["Openness", "Neuroticism"], "centered_mean": [0.5, -0.5]})
    >>> paired_scores(s, p, "bfi").values.tolist()
    [['m', 'Neuroticism', 2.0, -0.5], ['m', 'Openness', 1.0, 0.5]]
    """
    if family not in schema.FAMILIES:
        raise ValueError(f"family must be one of {list(schema.FAMILIES)}, got {family!r}")
    dims = list(schema.FAMILIES[family])
    sides = []
    for table, unit, score, options, what in (
        (self_report, self_unit, self_score, SELF_SCORE_COLUMNS, "self_report"),
        (profiles, profile_unit, profile_score, PROFILE_SCORE_COLUMNS, "profiles"),
    ):
        for c in ("family", "dimension"):
            if c not in table.columns:
                raise ValueError(f"{what}: no column {c!r}; have {list(table.columns)}")
        labels, _ = _unit_labels(table, unit, what)
        col = _pick(table, score, options, what)
        t = pd.DataFrame(
            {
                "unit": labels.to_numpy(),
                "family": table["family"].to_numpy(),
                "dimension": table["dimension"].to_numpy(),
                "score": pd.to_numeric(table[col], errors="coerce").to_numpy(),
            }
        )
        t = t[t["family"] == family]
        if t.empty:
            raise ValueError(f"{what}: no rows of family {family!r}")
        unknown = sorted(set(t["dimension"]) - set(dims))
        if unknown:
            raise ValueError(f"{what}: dimension(s) {unknown} are not {family} dimensions {dims}")
        dup = t.duplicated(["unit", "dimension"])
        if dup.any():
            r = t[dup].iloc[0]
            raise ValueError(
                f"{what}: unit {r['unit']!r} has more than one {family} score for {r['dimension']}"
            )
        sides.append(t)
    s, p = sides
    units = [u for u in pd.unique(p["unit"]) if u in set(s["unit"])]
    if not units:
        raise ValueError(
            f"self_report and profiles share no unit: self-report units {sorted(set(s['unit']))[:5]}, "
            f"profile units {sorted(set(p['unit']))[:5]}"
        )
    present = set(s["dimension"]) | set(p["dimension"])
    dims = [d for d in dims if d in present]
    grid = pd.MultiIndex.from_product([units, dims], names=["unit", "dimension"]).to_frame(
        index=False
    )
    out = grid.merge(
        s[["unit", "dimension", "score"]].rename(columns={"score": "self_report"}), how="left"
    ).merge(p[["unit", "dimension", "score"]].rename(columns={"score": "profile"}), how="left")
    out.attrs["unmatched"] = sorted(set(s["unit"]) ^ set(p["unit"]))
    return out


def _correlate(a: np.ndarray, b: np.ndarray) -> dict:
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    res = {
        "n": int(ok.sum()),
        "pearson_r": np.nan,
        "pearson_p": np.nan,
        "spearman_rho": np.nan,
        "spearman_p": np.nan,
    }
    if res["n"] < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return res
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pr = stats.pearsonr(a, b)
        sr = stats.spearmanr(a, b)
    res.update(
        pearson_r=float(pr.statistic),
        pearson_p=float(pr.pvalue),
        spearman_rho=float(sr.statistic),
        spearman_p=float(sr.pvalue),
    )
    return res


def convergent_validity(
    self_report: pd.DataFrame,
    profiles: pd.DataFrame,
    family: str = "pvq",
    **columns,
) -> dict[str, pd.DataFrame]:
    """Agreement of questionnaire self-reports with item profiles, per unit and per value.

    Parameters
    ----------
    self_report, profiles, family, **columns :
        As :func:`paired_scores` (``self_unit``, ``profile_unit``,
        ``self_score``, ``profile_score``).

    Returns
    -------
    dict
        ``"by_unit"``: one row per unit (model / persona): ``unit`` and
        :data:`CORRELATION_COLUMNS` across the family's dimensions (``n`` = values
        scored on both sides; the within-unit profile correlation).
        ``"by_value"``: one row per dimension: ``dimension`` and the same
        columns across units (``n`` = units). ``"pairs"``: the table of
        :func:`paired_scores`.

    Notes
    -----
    Both PVQ-21 scores (MRAT) and Value Portrait profiles are centred within
    the unit, so ``by_unit`` compares value hierarchies (rank orders of the
    values within a model) and is blind to a model's overall acquiescence;
    ``by_value`` compares the units' relative positions on one value. With 10
    values a per-unit correlation has 8 df: a Pearson r of 0.63 is the 5 %
    two-sided critical value. Campbell & Fiske (1959), Psychological Bulletin
    56, 81-105 (convergent validity).

    Examples
    --------
    >>> import pandas as pd
    >>> from vp_stats import schema
    >>> v = list(schema.PVQ_VALUES)
    >>> prof = pd.DataFrame({"model": ["a"] * 10 + ["b"] * 10 + ["c"] * 10, "family": "pvq",
    ...                      "dimension": v * 3, "centered_mean": list(range(10)) * 3})
    >>> sign = [1] * 20 + [-1] * 10  # model c reports the reverse of its profile
    >>> self = prof.rename(columns={"centered_mean": "score"}).assign(score=lambda d: d.score * sign)
    >>> cv = convergent_validity(self, prof)
    >>> cv["by_unit"].set_index("unit").pearson_r.round(6).to_dict()
    {'a': 1.0, 'b': 1.0, 'c': -1.0}
    """
    pairs = paired_scores(self_report, profiles, family, **columns)
    by_unit = [
        {"unit": u, **_correlate(g["self_report"].to_numpy(float), g["profile"].to_numpy(float))}
        for u, g in pairs.groupby("unit", sort=False)
    ]
    by_value = [
        {
            "dimension": d,
            **_correlate(g["self_report"].to_numpy(float), g["profile"].to_numpy(float)),
        }
        for d, g in pairs.groupby("dimension", sort=False)
    ]
    return {
        "by_unit": pd.DataFrame(by_unit, columns=["unit", *CORRELATION_COLUMNS]),
        "by_value": pd.DataFrame(by_value, columns=["dimension", *CORRELATION_COLUMNS]),
        "pairs": pairs,
    }
