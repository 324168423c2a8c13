"""Comparing two versions of an item: does one wording (or option order) measure the value better?

Two versions ``a`` and ``b`` of an item, rated by the same people, each have a
validity correlation with the criterion ``c`` (the raters' score on a value):
``rho_a = r(a, c)`` and ``rho_b = r(b, c)``. The two correlations share the
variable ``c`` and are dependent through ``r_ab = r(a, b)``, so their
difference is tested as a difference of dependent, overlapping correlations
(Steiger 1980; in his notation ``j = c``, ``k = a``, ``h = b``):

- **Williams' t** (Williams 1959; Steiger 1980, eq. 7), with ``n - 3`` df::

      t = (r_ac - r_bc) sqrt( (n - 1)(1 + r_ab) / (2 (n - 1)/(n - 3) |R| + rbar^2 (1 - r_ab)^3) )
      |R| = 1 - r_ac^2 - r_bc^2 - r_ab^2 + 2 r_ac r_bc r_ab,   rbar = (r_ac + r_bc) / 2

- **Steiger's Z** (Steiger 1980, eq. 14): Fisher's z of both correlations,
  with the Dunn & Clark (1969) asymptotic covariance of the two z's evaluated
  at the pooled ``rbar`` (Steiger's eq. 10; not the Meng, Rosenthal & Rubin
  1992 statistic)::

      Z = (z_ac - z_bc) sqrt(n - 3) / sqrt(2 - 2 c),
      c = (r_ab (1 - 2 rbar^2) - rbar^2 (1 - 2 rbar^2 - r_ab^2) / 2) / (1 - rbar^2)^2

- **Zou's (2007) CI** of ``rho_a - rho_b``: the Fisher-z limits ``(l, u)`` of
  each correlation combined with the correlation between the two estimates
  (Zou 2007, p. 409)::

      L = d - sqrt((r_ac - l_a)^2 + (u_b - r_bc)^2 - 2 c' (r_ac - l_a)(u_b - r_bc))
      U = d + sqrt((u_a - r_ac)^2 + (r_bc - l_b)^2 - 2 c' (u_a - r_ac)(r_bc - l_b))
      c' = ((r_ab - r_ac r_bc / 2)(1 - r_ac^2 - r_bc^2 - r_ab^2) + r_ab^3) / ((1 - r_ac^2)(1 -
      r_bc^2))

The formulas are derived for Pearson correlations of normal variables; with
``method="spearman"`` (the default, as item validation) they are applied to
the rank correlations, the usual large-sample approximation.

Pooled over pairs (:func:`compare_versions`): the mean of the pairs'
differences, with a percentile CI from a bootstrap over raters
(:class:`vp_stats.stats.resampling.Resampler`): every resample draws raters with
replacement from everyone who rated a version, recomputes all pairs'
correlations on the drawn raters and averages their differences, so the
dependence between pairs that share raters is kept (a meta-analytic
combination would treat the pairs as independent).

Examples
--------
>>> d = dependent_correlations(0.396, 0.179, 0.088, 66)   # Zou (2007), example 2
>>> d[["zou_low", "zou_high"]].round(3).values.tolist()
[[-0.093, 0.517]]
>>> # Steiger (1980), case A
>>> round(float(dependent_correlations(0.4, 0.5, 0.1, 103).steiger_z[0]), 4)
-0.8887
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats import tables
from vp_stats.errors import TableError
from vp_stats.stats import validation
from vp_stats.stats.resampling import Resampler, check_boot_options, multiplicities, percentile_ci

__all__ = [
    "dependent_correlations",
    "version_pairs",
    "compare_versions",
    "VersionComparison",
    "check_options",
    "COMPARISON_COLUMNS",
    "POOLED_COLUMNS",
]

#: Columns of ``compare_versions(...).comparison`` (the CLI's version_comparison.csv).
COMPARISON_COLUMNS = [
    "item_a",
    "item_b",
    "dimension",
    "n",
    "rho_a",
    "rho_b",
    "r_ab",
    "diff",
    "williams_t",
    "p_williams",
    "steiger_z",
    "p_steiger",
    "zou_low",
    "zou_high",
    "family",
]

#: Columns of ``compare_versions(...).pooled``.
POOLED_COLUMNS = [
    "dimension",
    "family",
    "n_pairs",
    "mean_rho_a",
    "mean_rho_b",
    "mean_diff",
    "ci_low",
    "ci_high",
    "n_boot_valid",
    "n_a_better",
    "n_b_better",
]


def dependent_correlations(r_ac, r_bc, r_ab, n, ci: float = 0.95) -> pd.DataFrame:
    """Williams' t, Steiger's Z and Zou's CI for ``r_ac - r_bc`` (two correlations sharing ``c``).

    Parameters
    ----------
    r_ac, r_bc : float or array
        The two correlations with the shared variable ``c``.
    r_ab : float or array
        The correlation between ``a`` and ``b``.
    n : int or array
        Sample size (the cases with all three variables).
    ci : float
        Coverage of Zou's interval.

    Returns
    -------
    DataFrame
        ``diff, williams_t, df, p_williams, steiger_z, p_steiger, zou_low,
        zou_high``, one row per element (two-sided p-values). NaN where a
        statistic is undefined (``n <= 3``, a correlation of +-1, NaN input).

    Notes
    -----
    Formulas in the module docstring: Williams (1959) as Steiger (1980, eq. 7);
    Steiger (1980, eq. 14, covariance eq. 10 at the mean correlation); Zou
    (2007, p. 409). Checked against Zou's example 2, Steiger's case A, the
    DEPCOR values of Silver, Hittner & May (2006) and R ``psych::r.test``
    (tests/stats/test_versions.py).

    Examples
    --------
    >>> t = dependent_correlations(0.3, 0.4, 0.5, 100)   # DEPCOR (Silver et al., 2006)
    >>> t[["williams_t", "p_williams", "steiger_z", "p_steiger"]].round(4).values.tolist()
    [[-1.0767, 0.2843, -1.0718, 0.2838]]
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    r1, r2, r12, n = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=float)) for v in (r_ac, r_bc, r_ab, n))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = r1 - r2
        det = 1 - r1**2 - r2**2 - r12**2 + 2 * r1 * r2 * r12
        rbar = (r1 + r2) / 2
        t = diff * np.sqrt(
            (n - 1) * (1 + r12) / (2 * (n - 1) / (n - 3) * det + rbar**2 * (1 - r12) ** 3)
        )
        df = n - 3
        p_t = 2 * stats.t.sf(np.abs(t), df)
        c_bar = (r12 * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r12**2)) / (
            1 - rbar**2
        ) ** 2
        z = (np.arctanh(r1) - np.arctanh(r2)) * np.sqrt(n - 3) / np.sqrt(2 - 2 * c_bar)
        p_z = 2 * stats.norm.sf(np.abs(z))
        half = stats.norm.ppf((1 + ci) / 2) / np.sqrt(n - 3)
        l1, u1 = np.tanh(np.arctanh(r1) - half), np.tanh(np.arctanh(r1) + half)
        l2, u2 = np.tanh(np.arctanh(r2) - half), np.tanh(np.arctanh(r2) + half)
        c = ((r12 - 0.5 * r1 * r2) * (1 - r1**2 - r2**2 - r12**2) + r12**3) / (
            (1 - r1**2) * (1 - r2**2)
        )
        low = diff - np.sqrt((r1 - l1) ** 2 + (u2 - r2) ** 2 - 2 * c * (r1 - l1) * (u2 - r2))
        high = diff + np.sqrt((u1 - r1) ** 2 + (r2 - l2) ** 2 - 2 * c * (u1 - r1) * (r2 - l2))
    bad = n <= 3
    for a in (t, df, p_t, z, p_z, low, high):
        a[bad] = np.nan
    return pd.DataFrame(
        {
            "diff": diff,
            "williams_t": t,
            "df": df,
            "p_williams": p_t,
            "steiger_z": z,
            "p_steiger": p_z,
            "zou_low": low,
            "zou_high": high,
        }
    )


