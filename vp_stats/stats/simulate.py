"""Simulated studies with known ground truth: synthetic data for tests and examples, not data.

Seeded generators (equal seeds give identical tables) in the statistics layer, next to the
methods they exercise: :func:`synthetic` builds a Value Portrait-shaped study (groups, portrait
and option ids, 1-6 ratings), :func:`synthetic_study` a study in the format of a user's own files
(string item ids, any integer scale). Both return the ground truth with the tables, so a method's
output can be checked against what was simulated. Nothing here reads or writes a file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vp_stats import schema

__all__ = [
    "synthetic",
    "synthetic_study",
    "scale_study",
    "synthetic_model_answers",
    "synthetic_version_pairs",
]


def synthetic(
    n_participants: int = 200,
    n_items: int = 40,
    n_groups: int = 1,
    loading: float = 0.8,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """A deterministic synthetic Value Portrait study with known ground truth.

    For unit tests and examples only; never a substitute for the real data.

    Participants get MRAT-style centred PVQ scores (10 values, summing to about
    zero), higher-order scores (item-count weighted means of their constituent
    values) and BFI scores (1-5). Each item is driven by one true PVQ value:
    its latent response is ``loading * z(value) + sqrt(1 - loading**2) * noise``,
    cut into the six rating categories at fixed quantiles. Item ``i`` measures
    value ``PVQ_VALUES[i % 10]``. Participants are split into ``n_groups``
    groups; each group rates its own block of items.

    Parameters
    ----------
    n_participants, n_items, n_groups : int
        Sizes (``n_items`` is split over the groups in blocks).
    loading : float
        Correlation of the latent response with the true value (0-1).
    seed : int
        Seed; equal seeds give identical tables.

    Returns
    -------
    dict of DataFrame
        ``ratings`` (group, participant, portrait_id, option_id, rating),
        ``scores`` (participant, family, dimension, score) and ``truth``
        (portrait_id, option_id, dimension, loading).

    Examples
    --------
    >>> syn = synthetic(n_participants=50, n_items=10, seed=0)
    >>> sorted(syn)
    ['ratings', 'scores', 'truth']
    >>> len(syn["ratings"]), syn["truth"].dimension.iloc[3]
    (500, 'Achievement')
    >>> synthetic(seed=4)["ratings"].equals(synthetic(seed=4)["ratings"])
    True
    """
    if not 0 <= loading <= 1:
        raise ValueError(f"loading must be in [0, 1], got {loading}")
    rng = np.random.default_rng(seed)
    pids = [f"S{i:04d}" for i in range(n_participants)]
    raw = rng.normal(0.0, 0.8, size=(n_participants, len(schema.PVQ_VALUES)))
    n_items_per = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES], dtype=float)
    pvq = raw - (raw * n_items_per).sum(axis=1, keepdims=True) / n_items_per.sum()
    score_rows = []
    for j, v in enumerate(schema.PVQ_VALUES):
        score_rows.append(
            pd.DataFrame({"participant": pids, "family": "pvq", "dimension": v, "score": pvq[:, j]})
        )
    for h, members in schema.HIGHER_ORDER_MAP.items():
        idx = [schema.PVQ_VALUES.index(m) for m in members]
        w = n_items_per[idx]
        score_rows.append(
            pd.DataFrame(
                {
                    "participant": pids,
                    "family": "higher_pvq",
                    "dimension": h,
                    "score": pvq[:, idx] @ w / w.sum(),
                }
            )
        )
    bfi = np.clip(rng.normal(3.0, 0.7, size=(n_participants, len(schema.BFI_TRAITS))), 1, 5)
    for j, t in enumerate(schema.BFI_TRAITS):
        score_rows.append(
            pd.DataFrame({"participant": pids, "family": "bfi", "dimension": t, "score": bfi[:, j]})
        )
    scores = pd.concat(score_rows, ignore_index=True)

    z = (pvq - pvq.mean(axis=0)) / pvq.std(axis=0)
    group_of_participant = np.arange(n_participants) % n_groups
    cuts = np.array([-1.5, -0.8, -0.2, 0.4, 1.1])
    rows, truth = [], []
    for i in range(n_items):
        option = i % 5 + 1
        portrait = 1001 + i // 5
        j = i % len(schema.PVQ_VALUES)
        g = (i * n_groups) // n_items
        members = np.flatnonzero(group_of_participant == g)
        latent = loading * z[members, j] + np.sqrt(1 - loading**2) * rng.normal(size=len(members))
        rating = 1 + np.searchsorted(cuts, latent)
        truth.append((portrait, option, schema.PVQ_VALUES[j], loading))
        rows.append(
            pd.DataFrame(
                {
                    "group": g,
                    "participant": [pids[m] for m in members],
                    "portrait_id": portrait,
                    "option_id": option,
                    "rating": rating.astype(np.int64),
                }
            )
        )
    ratings = pd.concat(rows, ignore_index=True)
    truth_df = pd.DataFrame(truth, columns=["portrait_id", "option_id", "dimension", "loading"])
    return {"ratings": ratings, "scores": scores, "truth": truth_df}


def synthetic_study(
    n_participants: int = 80,
    n_items: int = 60,
    scale: tuple[int, int] = (1, 5),
    loadings: tuple[float, ...] = (0.0, 0.3, 0.6),
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """A synthetic study in the format of a user's own files, with known ground truth.

    For tests and demonstrations only (clearly not data). Every participant
    rates every item on the integer ``scale``; item ids are strings such as
    ``"abby_Power_likely_07"`` (target value, a wording and a number). Item ``i``
    targets value ``PVQ_VALUES[i % 10]`` with the true loading
    ``loadings[(i // 10) % len(loadings)]`` (0: an invalid item) and is worded
    ``likely`` or ``similar`` in alternate blocks of ten items. Scores are the basic values
    (MRAT-centred,
    family ``pvq``) and the Big Five (1-5, family ``bfi``), with no higher-order
    values, as a study that administered PVQ-21 and BFI-10 would have them.

    Returns
    -------
    dict of DataFrame
        ``ratings`` (participant, item, rating), ``scores`` (participant, family,
        dimension, score) and ``truth`` (item, dimension, loading, wording).

    Examples
    --------
    >>> st = synthetic_study(n_participants=30, n_items=20, seed=1)
    >>> st["ratings"].columns.tolist(), int(st["ratings"].rating.max())
    (['participant', 'item', 'rating'], 5)
    >>> st["truth"].iloc[12].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'item': 'abby_Hedonism_similar_12', 'dimension': 'Hedonism', 'loading': 0.3,
     'wording': 'similar'}
    >>> synthetic_study(seed=2)["ratings"].equals(synthetic_study(seed=2)["ratings"])
    True
    """
    lo, hi = int(scale[0]), int(scale[1])
    if not lo < hi:
        raise ValueError(f"scale must be (low, high) with low < high, got {scale}")
    if any(not 0 <= a < 1 for a in loadings):
        raise ValueError(f"loadings must be in [0, 1), got {loadings}")
    rng = np.random.default_rng(seed)
    pids = [f"P{i:03d}" for i in range(n_participants)]
    k = len(schema.PVQ_VALUES)
    raw = rng.normal(0.0, 0.8, size=(n_participants, k))
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES], dtype=float)
    pvq_scores = raw - (raw * w).sum(axis=1, keepdims=True) / w.sum()
    bfi_scores = np.clip(np.round(rng.normal(3.0, 0.7, size=(n_participants, 5)) * 2) / 2, 1, 5)
    z = (pvq_scores - pvq_scores.mean(axis=0)) / pvq_scores.std(axis=0)
    n_cat = hi - lo + 1
    cuts = np.quantile(rng.normal(size=20000), np.linspace(0, 1, n_cat + 1)[1:-1])
    rows, truth = [], []
    for i in range(n_items):
        j = i % k
        a = float(loadings[(i // k) % len(loadings)])
        wording = ("likely", "similar")[(i // k) % 2]
        item = f"abby_{schema.PVQ_VALUES[j]}_{wording}_{i:02d}"
        latent = a * z[:, j] + np.sqrt(1 - a**2) * rng.normal(size=n_participants)
        rows.append(
            pd.DataFrame(
                {
                    "participant": pids,
                    "item": item,
                    "rating": (lo + np.searchsorted(cuts, latent)).astype(np.int64),
                }
            )
        )
        truth.append((item, schema.PVQ_VALUES[j], a, wording))
    score_rows = [
        pd.DataFrame(
            {"participant": pids, "family": "pvq", "dimension": v, "score": pvq_scores[:, j]}
        )
        for j, v in enumerate(schema.PVQ_VALUES)
    ]
    score_rows += [
        pd.DataFrame(
            {"participant": pids, "family": "bfi", "dimension": t, "score": bfi_scores[:, j]}
        )
        for j, t in enumerate(schema.BFI_TRAITS)
    ]
    return {
        "ratings": pd.concat(rows, ignore_index=True),
        "scores": pd.concat(score_rows, ignore_index=True),
        "truth": pd.DataFrame(truth, columns=["item", "dimension", "loading", "wording"]),
    }


def scale_study(
    n_participants: int = 1000,
    n_items: int = 200,
    n_groups: int = 1,
    missing: float = 0.0,
    scale: tuple[int, int] = (1, 6),
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """A study of any size for benchmarks and tests, in the format of a user's own files.

    For benchmarks and tests only (clearly not data). Participants are split into
    ``n_groups`` groups of (nearly) equal size and the items into as many blocks; each group
    rates its own block, as in Value Portrait (``n_groups=1``: every participant rates every
    item, a complete design). ``missing`` drops that share of the ratings at random (raters
    who skipped items). Item ``i`` targets value ``PVQ_VALUES[i % 10]`` with loading
    ``(0.0, 0.3, 0.6)[(i // 10) % 3]``; ratings are integers on ``scale``. Scores cover all
    three families (10 basic values, MRAT-centred; 4 higher-order values, their item-count
    weighted means; Big Five 1-5 in half points, so with ties). Built with array operations:
    8 million ratings take a few seconds.

    Returns
    -------
    dict of DataFrame
        ``ratings`` (participant, item, rating), ``scores`` (participant, family, dimension,
        score) and ``truth`` (item, dimension, loading).

    Examples
    --------
    >>> st = scale_study(n_participants=40, n_items=10, n_groups=2, seed=1)
    >>> len(st["ratings"]), st["ratings"].groupby("item").participant.nunique().tolist()[:2]
    (200, [20, 20])
    >>> st["scores"].groupby("family").dimension.nunique().to_dict()
    {'bfi': 5, 'higher_pvq': 4, 'pvq': 10}
    >>> a, b = scale_study(seed=3, n_items=20), scale_study(seed=3, n_items=20)
    >>> a["ratings"].equals(b["ratings"])
    True
    """
    lo, hi = int(scale[0]), int(scale[1])
    if not lo < hi:
        raise ValueError(f"scale must be (low, high) with low < high, got {scale}")
    if not 1 <= n_groups <= min(n_participants, n_items):
        raise ValueError(f"n_groups must be in [1, min(n_participants, n_items)], got {n_groups}")
    if not 0 <= missing < 1:
        raise ValueError(f"missing must be in [0, 1), got {missing}")
    rng = np.random.default_rng(seed)
    width_p, width_i = len(str(n_participants - 1)), len(str(n_items - 1))
    pids = np.array([f"P{i:0{width_p}d}" for i in range(n_participants)], dtype=object)
    iids = np.array([f"item{i:0{width_i}d}" for i in range(n_items)], dtype=object)
    k = len(schema.PVQ_VALUES)
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES], dtype=float)
    raw = rng.normal(0.0, 0.8, size=(n_participants, k))
    pvq = raw - (raw * w).sum(axis=1, keepdims=True) / w.sum()
    higher = np.column_stack(
        [
            pvq[:, idx] @ w[idx] / w[idx].sum()
            for idx in (
                [schema.PVQ_VALUES.index(m) for m in members]
                for members in schema.HIGHER_ORDER_MAP.values()
            )
        ]
    )
    bfi = np.clip(np.round(rng.normal(3.0, 0.7, size=(n_participants, 5)) * 2) / 2, 1, 5)
    z = (pvq - pvq.mean(axis=0)) / pvq.std(axis=0)
    target = np.arange(n_items) % k
    loadings = np.array([0.0, 0.3, 0.6])[(np.arange(n_items) // k) % 3]
    n_cat = hi - lo + 1
    cuts = np.quantile(rng.normal(size=20000), np.linspace(0, 1, n_cat + 1)[1:-1])
    group_p = np.arange(n_participants) * n_groups // n_participants
    group_i = np.arange(n_items) * n_groups // n_items
    per_group_p = np.bincount(group_p, minlength=n_groups)
    per_group_i = np.bincount(group_i, minlength=n_groups)
    first_p = np.concatenate([[0], np.cumsum(per_group_p)[:-1]])
    first_i = np.concatenate([[0], np.cumsum(per_group_i)[:-1]])
    # every (participant, item) pair of each group: item-major, participants ascending
    n_pairs = per_group_p * per_group_i
    g = np.repeat(np.arange(n_groups), n_pairs)
    pos = np.arange(n_pairs.sum()) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
    p = first_p[g] + pos % per_group_p[g]
    i = first_i[g] + pos // per_group_p[g]
    if missing:
        keep = rng.random(len(p)) >= missing
        p, i = p[keep], i[keep]
    a = loadings[i]
    latent = a * z[p, target[i]] + np.sqrt(1 - a**2) * rng.normal(size=len(p))
    ratings = pd.DataFrame(
        {
            "participant": pids[p],
            "item": iids[i],
            "rating": (lo + np.searchsorted(cuts, latent)).astype(np.int64),
        }
    )
    parts = [
        ("pvq", schema.PVQ_VALUES, pvq),
        ("higher_pvq", list(schema.HIGHER_ORDER_MAP), higher),
        ("bfi", schema.BFI_TRAITS, bfi),
    ]
    scores = pd.concat(
        [
            pd.DataFrame(
                {
                    "participant": np.tile(pids, len(dims)),
                    "family": fam,
                    "dimension": np.repeat(np.asarray(dims, dtype=object), n_participants),
                    "score": mat.T.ravel(),
                }
            )
            for fam, dims, mat in parts
        ],
        ignore_index=True,
    )
    truth = pd.DataFrame(
        {"item": iids, "dimension": np.asarray(schema.PVQ_VALUES)[target], "loading": loadings}
    )
    return {"ratings": ratings, "scores": scores, "truth": truth}


def synthetic_model_answers(
    truth: pd.DataFrame,
    n_models: int = 5,
    scale: tuple[int, int] = (1, 6),
    levels: tuple[float, float] = (2.5, 4.5),
    answer_sd: float = 0.6,
    family: str = "pvq",
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Models' answers to a study's items, with each model's true value profile.

    For simulations with known truth (clearly not data). Model ``m`` holds value ``d``
    at the level ``mu[m, d]`` (uniform on ``levels``); its answer to an item that
    targets ``d`` (``truth.dimension``, whatever the item's loading) is
    ``clip(mu[m, d] + e, *scale)`` with ``e ~ N(0, answer_sd)`` independent over models
    and items. The true profile is what the centred mean of
    :func:`vp_stats.stats.scoring.value_profiles` estimates when the selected items
    are those that target each value: ``E[d] - mean over values of E[d']``, with
    ``E[d] = E clip(mu[m, d] + e)`` (the censored-normal mean, exact). Items that
    target another value and are selected by chance pull an estimate towards 0.

    Parameters
    ----------
    truth : DataFrame
        ``item, dimension`` of every item (``synthetic_study(...)["truth"]``).
    n_models, scale, levels, answer_sd, family, seed :
        Number of models, the answer scale, the range of the true levels, the
        answers' spread around them, the family named in ``profiles``, and the seed.

    Returns
    -------
    dict of DataFrame
        ``answers`` (model, item, numeric_response) and ``profiles`` (model,
        family, dimension, level, expected, profile).

    Examples
    --------
    >>> st = synthetic_study(n_participants=20, n_items=20, seed=0)
    >>> sim = synthetic_model_answers(st["truth"], n_models=2, seed=1)
    >>> sim["answers"].shape, sorted(sim)
    ((40, 3), ['answers', 'profiles'])
    >>> p = sim["profiles"]
    >>> bool(abs(p.groupby("model").profile.sum()).max() < 1e-12)
    True
    """
    from scipy import stats as sstats

    lo, hi = float(scale[0]), float(scale[1])
    if not (lo <= levels[0] <= levels[1] <= hi) or answer_sd <= 0:
        raise ValueError("levels must lie inside scale and answer_sd must be positive")
    rng = np.random.default_rng(seed)
    dims = list(dict.fromkeys(truth["dimension"]))
    models = [f"model{m:02d}" for m in range(n_models)]
    mu = rng.uniform(levels[0], levels[1], size=(n_models, len(dims)))
    target = pd.Index(dims).get_indexer(truth["dimension"])
    raw = mu[:, target] + answer_sd * rng.normal(size=(n_models, len(truth)))
    answers = pd.DataFrame(
        {
            "model": np.repeat(models, len(truth)),
            "item": np.tile(truth["item"].to_numpy(), n_models),
            "numeric_response": np.clip(raw, lo, hi).ravel(),
        }
    )
    a, b = (lo - mu) / answer_sd, (hi - mu) / answer_sd
    cdf, pdf = sstats.norm.cdf, sstats.norm.pdf
    expected = (
        lo * cdf(a)
        + hi * sstats.norm.sf(b)
        + mu * (cdf(b) - cdf(a))
        + answer_sd * (pdf(a) - pdf(b))
    )
    profile = expected - expected.mean(axis=1, keepdims=True)
    profiles = pd.DataFrame(
        {
            "model": np.repeat(models, len(dims)),
            "family": family,
            "dimension": np.tile(dims, n_models),
            "level": mu.ravel(),
            "expected": expected.ravel(),
            "profile": profile.ravel(),
        }
    )
    return {"answers": answers, "profiles": profiles}


def synthetic_version_pairs(
    n_participants: int = 80,
    n_pairs: int = 20,
    scale: tuple[int, int] = (1, 5),
    loading: float = 0.5,
    shared: float = 0.5,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Two equally valid versions of every item: the null of the version tests, known to hold.

    For simulations (clearly not data). Pair ``i`` targets value ``PVQ_VALUES[i % 10]``;
    both versions ``abby_<value>_likely_<i>`` and ``abby_<value>_similar_<i>`` have the
    latent response ``loading * z(value) + sqrt(1 - loading**2) * (sqrt(shared) u_i +
    sqrt(1 - shared) e)``, with ``u_i`` the pair's own content (shared by the two
    versions, so they correlate beyond the value) and ``e`` each version's noise, cut
    into the categories of ``scale`` as :func:`synthetic_study`. The two versions'
    population validities are equal, so any difference a test finds is a false positive.

    Returns
    -------
    dict of DataFrame
        ``ratings`` (participant, item, rating), ``scores`` (family ``pvq``) and ``pairs``
        (item_a, item_b, dimension).

    Examples
    --------
    >>> sim = synthetic_version_pairs(n_participants=30, n_pairs=3, seed=1)
    >>> sim["pairs"].iloc[1].tolist()
    ['abby_Stimulation_likely_01', 'abby_Stimulation_similar_01', 'Stimulation']
    >>> len(sim["ratings"]), sorted(sim)
    (180, ['pairs', 'ratings', 'scores'])
    """
    if not (0 <= loading < 1 and 0 <= shared <= 1):
        raise ValueError("loading must be in [0, 1) and shared in [0, 1]")
    lo, hi = int(scale[0]), int(scale[1])
    rng = np.random.default_rng(seed)
    pids = [f"P{i:03d}" for i in range(n_participants)]
    k = len(schema.PVQ_VALUES)
    raw = rng.normal(0.0, 0.8, size=(n_participants, k))
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES], dtype=float)
    pvq_scores = raw - (raw * w).sum(axis=1, keepdims=True) / w.sum()
    z = (pvq_scores - pvq_scores.mean(axis=0)) / pvq_scores.std(axis=0)
    n_cat = hi - lo + 1
    cuts = np.quantile(rng.normal(size=20000), np.linspace(0, 1, n_cat + 1)[1:-1])
    rows, pairs = [], []
    for i in range(n_pairs):
        value = schema.PVQ_VALUES[i % k]
        u = rng.normal(size=n_participants)
        names = [f"abby_{value}_{wording}_{i:02d}" for wording in ("likely", "similar")]
        for name in names:
            e = np.sqrt(shared) * u + np.sqrt(1 - shared) * rng.normal(size=n_participants)
            latent = loading * z[:, i % k] + np.sqrt(1 - loading**2) * e
            rating = (lo + np.searchsorted(cuts, latent)).astype(np.int64)
            rows.append(pd.DataFrame({"participant": pids, "item": name, "rating": rating}))
        pairs.append((*names, value))
    scores = pd.concat(
        [
            pd.DataFrame(
                {"participant": pids, "family": "pvq", "dimension": v, "score": pvq_scores[:, j]}
            )
            for j, v in enumerate(schema.PVQ_VALUES)
        ],
        ignore_index=True,
    )
    return {
        "ratings": pd.concat(rows, ignore_index=True),
        "scores": scores,
        "pairs": pd.DataFrame(pairs, columns=["item_a", "item_b", "dimension"]),
    }
