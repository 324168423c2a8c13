"""Scoring the released models from their JSON files against two baselines in the same run; wall
time of the tables of `vp-stats reproduce` (goal: under 3 s on 2 cores, figures extra).

Baselines (both read the same 34 averaged files and the 3 published correlation files, and give
the same centred means as vp_stats, checked below):

* a per-file Python loop like upstream's scorer (dicts and lists, no validation);
* a competent pandas script: ``json.load`` each file, one DataFrame of the fields it needs, the
  selected items by a merge and the centred means by ``groupby`` (no validation either).

vp_stats does more than either: it verifies each file's sha256, puts the tables through their
contracts and checks every record (ids, ratings, the stated mean, the error metadata). "Cold" is
the first load in a process (the parsed tables are cached per file version within a process; the
files' hashes, verified once per process, are not re-verified).

Run: python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

import pandas as pd
from _common import best_of, report

from vp_stats import schema
from vp_stats.io import averaging, datasets
from vp_stats.studies import released

_EXCLUDED = {(3902, 4, "Achievement"), (1901, 1, "Universalism"), (2901, 4, "Extraversion")}


def _averaged_paths():
    return [
        (rel.rsplit("/", 1)[1].removesuffix("_averaged_results.json"), datasets.fetch(rel))
        for rel in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/")
        if rel.endswith("_averaged_results.json")
    ]


def per_file_loop():
    """Read each averaged file and score it with plain Python loops over the published table."""
    corr = {}
    for fam in schema.FAMILY_NAMES:
        for rec in json.loads(datasets.fetch(datasets.CORRELATIONS.format(family=fam)).read_text()):
            corr.setdefault(fam, []).append(rec)
    results = {}
    for model, path in _averaged_paths():
        answers = {
            (int(r["portrait_id"]), r["option_id"]): r["numeric_response"]
            for r in json.loads(path.read_text())
        }
        for fam, recs in corr.items():
            chosen = {}
            for r in recs:
                d = r[f"{fam}_dimension"]
                if (
                    r["spearman_corr"] > 0.3
                    and (int(r["portrait_id"]), r["option_id"], d) not in _EXCLUDED
                ):
                    chosen.setdefault(d, []).append((int(r["portrait_id"]), r["option_id"]))
            union = {i for v in chosen.values() for i in v}
            vals = [answers[i] for i in union if answers.get(i) is not None]
            centre = sum(vals) / len(vals)
            for d, items in chosen.items():
                a = [answers[i] for i in items if answers.get(i) is not None]
                results[(model, fam, d)] = sum(a) / len(a) - centre
    return results


def pandas_script():
    """What a competent pandas user writes: one frame of answers, a merge and two groupbys."""
    frames = []
    for fam in schema.FAMILY_NAMES:
        with open(datasets.fetch(datasets.CORRELATIONS.format(family=fam)), "rb") as fh:
            c = pd.DataFrame(json.load(fh))
        frames.append(
            pd.DataFrame(
                {
                    "portrait_id": c["portrait_id"].astype(int),
                    "option_id": c["option_id"].astype(int),
                    "family": fam,
                    "dimension": c[f"{fam}_dimension"],
                    "rho": c["spearman_corr"],
                }
            )
        )
    corr = pd.concat(frames, ignore_index=True)
    excluded = corr[["portrait_id", "option_id", "dimension"]].apply(tuple, axis=1).isin(_EXCLUDED)
    sel = corr[(corr["rho"] > 0.3) & ~excluded]
    answers = []
    for model, path in _averaged_paths():
        with open(path, "rb") as fh:
            recs = json.load(fh)
        answers.append(
            pd.DataFrame(
                {
                    "model": model,
                    "portrait_id": [int(r["portrait_id"]) for r in recs],
                    "option_id": [r["option_id"] for r in recs],
                    "rating": [r["numeric_response"] for r in recs],
                }
            )
        )
    ans = pd.concat(answers, ignore_index=True).dropna(subset=["rating"])
    m = sel.merge(ans, on=["portrait_id", "option_id"])
    per_dim = m.groupby(["model", "family", "dimension"])["rating"].mean()
    union = m.drop_duplicates(["model", "family", "portrait_id", "option_id"])
    centre = union.groupby(["model", "family"])["rating"].mean()
    return per_dim - centre.reindex(per_dim.index.droplevel("dimension")).to_numpy()


def vp_stats_cold():
    """vp_stats from the files: the parsed-table caches cleared first."""
    averaging._read_averaged.cache_clear()
    averaging._CHECKED.clear()
    datasets._read_correlations.cache_clear()
    return released.score_released_models(n_boot=0)


def reproduce_cold() -> tuple[float, float]:
    """Wall and CPU seconds of ``vp-stats reproduce --no-notebooks`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "vp_stats", "reproduce", "--no-notebooks", "--out", out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    vp_stats_cold()  # hashes verified and modules imported once, outside every timing
    t_loop, ref = best_of(per_file_loop, repeat=1)
    t_pandas, ref_pandas = best_of(pandas_script, repeat=1)
    t_cold, prof = best_of(vp_stats_cold, repeat=1)
    got = prof.set_index(["model", "family", "dimension"])["centered_mean"]
    for key, v in ref.items():
        assert abs(got[key] - v) < 1e-12 and abs(ref_pandas[key] - v) < 1e-12, key
    report("per-file Python loop like upstream's scorer (baseline 1)", t_loop)
    report("pandas script: json.load, merge, groupby (baseline 2)", t_pandas)
    report("vp_stats: load, check and score all models (cold) vs 1", t_cold, t_loop)
    report("vp_stats: load, check and score all models (cold) vs 2", t_cold, t_pandas)
    t_warm, _ = best_of(lambda: released.score_released_models(n_boot=0), repeat=3)
    report("vp_stats: score all models (files parsed in this process) vs 2", t_warm, t_pandas)
    wall, cpu = min(reproduce_cold() for _ in range(2))
    report("vp-stats reproduce --no-notebooks, fresh process (wall)", wall, None, "goal: < 3 s")
    report("vp-stats reproduce --no-notebooks, fresh process (CPU)", cpu, None, "goal: < 3 s")


if __name__ == "__main__":
    main()
