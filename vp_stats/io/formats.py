"""The file formats people have: delimited text of any dialect, Excel, SPSS, Stata, R, Qualtrics.

Every reader of a user's table (:func:`vp_stats.io.tables.read_ratings`, ``read_scores``,
``read_item_matrix`` ...) reads its file through :func:`vp_stats.io.tables.read_csv`, which
hands any file that is not delimited text to :func:`read_file` here and puts delimited text
through :func:`csv_dialect` and :func:`tidy_csv`. The table then goes through the same column
contracts as a plain CSV file, so a bad cell is one error naming file, row and field whatever
the format.

- Delimited text (``.csv``, ``.tsv``, ``.txt``): the delimiter (``,`` ``;`` tab ``|``) is
  detected from the header line (:class:`csv.Sniffer` when several candidates appear in it),
  the decimal mark from the numbers of the first lines (``3,5`` with a ``;`` delimiter is 3.5);
  :func:`read_options` (``--sep``, ``--decimal`` on the command line) overrides both.
- A Qualtrics CSV export (a question-id header, then a question-text row and an ``ImportId``
  JSON row) is recognised by its third header row: the question ids are the columns, the
  question texts are kept as item labels (:attr:`FileTable.item_labels`), the survey metadata
  columns (``StartDate`` ... ``UserLanguage``) are dropped except ``ResponseId``, the default
  respondent id.
- Excel ``.xlsx`` (openpyxl; :func:`read_options` ``sheet``, ``--sheet`` on the command line).
- SPSS ``.sav``/``.zsav`` and Stata ``.dta`` (pyreadstat): values stay the stored codes, value
  labels and variable labels are kept as metadata; SPSS user-missing codes (read with
  ``user_missing=True`` and applied from the file's ``missing_ranges``) become missing, as do
  Stata's missing values ``.`` and ``.a`` ... ``.z``.
- R ``.rds`` and ``.RData``/``.rda`` data frames (pyreadr); a workspace with several data
  frames needs ``sheet`` (the object's name).

pyreadstat and openpyxl are optional (``pip install "vp-stats[formats]"``); a reader whose
library is missing says which extra to install.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
>>> _ = p.write_text("participant;item;rating\\na;q1;3,5\\n")
>>> from vp_stats.io.tables import read_csv
>>> read_csv(p).to_dict("records")
[{'participant': 'a', 'item': 'q1', 'rating': '3.5'}]
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import tables
from vp_stats.errors import DataFormatError

__all__ = [
    "ReadOptions",
    "read_options",
    "current_options",
    "file_format",
    "csv_dialect",
    "tidy_csv",
    "FileTable",
    "read_file",
    "read_table",
    "default_id_column",
    "describe_labels",
    "QUALTRICS_METADATA",
    "FORMATS_EXTRA",
]

log = logging.getLogger(__name__)

#: The pyproject extra that installs the optional readers.
FORMATS_EXTRA = 'pip install "vp-stats[formats]"'

#: Survey metadata columns of a Qualtrics export: not items, dropped (``ResponseId`` is kept as
#: the default respondent id).
QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "ExternalDataReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
    "Q_RecaptchaScore",
    "Q_RelevantIDDuplicate",
    "Q_RelevantIDDuplicateScore",
    "Q_RelevantIDFraudScore",
    "Q_RelevantIDLastStartDate",
)
QUALTRICS_ID = "ResponseId"

_SEPARATORS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
_SUFFIXES = {
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel-legacy",
    ".sav": "spss",
    ".zsav": "spss",
    ".dta": "stata",
    ".rds": "rds",
    ".rdata": "rdata",
    ".rda": "rdata",
}
_COMMA_NUMBER = re.compile(r"\s*[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?\s*")
_DOT_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a user's files: ``sep`` and ``decimal`` of delimited text (None: detected),
    ``sheet`` of an Excel workbook or data frame of an R workspace (None: the first / the only).
    """

    sep: str | None = None
    decimal: str | None = None
    sheet: str | None = None


_OPTIONS: ContextVar[ReadOptions | None] = ContextVar("vp_stats_read_options", default=None)


