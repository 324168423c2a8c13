"""Correlation structure of value scores: correlations, MDS and the circumplex order check.

Schwartz's theory places the ten basic values on a circle (the circumplex):
adjacent values are compatible, opposite values conflict. A standard check
(Schwartz, 1992; Schwartz et al., 2012; Bilsky, Janik & Schwartz, 2011) maps
the values' intercorrelations into two dimensions by multidimensional scaling
and reads the circular order of the values off the map. This module:

- correlates the participants' value scores (Pearson and Spearman), tidy or
  as a square matrix;
- turns correlations into distances ``d = sqrt(2 (1 - r))`` (the Euclidean
  distance between the standardised score vectors, scaled by 1/sqrt(n - 1)) or
  ``1 - r``;
- runs classical (Torgerson, 1952; Gower, 1966) multidimensional scaling by
  eigendecomposition of the double-centred squared distances (deterministic;
  the same as R's ``cmdscale``), or metric SMACOF MDS (:class:`sklearn.manifold.MDS`,
  seeded);
- reads each value's angle on the 2-D map and compares the recovered circular
  order with the theoretical order :data:`vp_stats.schema.PVQ_VALUES`,
  allowing any rotation and reflection.

With ``d = sqrt(2 (1 - r))`` classical MDS reduces to the eigenvectors of the
double-centred correlation matrix ``J R J``.

Examples
--------
>>> from vp_stats.io import datasets
>>> from vp_stats.stats import structure
>>> scores = datasets.load_participant_scores()
>>> check = structure.circumplex_check(structure.circumplex_positions(scores))
>>> int(check.adjacent_pairs_preserved.item()), int(check.n_adjacent_pairs.item())
(7, 10)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vp_stats import schema, tables

__all__ = [
    "METHODS",
    "DISTANCES",
    "correlation_matrix",
    "value_correlations",
    "correlation_distance",
    "MDSResult",
    "classical_mds",
    "metric_mds",
    "circumplex_positions",
    "circumplex_check",
    "synthetic_circumplex",
]

METHODS = ("pearson", "spearman")
DISTANCES = ("sqrt", "linear")


# --------------------------------------------------------------------------- correlations


def _score_matrix(scores: pd.DataFrame, family: str) -> pd.DataFrame:
    if family not in schema.FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {schema.FAMILY_NAMES}")
    tables.require(scores, ["participant", "family", "dimension", "score"], "scores")
    sub = scores[scores["family"] == family]
    dup = sub.duplicated(["participant", "dimension"])
    if dup.any():
        row = sub[dup].iloc[0]
        raise ValueError(f"participant {row.participant!r} has two {row.dimension} scores")
    wide = tables.participant_matrix(scores, family)
    vals = wide.to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"participant {wide.index[i]!r}, {wide.columns[j]}: score is {vals[i, j]!r} "
            "(missing, NaN or infinite); every participant needs every dimension"
        )
    if len(wide) < 3:
        raise ValueError(f"need at least 3 participants, got {len(wide)}")
    return wide


def correlation_matrix(
    scores: pd.DataFrame, family: str = "pvq", method: str = "pearson"
) -> pd.DataFrame:
    """Square correlation matrix of a family's dimension scores (schema order).

    Parameters
    ----------
    scores : DataFrame
        Tidy ``participant, family, dimension, score``
        (:func:`vp_stats.io.datasets.load_participant_scores`).
    family : str
        ``pvq``, ``higher_pvq`` or ``bfi``.
    method : {"pearson", "spearman"}
        Spearman: Pearson correlation of average ranks.

    Examples
    --------
    >>> from vp_stats.io import datasets
    >>> r = correlation_matrix(datasets.load_participant_scores())
    >>> r.shape, float(r.loc["Power", "Achievement"].round(2))
    ((10, 10), 0.45)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    wide = _score_matrix(scores, family)
    x = wide.to_numpy(dtype=float)
    if method == "spearman":
        from scipy.stats import rankdata

        x = rankdata(x, axis=0)
    r = np.corrcoef(x, rowvar=False)
    cols = pd.Index(wide.columns, name="dimension")
    return pd.DataFrame(r, index=cols, columns=cols.rename("dimension_b"))


