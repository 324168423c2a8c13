"""File formats of persona runs: the answer file reader and the study folder writer.

Persona files: every read or write of a persona
run's files goes through here (the statistics in :mod:`vp_stats.stats.personas`
and :mod:`vp_stats.stats.persona_gaps` never see a path). :func:`read_answer_file`
validates the answer CSV of a persona run (``vp-stats personas compare``);
:func:`write_study_tables` writes the folder of
:func:`vp_stats.studies.personas.run_persona_study`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from vp_stats import tables
from vp_stats.errors import TableError
from vp_stats.io.tables import _parse_ok, check_file, read_csv

__all__ = [
    "read_answer_file",
    "read_persona_file",
    "STUDY_FILES",
    "STUDY_CACHE",
    "study_dir",
    "write_study_tables",
]


def read_answer_file(path: str | os.PathLike, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a persona answer CSV (the answer table of a persona run).

    The file is the answer table of :func:`~vp_stats.studies.personas.run_personas`
    written to CSV (``answers.csv`` of a study folder); ``parse_ok`` is derived
    from ``rating`` when the file has no such column.

    Raises
    ------
    vp_stats.errors.DataFormatError
        (a ``ValueError``) naming file, data row and column: a missing file or
        column; the :class:`~vp_stats.tables.PersonaAnswers` contract (a
        :class:`~vp_stats.errors.TableError`): a missing persona id, a non-integer or
        unknown item id, a rating outside 1..6; a repeated answer (same persona, item, and
        variant and model where present); an item not in ``items`` (a table with
        ``portrait_id, option_id``, e.g. :func:`vp_stats.io.datasets.load_items`); a file
        without a single rating.

    Examples
    --------
    >>> import tempfile, os, pandas as pd
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> pd.DataFrame({"persona_id": ["x"], "portrait_id": [1001], "option_id": [1],
    ...               "rating": [7]}).to_csv(p, index=False)
    >>> read_answer_file(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vp_stats...TableError: ...a.csv: row 1 (line 2), field 'rating': 7 is outside the rating ...
    """
    df = read_csv(path, as_text=False, what="persona answer file")
    df = check_file(df, tables.PersonaAnswers, source=path)
    keys = [c for c in ("model", "persona_id", "portrait_id", "option_id", "variant") if c in df]
    dup = df.duplicated(keys)
    if dup.any():
        at = int(dup.to_numpy().nonzero()[0][0])
        what = ", ".join(f"{k} {df[k].iloc[[at]].tolist()[0]!r}" for k in keys)
        raise TableError(
            str(path), at + 1, "persona_id", f"duplicate answer: {what} appears in an earlier row"
        )
    if items is not None:
        known = pd.MultiIndex.from_frame(items[["portrait_id", "option_id"]].astype(int))
        mine = pd.MultiIndex.from_frame(df[["portrait_id", "option_id"]].astype(int))
        unknown = ~mine.isin(known)
        if unknown.any():
            at = int(unknown.nonzero()[0][0])
            raise TableError(
                str(path),
                at + 1,
                "portrait_id",
                f"unknown item ({df['portrait_id'].iloc[at]}, {df['option_id'].iloc[at]}): "
                f"not a Value Portrait portrait_id/option_id ({int(unknown.sum())} such row(s))",
            )
    if df["rating"].isna().all():
        raise TableError(
            str(path), None, "rating", f"no usable answer: all {len(df)} ratings are missing"
        )
    if "parse_ok" in df.columns:
        df["parse_ok"] = _parse_ok(df["parse_ok"], path)
        df.loc[df["rating"].isna(), "parse_ok"] = False
    else:
        df["parse_ok"] = df["rating"].notna()
    return df


