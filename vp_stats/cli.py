"""Command line interface: ``vp-stats <command>``; ``vp-stats --help`` lists them.

Every command is a thin wrapper over package functions, so a notebook, a
script and the shell give the same tables.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="vp-stats: psychometric item validation and LLM value assessment "
    "(Value Portrait, HVAE/SVO, Value Compass).",
)

DATA_DIR_OPT = typer.Option(
    None,
    "--data-dir",
    help="Directory holding the upstream Value Portrait files (default: $VP_DATA_DIR, else the "
    "download cache; files are fetched at the pinned commit and verified by sha256).",
)


def _echo_table(df, title: str | None = None) -> None:
    if title:
        typer.echo(title)
    typer.echo(df.to_string(index=False))


def _fail(msg: str, code: int = 2) -> None:
    typer.secho(f"error: {msg}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@app.command()
def validate(
    data_dir: Optional[Path] = DATA_DIR_OPT,
    out: Path = typer.Option(Path("data/processed"), "--out", help="Output directory for item_correlations.csv."),
    threshold: float = typer.Option(0.3, help="Selection threshold on rho (strict: rho > threshold)."),
    mode: str = typer.Option("pos", help="Selection mode: pos (rho > t), neg (rho < -t) or abs (|rho| > t)."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples of raters for the CIs (0: none)."),
    ci: float = typer.Option(0.95, help="Coverage of the bootstrap confidence intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap; equal seeds give identical tables."),
    procedure: str = typer.Option(
        "correct",
        help="'correct' (each item's own raters; the default) or 'upstream' (reproduces the "
        "published tables, including upstream's treatment of participant group 0; see "
        "vp_stats.validation.UPSTREAM_PROCEDURE_NOTE).",
    ),
) -> None:
    """Correlate every item's ratings with its raters' value and trait scores and select items.

    Writes OUT/item_correlations.csv with columns portrait_id, option_id, family, dimension, rho,
    p_value, n, p_fdr, ci_low, ci_high, selected, and prints the number of selected items per
    dimension.
    """
    from vp_stats import datasets, validation

    try:
        table = validation.validate_data(
            data_dir=data_dir, threshold=threshold, mode=mode, n_boot=n_boot, ci=ci, seed=seed,
            procedure=procedure,
        )  # fmt: skip
    except (datasets.DataError, ValueError, KeyError) as exc:
        _fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "item_correlations.csv"
    table.to_csv(path, index=False)
    summary = validation.validated_summary(table)
    _echo_table(summary, f"selected items per dimension ({mode}, threshold {threshold}):")
    typer.echo(f"wrote {path} ({len(table)} rows)")


def main() -> None:  # console-script entry point
    """Run the CLI."""
    try:
        app()
    except BrokenPipeError:  # e.g. `vp-stats ... | head`
        sys.exit(0)


if __name__ == "__main__":
    main()
