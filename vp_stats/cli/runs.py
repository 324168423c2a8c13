"""Scale-out commands: ``run-models`` (a TOML run file of several models) and ``cache merge``."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import DATA_DIR_OPT, _echo_table, _fail, _use_data_dir, _user_errors, app

__all__ = ["run_models", "cache_app", "cache_merge"]


@app.command("run-models")
def run_models(
    runfile: Path = typer.Argument(
        ...,
        help=(
            "TOML run file: [[model]] tables (name, backend, model, base_url, api_key_env, mode, "
            "variants, items, ...) and an optional [defaults] table."
        ),
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help=(
            "Output folder: OUT/<name>/answers.csv, per_item.csv, cache.sqlite per model, and "
            "OUT/run_summary.csv."
        ),
    ),
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated model names of the file to run (default: all)."
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Run several models from one run file, one cache per model; rerun the same command to resume.

    The whole file is checked first (unknown keys, missing or repeated names, bad values:
    exit 2, naming the file, the [[model]] index and the key); then the models run one after
    the other. Exit 1 when any model failed or had failed calls (see OUT/run_summary.csv).
    """
    from vp_stats.io import runfile as rf
    from vp_stats.io import tables as tio
    from vp_stats.studies import runs as study_runs

    _use_data_dir(data_dir)
    with _user_errors():
        specs = rf.load_runfile(runfile, prompts=True, data_dir=data_dir)
        if only:
            wanted = [n.strip() for n in only.split(",") if n.strip()]
            unknown = [n for n in wanted if n not in {s.name for s in specs}]
            if unknown:
                _fail(f"--only: no model named {', '.join(map(repr, unknown))} in {runfile}")
            specs = [s for s in specs if s.name in wanted]
        tio.prepare_out_dir(out)
    n_prompts = sum(len(s.jobs) for s in specs)
    typer.echo(f"{runfile}: {len(specs)} model(s), {n_prompts} prompts in all")
    with _user_errors():
        summary = study_runs.run_models(
            specs, out, progress=progress, data_dir=data_dir, echo=typer.echo
        )
    _echo_table(
        summary[["model", "status", "n_answers", "n_parsed", "n_failed", "from_cache"]],
        "run summary:",
    )
    typer.echo(f"wrote {out / 'run_summary.csv'}")
    bad = summary[summary.status != "ok"]
    if len(bad):
        n_dead = int((bad.status == "failed").sum())
        _fail(
            f"{len(bad)} of {len(summary)} model(s) did not finish cleanly ({n_dead} failed, "
            f"{int(bad.n_failed.sum())} failed calls in all: {', '.join(bad.model)}); see "
            f"{out / 'run_summary.csv'} "
            "and rerun the same command (finished answers come from the caches)",
            code=1,
        )


cache_app = typer.Typer(
    no_args_is_help=True, help="Answer caches: merge the caches of several machines or workers."
)
app.add_typer(cache_app, name="cache")


@cache_app.command("merge")
def cache_merge(
    sources: list[Path] = typer.Argument(
        ..., metavar="SOURCE", help="Source caches (cache.sqlite files), merged in this order."
    ),
    into: Path = typer.Option(
        ..., "--into", help="Destination cache (created when absent; updated in one transaction)."
    ),
) -> None:
    """Combine answer caches into one, keyed by request key.

    Identical rows merge silently; a row that differs from the destination's for the same
    key is a conflict: reported, and the destination's row (the first merged) kept. Source
    rows failing their checksum are skipped and counted. A missing, foreign or corrupted
    source is an error (exit 2) and nothing is written.
    """
    from vp_stats.io.cache import merge_caches

    with _user_errors():
        reports = merge_caches(sources, into)
    for r in reports:
        typer.echo(
            f"{r['source']}: {r['n_rows']} rows: {r['n_added']} added, {r['n_identical']} "
            "identical, "
            f"{r['n_conflicts']} conflicting (destination's row kept), {r['n_bad_checksum']} "
            "failed their "
            f"checksum (skipped)"
            + (
                f", {r['n_repaired']} repaired a destination row that failed its checksum"
                if r["n_repaired"]
                else ""
            )
        )
        for key, fields in r["conflicts"][:5]:
            typer.echo(
                f"  conflict: key {key[:16]}... differs in {', '.join(fields)}; kept the "
                "destination's row"
            )
        if len(r["conflicts"]) < r["n_conflicts"] or r["n_conflicts"] > 5:
            typer.echo(f"  ... {r['n_conflicts'] - min(5, len(r['conflicts']))} more conflict(s)")
    from vp_stats.io.cache import AnswerCache

    with _user_errors(), AnswerCache(into) as c:
        n = c.count()
    typer.echo(f"wrote {into} ({n} rows)")
