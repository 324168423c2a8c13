"""Item validation at any size: vp-stats' rank engine against what a competent user would write.

Studies: the released Value Portrait study (24,320 ratings), generated group designs like it
(:func:`vp_stats.stats.simulate.scale_study`: groups of 100 raters each rating their own
40 items) at 1x, 4x and 16x (500k, 2M and 8M ratings), and complete designs (every rater rates
every item) of 1,000, 2,500 and 5,000 raters x 200 items (200k, 500k and 1M ratings).

Peers, on the same tables in the same run:

- correlations: a vectorised pandas groupby-rank (merge the scores, rank within item,
  Pearson of the ranks from grouped sums); on the released study also pingouin
  (``pairwise_corr`` per item) and R ``psych::corr.test`` per rater set (where Rscript with psych
  is installed; timed inside R);
- bootstrap: a numpy bootstrap that per resample ranks every item and score column once
  (:func:`scipy.stats.rankdata`) and takes all correlations of a rater set as one matrix
  product, batched over resamples, on the same resample indices (at large sizes timed on
  fewer resamples; its per-resample time is compared).

Times are CPU seconds of the case's process (in brackets: wall seconds); on a shared machine
wall time also counts waiting for a core. Cases under 2 s, and the engine's correlations at
every size (they give the growth exponent), run at least three times and until they have used
2 CPU seconds (at most 15 runs; best kept): a case of 0.03 s timed three times
on a busy machine gave ratios from 2x to 4x (``bench_validation.py`` times its released case
the same way).
Every case runs in its own subprocess; its peak memory is that program's maximum resident set
(VmHWM), next to that of a subprocess that only loads the tables (``tables in memory``). Each
line prints the time, the ratio to a bound computed in this run (bootstrap: the floating-point
work of the covariances, 2 n k d per resample and rater set, at the GEMM speed measured here;
correlations: the bytes of the ratings' three columns at the copy bandwidth measured here),
and the growth exponents over the generated sizes: the slope of log time on log ratings fitted
by least squares over all sizes of a design (three each), printed with the exponent of every
step between consecutive sizes, and the same of the memory above the data. The complete design
of 2,500 raters is timed for the engine and pandas only (the peers' ratios are those of 1,000
and 5,000).

BLAS runs single-threaded in every case (the machine is shared; two threads of OpenBLAS on a
loaded machine are slower than one).

Run: python benchmarks/bench_scale.py [--quick] [--n-boot N] [--studies released,groups1x,...]
(--quick: generated sizes / 16)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sets VP_DATA_DIR to the shared mirror when present)
import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --------------------------------------------------------------------------- studies


def make_study(name: str, quick: bool) -> dict:
    """The tables of one study: ratings (participant, item, rating) and long scores."""
    from vp_stats.stats import simulate

    div = 16 if quick else 1
    if name == "released":
        from vp_stats.io import datasets
        from vp_stats.stats import validation

        s = datasets.load_participant_scores()
        r = datasets.load_ratings(participants=s)
        inp = validation._inputs(r, s, None)  # canonical (item, participant, rating)
        return {"ratings": inp.ratings, "scores": inp.scores}
    if name.startswith("groups"):  # groups of 100 raters x 40 items; 1x = 500k ratings
        mult = int(name[len("groups") : -1])
        groups = max(2, 125 * mult // div)
        st = simulate.scale_study(100 * groups, 40 * groups, n_groups=groups, seed=1)
    else:  # complete_<raters>
        raters = int(name.split("_")[1]) // div
        st = simulate.scale_study(raters, 200, seed=2)
    return {"ratings": st["ratings"], "scores": st["scores"]}


# --------------------------------------------------------------------------- peers


def _wide_scores(scores: pd.DataFrame) -> pd.DataFrame:
    w = scores.assign(col=scores["family"] + ":" + scores["dimension"]).pivot(
        index="participant", columns="col", values="score"
    )
    return w


def pandas_correlations(ratings: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Vectorised pandas: merge scores, rank within item, Pearson of ranks from grouped sums."""
    wide = _wide_scores(scores)
    dims = list(wide.columns)
    df = ratings[["participant", "item", "rating"]].merge(
        wide, left_on="participant", right_index=True
    )
    cols = ["rating", *dims]
    g = df.groupby("item", sort=True)
    rk = g[cols].rank()
    c = rk - rk.groupby(df["item"]).transform("mean")
    num = c[dims].mul(c["rating"], axis=0).groupby(df["item"]).sum()
    ss = (c * c).groupby(df["item"]).sum()
    rho = num.div(np.sqrt(ss[dims].mul(ss["rating"], axis=0)))
    return rho.stack().rename("rho").rename_axis(["item", "col"]).reset_index()


