"""Psychometrics of LLM answers: reliability across personas or variants, convergent validity.

Two questions asked of an LLM's answers with the tools used for human raters:

1. **Reliability** (:func:`answer_reliability`). Treat each model, persona or
   prompt variant as a respondent and each validated item of a value as an
   item: do the items of one value order the respondents consistently? This
   is :func:`vp_stats.stats.reliability.value_reliability` (Cronbach's alpha with its
   Feldt interval, psych's omega total and omega hierarchical of a
   Schmid-Leiman solution, the one-factor omegas) on a tidy answer table
   ``model, item, rating`` (the model column may name personas or prompt variants).
   With personas of one model as units it measures how
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
>>> cv.by_model[["model", "n", "spearman_rho"]].round(12).values.tolist()  # monotone: rho = 1
[['m', 10, 1.0]]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import schema, tables
from vp_stats.stats import reliability

__all__ = [
    "answer_reliability",
    "paired_scores",
    "convergent_validity",
    "AnswerReliability",
    "PairedScores",
    "ConvergentValidity",
    "MODEL_COLUMNS",
]

#: Columns recognised as naming who answered (a model, persona ...), in order of preference.
MODEL_COLUMNS = ("model", "persona_id", "participant")
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


@dataclass(frozen=True)
class AnswerReliability(tables.Result):
    """:func:`answer_reliability`'s result: the reliability table and what it was computed over.

    Attributes
    ----------
    table : DataFrame
        One row per (family, dimension) (:data:`ANSWER_RELIABILITY_COLUMNS`).
    model : str
        The column (or columns, joined with ``" | "``) naming who answered.
    n_models : int
        How many models (personas, variants ...) answered.
    scale : Scale or None
        The answer scale used for reverse keying.
    """

    model: str = ""
    n_models: int = 0
    scale: object = None


@dataclass(frozen=True)
class PairedScores(tables.Result):
    """:func:`paired_scores`' result: the paired table and the models only one side has.

    Attributes
    ----------
    table : DataFrame
        ``model, dimension, self_report, profile``.
    unmatched : list
        Models of either table missing from the other.
    """

    unmatched: list = field(default_factory=list)


@dataclass(frozen=True)
class ConvergentValidity(tables.Result):
    """:func:`convergent_validity`'s result: correlations per model, per value, and the pairs.

    Attributes
    ----------
    table : DataFrame
        Per model (``by_model``): ``model`` and :data:`CORRELATION_COLUMNS`.
    by_value : DataFrame
        Per dimension: ``dimension`` and :data:`CORRELATION_COLUMNS`.
    pairs : PairedScores
        The paired scores the correlations were computed from.
    """

    by_value: pd.DataFrame = field(default_factory=pd.DataFrame)
    pairs: PairedScores | None = None

    @property
    def by_model(self) -> pd.DataFrame:
        """The per-model correlations (the result's table)."""
        return self.table


def _pick(table: pd.DataFrame, given, options, what: str) -> str:
    if given is not None:
        tables.require(table, [given], what)
        return given
    for c in options:
        if c in table.columns:
            return c
    raise ValueError(
        f"{what}: none of the columns {list(options)} found; have {list(table.columns)} (name it)"
    )


def _model_labels(table: pd.DataFrame, model, what: str) -> tuple[pd.Series, str]:
    """One label per row: the model column, or several joined with ' | ' (model and variant)."""
    if isinstance(model, (list, tuple)):
        tables.require(table, list(model), what)
        cols = list(model)
        if len(cols) == 1:
            return table[cols[0]].astype(str), cols[0]
        return table[cols].astype(str).agg(" | ".join, axis=1), " | ".join(cols)
    col = _pick(table, model, MODEL_COLUMNS, what)
    return table[col].astype(str), col


# --------------------------------------------------------------------------- reliability


def answer_reliability(
    answers: pd.DataFrame,
    selected: pd.DataFrame,
    *,
    model: str | Sequence[str] | None = None,
    rating: str | None = None,
    n_factors: int = 3,
    missing: str = "listwise",
    method: str = "minres",
    ci: float = 0.95,
    scale=None,
    min_units: int = 3,
) -> AnswerReliability:
    """Reliability of each validated item set over LLM answerers (models, personas, variants).

    Parameters
    ----------
    answers : DataFrame
        Tidy answers, one row per model and item: the column naming who answered
        (``model``, ``persona_id``, ... or ``model=``), the item (``item``, or Value
        Portrait's ``portrait_id, option_id``) and the answer (``rating``,
        ``numeric_response`` or ``rating=``). Rows with a missing answer (a
        failed parse) are missing cells.
    selected : DataFrame
        The validated item set: ``item`` (or ``portrait_id, option_id``),
        ``family, dimension, selected`` and optionally ``sign`` (e.g.
        :func:`vp_stats.stats.validation.select_items`); items with ``sign < 0`` are
        reversed as ``low + high - x``.
    model : str or list of str, optional
        The column(s) naming who answered; several columns make one answerer per
        combination (e.g. ``["model", "variant"]``: every prompt variant of every model
        counts as a rater; ``"persona_id"``: every persona). Default: the first of
        :data:`MODEL_COLUMNS` present.
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
    AnswerReliability
        ``table``: one row per (family, dimension): the columns of
        :func:`~vp_stats.stats.reliability.value_reliability` without ``group`` and
        with ``n_units`` for ``n_raters`` (:data:`ANSWER_RELIABILITY_COLUMNS`);
        ``model`` (the column or columns naming who answered), ``n_models``, ``scale``.

    Examples
    --------
    >>> import pandas as pd
    >>> ans = pd.DataFrame({"persona_id": ["p1"] * 3 + ["p2"] * 3 + ["p3"] * 3 + ["p4"] * 3,
    ...                     "item": ["a", "b", "c"] * 4,
    ...                     "rating": [1, 2, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5]})
    >>> sel = pd.DataFrame({"item": ["a", "b", "c"], "family": "pvq", "dimension": "Power",
    ...                     "selected": True})
    >>> rel = answer_reliability(ans, sel, n_factors=1)
    >>> rel.table[["dimension", "n_items", "n_units", "alpha"]].round(4).values.tolist()
    [['Power', 3, 4, 0.9333]]
    """
    labels, model_name = _model_labels(answers, model, "answers")
    base = tables.with_item_column(answers)
    if "item" not in base.columns:
        raise ValueError(
            "answers: no item column ('item' or 'portrait_id, option_id'); have "
            f"{list(answers.columns)}"
        )
    rating = _pick(base, rating, RATING_COLUMNS, "answers")
    vals = pd.to_numeric(base[rating], errors="coerce")
    bad = vals.isna() & base[rating].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"answers: model {labels.iloc[i]!r}, item {base['item'].iloc[i]!r}: "
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
            f"answers: model {r['participant']!r} answered item {r['item']!r} more than once; "
            "average the prompt variants first (vp_stats.io.averaging) or add the variant to model="
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
    n_models = int(long["participant"].nunique())
    scale_used = sc if sc is not None else tables.infer_scale(long["rating"])
    return AnswerReliability(
        out,
        {"model": model_name, "n_models": n_models, "scale": scale_used},
        model_name,
        n_models,
        scale_used,
    )


# --------------------------------------------------------------------------- convergent validity


def paired_scores(
    self_report: pd.DataFrame,
    profiles: pd.DataFrame,
    family: str = "pvq",
    *,
    model: str | None = None,
    self_score: str | None = None,
    profile_score: str | None = None,
) -> PairedScores:
    """Self-report and profile score of every (model, dimension) of a family, side by side.

    Parameters
    ----------
    self_report : DataFrame
        Tidy questionnaire scores: model, ``family``, ``dimension`` and the
        score (``score``; as :func:`vp_stats.llm.questionnaires.score_llm_pvq21`, whose
        ``persona_id`` names the model, or :func:`vp_stats.instruments.pvq.score_pvq21`).
    profiles : DataFrame
        Tidy item-profile scores: ``model``, ``family``, ``dimension`` and the score
        (``centered_mean``; as :func:`vp_stats.stats.scoring.value_profiles`).
    family : str
        Family compared (``pvq``: the 10 basic values; ``higher_pvq``; ``bfi``).
    model : str, optional
        The column naming the model in both tables; default, per table, the first of
        :data:`MODEL_COLUMNS` present.
    self_score, profile_score : str, optional
        Score columns; default the first of ``score, centered_mean`` /
        ``centered_mean, score`` present.

    Returns
    -------
    PairedScores
        ``table``: ``model, dimension, self_report, profile`` for the models in both
        tables (in the profiles' order) and the family's dimensions scored in either
        table (schema order; NaN where one side lacks the score); ``unmatched``: models
        of either table missing from the other.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"persona_id": "m", "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"], "score": [1.0, 2.0]})
    >>> p = pd.DataFrame({"model": "m", "family": "bfi", "dimension": ["Openness", "Neuroticism"],
    ...                   "centered_mean": [0.5, -0.5]})
    >>> paired_scores(s, p, "bfi").table.values.tolist()
    [['m', 'Neuroticism', 2.0, -0.5], ['m', 'Openness', 1.0, 0.5]]
    """
    if family not in schema.FAMILIES:
        raise ValueError(f"family must be one of {list(schema.FAMILIES)}, got {family!r}")
    dims = list(schema.FAMILIES[family])
    sides = []
    for table, score, options, what in (
        (self_report, self_score, SELF_SCORE_COLUMNS, "self_report"),
        (profiles, profile_score, PROFILE_SCORE_COLUMNS, "profiles"),
    ):
        tables.require(table, ["family", "dimension"], what)
        labels, _ = _model_labels(table, model, what)
        col = _pick(table, score, options, what)
        t = pd.DataFrame(
            {
                "model": labels.to_numpy(),
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
        dup = t.duplicated(["model", "dimension"])
        if dup.any():
            r = t[dup].iloc[0]
            raise ValueError(
                f"{what}: model {r['model']!r} has more than one {family} score for "
                f"{r['dimension']}"
            )
        sides.append(t)
    s, p = sides
    models = [u for u in pd.unique(p["model"]) if u in set(s["model"])]
    if not models:
        raise ValueError(
            "self_report and profiles share no model: self-report models "
            f"{sorted(set(s['model']))[:5]}, profile models {sorted(set(p['model']))[:5]}"
        )
    present = set(s["dimension"]) | set(p["dimension"])
    dims = [d for d in dims if d in present]
    grid = pd.MultiIndex.from_product([models, dims], names=["model", "dimension"]).to_frame(
        index=False
    )
    out = grid.merge(
        s[["model", "dimension", "score"]].rename(columns={"score": "self_report"}), how="left"
    ).merge(p[["model", "dimension", "score"]].rename(columns={"score": "profile"}), how="left")
    unmatched = sorted(set(s["model"]) ^ set(p["model"]))
    return PairedScores(out, {"unmatched": unmatched}, unmatched)


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
) -> ConvergentValidity:
    """Agreement of questionnaire self-reports with item profiles, per model and per value.

    Parameters
    ----------
    self_report, profiles, family, **columns :
        As :func:`paired_scores` (``model``, ``self_score``, ``profile_score``).

    Returns
    -------
    ConvergentValidity
        ``by_model`` (the ``table``): one row per model (or persona): ``model`` and
        :data:`CORRELATION_COLUMNS` across the family's dimensions (``n`` = values
        scored on both sides; the within-model profile correlation).
        ``by_value``: one row per dimension: ``dimension`` and the same
        columns across models (``n`` = models). ``pairs``: :func:`paired_scores`'
        result.

    Notes
    -----
    Both PVQ-21 scores (MRAT) and Value Portrait profiles are centred within
    the model, so ``by_model`` compares value hierarchies (rank orders of the
    values within a model) and is blind to a model's overall acquiescence;
    ``by_value`` compares the models' relative positions on one value. With 10
    values a per-model correlation has 8 df: a Pearson r of 0.63 is the 5 %
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
    >>> self = prof.rename(columns={"centered_mean": "score"})
    >>> self = self.assign(score=lambda d: d.score * sign)
    >>> cv = convergent_validity(self, prof)
    >>> cv.by_model.set_index("model").pearson_r.round(6).to_dict()
    {'a': 1.0, 'b': 1.0, 'c': -1.0}
    """
    paired = paired_scores(self_report, profiles, family, **columns)
    pairs = paired.table
    by_model = [
        {"model": u, **_correlate(g["self_report"].to_numpy(float), g["profile"].to_numpy(float))}
        for u, g in pairs.groupby("model", sort=False)
    ]
    by_value = [
        {
            "dimension": d,
            **_correlate(g["self_report"].to_numpy(float), g["profile"].to_numpy(float)),
        }
        for d, g in pairs.groupby("dimension", sort=False)
    ]
    return ConvergentValidity(
        pd.DataFrame(by_model, columns=["model", *CORRELATION_COLUMNS]),
        {"unmatched": paired.unmatched},
        pd.DataFrame(by_value, columns=["dimension", *CORRELATION_COLUMNS]),
        paired,
    )
