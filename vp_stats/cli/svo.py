"""``vp-stats svo``: Social Value Orientation scoring and HVAE runs."""

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

svo_app = typer.Typer(no_args_is_help=True, help="Social Value Orientation: score the slider measure; HVAE value-rationality runs.")
app.add_typer(svo_app, name="svo")


@svo_app.command("score")
def svo_score(
    file: Path = typer.Argument(..., help="CSV: respondent, item (1-15), and choice (1-9 or A-I) or payoff_self,payoff_other."),
    out: Path | None = typer.Option(None, "--out", help="Write the scores to this CSV (default: print)."),
) -> None:
    """SVO angle, category (Murphy et al. and HVAE boundary conventions), transitivity, secondary index."""
    from vp_stats import hvae
    from vp_stats.io import tables as tio

    with _user_errors():
        if out:
            tio.prepare_out_file(out)
        scores = hvae.score_file(file)
        if out:
            tio.write_csv(scores, out)
    if out:
        typer.echo(f"wrote {out} ({len(scores)} rows)")
    else:
        _echo_table(scores)


@svo_app.command("run")
def svo_run(
    out: Path = typer.Option(Path("data/processed/hvae"), "--out", help="Output directory (runs.csv, summary.csv, transcript.csv, cache.sqlite)."),
    runs: int = typer.Option(2, "--runs", help="Seeded runs per target and goal condition (run r uses seed + r)."),
    seed: int = typer.Option(0, help="First seed."),
    targets: str = typer.Option("altruistic,prosocial,individualistic,competitive", help="Comma-separated target SVO categories."),
    goal: str = typer.Option("both", help="with, without or both: the optional goal step."),
    mode: str = typer.Option("grammar", help="grammar (a bare letter A-I, constrained) or text (parsed strictly)."),
    model_path: Path | None = typer.Option(None, "--model-path", help="GGUF file (default: the embedded SmolLM2-135M-Instruct)."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (default: the protocol's)."),
) -> None:
    """Induce target SVOs in the local model (HVAE protocol) and score its value rationality."""
    from vp_stats import hvae
    from vp_stats.llm import runner

    goals = {"with": (True,), "without": (False,), "both": (False, True)}.get(goal)
    if goals is None:
        _fail("--goal must be with, without or both")
    from vp_stats.io import tables as tio

    if runs < 1:
        _fail(f"--runs must be >= 1, got {runs}")
    if temperature is not None and not (temperature >= 0):
        _fail(f"--temperature must be >= 0, got {temperature}")
    with _user_errors(), tio.locked_out_dir(out):
        be = runner.LlamaCppBackend(model_path=model_path)
        try:
            grid = hvae.run_grid(be, targets=tuple(t.strip() for t in targets.split(",")), n_runs=runs, seed=seed,
                                 with_goal=goals, cache=out / "cache.sqlite", mode=mode, temperature=temperature,
                                 progress=True)  # fmt: skip
        except runner.BackendError as exc:
            _fail(str(exc), code=1)
        tio.write_csv(grid.runs, out / "runs.csv")
        tio.write_csv(grid.summary, out / "summary.csv")
        tio.write_csv(grid.transcript, out / "transcript.csv")
    _echo_table(grid.summary.round(3), "value rationality per target:")