PINGOUIN_ITEMS = 52  # pingouin is timed on this many items; its time is scaled to all items


def pingouin_correlations(ratings: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """pingouin.pairwise_corr (Spearman) per item, on the first PINGOUIN_ITEMS items."""
    import pingouin as pg

    wide = _wide_scores(scores)
    dims = list(wide.columns)
    first = np.sort(ratings["item"].unique())[:PINGOUIN_ITEMS]
    df = ratings.loc[ratings["item"].isin(first), ["participant", "item", "rating"]].merge(
        wide, left_on="participant", right_index=True
    )
    out = [
        pg.pairwise_corr(g, columns=[["rating"], dims], method="spearman").assign(item=i)
        for i, g in df.groupby("item", sort=True)
    ]
    return pd.concat(out, ignore_index=True)


R_SCRIPT = r"""
suppressMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
r <- read.csv(args[1]); s <- read.csv(args[2], check.names = FALSE)
rownames(s) <- s$participant; s$participant <- NULL
wide <- reshape(r, idvar = "participant", timevar = "item", direction = "wide")
rownames(wide) <- wide$participant; wide$participant <- NULL
sets <- split(colnames(wide), apply(!is.na(wide), 2, function(m) paste(which(m), collapse = ",")))
t <- system.time({
  res <- lapply(sets, function(cols) {
    x <- wide[complete.cases(wide[, cols, drop = FALSE]), cols, drop = FALSE]
    corr.test(x, s[rownames(x), ], method = "spearman", adjust = "none", ci = FALSE)$r
  })
})
cat(sprintf("%.6f %d\n", t[["user.self"]] + t[["sys.self"]], sum(sapply(res, length))))
"""


def r_psych(ratings: pd.DataFrame, scores: pd.DataFrame, tmp: Path) -> tuple[float, int] | None:
    """psych::corr.test per rater set, timed inside R (None where R or psych is missing)."""
    if not shutil.which("Rscript"):
        return None
    ratings[["participant", "item", "rating"]].to_csv(tmp / "r.csv", index=False)
    _wide_scores(scores).reset_index().to_csv(tmp / "s.csv", index=False)
    (tmp / "corr.R").write_text(R_SCRIPT)
    res = subprocess.run(
        ["Rscript", str(tmp / "corr.R"), str(tmp / "r.csv"), str(tmp / "s.csv")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    if res.returncode:
        print(f"  (R psych skipped: {res.stderr.strip().splitlines()[-1:]})")
        return None
    secs, n = res.stdout.split()
    return float(secs), int(n)


def numpy_bootstrap(blocks, values, n_boot: int, seed: int):
    """Per resample: rank every item and score column once, all rhos as one matrix product."""
    from vp_stats.stats.resampling import Resampler, percentile_ci

    rs = Resampler(seed)
    out = []
    for blk in blocks:
        n, k = blk.ratings.shape
        xt = np.ascontiguousarray(np.hstack([blk.ratings, values[blk.raters]]).T)  # (m, n)
        idx = rs.indices(n, n_boot)
        boots = np.empty((n_boot, k, xt.shape[0] - k))
        step = int(max(1, min(n_boot, 2**26 // (xt.size * 8 * 4))))  # ~64 MiB of ranks
        for s in range(0, n_boot, step):
            rk = stats.rankdata(xt[:, idx[s : s + step]], axis=-1)  # (m, b, n)
            rk -= rk.mean(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                rk /= np.sqrt((rk * rk).sum(axis=-1, keepdims=True))
            rk = rk.transpose(1, 0, 2)  # (b, m, n)
            boots[s : s + step] = rk[:, :k] @ rk[:, k:].transpose(0, 2, 1)
        out.append(percentile_ci(boots, 0.95))
    return out


# --------------------------------------------------------------------------- bounds


def machine_speeds() -> dict:
    """GEMM flop rate and copy bandwidth, measured now (best of 3)."""
    a = np.random.default_rng(0).random((1000, 1000))
    t = min(_timed(lambda: a @ a) for _ in range(3))
    x = np.ones(2**25)
    y = np.empty_like(x)
    c = min(_timed(lambda: np.copyto(y, x)) for _ in range(3))
    return {"flops": 2e9 / t, "bandwidth": 2 * x.nbytes / c}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- child


def child(spec: dict) -> dict:
    """Run one case on tables loaded from a pickle; report time and the memory before it."""
    with open(spec["path"], "rb") as fh:
        st = pickle.load(fh)
    r, s = st["ratings"], st["scores"]
    rss_data = _rss()
    from vp_stats.stats import validation

    case, n_boot = spec["case"], spec["n_boot"]
    extra = {}
    scale = 1.0

    def run():
        if case == "engine_corr":
            validation.item_correlations(r, s)
        elif case == "engine_corr_validated":
            validation.item_correlations(r, s, validated=True)
        elif case == "pandas_corr":
            pandas_correlations(r, s)
        elif case == "pingouin_corr":
            pingouin_correlations(r, s)
        elif case == "engine_boot":
            validation.bootstrap_ci(r, s, n_boot=n_boot, seed=0, validated=True)
        elif case == "numpy_boot":  # the peer finds the rater sets as the engine does (timed)
            inp = validation._inputs(r, s, None, validated=True)
            studyv = validation._study(inp)
            numpy_bootstrap(studyv.blocks, studyv.values, n_boot, 0)
        elif case == "shape":
            inp = validation._inputs(r, s, None, validated=True)
            studyv = validation._study(inp)
            d = studyv.values.shape[1]
            extra["nkd"] = int(sum(b.ratings.size * d for b in studyv.blocks))
            extra["blocks"] = len(studyv.blocks)

    if case == "pingouin_corr":
        scale = r["item"].nunique() / PINGOUIN_ITEMS
    # CPU seconds of this process (the machine is shared: wall time also counts waiting for a
    # core); cases under 2 s are repeated (see the module docstring) and the best kept
    cpu, wall = _clocks(run)
    # the engine's correlations enter the growth exponent: every size is the best of at least
    # three runs (one sample at 8M ratings against a best-of-nine at 0.5M biased it upwards)
    if case not in ("data", "shape") and (cpu < 2.0 or case == "engine_corr_validated"):
        used, runs = cpu, 1
        while runs < 3 or (used < 2.0 and runs < 15):
            c, w = _clocks(run)
            cpu, wall = min(cpu, c), min(wall, w)
            used, runs = used + c, runs + 1
    return {
        "seconds": cpu * scale,
        "wall": wall * scale,
        "rss_data": rss_data,
        "peak": _status("VmHWM"),
        **extra,
    }


def _clocks(fn) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS: now; VmHWM: peak of this program)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _rss() -> int:
    return _status("VmRSS")


def run_case(path: Path, case: str, n_boot: int = 0) -> dict:
    """One case in a fresh subprocess, with that program's own peak RSS.

    The peak is the child's VmHWM (/proc/self/status), the high-water mark of its own address
    space: ``ru_maxrss`` of a child (``getrusage``/``wait4``) also counts the parent's resident
    set at the fork before ``exec``, which would hide small cases under the parent's size.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        spec = json.dumps({"path": str(path), "case": case, "n_boot": n_boot, "out": out.name})
        proc = subprocess.run([sys.executable, __file__, "--child", spec], env=ENV)
        if proc.returncode:
            raise RuntimeError(f"case {case} on {path.name} failed ({proc.returncode})")
        res = json.loads(Path(out.name).read_text())
    os.unlink(out.name)
    return res


# --------------------------------------------------------------------------- main


def mib(b: float) -> str:
    return f"{b / 2**20:8.0f} MiB"


def slope(xs, ys) -> float:
    """Growth exponent: least-squares slope of log y on log x over all points."""
    lx, ly = np.log(xs), np.log(np.maximum(ys, 1e-9))
    return float(np.polyfit(lx, ly, 1)[0])


def steps(xs, ys) -> str:
    """The exponent of every step between consecutive sizes (two-point slopes)."""
    return " ".join(f"{slope(xs[i : i + 2], ys[i : i + 2]):.2f}" for i in range(len(xs) - 1))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="generated sizes / 16")
    ap.add_argument("--n-boot", type=int, default=1000, help="resamples of the bootstrap cases")
    ap.add_argument("--studies", help="comma-separated subset of the studies (default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        Path(spec["out"]).write_text(json.dumps(child(spec)))
        return
    quick, nb = args.quick, args.n_boot
    # bootstrap resamples per study (the generated group designs use fewer: time is linear in
    # resamples, and the growth in ratings is what they measure); the peer's resamples
    peer_nb = {"released": nb, "groups1x": 100, "complete_1000": 100, "complete_5000": 50}
    boot_nb = {"groups1x": 100, "groups4x": 100, "groups16x": 100}
    names = [
        "released",
        "complete_1000",
        "complete_2500",
        "complete_5000",
        "groups1x",
        "groups4x",
        "groups16x",
    ]
    if args.studies:
        names = [n for n in names if n in args.studies.split(",")]
    speeds = machine_speeds()
    print(
        f"machine: {os.cpu_count()} cores; GEMM {speeds['flops'] / 1e9:.1f} GFLOP/s, "
        f"copy {speeds['bandwidth'] / 1e9:.1f} GB/s (1 BLAS thread)"
        + ("   [--quick: generated sizes / 16]" if quick else "")
    )
    tmp = Path(tempfile.mkdtemp(prefix="vp_bench_scale_"))
    rows = {}
    try:
        for name in names:
            st = make_study(name, quick)
            n_ratings = len(st["ratings"])
            path = tmp / f"{name}.pkl"
            with open(path, "wb") as fh:
                pickle.dump(st, fh, protocol=pickle.HIGHEST_PROTOCOL)
            shape = run_case(path, "shape")
            data = run_case(path, "data")
            n_raters = st["ratings"]["participant"].nunique()
            n_items = st["ratings"]["item"].nunique()
            print(
                f"\n== {name}: {n_ratings:,} ratings, {n_raters:,} raters x {n_items:,} items, "
                f"{shape['blocks']:,} rater sets; tables in memory: {mib(data['peak'])}"
            )
            res = {"ratings": n_ratings, "data": data["peak"]}
            bound_corr = 24 * n_ratings / speeds["bandwidth"]
            cases = ["engine_corr_validated", "pandas_corr"]
            if name in ("released", "complete_1000", "complete_5000", "groups1x"):
                cases.append("engine_corr")  # the contracts on raw tables (slow at 2M+)
            for case in cases:
                res[case] = run_case(path, case)
            if name == "released":
                res["pingouin_corr"] = run_case(path, "pingouin_corr")
                rres = r_psych(st["ratings"], st["scores"], tmp)
            base = res["pandas_corr"]["seconds"]
            for case, label in (
                ("engine_corr_validated", "vp-stats item_correlations (validated tables)"),
                ("engine_corr", "vp-stats item_correlations (raw tables, contracts run)"),
                ("pandas_corr", "pandas groupby-rank (vectorised)"),
                (
                    "pingouin_corr",
                    f"pingouin pairwise_corr per item ({PINGOUIN_ITEMS} items, scaled)",
                ),
            ):
                if case not in res:
                    continue
                c = res[case]
                print(
                    f"  {label:<55s} {c['seconds']:8.3f} s ({c['wall']:7.2f}) {mib(c['peak'])}   "
                    f"pandas/this {base / c['seconds']:5.1f}x   "
                    f"/bound {c['seconds'] / bound_corr:7.0f}"
                )
            if name == "released" and rres:
                print(
                    f"  {'R psych::corr.test per rater set (CPU inside R)':<55s} {rres[0]:8.3f} s"
                    f"{'':23s}   pandas/this {base / rres[0]:5.1f}x"
                )
            n_b = boot_nb.get(name, nb)

            def boot_line(label, c, n_res, ratio="", nkd=shape["nkd"]):
                bound = 2 * nkd * n_res / speeds["flops"]
                print(
                    f"  {label + f', {n_res:,} resamples':<55s} {c['seconds']:8.3f} s "
                    f"({c['wall']:7.2f}) {mib(c['peak'])}   "
                    f"/bound {c['seconds'] / bound:7.1f}{ratio}"
                )

            eng = res["engine_boot"] = run_case(path, "engine_boot", n_b)
            if name in peer_nb:  # the peer and the engine on the same resamples
                p_nb = min(peer_nb[name], n_b, 50 if quick else n_b)
                peer = res["numpy_boot"] = run_case(path, "numpy_boot", p_nb)
                same = eng if p_nb == n_b else run_case(path, "engine_boot", p_nb)
                ratio = peer["seconds"] / same["seconds"]
                boot_line("numpy bootstrap ranking every column", peer, p_nb)
                boot_line("vp-stats bootstrap_ci", same, p_nb, f"   numpy/this {ratio:5.1f}x")
                if same is not eng:
                    boot_line("vp-stats bootstrap_ci", eng, n_b)
            else:
                boot_line("vp-stats bootstrap_ci", eng, n_b)
            rows[name] = res
        for series, label in (
            (x, lab)
            for x, lab in (
                (["groups1x", "groups4x", "groups16x"], "group designs 1x-16x"),
                (
                    ["complete_1000", "complete_2500", "complete_5000"],
                    "complete designs 1,000-5,000 raters",
                ),
            )
            if all(n in rows for n in x)
        ):
            xs = [rows[n]["ratings"] for n in series]
            print(
                f"\ngrowth exponents in the number of ratings, {label} (least squares on "
                "log-log over all sizes; [per step]):"
            )
            for case in ("engine_corr_validated", "pandas_corr", "engine_boot"):
                ts = [rows[n][case]["seconds"] for n in series]
                ms = [rows[n][case]["peak"] - rows[n]["data"] for n in series]
                print(
                    f"  {case:<24s} time {slope(xs, ts):5.2f} [{steps(xs, ts)}]   "
                    f"memory above the tables {slope(xs, ms):5.2f} [{steps(xs, ms)}]"
                )
        c5 = rows.get("complete_5000")
        if c5 and not quick:
            ok = c5["engine_boot"]["peak"] < 2**30
            peak = mib(c5["engine_boot"]["peak"])
            print(
                f"\ncomplete 5,000 x 200, {nb:,} resamples: peak RSS {peak}"
                f" ({'under' if ok else 'OVER'} 1 GiB), {c5['engine_boot']['seconds']:.1f} s"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
