"""Value Compass file formats (the file layer): a person's PVQ-21 answers and weight files.

Readers check the files and return DataFrames for :mod:`vp_stats.studies.compass`;
errors are :class:`vp_stats.errors.DataFormatError` naming file, row and
field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.errors import TableError
from vp_stats.io.tables import check_file

__all__ = ["read_pvq_answers_file", "read_weights_file"]


def _read_csv(path) -> tuple[object, pd.DataFrame]:
    from pathlib import Path

    from vp_stats.errors import DataFormatError

    file = Path(path)
    if not file.is_file():
        raise DataFormatError(file, None, None, "file not found")
    try:
        df = pd.read_csv(file, dtype=str, skipinitialspace=True, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(file, None, None, f"not a readable CSV file: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataFormatError(file, None, None, "no data rows")
    return file, df


def _row_error(file, i: int, field: str, problem: str) -> TableError:
    """An error at data row ``i`` (0-based) of ``file``: ``row i+1 (line i+2)``."""
    return TableError(str(file), i + 1, field, problem, from_file=True)


def _pvq_schema(columns: Sequence[str] | None = None):
    """The AnswerSheet contract for one person's 21 PVQ-21 answers: every answer an integer 1..6.

    ``columns``: the wide layout's item columns, each checked as the long layout's ``rating``.
    """
    import pandera.pandas as pa

    one_to_six = pa.Check(
        lambda s: (s == np.round(s)) & (s >= 1) & (s <= 6), error="is not an integer 1..6"
    )
    sheet = tables.AnswerSheet.to_schema().update_column(
        "rating", nullable=False, checks=[one_to_six]
    )
    if columns is None:  # one person: an item given twice is named by the item check below
        return pa.DataFrameSchema(sheet.columns, coerce=True)
    answer = sheet.columns["rating"]
    return pa.DataFrameSchema({c: answer.set_name(c) for c in columns}, coerce=True)


def read_pvq_answers_file(path) -> pd.DataFrame:
    """Read one person's PVQ-21 answers from a CSV file, checked, as a long table.

    Two layouts: long, columns ``item,answer`` (one row per item 1..21, an
    optional ``respondent`` column with one value), or wide, one data row with
    21 item columns (``1..21``, ``item1..item21``, ``q1..`` or the ESS variable
    names ``ipcrtiv .. impfun``; an optional ``respondent`` column). Answers
    are integers 1..6 (1 = not like me at all ... 6 = very much like me, or the ESS order,
    1 = very much like me, which the scorer reverses when told ``ess_coding=True``). All 21
    answers are required: a missing one is an error.

    The file's layout is read here; its cells go through the
    :class:`~vp_stats.tables.AnswerSheet` contract (answers integers 1..6, none missing) via
    :func:`vp_stats.io.tables.check_file`; what a contract cannot say (item labels, an item
    given twice, all 21 present, one person) is checked after it.

    Returns
    -------
    pandas.DataFrame
        ``participant, item, rating`` (21 rows, items 1..21; ``participant`` is the file's
        ``respondent`` or ``"me"``).

    Raises
    ------
    vp_stats.errors.DataFormatError
        (a ``ValueError``) naming file, row and field.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "me.csv")
    >>> with open(p, "w") as fh:
    ...     _ = fh.write("item,answer\\n" + "".join(f"{i},{3 + (i == 1)}\\n" for i in range(1, 22)))
    >>> read_pvq_answers_file(p).head(2)
      participant  item  rating
    0          me     1       4
    1          me     2       3
    """
    from vp_stats.errors import DataFormatError
    from vp_stats.instruments.pvq import _label_to_item

    file, df = _read_csv(path)
    n = schema.PVQ21_N_ITEMS
    aliases = {v.lower(): i + 1 for i, v in enumerate(schema.ESS_HVS_VARIABLES)}
    lower = {c.lower(): c for c in df.columns}
    resp_col = lower.get("respondent")
    who = str(df[resp_col].iloc[0]) if resp_col is not None else "me"
    if "item" in lower and "answer" in lower:
        extra = set(df.columns) - {lower["item"], lower["answer"]} - ({resp_col} - {None})
        if extra:
            raise DataFormatError(
                file,
                None,
                sorted(extra)[0],
                f"unexpected column(s) {sorted(extra)}; a long PVQ-21 file has columns item,answer "
                "(and optionally respondent)",
            )
        if resp_col is not None and df[resp_col].nunique(dropna=False) > 1:
            raise DataFormatError(
                file,
                None,
                resp_col,
                f"the file holds several respondents {list(pd.unique(df[resp_col]))[:5]}; "
                "give one person's answers",
            )
        long = pd.DataFrame(
            {"participant": who, "item": df[lower["item"]], "rating": df[lower["answer"]]}
        )
        checked = check_file(
            long,
            _pvq_schema(),
            source=file,
            headers={"item": lower["item"], "rating": lower["answer"]},
        )
        items = []
        for i, label in enumerate(checked["item"]):
            k = _label_to_item(label, n, aliases)
            if k is None:
                raise _row_error(
                    file, i, lower["item"], f"unknown item {label!r} (items are 1..{n})"
                )
            if k in items:
                first = items.index(k)
                raise _row_error(
                    file, i, lower["item"], f"item {k} given twice (first in row {first + 1})"
                )
            items.append(k)
        missing = sorted(set(range(1, n + 1)) - set(items))
        if missing:
            raise DataFormatError(
                file, None, "item", f"missing answers for item(s) {missing}: all 21 are needed"
            )
        ratings = checked["rating"].to_numpy()
    else:
        if len(df) != 1:
            raise DataFormatError(
                file,
                None,
                None,
                f"{len(df)} data rows: a wide PVQ-21 file holds one person's answers in one row "
                "(or use the long layout with columns item,answer)",
            )
        cols = [c for c in df.columns if c != resp_col]
        mapped: dict[str, int] = {}
        for c in cols:
            k = _label_to_item(c, n, aliases)
            if k is None:
                raise DataFormatError(
                    file,
                    None,
                    c,
                    f"unknown column {c!r}: expected item columns 1..{n} (or item1.., or the ESS "
                    "names), or a long file with columns item,answer",
                )
            if k in mapped.values():
                raise DataFormatError(file, None, c, f"item {k} appears in two columns")
            mapped[c] = k
        missing = sorted(set(range(1, n + 1)) - set(mapped.values()))
        if missing:
            raise DataFormatError(
                file, None, None, f"missing item column(s) {missing}: all 21 answers are needed"
            )
        checked = check_file(df[cols], _pvq_schema(cols), source=file)
        items = [mapped[c] for c in cols]
        ratings = checked.iloc[0].to_numpy()
    out = pd.DataFrame({"participant": who, "item": items, "rating": ratings.astype(int)})
    return out.sort_values("item").reset_index(drop=True)


def read_weights_file(path, dimensions: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a ``dimension,weight`` CSV (one row per dimension), checked.

    Dimension names are matched to ``dimensions`` (default: every vp-stats
    dimension) case-insensitively, with spaces or hyphens for underscores
    (``self-direction`` -> ``Self_Direction``).

    Returns
    -------
    pandas.DataFrame
        ``dimension, weight, weights_source`` (source: the file name).

    Raises
    ------
    vp_stats.errors.DataFormatError
        Missing file or column, unknown or duplicate dimension, a non-numeric
        or non-finite weight (naming file, data row and field), all weights 0.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "w.csv")
    >>> with open(p, "w") as fh:
    ...     _ = fh.write("dimension,weight\\nself-direction,2\\nPower,-1\\n")
    >>> read_weights_file(p)[["dimension", "weight"]]
            dimension  weight
    0  Self_Direction     2.0
    1           Power    -1.0
    """
    import pandera.pandas as pa

    from vp_stats.errors import DataFormatError

    file, df = _read_csv(path)
    lower = {c.lower(): c for c in df.columns}
    headers = {k: lower.get(k, k) for k in ("dimension", "weight")}
    df = df.rename(columns={v: k for k, v in headers.items()})
    known = (
        list(dimensions)
        if dimensions is not None
        else [d for dims in schema.FAMILIES.values() for d in dims]
    )
    if "dimension" in df.columns:  # the file's spelling -> the dimension's name
        key = df["dimension"].str.strip().str.lower().str.replace(r"[- ]", "_", regex=True)
        name = key.map({d.lower().replace("-", "_").replace(" ", "_"): d for d in known})
        df["dimension"] = name.where(name.notna(), df["dimension"])
    df = check_file(
        df,
        tables.CompassWeights.to_schema().remove_columns(["weights_source"]),
        source=file,
        headers=headers,
        hints={"dimension": f"known: {', '.join(known)}"},
        extra_checks={"dimension": [pa.Check.isin(known)]} if dimensions is not None else None,
    )
    dims, ws = df["dimension"].tolist(), df["weight"].tolist()
    if not any(ws):
        raise DataFormatError(file, None, "weight", "all weights are zero: no priorities")
    fams = {schema.family_of(d) for d in dims}
    if len(fams) > 1:
        raise DataFormatError(
            file,
            None,
            "dimension",
            f"dimensions from several families {sorted(fams)}: weight one family at a time",
        )
    return df[["dimension", "weight"]].assign(weights_source=f"weights file {file.name}")
