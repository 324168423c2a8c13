"""``vp-stats svo``: Social Value Orientation scoring and HVAE runs."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    BACKEND_OPTS,
    _backend,
    _echo_table,
    _fail,
    _provenance,  # noqa: F401
    _user_errors,
    app,
)

__all__ = ["svo_app", "svo_score", "svo_run"]

svo_app = typer.Typer(
    no_args_is_help=True,
    help="Social Value Orientation: score the slider measure; HVAE value-rationality runs.",
)
app.add_typer(svo_app, name="svo")


@svo_app.command("score")
def svo_score(
    file: Path = typer.Argument(
        ...,
        help="CSV: respondent, item (1-15), and choice (1-9 or A-I) or payoff_self,payoff_other.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the scores to this CSV (default: print)."
    ),
) -> None:
    """SVO angle, category (Murphy et al. and HVAE boundary conventions), transitivity, secondary
    index."""
    from vp_stats.io import svo as svo_io
    from vp_stats.io import tables as tio

    with _user_errors():
        if out:
            tio.prepare_out_file(out)
        scores = svo_io.score_file(file)
        if out:
            tio.write_csv(scores, out)
            _provenance(out, "svo score", {}, {"answers": file})
    if out:
        typer.echo(f"wrote {out} ({len(scores)} rows)")
    else:
        _echo_table(scores)


@svo_app.command("run")
def svo_run(
    out: Path = typer.Option(
        Path("data/processed/hvae"),
        "--out",
        help="Output directory (runs.csv, summary.csv, transcript.csv, cache.sqlite).",
    ),
    runs: int = typer.Option(
        2, "--runs", help="Seeded runs per target and goal condition (run r uses seed + r)."
    ),
    seed: int = typer.Option(0, help="First seed."),
    targets: str = typer.Option(
        "altruistic,prosocial,individualistic,competitive",
        help="Comma-separated target SVO categories.",
    ),
    goal: str = typer.Option("both", help="with, without or both: the optional goal step."),
    mode: str = typer.Option(
        "grammar", help="grammar (a bare letter A-I, constrained) or text (parsed strictly)."
    ),
    backend: str = typer.Option(
        "local",
        help=(
            "local (llama.cpp, a GGUF file) or openai (any OpenAI-compatible endpoint; grammar "
            "mode sends the llama.cpp server's grammar field)."
        ),
    ),
    model: str | None = BACKEND_OPTS["model"],
    model_path: Path | None = BACKEND_OPTS["model_path"],
    base_url: str | None = BACKEND_OPTS["base_url"],
    api_key_env: str = BACKEND_OPTS["api_key_env"],
    concurrency: int = typer.Option(
        4,
        help=(
            "openai: conversations run in parallel (the steps of one conversation are sequential)."
        ),
    ),
    timeout: float = BACKEND_OPTS["timeout"],
    retries: int = BACKEND_OPTS["retries"],
    temperature: float | None = typer.Option(
        None, help="Sampling temperature (default: the protocol's)."
    ),
    irrational: str = typer.Option(
        "miss",
        "--irrational",
        help=(
            "Runs answered with one letter throughout (position bias) or with intransitive "
            "preferences: miss (default: a miss in the hit rate, left out of the angular "
            "distance), exclude (left out of both) or include (scored like any run)."
        ),
    ),
) -> None:
    """Induce target SVOs in a model (HVAE protocol) and score its value rationality; cached,
    resumable."""
    from vp_stats.llm import backends
    from vp_stats.studies import hvae as hvae_runs

    goals = {"with": (True,), "without": (False,), "both": (False, True)}.get(goal)
    if goals is None:
        _fail("--goal must be with, without or both")
    from vp_stats.io import tables as tio

    if runs < 1:
        _fail(f"--runs must be >= 1, got {runs}")
    if temperature is not None and not (temperature >= 0):
        _fail(f"--temperature must be >= 0, got {temperature}")
    if irrational not in ("miss", "exclude", "include"):
        _fail(f"--irrational must be miss, exclude or include, got {irrational!r}")
    if backend not in backends.BACKENDS:
        _fail(f"--backend must be local or openai, got {backend!r}")
    with _user_errors(), tio.locked_out_dir(out):
        be = _backend(
            backend,
            model=model,
            model_path=model_path,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout=timeout,
            retries=retries,
        )
        try:
            grid = hvae_runs.run_grid(
                be,
                targets=tuple(t.strip() for t in targets.split(",")),
                n_runs=runs,
                seed=seed,
                with_goal=goals,
                cache=out / "cache.sqlite",
                mode=mode,
                temperature=temperature,
                progress=True,
                irrational=irrational,
            )
        except backends.BackendError as exc:
            _fail(str(exc), code=1)
        tio.write_csv(grid.runs, out / "runs.csv")
        tio.write_csv(grid.summary, out / "summary.csv")
        tio.write_csv(grid.transcript, out / "transcript.csv")
        ident = {
            k: v
            for k, v in be.identity().items()
            if k in ("backend", "model", "model_id", "base_url")
        }
        _provenance(
            out,
            "svo run",
            {
                "runs": runs,
                "seed": seed,
                "targets": targets,
                "goal": goal,
                "mode": mode,
                "temperature": temperature,
                "irrational": irrational,
            },
            {},
            model=ident,
            rationality_rule=grid.rule,
        )
    _echo_table(grid.summary.round(3), "value rationality per target:")
    typer.echo(f"rule ({irrational}): {grid.rule}")
