"""Value Compass composites over a model x dimension score table (pure statistics).

Validates score tables (:func:`score_matrix`) and computes the composites
:func:`selected_mean`, :func:`weighted_composite`, :func:`rank_agreement` and
:func:`distance`, each returning the weights it used and their provenance;
:func:`match_models` ranks models for one person by all three priority-weighted
composites. Priority vectors come from :mod:`vp_stats.stats.compass_weights`.

Functions take and return DataFrames; they read no files.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from vp_stats import schema, tables
from vp_stats.stats.compass_weights import as_weights, weights_from_pvq_answers

__all__ = [
    "CENTRED_PROFILE_CAVEAT",
    "Composite",
    "ROW_COLUMNS",
    "SCORE_COLUMNS",
    "score_matrix",
    "selected_mean",
    "weighted_composite",
    "rank_agreement",
    "distance",
    "match_models",
]

#: Caveat attached to every :func:`match_models` row.
CENTRED_PROFILE_CAVEAT = (
    "Value Portrait model scores are centred profiles (each model's answers minus its own mean), "
    "like MRAT-centred PVQ scores: composites compare the pattern of relative priorities, "
    "not absolute endorsement of any value."
)


# --------------------------------------------------------------------------- inputs


#: Columns that name a row of a score table, tried in this order when none is given.
ROW_COLUMNS = ("persona_id", "model", "participant")
#: Score columns, tried in this order when none is given (a profile's ``centered_mean`` first).
SCORE_COLUMNS = ("centered_mean", "score")


def _row_column(data: pd.DataFrame, model, persona, participant) -> str | None:
    given = [c for c in (model, persona, participant) if c is not None]
    if len(given) > 1:
        raise ValueError(f"name one row column (model=, persona= or participant=), got {given}")
    if given:
        return given[0]
    return next((c for c in ROW_COLUMNS if c in data.columns), None)


def score_matrix(
    data: pd.DataFrame,
    family: str | None = None,
    *,
    model: str | None = None,
    persona: str | None = None,
    participant: str | None = None,
    dimension: str = "dimension",
    score: str | None = None,
    complete: bool = False,
) -> pd.DataFrame:
    """A score table as a wide matrix: one row per model, persona or participant, one column
    per dimension.

    The one tidy-scores-to-matrix step of the statistics layer (Value Compass composites,
    persona population statistics).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy (a row column, ``dimension``, ``score``; other columns are ignored) or
        wide (the row column or the index naming the rows, every other column a
        dimension).
    family : str, optional
        Keep this family's rows (when the table has a ``family`` column) and give its
        dimensions as columns in schema order (dimensions without scores are NaN). Default:
        every dimension of the table, in input order.
    model, persona, participant : str, optional
        The column naming the rows (give at most one); default the first of
        ``persona_id, model, participant`` present.
    dimension : str
        Column of the dimension names (tidy tables).
    score : str, optional
        Column of the scores; default ``centered_mean`` or else ``score``.
    complete : bool
        Require every cell to be a finite score (the composites need every dimension).

    Returns
    -------
    pandas.DataFrame
        Float matrix; the index is named after the row column (``model`` for a wide table
        without one), the columns ``dimension``.

    Raises
    ------
    ValueError
        Duplicate (row, dimension) pairs, an unknown family, missing or non-finite scores
        with ``complete=True`` (naming row and dimension), an empty table.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["a", "b"], "Power": [1.0, 2.0], "Security": [3.0, 4.0]})
    >>> score_matrix(wide, complete=True)  # doctest: +NORMALIZE_WHITESPACE
    dimension  Power  Security
    model
    a            1.0       3.0
    b            2.0       4.0
    >>> t = pd.DataFrame({"participant": ["a", "a"], "family": "bfi",
    ...                   "dimension": ["Openness", "Neuroticism"], "score": [3.0, 2.0]})
    >>> score_matrix(t, "bfi").loc["a"].tolist()
    [nan, nan, nan, 2.0, 3.0]
    """
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("scores must be a non-empty pandas DataFrame")
    if family is not None and family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {schema.FAMILY_NAMES}")
    row = _row_column(data, model, persona, participant)
    tidy = dimension in data.columns and (
        score in data.columns if score else any(c in data.columns for c in SCORE_COLUMNS)
    )
    if tidy:
        score = score or next(c for c in SCORE_COLUMNS if c in data.columns)
        if row is None:
            raise ValueError(
                "tidy scores need a column naming the rows (one of "
                f"{', '.join(ROW_COLUMNS)}, or model= / persona= / participant=; "
                f"columns: {list(data.columns)})"
            )
        tables.require(data, [row, dimension], "scores", numeric=[score])
        sub = data
        if family is not None and "family" in data.columns:
            sub = data[data["family"] == family]
        dup = sub.duplicated([row, dimension], keep=False)
        if dup.any():
            r = sub.loc[dup].iloc[0]
            raise ValueError(
                f"duplicate scores for {row} {_py(r[row])!r}, dimension "
                f"{_py(r[dimension])!r}; filter the table to one family / one score per "
                f"{row} and dimension"
            )
        mat = tables.to_wide(sub, row, dimension, score, source="scores")
        mat = mat.reindex(index=pd.unique(sub[row]), columns=pd.unique(sub[dimension]))
    else:
        if score is not None:
            tables.require(data, [dimension, score], "scores")
        mat = data.set_index(row) if row in data.columns else data.copy()
    mat.index.name = row if row is not None else (mat.index.name or "model")
    mat.columns.name = "dimension"
    if mat.index.duplicated().any():
        raise ValueError(
            f"duplicate {mat.index.name} rows: {list(mat.index[mat.index.duplicated()][:5])}"
        )
    try:
        mat = mat.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be numeric: {exc}") from exc
    if family is not None:
        mat = mat.reindex(columns=list(schema.FAMILIES[family]))
        if tidy:
            mat = mat.sort_index()
    if complete:
        bad = ~np.isfinite(mat.to_numpy())
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(
                f"missing or non-finite score for {mat.index.name} {_py(mat.index[r])!r}, "
                f"dimension {_py(mat.columns[c])!r} ({int(bad.sum())} in total); composites "
                "need every dimension scored"
            )
    return mat


def _py(x):
    """A numpy scalar as the plain Python value (readable error messages)."""
    return x.item() if isinstance(x, np.generic) else x


def _fmt_weights(w: pd.Series) -> str:
    return ", ".join(f"{d}={v:.6g}" for d, v in w.items())


def _align(
    mat: pd.DataFrame, dims: Sequence[str], dimensions: Sequence[str] | None, what: str
) -> list[str]:
    """Check the weight dimensions against the score table; return the dimension list used."""
    have = list(mat.columns)
    if dimensions is not None:
        dimensions = list(dimensions)
        absent = [d for d in dimensions if d not in have]
        if absent:
            raise ValueError(f"dimensions {absent} are not in the score table (dimensions: {have})")
        if set(dims) != set(dimensions):
            raise ValueError(
                f"mismatched dimension sets: the {what} cover "
                f"{sorted(set(dims) - set(dimensions))} beyond the selected dimensions and miss "
                f"{sorted(set(dimensions) - set(dims))}"
            )
        return dimensions
    if set(dims) != set(have):
        raise ValueError(
            f"mismatched dimension sets: scores only {sorted(set(have) - set(dims))}, "
            f"{what} only {sorted(set(dims) - set(have))}; pass dimensions= to compare on a subset "
            "of the score table (the weights must then cover exactly that subset)"
        )
    return list(dims)


@dataclass(frozen=True)
class Composite(tables.Result):
    """A composite of every model and the weights it was computed with.

    Attributes
    ----------
    table : DataFrame
        One row per model: ``model``, the composite's column(s), ``n_dimensions, weights,
        weights_source`` (``weights`` formatted as text).
    weights : Series
        The weights used, indexed by dimension (exact values).
    weights_source : str
        Where the weights come from.
    """

    weights: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    weights_source: str = ""


def _result(models, cols: dict, w: pd.Series, source: str) -> Composite:
    out = pd.DataFrame({"model": list(models), **cols})
    out["n_dimensions"] = len(w)
    out["weights"] = _fmt_weights(w)
    out["weights_source"] = source
    return Composite(out, {"weights_source": source}, w.copy(), source)


def _prepare(scores, weights, weights_source, dimensions, score_kw, what="weights"):
    mat = score_matrix(scores, complete=True, **score_kw)
    wt = as_weights(weights, weights_source)
    dims = _align(mat, wt["dimension"].tolist(), dimensions, what)
    w = wt.set_index("dimension")["weight"].reindex(dims)
    return mat[dims], w, wt["weights_source"].iloc[0]


# --------------------------------------------------------------------------- composites


def selected_mean(
    scores: pd.DataFrame,
    dimensions: Sequence[str] | None = None,
    **score_kw,
) -> Composite:
    """Equal-weight mean of each model's scores over a chosen set of dimensions.

    The Value Compass leaderboard score (Yao, Yi et al. 2025): ``mean_k s_k`` over
    the selected dimensions.

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy or wide model x dimension scores (see :func:`score_matrix`).
    dimensions : sequence of str, optional
        The dimensions to average; default all dimensions of the table.
    **score_kw
        ``model``, ``dimension``, ``score`` (column names) for :func:`score_matrix`.

    Returns
    -------
    Composite
        ``table``: ``model, selected_mean, n_dimensions, weights, weights_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "Power": [20.0], "Security": [60.0],
    ...                      "Hedonism": [10.0]})
    >>> selected_mean(wide, ["Power", "Security"]).table[["model", "selected_mean", "n_dimensions"]]
      model  selected_mean  n_dimensions
    0     m           40.0             2
    """
    mat = score_matrix(scores, complete=True, **score_kw)
    dims = list(mat.columns) if dimensions is None else list(dimensions)
    if not dims:
        raise ValueError("no dimensions selected")
    if len(set(dims)) != len(dims):
        raise ValueError(f"duplicate dimensions in the selection: {dims}")
    _align(mat, dims, dims, "selection")
    w = pd.Series(1.0 / len(dims), index=pd.Index(dims, name="dimension"), name="weight")
    return _result(
        mat.index,
        {"selected_mean": mat[dims].mean(axis=1).to_numpy()},
        w,
        f"equal weights over {len(dims)} selected dimensions",
    )


def weighted_composite(
    scores: pd.DataFrame,
    weights,
    weights_source: str | None = None,
    *,
    dimensions: Sequence[str] | None = None,
    **score_kw,
) -> Composite:
    r"""Priority-weighted composite :math:`\sum_k w_k s_k / \sum_k |w_k|` per model.

    Dividing by ``sum |w|`` keeps the composite on the score scale when all
    weights are positive, and lets negative priorities (e.g. centred PVQ
    scores) count against a dimension (Value Compass, Yao, Yi et al. 2025).

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy or wide model x dimension scores.
    weights : dict, Series or weights table
        Priority vector (see :func:`~vp_stats.stats.compass_weights.as_weights`).
    weights_source : str, optional
        Provenance; required unless ``weights`` is a weights table.
    dimensions : sequence of str, optional
        Compare on this subset of the score table; the weights must cover it
        exactly. By default the weights must cover exactly the table's dimensions.
    **score_kw
        Column names for :func:`score_matrix`.

    Returns
    -------
    Composite
        ``table``: ``model, weighted_composite, n_dimensions, weights, weights_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "Power": [20.0], "Security": [60.0]})
    >>> res = weighted_composite(wide, {"Power": -1, "Security": 1}, "demo")
    >>> res.table.weighted_composite.item()
    20.0
    """
    mat, w, src = _prepare(scores, weights, weights_source, dimensions, score_kw)
    val = mat.to_numpy() @ w.to_numpy() / np.abs(w.to_numpy()).sum()
    return _result(mat.index, {"weighted_composite": val}, w, src)


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tie-corrected Spearman rho of each row of ``x`` with ``y`` (Pearson r of average ranks)."""
    rx = rankdata(x, axis=1, method="average")
    ry = rankdata(y, method="average")
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean()
    den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, rx @ ry / den, np.nan)


