"""``vp-stats reliability``: reliability of selected item sets."""

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


@app.command("reliability")
def reliability_cmd(
    items: Path = typer.Option(..., "--items", help="Selected items: an item_correlations.csv from `vp-stats validate` (its selected rows) or a CSV item,family,dimension[,sign]."),
    ratings: Path | None = typer.Option(None, "--ratings", help="Ratings CSV participant,item,rating[,group] (default: the released Value Portrait ratings)."),
    scale: str | None = typer.Option(None, "--scale", help="Rating scale LOW-HIGH for reverse keying (low + high - x). Default: 1-6 for Value Portrait, else inferred and reported."),
    participant_col: str = COLUMN_OPTS["participant"],
    item_col: str = COLUMN_OPTS["item"],
    rating_col: str = COLUMN_OPTS["rating"],
    method: str = typer.Option("minres", help="One-factor estimator of omega: minres or ml."),
    ci: float = typer.Option(0.95, help="Coverage of alpha's Feldt interval."),
    data_dir: Path | None = DATA_DIR_OPT,
    out: Path = typer.Option(..., "--out", help="Output directory for reliability.csv and provenance.json."),
) -> None:
    """Reliability of each selected item set: Cronbach's alpha (Feldt CI) and omega, per participant group.

    Writes OUT/reliability.csv (family, dimension, group, n_items, n_reversed, n_raters,
    n_incomplete, alpha, alpha_ci_low, alpha_ci_high, std_alpha, average_r, omega, omega_observed,
    omega_heywood, reason). Negatively keyed items (rho < 0) are reversed as low + high - x.
    """
    from vp_stats import study

    _use_data_dir(data_dir)
    with _user_errors():
        table, info = study.reliability_study(ratings, items, out=out, scale=scale, participant=participant_col,
                                              item=item_col, rating=rating_col, method=method, ci=ci,
                                              data_dir=data_dir)  # fmt: skip
    typer.echo(f"rating scale {info['scale']}")
    show = table[["family", "dimension", "group", "n_items", "n_raters", "alpha", "omega"]].round(3)
    _echo_table(show, "reliability of the selected item sets:")
    typer.echo(f"wrote {out / 'reliability.csv'} ({len(table)} rows)")