# --------------------------------------------------------------------------- pairs


def version_pairs(
    items: Sequence[str],
    versions: tuple[str, str] = ("likely", "similar"),
    pattern: str | None = None,
) -> pd.DataFrame:
    """Pair the two versions of each item from their ids.

    An id is split by ``pattern``, a regular expression with the named groups
    ``key`` (what the versions share) and ``version`` (one of ``versions``);
    an optional group ``number`` orders several items of one key. Items of the
    same key are paired in order (first ``versions[0]`` item with the first
    ``versions[1]`` item, ...). The default pattern reads ids such as
    ``abby_Power_likely_07`` (:func:`vp_stats.io.simulate.synthetic_study`):
    ``^(?P<key>.*)_(?P<version>likely|similar)(?:_(?P<number>\\d+))?$``.

    Returns
    -------
    DataFrame
        ``item_a`` (version ``versions[0]``), ``item_b``, ``key``; ids that do
        not match are ignored; a key with unequal numbers of the two versions
        is an error.

    Examples
    --------
    >>> version_pairs(["abby_Power_likely_04", "abby_Power_similar_14", "abby_Tradition_likely_07",
    ...                "abby_Tradition_similar_17", "other"]).values.tolist()
    [['abby_Power_likely_04', 'abby_Power_similar_14', 'abby_Power'], ['abby_Tradition_likely_07',
    'abby_Tradition_similar_17', 'abby_Tradition']]
    >>> pattern = r"^(?P<key>q\\d+)(?P<version>_rev)?$"
    >>> version_pairs(["q1", "q1_rev"], ("orig", "rev"), pattern).values.tolist()
    [['q1', 'q1_rev', 'q1']]
    """
    a, b = versions
    if pattern is None:
        pattern = rf"^(?P<key>.*)_(?P<version>{re.escape(a)}|{re.escape(b)})(?:_(?P<number>\d+))?$"
    rx = re.compile(pattern)
    if not {"key", "version"} <= set(rx.groupindex):
        raise ValueError("pattern needs the named groups 'key' and 'version'")
    found: dict[str, dict[str, list]] = {}
    for it in dict.fromkeys(map(str, items)):
        m = rx.match(it)
        if m is None:
            continue
        ver = m.group("version")
        ver = (
            a if ver is None else ver.strip("_")
        )  # an absent optional version group: the first version
        if ver not in (a, b):
            continue
        num = m.groupdict().get("number")
        found.setdefault(m.group("key"), {a: [], b: []})[ver].append((int(num) if num else -1, it))
    rows = []
    for key, vs in found.items():
        xa, xb = sorted(vs[a]), sorted(vs[b])
        if len(xa) != len(xb):
            raise ValueError(
                f"item key {key!r} has {len(xa)} {a!r} and {len(xb)} {b!r} version(s); "
                "give the pairs as a table (item_a, item_b)"
            )
        rows += [(ia, ib, key) for (_, ia), (_, ib) in zip(xa, xb, strict=True)]
    if not rows:
        raise ValueError(
            f"no item id matched the pattern {pattern!r} with both versions {versions}"
        )
    return pd.DataFrame(rows, columns=["item_a", "item_b", "key"])