def value_correlations(scores: pd.DataFrame, family: str = "pvq") -> pd.DataFrame:
    """Tidy table of every pair of dimensions with its Pearson and Spearman correlation.

    Returns
    -------
    DataFrame
        ``dimension_a, dimension_b, pearson, spearman, n``; one row per
        unordered pair (``dimension_a`` before ``dimension_b`` in schema order).

    Examples
    --------
    >>> from vp_stats.io import datasets
    >>> t = value_correlations(datasets.load_participant_scores())
    >>> len(t), t.columns.tolist()
    (45, ['dimension_a', 'dimension_b', 'pearson', 'spearman', 'n'])
    """
    n = len(_score_matrix(scores, family))
    rp = correlation_matrix(scores, family, "pearson")
    rs = correlation_matrix(scores, family, "spearman")
    dims = list(rp.index)
    i, j = np.triu_indices(len(dims), 1)
    return pd.DataFrame(
        {
            "dimension_a": [dims[a] for a in i],
            "dimension_b": [dims[b] for b in j],
            "pearson": rp.to_numpy()[i, j],
            "spearman": rs.to_numpy()[i, j],
            "n": n,
        }
    )


def correlation_distance(corr: pd.DataFrame | np.ndarray, kind: str = "sqrt"):
    """Dissimilarities from correlations: ``sqrt(2 (1 - r))`` (``sqrt``) or ``1 - r`` (``linear``).

    Examples
    --------
    >>> import numpy as np
    >>> correlation_distance(np.array([[1.0, 0.5], [0.5, 1.0]])).round(4).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    if kind not in DISTANCES:
        raise ValueError(f"kind must be one of {DISTANCES}, got {kind!r}")
    r = (
        corr.to_numpy(dtype=float)
        if isinstance(corr, pd.DataFrame)
        else np.asarray(corr, dtype=float)
    )
    # np.corrcoef divides r[i, j] and r[j, i] by the two SDs in opposite orders, so they can
    # differ in the last bit; near r = 1 the square root magnifies that to ~1e-8, which
    # classical_mds rejects as asymmetric. Average the two triangles first.
    r = (r + r.T) / 2
    d = np.sqrt(np.clip(2 * (1 - r), 0, None)) if kind == "sqrt" else 1 - r
    np.fill_diagonal(d, 0.0)
    if isinstance(corr, pd.DataFrame):
        return pd.DataFrame(d, index=corr.index, columns=corr.columns)
    return d


# --------------------------------------------------------------------------- MDS


@dataclass(frozen=True)
class MDSResult(tables.Result):
    """A multidimensional scaling solution (:func:`classical_mds`, :func:`metric_mds`).

    Attributes
    ----------
    table : DataFrame
        ``label, dim_1, ..., dim_p``: the coordinates.
    eigenvalues : ndarray
        All eigenvalues of the double-centred matrix ``B`` (descending) of the classical solution.
    explained : float
        Share of the positive eigenvalues' sum captured by the kept axes (classical solution).
    stress : float or None
        Raw stress of the metric (SMACOF) solution; None for classical MDS.
    """

    eigenvalues: np.ndarray | None = None
    explained: float = float("nan")
    stress: float | None = None

    def coordinates(self) -> np.ndarray:
        """The coordinates as an (n, p) array."""
        return self.table.drop(columns="label").to_numpy(dtype=float)


def classical_mds(dissimilarity: pd.DataFrame | np.ndarray, n_components: int = 2) -> MDSResult:
    """Classical (Torgerson-Gower) multidimensional scaling.

    ``B = -1/2 J D^2 J`` with ``J = I - 11'/n``; the coordinates are the top
    eigenvectors of ``B`` scaled by the square roots of their eigenvalues, as
    R's ``cmdscale``. Each axis is signed so that its largest absolute
    coordinate is positive (deterministic output).

    Parameters
    ----------
    dissimilarity : DataFrame or array (n, n)
        Symmetric, zero diagonal.
    n_components : int
        Number of dimensions.

    Returns
    -------
    MDSResult
        ``table``: ``label, dim_1, ..., dim_p``; ``eigenvalues``: all
        eigenvalues of ``B`` (descending); ``explained``: the share of the
        positive eigenvalues' sum captured by the kept axes.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [3, 0], [0, 4]], dtype=float)
    >>> d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    >>> xy = classical_mds(d).coordinates()
    >>> e = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    >>> bool(np.allclose(e, d))
    True
    """
    labels = list(dissimilarity.index) if isinstance(dissimilarity, pd.DataFrame) else None
    d = np.asarray(dissimilarity, dtype=float)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"dissimilarity must be a square matrix, got shape {d.shape}")
    if not np.isfinite(d).all():
        i, j = np.argwhere(~np.isfinite(d))[0]
        raise ValueError(f"dissimilarity[{i}, {j}] is {d[i, j]!r}")
    if not np.allclose(d, d.T, atol=1e-10):
        raise ValueError("dissimilarity matrix is not symmetric")
    n = d.shape[0]
    if not 1 <= n_components < n:
        raise ValueError(f"n_components must be in 1..{n - 1}, got {n_components}")
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d**2) @ j
    w, v = np.linalg.eigh((b + b.T) / 2)
    w, v = w[::-1], v[:, ::-1]
    if (w[:n_components] <= 0).any():
        raise ValueError(
            f"only {(w > 0).sum()} positive eigenvalue(s); "
            f"cannot embed in {n_components} dimensions"
        )
    x = v[:, :n_components] * np.sqrt(w[:n_components])
    big = np.argmax(np.abs(x), axis=0)
    x = x * np.sign(x[big, np.arange(n_components)])
    out = pd.DataFrame(x, columns=[f"dim_{i + 1}" for i in range(n_components)])
    out.insert(0, "label", labels if labels is not None else list(range(n)))
    return MDSResult(
        table=out,
        eigenvalues=w,
        explained=float(w[:n_components].sum() / w[w > 0].sum()),
    )


def metric_mds(
    dissimilarity: pd.DataFrame | np.ndarray, n_components: int = 2, random_state: int = 0
) -> MDSResult:
    """Metric MDS by SMACOF (:class:`sklearn.manifold.MDS`), seeded and started from classical MDS.

    Returns an :class:`MDSResult` as :func:`classical_mds`, with ``stress`` (raw stress;
    ``eigenvalues`` and ``explained`` are those of the classical start). Starting from the
    classical solution makes the result deterministic and comparable; ``random_state`` is
    passed to sklearn.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [3, 0], [0, 4], [1, 1]], dtype=float)
    >>> d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    >>> bool(metric_mds(d).stress < 1e-6)
    True
    """
    from sklearn.manifold import MDS

    init = classical_mds(dissimilarity, n_components)
    labels = init.table["label"].tolist()
    start = init.coordinates()
    mds = MDS(
        n_components=n_components,
        dissimilarity="precomputed",
        metric=True,
        n_init=1,
        random_state=random_state,
        max_iter=3000,
        eps=1e-9,
        normalized_stress=False,
    )
    x = mds.fit_transform(np.asarray(dissimilarity, dtype=float), init=start)
    out = pd.DataFrame(x, columns=[f"dim_{i + 1}" for i in range(n_components)])
    out.insert(0, "label", labels)
    return MDSResult(
        table=out,
        eigenvalues=init.eigenvalues,
        explained=init.explained,
        stress=float(mds.stress_),
    )


# --------------------------------------------------------------------------- circumplex


@schema.orders_dimensions
def circumplex_positions(
    scores: pd.DataFrame,
    family: str = "pvq",
    method: str = "pearson",
    distance: str = "sqrt",
    mds: str = "classical",
    random_state: int = 0,
) -> pd.DataFrame:
    """2-D MDS map of the value intercorrelations with each value's angle.

    Parameters
    ----------
    scores : DataFrame
        Tidy participant scores.
    family : str
        Dimension family (``pvq`` for the circumplex).
    method : {"pearson", "spearman"}
        Correlation.
    distance : {"sqrt", "linear"}
        See :func:`correlation_distance`.
    mds : {"classical", "metric"}
        :func:`classical_mds` or :func:`metric_mds`.
    random_state : int
        Seed of metric MDS.

    Returns
    -------
    DataFrame
        ``dimension, theoretical_position`` (0-based index in the schema's
        circumplex order), ``x, y, radius, angle_deg`` (counter-clockwise from
        the first axis, in [0, 360)), ``recovered_position`` (rank of the
        angle, 0-based). The fit of the map (``explained`` share, ``stress``)
        is the :class:`MDSResult` of :func:`classical_mds` / :func:`metric_mds`.

    Examples
    --------
    >>> pos = circumplex_positions(synthetic_circumplex(n_participants=500, seed=1))
    >>> pos.columns.tolist()
    ['dimension', 'theoretical_position', 'x', 'y', 'radius', 'angle_deg', 'recovered_position']
    """
    corr = correlation_matrix(scores, family, method)
    d = correlation_distance(corr, distance)
    if mds == "classical":
        xy = classical_mds(d, 2)
    elif mds == "metric":
        xy = metric_mds(d, 2, random_state)
    else:
        raise ValueError(f"mds must be 'classical' or 'metric', got {mds!r}")
    x, y = xy.table["dim_1"].to_numpy(), xy.table["dim_2"].to_numpy()
    angle = np.degrees(np.arctan2(y, x)) % 360.0
    out = pd.DataFrame(
        {
            "dimension": list(corr.index),
            "theoretical_position": np.arange(len(corr)),
            "x": x,
            "y": y,
            "radius": np.hypot(x, y),
            "angle_deg": angle,
            "recovered_position": np.argsort(np.argsort(angle, kind="stable"), kind="stable"),
        }
    )
    return out


def _circular_distance(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    diff = np.abs(a - b) % n
    return np.minimum(diff, n - diff)


def circumplex_check(
    positions: pd.DataFrame, theoretical: tuple[str, ...] | list[str] | None = None
) -> pd.DataFrame:
    """Compare the recovered circular order with the theoretical one (rotation and reflection free).

    Parameters
    ----------
    positions : DataFrame
        ``dimension`` and ``angle_deg`` (e.g. :func:`circumplex_positions`).
    theoretical : sequence of str, optional
        Theoretical circular order; default :data:`vp_stats.schema.PVQ_VALUES`.

    Returns
    -------
    DataFrame
        One row:

        - ``recovered_order``: the dimensions in angular order, starting at
          the first theoretical dimension and running in the direction that
          best matches the theory (``-``-joined abbreviations for PVQ values);
        - ``direction``: ``same`` or ``reflected`` (the map runs clockwise);
        - ``exact_order``: the recovered order equals the theoretical one up
          to rotation and reflection;
        - ``adjacent_pairs_preserved`` of ``n_adjacent_pairs``: theoretical
          neighbours (including the last-first pair) that are neighbours on
          the map (invariant to rotation and reflection);
          ``expected_adjacent_by_chance`` = ``2 n / (n - 1)`` for a random
          circular order;
        - ``mean_displacement``, ``max_displacement``: circular distance (in
          positions) between each value's theoretical and recovered position
          after the best rotation and reflection (least total displacement);
        - ``circular_rank_association``: ``max(r+, r-)`` with
          ``r± = |mean exp(i (g ∓ h))|^2`` for uniform scores ``g = 2 pi
          theoretical / n``, ``h = 2 pi recovered / n`` (the rank-based
          angular-angular association of Fisher & Lee, 1982, Biometrika 69,
          315-321); 1 exactly when the order matches up to rotation or
          reflection.

    Examples
    --------
    >>> import pandas as pd
    >>> from vp_stats import schema, tables
    >>> angles = pd.DataFrame({"dimension": schema.PVQ_VALUES,
    ...                        "angle_deg": [360 - 36 * i for i in range(10)]})
    >>> c = circumplex_check(angles)
    >>> c[["direction", "exact_order", "adjacent_pairs_preserved"]].values.tolist()
    [['reflected', True, 10]]
    """
    theo = list(schema.PVQ_VALUES if theoretical is None else theoretical)
    n = len(theo)
    if n < 3:
        raise ValueError(f"a circular order needs at least 3 dimensions, got {n}")
    tables.require(positions, ["dimension", "angle_deg"], "positions", numeric=["angle_deg"])
    pos = positions.set_index("dimension")
    missing = [d for d in theo if d not in pos.index]
    if missing:
        raise ValueError(f"positions lack dimension(s) {missing}")
    angle = pos.loc[theo, "angle_deg"].to_numpy(dtype=float)
    if not np.isfinite(angle).all():
        raise ValueError(
            f"non-finite angle for {theo[int(np.flatnonzero(~np.isfinite(angle))[0])]}"
        )
    rec = np.argsort(np.argsort(angle % 360.0, kind="stable"), kind="stable")  # rank by angle
    t = np.arange(n)
    best = None
    for direction in (1, -1):
        for shift in range(n):
            aligned = (direction * rec + shift) % n
            disp = _circular_distance(aligned, t, n)
            key = (disp.sum(), direction != 1, shift)
            if best is None or key < best[0]:
                best = (key, direction, aligned, disp)
    _, direction, aligned, disp = best
    order_idx = np.argsort(aligned)  # theoretical indices in recovered order, from position 0
    start = int(np.flatnonzero(order_idx == 0)[0])
    order_idx = np.roll(order_idx, -start)
    abbrev = {**schema.PVQ_ABBREV}
    recovered = "-".join(abbrev.get(theo[i], theo[i]) for i in order_idx)
    # adjacency on the map
    nxt = {int(order_idx[i]): int(order_idx[(i + 1) % n]) for i in range(n)}
    preserved = sum(nxt[i] == (i + 1) % n or nxt[(i + 1) % n] == i for i in range(n))
    g = 2 * np.pi * t / n
    h = 2 * np.pi * rec / n
    r_plus = np.abs(np.exp(1j * (g - h)).mean()) ** 2
    r_minus = np.abs(np.exp(1j * (g + h)).mean()) ** 2
    return pd.DataFrame(
        {
            "recovered_order": [recovered],
            "theoretical_order": ["-".join(abbrev.get(d, d) for d in theo)],
            "direction": ["same" if direction == 1 else "reflected"],
            "exact_order": [bool(disp.max() == 0)],
            "adjacent_pairs_preserved": [int(preserved)],
            "n_adjacent_pairs": [n],
            "expected_adjacent_by_chance": [2 * n / (n - 1)],
            "mean_displacement": [float(disp.mean())],
            "max_displacement": [int(disp.max())],
            "circular_rank_association": [float(max(r_plus, r_minus))],
        }
    )


def synthetic_circumplex(
    n_participants: int = 400,
    noise: float = 0.5,
    family: str = "pvq",
    seed: int = 0,
) -> pd.DataFrame:
    """Scores with a perfect circumplex structure, for tests and examples.

    Each participant has a 2-D latent vector ``z ~ N(0, I)``; value ``j`` (in
    schema order) scores ``z . (cos a_j, sin a_j) + noise * e`` with equally
    spaced angles ``a_j = 2 pi j / n``, so the population correlation of two
    values falls with their circular distance.

    Returns
    -------
    DataFrame
        Tidy ``participant, family, dimension, score``.

    Examples
    --------
    >>> s = synthetic_circumplex(n_participants=10, seed=2)
    >>> s.shape, s.dimension.iloc[0]
    ((100, 4), 'Self_Direction')
    """
    dims = schema.FAMILIES[family]
    rng = np.random.default_rng(seed)
    a = 2 * np.pi * np.arange(len(dims)) / len(dims)
    z = rng.normal(size=(n_participants, 2))
    x = z @ np.vstack([np.cos(a), np.sin(a)]) + noise * rng.normal(size=(n_participants, len(dims)))
    pids = [f"C{i:04d}" for i in range(n_participants)]
    return pd.DataFrame(
        {
            "participant": np.repeat(pids, len(dims)),
            "family": family,
            "dimension": np.tile(dims, n_participants),
            "score": x.ravel(),
        }
    )
