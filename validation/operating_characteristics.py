"""Operating characteristics of vp-stats' inferences, by simulation with known truth.

Every figure is a Monte Carlo estimate over seeded synthetic studies
(:mod:`vp_stats.stats.simulate`) printed with its Monte Carlo standard error
(the standard deviation of the per-study values over ``sqrt(reps)``: the
cells of one simulated study share its raters and selection, so the study is the
independent unit). At each number of raters per item (47, as the released Value
Portrait study, and 200):

- **coverage of the profile intervals** for a model whose profile is known
  (:func:`vp_stats.stats.simulate.synthetic_model_answers`): the one-stage
  item-resampling CI of :func:`vp_stats.stats.scoring.value_profiles` and the
  two-stage intervals of :func:`vp_stats.stats.uncertainty.selection_uncertainty`
  (its default, and the earlier default: rule reselection, percentile interval),
  with the shrinkage of the estimates towards 0 (``1 - slope`` of the estimate
  on the truth);
- **false-discovery rate** of each selection rule
  (:func:`vp_stats.stats.validation.select_items`): the paper's ``rho > 0.3`` and the
  default for a user's own study, ``rho > 0.3 and p_fdr < 0.05``; a selected item x
  value pair is false when the item does not measure the value (it targets another
  value, or its true loading is 0); the rate is the mean false-discovery proportion;
- **type I error** of the version tests (:func:`vp_stats.stats.versions.compare_versions`)
  on pairs of equally valid versions (:func:`vp_stats.stats.simulate.synthetic_version_pairs`);
- **family-wise error of Benjamini-Hochberg under the global null** (no item related to
  any value; 1200 tests) with the t-approximation Spearman p-value
  (:func:`vp_stats.stats.validation.spearman_pvalue`, the default from 100 raters on) and,
  below 100 raters, with the permutation p-value that ``validate_items(p_method="auto")``
  uses there by default (:func:`vp_stats.stats.spearman.permutation_pvalues`, the package's
  ``n_perm`` and refinement); its Monte Carlo error is the binomial one over ``--null-reps``
  studies (t) and the first ``--perm-null-reps`` of them (permutation, about 0.5 s a study).

Run ``python -m validation.operating_characteristics`` (or ``python
validation/operating_characteristics.py``): 20 studies per size, 2000 global-null studies and
500 of them with permutation p-values, about 7 minutes on one core; ``--reps N`` for more
studies (README.md, "Operating characteristics": ``--reps 100 --intervals --null-reps 5000
--perm-null-reps 3000 --jobs 2``), ``--quick`` (3 studies, 40 resamples, 200 null studies, 20 with
permutation p-values: seconds), ``--jobs`` processes. Equal seeds give identical tables,
whatever ``--jobs``.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use this checkout's vp_stats
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from vp_stats import schema  # noqa: E402
from vp_stats.stats import simulate, spearman, uncertainty, validation, versions  # noqa: E402

#: The simulated study: items per study, their true loadings (cycled in blocks of ten
#: items, one per value), models per study, version pairs per study.
DESIGN = {
    "n_items": 120,
    "loadings": (0.0, 0.2, 0.3, 0.4, 0.5, 0.6),
    "n_models": 5,
    "n_pairs": 10,
    "pair_loading": 0.4,
}

#: The selection rules compared (keyword arguments of ``select_items``): the paper's
#: rule and the default for a user's own study.
RULES = {
    "rho > 0.3": {},
    "rho > 0.3 and p_fdr < 0.05": {"max_fdr": 0.05},
}

#: The global null of the family-wise error: items per study (every one unrelated to
#: every value), so ``NULL_ITEMS x 10`` Spearman tests in the family ``pvq``.
NULL_ITEMS = 120

#: Monte Carlo permutations of the permutation p-value: the package default of
#: ``validate_items(n_perm=...)``, so the figure is the one a user's study gets. Why it
#: suffices: with m = NULL_ITEMS x 10 = 1200 pairs, BH's smallest threshold is
#: 0.05 / 1200 = 4.2e-5. The first stage alone (10,000 permutations) could not reach it (its
#: smallest two-sided p is 2 / 10,001 = 2e-4), but ``permutation_pvalues`` tests every pair
#: with fewer than 10 permuted values as extreme again with 10 x n_perm = 100,000 fresh
#: permutations, so 1 / (100,000 + 1) = 1e-5 is a quarter of that threshold and the smallest
#: p, 2 / 100,001 = 2.0e-5, passes it. The remaining discreteness can only make the
#: (count + 1) / (n + 1) p-value conservative, never anti-conservative (Phipson & Smyth, 2010).
N_PERM = inspect.signature(validation.validate_items).parameters["n_perm"].default

#: Rows of the table: (key, label, nominal value or None).
QUANTITIES = [
    ("cov_one_stage", "coverage, one-stage item CI (value_profiles)", 0.95),
    ("cov_default", "coverage, two-stage CI (selection_uncertainty default)", 0.95),
    ("cov_rule_pct", "coverage, two-stage CI (reselect='rule', percentile)", 0.95),
    ("cov_studentized", "coverage, two-stage CI (same_size, studentized)", 0.95),
    ("cov_percentile", "coverage, two-stage CI (same_size, percentile)", 0.95),
    ("width_one_stage", "mean width, one-stage item CI (scale points)", None),
    ("width_default", "mean width, two-stage CI, default (scale points)", None),
    ("width_rule_pct", "mean width, two-stage CI, reselect='rule', percentile", None),
    ("width_studentized", "mean width, two-stage CI, same_size, studentized", None),
    ("width_percentile", "mean width, two-stage CI, same_size, percentile", None),
    ("shrink", "shrinkage of the profile estimates towards 0", None),
    *[(f"fdp {r}", f"FDR (mean false-discovery proportion), {r}", None) for r in RULES],
    *[(f"n_sel {r}", f"items selected per study, {r}", None) for r in RULES],
    ("t1_williams", "type I error, Williams' t (alpha 0.05)", 0.05),
    ("t1_steiger", "type I error, Steiger's Z (alpha 0.05)", 0.05),
    ("t1_zou", "type I error, Zou's CI excludes 0", 0.05),
    ("t1_pooled", "type I error, pooled bootstrap CI excludes 0", 0.05),
    ("fwer_t", f"BH family-wise error, global null, t p-value ({NULL_ITEMS * 10} tests)", 0.05),
    (
        "fwer_perm",
        f"BH family-wise error, global null, permutation p-value ({NULL_ITEMS * 10} tests; "
        f"default below {spearman.AUTO_MAX_N} raters)",
        0.05,
    ),
]


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _coverage(profiles: pd.DataFrame, truth: pd.Series, lo: str, hi: str) -> float:
    t = truth.reindex(pd.MultiIndex.from_frame(profiles[["model", "dimension"]])).to_numpy()
    ok = profiles[lo].notna() & profiles[hi].notna()
    inside = (profiles[lo] <= t) & (t <= profiles[hi])
    return float(inside[ok].mean())


def _width(profiles: pd.DataFrame, lo: str, hi: str) -> float:
    return float((profiles[hi] - profiles[lo]).mean())


def one_study(
    n_raters: int, sim: int, n_boot: int = 200, seed: int = 0, intervals: bool = False
) -> dict[str, float]:
    """All figures of one simulated study with ``n_raters`` raters per item.

    ``intervals=True`` adds the coverage of the other two-stage intervals
    (``same_size`` reselection, studentized and percentile).

    Examples
    --------
    >>> r = one_study(47, 0, n_boot=20)
    >>> 0 <= r["cov_default"] <= 1 and 0 <= r["fdp rho > 0.3"] <= 1
    True
    """
    s = _seed(seed, n_raters, sim)
    st = simulate.synthetic_study(
        n_participants=n_raters, n_items=DESIGN["n_items"], loadings=DESIGN["loadings"], seed=s
    )
    sim_answers = simulate.synthetic_model_answers(
        st["truth"], n_models=DESIGN["n_models"], seed=s + 1
    )
    truth = sim_answers["profiles"].set_index(["model", "dimension"])["profile"]
    kw = dict(families=["pvq"], exclusions=None, n_boot=n_boot, seed=s, answer_scale="1-6")
    out: dict[str, float] = {}
    default = uncertainty.selection_uncertainty(
        st["ratings"], st["scores"], sim_answers["answers"], **kw
    ).profiles
    out["cov_one_stage"] = _coverage(default, truth, "item_ci_low", "item_ci_high")
    out["cov_default"] = _coverage(default, truth, "ci_low", "ci_high")
    out["width_one_stage"] = _width(default, "item_ci_low", "item_ci_high")
    out["width_default"] = _width(default, "ci_low", "ci_high")
    rule = uncertainty.selection_uncertainty(
        st["ratings"],
        st["scores"],
        sim_answers["answers"],
        reselect="rule",
        interval="percentile",
        **kw,
    ).profiles
    out["cov_rule_pct"] = _coverage(rule, truth, "ci_low", "ci_high")
    out["width_rule_pct"] = _width(rule, "ci_low", "ci_high")
    for kind in ("studentized", "percentile") if intervals else ():
        other = uncertainty.selection_uncertainty(
            st["ratings"], st["scores"], sim_answers["answers"], interval=kind, **kw
        ).profiles
        out[f"cov_{kind}"] = _coverage(other, truth, "ci_low", "ci_high")
        out[f"width_{kind}"] = _width(other, "ci_low", "ci_high")
    t = truth.reindex(pd.MultiIndex.from_frame(default[["model", "dimension"]])).to_numpy()
    est = default["centered_mean"].to_numpy()
    ok = ~np.isnan(est)
    out["shrink"] = float(1 - (est[ok] @ t[ok]) / (t[ok] @ t[ok]))

    table = validation.validate_items(
        st["ratings"], st["scores"], families=["pvq"], n_boot=n_boot, seed=s
    ).table
    target = st["truth"].set_index("item")
    measures = (table["dimension"].to_numpy() == target["dimension"].reindex(table["item"])) & (
        target["loading"].reindex(table["item"]).to_numpy() > 0
    )
    for name, rule_kw in RULES.items():
        sel = validation.select_items(table, **rule_kw)["selected"].to_numpy(dtype=bool)
        out[f"fdp {name}"] = float((sel & ~measures).sum() / max(sel.sum(), 1))
        out[f"n_sel {name}"] = float(sel.sum())

    vp = simulate.synthetic_version_pairs(
        n_participants=n_raters,
        n_pairs=DESIGN["n_pairs"],
        loading=DESIGN["pair_loading"],
        seed=s + 2,
    )
    cmp = versions.compare_versions(vp["ratings"], vp["scores"], vp["pairs"], n_boot=n_boot, seed=s)
    c = cmp.comparison
    out["t1_williams"] = float((c["p_williams"] < 0.05).mean())
    out["t1_steiger"] = float((c["p_steiger"] < 0.05).mean())
    out["t1_zou"] = float(((c["zou_low"] > 0) | (c["zou_high"] < 0)).mean())
    pooled = cmp.pooled.set_index("dimension").loc["all"]
    out["t1_pooled"] = float((pooled["ci_low"] > 0) or (pooled["ci_high"] < 0))
    return out


def null_study(
    n_raters: int, n_items: int = NULL_ITEMS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Ratings (raters x items) unrelated to the value scores (raters x 10): the global null.

    As :func:`vp_stats.stats.simulate.synthetic_study` with every loading 0: ratings on 1-5
    from a standard normal cut at its quintiles (so with many ties), scores MRAT-centred
    normal; matrices, as ``item_correlations`` would see them after pivoting, so that
    thousands of studies take seconds.

    Examples
    --------
    >>> r, s = null_study(47, 120, seed=1)
    >>> r.shape, s.shape, sorted(np.unique(r).tolist())
    ((47, 120), (47, 10), [1, 2, 3, 4, 5])
    """
    rng = np.random.default_rng(seed)
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES], dtype=float)
    raw = rng.normal(0.0, 0.8, size=(n_raters, len(w)))
    scores = raw - (raw * w).sum(axis=1, keepdims=True) / w.sum()
    cuts = stats.norm.ppf(np.arange(1, 5) / 5)
    ratings = 1 + np.searchsorted(cuts, rng.normal(size=(n_raters, n_items)))
    return ratings.astype(np.int64), scores