def _pairs_table(
    pairs: pd.DataFrame,
    items: pd.Index,
    dim_family: dict[str, str],
    source: str = "pairs",
    from_file: bool = False,
) -> pd.DataFrame:
    """Check the pairs (item_a, item_b[, dimension]) against the rated items and scored dimensions.

    Problems are :class:`~vp_stats.errors.TableError` naming ``source`` and the
    1-based data row (with its file line when ``from_file``).
    """
    if not isinstance(pairs, pd.DataFrame):
        raise ValueError("pairs must be a DataFrame with columns item_a, item_b[, dimension]")
    tables.require(pairs, ["item_a", "item_b"], source)
    if pairs.empty:
        raise TableError(source, None, None, "no pairs", from_file=from_file)
    p = pairs.reset_index(drop=True).copy()
    for c in ("item_a", "item_b"):
        blank = p[c].isna() | (p[c].astype(str).str.strip() == "")
        if blank.any():
            at = int(np.flatnonzero(blank.to_numpy())[0])
            raise TableError(source, at + 1, c, "empty item id", from_file=from_file)
        p[c] = p[c].astype(str)
        unknown = ~p[c].isin(items)
        if unknown.any():
            at = int(np.flatnonzero(unknown.to_numpy())[0])
            raise TableError(
                source, at + 1, c, f"item {p[c].iloc[at]!r} has no ratings", from_file=from_file
            )
    same = p["item_a"] == p["item_b"]
    if same.any():
        at = int(np.flatnonzero(same.to_numpy())[0])
        raise TableError(
            source,
            at + 1,
            "item_b",
            f"item_b equals item_a ({p['item_a'].iloc[at]!r})",
            from_file=from_file,
        )
    if "dimension" in p.columns and p["dimension"].notna().any():
        blank = p["dimension"].isna()
        if blank.any():
            at = int(np.flatnonzero(blank.to_numpy())[0])
            raise TableError(
                source,
                at + 1,
                "dimension",
                "empty dimension (give one for every pair or none)",
                from_file=from_file,
            )
        p["dimension"] = p["dimension"].astype(str)
        bad = ~p["dimension"].isin(list(dim_family))
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise TableError(
                source,
                at + 1,
                "dimension",
                f"unknown dimension {p['dimension'].iloc[at]!r} "
                f"(the scores hold: {', '.join(dim_family)})",
                from_file=from_file,
            )
        p["family"] = p["dimension"].map(dim_family)
    else:  # every pair on every scored dimension
        p = p.drop(columns=["dimension"], errors="ignore")
        dims = pd.DataFrame({"dimension": list(dim_family), "family": list(dim_family.values())})
        p = p.merge(dims, how="cross")
    dup = p.duplicated(["item_a", "item_b", "dimension"])
    if dup.any():
        r = p[dup].iloc[0]
        raise TableError(
            source,
            None,
            None,
            f"pair ({r['item_a']!r}, {r['item_b']!r}) on {r['dimension']} given twice",
            from_file=from_file,
        )
    return p[["item_a", "item_b", "family", "dimension"]]


