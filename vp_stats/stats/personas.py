"""Item-level and population-level comparisons of persona populations with human data.

Persona statistics: DataFrames in, DataFrames
out, no paths and no file reading (loaders live in :mod:`vp_stats.io.datasets`,
persona files in :mod:`vp_stats.io.personas`, orchestration in
:mod:`vp_stats.studies.personas`). Item level: per-item rating distributions of
personas and humans; scoring of persona answers (value profiles, shifts from
the plain model, PVQ-21 scores); population level: variance ratio, value
hierarchy and value structure. Group-level gaps are in
:mod:`vp_stats.stats.persona_gaps`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from vp_stats import schema, tables
from vp_stats.instruments.personas import PLAIN_PERSONA_ID
from vp_stats.stats.compass import SCORE_COLUMNS, score_matrix
from vp_stats.stats.resampling import Resampler, check_boot_options, percentile_ci

__all__ = [
    "item_distributions",
    "human_reference",
    "ITEM_COMPARISON_COLUMNS",
    "compare_item_distributions",
    "summarise_item_comparison",
    "persona_profiles",
    "persona_value_profiles",
    "persona_shifts",
    "variance_ratio",
    "value_hierarchy",
    "hierarchy_agreement",
    "complete_scores",
    "value_correlation_matrix",
    "value_structure",
]

# --------------------------------------------------------------------------- item level


def item_distributions(
    ratings: pd.DataFrame, rating: str = "rating", by: Sequence[str] = ()
) -> pd.DataFrame:
    """Per item: counts of ratings 1..6, ``n``, ``mean`` and population ``sd`` (ddof 0).

    Non-integer ratings (e.g. answers averaged over prompt variants) are split
    between the two neighbouring categories in proportion to their distance
    (4.25 adds 0.75 to category 4 and 0.25 to category 5), which keeps the mean.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [1, 2, 2, 4.5]})
    >>> d = item_distributions(r)
    >>> d[["count_1", "count_2", "count_4", "count_5", "n", "mean"]].values.tolist()
    [[1.0, 2.0, 0.5, 0.5, 4.0, 2.375]]
    """
    keys = [*by, "portrait_id", "option_id"]
    tables.require(ratings, [*keys, rating], "ratings")
    x = pd.to_numeric(ratings[rating], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(x) & ((x < schema.LIKERT_MIN) | (x > schema.LIKERT_MAX))
    if bad.any():
        row = ratings.iloc[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"rating {row[rating]!r} outside {schema.LIKERT_MIN}-{schema.LIKERT_MAX} for item "
            f"({row['portrait_id']}, {row['option_id']})"
        )
    ok = ~np.isnan(x)
    df = ratings.loc[ok, keys].reset_index(drop=True)
    x = x[ok]
    gid = df.groupby(keys, sort=True).ngroup().to_numpy()
    n_g = gid.max() + 1 if len(gid) else 0
    lo = np.floor(x).astype(int)
    frac = x - lo
    k = schema.LIKERT_MAX
    counts = np.zeros((n_g, k + 2))
    np.add.at(counts, (gid, lo), 1 - frac)
    np.add.at(counts, (gid, np.minimum(lo + 1, k + 1)), frac)
    counts = counts[:, 1 : k + 1]
    first = df.groupby(keys, sort=True).size().reset_index()[keys]
    out = first.copy()
    for c in range(k):
        out[f"count_{c + 1}"] = counts[:, c]
    n = np.bincount(gid, minlength=n_g).astype(float)
    s1 = np.bincount(gid, weights=x, minlength=n_g)
    s2 = np.bincount(gid, weights=x * x, minlength=n_g)
    out["n"] = n
    out["mean"] = s1 / n
    out["sd"] = np.sqrt(np.maximum(s2 / n - (s1 / n) ** 2, 0.0))
    return out


@schema.orders_dimensions
def human_reference(scores: pd.DataFrame, ratings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Human reference tables from participant scores and item ratings.

    The computation of :func:`~vp_stats.studies.personas.value_portrait_reference`,
    which loads the Value Portrait release and calls this.

    Parameters
    ----------
    scores : DataFrame
        Tidy participant scores ``participant, family, dimension, score``
        (:func:`vp_stats.io.datasets.load_participant_scores`); not modified.
    ratings : DataFrame
        Tidy item ratings ``participant, portrait_id, option_id, rating``
        (:func:`vp_stats.io.datasets.load_ratings`).

    Returns
    -------
    dict
        ``"scores"``: ``scores`` with a ``rater`` column, True for the
        participants who rated items; ``"ratings"``: ``ratings``;
        ``"item_distributions"``: per item counts of 1..6, ``n``, ``mean``,
        ``sd`` and ``source`` (:func:`item_distributions`).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"participant": ["a", "b"], "family": "bfi", "dimension": "Openness",
    ...                   "score": [3.0, 4.0]})
    >>> r = pd.DataFrame({"participant": "a", "portrait_id": 1001, "option_id": 1,
    ...                   "rating": [2, 4]})
    >>> ref = human_reference(s, r)
    >>> d = ref["item_distributions"]
    >>> ref["scores"].rater.tolist(), d[["source", "n", "mean"]].values.tolist()
    ([True, False], [['Reddit', 2.0, 3.0]])
    """
    scores = scores.assign(rater=scores["participant"].isin(set(ratings["participant"])))
    dist = item_distributions(ratings)
    dist.insert(2, "source", [schema.source_of(p) for p in dist["portrait_id"]])
    return {"scores": scores, "ratings": ratings, "item_distributions": dist}


