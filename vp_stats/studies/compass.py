"""Value Compass studies and file-level conveniences (the orchestration layer).

Loads the released model profiles (:func:`released_profiles`), runs the
composites on a user's files for ``vp-stats compass match|score``
(:func:`match_file`, :func:`score_file`, reading through
:mod:`vp_stats.io.compass`) and builds the study tables of the Value Compass
notebook (:func:`composite_table`, :func:`weight_sensitivity`). The model
profiles default to the 34 released models when ``profiles`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from vp_stats import schema, tables
from vp_stats.io.compass import read_pvq_answers_file, read_weights_file
from vp_stats.stats.compass import (
    CENTRED_PROFILE_CAVEAT,
    _align,
    match_models,
    rank_agreement,
    score_matrix,
    weighted_composite,
)
from vp_stats.stats.compass_weights import as_weights

__all__ = [
    "CompassRanking",
    "released_profiles",
    "match_file",
    "score_file",
    "composite_table",
    "weight_sensitivity",
]


@dataclass(frozen=True)
class CompassRanking(tables.Result):
    """Models ranked for ``vp-stats compass match|score``, with what the ranking rests on.

    Attributes
    ----------
    table : DataFrame
        One row per model, best first.
    weights_source : str
        Where the weights (priorities) come from.
    caveat : str
        :data:`~vp_stats.stats.compass.CENTRED_PROFILE_CAVEAT`.
    """

    weights_source: str = ""
    caveat: str = CENTRED_PROFILE_CAVEAT


@schema.orders_dimensions
def released_profiles(family: str = "pvq", data_dir=None) -> pd.DataFrame:
    """Centred value profiles of the 34 released Value Portrait models (one family).

    :func:`vp_stats.studies.released.score_released_models` (published correlations,
    ``rho > 0.3``, no bootstrap), filtered to ``family``.

    Examples
    --------
    >>> p = released_profiles()
    >>> p.model.nunique(), p.dimension.nunique()
    (34, 10)
    """
    from vp_stats.studies.released import score_released_models

    prof = score_released_models(data_dir=data_dir, n_boot=0)
    return prof[prof["family"] == family].reset_index(drop=True)


def _profiles_for(profiles: pd.DataFrame | None, family: str) -> pd.DataFrame:
    if profiles is None:
        return released_profiles(family)
    tables.require(
        profiles, ["model", "family", "dimension"], "profiles", numeric=["centered_mean"]
    )
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
) -> CompassRanking:
    """``vp-stats compass match``: rank models for the person whose PVQ-21 answers are in a file.

    Reads the answers (:func:`~vp_stats.io.compass.read_pvq_answers_file`), scores
    them (MRAT-centred) and ranks the models by the three composites of
    :func:`~vp_stats.stats.compass.match_models` (weighted composite, rank
    agreement, distance).

    Parameters
    ----------
    answers_path : path-like
        CSV ``item,answer`` (21 rows) or one-row wide (21 item columns).
    profiles : DataFrame, optional
        ``model, family, dimension, centered_mean``; default the 34 released
        models (:func:`released_profiles`).
    family, threshold, scale, ess_coding
        See :func:`~vp_stats.stats.compass.match_models` and
        :func:`~vp_stats.io.compass.read_pvq_answers_file`.

    Returns
    -------
    CompassRanking
        ``table``: one row per model, sorted by ``weighted_rank``: ``model, weighted,
        weighted_rank, rank_agreement, rank_agreement_rank, distance,
        distance_rank`` (rank 1 = best match; for distance lower is better);
        ``weights_source`` and ``caveat`` (centred profiles).
    """
    ans = read_pvq_answers_file(answers_path)
    prof = _profiles_for(profiles, family)
    long = match_models(
        ans, prof, family=family, threshold=threshold, scale=scale, ess_coding=ess_coding
    )
    wide = tables.to_wide(long, "model", "composite", "value", source="matches")
    ranks = tables.to_wide(long, "model", "composite", "rank", source="matches")
    out = pd.DataFrame({"model": wide.index})
    for c in ("weighted", "rank_agreement", "distance"):
        out[c] = wide[c].to_numpy()
        out[f"{c}_rank"] = ranks[c].to_numpy().astype(int)
    out = out.sort_values(["weighted_rank", "model"], kind="stable").reset_index(drop=True)
    src = long.loc[long.composite == "weighted", "weights_source"].iloc[0]
    return CompassRanking(
        out, {"weights_source": src, "caveat": CENTRED_PROFILE_CAVEAT}, src, CENTRED_PROFILE_CAVEAT
    )


def score_file(weights_path, profiles: pd.DataFrame | None = None) -> CompassRanking:
    """``vp-stats compass score``: rank models by a weighted composite with weights from a file.

    The file (:func:`~vp_stats.io.compass.read_weights_file`) gives
    ``dimension,weight`` rows for the dimensions to compare on (any subset of
    one family); the composite ``sum_k w_k s_k / sum_k |w_k|``
    (:func:`~vp_stats.stats.compass.weighted_composite`) is computed on each
    model's centred profile (default: the 34 released models).

    Returns
    -------
    CompassRanking
        ``table``: ``rank, model, weighted_composite, n_dimensions, weights,
        weights_source``, best first (ties share the best rank); ``weights_source``,
        ``caveat``.
    """
    w = read_weights_file(weights_path)
    family = schema.family_of(w["dimension"].iloc[0])
    prof = _profiles_for(profiles, family)
    mat = score_matrix(prof, model="model", score="centered_mean", complete=True)
    res = weighted_composite(mat, w, dimensions=list(w["dimension"]))
    out = res.table
    out.insert(0, "rank", out["weighted_composite"].rank(ascending=False, method="min").astype(int))
    out = out.sort_values(["rank", "model"], kind="stable").reset_index(drop=True)
    return CompassRanking(
        out,
        {"weights_source": res.weights_source, "caveat": CENTRED_PROFILE_CAVEAT},
        res.weights_source,
        CENTRED_PROFILE_CAVEAT,
    )


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
        :func:`~vp_stats.stats.compass_weights.weights_from_participants` with
        ``group``), or one vector.

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
    mat = score_matrix(prof, model="model", score="centered_mean", complete=True)
    tab = weights if "group" in weights.columns else weights.assign(group="all")
    frames = []
    for g in pd.unique(tab["group"]):
        wt = as_weights(tab, group=g)
        wc = weighted_composite(mat, wt).table
        ra = rank_agreement(mat, wt).table
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
    weight and recomputes :func:`~vp_stats.stats.compass.weighted_composite`
    and the ranks (seeded).

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
    >>> s = weight_sensitivity(prof, {"Power": 1, "Security": 0, "Hedonism": -1}, "demo",
    ...                        n_draws=50)
    >>> s[["model", "rank", "rank_p95"]].values.tolist()
    [['a', 1, 1.0], ['b', 2, 2.0]]
    """
    prof = _profiles_for(profiles, family)
    mat = score_matrix(prof, model="model", score="centered_mean", complete=True)
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