# --------------------------------------------------------------------------- correlations


def _weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each column of x (n, k) with each column of y (n, d), case weights w (B, n)."""
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    size = w.sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = (w @ x) / size, (w @ y) / size
        cov = (
            np.einsum("bn,nk,nd->bkd", w, x, y) - size[:, :, None] * mx[:, :, None] * my[:, None, :]
        )
        vx = (w @ (x * x)) - size * mx**2
        vy = (w @ (y * y)) - size * my**2
        r = cov / np.sqrt(vx[:, :, None] * vy[:, None, :])
    tiny = 1e-12 * size[:, :, None]
    r[(vx[:, :, None] <= tiny) | (vy[:, None, :] <= tiny)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _pair_corrs(x: np.ndarray, y: np.ndarray, method: str, w: np.ndarray | None = None):
    """(rho of x's two columns with each y column (.., 2, d), r between x's columns).

    On the data, or per resample with the case weights ``w``.
    """
    if w is None:
        if method == "spearman":
            x, y = validation._rank_columns(x), validation._rank_columns(y)
        xy = validation._pearson_columns(x, np.concatenate([x, y], axis=1))
        return xy[:, 2:], xy[0, 1]
    if method == "spearman":
        mx = validation._tie_matrices(x)
        xy = validation._weighted_rank_corr(
            w, mx, np.concatenate([mx, validation._tie_matrices(y)], axis=1)
        )
    else:
        xy = _weighted_pearson(w, x, np.concatenate([x, y], axis=1))
    return xy[:, :, 2:], xy[:, 0, 1]


def check_options(method: str, ci: float, n_boot: int) -> None:
    """The options of :func:`compare_versions`, checked in one place (also before reading files).

    Examples
    --------
    >>> check_options("pearson", 0.9, 0)
    """
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    check_boot_options(n_boot, ci, allow_zero=True)


@dataclass(frozen=True, kw_only=True)
class VersionComparison(tables.Result):
    """What :func:`compare_versions` returns: per-pair and pooled comparisons, and notes.

    Attributes
    ----------
    table : DataFrame
        One row per pair and dimension (:data:`COMPARISON_COLUMNS`); also :attr:`comparison`.
    pooled : DataFrame
        One row per dimension, plus ``all`` when the pairs name their dimensions
        (:data:`POOLED_COLUMNS`).
    method : str
        ``"spearman"`` or ``"pearson"``.
    ci : float
        Coverage of the intervals.
    n_boot, seed : int
        Rater resamples of the pooled interval and their seed.
    notes : mapping
        ``method``, ``ci``, ``n_boot`` and ``seed``.

    Examples
    --------
    >>> import pandas as pd
    >>> res = VersionComparison(table=pd.DataFrame({"item_a": ["x"]}), pooled=pd.DataFrame(),
    ...                         method="spearman", ci=0.95, n_boot=0, seed=0)
    >>> res.comparison.item_a.tolist(), res.notes["method"]
    (['x'], 'spearman')
    """

    pooled: pd.DataFrame
    method: str
    ci: float
    n_boot: int
    seed: int

    def __post_init__(self):
        if not self.notes:
            notes = {"method": self.method, "ci": self.ci, "n_boot": self.n_boot, "seed": self.seed}
            object.__setattr__(self, "notes", notes)

    @property
    def comparison(self) -> pd.DataFrame:
        """One row per pair and dimension (the result's ``table``)."""
        return self.table


def compare_versions(
    ratings: pd.DataFrame,
    scores: pd.DataFrame,
    pairs: pd.DataFrame,
    families: tuple[str, ...] | list[str] | None = None,
    method: str = "spearman",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    *,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    dimensions=None,
    pairs_source: str | None = None,
    validated: bool = False,
) -> VersionComparison:
    """Validity of two versions of each item: per pair and pooled over pairs.

    Parameters
    ----------
    ratings, scores : DataFrame
        Ratings and the raters' scores (as :func:`vp_stats.stats.validation.item_correlations`).
    pairs : DataFrame
        ``item_a, item_b`` and optionally ``dimension`` (the value the item
        measures): each pair is compared on that dimension, or on every scored
        dimension when the column is absent. :func:`version_pairs` derives pairs from ids.
    families : sequence of str, optional
        Families of dimensions (default: all in ``scores``).
    method : {"spearman", "pearson"}
        The correlation (Spearman, as item validation, by default).
    ci : float
        Coverage of Zou's intervals and of the pooled bootstrap interval.
    n_boot, seed :
        Rater resamples of the pooled interval (``n_boot=0``: none) and their seed.
    pairs_source : str, optional
        The file the pairs came from, named in error messages (with file lines).
    participant, item, rating, scale, dimensions, validated :
        As :func:`vp_stats.stats.validation.item_correlations`.

    Returns
    -------
    VersionComparison
        ``comparison`` (also ``table``): one row per pair and dimension
        (:data:`COMPARISON_COLUMNS`):
        ``n`` raters of both versions, ``rho_a, rho_b`` (validity of each
        version), ``r_ab``, ``diff = rho_a - rho_b``, Williams' t and Steiger's
        Z with two-sided p-values, Zou's CI of ``diff``.
        ``pooled``: one row per dimension, plus ``all`` when the pairs name
        their dimensions (:data:`POOLED_COLUMNS`): number of pairs, mean
        validities, ``mean_diff`` with its rater-bootstrap percentile CI,
        ``n_a_better`` / ``n_b_better`` (pairs whose Zou CI lies above / below 0).

    Examples
    --------
    >>> from vp_stats.stats import simulate
    >>> st = simulate.synthetic_study(n_participants=200, n_items=60, seed=3)
    >>> pairs = version_pairs(st["truth"]["item"]).merge(st["truth"][["item", "dimension"]],
    ...                                                  left_on="item_a", right_on="item")
    >>> res = compare_versions(st["ratings"], st["scores"], pairs, families=["pvq"], n_boot=200,
    ...                        seed=1)
    >>> res.comparison.shape, res.pooled.dimension.iloc[-1]
    ((30, 15), 'all')
    """
    check_options(method, ci, n_boot)
    inp = validation._inputs(
        ratings, scores, families, participant, item, rating, scale, dimensions, validated
    )
    r, s, families, dims = inp.ratings, inp.scores, inp.families, inp.dims
    values, cols = validation._value_matrix(s, families, dims)
    wide, mat, _, _ = validation._rater_sets(r)
    vals = values.reindex(wide.index).to_numpy(dtype=float)
    dim_family = {dd: f for f, dd in cols}
    by_dimension = "dimension" in pairs.columns and pairs["dimension"].notna().any()
    p = _pairs_table(
        pairs, wide.columns, dim_family, pairs_source or "pairs", pairs_source is not None
    )
    col_of = {dd: j for j, (_, dd) in enumerate(cols)}
    unique_pairs = list(dict.fromkeys(zip(p["item_a"], p["item_b"], strict=True)))
    ia, ib = (
        wide.columns.get_indexer([u[0] for u in unique_pairs]),
        wide.columns.get_indexer([u[1] for u in unique_pairs]),
    )

    # per pair: correlations on the raters of both versions
    rho = np.full((len(unique_pairs), 2, len(cols)), np.nan)
    rab = np.full(len(unique_pairs), np.nan)
    n = np.zeros(len(unique_pairs), dtype=int)
    rows_of = []
    for u, (ja, jb) in enumerate(zip(ia, ib, strict=True)):
        rows = ~np.isnan(mat[:, ja]) & ~np.isnan(mat[:, jb])
        rows_of.append(rows)
        n[u] = rows.sum()
        if n[u] >= 2:
            rho[u], rab[u] = _pair_corrs(mat[np.ix_(rows, [ja, jb])], vals[rows], method)
    pu = {pair: u for u, pair in enumerate(unique_pairs)}
    u_i = np.array([pu[(a, b)] for a, b in zip(p["item_a"], p["item_b"], strict=True)])
    d_i = p["dimension"].map(col_of).to_numpy()
    ra, rb = rho[u_i, 0, d_i], rho[u_i, 1, d_i]
    tests = dependent_correlations(ra, rb, rab[u_i], n[u_i], ci)
    comp = p.assign(n=n[u_i], rho_a=ra, rho_b=rb, r_ab=rab[u_i])
    comp = pd.concat([comp.reset_index(drop=True), tests.drop(columns="df")], axis=1)[
        COMPARISON_COLUMNS
    ]

    # pooled: mean difference per dimension (and over all rows), rater-bootstrap CI
    groups = [
        (dd, f, np.flatnonzero(comp["dimension"].to_numpy() == dd))
        for f, dd in cols
        if (comp["dimension"] == dd).any()
    ]
    if by_dimension:
        groups.append(("all", "all", np.arange(len(comp))))
    boot = None
    if n_boot:
        rated = np.zeros(len(wide.index), dtype=bool)
        for rows in rows_of:
            rated |= rows
        pool = np.flatnonzero(rated)  # the raters of any version: the resampled population
        w_all = np.zeros((n_boot, len(wide.index)))
        w_all[:, pool] = multiplicities(Resampler(seed).indices(len(pool), n_boot), len(pool))
        brho = np.full((n_boot, len(unique_pairs), 2, len(cols)), np.nan)
        for u, (ja, jb) in enumerate(zip(ia, ib, strict=True)):
            rows = rows_of[u]
            if n[u] >= 2:
                brho[:, u] = _pair_corrs(
                    mat[np.ix_(rows, [ja, jb])], vals[rows], method, w_all[:, rows]
                )[0]
        boot = brho[:, u_i, 0, d_i] - brho[:, u_i, 1, d_i]  # (n_boot, rows of comp)
    out = []
    diff = comp["diff"].to_numpy()
    for dd, f, at in groups:
        lo = hi = np.nan
        valid = 0
        if boot is not None:
            b = boot[:, at]
            with np.errstate(invalid="ignore"):
                means = np.where(
                    np.isnan(b).all(axis=1),
                    np.nan,
                    np.nansum(b, axis=1) / np.maximum((~np.isnan(b)).sum(axis=1), 1),
                )
            lo, hi, valid = percentile_ci(means, ci)
        sub = comp.iloc[at]
        out.append(
            (
                dd,
                f,
                len(at),
                sub["rho_a"].mean(),
                sub["rho_b"].mean(),
                np.nanmean(diff[at]) if len(at) else np.nan,
                float(lo),
                float(hi),
                int(valid),
                int((sub["zou_low"] > 0).sum()),
                int((sub["zou_high"] < 0).sum()),
            )
        )
    return VersionComparison(
        table=comp,
        pooled=pd.DataFrame(out, columns=POOLED_COLUMNS),
        method=method,
        ci=ci,
        n_boot=n_boot,
        seed=seed,
    )
