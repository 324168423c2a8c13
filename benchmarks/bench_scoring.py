"""Scoring all released models from JSON vs a straightforward per-file loop like upstream's script;
wall time of the tables of `vp-stats reproduce` (goal: under 3 s on 2 cores, figures extra).

Run: python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import json

from _common import best_of, report

from vp_stats import schema
from vp_stats.io import averaging, datasets
from vp_stats.studies import released


def per_file_loop():
    """Read each averaged file and score it with plain Python loops over the published table."""
    corr = {}
    for fam in schema.FAMILY_NAMES:
        for rec in json.loads(datasets.fetch(datasets.CORRELATIONS.format(family=fam)).read_text()):
            corr.setdefault(fam, []).append(rec)
    ex = {(3902, 4, "Achievement"), (1901, 1, "Universalism"), (2901, 4, "Extraversion")}
    results = {}
    for rel in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/"):
        if not rel.endswith("_averaged_results.json"):
            continue
        model = rel.rsplit("/", 1)[1].removesuffix("_averaged_results.json")
        answers = {
            (int(r["portrait_id"]), r["option_id"]): r["numeric_response"]
            for r in json.loads(datasets.fetch(rel).read_text())
        }
        for fam, recs in corr.items():
            chosen = {}
            for r in recs:
                d = r[f"{fam}_dimension"]
                if (
                    r["spearman_corr"] > 0.3
                    and (int(r["portrait_id"]), r["option_id"], d) not in ex
                ):
                    chosen.setdefault(d, []).append((int(r["portrait_id"]), r["option_id"]))
            union = {i for v in chosen.values() for i in v}
            vals = [answers[i] for i in union if answers.get(i) is not None]
            centre = sum(vals) / len(vals)
            for d, items in chosen.items():
                a = [answers[i] for i in items if answers.get(i) is not None]
                results[(model, fam, d)] = sum(a) / len(a) - centre
    return results


def vectorised():
    averaging._averaged_frames_cached.cache_clear() if hasattr(
        averaging._averaged_frames_cached, "cache_clear"
    ) else None
    return released.score_released_models(n_boot=0)


def reproduce_tables():
    t = released.validate_data(n_boot=1000, seed=0).table
    u = released.validate_data(n_boot=0, procedure="upstream").table
    p = released.score_released_models(n_boot=1000, seed=0)
    return t, u, p


def main():
    t_loop, ref = best_of(per_file_loop, repeat=1)
    t_vec, prof = best_of(vectorised, repeat=1)
    for (m, f, d), v in list(ref.items())[:200]:
        row = prof[(prof.model == m) & (prof.family == f) & (prof.dimension == d)]
        assert abs(row.centered_mean.item() - v) < 1e-12
    report("per-file Python loop like upstream's scorer (baseline)", t_loop)
    report("vp_stats: load + score all models (cold)", t_vec, t_loop)
    t_warm, _ = best_of(lambda: released.score_released_models(n_boot=0), repeat=3)
    report("vp_stats: score all models (files cached in process)", t_warm, t_loop)
    t_rep, _ = best_of(reproduce_tables, repeat=1)
    report(
        "reproduce tables (validate+CIs, upstream table, scores+CIs)", t_rep, None, "goal: < 3 s"
    )


if __name__ == "__main__":
    main()
