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
    "released_profiles",
    "read_pvq_answers_file",
    "read_weights_file",
    "match_file",
    "score_file",
    "composite_table",
    "participant_groups",
    "weight_sensitivity",
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


# --------------------------------------------------------------------------- files (CLI) and studies


def released_profiles(family: str = "pvq", data_dir=None) -> pd.DataFrame:
    """Centred value profiles of the 34 released Value Portrait models (one family).

    :func:`vp_stats.scoring.score_released_models` (published correlations,
    ``rho > 0.3``, no bootstrap), filtered to ``family``.

    Examples
    --------
    >>> p = released_profiles()
    >>> p.model.nunique(), p.dimension.nunique()
    (34, 10)
    """
    from vp_stats.scoring import score_released_models

    prof = score_released_models(data_dir=data_dir, n_boot=0)
    return prof[prof["family"] == family].reset_index(drop=True)


def _read_csv(path) -> tuple[object, pd.DataFrame]:
    from pathlib import Path

    from vp_stats.datasets import DataFormatError

    file = Path(path)
    if not file.is_file():
        raise DataFormatError(file, None, None, "file not found")
    try:
        df = pd.read_csv(file, dtype=str, skipinitialspace=True, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(file, None, None, f"not a readable CSV file: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataFormatError(file, None, None, "no data rows")
    return file, df


def _where(i: int) -> str:
    return f"data row {i + 1} (line {i + 2})"


def read_pvq_answers_file(path, *, ess_coding: bool = False) -> pd.DataFrame:
    """Read one person's PVQ-21 answers from a CSV file, checked, as a long table.

    Two layouts: long, columns ``item,answer`` (one row per item 1..21, an
    optional ``respondent`` column with one value), or wide, one data row with
    21 item columns (``1..21``, ``item1..item21``, ``q1..`` or the ESS variable
    names ``ipcrtiv .. impfun``; an optional ``respondent`` column). Answers
    are integers 1..6 (1 = not like me at all ... 6 = very much like me; with
    ``ess_coding=True`` the ESS order, 1 = very much like me, reversed later
    by the scorer). All 21 answers are required: a missing one is an error.

    Returns
    -------
    pandas.DataFrame
        ``respondent, item, answer`` (21 rows, items 1..21).

    Raises
    ------
    vp_stats.datasets.DataFormatError
        (a ``ValueError``) naming file, data row and field.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "me.csv")
    >>> with open(p, "w") as fh:
    ...     _ = fh.write("item,answer\\n" + "".join(f"{i},{3 + (i == 1)}\\n" for i in range(1, 22)))
    >>> read_pvq_answers_file(p).head(2)
      respondent  item  answer
    0         me     1       4
    1         me     2       3
    """
    from vp_stats.datasets import DataFormatError
    from vp_stats.instruments.pvq import _label_to_item

    file, df = _read_csv(path)
    n = schema.PVQ21_N_ITEMS
    aliases = {v.lower(): i + 1 for i, v in enumerate(schema.ESS_HVS_VARIABLES)}
    lower = {c.lower(): c for c in df.columns}
    resp_col = lower.get("respondent")
    if "item" in lower and "answer" in lower:
        extra = set(df.columns) - {lower["item"], lower["answer"]} - ({resp_col} - {None})
        if extra:
            raise DataFormatError(
                file, None, sorted(extra)[0],
                f"unexpected column(s) {sorted(extra)}; a long PVQ-21 file has columns item,answer "
                "(and optionally respondent)",
            )  # fmt: skip
        if resp_col is not None and df[resp_col].nunique(dropna=False) > 1:
            raise DataFormatError(
                file, None, resp_col,
                f"the file holds several respondents {list(pd.unique(df[resp_col]))[:5]}; "
                "give one person's answers",
            )  # fmt: skip
        items, answers = [], []
        for i, (it, ans) in enumerate(zip(df[lower["item"]], df[lower["answer"]], strict=True)):
            k = _label_to_item(it, n, aliases) if isinstance(it, str) else None
            if k is None:
                raise DataFormatError(
                    file, _where(i), "item", f"unknown item {it!r} (items are 1..{n})"
                )
            items.append(k)
            answers.append((i, "answer", ans))
        seen: dict[int, int] = {}
        for i, k in enumerate(items):
            if k in seen:
                raise DataFormatError(
                    file, _where(i), "item", f"item {k} given twice (also in {_where(seen[k])})"
                )
            seen[k] = i
        missing = sorted(set(range(1, n + 1)) - set(items))
        if missing:
            raise DataFormatError(
                file, None, "item", f"missing answers for item(s) {missing}: all 21 are needed"
            )
        who = str(df[resp_col].iloc[0]) if resp_col is not None else "me"
    else:
        if len(df) != 1:
            raise DataFormatError(
                file, None, None,
                f"{len(df)} data rows: a wide PVQ-21 file holds one person's answers in one row "
                "(or use the long layout with columns item,answer)",
            )  # fmt: skip
        cols = [c for c in df.columns if c != resp_col]
        mapped = {}
        for c in cols:
            k = _label_to_item(c, n, aliases)
            if k is None:
                raise DataFormatError(
                    file, None, c,
                    f"unknown column {c!r}: expected item columns 1..{n} (or item1.., or the ESS "
                    "names), or a long file with columns item,answer",
                )  # fmt: skip
            if k in mapped.values():
                raise DataFormatError(file, None, c, f"item {k} appears in two columns")
            mapped[c] = k
        missing = sorted(set(range(1, n + 1)) - set(mapped.values()))
        if missing:
            raise DataFormatError(
                file, None, None, f"missing item column(s) {missing}: all 21 answers are needed"
            )
        items = [mapped[c] for c in cols]
        answers = [(0, c, df[c].iloc[0]) for c in cols]
        who = str(df[resp_col].iloc[0]) if resp_col is not None else "me"
    vals = []
    for row, field, raw in answers:
        txt = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
        try:
            x = float(txt)
        except ValueError:
            x = np.nan
        if not txt or not np.isfinite(x) or x != round(x) or not 1 <= x <= 6:
            raise DataFormatError(
                file, _where(row), field,
                f"answer {txt!r} is not an integer 1..6" + (" (missing)" if not txt else ""),
            )  # fmt: skip
        vals.append(int(x))
    out = pd.DataFrame({"respondent": who, "item": items, "answer": vals})
    out = out.sort_values("item").reset_index(drop=True)
    out.attrs["ess_coding"] = ess_coding
    return out


def read_weights_file(path, dimensions: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a ``dimension,weight`` CSV (one row per dimension), checked.

    Dimension names are matched to ``dimensions`` (default: every vp-stats
    dimension) case-insensitively, with spaces or hyphens for underscores
    (``self-direction`` -> ``Self_Direction``).

    Returns
    -------
    pandas.DataFrame
        ``dimension, weight, weights_source`` (source: the file name).

    Raises
    ------
    vp_stats.datasets.DataFormatError
        Missing file or column, unknown or duplicate dimension, a non-numeric
        or non-finite weight (naming file, data row and field), all weights 0.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "w.csv")
    >>> with open(p, "w") as fh:
    ...     _ = fh.write("dimension,weight\\nself-direction,2\\nPower,-1\\n")
    >>> read_weights_file(p)[["dimension", "weight"]]
            dimension  weight
    0  Self_Direction     2.0
    1           Power    -1.0
    """
    from vp_stats.datasets import DataFormatError

    file, df = _read_csv(path)
    lower = {c.lower(): c for c in df.columns}
    for need in ("dimension", "weight"):
        if need not in lower:
            raise DataFormatError(
                file, None, need,
                f"missing column {need!r}; a weights file has columns dimension,weight "
                f"(found {list(df.columns)})",
            )  # fmt: skip
    known = (
        list(dimensions)
        if dimensions is not None
        else [d for dims in schema.FAMILIES.values() for d in dims]
    )
    norm = {d.lower().replace("-", "_").replace(" ", "_"): d for d in known}
    dims, ws, rows = [], [], {}
    for i, (d, w) in enumerate(zip(df[lower["dimension"]], df[lower["weight"]], strict=True)):
        key = (
            "" if not isinstance(d, str) else d.strip().lower().replace("-", "_").replace(" ", "_")
        )
        if key not in norm:
            raise DataFormatError(
                file, _where(i), "dimension", f"unknown dimension {d!r}; known: {', '.join(known)}"
            )
        name = norm[key]
        if name in rows:
            raise DataFormatError(
                file, _where(i), "dimension", f"{name} given twice (also in {_where(rows[name])})"
            )
        rows[name] = i
        try:
            x = float(str(w).strip())
        except ValueError:
            x = np.nan
        if not np.isfinite(x):
            raise DataFormatError(
                file, _where(i), "weight", f"weight {w!r} for {name} is not a finite number"
            )
        dims.append(name)
        ws.append(x)
    if not any(ws):
        raise DataFormatError(file, None, "weight", "all weights are zero: no priorities")
    fams = {schema.family_of(d) for d in dims}
    if len(fams) > 1:
        raise DataFormatError(
            file, None, "dimension",
            f"dimensions from several families {sorted(fams)}: weight one family at a time",
        )  # fmt: skip
    return pd.DataFrame(
        {"dimension": dims, "weight": ws, "weights_source": f"weights file {file.name}"}
    )


def _profiles_for(profiles: pd.DataFrame | None, family: str) -> pd.DataFrame:
    if profiles is None:
        return released_profiles(family)
    need = {"model", "family", "dimension", "centered_mean"} - set(profiles.columns)
    if need:
        raise ValueError(f"profiles lack columns {sorted(need)} (expected vp-stats scoring output)")
    out = profiles[profiles["family"] == family]
    if out.empty:
        raise ValueError(f"profiles hold no {family!r} rows")
    return out


def match_file(
    answers_path,
    profiles: pd.DataFrame | None = None,
    *,
    family: str = "pvq",
    threshold: float = 0.3,
    scale: str = "maxabs",
    ess_coding: bool = False,
) -> pd.DataFrame:
    """``vp-stats compass match``: rank models for the person whose PVQ-21 answers are in a file.

    Reads the answers (:func:`read_pvq_answers_file`), scores them
    (MRAT-centred) and ranks the models by the three composites of
    :func:`match_models` (weighted composite, rank agreement, distance).

    Parameters
    ----------
    answers_path : path-like
        CSV ``item,answer`` (21 rows) or one-row wide (21 item columns).
    profiles : DataFrame, optional
        ``model, family, dimension, centered_mean``; default the 34 released
        models (:func:`released_profiles`).
    family, threshold, scale, ess_coding
        See :func:`match_models` and :func:`read_pvq_answers_file`.

    Returns
    -------
    pandas.DataFrame
        One row per model, sorted by ``weighted_rank``: ``model, weighted,
        weighted_rank, rank_agreement, rank_agreement_rank, distance,
        distance_rank`` (rank 1 = best match; for distance lower is better).
        ``attrs`` hold ``weights_source`` and ``caveat`` (centred profiles).
    """
    ans = read_pvq_answers_file(answers_path, ess_coding=ess_coding)
    prof = _profiles_for(profiles, family)
    long = match_models(
        ans, prof, family=family, threshold=threshold, scale=scale, ess_coding=ess_coding
    )
    wide = long.pivot(index="model", columns="composite", values="value")
    ranks = long.pivot(index="model", columns="composite", values="rank")
    out = pd.DataFrame({"model": wide.index})
    for c in ("weighted", "rank_agreement", "distance"):
        out[c] = wide[c].to_numpy()
        out[f"{c}_rank"] = ranks[c].to_numpy().astype(int)
    out = out.sort_values(["weighted_rank", "model"], kind="stable").reset_index(drop=True)
    out.attrs["weights_source"] = long.loc[long.composite == "weighted", "weights_source"].iloc[0]
    out.attrs["caveat"] = CENTRED_PROFILE_CAVEAT
    return out


def score_file(weights_path, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """``vp-stats compass score``: rank models by a weighted composite with weights from a file.

    The file (:func:`read_weights_file`) gives ``dimension,weight`` rows for
    the dimensions to compare on (any subset of one family); the composite
    ``sum_k w_k s_k / sum_k |w_k|`` (:func:`weighted_composite`) is computed on
    each model's centred profile (default: the 34 released models).

    Returns
    -------
    pandas.DataFrame
        ``rank, model, weighted_composite, n_dimensions, weights,
        weights_source``, best first (ties share the best rank); ``attrs["caveat"]``.
    """
    w = read_weights_file(weights_path)
    family = schema.family_of(w["dimension"].iloc[0])
    prof = _profiles_for(profiles, family)
    mat = score_matrix(prof, score_col="centered_mean")
    out = weighted_composite(mat, w, dimensions=list(w["dimension"]))
    out.insert(0, "rank", out["weighted_composite"].rank(ascending=False, method="min").astype(int))
    out = out.sort_values(["rank", "model"], kind="stable").reset_index(drop=True)
    out.attrs["caveat"] = CENTRED_PROFILE_CAVEAT
    return out


def composite_table(
    profiles: pd.DataFrame, weights: pd.DataFrame, *, family: str = "pvq"
) -> pd.DataFrame:
    """Weighted composite and rank agreement of every model with every weight vector.

    Parameters
    ----------
    profiles : DataFrame
        ``model, family, dimension, centered_mean``.
    weights : DataFrame
        Weights table with a ``group`` column (several priority vectors, e.g.
        :func:`weights_from_participants` with ``group_col``), or one vector.

    Returns
    -------
    DataFrame
        ``group, model, weighted_composite, weighted_rank, rho, match,
        match_rank, weights_source`` (ranks: 1 = best within the group).

    Examples
    --------
    >>> import pandas as pd
    >>> prof = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "family": "pvq",
    ...                      "dimension": ["Power", "Security", "Hedonism"] * 2,
    ...                      "centered_mean": [1.0, 0.0, -1.0, -1.0, 0.0, 1.0]})
    >>> w = pd.DataFrame({"group": ["g"] * 3, "dimension": ["Power", "Security", "Hedonism"],
    ...                   "weight": [1.0, 0.5, -1.0], "weights_source": "demo"})
    >>> composite_table(prof, w)[["model", "weighted_composite", "weighted_rank", "match"]]
      model  weighted_composite  weighted_rank  match
    0     a                 0.8              1    1.0
    1     b                -0.8              2    0.0
    """
    prof = _profiles_for(profiles, family)
    mat = score_matrix(prof, score_col="centered_mean")
    tab = weights if "group" in weights.columns else weights.assign(group="all")
    frames = []
    for g in pd.unique(tab["group"]):
        wt = as_weights(tab, group=g)
        wc = weighted_composite(mat, wt)
        ra = rank_agreement(mat, wt)
        f = pd.DataFrame(
            {
                "group": g,
                "model": wc["model"],
                "weighted_composite": wc["weighted_composite"],
                "rho": ra["rho"].to_numpy(),
                "match": ra["match"].to_numpy(),
                "weights_source": wc["weights_source"],
            }
        )
        f.insert(3, "weighted_rank", f["weighted_composite"].rank(ascending=False, method="min"))
        f.insert(6, "match_rank", f["match"].rank(ascending=False, method="min"))
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out[["weighted_rank", "match_rank"]] = out[["weighted_rank", "match_rank"]].astype(int)
    return out


def participant_groups(
    scores: pd.DataFrame,
    method: str = "kmeans",
    n_groups: int = 4,
    *,
    dimension: str | None = None,
    family: str = "pvq",
    seed: int = 0,
) -> pd.DataFrame:
    """Illustrative groups of participants from their value scores (not real cultures).

    ``method="kmeans"``: k-means clusters of the centred profiles
    (:class:`sklearn.cluster.KMeans`, ``n_init=10``, seeded), labelled
    ``cluster 1..k`` by size (largest first); ``method="quantile"``: quantile
    groups of one ``dimension`` (``Q1`` lowest). Participants with a missing
    score are left out.

    Returns
    -------
    DataFrame
        ``participant, group``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant": list("abcd"), "family": "pvq", "dimension": "Power",
    ...                   "score": [1.0, 2.0, 3.0, 4.0]})
    >>> participant_groups(t, "quantile", 2, dimension="Power").group.tolist()
    ['Q1', 'Q1', 'Q2', 'Q2']
    """
    sub = scores[scores["family"] == family] if "family" in scores.columns else scores
    wide = sub.pivot(index="participant", columns="dimension", values="score")
    if method == "quantile":
        if dimension not in wide.columns:
            raise ValueError(f"quantile groups need dimension= one of {list(wide.columns)}")
        x = wide[dimension].dropna()
        lab = pd.qcut(
            x.rank(method="first"), n_groups, labels=[f"Q{i + 1}" for i in range(n_groups)]
        )
        return pd.DataFrame({"participant": x.index, "group": lab.astype(str).to_numpy()})
    if method != "kmeans":
        raise ValueError(f"method must be 'kmeans' or 'quantile', got {method!r}")
    from sklearn.cluster import KMeans

    dims = [d for d in schema.FAMILIES[family] if d in wide.columns]
    X = wide[dims].dropna()
    km = KMeans(n_clusters=n_groups, n_init=10, random_state=seed).fit(X.to_numpy())
    sizes = np.bincount(km.labels_, minlength=n_groups)
    order = np.argsort(-sizes, kind="stable")
    relabel = {int(c): f"cluster {i + 1}" for i, c in enumerate(order)}
    return pd.DataFrame({"participant": X.index, "group": [relabel[int(c)] for c in km.labels_]})


def weight_sensitivity(
    profiles: pd.DataFrame,
    weights,
    weights_source: str | None = None,
    *,
    noise: float = 0.25,
    n_draws: int = 1000,
    family: str = "pvq",
    seed: int = 0,
) -> pd.DataFrame:
    """How a weighted-composite ranking of models changes when the weights are perturbed.

    Each draw adds independent normal noise with SD ``noise x RMS(w)`` to every
    weight and recomputes :func:`weighted_composite` and the ranks (seeded).

    Returns
    -------
    DataFrame
        ``model, composite, rank, rank_median, rank_p05, rank_p95, p_top5,
        n_draws, noise``, sorted by ``rank`` (the unperturbed one).

    Examples
    --------
    >>> import pandas as pd
    >>> prof = pd.DataFrame({"model": ["a"] * 3 + ["b"] * 3, "family": "pvq",
    ...                      "dimension": ["Power", "Security", "Hedonism"] * 2,
    ...                      "centered_mean": [1.0, 0.0, -1.0, -1.0, 0.0, 1.0]})
    >>> s = weight_sensitivity(prof, {"Power": 1, "Security": 0, "Hedonism": -1}, "demo", n_draws=50)
    >>> s[["model", "rank", "rank_p95"]].values.tolist()
    [['a', 1, 1.0], ['b', 2, 2.0]]
    """
    prof = _profiles_for(profiles, family)
    mat = score_matrix(prof, score_col="centered_mean")
    wt = as_weights(weights, weights_source)
    dims = _align(mat, wt["dimension"].tolist(), list(wt["dimension"]), "weights")
    w = wt.set_index("dimension")["weight"].reindex(dims).to_numpy()
    S = mat[dims].to_numpy()
    base = S @ w / np.abs(w).sum()
    rng = np.random.default_rng(seed)
    sd = noise * np.sqrt(np.mean(w**2))
    W = w + rng.normal(0.0, sd, size=(n_draws, len(w)))
    C = (S @ W.T) / np.abs(W).sum(axis=1)  # models x draws
    R = rankdata(-C, axis=0, method="min")
    out = pd.DataFrame(
        {
            "model": mat.index,
            "composite": base,
            "rank": rankdata(-base, method="min").astype(int),
            "rank_median": np.median(R, axis=1),
            "rank_p05": np.quantile(R, 0.05, axis=1),
            "rank_p95": np.quantile(R, 0.95, axis=1),
            "p_top5": (R <= 5).mean(axis=1),
            "n_draws": n_draws,
            "noise": noise,
        }
    )
    return out.sort_values(["rank", "model"], kind="stable").reset_index(drop=True)