@contextmanager
def read_options(*, sep: str | None = None, decimal: str | None = None, sheet=None):
    """Read every user file in this block with these options (the command line's ``--sep``,
    ``--decimal`` and ``--sheet``); None keeps the detection.

    The options hold for the files the block reads, as a command's options hold for every file
    it is given (ratings and scores exported by the same tool share their dialect).

    Examples
    --------
    >>> with read_options(sep=";", decimal=","):
    ...     current_options().sep
    ';'
    >>> current_options().sep is None
    True
    """
    if sep is not None and sep not in _SEPARATORS:
        raise ValueError(f"--sep must be one of , ; tab |, got {sep!r}")
    if decimal is not None and decimal not in (".", ","):
        raise ValueError(f"--decimal must be . or ,, got {decimal!r}")
    token = _OPTIONS.set(
        ReadOptions(sep=_SEPARATORS.get(sep) if sep else None, decimal=decimal, sheet=sheet)
    )
    try:
        yield current_options()
    finally:
        _OPTIONS.reset(token)


def current_options() -> ReadOptions:
    """The options of the enclosing :func:`read_options` block (defaults outside one)."""
    return _OPTIONS.get() or ReadOptions()


def file_format(path: str | os.PathLike) -> str:
    """The format a file is read as, from its suffix: ``csv`` (any other suffix), ``excel``,
    ``spss``, ``stata``, ``rds`` or ``rdata``.

    Examples
    --------
    >>> file_format("a.SAV"), file_format("b.tsv"), file_format("c.RData")
    ('spss', 'csv', 'rdata')
    """
    return _SUFFIXES.get(Path(path).suffix.lower(), "csv")


def csv_dialect(head: bytes, options: ReadOptions | None = None) -> tuple[str, str]:
    """The delimiter and decimal mark of delimited text, from its first bytes.

    The delimiter is the option's, else the one candidate (``,`` ``;`` tab ``|``) in the header
    line, else :class:`csv.Sniffer`'s choice among the candidates there (``,`` when nothing
    decides). The decimal mark is the option's, else ``,`` when the delimiter is not a comma and
    the sample's numbers are written ``3,5`` and none ``3.5``, else ``.``.

    Examples
    --------
    >>> csv_dialect(b"participant;item;rating\\na;q;3,5\\n")
    (';', ',')
    >>> csv_dialect(b"participant,item,rating\\na,q,3.5\\n")
    (',', '.')
    >>> csv_dialect(b"participant\\titem\\trating\\na\\tq\\t3\\n")
    ('\\t', '.')
    """
    opts = options or current_options()
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    if len(text) == len(head) or len(lines) < 2:
        sample_lines = lines
    else:  # the last line of a truncated sample may be cut in the middle
        sample_lines = lines[:-1]
    header = lines[0] if lines else ""
    sep = opts.sep
    if sep is None:
        found = [d for d in (",", ";", "\t", "|") if d in header]
        if not found:
            sep = ","
        elif len(found) == 1:
            sep = found[0]
        else:
            try:
                sep = (
                    csv.Sniffer()
                    .sniff("\n".join(sample_lines), delimiters="".join(found))
                    .delimiter
                )
            except csv.Error:
                sep = max(found, key=header.count)
    decimal = opts.decimal
    if decimal is None:
        decimal = "."
        if sep != ",":
            cells = [c.strip('"') for ln in sample_lines[1:] for c in ln.split(sep)]
            if any(_COMMA_NUMBER.fullmatch(c) for c in cells) and not any(
                _DOT_NUMBER.fullmatch(c) for c in cells
            ):
                decimal = ","
    return sep, decimal


@dataclass(frozen=True)
class FileTable(tables.Result):
    """A table read from a user's file with what the file says about it.

    ``table``: the rows (text cells when read as text); ``notes``: ``format`` and what was done
    (``dropped_columns``, ``user_missing`` cells set missing ...); ``item_labels``: column ->
    its question or variable label; ``value_labels``: column -> {code: label};
    ``id_column``: the file's respondent id when the format has one (Qualtrics' ``ResponseId``).
    """

    item_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping] = field(default_factory=dict)
    id_column: str | None = None


