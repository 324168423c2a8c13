"""The errors vp-stats raises for bad data, in one place.

Every error about a file names the file, the record (for a table: the row, with
its line in the file) and the field, so that a user can go straight to the
offending cell. The command line turns each of them into one line on stderr and
exit code 2; none reaches a user as a traceback.

Examples
--------
>>> from vp_stats.errors import TableError
>>> str(TableError("ratings.csv", 3, "rating", "'x' is not a number"))
"ratings.csv: row 3 (line 4), field 'rating': 'x' is not a number"
"""

from __future__ import annotations

import os

__all__ = ["DataError", "DataIntegrityError", "DataFormatError", "TableError"]


class DataError(Exception):
    """Base class of the data layer's errors."""


class DataIntegrityError(DataError):
    """A cached upstream file does not match the sha256 recorded in the registry."""


class DataFormatError(DataError, ValueError):
    """A file's content breaks its schema; the message names file, record and field."""

    def __init__(self, file: str | os.PathLike, record: object, field: str | None, problem: str):
        self.file, self.record, self.field, self.problem = str(file), record, field, problem
        where = f"record {record}" if record is not None else "file level"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{file}: {where}: {problem}")


class TableError(DataFormatError):
    """A table breaks its column contract (:mod:`vp_stats.tables`).

    ``row`` is the 1-based data row (the header is line 1, so row ``r`` is line
    ``r + 1`` of a CSV file), or None for a problem of the whole table (a missing
    column, no data rows). For a table that did not come from a file, ``file`` is
    the table's name (e.g. ``"ratings"``) and ``row`` its index label. ``detail`` names the
    row's unit beside its line (``row 2 (line 3, respondent 'r1')``).
    """

    def __init__(
        self,
        file: str | os.PathLike,
        row: object,
        field: str | None,
        problem: str,
        *,
        from_file: bool = True,
        detail: str | None = None,
    ):
        self.row = row
        if row is None:
            record = None
        elif from_file and isinstance(row, int):
            record = f"row {row} (line {row + 1}{', ' + detail if detail else ''})"
        else:
            record = f"row {row!r}" if not isinstance(row, int) else f"row {row}"
            record += f" ({detail})" if detail else ""
        DataError.__init__(self)
        self.file, self.record, self.field, self.problem = str(file), record, field, problem
        where = record if record is not None else "table"
        if field is not None:
            where += f", field {field!r}"
        self.args = (f"{file}: {where}: {problem}",)

    def __str__(self) -> str:
        return self.args[0]
