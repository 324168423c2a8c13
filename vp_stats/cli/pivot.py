"""``vp-stats pivot``: the long ratings (and a selection) as a respondents x items file for
R, SPSS, Stata, JASP, jamovi or Excel (:mod:`vp_stats.io.pivot`)."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    COLUMN_OPTS,
    NA_VALUES_OPT,
    READ_OPTS,
    _fail,
    _provenance,
    _read_record,
    _reading,
    _user_errors,
    app,
)

__all__ = ["pivot_cmd"]


@app.command("pivot")
def pivot_cmd(
    ratings: Path = typer.Option(
        ...,
        "--ratings",
        help="Long ratings participant,item,rating (any format vp-stats reads: CSV, .xlsx, .sav, "
        ".dta, .rds, a Qualtrics export; wide files are read too).",
    ),
    items: Path | None = typer.Option(
        None,
        "--items",
        help="Only these items, in this order: e.g. OUT/item_correlations.csv of `vp-stats "
        "validate` (its selected rows) or a list item,family,dimension.",
    ),
    dimension: str | None = typer.Option(
        None,
        "--dimension",
        help="With --items: only the items selected for these dimensions (comma-separated).",
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    item_col: str = COLUMN_OPTS["item"],
    rating_col: str = COLUMN_OPTS["rating"],
    scale: str | None = typer.Option(
        None,
        "--scale",
        help="Rating scale LOW-HIGH (values outside are errors). Default: inferred.",
    ),
    na_values: str | None = NA_VALUES_OPT,
    sep: str | None = READ_OPTS["sep"],
    decimal: str | None = READ_OPTS["decimal"],
    sheet: str | None = READ_OPTS["sheet"],
    out: Path = typer.Option(
        ...,
        "--out",
        help="The wide file; its suffix names the format: .csv, .tsv, .xlsx, .sav (SPSS), "
        ".dta (Stata) or .rds (R).",
    ),
) -> None:
    """Write the respondents x items matrix of long ratings, for other programs.

    One row per participant (column participant, sorted), one column per item (the selection's
    order, else the ratings'), empty or system-missing where a participant did not rate an
    item; OUT.provenance.json beside it. The same matrix is what `structure efa|cfa --ratings
    --items` analyse, so the wide file reproduces their input in R (psych::fa, lavaan::cfa),
    SPSS or JASP.
    """
    from vp_stats.io import formats, pivot
    from vp_stats.io import tables as tio

    dims = [d.strip() for d in dimension.split(",") if d.strip()] if dimension else None
    if dims and items is None:
        _fail("--dimension needs --items (the selection that names each item's dimension)")
    with _user_errors(), _reading(sep, decimal, sheet):
        mat = pivot.read_ratings_matrix(
            ratings,
            items,
            dimensions=dims,
            participant=participant_col,
            item=item_col,
            rating=rating_col,
            scale=scale,
            na_values=na_values,
        )
        labels = formats.read_table(ratings).item_labels  # a Qualtrics export's question texts
        pivot.write_matrix(mat.table, out, item_labels=labels)
        _provenance(
            out,
            "pivot",
            {
                "scale": str(mat.scale),
                "participant_col": participant_col,
                "item_col": item_col,
                "rating_col": rating_col,
                **({"dimension": dims} if dims else {}),
                **tio.na_values_record(na_values),
                **_read_record(sep, decimal, sheet),
            },
            {"ratings": ratings, "items": items},
            n_participants=int(mat.table.shape[0]),
            n_items=int(mat.table.shape[1]),
        )
    n, k = mat.table.shape
    n_missing = int(mat.table.isna().to_numpy().sum())
    typer.echo(
        f"wrote {out}: {n} participants x {k} items (rating scale {mat.scale}; "
        f"{n_missing} cells missing)"
    )