def read_persona_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read a persona file: one row per persona, attribute columns, optional ``backstory``.

    Every column other than ``persona_id`` (optional: your own ids) and ``backstory``
    (optional free text, e.g. a biography) is a persona attribute (``gender``,
    ``age``, ``country`` ...); an empty cell means the persona does not have that
    attribute. Cells are read as text. A row needs at least one attribute or a
    backstory; ``persona_id`` values, where given, must be unique and not ``plain``.

    Raises
    ------
    vp_stats.errors.DataFormatError
        Naming file, row (and line) and column.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "personas.csv")
    >>> _ = open(p, "w").write("gender,age,backstory\\nfemale,30,\\n,,I grew up on a farm.\\n")
    >>> read_persona_file(p).fillna("").values.tolist()
    [['female', '30', ''], ['', '', 'I grew up on a farm.']]
    >>> _ = open(p, "w").write("gender,age\\nfemale,30\\n,\\n")
    >>> read_persona_file(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vp_stats.errors.TableError: ...personas.csv: row 2 (line 3): no attribute and no backstory...
    """
    df = read_csv(path, as_text=True, what="persona file")
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda c: c.str.strip()).replace("", pd.NA)
    if len(df) == 0:
        raise TableError(path, None, None, "no persona rows")
    attrs = [c for c in df.columns if c not in ("persona_id", "backstory")]
    for i in range(len(df)):
        if df.iloc[i][[*attrs, *(["backstory"] if "backstory" in df else [])]].isna().all():
            raise TableError(path, i + 1, None, "no attribute and no backstory: an empty persona")
    if "persona_id" in df.columns:
        ids = df["persona_id"]
        for i, v in enumerate(ids):
            if pd.isna(v):
                raise TableError(path, i + 1, "persona_id", "missing (give every row an id)")
            if v == "plain":
                raise TableError(path, i + 1, "persona_id", "'plain' is the plain model's id")
        dup = ids.duplicated()
        if dup.any():
            i = int(dup.to_numpy().argmax())
            raise TableError(path, i + 1, "persona_id", f"{ids.iloc[i]!r} appears twice")
    return df.astype(object).where(df.notna(), None)


#: Files of a persona study folder (:func:`vp_stats.studies.personas.run_persona_study`):
#: table name -> file name, in the order they are written.
STUDY_FILES = MappingProxyType(
    {
        "answers": "answers.csv",
        "profiles": "profiles.csv",
        "shifts": "shifts.csv",
        "item": "item_comparison.csv",
        "fidelity": "fidelity.csv",
        "fidelity_summary": "fidelity_summary.csv",
        "steerability": "steerability.csv",
        "steerability_personas": "steerability_personas.csv",
        "population": "population.csv",
        "structure": "structure.csv",
        "scores": "scores.csv",
    }
)

#: SQLite answer cache of a persona study folder (:class:`vp_stats.io.cache.AnswerCache`).
STUDY_CACHE = "answers.sqlite"


def study_dir(out_dir: str | os.PathLike) -> Path:
    """Create a persona study folder (and its parents) if needed and return it as a Path.

    Examples
    --------
    >>> import tempfile, os
    >>> d = study_dir(os.path.join(tempfile.mkdtemp(), "a", "b"))
    >>> d.is_dir()
    True
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_study_tables(
    out_dir: str | os.PathLike, tables: Mapping[str, pd.DataFrame]
) -> list[Path]:
    """Write the tables of a persona study to its folder as CSV files (no index).

    Parameters
    ----------
    out_dir : path
        Study folder (must exist; see :func:`study_dir`).
    tables : mapping
        Table name -> DataFrame. The tables named in :data:`STUDY_FILES` that
        are present are written, in that order, to their file names
        (``answers`` -> ``answers.csv``, ``item`` -> ``item_comparison.csv``
        ...); other tables (e.g. ``group``) are not written.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> d = tempfile.mkdtemp()
    >>> [p.name for p in write_study_tables(d, {"item": pd.DataFrame({"x": [1]}),
    ...                                         "group": pd.DataFrame()})]
    ['item_comparison.csv']
    """
    out = Path(out_dir)
    written = []
    for name, file_name in STUDY_FILES.items():
        if name in tables:
            path = out / file_name
            tables[name].to_csv(path, index=False)
            written.append(path)
    return written
