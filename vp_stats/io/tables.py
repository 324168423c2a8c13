"""Reading a user's tables through the column contracts, and writing outputs atomically.

Readers take a path and return a validated, canonical DataFrame (see
:mod:`vp_stats.tables`); every problem is one :class:`~vp_stats.errors.TableError`
(or :class:`~vp_stats.errors.DataFormatError`) naming the file, the row (with its
line in the file) and the field. A user's files never pass through the upstream
hash registry.

Writers never leave a half-written file: a table is written to a temporary file
in the target folder and renamed into place (:func:`write_csv`), so an earlier
output survives any failure, including a full disk. :func:`prepare_out_dir`
checks an output folder before any computation.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "r.csv").write_text("participant,item,rating\\na,q1,3\\nb,q1,x\\n")
>>> try:
...     read_ratings(d / "r.csv")
... except TableError as exc:
...     print(str(exc).replace(str(d), "DIR"))
DIR/r.csv: row 2 (line 3), field 'rating': cannot read 'x' as a number
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from vp_stats import tables
from vp_stats.errors import DataFormatError, TableError
from vp_stats.io import formats

__all__ = [
    "parse_na_values",
    "mask_na_values",
    "na_values_record",
    "read_csv",
    "check_file",
    "read_ratings",
    "require_participants",
    "read_scores",
    "read_correlations",
    "read_selected_items",
    "read_answers",
    "read_item_matrix",
    "ItemMatrix",
    "read_questionnaire_answers",
    "write_csv",
    "write_json",
    "write_text",
    "prepare_out_dir",
    "prepare_out_file",
    "locked_out_dir",
    "TableError",
]


def parse_na_values(spec) -> tuple[str, ...]:
    """The missing-value codes of ``--na-values`` / ``na_values=``: ``"-99,999"`` or a sequence.

    Examples
    --------
    >>> parse_na_values("-99, 999"), parse_na_values([-99, "NA"]), parse_na_values(None)
    (('-99', '999'), ('-99', 'NA'), ())
    """
    if spec is None:
        return ()
    items = spec.split(",") if isinstance(spec, str) else [str(v) for v in spec]
    out = tuple(dict.fromkeys(t.strip() for t in items if str(t).strip()))
    if isinstance(spec, str) and spec.strip() and not out:
        raise ValueError(f"--na-values {spec!r}: expected codes separated by commas, e.g. -99,999")
    return out


def na_values_record(spec) -> dict:
    """The provenance entry of ``--na-values``: ``{"na_values": [...]}``, empty when none given.

    Examples
    --------
    >>> na_values_record("-99"), na_values_record(None)
    ({'na_values': ['-99']}, {})
    """
    codes = parse_na_values(spec)
    return {"na_values": list(codes)} if codes else {}


def mask_na_values(df: pd.DataFrame, columns, na_values) -> pd.DataFrame:
    """Set the cells of ``columns`` that hold a missing-value code to missing (NaN).

    A cell is a missing-value code when its text equals a code, or when both are numbers
    and equal (``-99.0`` is the code ``-99``). Only the value columns are masked, never ids:
    a participant called ``999`` stays a participant.

    Examples
    --------
    >>> t = pd.DataFrame({"participant": ["999", "b"], "rating": ["-99.0", "4"]})
    >>> mask_na_values(t, ["rating"], "-99").to_dict("list")
    {'participant': ['999', 'b'], 'rating': [nan, '4']}
    """
    codes = parse_na_values(na_values)
    if not codes:
        return df
    numbers = []
    for c in codes:
        try:
            numbers.append(float(c))
        except ValueError:
            pass
    out = df.copy()
    for col in columns:
        if col not in out.columns:
            continue
        s = out[col]
        hit = s.notna() & s.astype(str).str.strip().isin(codes)
        if numbers:
            hit |= pd.to_numeric(s, errors="coerce").isin(numbers)
        if hit.any():
            out[col] = s.mask(hit)
    return out


def read_csv(path: str | os.PathLike, *, as_text: bool = True, what: str = "file") -> pd.DataFrame:
    """Read a CSV file; file-level problems become :class:`DataFormatError` naming the file.

    With ``as_text`` every cell is read as text (empty cells as missing) and the
    contracts convert and check the types, so a bad cell is reported where it is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("a,b\\n1,\\n")
    >>> read_csv(p).to_dict("records")
    [{'a': '1', 'b': nan}]
    """
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, None, None, f"{what} not found")
    if p.is_dir():
        raise DataFormatError(p, None, None, "is a folder, expected a CSV file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise DataFormatError(p, None, None, f"cannot be read ({exc.strerror})") from exc
    if not head.strip():
        raise DataFormatError(
            p, None, None, "file is empty, expected a CSV table with a header line"
        )
    if formats.file_format(p) != "csv":  # Excel, SPSS, Stata, R: vp_stats.io.formats
        return formats.read_file(p, as_text=as_text).table
    sep, decimal = formats.csv_dialect(head)
    kw = dict(dtype=str, keep_default_na=False, na_values=[""]) if as_text else {}
    try:
        df = pd.read_csv(p, encoding="utf-8", sep=sep, **kw)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            p, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataFormatError(
            p, None, None, "file is empty, expected a CSV table with a header line"
        ) from exc
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataFormatError(p, None, None, f"not a valid CSV table: {exc}".strip()) from exc
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise DataFormatError(
            p,
            None,
            None,
            f"the header has an empty column name (column {df.columns.get_loc(unnamed[0]) + 1})",
        )
    dup = [
        c
        for c in df.columns
        if "." in str(c)
        and str(c).rsplit(".", 1)[0] in df.columns
        and str(c).rsplit(".", 1)[1].isdigit()
    ]
    if dup:
        raise DataFormatError(
            p, None, dup[0].rsplit(".", 1)[0], "the header names this column twice"
        )
    # a Qualtrics export's header rows, decimal commas (rows keep their place in the file)
    return formats.tidy_csv(
        df.reset_index(drop=True), source=p, decimal=decimal, as_text=as_text, sep=sep
    ).table


def check_file(
    df: pd.DataFrame,
    contract,
    *,
    source: str | os.PathLike,
    headers: Mapping[str, str] | None = None,
    name_rows_by: str | None = None,
    hints: Mapping[str, str] | None = None,
    extra_checks: Mapping | None = None,
) -> pd.DataFrame:
    """Put a table read from a file through its contract; an error speaks the file's words.

    The one step of every reader between reading a file and the checks a contract cannot
    express: :func:`vp_stats.tables.check` with the file's row numbering, and its
    :class:`~vp_stats.errors.TableError` re-worded for the file's user.

    Parameters
    ----------
    df : DataFrame
        The file's rows (default RangeIndex), its columns already renamed to the contract's.
    contract : DataFrameModel class or DataFrameSchema
    source : path-like
        The file, as errors name it.
    headers : mapping, optional
        Contract column -> the file's header for it (``{"participant": "respondent"}``): the
        field an error names.
    name_rows_by : str, optional
        A contract column whose value an error quotes beside the row and line
        (``row 2 (line 3, respondent 'r1')``).
    hints : mapping, optional
        Contract column -> what a valid value is, appended to a problem in that column.
    extra_checks : mapping, optional
        Passed to :func:`vp_stats.tables.check`.

    Examples
    --------
    >>> d = pd.DataFrame({"participant": ["r1", "r1"], "item": [1, 2], "rating": [1, "J"]})
    >>> try:
    ...     check_file(d, tables.SvoAnswers, source="svo.csv", name_rows_by="participant",
    ...                headers={"participant": "respondent", "rating": "choice"},
    ...                hints={"rating": "expected 1-9"})
    ... except TableError as exc:
    ...     print(exc)
    svo.csv: row 2 (line 3, respondent 'r1'), field 'choice': 'J' is not an integer; expected 1-9
    """
    headers = dict(headers or {})
    try:
        return tables.check(
            df, contract, source=str(source), from_file=True, extra_checks=extra_checks
        )
    except TableError as exc:
        field = headers.get(exc.field, exc.field)
        problem = exc.problem
        if exc.row is None and problem.startswith("missing column"):  # in the file's words
            listed = ", ".join(str(headers.get(c, c)) for c in df.columns)
            problem = f"missing column {field!r} (columns are: {listed})"
        elif hints and exc.field in hints and "uniqueness" not in getattr(exc, "check", ""):
            problem += f"; {hints[exc.field]}"
        detail = None
        if name_rows_by in df.columns and isinstance(exc.row, int):
            who = df[name_rows_by].iloc[exc.row - 1]
            if pd.notna(who) and str(who).strip():
                detail = f"{headers.get(name_rows_by, name_rows_by)} {who!r}"
        raise TableError(exc.file, exc.row, field, problem, detail=detail) from None


def read_ratings(
    path: str | os.PathLike,
    *,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    group: str = "group",
    scale=None,
    na_values=None,
    min_participants: int = 1,
) -> tables.CheckedRatings:
    """Read a ratings CSV (``participant,item,rating`` [``,group``]) through the Ratings contract.

    ``item`` is any non-empty string id; a Value Portrait file with
    ``portrait_id,option_id`` columns instead gets ``item = "<portrait_id>_<option_id>"``.
    ``scale`` ("1-5" ...) bounds the ratings; default inferred, and refused when it is not a
    plausible rating scale (:func:`vp_stats.tables.implausible_rating`). ``na_values``
    (``"-99,999"`` or a list) are missing-value codes of the rating column: their rows are
    dropped (a long table has no cell for a missing answer; errors keep the file's lines).
    Returns a :class:`~vp_stats.tables.CheckedRatings`: the table (``.table``) and the scale
    (``.scale``). A file with fewer than ``min_participants`` distinct participants is an error
    (:func:`require_participants`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> rows = "".join(f"p{i},q,{v}\\n" for i, v in enumerate([1, 2, 3, 4, 5, -99]))
    >>> _ = p.write_text("participant,item,rating\\n" + rows)
    >>> try:
    ...     read_ratings(p)
    ... except TableError as exc:
    ...     print(str(exc).replace(str(p), "r.csv").split(" makes")[0])
    r.csv: row 6 (line 7), field 'rating': rating -99
    >>> r = read_ratings(p, na_values="-99")
    >>> len(r.table), str(r.scale)
    (5, '1-5')
    """
    df = read_csv(path, what="ratings file")
    participant = formats.default_id_column(df, participant)
    if _is_wide(df, participant, item, rating):
        return _wide_ratings(df, str(path), participant, group, scale, na_values)
    if parse_na_values(na_values):
        masked = mask_na_values(df, [rating], na_values)
        if rating in df.columns:
            df = masked[~(masked[rating].isna() & df[rating].notna())]
    checked = tables.ratings_table(
        df,
        participant=participant,
        item=item,
        rating=rating,
        group=group,
        scale=scale,
        source=str(path),
        from_file=True,
    )
    require_participants(checked.table, path, min_participants, field=participant)
    return checked


def require_participants(
    ratings: pd.DataFrame, path, n: int = 3, *, field: str = "participant"
) -> None:
    """Refuse a ratings table with fewer than ``n`` distinct participants (DataFormatError
    naming the file): item statistics correlate ratings across participants, and with one
    participant every one of them is undefined.

    Examples
    --------
    >>> t = pd.DataFrame({"participant": ["a", "a"], "item": ["q1", "q2"], "rating": [1, 2]})
    >>> try:
    ...     require_participants(t, "r.csv")
    ... except DataFormatError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    r.csv: file level, field 'participant': 1 participant(s) ('a'); item statistics ...
    """
    who = ratings["participant"].unique()
    if len(who) < n:
        named = ", ".join(repr(str(w)) for w in who[:3])
        raise DataFormatError(
            path,
            None,
            field,
            f"{len(who)} participant(s) ({named}); item statistics correlate ratings across "
            f"participants and need at least {n}",
        )


def read_scores(
    path: str | os.PathLike, *, participant: str = "participant", dimensions=None
) -> pd.DataFrame:
    """Read participant scores: long (``participant,family,dimension,score``) or wide.

    A wide file holds ``participant`` and one column per known dimension
    (``Self_Direction`` ... ``Universalism``, ``Openness_to_Change`` ...,
    ``Extraversion`` ... ``Openness``); the family follows from the name.
    """
    df = read_csv(path, what="scores file")
    return tables.scores_table(
        df, participant=participant, dimensions=dimensions, source=str(path), from_file=True
    )


def read_correlations(path: str | os.PathLike, *, dimensions=None) -> pd.DataFrame:
    """Read an item x dimension correlation table (e.g. an ``item_correlations.csv``)."""
    df = read_csv(path, what="correlation table")
    return tables.correlations_table(df, dimensions=dimensions, source=str(path), from_file=True)


def read_selected_items(path: str | os.PathLike, *, dimensions=None) -> pd.DataFrame:
    """Read the items whose reliability to compute: ``item, family, dimension`` (+ selection).

    An ``item_correlations.csv`` written by ``vp-stats validate`` is such a file
    (its ``selected`` column marks the items; ``sign`` defaults to the sign of rho).
    A plain list of items (no ``selected`` column) selects every row.
    """
    df = read_csv(path, what="items file")
    df = df.mask(df.isin(["NA", "NaN", "nan"]))  # R's write.csv writes missing cells as NA
    src = str(path)
    had_rho = "rho" in df.columns
    out = tables.correlations_table(
        df if had_rho else df.assign(rho=float("nan")),
        dimensions=dimensions,
        source=src,
        from_file=True,
    )
    if not had_rho:
        out = out.drop(columns="rho")
    if "selected" not in out.columns:
        out["selected"] = True
    if "sign" in out.columns:
        sign = pd.to_numeric(out["sign"], errors="coerce")
        bad = ~sign.isin([-1, 0, 1])
        if bad.any():
            at = int(bad.to_numpy().nonzero()[0][0])
            raise TableError(
                src, at + 1, "sign", f"expected -1, 0 or 1, got {out['sign'].iloc[at]!r}"
            )
        out["sign"] = sign.astype(int)
    elif "rho" in out.columns:
        out["sign"] = (out["rho"].fillna(0) < 0).map({True: -1, False: 1})
    else:
        out["sign"] = 1
    return out


def read_answers(path: str | os.PathLike, *, scale=None, na_values=None) -> pd.DataFrame:
    """Read LLM answers: a runner ``answers.csv`` (one row per variant, ``rating``) or a
    per-item table (``numeric_response``), checked by the Answers contract.

    Returns the table with its numbers parsed and an ``item`` column; a ``variant`` column
    marks a per-variant table. ``na_values``: missing-value codes of the answer column
    (become missing answers).
    """
    out = read_csv(
        path, as_text=False, what="answers file"
    )  # numbers parsed; the contract checks each cell
    per_variant = "variant" in out.columns
    value = "rating" if per_variant else "numeric_response"
    out = mask_na_values(out, [value], na_values)
    if value not in out.columns:
        raise TableError(
            str(path),
            None,
            value,
            f"missing column {value!r}: an answers file is a runner answers.csv "
            "(model, item or portrait_id/option_id, variant, rating, parse_ok) or a per-item table "
            "(model, item or portrait_id/option_id, numeric_response)",
        )
    base = out.drop(columns=["rating"]) if not per_variant and "rating" in out.columns else out
    checked = tables.answers_table(
        base,
        rating=value,
        scale=scale if scale is not None else tables.VP_SCALE,
        source=str(path),
        from_file=True,
    )
    if "item" in out.columns:
        out["item"] = checked["item"].to_numpy()
    else:
        out.insert(0, "item", checked["item"].to_numpy())
    out["model"] = checked["model"].to_numpy()
    if per_variant:
        if "parse_ok" not in out.columns:
            out["parse_ok"] = out["rating"].notna()
        else:
            out["parse_ok"] = _parse_ok(out["parse_ok"], path)
        dup = out.duplicated(["model", "item", "variant"])
        if dup.any():
            at = int(dup.to_numpy().nonzero()[0][0])
            raise TableError(
                str(path),
                at + 1,
                "variant",
                f"duplicate answer: model {out['model'].iloc[at]!r}, item "
                f"{out['item'].iloc[at]!r}, variant {out['variant'].iloc[at]!r} appears in an "
                "earlier row",
            )
    else:
        dup = out.duplicated(["model", "item"])
        if dup.any():
            at = int(dup.to_numpy().nonzero()[0][0])
            raise TableError(
                str(path),
                at + 1,
                "item",
                f"duplicate answer: model {out['model'].iloc[at]!r}, item "
                f"{out['item'].iloc[at]!r} appears in an earlier row",
            )
    usable = pd.to_numeric(out[value], errors="coerce").notna()
    if per_variant:
        usable &= out["parse_ok"].astype(bool)
    if not usable.any():
        raise TableError(
            str(path),
            None,
            value,
            f"no usable answer in {len(out)} row(s): every {value!r} is missing"
            + (" or its parse_ok is false" if per_variant else "")
            + "; nothing to score",
        )
    return out


_TRUE = ("true", "1", "1.0", "yes")
_FALSE = ("false", "0", "0.0", "no")


def _parse_ok(col: pd.Series, path) -> pd.Series:
    """A ``parse_ok`` column as booleans: true/false (any case), 1/0 or yes/no; anything else
    (including an empty cell) is an error naming its row."""
    if col.dtype == bool:
        return col
    text = col.astype(str).str.strip().str.lower()
    ok = text.isin(_TRUE + _FALSE) & col.notna()
    if not ok.all():
        at = int((~ok).to_numpy().nonzero()[0][0])
        raise TableError(
            str(path),
            at + 1,
            "parse_ok",
            f"{col.iloc[at]!r} is not true or false (parse_ok says whether the answer was "
            "parsed into a rating)",
        )
    return text.isin(_TRUE)


@dataclass(frozen=True)
class ItemMatrix(tables.Result):
    """A participants x items matrix read from a file, with the rating scale it was checked on.

    ``table``: float values, index ``participant``, one column per item (file order);
    ``scale``: the :class:`~vp_stats.tables.Scale` given or inferred from the values;
    ``labels``: the columns read with ``labels=`` (text, same index; None without them).
    """

    scale: tables.Scale | None = None
    labels: pd.DataFrame | None = None


def read_item_matrix(
    path: str | os.PathLike,
    *,
    participant: str = "participant",
    scale=None,
    na_values=None,
    labels=(),
) -> ItemMatrix:
    """Read a respondents x items file: one row per respondent, one column per item.

    An optional ``participant`` column names the rows (else they are numbered
    1..n as in the file); every other column is an item. Cells are numbers or
    missing (empty, or ``NA`` as R writes it); anything else is an error naming row and item.
    ``scale``
    ("1-5" ...) bounds the values; default inferred from them, and refused when it is not a
    plausible rating scale (:func:`vp_stats.tables.implausible_rating`: -99 or 999 read as
    answers). ``na_values`` (``"-99,999"`` or a list): missing-value codes of the item cells.
    ``labels``: columns that are not items but labels of the rows (a group column), returned
    as text in ``ItemMatrix.labels`` (a missing one is an error naming the column).

    Returns
    -------
    ItemMatrix
        ``table``: float values, index ``participant``, one column per item (file order);
        ``scale``: the scale given or inferred.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "items.csv"
    >>> _ = p.write_text("participant,A1,A2\\na,1,5\\nb,,4\\n")
    >>> m = read_item_matrix(p)
    >>> m.table.shape, str(m.scale), m.table.index.tolist()
    ((2, 2), '1-5', ['a', 'b'])
    """
    df = read_csv(path, what="items file")
    participant = formats.default_id_column(df, participant)
    if {participant, "item", "rating"} <= set(df.columns):  # long ratings: pivoted
        if labels:
            lab = [labels] if isinstance(labels, str) else list(labels)
            raise TableError(
                str(path),
                None,
                lab[0],
                "a group column needs the wide layout (one row per "
                "participant, one column per item); write it with `vp-stats pivot`",
            )
        r = read_ratings(path, participant=participant, scale=scale, na_values=na_values)
        order = list(dict.fromkeys(r.table["item"]))
        wide = tables.to_wide(r.table, "participant", "item", "rating", column_order=order)
        return ItemMatrix(wide.rename_axis("participant"), {"scale": str(r.scale)}, scale=r.scale)
    return _item_matrix(df, str(path), participant, scale, na_values, labels)


def _is_wide(df: pd.DataFrame, participant: str, item: str, rating: str) -> bool:
    """A ratings file in the wide layout: an id column and item columns, no item/rating column."""
    return (
        participant in df.columns
        and item not in df.columns
        and rating not in df.columns
        and not {"portrait_id", "option_id"} & set(df.columns)
        and len(df.columns) > 1
    )


def _wide_ratings(df, src, participant, group, scale, na_values) -> tables.CheckedRatings:
    """Wide ratings (one row per participant, one column per item) checked cell by cell as an
    item matrix (errors name the file's row and item column), then made long."""
    groups = None
    if group in df.columns:
        groups = df.set_index(participant)[group] if participant in df.columns else None
        df = df.drop(columns=group)
    mat = _item_matrix(df, src, participant, scale, na_values)
    long = (
        mat.table.rename_axis(index="participant", columns="item")
        .stack(future_stack=True)
        .dropna()
        .rename("rating")
        .reset_index()
    )
    if groups is not None:
        long["group"] = long["participant"].map(groups.to_dict())
    out = tables.ratings_table(long, scale=mat.scale, source=src)
    return dataclasses.replace(out, scale=mat.scale)


def _item_matrix(
    df: pd.DataFrame, src: str, participant: str, scale, na_values, labels=()
) -> ItemMatrix:
    """The cell-by-cell checks of a respondents x items table (:func:`read_item_matrix`)."""
    df = df.mask(df.isin(["NA", "NaN", "nan"]))  # R's write.csv writes missing cells as NA
    labels = [labels] if isinstance(labels, str) else list(labels)
    absent = [c for c in labels if c not in df.columns]
    if absent:
        raise TableError(
            src, None, absent[0], f"no column {absent[0]!r} (columns: {', '.join(df.columns)})"
        )
    label_table = df[labels].copy() if labels else None
    df = df.drop(columns=labels)
    items = [c for c in df.columns if c != participant]
    df = mask_na_values(df, items, na_values)
    if not items:
        raise TableError(
            src,
            None,
            None,
            "no item columns (one column per item, and optionally a participant column)",
        )
    sc = tables.parse_scale(scale)
    checks = [pa.Check(tables._finite, name="finite")]
    if sc is not None:
        checks.append(pa.Check.in_range(sc.low, sc.high, ignore_na=True))
    cols = {c: pa.Column(float, checks, nullable=True) for c in items}
    if participant in df.columns:
        cols[participant] = pa.Column(str, pa.Check.str_length(min_value=1))
    schema_ = pa.DataFrameSchema(
        cols, coerce=True, unique=[participant] if participant in df.columns else None
    )
    checked = tables.check(df, schema_, source=src, from_file=True)
    if participant in checked.columns:
        checked = checked.set_index(participant)
    else:
        checked.index = pd.RangeIndex(1, len(checked) + 1, name=participant)
    out = checked[items].astype(float)
    if sc is None:
        bad = tables.implausible_rating(out.to_numpy().ravel())
        if bad is not None:
            i, j = divmod(bad[0], out.shape[1])
            lab = df.index[i]  # the file's row (a Qualtrics export's data start on line 4)
            row = int(lab) + 1 if isinstance(lab, (int, np.integer)) else i + 1
            raise TableError(src, row, items[j], tables.implausible_scale_problem(bad[1], bad[2]))
        sc = tables.infer_scale(out.to_numpy().ravel())
    if label_table is not None:
        label_table.index = out.index
    return ItemMatrix(out, {"scale": str(sc)}, scale=sc, labels=label_table)


#: The answer-sheet file format's header words and the table's column names (vocabulary).
ANSWER_SHEET_HEADERS = {"respondent": "participant", "answer": "rating"}


def read_questionnaire_answers(path: str | os.PathLike) -> pd.DataFrame:
    """Read raw questionnaire answers (PVQ-21, BFI-10) with numbers parsed; the scorers check them.

    The file is long (``participant,item,rating``) or wide (``participant`` plus one column per
    item); the file format also names the columns ``respondent`` and ``answer``
    (:data:`ANSWER_SHEET_HEADERS`), which become ``participant`` and ``rating``. Both layouts
    go through the :class:`~vp_stats.tables.AnswerSheet` contract (participant ids, numeric
    answers, one answer per participant and item; a wide file's item columns are checked as
    its ``rating``), with errors naming the file's own column; the instrument's scorer then
    checks the items and the answer scale.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("respondent,item,answer\\nr1,1,4\\n")
    >>> read_questionnaire_answers(p).columns.tolist()
    ['participant', 'item', 'rating']
    """
    df = read_csv(path, as_text=False, what="answers file")
    for old, new in ANSWER_SHEET_HEADERS.items():
        if old in df.columns and new in df.columns:
            raise DataFormatError(
                Path(path), None, old, f"the file has both {old!r} and {new!r}: give one"
            )
    headers = {new: old for old, new in ANSWER_SHEET_HEADERS.items() if old in df.columns}
    df = df.rename(columns=ANSWER_SHEET_HEADERS)
    if "item" in df.columns:  # the long layout
        checked = check_file(
            df, tables.AnswerSheet, source=path, headers=headers, name_rows_by="participant"
        )
        return df.assign(participant=checked["participant"], rating=checked["rating"])
    # the wide layout: one row per participant, each item column holds answers as `rating` does
    sheet = tables.AnswerSheet.to_schema()
    items = [c for c in df.columns if c != "participant"]
    wide = pa.DataFrameSchema(
        {
            "participant": sheet.columns["participant"],
            **{c: sheet.columns["rating"].set_name(c) for c in items},
        },
        coerce=True,
        unique=["participant"],
    )
    return check_file(df, wide, source=path, headers=headers, name_rows_by="participant")


# --------------------------------------------------------------------------- writing


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Check an output folder before any work: create it if needed, refuse a file or read-only one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "new" / "out"
    >>> prepare_out_dir(d).is_dir()
    True
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise DataFormatError(p, None, None, "--out names a file, expected a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFormatError(
            p, None, None, f"cannot create the output folder ({exc.strerror})"
        ) from exc
    try:
        fd, probe = tempfile.mkstemp(prefix=".vp-write-check-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataFormatError(
            p, None, None, f"the output folder is not writable ({exc.strerror})"
        ) from exc
    return p


@contextmanager
def locked_out_dir(path: str | os.PathLike):
    """Check an output folder (:func:`prepare_out_dir`) and hold its lock while a run writes to it.

    A second run on the same folder is refused at once with a clear error
    (never interleaved); the lock is released when the run ends, also on a
    crash (the ``filelock`` package's lock on ``.vp-stats.lock``: an advisory ``flock`` on
    Unix, ``msvcrt.locking`` on Windows, both dropped by the system when the process dies).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with locked_out_dir(d) as out:
    ...     try:
    ...         with locked_out_dir(d):
    ...             pass
    ...     except DataFormatError as exc:
    ...         print("refused:", "another vp-stats run" in str(exc))
    refused: True
    """
    from filelock import FileLock, Timeout

    p = prepare_out_dir(path)
    lock = FileLock(p / ".vp-stats.lock", is_singleton=False, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise DataFormatError(
            p,
            None,
            None,
            "another vp-stats run is writing to this folder right now; "
            "wait for it to finish or choose another --out",
        ) from exc
    try:
        yield p
    finally:
        lock.release()


def prepare_out_file(path: str | os.PathLike) -> Path:
    """Check an output file's place before any work: its folder exists or is made, is writable,
    and the path is not a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> prepare_out_file(pathlib.Path(tempfile.mkdtemp()) / "sub" / "t.csv").name
    't.csv'
    """
    p = Path(path)
    if p.is_dir():
        raise DataFormatError(
            p, None, None, "--out names a folder, expected a file name (e.g. results.csv)"
        )
    prepare_out_dir(p.parent if str(p.parent) else ".")
    return p


_UMASK_LOCK = threading.Lock()


def _current_umask() -> int:
    """The process's file-creation mask (read from ``/proc/self/status`` where it is, else by
    setting and restoring it under a lock).

    Examples
    --------
    >>> 0 <= _current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # pragma: no cover - not Linux
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> Path:
    """Write ``path`` through a temporary file in its folder, then rename: readers see the old file
    or the new one, never half of one. The file gets the mode a plain ``open()`` would give it
    (0666 less the umask; ``mkstemp`` alone makes it 0600, unreadable to a colleague sharing the
    folder). A write error (a full disk, a quota) is an ``OSError`` naming ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and not exc.filename:
            raise OSError(exc.errno, f"cannot write the file: {exc.strerror}", str(path)) from exc
        raise
    return path


def atomic_file(path: str | os.PathLike, write) -> Path:
    """Write ``path`` by calling ``write(tmp)`` on a temporary path in the same folder (same
    suffix, for writers that choose the format by it), then rename: the file writers that take a
    path (Excel, SPSS, Stata, R, figures) get what :func:`_atomic_write` gives text: readers see the
    old file or the new one, the mode a plain ``open()`` would give (0666 less the umask), and a
    failed write leaves no temporary file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = atomic_file(p, lambda t: pathlib.Path(t).write_text("x"))
    >>> p.read_text(), oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_current_umask())
    ('x', True)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table atomically (temporary file in the same folder, then rename).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_csv(pd.DataFrame({"a": [1]}), p)
    >>> p.read_text()
    'a\\n1\\n'
    """
    return _atomic_write(Path(path), lambda fh: df.to_csv(fh, index=False))


def write_json(obj: Mapping, path: str | os.PathLike) -> Path:
    """Write a JSON document atomically (sorted keys, UTF-8)."""
    return _atomic_write(
        Path(path), lambda fh: json.dump(obj, fh, indent=2, sort_keys=True, default=str)
    )


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically."""
    return _atomic_write(Path(path), lambda fh: fh.write(text))
