"""File layer for human SVO slider answers: read a tidy answer CSV, check it row by row, score it.

:func:`read_answers` reads and checks the file format (column names, item ids,
choices or payoff pairs, duplicates), with errors naming the file, the data
row and the field, and returns canonical answers (``participant``, ``item``,
``rating``: the file's ``respondent``, ``item`` and ``choice``); :func:`score_file` scores them with
:func:`vp_stats.instruments.svo.score_answers` (the ``vp-stats svo score FILE``
command). Scoring itself never sees a path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import tables
from vp_stats.instruments import svo

__all__ = [
    "PAYOFF_COLUMNS",
    "read_answers",
    "score_file",
]

#: Accepted payoff column pairs (self, other) in answer files.
PAYOFF_COLUMNS: tuple[tuple[str, str], ...] = (("payoff_self", "payoff_other"), ("self", "other"))


def read_answers(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a tidy CSV of SVO slider answers (the format of :func:`score_file`).

    Parameters
    ----------
    path : path-like
        The CSV file: a header and one row per (respondent, item) answer,
        with ``respondent``, ``item`` and either ``choice`` or a payoff pair
        (:data:`PAYOFF_COLUMNS`); see :func:`score_file`.

    Returns
    -------
    pandas.DataFrame
        One row per answer in file order: ``participant`` (the file's ``respondent``, str,
        stripped), ``item`` (int, canonical id 1-15) and ``rating`` (the chosen option, int
        1-9, from the file's ``choice``; payoff pairs are mapped to the one option of their
        item they match).

    Raises
    ------
    FileNotFoundError
        No such file.
    vp_stats.errors.DataFormatError
        (a ValueError) naming the file, the data row (1-based, with its CSV
        line) and the field of the first bad values.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "svo.csv")
    >>> text = "respondent,item,payoff_self,payoff_other\\nr1,1,85,85\\nr1,2,93,33\\n"
    >>> _ = open(p, "w").write(text)
    >>> read_answers(p)
      participant  item  rating
    0          r1     1       1
    1          r1     2       5
    """
    from vp_stats.errors import DataFormatError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"SVO answers file not found: {path}")
    if path.is_dir():
        raise DataFormatError(path, None, None, "is a directory, expected a CSV file")
    expect = "expected a CSV with a header: respondent,item,choice (or payoff_self,payoff_other)"
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, None, f"the file is empty; {expect}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, None, None, f"not a readable CSV ({exc}); {expect}") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    dup_cols = raw.columns[raw.columns.duplicated()].tolist()
    if dup_cols:
        raise DataFormatError(path, None, dup_cols[0], "column appears twice in the header")
    for col in ("respondent", "item"):
        if col not in raw.columns:
            raise DataFormatError(
                path, None, col, f"missing column; columns are {list(raw.columns)}; {expect}"
            )
    pay = next((p for p in PAYOFF_COLUMNS if set(p) <= set(raw.columns)), None)
    has_choice = "choice" in raw.columns
    if has_choice and pay is not None:
        raise DataFormatError(
            path, None, "choice", f"give either a choice column or payoff columns {pay}, not both"
        )
    if not has_choice and pay is None:
        raise DataFormatError(
            path, None, "choice", f"missing column; columns are {list(raw.columns)}; {expect}"
        )
    if len(raw) == 0:
        raise DataFormatError(path, None, None, "no answer rows after the header")

    def fail(mask: np.ndarray, field: str, problem) -> None:
        i = int(np.flatnonzero(mask)[0])
        resp = raw["respondent"].iat[i]
        more = int(mask.sum()) - 1
        extra = f" ({more} more bad row{'s' if more != 1 else ''} in this field)" if more else ""
        raise DataFormatError(
            path,
            f"row {i + 1} (line {i + 2}, respondent {resp!r})",
            field,
            problem(i) + extra,
        )

    def text(col: str) -> pd.Series:
        return raw[col].astype(str).str.strip()

    resp = text("respondent")
    fail_if = resp.eq("").to_numpy()
    if fail_if.any():
        fail(fail_if, "respondent", lambda i: "empty respondent id")
    item_s = text("item")
    item_v = pd.to_numeric(item_s, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(item_v) | (item_v < 1) | (item_v > 15) | (item_v != np.floor(item_v))
    if bad.any():
        fail(bad, "item", lambda i: f"got {item_s.iat[i]!r}; expected an item id 1-15")
    items = item_v.astype(np.int64)
    key = resp + "\x00" + items.astype(str)
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        first = {k: j for j, k in reversed(list(enumerate(key)))}

        def dup_msg(i):
            return f"item {items[i]} answered again (first answer in row {first[key.iat[i]] + 1})"

        fail(dup, "item", dup_msg)

    data = pd.DataFrame({"participant": resp.to_numpy(), "item": items})
    if has_choice:
        ch = text("choice")
        num = pd.to_numeric(ch, errors="coerce").to_numpy(dtype=float)
        letter = ch.str.upper().map({c: k + 1 for k, c in enumerate(svo.OPTION_LETTERS)})
        opt = np.where(np.isnan(num), letter.to_numpy(dtype=float, na_value=np.nan), num)
        bad = np.isnan(opt) | (opt < 1) | (opt > 9) | (opt != np.floor(opt))
        if bad.any():
            fail(
                bad,
                "choice",
                lambda i: (
                    f"got {ch.iat[i]!r} for item {items[i]}; expected an option number 1-9 "
                    "or a letter A-I (leave unanswered items out)"
                ),
            )
        data["rating"] = opt.astype(np.int64)
    else:
        vals = []
        for col in pay:
            s = text(col)
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(v)
            if bad.any():
                fail(
                    bad,
                    col,
                    lambda i, s=s: f"got {s.iat[i]!r} for item {items[i]}; expected a number",
                )
            vals.append(v)
        table = svo.PAYOFFS[items - 1]  # (n, 9, 2)
        match = (vals[0][:, None] == table[..., 0]) & (vals[1][:, None] == table[..., 1])
        bad = match.sum(axis=1) != 1
        if bad.any():

            def pair_msg(i):
                pair = f"({vals[0][i]:g}, {vals[1][i]:g})"
                where = np.argwhere(
                    (svo.PAYOFFS[..., 0] == vals[0][i]) & (svo.PAYOFFS[..., 1] == vals[1][i])
                )
                hint = (
                    " (it is "
                    + ", ".join(f"item {a + 1} option {svo.OPTION_LETTERS[b]}" for a, b in where)
                    + ": wrong item id?)"
                    if len(where)
                    else ""
                )
                return (
                    f"the pair {pair} is not an option of item {items[i]}{hint}; "
                    "pairs are never snapped to the nearest option"
                )

            fail(bad, f"{pay[0]}/{pay[1]}", pair_msg)
        data["rating"] = np.argmax(match, axis=1) + 1
    return tables.check(data, tables.SvoAnswers, source=str(path), from_file=True)


def score_file(path: str | os.PathLike) -> pd.DataFrame:
    """Score a tidy CSV of SVO slider answers: one row per respondent.

    The file has a header and one row per (respondent, item) answer, with
    columns ``respondent``, ``item`` (canonical item id 1-15: 1-6 primary,
    7-15 secondary) and either ``choice`` (option number 1-9 or letter A-I)
    or the chosen payoffs ``payoff_self`` and ``payoff_other`` (also accepted:
    ``self`` and ``other``); each pair must be exactly one option of its item
    (Murphy et al., 2011; never snapped to the nearest option). Column names
    are case-insensitive; other columns are ignored. Unanswered items are left
    out; a block with a missing item gets no scores (never partial).

    Parameters
    ----------
    path : path-like
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        One row per respondent in order of first appearance: ``participant``,
        ``n_primary_answered``, ``primary_complete``, ``mean_self``,
        ``mean_other``, ``svo_angle``, ``svo_category_murphy``,
        ``svo_category_hvae`` (both boundary conventions,
        :func:`vp_stats.instruments.svo.svo_category`), ``transitive``,
        ``wins_*``, ``preference_ranking``; when secondary items are present
        also ``n_secondary_answered``, ``secondary_complete``, the
        ``dist_*`` distances, ``inequality_aversion_index`` and
        ``prosocial_type`` (:func:`vp_stats.instruments.svo.secondary_scores`).

    Raises
    ------
    FileNotFoundError
        No such file.
    vp_stats.errors.DataFormatError
        (a ValueError) naming the file, the data row (1-based, with its CSV
        line) and the field of the first bad values.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "svo.csv")
    >>> rows = ["respondent,item,choice"] + [f"r1,{i},A" for i in range(1, 7)]
    >>> rows += [f"r2,{i},{c}" for i, c in zip(range(1, 7), [1, 9, 1, 1, 9, 9])]
    >>> _ = open(p, "w").write("\\n".join(rows) + "\\n")
    >>> score_file(p)[["participant", "svo_angle", "svo_category_murphy", "transitive"]].round(2)
      participant  svo_angle svo_category_murphy  transitive
    0          r1      30.47           prosocial       False
    1          r2      61.39          altruistic        True
    """
    from vp_stats.errors import DataFormatError

    data = read_answers(path)
    try:
        return svo.score_answers(data)
    except ValueError as exc:  # pragma: no cover - rows were checked by read_answers
        raise DataFormatError(Path(path), None, None, str(exc)) from None