def _is_qualtrics(df: pd.DataFrame) -> bool:
    if len(df) < 2:
        return False
    third = df.iloc[1].dropna().astype(str).str.lstrip()
    return bool(len(third)) and bool(third.str.startswith('{"ImportId"').mean() > 0.5)


def _to_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every cell is a number become numeric (as ``pd.read_csv`` infers)."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        num = pd.to_numeric(s, errors="coerce")
        if (num.notna() | s.isna()).all() and s.notna().any():
            out[c] = num
    return out


def tidy_csv(
    df: pd.DataFrame, *, source, decimal: str = ".", as_text: bool = True, sep: str | None = None
) -> FileTable:
    """Finish a table read from delimited text: a Qualtrics export's header rows, decimal commas.

    ``df`` was read with the file's first line as header (text cells when ``as_text``). Rows keep
    their position in the file as index label, so errors name the file's lines also after a
    Qualtrics export's two extra header rows.

    Examples
    --------
    >>> raw = pd.DataFrame({"ResponseId": ["Response ID", '{"ImportId":"_recordId"}', "R_1"],
    ...                     "Finished": ["Finished", '{"ImportId":"finished"}', "1"],
    ...                     "Q1": ["I like order", '{"ImportId":"QID1"}', "4"]})
    >>> t = tidy_csv(raw, source="export.csv")
    >>> t.table.to_dict("list"), dict(t.item_labels), t.id_column
    ({'ResponseId': ['R_1'], 'Q1': ['4']}, {'Q1': 'I like order'}, 'ResponseId')
    """
    notes: dict = {"format": "csv"}
    labels: dict = {}
    id_column = None
    if sep is not None:
        level = logging.DEBUG if (sep, decimal) == (",", ".") else logging.INFO
        log.log(level, "%s: delimiter %r, decimal mark %r", source, sep, decimal)
    if _is_qualtrics(df):
        notes["format"] = "qualtrics"
        text = df.iloc[0]
        meta = [c for c in df.columns if c in QUALTRICS_METADATA]
        labels = {
            str(c): str(text[c])
            for c in df.columns
            if c not in meta and c != QUALTRICS_ID and pd.notna(text[c])
        }
        df = df.iloc[2:].drop(columns=meta)
        if meta:
            notes["dropped_columns"] = meta
        if QUALTRICS_ID in df.columns:
            id_column = QUALTRICS_ID
        log.info(
            "%s: a Qualtrics export (question texts and ImportId rows skipped; %d metadata "
            "columns dropped: %s)",
            source,
            len(meta),
            ", ".join(meta) or "none",
        )
        if not as_text:
            df = _to_numbers(df)
    if decimal == ",":
        notes["decimal"] = ","
        df = df.copy()
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_numeric_dtype(s) or not (
                s.dtype == object or pd.api.types.is_string_dtype(s)
            ):
                continue
            hit = s.notna() & s.astype(str).str.fullmatch(_COMMA_NUMBER.pattern)
            if hit.any():
                df[c] = s.mask(hit, s[hit].str.replace(",", ".", regex=False).str.strip())
        if not as_text:
            df = _to_numbers(df)
    return FileTable(df, notes, item_labels=labels, id_column=id_column)


def default_id_column(df: pd.DataFrame, participant: str) -> str:
    """The respondent-id column of a table: ``participant`` when the file has it, else a
    Qualtrics export's ``ResponseId``.

    Examples
    --------
    >>> default_id_column(pd.DataFrame(columns=["ResponseId", "Q1"]), "participant")
    'ResponseId'
    """
    if participant not in df.columns and QUALTRICS_ID in df.columns:
        return QUALTRICS_ID
    return participant


