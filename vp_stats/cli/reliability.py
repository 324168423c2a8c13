"""``vp-stats reliability``: reliability of one scale (``--data``) or of selected item sets.

Selected item sets: ``--items``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    COLUMN_OPTS,
    DATA_DIR_OPT,
    NA_VALUES_OPT,
    READ_OPTS,
    _echo_table,
    _fail,
    _reading,
    _use_data_dir,
    _user_errors,
    app,
)

__all__ = ["reliability_cmd"]


@app.command("reliability")
def reliability_cmd(
    data: Path | None = typer.Option(
        None,
        "--data",
        help=(
            "One scale: ITEMS.csv with one row per respondent, one column per item (optional "
            "participant column; empty cells are missing), or long participant,item,rating."
        ),
    ),
    items: Path | None = typer.Option(
        None,
        "--items",
        help=(
            "Selected items: an item_correlations.csv from `vp-stats validate` (its selected rows) "
            "or a CSV item,family,dimension[,sign]."
        ),
    ),
    dimension: str | None = typer.Option(
        None,
        "--dimension",
        help="With --items: only the item sets of these dimensions (comma-separated), e.g. Power.",
    ),
    ratings: Path | None = typer.Option(
        None,
        "--ratings",
        help=(
            "With --items: ratings CSV participant,item,rating[,group] (default: the released "
            "Value Portrait ratings)."
        ),
    ),
    n_factors: int = typer.Option(
        3,
        "--n-factors",
        help=(
            "Group factors of the Schmid-Leiman solution for omega hierarchical (psych::omega's "
            "nfactors, default 3)."
        ),
    ),
    reverse: str | None = typer.Option(
        None,
        "--reverse",
        help="With --data: items to reverse-score (low + high - x), comma-separated: ITEM,ITEM.",
    ),
    scale: str | None = typer.Option(
        None,
        "--scale",
        help=(
            "Rating scale LOW-HIGH, e.g. 1-5 (values outside are errors; reverse keying uses it). "
            "Default: 1-6 for Value Portrait, else inferred and reported."
        ),
    ),
    missing: str = typer.Option(
        "listwise",
        "--missing",
        help=(
            "Missing ratings: listwise (drop incomplete respondents; default) or pairwise (psych's "
            "default: each covariance from the respondents who rated both items)."
        ),
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    item_col: str = COLUMN_OPTS["item"],
    rating_col: str = COLUMN_OPTS["rating"],
    na_values: str | None = NA_VALUES_OPT,
    sep: str | None = READ_OPTS["sep"],
    decimal: str | None = READ_OPTS["decimal"],
    sheet: str | None = READ_OPTS["sheet"],
    method: str = typer.Option(
        "minres", help="With --items: one-factor estimator of the one-factor omega: minres or ml."
    ),
    ci: float = typer.Option(0.95, help="Coverage of alpha's Feldt interval."),
    polychoric: bool = typer.Option(
        False,
        "--polychoric",
        help=(
            "omega_total and omega_hierarchical from polychoric correlations, as "
            "psych::omega(poly = TRUE) (Likert items: the Pearson omegas are biased low)."
        ),
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    out: Path = typer.Option(
        ...,
        "--out",
        help=(
            "Output directory (reliability.csv, item_statistics.csv with --data, provenance.json)."
        ),
    ),
) -> None:
    """Reliability: Cronbach's alpha (Feldt CI), omega total and omega hierarchical (Schmid-Leiman).

    --data ITEMS.csv: one scale. Writes OUT/reliability.csv (one row: n_participants, n_incomplete,
    n_items, n_reversed, missing, scale, alpha, alpha_ci_low, alpha_ci_high, std_alpha, average_r,
    omega_total, omega_hierarchical, omega_limit, ecv, n_factors, n_flipped, model_dof,
    omega_h_note, omega_correlation),
    OUT/item_statistics.csv (item, reversed, n, mean, sd, r_item_total, r_item_rest,
    alpha_if_dropped,
    std_alpha_if_dropped, g_loading, h2) and OUT/provenance.json. omega_total and omega_hierarchical
    are psych::omega(x, nfactors)'s omega.tot and omega_h.

    --items SELECTED.csv [--ratings RATINGS.csv]: each selected item set per participant group.
    Writes OUT/reliability.csv (family, dimension, group, n_items, n_reversed, n_raters,
    n_incomplete, alpha, alpha_ci_low, alpha_ci_high, std_alpha, average_r, omega,
    omega_h_one_factor, omega_heywood, omega_total, omega_hierarchical, n_factors, omega_h_note,
    reason). Negatively keyed
    items (rho < 0) are reversed as low + high - x.
    """
    from vp_stats.io import tables as tio
    from vp_stats.studies import validate as study

    if dimension is not None and items is None:
        _fail("--dimension needs --items (the selection that names each item's dimension)")
    if data is not None and (items is not None or ratings is not None):
        _fail("--data (one scale) cannot be combined with --items / --ratings (selected item sets)")
    if data is None and items is None:
        _fail(
            "give --data ITEMS.csv (respondents x items) or --items SELECTED.csv (with --ratings)"
        )
    if missing not in ("listwise", "pairwise"):
        _fail(f"--missing must be pairwise or listwise, got {missing!r}")
    if n_factors < 1:
        _fail(f"--n-factors must be at least 1, got {n_factors}")
    if data is not None:
        _use_data_dir(data_dir)
        with _user_errors(), _reading(sep, decimal, sheet), tio.locked_out_dir(out):
            res = study.reliability_study(
                data=data,
                out=out,
                scale=scale,
                participant=participant_col,
                ci=ci,
                n_factors=n_factors,
                reverse=reverse,
                missing=missing,
                na_values=na_values,
                polychoric=polychoric,
            )
        table, info = res.table, res.notes
        row = table.iloc[0]
        typer.echo(
            f"rating scale {info['scale']}; {row.n_participants} participants ({row.n_incomplete} "
            "incomplete, "
            f"{missing}), {row.n_items} items ({row.n_reversed} reversed)"
        )
        show = table[
            [
                "alpha",
                "alpha_ci_low",
                "alpha_ci_high",
                "omega_total",
                "omega_hierarchical",
                "n_factors",
            ]
        ]
        _echo_table(
            show.round(3),
            f"reliability of the scale (omegas from {row.omega_correlation} correlations):",
        )
        if isinstance(row.omega_h_note, str):
            typer.echo(f"note: {row.omega_h_note}")
        typer.echo(f"wrote {out / 'reliability.csv'} and {out / 'item_statistics.csv'}")
        return
    if reverse:
        _fail(
            "--reverse applies to --data; with --items the sign of each selected item says which "
            "to reverse"
        )
    _use_data_dir(data_dir)
    with _user_errors(), _reading(sep, decimal, sheet), tio.locked_out_dir(out):
        res = study.reliability_study(
            ratings,
            items,
            out=out,
            scale=scale,
            participant=participant_col,
            item=item_col,
            rating=rating_col,
            method=method,
            ci=ci,
            n_factors=n_factors,
            missing=missing,
            data_dir=data_dir,
            na_values=na_values,
            polychoric=polychoric,
            dimensions=dimension,
        )
    table, info = res.table, res.notes
    typer.echo(f"rating scale {info['scale']}")
    _echo_table(
        _selected_sets_view(table).round(3),
        "reliability of the selected item sets (columns of reliability.csv; Schmid-Leiman "
        f"omegas from {'polychoric' if polychoric else 'pearson'} correlations):",
    )
    for line in _selected_sets_legend(table, n_factors=n_factors, polychoric=polychoric):
        typer.echo(line)
    typer.echo(f"wrote {out / 'reliability.csv'} ({len(table)} rows)")


def _selected_sets_view(table):
    """The printed columns of ``reliability --items``: what was computed, under its CSV name.

    The one-factor ``omega`` is always shown (it is computed for every set of 3 or more items);
    psych::omega's ``omega_total``/``omega_hierarchical`` only when some set has them (a set needs
    more items than --n-factors), and ``reason`` when some statistic was not computed.
    """
    cols = ["family", "dimension", "group", "n_items", "n_raters", "alpha", "omega"]
    cols += [c for c in ("omega_total", "omega_hierarchical") if table[c].notna().any()]
    if table["reason"].notna().any():
        cols.append("reason")
    view = table[cols].copy()
    if "reason" in view:
        view["reason"] = view["reason"].fillna("")
    return view


def _selected_sets_legend(table, *, n_factors: int, polychoric: bool) -> list[str]:
    """What each printed number is, and why psych::omega's omegas are absent when they are."""
    kind = "polychoric" if polychoric else "Pearson"
    lines = [
        "alpha: Cronbach's alpha; omega: McDonald's omega of one factor (Pearson correlations; "
        "reliability.csv adds omega_h_one_factor and alpha's CI)",
    ]
    if table["omega_total"].notna().any():
        lines.append(
            f"omega_total, omega_hierarchical: psych::omega's Schmid-Leiman solution with "
            f"{n_factors} group factors ({kind} correlations; sets of more than {n_factors} items)"
        )
    else:
        lines.append(
            f"omega_total, omega_hierarchical: not computed (psych::omega's Schmid-Leiman "
            f"solution needs more than --n-factors {n_factors} items in a set)"
        )
    return lines
