"""File layer for human SVO slider answers: read a tidy answer CSV, check it, score it.

:func:`read_answers` reads the file, maps its headers to the
:class:`~vp_stats.tables.SvoAnswers` contract (``respondent`` -> ``participant``, ``choice``
-> ``rating``), checks it there (ids, item ids, options, payoffs, duplicates: one error
naming the file, the row with its line and respondent, and the file's column), then checks
what a contract cannot say (a payoff pair is exactly one option of its item), and returns
canonical answers (``participant``, ``item``, ``rating``); :func:`score_file` scores them with
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
from vp_stats.io.tables import check_file

__all__ = [
    "PAYOFF_COLUMNS",
    "ANSWER_HEADERS",
    "read_answers",
    "score_file",
]

#: Accepted payoff column pairs (self, other) in answer files.
PAYOFF_COLUMNS: tuple[tuple[str, str], ...] = (("payoff_self", "payoff_other"), ("self", "other"))
#: The answer file's headers for the table's columns (the file format's words first).
ANSWER_HEADERS = {"participant": ("respondent", "participant"), "rating": ("choice", "rating")}
_LETTER_OPTION = {c: k + 1 for k, c in enumerate(svo.OPTION_LETTERS)}


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
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
        )
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, None, f"the file is empty; {expect}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, None, None, f"not a readable CSV ({exc}); {expect}") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    dup_cols = raw.columns[raw.columns.duplicated()].tolist()
    if dup_cols:
        raise DataFormatError(path, None, dup_cols[0], "column appears twice in the header")
    # the file's layout: the choice, or the payoff pair it stands for
    pay = next((p for p in PAYOFF_COLUMNS if set(p) <= set(raw.columns)), None)
    choice = next((c for c in ANSWER_HEADERS["rating"] if c in raw.columns), None)
    if choice is not None and pay is not None:
        raise DataFormatError(
            path, None, choice, f"give either a choice column or payoff columns {pay}, not both"
        )
    if choice is None and pay is None:
        raise DataFormatError(
            path, None, "choice", f"missing column; columns are {list(raw.columns)}; {expect}"
        )
    who = next((c for c in ANSWER_HEADERS["participant"] if c in raw.columns), "respondent")
    headers = {"participant": who, "rating": choice}
    if pay is not None:
        headers.update(payoff_self=pay[0], payoff_other=pay[1])
    data = raw.rename(columns={v: k for k, v in headers.items() if v is not None})
    if "participant" in data.columns:
        data["participant"] = data["participant"].str.strip()
    if "item" in data.columns:
        data["item"] = _number_or_text(data["item"])
    hints = {
        "item": "expected an item id 1-15",
        "rating": "expected an option number 1-9 or a letter A-I (leave unanswered items out)",
    }
    kw = dict(source=path, headers=headers, name_rows_by="participant", hints=hints)
    if choice is not None:
        letters = data["rating"].str.strip().str.upper().map(_LETTER_OPTION)
        data["rating"] = letters.where(letters.notna(), _number_or_text(data["rating"]))
        out = check_file(data, tables.SvoAnswers, **kw)
        return out[["participant", "item", "rating"]]
    out = check_file(data, tables.SvoAnswers.to_schema().remove_columns(["rating"]), **kw)
    # domain check: each payoff pair is exactly one option of its item (never snapped)
    items = out["item"].to_numpy()
    ps, po = out["payoff_self"].to_numpy(), out["payoff_other"].to_numpy()
    match = (ps[:, None] == svo.PAYOFFS[items - 1][..., 0]) & (
        po[:, None] == svo.PAYOFFS[items - 1][..., 1]
    )
    bad = match.sum(axis=1) != 1
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = np.argwhere((svo.PAYOFFS[..., 0] == ps[i]) & (svo.PAYOFFS[..., 1] == po[i]))
        hint = (
            " (it is "
            + ", ".join(f"item {a + 1} option {svo.OPTION_LETTERS[b]}" for a, b in where)
            + ": wrong item id?)"
            if len(where)
            else ""
        )
        raise tables.TableError(
            path,
            i + 1,
            f"{pay[0]}/{pay[1]}",
            f"the pair ({ps[i]:g}, {po[i]:g}) is not an option of item {items[i]}{hint}; "
            "pairs are never snapped to the nearest option",
            detail=f"{who} {out['participant'].iat[i]!r}",
        )
    out["rating"] = np.argmax(match, axis=1) + 1
    return out[["participant", "item", "rating"]]


def _number_or_text(s: pd.Series) -> pd.Series:
    """Cells that read as numbers become numbers ("1.0" -> 1.0); the rest stay for the contract."""
    num = pd.to_numeric(s, errors="coerce")
    return num.astype(object).where(num.notna(), s)


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
