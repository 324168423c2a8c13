"""One file through every command: the long ratings and a selection as a respondents x items
matrix, read for ``structure`` and written for R, SPSS, Stata, JASP or Excel (``vp-stats pivot``).

``vp-stats validate`` reads long ratings (``participant,item,rating``) and writes a long
selection (``item_correlations.csv``: ``item, family, dimension, ..., selected``); the factor
analyses and the wide tools of other programs want one row per respondent and one column per
item. :func:`read_ratings_matrix` reads the first two and gives the third, through the same
readers and contracts as every other file (:mod:`vp_stats.io.tables`); :func:`write_matrix`
writes it in the format its suffix names.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "r.csv").write_text("participant,item,rating\\na,q1,1\\na,q2,2\\nb,q1,3\\nb,q2,5\\n")
>>> _ = (d / "sel.csv").write_text("item,family,dimension\\nq2,pvq,Power\\n")
>>> m = read_ratings_matrix(d / "r.csv", d / "sel.csv")
>>> m.table.to_dict("list"), str(m.scale)
({'q2': [2.0, 5.0]}, '1-5')
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from vp_stats import tables
from vp_stats.errors import DataFormatError, TableError
from vp_stats.io import formats
from vp_stats.io import tables as tio

__all__ = ["read_ratings_matrix", "selected_items", "write_matrix", "WIDE_FORMATS"]

#: The suffixes :func:`write_matrix` writes, and what reads them.
WIDE_FORMATS = {
    ".csv": "CSV (R read.csv, JASP, jamovi)",
    ".tsv": "tab-separated text",
    ".xlsx": "Excel workbook (needs openpyxl)",
    ".sav": "SPSS data file (needs pyreadstat)",
    ".dta": "Stata data file (needs pyreadstat)",
    ".rds": "R data frame (readRDS)",
}


def selected_items(
    selection: pd.DataFrame, dimensions=None, *, source: str = "items file"
) -> list[str]:
    """The items a selection names, in its order: its ``selected`` rows, of ``dimensions`` only.

    ``selection`` is :func:`vp_stats.io.tables.read_selected_items`' table (an
    ``item_correlations.csv`` or a plain ``item, family, dimension`` list). An item selected for
    several dimensions appears once.

    Examples
    --------
    >>> sel = pd.DataFrame({"item": ["a", "b", "a", "c"], "dimension": ["Power", "Power",
    ...                     "Extraversion", "Power"], "selected": [True, True, True, False]})
    >>> selected_items(sel), selected_items(sel, "Extraversion")
    (['a', 'b'], ['a'])
    """
    keep = selection["selected"].astype(bool)
    if dimensions is not None:
        wanted = [dimensions] if isinstance(dimensions, str) else list(dimensions)
        known = set(selection["dimension"])
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise ValueError(
                f"--dimension {unknown[0]!r} is not in {source} (it has: "
                f"{', '.join(map(str, dict.fromkeys(selection['dimension'])))})"
            )
        keep &= selection["dimension"].isin(wanted)
    items = list(dict.fromkeys(selection.loc[keep, "item"].astype(str)))
    if not items:
        what = f" for {', '.join(wanted)}" if dimensions is not None else ""
        raise ValueError(f"{source}: no selected item{what}")
    return items


def read_ratings_matrix(
    ratings: str | os.PathLike,
    items: str | os.PathLike | None = None,
    *,
    dimensions=None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    scale=None,
    na_values=None,
) -> tio.ItemMatrix:
    """The respondents x items matrix of the long ratings, restricted to a selection.

    Parameters
    ----------
    ratings : path
        Ratings in any layout and format :func:`vp_stats.io.tables.read_ratings` reads.
    items : path, optional
        A selection (:func:`vp_stats.io.tables.read_selected_items`): its selected items,
        in its order, become the columns; default every item, in the ratings' order.
    dimensions : str or list of str, optional
        Only the items selected for these dimensions.
    participant, item, rating, scale, na_values
        As :func:`vp_stats.io.tables.read_ratings`.

    Returns
    -------
    ItemMatrix
        ``table``: index ``participant`` (sorted), one float column per item, NaN where a
        participant did not rate an item; ``scale``: the ratings' scale.
    """
    r = tio.read_ratings(
        ratings, participant=participant, item=item, rating=rating, scale=scale, na_values=na_values
    )
    long = r.table
    order = list(dict.fromkeys(long["item"]))
    if items is not None:
        sel = tio.read_selected_items(items)
        order = selected_items(sel, dimensions, source=str(items))
        rated = set(order) & set(long["item"])
        missing = [i for i in order if i not in rated]
        if missing:
            at = int(sel.index[sel["item"].astype(str) == missing[0]][0])
            raise TableError(
                str(items), at + 1, "item", f"unknown item {missing[0]!r}: nobody rated it"
            )
        long = long[long["item"].isin(order)]
    elif dimensions is not None:
        raise ValueError(
            "--dimension needs --items (the selection that says each item's dimension)"
        )
    wide = tables.to_wide(
        long, "participant", "item", "rating", source=str(ratings), column_order=order
    )
    notes = {"scale": str(r.scale), "n_items": len(order)}
    return tio.ItemMatrix(wide.rename_axis("participant"), notes, scale=r.scale)


def write_matrix(matrix: pd.DataFrame, path: str | os.PathLike, *, item_labels=None) -> Path:
    """Write a respondents x items matrix (index: participant) in the format of ``path``'s
    suffix (:data:`WIDE_FORMATS`), atomically; missing cells are empty (CSV) or system-missing.

    ``item_labels`` (item -> text) become SPSS/Stata variable labels.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wide.csv"
    >>> m = pd.DataFrame({"q1": [1.0, None]}, index=pd.Index(["a", "b"], name="participant"))
    >>> print(write_matrix(m, p).read_text(), end="")
    participant,q1
    a,1
    b,
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in WIDE_FORMATS:
        raise ValueError(
            f"--out {p.name}: write .csv, .tsv, .xlsx, .sav, .dta or .rds (by the file's suffix)"
        )
    tio.prepare_out_file(p)
    df = matrix.reset_index()
    items = [c for c in df.columns if c != "participant"]
    if all(df[c].dropna().mod(1).eq(0).all() for c in items):
        df[items] = df[items].astype("Int64")  # whole-number ratings without ".0"
    if suffix in (".csv", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        return tio.atomic_file(p, lambda t: df.to_csv(t, index=False, sep=sep))
    if suffix == ".xlsx":
        formats._need("openpyxl", p, "an Excel workbook (.xlsx)")
        return tio.atomic_file(p, lambda t: df.to_excel(t, index=False, sheet_name="ratings"))
    if suffix == ".rds":
        import pyreadr

        return tio.atomic_file(
            p, lambda t: pyreadr.write_rds(t, df.astype({c: float for c in items}))
        )
    pyreadstat = formats._need("pyreadstat", p, "an SPSS or Stata file")
    labels = {c: str(item_labels[c]) for c in items if item_labels and c in item_labels}
    out = df.astype({c: float for c in items})
    try:
        if suffix == ".sav":
            tio.atomic_file(p, lambda t: pyreadstat.write_sav(out, t, column_labels=labels or None))
        else:
            tio.atomic_file(p, lambda t: pyreadstat.write_dta(out, t, column_labels=labels or None))
    except Exception as exc:  # noqa: BLE001 - pyreadstat refuses e.g. names SPSS cannot hold
        if isinstance(exc, (OSError, DataFormatError)):
            raise
        raise DataFormatError(
            p,
            None,
            None,
            f"cannot be written ({exc}); item ids must be valid {suffix[1:]} variable names "
            "(a letter first, no spaces): write .csv instead",
        ) from exc
    return p
