"""Priority vectors with provenance: the weights layer of Value Compass (pure statistics).

Normalises a priority vector to a checked ``dimension, weight, weights_source``
table (:func:`as_weights`) and builds priority vectors from data, each labelled
with where its numbers come from: mean centred profiles of a participant table
(:func:`weights_from_participants`), one person's PVQ-21 answers
(:func:`weights_from_pvq_answers`) or a ranking (:func:`weights_from_ranks`).
:func:`participant_groups` forms illustrative participant groups to weight by.

Functions take and return DataFrames; they read no files.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from vp_stats import schema, tables

__all__ = [
    "as_weights",
    "weights_from_participants",
    "weights_from_pvq_answers",
    "weights_from_ranks",
    "participant_groups",
]


@schema.orders_dimensions
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
        tables.require(tab, ["dimension", "weight"], "weights table")
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


@schema.orders_dimensions
def weights_from_participants(
    scores: pd.DataFrame,
    group: str | None = None,
    *,
    family: str = "pvq",
    participant: str = "participant",
    source: str = "participant table",
) -> pd.DataFrame:
    """Mean centred PVQ profile of a participant table, overall or per group.

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy participant scores with columns ``participant``, ``family``,
        ``dimension``, ``score`` (the output of
        :func:`vp_stats.io.datasets.load_participant_scores` or
        :func:`vp_stats.instruments.pvq.score_pvq21`), plus ``group``.
    group : str, optional
        Column defining the groups (e.g. country); one vector per group.
    family : str
        Family to average (``pvq`` or ``higher_pvq``).
    participant : str
        The participant id column.
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
    tables.require(
        scores,
        [participant, "dimension", *([group] if group else [])],
        "participant scores",
        numeric=["score"],
    )
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(schema.FAMILIES)}")
    sub = scores[scores["family"] == family] if "family" in scores.columns else scores
    sub = sub[sub["dimension"].isin(schema.FAMILIES[family])]
    if sub.empty:
        raise ValueError(f"no {family} scores in the participant table")
    sub = sub[sub["score"].notna()]
    keys = [group] if group else []
    if sub.duplicated([*keys, participant, "dimension"]).any():
        raise ValueError("duplicate (participant, dimension) scores in the participant table")
    dims = list(schema.FAMILIES[family])
    frames = []
    for key, g in sub.groupby(keys, sort=False) if keys else [((None,), sub)]:
        key = key[0] if isinstance(key, tuple) else key
        mean = g.groupby("dimension")["score"].mean()
        lacking = [d for d in dims if d not in mean.index]
        if lacking:
            where = f"group {group} = {key!r}: " if keys else ""
            raise ValueError(f"{where}no scores for dimension(s) {lacking}")
        n = g[participant].nunique()
        label = f"mean centred {family} profile of {n} participant(s) ({source}"
        label += f", {group} = {key})" if keys else ")"
        frame = pd.DataFrame(
            {
                "dimension": dims,
                "weight": mean.reindex(dims).to_numpy(),
                "n_participants": g.groupby("dimension")[participant]
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


@schema.orders_dimensions
def weights_from_pvq_answers(
    answers: pd.DataFrame,
    participant: object | None = None,
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
    participant : optional
        Which participant to use when the table holds several.
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
    >>> long = pd.DataFrame({"participant": "me", "item": range(1, 22), "rating": [6] + [3] * 20})
    >>> w = weights_from_pvq_answers(long)
    >>> round(w.loc[w.dimension == "Self_Direction", "weight"].item(), 4)  # 4.5 - 66/21
    1.3571
    """
    from vp_stats.instruments.pvq import score_pvq21

    if family not in ("pvq", "higher_pvq"):
        raise ValueError(f"family must be 'pvq' or 'higher_pvq', got {family!r}")
    pvq_kw.pop("centre", None)
    out = score_pvq21(answers, centre=True, **pvq_kw)
    people = pd.unique(out["participant"])
    if participant is None:
        if len(people) != 1:
            raise ValueError(
                f"answers hold {len(people)} participants; pass participant= to choose one"
            )
        participant = people[0]
    elif participant not in set(people):
        raise ValueError(f"participant {participant!r} not in the answers")
    sub = out[(out["participant"] == participant) & (out["family"] == family)]
    if sub["score"].isna().any():
        raise ValueError(
            f"participant {participant!r} has unscored values "
            f"{sub.loc[sub.score.isna(), 'dimension'].tolist()} (missing answers)"
        )
    return pd.DataFrame(
        {
            "dimension": sub["dimension"].to_numpy(),
            "weight": sub["score"].to_numpy(),
            "weights_source": (
                f"PVQ-21 answers of participant {participant!r}, MRAT-centred {family} scores"
            ),
        }
    )


@schema.orders_dimensions
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
    >>> w = weights_from_ranks({"Power": 1, "Security": 2, "Hedonism": 3}, top="lowest",
    ...                        source="me")
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
    wide = tables.to_wide(sub, "participant", "dimension", "score", source="scores")
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
