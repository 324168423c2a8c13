"""Value Compass composites: pluralistic alignment scores over a model x dimension table.

Value Compass (Yao, Yi et al., "Value Compass Leaderboard", arXiv 2501.07071,
ACL 2025 demo) scores models on value dimensions (Schwartz's ten basic values
and others, 0-100) and relates a model to a person or a culture through a
composite over the dimensions, weighted by that person's or culture's value
priorities. This module implements the composites as explicit, documented
functions over any tidy score table (``model, dimension, score``) or a wide one
(one row per model, one column per dimension):

* :func:`selected_mean` - plain mean over a chosen set of dimensions (the
  leaderboard score);
* :func:`weighted_composite` - ``sum_k w_k s_k / sum_k |w_k|``;
* :func:`rank_agreement` - tie-corrected Spearman ``rho`` between a model's
  scores and a priority vector, ``match = (rho + 1) / 2``;
* :func:`distance` - ``sum_k |t_k| 1[|s_k| > thr] |s_k - t_k|`` for a target
  ``t`` on the -1..1 scale.

Every composite returns a DataFrame that carries the weights it used (a
``weights`` string column and ``DataFrame.attrs["weights"]``) and their
provenance (a ``weights_source`` string column). Priority vectors come from
:func:`weights_from_participants`, :func:`weights_from_pvq_answers`,
:func:`weights_from_ranks` or :func:`as_weights`. Mismatched dimension sets,
NaN weights and all-zero weights are refused.

Culture vectors: vp-stats ships none. No country priority table whose numbers
could be verified against a documented public source (with citation and
licence) was available when this module was written, and invented numbers
would be worse than none. Build culture vectors from survey microdata you are
licensed to use (e.g. ESS Human Values Scale answers scored with
:func:`vp_stats.instruments.pvq.score_pvq21` and averaged per country with
:func:`weights_from_participants` ``(group_col="country")``).

:func:`match_models` ranks models for one person by all three composites.

References
----------
Yao, J., Yi, X., et al. (2025). Value Compass Leaderboard: A platform for
fundamental and validated evaluation of LLMs values. arXiv 2501.07071.
Spearman, C. (1904); tie correction by average ranks as in
:func:`scipy.stats.spearmanr`.

Examples
--------
>>> import pandas as pd
>>> from vp_stats import compass
>>> scores = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"],
...                        "dimension": ["Power", "Benevolence"] * 2,
...                        "score": [20.0, 80.0, 60.0, 40.0]})
>>> compass.weighted_composite(scores, {"Power": 1, "Benevolence": 3},
...                            weights_source="example")[["model", "weighted_composite"]]
  model  weighted_composite
0    m1                65.0
1    m2                45.0
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from vp_stats import schema

__all__ = [
    "score_matrix",
    "as_weights",
    "selected_mean",
    "weighted_composite",
    "rank_agreement",
    "distance",
    "weights_from_participants",
    "weights_from_pvq_answers",
    "weights_from_ranks",
    "match_models",
    "CENTRED_PROFILE_CAVEAT",
]

#: Caveat attached to every :func:`match_models` row.
CENTRED_PROFILE_CAVEAT = (
    "Value Portrait model scores are centred profiles (each model's answers minus its own mean), "
    "like MRAT-centred PVQ scores: composites compare the pattern of relative priorities, "
    "not absolute endorsement of any value."
)


# --------------------------------------------------------------------------- inputs


def score_matrix(
    scores: pd.DataFrame,
    *,
    model_col: str = "model",
    dimension_col: str = "dimension",
    score_col: str = "score",
) -> pd.DataFrame:
    """Validate a model x dimension score table and return it wide (models x dimensions).

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy (``model_col``, ``dimension_col``, ``score_col``; other columns are
        ignored) or wide (``model_col`` or the index naming models, every other
        column a dimension).
    model_col, dimension_col, score_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Float matrix, index ``model``, columns the dimensions (input order).

    Raises
    ------
    ValueError
        Duplicate (model, dimension) pairs, missing or non-finite scores (naming
        model and dimension), an empty table.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["a", "b"], "Power": [1.0, 2.0], "Security": [3.0, 4.0]})
    >>> score_matrix(wide)  # doctest: +NORMALIZE_WHITESPACE
    dimension  Power  Security
    model
    a            1.0       3.0
    b            2.0       4.0
    """
    if not isinstance(scores, pd.DataFrame) or scores.empty:
        raise ValueError("scores must be a non-empty pandas DataFrame")
    if dimension_col in scores.columns and score_col in scores.columns:
        if model_col not in scores.columns:
            raise ValueError(
                f"tidy scores need a {model_col!r} column (columns: {list(scores.columns)})"
            )
        dup = scores.duplicated([model_col, dimension_col], keep=False)
        if dup.any():
            r = scores.loc[dup].iloc[0]
            raise ValueError(
                f"duplicate scores for model {_py(r[model_col])!r}, dimension {_py(r[dimension_col])!r}; "
                "filter the table to one family / one score per model and dimension"
            )
        mat = scores.pivot(index=model_col, columns=dimension_col, values=score_col)
        mat = mat.reindex(
            index=pd.unique(scores[model_col]), columns=pd.unique(scores[dimension_col])
        )
    else:
        mat = scores.set_index(model_col) if model_col in scores.columns else scores.copy()
    mat.index.name, mat.columns.name = "model", "dimension"
    if mat.index.duplicated().any():
        raise ValueError(f"duplicate model rows: {list(mat.index[mat.index.duplicated()][:5])}")
    try:
        mat = mat.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be numeric: {exc}") from exc
    bad = ~np.isfinite(mat.to_numpy())
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"missing or non-finite score for model {_py(mat.index[r])!r}, dimension {_py(mat.columns[c])!r} "
            f"({int(bad.sum())} in total); composites need every dimension scored"
        )
    return mat


def as_weights(
    weights: Mapping[str, float] | pd.Series | pd.DataFrame,
    weights_source: str | None = None,
    *,
    group: object | None = None,
) -> pd.DataFrame:
    """Normalise a priority vector to a weights table ``dimension, weight, weights_source``.

    Parameters
    ----------
    weights : dict, pandas.Series or pandas.DataFrame
        ``{dimension: weight}``, a Series indexed by dimension, or a table with
        ``dimension`` and ``weight`` columns (and optionally ``weights_source``
        and ``group``), e.g. the output of a ``weights_from_*`` function.
    weights_source : str, optional
        Provenance. Required for dicts and Series (say where the numbers come
        from); for tables it overrides their ``weights_source`` column.
    group : optional
        Select one group of a table with a ``group`` column.

    Raises
    ------
    ValueError
        No provenance, duplicate dimensions, NaN / infinite weights, all-zero
        weights, a table holding several groups without ``group=``.

    Examples
    --------
    >>> as_weights({"Power": 1, "Security": 2}, "my ranking")
      dimension  weight weights_source
    0     Power     1.0     my ranking
    1  Security     2.0     my ranking
    """
    if isinstance(weights, pd.DataFrame):
        tab = weights
        if "group" in tab.columns:
            groups = pd.unique(tab["group"])
            if group is None and len(groups) > 1:
                raise ValueError(
                    f"the weights table holds {len(groups)} groups ({list(groups[:5])}...); "
                    "pass group= to choose one priority vector"
                )
            if group is not None:
                if group not in set(groups):
                    raise ValueError(
                        f"group {group!r} not in the weights table (groups: {list(groups)})"
                    )
                tab = tab[tab["group"] == group]
        elif group is not None:
            raise ValueError("group= given but the weights table has no 'group' column")
        missing = {"dimension", "weight"} - set(tab.columns)
        if missing:
            raise ValueError(
                f"a weights table needs columns 'dimension' and 'weight' (missing {sorted(missing)})"
            )
        if weights_source is None:
            srcs = pd.unique(tab["weights_source"]) if "weights_source" in tab.columns else []
            if len(srcs) != 1:
                raise ValueError(
                    "weights table without a single weights_source: pass weights_source="
                )
            weights_source = str(srcs[0])
        dims, vals = tab["dimension"].tolist(), tab["weight"].tolist()
    elif isinstance(weights, (pd.Series, Mapping)):
        ser = pd.Series(weights) if not isinstance(weights, pd.Series) else weights
        if weights_source is None:
            raise ValueError(
                "weights_source is required for a dict or Series of weights: say where the numbers "
                "come from (e.g. 'user ranking 2025-01-01' or a survey citation)"
            )
        dims, vals = list(ser.index), list(ser.to_numpy())
    else:
        raise TypeError(
            f"weights must be a dict, Series or DataFrame, got {type(weights).__name__}"
        )
    if not str(weights_source).strip():
        raise ValueError(
            "weights_source must be a non-empty description of where the weights come from"
        )
    if len(dims) == 0:
        raise ValueError("empty weight vector")
    if len(set(dims)) != len(dims):
        d = pd.Series(dims)
        raise ValueError(f"duplicate dimensions in weights: {sorted(set(d[d.duplicated()]))}")
    try:
        w = np.asarray(vals, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be numeric: {exc}") from exc
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(
            f"NaN or infinite weight for dimension(s) {[dims[i] for i in np.flatnonzero(bad)]} "
            f"({weights_source}); drop the dimension or supply a number"
        )
    if not np.any(w != 0):
        raise ValueError(f"all weights are zero ({weights_source}): the composite is undefined")
    return pd.DataFrame({"dimension": dims, "weight": w, "weights_source": str(weights_source)})


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
                f"mismatched dimension sets: the {what} cover {sorted(set(dims) - set(dimensions))} "
                f"beyond the selected dimensions and miss {sorted(set(dimensions) - set(dims))}"
            )
        return dimensions
    if set(dims) != set(have):
        raise ValueError(
            f"mismatched dimension sets: scores only {sorted(set(have) - set(dims))}, "
            f"{what} only {sorted(set(dims) - set(have))}; pass dimensions= to compare on a subset "
            "of the score table (the weights must then cover exactly that subset)"
        )
    return list(dims)


def _result(models, cols: dict, w: pd.Series, source: str) -> pd.DataFrame:
    out = pd.DataFrame({"model": list(models), **cols})
    out["n_dimensions"] = len(w)
    out["weights"] = _fmt_weights(w)
    out["weights_source"] = source
    out.attrs["weights"] = w.copy()
    return out


def _prepare(scores, weights, weights_source, dimensions, score_kw, what="weights"):
    mat = score_matrix(scores, **score_kw)
    wt = as_weights(weights, weights_source)
    dims = _align(mat, wt["dimension"].tolist(), dimensions, what)
    w = wt.set_index("dimension")["weight"].reindex(dims)
    return mat[dims], w, wt["weights_source"].iloc[0]


# --------------------------------------------------------------------------- composites


def selected_mean(
    scores: pd.DataFrame,
    dimensions: Sequence[str] | None = None,
    **score_kw,
) -> pd.DataFrame:
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
        ``model_col``, ``dimension_col``, ``score_col`` for :func:`score_matrix`.

    Returns
    -------
    pandas.DataFrame
        ``model, selected_mean, n_dimensions, weights, weights_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "Power": [20.0], "Security": [60.0], "Hedonism": [10.0]})
    >>> selected_mean(wide, ["Power", "Security"])[["model", "selected_mean", "n_dimensions"]]
      model  selected_mean  n_dimensions
    0     m           40.0             2
    """
    mat = score_matrix(scores, **score_kw)
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
) -> pd.DataFrame:
    """Priority-weighted composite ``sum_k w_k s_k / sum_k |w_k|`` per model.

    Dividing by ``sum |w|`` keeps the composite on the score scale when all
    weights are positive, and lets negative priorities (e.g. centred PVQ
    scores) count against a dimension (Value Compass, Yao, Yi et al. 2025).

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy or wide model x dimension scores.
    weights : dict, Series or weights table
        Priority vector (see :func:`as_weights`).
    weights_source : str, optional
        Provenance; required unless ``weights`` is a weights table.
    dimensions : sequence of str, optional
        Compare on this subset of the score table; the weights must cover it
        exactly. By default the weights must cover exactly the table's dimensions.
    **score_kw
        Column names for :func:`score_matrix`.

    Returns
    -------
    pandas.DataFrame
        ``model, weighted_composite, n_dimensions, weights, weights_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "Power": [20.0], "Security": [60.0]})
    >>> weighted_composite(wide, {"Power": -1, "Security": 1}, "demo")["weighted_composite"].item()
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
) -> pd.DataFrame:
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
    pandas.DataFrame
        ``model, rho, match, n_dimensions, weights, weights_source``. A model
        whose scores are all equal gets NaN (with a warning).

    Raises
    ------
    ValueError
        Fewer than 3 dimensions, constant priorities (rho undefined), plus the
        checks of :func:`as_weights`.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "A": [1.0], "B": [2.0], "C": [3.0]})
    >>> rank_agreement(wide, {"A": 3, "B": 2, "C": 1}, "demo")[["rho", "match"]]
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
) -> pd.DataFrame:
    """Target distance ``sum_k |t_k| 1[|s_k| > threshold] |s_k - t_k|`` per model.

    Scores and target are on the -1..1 scale; a dimension counts only when the
    model's score is pronounced (``|s_k| > threshold``) and is weighted by how
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
    pandas.DataFrame
        ``model, distance, n_counted, n_dimensions, weights, weights_source``.

    Raises
    ------
    ValueError
        Scores or target outside -1..1, a threshold outside [0, 1), plus the
        checks of :func:`as_weights`.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"model": ["m"], "A": [0.8], "B": [0.1], "C": [-0.5]})
    >>> distance(wide, {"A": 1.0, "B": -1.0, "C": 0.5}, "demo")[["distance", "n_counted"]]
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
            f"score of model {_py(mat.index[r])!r} on {mat.columns[c]!r} is {_py(s[r, c])!r}: distance needs "
            "scores on the -1..1 scale (rescale 0-100 scores with s / 50 - 1)"
        )
    on = np.abs(s) > threshold
    dist = (np.abs(tv) * on * np.abs(s - tv)).sum(axis=1)
    return _result(mat.index, {"distance": dist, "n_counted": on.sum(axis=1)}, t, src)