def rank_agreement(
    scores: pd.DataFrame,
    priorities,
    weights_source: str | None = None,
    *,
    dimensions: Sequence[str] | None = None,
    **score_kw,
) -> Composite:
    """Spearman rank agreement between each model's scores and a priority vector.

    ``rho`` is Spearman's correlation with ties given average ranks (the
    tie-corrected coefficient, identical to :func:`scipy.stats.spearmanr`);
    ``match = (rho + 1) / 2`` maps it to 0..1 (Value Compass, Yao, Yi et al.
    2025). Larger priorities mean more important.

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy or wide model x dimension scores.
    priorities : dict, Series or weights table
        Priority vector (ranks, ratings or centred scores; only its order matters).
    weights_source : str, optional
        Provenance; required unless ``priorities`` is a weights table.
    dimensions : sequence of str, optional
        Subset of the score table to compare on.
    **score_kw
        Column names for :func:`score_matrix`.

    Returns
    -------
    Composite
        ``table``: ``model, rho, match, n_dimensions, weights, weights_source``. A model
        whose scores are all equal gets NaN (with a warning).

    Raises
    ------
    ValueError
        Fewer than 3 dimensions, constant priorities (rho undefined), plus the
        checks of :func:`~vp_stats.stats.compass_weights.as_weights`.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "A": [1.0], "B": [2.0], "C": [3.0]})
    >>> rank_agreement(wide, {"A": 3, "B": 2, "C": 1}, "demo").table[["rho", "match"]]
       rho  match
    0 -1.0    0.0
    """
    mat, w, src = _prepare(scores, priorities, weights_source, dimensions, score_kw, "priorities")
    if len(w) < 3:
        raise ValueError(f"rank agreement needs at least 3 dimensions, got {len(w)}")
    if np.ptp(w.to_numpy()) == 0:
        raise ValueError(f"all priorities are equal ({src}): the rank correlation is undefined")
    rho = _spearman_rows(mat.to_numpy(), w.to_numpy())
    if np.isnan(rho).any():
        warnings.warn(
            f"models with constant scores get rho = NaN: {list(mat.index[np.isnan(rho)])}",
            UserWarning,
            stacklevel=2,
        )
    return _result(mat.index, {"rho": rho, "match": (rho + 1) / 2}, w, src)


