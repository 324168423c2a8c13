"""``vp-stats compass``: Value Compass composites and matching."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    _echo_table,
    _provenance,
    _user_errors,
    app,
)

__all__ = ["compass_app", "compass_match", "compass_score"]

compass_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Value Compass: composites of model value profiles weighted by a person's or group's "
        "priorities."
    ),
)
app.add_typer(compass_app, name="compass")


@compass_app.command("match")
def compass_match(
    answers: Path = typer.Option(
        ..., "--answers", help="Your PVQ-21 answers: CSV item,answer (21 rows) or one wide row."
    ),
    ess_coding: bool = typer.Option(
        False, "--ess-coding", help="Answers use the ESS coding (1 = very much like me)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the ranked table to this CSV."),
) -> None:
    """Which released model fits your values best: by weighted composite, rank agreement, distance.

    Caveat: Value Portrait scores are centred profiles (relative priorities), as are MRAT-centred
    PVQ scores.
    """
    from vp_stats.io import tables as tio
    from vp_stats.studies import compass as compass_studies

    with _user_errors():
        if out:
            tio.prepare_out_file(out)
        ranking = compass_studies.match_file(answers, ess_coding=ess_coding)
        if out:
            tio.write_csv(ranking.table, out)
            _provenance(out, "compass match", {"ess_coding": ess_coding}, {"answers": answers})
    _echo_table(ranking.table.round(4))
    if ranking.caveat:
        typer.echo(f"note: {ranking.caveat}")


@compass_app.command("score")
def compass_score(
    weights: Path = typer.Option(
        ...,
        "--weights",
        help="CSV dimension,weight (a priority vector over the dimensions of one family).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the ranked table to this CSV."),
) -> None:
    """Rank the released models by the weighted composite sum_k w_k s_k / sum_k abs(w_k)."""
    from vp_stats.io import tables as tio
    from vp_stats.studies import compass as compass_studies

    with _user_errors():
        if out:
            tio.prepare_out_file(out)
        ranking = compass_studies.score_file(weights)
        if out:
            tio.write_csv(ranking.table, out)
            _provenance(out, "compass score", {}, {"weights": weights})
    _echo_table(ranking.table.round(4))