def _need(module: str, path: Path, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataFormatError(
            path,
            None,
            None,
            f"reading {what} needs the optional package {module}: {FORMATS_EXTRA}",
        ) from None


def _cell_text(v) -> object:
    """One cell as the text a CSV file would hold (integral numbers without ``.0``)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return np.nan
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f) and f.is_integer() and abs(f) < 2**53:
            return str(int(f))
        return repr(f)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    s = str(v)
    return s if s.strip() else np.nan


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: df[c].astype(object).map(_cell_text).astype(object) for c in df.columns})
    return out.set_axis(df.index, axis=0)


def _as_numbers(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object)
        elif pd.api.types.is_float_dtype(s) and s.notna().all():
            if np.all(np.mod(s.to_numpy(), 1) == 0):
                out[c] = s.astype("int64")
    return _to_numbers(out) if any(t is np.dtype(object) for t in out.dtypes) else out


def _finish(df: pd.DataFrame, path: Path, as_text: bool) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    if not len(df.columns):
        raise DataFormatError(path, None, None, "the table has no columns")
    blank = [i for i, c in enumerate(df.columns) if not c.strip() or c.startswith("Unnamed: ")]
    if blank:
        raise DataFormatError(
            path, None, None, f"the header has an empty column name (column {blank[0] + 1})"
        )
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise DataFormatError(path, None, dup[0], "the header names this column twice")
    return _as_text(df) if as_text else _as_numbers(df)


def _read_excel(path: Path, sheet, as_text: bool) -> FileTable:
    _need("openpyxl", path, "an Excel workbook (.xlsx)")
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the file's problem
        raise DataFormatError(path, None, None, f"not a readable .xlsx workbook ({exc})") from exc
    with book:
        names = book.sheet_names
        if sheet is None:
            name = names[0]
        elif str(sheet) in names:
            name = str(sheet)
        elif str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
            name = names[int(sheet) - 1]
        else:
            raise DataFormatError(
                path, None, None, f"no sheet {sheet!r} (sheets are: {', '.join(names)})"
            )
        df = pd.read_excel(book, sheet_name=name, dtype=object)
    log.info("%s: sheet %r", path, name)
    return FileTable(_finish(df, path, as_text), {"format": "excel", "sheet": name})


def _read_stat(path: Path, kind: str, as_text: bool) -> FileTable:
    pyreadstat = _need("pyreadstat", path, "an SPSS or Stata file")
    reader = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
    try:
        # SPSS: user-missing codes kept as values, then applied from the file's declaration;
        # Stata: its missing values . and .a-.z are read as missing
        df, meta = reader(str(path), user_missing=kind == "spss")
    except Exception as exc:  # noqa: BLE001 - pyreadstat's errors name no type of their own
        what = "an SPSS .sav" if kind == "spss" else "a Stata .dta"
        raise DataFormatError(path, None, None, f"not a readable {what} file ({exc})") from exc
    notes: dict = {"format": kind}
    n_missing = 0
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        if col not in df.columns:
            continue
        s = df[col]
        hit = pd.Series(False, index=s.index)
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, str) or isinstance(hi, str):
                hit |= s.astype(str).isin({str(lo), str(hi)})
            else:
                num = pd.to_numeric(s, errors="coerce")
                hit |= (num >= lo) & (num <= hi)
        n_missing += int(hit.sum())
        df[col] = s.mask(hit)
    if n_missing:
        notes["user_missing"] = n_missing
    log.info(
        "%s: %s file, %d user-missing cells set missing, %d variables with value labels",
        path,
        kind,
        n_missing,
        len(meta.variable_value_labels or {}),
    )
    labels = {
        str(k): str(v) for k, v in (meta.column_names_to_labels or {}).items() if v is not None
    }
    values = {str(k): dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    return FileTable(_finish(df, path, as_text), notes, item_labels=labels, value_labels=values)


def _read_r(path: Path, kind: str, sheet, as_text: bool) -> FileTable:
    pyreadr = _need("pyreadr", path, "an R data file")
    try:
        objs = pyreadr.read_r(str(path))
    except Exception as exc:  # noqa: BLE001 - pyreadr's errors (LibrdataError ...) vary
        raise DataFormatError(path, None, None, f"not a readable R data file ({exc})") from exc
    frames = {k: v for k, v in objs.items() if isinstance(v, pd.DataFrame)}
    if not frames:
        raise DataFormatError(path, None, None, "holds no data frame")
    if sheet is not None:
        if str(sheet) not in frames:
            names = ", ".join(str(k) for k in frames)
            raise DataFormatError(path, None, None, f"no data frame {sheet!r} (it holds: {names})")
        name = str(sheet)
    elif len(frames) == 1:
        name = next(iter(frames))
    else:
        names = ", ".join(str(k) for k in frames)
        raise DataFormatError(
            path, None, None, f"holds several data frames ({names}): name one with --sheet"
        )
    notes = {"format": kind}
    if name is not None:
        notes["object"] = name
    return FileTable(_finish(frames[name], path, as_text), notes)


def read_file(path: str | os.PathLike, *, as_text: bool = True, sheet=None) -> FileTable:
    """Read an Excel, SPSS, Stata or R file as :func:`vp_stats.io.tables.read_csv` reads text.

    ``as_text``: every cell as the text a CSV file would hold (integral numbers without a
    decimal part, other numbers in full precision, missing as NaN), for the contracts to check;
    else numbers as numbers. ``sheet``: the workbook's sheet (name or 1-based number) or the R
    workspace's data frame; default :func:`current_options`' ``sheet``.

    Examples
    --------
    >>> import tempfile, pathlib, pyreadr
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.rds"
    >>> pyreadr.write_rds(p, pd.DataFrame({"participant": ["a"], "rating": [4.0]}))
    >>> read_file(p).table.to_dict("records")
    [{'participant': 'a', 'rating': '4'}]
    """
    p = Path(path)
    sheet = sheet if sheet is not None else current_options().sheet
    kind = file_format(p)
    if kind == "excel":
        return _read_excel(p, sheet, as_text)
    if kind == "excel-legacy":
        raise DataFormatError(
            p, None, None, "old Excel .xls workbooks are not read: save it as .xlsx or CSV"
        )
    if kind in ("spss", "stata"):
        return _read_stat(p, kind, as_text)
    if kind in ("rds", "rdata"):
        return _read_r(p, kind, sheet, as_text)
    raise ValueError(f"{p}: not a binary table format ({kind}); read it with read_csv")


def read_table(path: str | os.PathLike, *, as_text: bool = True, what: str = "file") -> FileTable:
    """Read any supported table file with its metadata (item and value labels, format).

    The table is exactly what the readers of :mod:`vp_stats.io.tables` see; the labels are
    what they leave aside (a Qualtrics export's question texts, SPSS variable and value labels).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.csv"
    >>> _ = p.write_text('ResponseId,Q1\\nResponse ID,I like order\\n'
    ...                  '"{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}"\\nR_1,4\\n')
    >>> t = read_table(p)
    >>> t.table.to_dict("records"), dict(t.item_labels), t.notes["format"]
    ([{'ResponseId': 'R_1', 'Q1': '4'}], {'Q1': 'I like order'}, 'qualtrics')
    """
    from vp_stats.io import tables as tio

    p = Path(path)
    if file_format(p) != "csv":
        tio.read_csv(p, as_text=as_text, what=what)  # the same file-level checks and errors
        return read_file(p, as_text=as_text)
    table = tio.read_csv(p, as_text=as_text, what=what)
    with open(p, "rb") as fh:
        sep, decimal = csv_dialect(fh.read(1 << 16))
    raw = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_values=[""], nrows=2)
    tidy = tidy_csv(raw, source=p, decimal=decimal)
    return FileTable(table, {**tidy.notes}, item_labels=tidy.item_labels, id_column=tidy.id_column)


def describe_labels(t: FileTable) -> pd.DataFrame:
    """The item labels of a file as a table ``item, label`` (for a codebook beside a pivot).

    Examples
    --------
    >>> t = FileTable(pd.DataFrame(), item_labels={"Q1": "I like order"})
    >>> describe_labels(t).to_dict("records")
    [{'item': 'Q1', 'label': 'I like order'}]
    """
    return pd.DataFrame(
        {"item": list(t.item_labels), "label": list(t.item_labels.values())}, dtype=object
    )