def distance(
    scores: pd.DataFrame,
    target,
    weights_source: str | None = None,
    *,
    threshold: float = 0.3,
    dimensions: Sequence[str] | None = None,
    **score_kw,
) -> Composite:
    r"""Target distance :math:`\sum_k |t_k| \mathbf{1}[|s_k| > \theta] |s_k - t_k|` per model.

    Scores and target are on the -1..1 scale; a dimension counts only when the
    model's score is pronounced (:math:`|s_k| > \theta`, ``threshold``) and is weighted by how
    much the target cares about it (``|t_k|``). Lower is closer. Formula as
    given for Value Compass (Yao, Yi et al. 2025) in the vp-stats method notes.

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy or wide model x dimension scores on -1..1 (rescale 0-100 scores
        with ``s / 50 - 1`` first).
    target : dict, Series or weights table
        Target vector on -1..1.
    weights_source : str, optional
        Provenance of the target; required unless ``target`` is a weights table.
    threshold : float
        Indicator threshold on ``|s_k|`` (default 0.3), in [0, 1).
    dimensions : sequence of str, optional
        Subset of the score table to compare on.
    **score_kw
        Column names for :func:`score_matrix`.

    Returns
    -------
    Composite
        ``table``: ``model, distance, n_counted, n_dimensions, weights, weights_source``.

    Raises
    ------
    ValueError
        Scores or target outside -1..1, a threshold outside [0, 1), plus the
        checks of :func:`~vp_stats.stats.compass_weights.as_weights`.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "A": [0.8], "B": [0.1], "C": [-0.5]})
    >>> distance(wide, {"A": 1.0, "B": -1.0, "C": 0.5}, "demo").table[["distance", "n_counted"]]
       distance  n_counted
    0       0.7          2
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    mat, t, src = _prepare(scores, target, weights_source, dimensions, score_kw, "target")
    s, tv = mat.to_numpy(), t.to_numpy()
    if np.abs(tv).max() > 1:
        d = t.index[np.argmax(np.abs(tv))]
        raise ValueError(
            f"target for {d!r} is {_py(t[d])!r}: the target must lie on the -1..1 scale"
        )
    if np.abs(s).max() > 1:
        r, c = np.unravel_index(np.argmax(np.abs(s)), s.shape)
        raise ValueError(
            f"score of model {_py(mat.index[r])!r} on {mat.columns[c]!r} is {_py(s[r, c])!r}: "
            "distance needs scores on the -1..1 scale (rescale 0-100 scores with s / 50 - 1)"
        )
    on = np.abs(s) > threshold
    dist = (np.abs(tv) * on * np.abs(s - tv)).sum(axis=1)
    return _result(mat.index, {"distance": dist, "n_counted": on.sum(axis=1)}, t, src)


# --------------------------------------------------------------------------- matching


def match_models(
    person_answers: pd.DataFrame,
    model_profiles: pd.DataFrame,
    *,
    participant: object | None = None,
    family: str = "pvq",
    threshold: float = 0.3,
    scale: str = "maxabs",
    **pvq_kw,
) -> pd.DataFrame:
    """Rank models for one person by the weighted, rank-agreement and distance composites.

    The person's PVQ-21 answers are scored with MRAT centring
    (:func:`~vp_stats.stats.compass_weights.weights_from_pvq_answers`); each model's
    profile is its ``centered_mean`` per dimension. Three composites are computed:

    * ``weighted``: :func:`weighted_composite` of the model profile with the
      person's centred scores as weights (higher = better);
    * ``rank_agreement``: :func:`rank_agreement` ``match`` (higher = better);
    * ``distance``: :func:`distance` with the person's profile as target
      (lower = better). Both vectors are first brought to -1..1: with
      ``scale="maxabs"`` each is divided by its largest absolute value (a
      profile shape; the threshold then means "at least 30 % of the model's
      most pronounced value"), with ``scale="range"`` both are divided by 5, the
      width of the 1..6 answer scale.

    Caveat (also in the ``caveat`` column): Value Portrait model scores are
    centred profiles, like MRAT-centred PVQ scores; the composites compare
    patterns of relative priority, not absolute endorsement of any value.

    Parameters
    ----------
    person_answers : pandas.DataFrame
        PVQ-21 answers (long or wide) of one person (or pick with ``participant``).
    model_profiles : pandas.DataFrame
        Tidy ``model, family, dimension, centered_mean`` (vp-stats scoring output).
    participant : optional
        The participant to use if the answers hold several.
    family : {'pvq', 'higher_pvq'}
        Dimensions to compare on.
    threshold : float
        Distance threshold (see :func:`distance`).
    scale : {'maxabs', 'range'}
        Rescaling to -1..1 for the distance composite.
    **pvq_kw
        Passed to :func:`vp_stats.instruments.pvq.score_pvq21`.

    Returns
    -------
    pandas.DataFrame
        Long table ``composite, rank, model, value, higher_is_better,
        weights_source, caveat``, sorted by composite then rank (1 = best match;
        ties share the best rank).

    Examples
    --------
    >>> import pandas as pd
    >>> from vp_stats import schema
    >>> vals = list(schema.PVQ_VALUES)
    >>> prof = pd.DataFrame({"model": ["up"] * 10 + ["down"] * 10, "family": "pvq",
    ...                      "dimension": vals * 2,
    ...                      "centered_mean": [i / 10 for i in range(10)]
    ...                                       + [-i / 10 for i in range(10)]})
    >>> ans = pd.DataFrame({"participant": "me", "item": range(1, 22), "rating": 3})
    >>> ans.loc[ans.item.isin([3, 8, 19, 12, 18]), "rating"] = 6  # Universalism, Benevolence
    >>> match_models(ans, prof).groupby("composite")["model"].first().tolist()
    ['up', 'up', 'up']
    """
    if scale not in ("maxabs", "range"):
        raise ValueError(f"scale must be 'maxabs' or 'range', got {scale!r}")
    tables.require(
        model_profiles,
        ["model", "family", "dimension"],
        "model_profiles",
        numeric=["centered_mean"],
    )
    prof = model_profiles[model_profiles["family"] == family]
    if prof.empty:
        raise ValueError(f"model_profiles holds no {family!r} rows")
    mat = score_matrix(prof, model="model", score="centered_mean", complete=True)
    w = weights_from_pvq_answers(person_answers, participant, family=family, **pvq_kw)
    src = w["weights_source"].iloc[0]
    wc = weighted_composite(mat, w).table
    ra = rank_agreement(mat, w).table
    tv = w.set_index("dimension")["weight"]
    if scale == "maxabs":
        if np.abs(tv).max() == 0:
            raise ValueError("the person's centred profile is all zero: no priorities to match")
        t_scaled = tv / np.abs(tv).max()
        denom = np.abs(mat).max(axis=1).replace(0, 1.0)
        m_scaled = mat.div(denom, axis=0)
    else:
        t_scaled, m_scaled = tv / 5.0, mat / 5.0
    di = distance(
        m_scaled, t_scaled, f"{src}; scaled to -1..1 by {scale}", threshold=threshold
    ).table
    parts = [
        ("weighted", wc["model"], wc["weighted_composite"], True, src),
        ("rank_agreement", ra["model"], ra["match"], True, src),
        ("distance", di["model"], di["distance"], False, di["weights_source"].iloc[0]),
    ]
    frames = []
    for name, models, values, hib, s in parts:
        v = pd.Series(values.to_numpy(), index=models.to_numpy())
        rank = v.rank(ascending=not hib, method="min")
        frames.append(
            pd.DataFrame(
                {
                    "composite": name,
                    "rank": rank.to_numpy(),
                    "model": v.index,
                    "value": v.to_numpy(),
                    "higher_is_better": hib,
                    "weights_source": s,
                    "caveat": CENTRED_PROFILE_CAVEAT,
                }
            ).sort_values(["rank", "model"], kind="stable")
        )
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out["rank"].astype("Int64")
    return out