# --------------------------------------------------------------------------- weights with provenance


def weights_from_participants(
    scores: pd.DataFrame,
    group_col: str | None = None,
    *,
    family: str = "pvq",
    participant_col: str | None = None,
    source: str = "participant table",
) -> pd.DataFrame:
    """Mean centred PVQ profile of a participant table, overall or per group.

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy participant scores with columns ``participant`` (or
        ``respondent``), ``family``, ``dimension``, ``score`` (the output of
        :func:`vp_stats.datasets.load_participant_scores` or
        :func:`vp_stats.instruments.pvq.score_pvq21`), plus ``group_col``.
    group_col : str, optional
        Column defining the groups (e.g. country); one vector per group.
    family : str
        Family to average (``pvq`` or ``higher_pvq``).
    participant_col : str, optional
        Participant id column; default ``participant`` or ``respondent``.
    source : str
        Name of the data set, written into ``weights_source``.

    Returns
    -------
    pandas.DataFrame
        ``[group,] dimension, weight, n_participants, weights_source`` with
        dimensions in schema order. NaN scores are skipped per dimension; a
        group with a dimension nobody scored is refused.

    Examples
    --------
    >>> import pandas as pd
    >>> from vp_stats import schema
    >>> tab = pd.DataFrame({"participant": ["a"] * 10 + ["b"] * 10, "family": "pvq",
    ...                     "dimension": list(schema.PVQ_VALUES) * 2,
    ...                     "score": [0.0] * 10 + [1.0] * 10, "country": ["X"] * 10 + ["Y"] * 10})
    >>> weights_from_participants(tab)[["dimension", "weight", "n_participants"]].head(2)
            dimension  weight  n_participants
    0  Self_Direction     0.5               2
    1     Stimulation     0.5               2
    >>> w = weights_from_participants(tab, "country", source="demo")
    >>> w.groupby("group")["weight"].mean().tolist()
    [0.0, 1.0]
    >>> w["weights_source"].iloc[-1]
    'mean centred pvq profile of 1 participant(s) (demo, country = Y)'
    """
    if participant_col is None:
        participant_col = next(
            (c for c in ("participant", "respondent") if c in scores.columns), None
        )
        if participant_col is None:
            raise ValueError(
                "scores need a 'participant' or 'respondent' column (or pass participant_col=)"
            )
    need = {participant_col, "dimension", "score"} | ({group_col} if group_col else set())
    missing = need - set(scores.columns)
    if missing:
        raise ValueError(f"participant scores lack columns {sorted(missing)}")
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(schema.FAMILIES)}")
    sub = scores[scores["family"] == family] if "family" in scores.columns else scores
    sub = sub[sub["dimension"].isin(schema.FAMILIES[family])]
    if sub.empty:
        raise ValueError(f"no {family} scores in the participant table")
    sub = sub[sub["score"].notna()]
    keys = [group_col] if group_col else []
    if sub.duplicated([*keys, participant_col, "dimension"]).any():
        raise ValueError("duplicate (participant, dimension) scores in the participant table")
    dims = list(schema.FAMILIES[family])
    frames = []
    for key, g in sub.groupby(keys, sort=False) if keys else [((None,), sub)]:
        key = key[0] if isinstance(key, tuple) else key
        mean = g.groupby("dimension")["score"].mean()
        lacking = [d for d in dims if d not in mean.index]
        if lacking:
            where = f"group {group_col} = {key!r}: " if keys else ""
            raise ValueError(f"{where}no scores for dimension(s) {lacking}")
        n = g[participant_col].nunique()
        label = f"mean centred {family} profile of {n} participant(s) ({source}"
        label += f", {group_col} = {key})" if keys else ")"
        frame = pd.DataFrame(
            {
                "dimension": dims,
                "weight": mean.reindex(dims).to_numpy(),
                "n_participants": g.groupby("dimension")[participant_col]
                .nunique()
                .reindex(dims)
                .to_numpy(),
                "weights_source": label,
            }
        )
        if keys:
            frame.insert(0, "group", key)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def weights_from_pvq_answers(
    answers: pd.DataFrame,
    respondent: object | None = None,
    *,
    family: str = "pvq",
    **pvq_kw,
) -> pd.DataFrame:
    """A person's PVQ-21 answers as a priority vector (MRAT-centred value scores).

    The answers are scored with :func:`vp_stats.instruments.pvq.score_pvq21`
    (``centre=True``), so weights are the person's value priorities relative
    to their own mean (Schwartz 2003).

    Parameters
    ----------
    answers : pandas.DataFrame
        Long or wide PVQ-21 answers (see :func:`~vp_stats.instruments.pvq.score_pvq21`).
    respondent : optional
        Which respondent to use when the table holds several.
    family : {'pvq', 'higher_pvq'}
        Basic or higher-order values.
    **pvq_kw
        Passed to ``score_pvq21`` (e.g. ``ess_coding=True``).

    Returns
    -------
    pandas.DataFrame
        ``dimension, weight, weights_source``.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"respondent": "me", "item": range(1, 22), "answer": [6] + [3] * 20})
    >>> w = weights_from_pvq_answers(long)
    >>> round(w.loc[w.dimension == "Self_Direction", "weight"].item(), 4)  # 4.5 - 66/21
    1.3571
    """
    from vp_stats.instruments.pvq import score_pvq21

    if family not in ("pvq", "higher_pvq"):
        raise ValueError(f"family must be 'pvq' or 'higher_pvq', got {family!r}")
    pvq_kw.pop("centre", None)
    out = score_pvq21(answers, centre=True, **pvq_kw)
    people = pd.unique(out["respondent"])
    if respondent is None:
        if len(people) != 1:
            raise ValueError(
                f"answers hold {len(people)} respondents; pass respondent= to choose one"
            )
        respondent = people[0]
    elif respondent not in set(people):
        raise ValueError(f"respondent {respondent!r} not in the answers")
    sub = out[(out["respondent"] == respondent) & (out["family"] == family)]
    if sub["score"].isna().any():
        raise ValueError(
            f"respondent {respondent!r} has unscored values "
            f"{sub.loc[sub.score.isna(), 'dimension'].tolist()} (missing answers)"
        )
    return pd.DataFrame(
        {
            "dimension": sub["dimension"].to_numpy(),
            "weight": sub["score"].to_numpy(),
            "weights_source": f"PVQ-21 answers of respondent {respondent!r}, MRAT-centred {family} scores",
        }
    )


