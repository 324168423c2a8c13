"""``vp-stats personas``: run an LLM under demographic personas and compare with human data."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (  # noqa: F401
    COLUMN_OPTS,
    DATA_DIR_OPT,
    _echo_table,
    _fail,
    _use_data_dir,
    _user_errors,
    app,
)

personas_app = typer.Typer(no_args_is_help=True, help="Demographic personas: run an LLM under personas and compare with human data.")
app.add_typer(personas_app, name="personas")


@personas_app.command("run")
def personas_run(
    out: Path = typer.Option(Path("data/processed/personas"), "--out", help="Output directory (answers, profiles, comparison tables, cache answers.sqlite)."),
    grid: str = typer.Option("paper", help="paper (the paper's 25 single-attribute personas + the plain model) or notebook (a small grid)."),
    n_per_value: int | None = typer.Option(None, "--n-per-value", help="Use only N validated items per value (default: all 520 items)."),
    variants: str = typer.Option("v1", help="Comma-separated prompt variants."),
    mode: str = typer.Option("logprobs", help="text, grammar or logprobs."),
    model_path: Path | None = typer.Option(None, "--model-path", help="GGUF file (default: the embedded SmolLM2-135M-Instruct)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples of the comparisons."),
    seed: int = typer.Option(0, help="Seed of the bootstraps."),
) -> None:
    """Run the local model under a persona grid (cached, resumable) and write the comparisons."""
    from vp_stats import datasets, personas
    from vp_stats.llm import runner

    try:
        be = runner.LlamaCppBackend(model_path=model_path)
        res = personas.run_persona_study(out, grid=grid, n_per_value=n_per_value, variants=tuple(v.strip() for v in variants.split(",")),
                                         mode=mode, backend=be, n_boot=n_boot, seed=seed)  # fmt: skip
    except (datasets.DataError, runner.BackendError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"{len(res['answers'])} answers; tables written to {out}")


@personas_app.command("compare")
def personas_compare(
    answers: Path = typer.Argument(..., help="Answers CSV of a persona run (personas run writes OUT/answers.csv)."),
    out: Path = typer.Option(Path("data/processed/personas"), "--out", help="Directory for the comparison tables."),
    ess: Path | None = typer.Option(None, "--ess", help="ESS microdata CSV (downloaded by you) for group-level comparisons."),
    group_col: str | None = typer.Option(None, "--group-col", help="Human group column, e.g. gndr."),
    group_a: str | None = typer.Option(None, "--group-a", help="First group (value of --group-col)."),
    group_b: str | None = typer.Option(None, "--group-b", help="Second group."),
    n_boot: int = typer.Option(1000, "--n-boot"),
    seed: int = typer.Option(0),
) -> None:
    """Compare persona answers with the human raters: item, population and (with ESS data) group level."""
    from vp_stats import datasets, personas

    if not answers.exists():
        _fail(f"answers file not found: {answers}")
    try:
        tables = personas.compare_file(answers, ess_path=ess, group_col=group_col, group_a=group_a, group_b=group_b,
                                       n_boot=n_boot, seed=seed)  # fmt: skip
    except (datasets.DataError, ValueError) as exc:
        _fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(out / f"compare_{name}.csv", index=False)
        typer.echo(f"wrote {out / f'compare_{name}.csv'} ({len(df)} rows)" + (f"  note: {df.attrs['note']}" if df.attrs.get("note") else ""))