ITEM_COMPARISON_COLUMNS = [
    "portrait_id",
    "option_id",
    "source",
    "distribution_from",
    "n_persona",
    "n_human",
    "mean_persona",
    "mean_human",
    "mean_diff",
    "sd_persona",
    "sd_human",
    "sd_ratio",
    "js_distance",
    "wasserstein",
]


_METRICS = ["mean_diff", "abs_mean_diff", "sd_ratio", "js_distance", "wasserstein"]


def compare_item_distributions(
    answers: pd.DataFrame,
    human_ratings: pd.DataFrame,
    *,
    rating: str = "rating",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Per item: persona population's rating distribution against the human raters'.

    Parameters
    ----------
    answers : DataFrame
        Tidy persona answers ``persona_id, portrait_id, option_id, rating``
        (one row per persona, item and variant or run); pooled over all rows of
        an item (or per ``by`` group, e.g. ``["model"]``).
    human_ratings : DataFrame
        Tidy human ratings with ``portrait_id, option_id, rating``
        (:func:`vp_stats.io.datasets.load_ratings`).

    Returns
    -------
    DataFrame
        ``by..., portrait_id, option_id, source, distribution_from, n_persona,
        n_human, mean_persona, mean_human, mean_diff`` (persona minus human),
        ``sd_persona, sd_human`` (ddof 0), ``sd_ratio`` (persona / human),
        ``js_distance`` (Jensen-Shannon distance of the 6-category
        distributions, base 2, in [0, 1]; :func:`scipy.spatial.distance.jensenshannon`)
        and ``wasserstein`` (earth mover's distance on the 1-6 scale;
        :func:`scipy.stats.wasserstein_distance`). Only items present in both
        tables are compared (a warning names how many persona items lack human ratings).
        The persona side is the mean of the answer probabilities ``p_1..p_6`` where
        every answer of the item recorded them (logprobs mode;
        ``distribution_from = "probabilities"``: the mean, SD and distances are
        those of the exact distribution), else the answers' histogram
        (``"histogram"``); see :mod:`vp_stats.stats.fidelity` for the same
        distances with noise floors and baselines.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [1, 2, 2, 2]})
    >>> p = pd.DataFrame({"persona_id": list("abcd"), "portrait_id": 1001, "option_id": 1,
    ...                   "rating": [1, 1, 2, 2]})
    >>> c = compare_item_distributions(p, h)
    >>> c[["mean_diff", "wasserstein"]].values.tolist()
    [[-0.25, 0.25]]
    """
    by = list(by)
    pd_ = item_distributions(answers, rating, by)
    hd = item_distributions(
        human_ratings, "rating" if "rating" in human_ratings.columns else rating
    )
    merged = pd_.merge(hd, on=["portrait_id", "option_id"], suffixes=("_p", "_h"), how="inner")
    lost = len(pd_[["portrait_id", "option_id"]].drop_duplicates()) - len(
        merged[["portrait_id", "option_id"]].drop_duplicates()
    )
    if lost:
        warnings.warn(
            f"{lost} persona item(s) have no human ratings and are not compared",
            UserWarning,
            stacklevel=2,
        )
    cats = np.arange(schema.LIKERT_MIN, schema.LIKERT_MAX + 1, dtype=float)
    cp = merged[[f"count_{c}_p" for c in range(1, 7)]].to_numpy()
    ch = merged[[f"count_{c}_h" for c in range(1, 7)]].to_numpy()
    js = np.array([jensenshannon(a, b, base=2) for a, b in zip(cp, ch, strict=True)])
    # Wasserstein on raw persona values (exact for non-integer answers) vs human category counts
    raw = answers.assign(_x=pd.to_numeric(answers[rating], errors="coerce")).dropna(subset=["_x"])
    groups = {
        k: g["_x"].to_numpy(dtype=float)
        for k, g in raw.groupby([*by, "portrait_id", "option_id"], sort=False)
    }
    keys = merged[[*by, "portrait_id", "option_id"]].itertuples(index=False, name=None)
    wd = np.array(
        [
            stats.wasserstein_distance(groups[k], cats, v_weights=h)
            for k, h in zip(keys, ch, strict=True)
        ]
    )
    from vp_stats.stats.fidelity import model_distributions

    md = merged[[*by, "portrait_id", "option_id"]].merge(
        model_distributions(answers, by=by, rating=rating),
        on=[*by, "portrait_id", "option_id"],
        how="left",
    )
    exact = (md["distribution_from"] == "probabilities").to_numpy()
    mean_p = merged["mean_p"].to_numpy(dtype=float, copy=True)
    sd_p = merged["sd_p"].to_numpy(dtype=float, copy=True)
    if exact.any():
        Q = md.loc[exact, [f"q_{c}" for c in range(1, 7)]].to_numpy()
        js[exact] = jensenshannon(Q, ch[exact], base=2, axis=1)
        wd[exact] = [
            stats.wasserstein_distance(cats, cats, u_weights=q, v_weights=h)
            for q, h in zip(Q, ch[exact], strict=True)
        ]
        m = Q @ cats
        mean_p[exact] = m
        sd_p[exact] = np.sqrt(np.maximum(Q @ cats**2 - m**2, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_ratio = sd_p / merged["sd_h"].to_numpy()
    out = pd.DataFrame(
        {
            **{b: merged[b] for b in by},
            "portrait_id": merged["portrait_id"],
            "option_id": merged["option_id"],
            "source": [schema.source_of(p) for p in merged["portrait_id"]],
            "distribution_from": md["distribution_from"].to_numpy(),
            "n_persona": merged["n_p"],
            "n_human": merged["n_h"],
            "mean_persona": mean_p,
            "mean_human": merged["mean_h"],
            "mean_diff": mean_p - merged["mean_h"].to_numpy(),
            "sd_persona": sd_p,
            "sd_human": merged["sd_h"],
            "sd_ratio": sd_ratio,
            "js_distance": js,
            "wasserstein": wd,
        }
    )
    return out.reset_index(drop=True)


@schema.orders_dimensions
def summarise_item_comparison(
    item_comparison: pd.DataFrame, by: str = "source", selected: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Average the item-level comparison per item source or per value.

    Parameters
    ----------
    item_comparison : DataFrame
        Output of :func:`compare_item_distributions`.
    by : {"source", "value"}
        ``"source"``: per :data:`vp_stats.schema.SOURCES`; ``"value"``: per
        family and dimension over the items validated for it.
    selected : DataFrame
        For ``by="value"``: ``portrait_id, option_id, family, dimension,
        selected`` (:func:`vp_stats.stats.validation.select_items`); only rows with
        ``selected`` True are used.

    Returns
    -------
    DataFrame
        Grouping columns (plus any extra ``by`` columns of the comparison, such
        as ``model``), ``n_items`` and the means over items of ``mean_diff``,
        ``abs_mean_diff``, ``sd_ratio`` (items with a human SD of 0 skipped),
        ``js_distance`` and ``wasserstein``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"portrait_id": [1001, 1002, 2001], "option_id": 1,
    ...                   "source": ["Reddit", "Reddit", "DearAbby"], "mean_diff": [0.5, -0.5, 1.0],
    ...                   "sd_ratio": 1.0, "js_distance": 0.1, "wasserstein": [0.5, 0.5, 1.0]})
    >>> s = summarise_item_comparison(c)
    >>> s[["source", "n_items", "mean_diff", "abs_mean_diff"]].values.tolist()
    [['Reddit', 2, 0.0, 0.5], ['DearAbby', 1, 1.0, 1.0]]
    """
    base = {"portrait_id", "option_id", "source", *ITEM_COMPARISON_COLUMNS}
    extra = [c for c in item_comparison.columns if c not in base]
    df = item_comparison.assign(abs_mean_diff=item_comparison["mean_diff"].abs())
    df = df.assign(sd_ratio=df["sd_ratio"].where(np.isfinite(df["sd_ratio"].to_numpy(dtype=float))))
    if by == "source":
        keys = [*extra, "source"]
        order = {s: i for i, s in enumerate(schema.SOURCES)}
        okey = "source"
    elif by == "value":
        if selected is None:
            raise ValueError(
                'by="value" needs selected= (portrait_id, option_id, family, dimension, selected)'
            )
        tables.require(
            selected, ["portrait_id", "option_id", "family", "dimension", "selected"], "selected"
        )
        sel = selected.loc[
            selected["selected"].astype(bool), ["portrait_id", "option_id", "family", "dimension"]
        ]
        df = df.merge(sel, on=["portrait_id", "option_id"], how="inner")
        keys = [*extra, "family", "dimension"]
        order = {
            d: i for i, d in enumerate(d for f in schema.FAMILY_NAMES for d in schema.FAMILIES[f])
        }
        okey = "dimension"
    else:
        raise ValueError(f'by must be "source" or "value", got {by!r}')
    g = df.groupby(keys, sort=False)
    out = g[_METRICS].mean().reset_index()
    out.insert(len(keys), "n_items", g.size().to_numpy())
    out = out.assign(_o=out[okey].map(order)).sort_values([*extra, "_o"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


# --------------------------------------------------------------------------- persona answers


@schema.orders_dimensions
def persona_profiles(
    answers: pd.DataFrame, corr: pd.DataFrame, *, rating: str = "rating", **kwargs
) -> pd.DataFrame:
    """Value profiles of every persona (Value Portrait scoring, ``stats.scoring.value_profiles``).

    Answers (``persona_id, portrait_id, option_id, rating``, several rows per
    item for prompt variants or runs) are averaged per persona and item, then
    scored like a model. ``kwargs`` go to ``value_profiles`` (default
    ``n_boot=0``). Returns the profile table with ``persona_id`` for ``model``;
    ``n_failed`` counts the validated items put to the persona without a parsed
    answer, ``n_not_asked`` those never put to it (a run on a subset of items).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"persona_id": "p", "portrait_id": [1001, 1001, 1002], "option_id": 1,
    ...                   "rating": [6, 4, 2]})
    >>> corr = pd.DataFrame({"portrait_id": [1001, 1002], "option_id": 1, "family": "bfi",
    ...                      "dimension": ["Openness", "Neuroticism"], "rho": [0.5, 0.4]})
    >>> prof = persona_profiles(a, corr, exclusions=None).set_index("dimension")
    >>> prof.loc["Openness", "centered_mean"]
    np.float64(1.5)
    """
    from vp_stats.stats.scoring import value_profiles

    tables.require(answers, ["persona_id", "portrait_id", "option_id", rating], "answers")
    if "model" in answers.columns and answers["model"].nunique() > 1:
        raise ValueError("answers hold several models; score each model's personas separately")
    avg = (
        answers.assign(numeric_response=pd.to_numeric(answers[rating], errors="coerce"))
        .groupby(["persona_id", "portrait_id", "option_id"], sort=False)["numeric_response"]
        .mean()
        .reset_index()
        .rename(columns={"persona_id": "model"})
    )
    kwargs.setdefault("n_boot", 0)
    prof = value_profiles(avg, corr, **kwargs)
    # value_profiles' n_failed counts every validated item without an answer, including the
    # items never put to the persona (a run on a subset of items): split the two counts by
    # scoring once more with every item that was asked filled in
    asked = avg.assign(numeric_response=avg["numeric_response"].fillna(schema.LIKERT_MIN))
    not_asked = value_profiles(asked, corr, **{**kwargs, "n_boot": 0})["n_failed"].to_numpy()
    prof["n_not_asked"] = not_asked
    prof["n_failed"] = prof["n_failed"].to_numpy() - not_asked
    return prof.rename(columns={"model": "persona_id"})


@schema.orders_dimensions
def persona_value_profiles(answers: pd.DataFrame, corr: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Value profiles of every persona of a persona run, scored like models.

    Answers of a persona run (:func:`~vp_stats.studies.personas.run_personas`;
    failed answers, ``parse_ok`` False, are left out) are averaged per persona
    and item over variants and scored with :func:`vp_stats.stats.scoring.value_profiles`
    (Value Portrait scoring: mean answer on the items with ``rho > 0.3`` for a value, centred
    on the mean over all items valid for any value of the family). The
    ``model`` column holds the ``persona_id`` (the plain model is ``"plain"``);
    ``persona_id`` repeats it, ``llm`` names the model that answered, and the
    persona attribute columns of ``answers`` are joined.

    Parameters
    ----------
    answers : DataFrame
        ``persona_id, portrait_id, option_id, rating`` (+ ``parse_ok``,
        ``model``, attribute columns).
    corr : DataFrame
        Item correlations (:func:`vp_stats.io.datasets.load_published_correlations`).
    **kwargs
        Passed to :func:`persona_profiles` / ``value_profiles`` (default ``n_boot=0``).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "persona_id": ["plain", "plain", "x", "x"],
    ...                   "gender": [None, None, "male", "male"],
    ...                   "portrait_id": [1001, 1002] * 2, "option_id": 1,
    ...                   "rating": [5.0, 3.0, 6.0, 2.0], "parse_ok": True})
    >>> corr = pd.DataFrame({"portrait_id": [1001, 1002], "option_id": 1, "family": "bfi",
    ...                      "dimension": ["Openness", "Neuroticism"], "rho": [0.5, 0.4]})
    >>> p = persona_value_profiles(a, corr, exclusions=None)
    >>> o = p.query("dimension == 'Openness'")
    >>> o[["model", "gender", "centered_mean"]].reset_index(drop=True)
       model gender  centered_mean
    0  plain    NaN            1.0
    1      x   male            2.0
    """
    tables.require(answers, ["persona_id"], "answers (of run_personas)")
    a = answers
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    llm = None
    if "model" in a.columns:
        models = pd.unique(a["model"].dropna())
        if len(models) > 1:
            raise ValueError(
                f"answers hold several models {list(models)}; score each model's personas "
                "separately"
            )
        llm = models[0] if len(models) else None
    cols = [c for c in ("persona_id", "portrait_id", "option_id", "rating") if c in a.columns]
    prof = persona_profiles(a[cols], corr, **kwargs)
    prof.insert(0, "model", prof["persona_id"])
    prof.insert(2, "llm", llm)
    attrs = [
        c
        for c in answers.columns
        if c not in set(schema.ANSWER_COLUMNS) | {"system_prompt", "item", "value", "prompt"}
    ]
    if attrs:
        info = answers[["persona_id", *attrs]].drop_duplicates("persona_id")
        prof = prof.merge(info, on="persona_id", how="left")
    return prof


@schema.orders_dimensions
def persona_shifts(profiles: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Each persona's shift from the plain model per value: ``persona - plain``.

    The LLM side of the paper's group metric (Value Portrait, demographic
    groups): persona score minus the plain model's score.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"persona_id": ["plain", "x"], "gender": [None, "male"], "family": "pvq",
    ...                   "dimension": "Power", "centered_mean": [0.25, 1.0]})
    >>> persona_shifts(p)[["persona_id", "gender", "dimension", "shift"]].values.tolist()
    [['x', 'male', 'Power', 0.75]]
    """
    sub = profiles[profiles["family"] == family]
    base = sub[sub["persona_id"] == PLAIN_PERSONA_ID]
    if base.empty:
        raise ValueError(
            f"no plain-model profile (persona_id {PLAIN_PERSONA_ID!r}): run with include_plain=True"
        )
    b = base.set_index("dimension")["centered_mean"]
    out = sub[sub["persona_id"] != PLAIN_PERSONA_ID].copy()
    out["plain"] = out["dimension"].map(b).to_numpy()
    out["shift"] = out["centered_mean"] - out["plain"]
    keep = [c for c in out.columns if c not in ("original_mean", "std_dev", "ci_low", "ci_high")]
    return out[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- population level

_SCORE_COLS = SCORE_COLUMNS


def _detect(table: pd.DataFrame, given: str | None, options: Sequence[str], what: str) -> str:
    if given is not None:
        tables.require(table, [given], "scores")
        return given
    for c in options:
        if c in table.columns:
            return c
    raise ValueError(
        f"no {what} column: expected one of {list(options)}; columns are {list(table.columns)}"
    )


@schema.orders_dimensions
def variance_ratio(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    persona: str | None = None,
    participant: str | None = None,
) -> pd.DataFrame:
    """Variance of each value across personas divided by its variance across humans.

    ``variance_ratio = var(persona scores) / var(human scores)`` (ddof 1, NaN
    scores left out); below 1 the persona population is less diverse than
    people (flattening), above 1 more. CIs: percentile bootstrap resampling
    personas and humans independently (seeded; :mod:`vp_stats.stats.resampling`),
    resamples with an undefined ratio (zero human variance) left out.

    Returns
    -------
    DataFrame
        ``family, dimension, var_persona, var_human, variance_ratio, ci_low,
        ci_high, n_persona, n_human``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> h = pd.DataFrame({"participant": range(4), "family": "bfi", "dimension": "Openness",
    ...                   "score": [1.0, 2.0, 3.0, 4.0]})
    >>> p = h.assign(participant=h.participant.astype(str), score=h.score / 2)
    >>> variance_ratio(p, h, "bfi", n_boot=0).dropna(subset=["var_human"]).variance_ratio.tolist()
    [0.25]
    """
    P = score_matrix(persona_scores, family, persona=persona).to_numpy()
    H = score_matrix(human_scores, family, participant=participant).to_numpy()
    vp, vh = _var(P), _var(H)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = vp / vh
    lo = hi = np.full(len(ratio), np.nan)
    if n_boot:
        check_boot_options(n_boot, ci)
        resampler = Resampler(seed)
        bp = _boot_var(P, n_boot, resampler)
        bh = _boot_var(H, n_boot, resampler)
        with np.errstate(invalid="ignore", divide="ignore"):
            br = bp / bh
        lo, hi, _ = percentile_ci(br, ci)
    dims = list(schema.FAMILIES[family])
    return pd.DataFrame(
        {
            "family": family,
            "dimension": dims,
            "var_persona": vp,
            "var_human": vh,
            "variance_ratio": ratio,
            "ci_low": lo,
            "ci_high": hi,
            "n_persona": (~np.isnan(P)).sum(axis=0),
            "n_human": (~np.isnan(H)).sum(axis=0),
        }
    )


def _var(X: np.ndarray) -> np.ndarray:
    """Column variances, ddof 1, NaN left out; NaN where fewer than 2 values."""
    ok = ~np.isnan(X)
    n = ok.sum(axis=0)
    X0 = np.where(ok, X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = X0.sum(axis=0) / n
        v = (np.where(ok, X0 - m, 0.0) ** 2).sum(axis=0) / (n - 1)
    return np.where(n >= 2, v, np.nan)


def _boot_var(X: np.ndarray, n_boot: int, resampler: Resampler) -> np.ndarray:
    """Bootstrap variances (ddof 1, NaN-aware) of the columns of X: (n_boot, k).

    Rows are resampled as multinomial counts (:meth:`Resampler.counts`, in
    chunks of about 2 million cells; the counts do not depend on the chunking).
    """
    n = len(X)
    ok = ~np.isnan(X)
    X0 = np.where(ok, X, 0.0)
    out = np.empty((n_boot, X.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        M = resampler.counts(n, b)  # b x n
        cnt, s1, s2 = M @ ok, M @ X0, M @ (X0 * X0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + b] = (s2 - s1 * s1 / cnt) / (cnt - 1)
    return out


@schema.orders_dimensions
def value_hierarchy(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    persona: str | None = None,
    participant: str | None = None,
) -> pd.DataFrame:
    """Value hierarchy of the persona population against the human one.

    For each unit (persona or person) the values are ranked (1 = most
    important, ties averaged); the table gives each value's mean score and
    mean rank in both populations and ``rank_persona`` / ``rank_human``, the
    rank of the mean score. :func:`hierarchy_agreement` correlates them.

    Returns
    -------
    DataFrame
        ``family, dimension, mean_persona, mean_human, mean_rank_persona,
        mean_rank_human, rank_persona, rank_human``, in circumplex order.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": ["a", "a"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"], "score": [3.0, 2.0]})
    >>> v = value_hierarchy(h.rename(columns={"participant": "persona_id"}), h, "bfi")
    >>> v.dropna()[["dimension", "mean_rank_human"]].values.tolist()
    [['Neuroticism', 2.0], ['Openness', 1.0]]
    """
    P = score_matrix(persona_scores, family, persona=persona)
    H = score_matrix(human_scores, family, participant=participant)
    rp = P.rank(axis=1, ascending=False, method="average")
    rh = H.rank(axis=1, ascending=False, method="average")
    mp, mh = P.mean(), H.mean()
    return pd.DataFrame(
        {
            "family": family,
            "dimension": P.columns,
            "mean_persona": mp.to_numpy(),
            "mean_human": mh.to_numpy(),
            "mean_rank_persona": rp.mean().to_numpy(),
            "mean_rank_human": rh.mean().to_numpy(),
            "rank_persona": mp.rank(ascending=False).to_numpy(),
            "rank_human": mh.rank(ascending=False).to_numpy(),
        }
    )


def hierarchy_agreement(hierarchy: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho and Kendall tau between persona and human mean ranks (one row).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"mean_rank_persona": [1, 2, 3], "mean_rank_human": [1, 3, 2]})
    >>> hierarchy_agreement(h).spearman_rho.round(3).tolist()
    [0.5]
    """
    d = hierarchy.dropna(subset=["mean_rank_persona", "mean_rank_human"])
    rho, p = stats.spearmanr(d["mean_rank_persona"], d["mean_rank_human"])
    tau, pt = stats.kendalltau(d["mean_rank_persona"], d["mean_rank_human"])
    return pd.DataFrame(
        {
            "spearman_rho": [rho],
            "spearman_p": [p],
            "kendall_tau": [tau],
            "kendall_p": [pt],
            "n_values": [len(d)],
        }
    )


@schema.orders_dimensions
def complete_scores(
    data: pd.DataFrame,
    family: str = "pvq",
    *,
    model: str | None = None,
    persona: str | None = None,
    participant: str | None = None,
) -> pd.DataFrame:
    """Tidy ``participant, family, dimension, score`` of the units scored on every value.

    Converts a persona profile table (``persona_id``, ``centered_mean``) or a
    human score table to the layout of :mod:`vp_stats.stats.structure`, keeping
    complete cases only (units with a missing value are dropped; dimensions
    no unit is scored on are left out first).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"persona_id": ["a", "a", "b"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism", "Openness"],
    ...                   "centered_mean": [0.5, -0.5, 0.1]})
    >>> complete_scores(t, "bfi").participant.unique().tolist()
    ['a']
    """
    W = score_matrix(data, family, model=model, persona=persona, participant=participant)
    W = W.dropna(axis=1, how="all").dropna()
    W.index = W.index.astype(str).rename("participant")
    W.columns.name = "dimension"
    out = W.stack().rename("score").reset_index()
    out.insert(1, "family", family)
    return out[["participant", "family", "dimension", "score"]]


def value_correlation_matrix(
    data: pd.DataFrame,
    family: str = "pvq",
    *,
    model: str | None = None,
    persona: str | None = None,
    participant: str | None = None,
    method: str = "pearson",
) -> pd.DataFrame:
    """Correlations among a family's values across units (complete cases).

    Works on persona profiles and on human scores alike (see
    :func:`complete_scores`); computed by :func:`vp_stats.stats.structure.correlation_matrix`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"persona_id": list("aabbcc"), "family": "higher_pvq",
    ...                   "dimension": ["Conservation", "Openness_to_Change"] * 3,
    ...                   "centered_mean": [1.0, -1.0, 0.0, 0.0, -1.0, 1.0]})
    >>> value_correlation_matrix(t, "higher_pvq").loc["Conservation", "Openness_to_Change"]
    np.float64(-1.0)
    """
    from vp_stats.stats import structure

    tidy = complete_scores(data, family, model=model, persona=persona, participant=participant)
    present = [d for d in schema.FAMILIES[family] if d in set(tidy["dimension"])]
    if family == "pvq" and len(present) == len(schema.PVQ_VALUES):
        return structure.correlation_matrix(tidy, family, method)
    # families with dimensions never scored: correlate what is there
    W = tables.to_wide(
        tidy, "participant", "dimension", "score", source="scores", name_columns=True
    )
    W = W.reindex(columns=present)
    if method == "spearman":
        W = W.rank()
    return W.corr().reindex(
        index=list(schema.FAMILIES[family]), columns=list(schema.FAMILIES[family])
    )


@schema.orders_dimensions
def value_structure(
    persona_scores: pd.DataFrame,
    human_scores: pd.DataFrame,
    family: str = "pvq",
    *,
    persona: str | None = None,
    participant: str | None = None,
) -> pd.DataFrame:
    """Compare the value structure (correlations among values) of personas and humans.

    ``matrix_r`` / ``matrix_rho`` are the Pearson / Spearman correlations of
    the lower triangles of the two value correlation matrices
    (:func:`value_correlation_matrix`; a matrix correlation, without a Mantel
    test). For the basic values the table adds, per population, the circular
    order of a 2-D classical MDS of the correlations and its agreement with
    Schwartz's circle (:func:`vp_stats.stats.structure.circumplex_positions` and
    :func:`vp_stats.stats.structure.circumplex_check`: recovered order from
    Self-Direction, exact order up to rotation and reflection, theoretical
    neighbours kept as neighbours, mean displacement in positions), as in
    Rozen et al., "Do LLMs have consistent values?" (ICLR 2025).

    Returns
    -------
    DataFrame
        One row: ``family, n_persona, n_human, n_pairs, matrix_r, matrix_rho``
        and, for ``pvq``, ``order_persona, order_human, exact_order_persona,
        exact_order_human, adjacent_pairs_persona, adjacent_pairs_human,
        mean_displacement_persona, mean_displacement_human``.

    Examples
    --------
    >>> from vp_stats.stats import structure
    >>> h = structure.synthetic_circumplex(n_participants=300, seed=1)
    >>> p = structure.synthetic_circumplex(n_participants=40, seed=2)
    >>> s = value_structure(p, h)
    >>> bool(s.matrix_r.item() > 0.9), bool(s.exact_order_human.item())
    (True, True)
    """
    from vp_stats.stats import structure

    Cp = value_correlation_matrix(persona_scores, family, persona=persona)
    Ch = value_correlation_matrix(human_scores, family, participant=participant)
    il = np.tril_indices(len(Cp), -1)
    a, b = Cp.to_numpy()[il], Ch.to_numpy()[il]
    ok = ~(np.isnan(a) | np.isnan(b))
    tp = complete_scores(persona_scores, family, persona=persona)
    th = complete_scores(human_scores, family, participant=participant)
    row = {
        "family": family,
        "n_persona": tp["participant"].nunique(),
        "n_human": th["participant"].nunique(),
        "n_pairs": int(ok.sum()),
        "matrix_r": stats.pearsonr(a[ok], b[ok])[0] if ok.sum() > 2 else np.nan,
        "matrix_rho": stats.spearmanr(a[ok], b[ok])[0] if ok.sum() > 2 else np.nan,
    }
    if family == "pvq":
        for name, t in (("persona", tp), ("human", th)):
            chk = structure.circumplex_check(structure.circumplex_positions(t, family)).iloc[0]
            row[f"order_{name}"] = chk["recovered_order"]
            row[f"exact_order_{name}"] = bool(chk["exact_order"])
            row[f"adjacent_pairs_{name}"] = int(chk["adjacent_pairs_preserved"])
            row[f"mean_displacement_{name}"] = float(chk["mean_displacement"])
    return pd.DataFrame([row])