def weights_from_ranks(
    ranks: Mapping[str, float] | pd.Series,
    *,
    top: str,
    source: str,
) -> pd.DataFrame:
    """A priority vector from ranks, oriented so that a larger weight means more important.

    Parameters
    ----------
    ranks : dict or pandas.Series
        ``{dimension: rank}``; ties allowed.
    top : {'highest', 'lowest'}
        Which end marks the top priority: ``'lowest'`` when rank 1 is the most
        important (the usual convention; weights become ``max + min - rank``),
        ``'highest'`` when the largest number is the most important (weights =
        ranks).
    source : str
        Where the ranks come from (written into ``weights_source``).

    Returns
    -------
    pandas.DataFrame
        ``dimension, rank, weight, weights_source``.

    Examples
    --------
    >>> w = weights_from_ranks({"Power": 1, "Security": 2, "Hedonism": 3}, top="lowest", source="me")
    >>> w[["dimension", "rank", "weight"]]
      dimension  rank  weight
    0     Power   1.0     3.0
    1  Security   2.0     2.0
    2  Hedonism   3.0     1.0
    >>> w["weights_source"][0]
    'ranks from me (rank 1 = lowest number = top priority)'
    """
    if top not in ("highest", "lowest"):
        raise ValueError(f"top must be 'highest' or 'lowest', got {top!r}")
    base = as_weights(ranks, f"ranks from {source}")
    r = base["weight"].to_numpy()
    w = r if top == "highest" else r.max() + r.min() - r
    note = (
        "largest number = top priority"
        if top == "highest"
        else "rank 1 = lowest number = top priority"
    )
    out = pd.DataFrame({"dimension": base["dimension"], "rank": r, "weight": w.astype(float)})
    out["weights_source"] = f"ranks from {source} ({note})"
    as_weights(out)  # refuses an all-zero result
    return out