def null_pvalues(
    ratings: np.ndarray,
    scores: np.ndarray,
    p_method: str = "t",
    n_perm: int = N_PERM,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman p-values (items x dimensions) and their BH adjustment over all the pairs.

    ``p_method="t"``: :func:`vp_stats.stats.validation.spearman_pvalue` of each rho (ranks
    with ties averaged, Pearson on the ranks); ``"permutation"``:
    :func:`vp_stats.stats.spearman.permutation_pvalues` of the whole rater set at once
    (``n_perm`` permutations drawn from ``seed``, the package's refinement of the smallest p),
    as ``validate_items(p_method="auto", n_perm=n_perm, seed=seed)`` below 100 raters. Then
    Benjamini-Hochberg over all the pairs (one family), as ``add_fdr``. Tests check both
    against the package to 1e-12.
    """
    if p_method == "permutation":
        p = spearman.permutation_pvalues(ratings, scores, n_perm, seed)[0]
    elif p_method == "t":
        rr = stats.rankdata(ratings, axis=0)
        rs = stats.rankdata(scores, axis=0)
        rr = (rr - rr.mean(axis=0)) / np.linalg.norm(rr - rr.mean(axis=0), axis=0)
        rs = (rs - rs.mean(axis=0)) / np.linalg.norm(rs - rs.mean(axis=0), axis=0)
        rho = np.clip(rr.T @ rs, -1, 1)
        p = validation.spearman_pvalue(rho, np.full(rho.shape, ratings.shape[0]))
    else:
        raise ValueError(f"p_method must be 't' or 'permutation', got {p_method!r}")
    q = stats.false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
    return p, q


def _null_row(args) -> dict[str, float]:
    n_raters, rep, seed, max_fdr, permutation = args
    ratings, scores = null_study(n_raters, seed=_seed(seed, n_raters, rep, 1))
    row = {"fwer_t": float((null_pvalues(ratings, scores)[1] < max_fdr).any())}
    if permutation:
        q = null_pvalues(ratings, scores, "permutation", seed=_seed(seed, n_raters, rep, 2))[1]
        row["fwer_perm"] = float((q < max_fdr).any())
    else:
        row["fwer_perm"] = np.nan
    return row


def simulate_null(
    n_raters: int,
    reps: int,
    seed: int = 0,
    max_fdr: float = 0.05,
    perm_reps: int = 0,
    jobs: int = 1,
) -> pd.DataFrame:
    """Whether BH (``p_fdr < max_fdr``) rejects anything under the global null: one row a study.

    ``fwer_t`` with the t-approximation p-value in every study; ``fwer_perm`` with the
    permutation p-value (:data:`N_PERM` permutations seeded per study) in the first
    ``perm_reps`` studies when ``n_raters`` is below
    :data:`vp_stats.stats.spearman.AUTO_MAX_N` (where it is the default), else NaN.
    ``jobs`` processes share the studies; every study has its own seeds, so the table does
    not depend on ``jobs``.

    Examples
    --------
    >>> simulate_null(47, 3, seed=1).columns.tolist()
    ['fwer_t', 'fwer_perm']
    """
    perm = n_raters < spearman.AUTO_MAX_N
    args = [(n_raters, rep, seed, max_fdr, perm and rep < perm_reps) for rep in range(reps)]
    with ProcessPoolExecutor(jobs) if jobs > 1 else nullcontext() as pool:
        rows = list(pool.map(_null_row, args, chunksize=8) if pool else map(_null_row, args))
    return pd.DataFrame(rows, columns=["fwer_t", "fwer_perm"])


def simulate_studies(
    n_raters: int,
    n_sims: int,
    n_boot: int = 200,
    seed: int = 0,
    log=None,
    jobs: int = 1,
    intervals: bool = False,
) -> pd.DataFrame:
    """One row of figures per simulated study (``one_study``), ``n_sims`` studies.

    ``jobs`` processes share the studies; every study has its own seed, so the table does
    not depend on ``jobs``.
    """
    t0 = time.perf_counter()
    args = [(n_raters, sim, n_boot, seed, intervals) for sim in range(n_sims)]
    rows = []
    with ProcessPoolExecutor(jobs) if jobs > 1 else nullcontext() as pool:
        results = pool.map(_study, args) if pool is not None else map(_study, args)
        for sim, row in enumerate(results):
            rows.append(row)
            if log is not None:
                elapsed = time.perf_counter() - t0
                print(f"{n_raters} raters: study {sim + 1}/{n_sims} ({elapsed:.0f} s)", file=log)
                log.flush()
    return pd.DataFrame(rows)


def _study(args) -> dict[str, float]:
    n_raters, sim, n_boot, seed, intervals = args
    return one_study(n_raters, sim, n_boot=n_boot, seed=seed, intervals=intervals)


def summarise(per_study: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Mean and Monte Carlo error of every figure: one row per quantity, per number of raters.

    Examples
    --------
    >>> d = pd.DataFrame({k: [0.9, 1.0] for k, _, _ in QUANTITIES})
    >>> s = summarise({47: d})
    >>> s.loc[0, ["estimate", "mc_error"]].round(3).tolist()
    [0.95, 0.05]
    """
    rows = []
    for n_raters, df in per_study.items():
        for key, label, nominal in QUANTITIES:
            if key not in df:
                continue
            v = df[key].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if not len(v):  # not run at this size
                continue
            se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
            rows.append((n_raters, label, nominal, v.mean(), se, len(v)))
    return pd.DataFrame(
        rows, columns=["n_raters", "quantity", "nominal", "estimate", "mc_error", "n_sims"]
    )


def format_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table: one row per quantity, one column per number of raters.

    A quantity not simulated at a size (the permutation p-value from 100 raters on) shows "—".
    """
    sizes = list(dict.fromkeys(summary["n_raters"]))
    lines = [
        "| quantity | nominal | " + " | ".join(f"{n} raters" for n in sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    for label in dict.fromkeys(summary["quantity"]):
        sub = summary[summary["quantity"] == label].set_index("n_raters")
        nominal = sub["nominal"].iloc[0]
        big = label.startswith("items selected")
        cells = [
            "—"
            if n not in sub.index
            else f"{sub.loc[n, 'estimate']:.1f} ± {sub.loc[n, 'mc_error']:.1f}"
            if big
            else f"{sub.loc[n, 'estimate']:.3f} ± {sub.loc[n, 'mc_error']:.3f}"
            for n in sizes
        ]
        nom = "" if nominal is None or pd.isna(nominal) else f"{nominal:g}"
        lines.append(f"| {label} | {nom} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(
    reps: int,
    n_boot: int = 200,
    seed: int = 0,
    raters=(47, 200),
    log=None,
    jobs: int = 1,
    intervals: bool = False,
    null_reps: int = 2000,
    perm_null_reps: int = 500,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary table at each number of raters, and the studies behind it.

    ``reps`` simulated studies per number of raters (:func:`one_study`) and ``null_reps``
    global-null studies (:func:`simulate_null`), the first ``perm_null_reps`` of them also
    with permutation p-values, give the rows of :data:`QUANTITIES`.
    """
    studies = {
        n: simulate_studies(
            n, reps, n_boot=n_boot, seed=seed, log=log, jobs=jobs, intervals=intervals
        )
        for n in raters
    }
    nulls = {
        n: simulate_null(n, null_reps, seed=seed, perm_reps=perm_null_reps, jobs=jobs)
        for n in raters
        if null_reps
    }
    per_study = pd.concat([d.assign(n_raters=n) for n, d in studies.items()], ignore_index=True)
    summary = pd.concat([summarise(studies), summarise(nulls)], ignore_index=True)
    return summary, per_study


def main(argv: list[str] | None = None) -> int:
    """Command line: print the operating-characteristics table (Markdown) with its MC errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--reps", type=int, default=None, help="simulated studies per number of raters (20)"
    )
    ap.add_argument(
        "--null-reps", type=int, default=None, help="global-null studies per size (2000)"
    )
    ap.add_argument(
        "--perm-null-reps",
        type=int,
        default=None,
        help="of the global-null studies, how many also with permutation p-values, below 100 "
        "raters (500; at most --null-reps)",
    )
    ap.add_argument("--n-boot", type=int, default=None, help="resamples (default 200)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="3 studies, 40 resamples, 200 null studies (20 with permutation p-values)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--raters", type=int, nargs="+", default=[47, 200])
    ap.add_argument(
        "--intervals",
        action="store_true",
        help="also the coverage of the studentized and percentile two-stage intervals",
    )
    ap.add_argument("--jobs", type=int, default=1, help="processes (the table does not change)")
    ap.add_argument(
        "--out", default=None, help="also write the summary (OUT) and every study (OUT.studies.csv)"
    )
    a = ap.parse_args(argv)
    reps = a.reps or (3 if a.quick else 20)
    null_reps = a.null_reps if a.null_reps is not None else (200 if a.quick else 2000)
    perm = a.perm_null_reps if a.perm_null_reps is not None else (20 if a.quick else 500)
    perm_null_reps = min(perm, null_reps)
    n_boot = a.n_boot or (40 if a.quick else 200)
    if reps < 2 or n_boot < 10 or null_reps < 0 or perm < 0:
        ap.error("--reps must be >= 2, --n-boot >= 10, --null-reps and --perm-null-reps >= 0")
    t0 = time.perf_counter()
    summary, per_study = run(
        reps,
        n_boot=n_boot,
        seed=a.seed,
        raters=a.raters,
        log=sys.stderr,
        jobs=a.jobs,
        intervals=a.intervals,
        null_reps=null_reps,
        perm_null_reps=perm_null_reps,
    )
    print(
        f"Operating characteristics: {reps} simulated studies per size ({null_reps} for the "
        f"global null, {perm_null_reps} of them also with permutation p-values below "
        f"{spearman.AUTO_MAX_N} raters, {N_PERM:,} permutations), {n_boot} resamples, "
        f"seed {a.seed}; estimate ± Monte Carlo standard error\n"
    )
    print(format_table(summary))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if a.out:
        summary.to_csv(a.out, index=False)
        per_study.to_csv(f"{a.out}.studies.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