# --------------------------------------------------------------------------- matching


def match_models(
    person_answers: pd.DataFrame,
    model_profiles: pd.DataFrame,
    *,
    respondent: object | None = None,
    family: str = "pvq",
    threshold: float = 0.3,
    scale: str = "maxabs",
    **pvq_kw,
) -> pd.DataFrame:
    """Rank models for one person by the weighted, rank-agreement and distance composites.

    The person's PVQ-21 answers are scored with MRAT centring
    (:func:`weights_from_pvq_answers`); each model's profile is its
    ``centered_mean`` per dimension. Three composites are computed:

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
        PVQ-21 answers (long or wide) of one person (or pick with ``respondent``).
    model_profiles : pandas.DataFrame
        Tidy ``model, family, dimension, centered_mean`` (vp-stats scoring output).
    respondent : optional
        Respondent to use if the answers hold several.
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
    ...                      "centered_mean": [i / 10 for i in range(10)] + [-i / 10 for i in range(10)]})
    >>> ans = pd.DataFrame({"respondent": "me", "item": range(1, 22), "answer": 3})
    >>> ans.loc[ans.item.isin([3, 8, 19, 12, 18]), "answer"] = 6  # Universalism, Benevolence
    >>> match_models(ans, prof).groupby("composite")["model"].first().tolist()
    ['up', 'up', 'up']
    """
    if scale not in ("maxabs", "range"):
        raise ValueError(f"scale must be 'maxabs' or 'range', got {scale!r}")
    need = {"model", "family", "dimension", "centered_mean"}
    missing = need - set(model_profiles.columns)
    if missing:
        raise ValueError(
            f"model_profiles lacks columns {sorted(missing)} (expected {sorted(need)})"
        )
    prof = model_profiles[model_profiles["family"] == family]
    if prof.empty:
        raise ValueError(f"model_profiles holds no {family!r} rows")
    mat = score_matrix(prof, score_col="centered_mean")
    w = weights_from_pvq_answers(person_answers, respondent, family=family, **pvq_kw)
    src = w["weights_source"].iloc[0]
    wc = weighted_composite(mat, w)
    ra = rank_agreement(mat, w)
    tv = w.set_index("dimension")["weight"]
    if scale == "maxabs":
        if np.abs(tv).max() == 0:
            raise ValueError("the person's centred profile is all zero: no priorities to match")
        t_scaled = tv / np.abs(tv).max()
        denom = np.abs(mat).max(axis=1).replace(0, 1.0)
        m_scaled = mat.div(denom, axis=0)
    else:
        t_scaled, m_scaled = tv / 5.0, mat / 5.0
    di = distance(m_scaled, t_scaled, f"{src}; scaled to -1..1 by {scale}", threshold=threshold)
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
