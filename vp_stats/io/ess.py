"""European Social Survey (ESS) microdata: reader, PVQ-21 scoring and persona recoding.

The ESS fields the 21-item Portrait Values Questionnaire as its Human Values
Scale (Schwartz 2003) in every round. vp-stats never ships ESS data: users
register with the ESS Data Portal (https://ess.sikt.no), accept its conditions
of use and download the microdata themselves. This module reads such a file
(CSV; Stata ``.dta`` through :func:`pandas.read_stata`; SPSS ``.sav`` only when
the optional ``pyreadstat`` package is installed) and returns a tidy,
participant-level table of MRAT-centred value scores scored by
:func:`vp_stats.instruments.pvq.score_pvq21` with ``ess_coding=True``, with the
respondents' demographics recoded to the levels of the paper's personas
(:data:`vp_stats.instruments.personas.PAPER_PERSONA_LEVELS`).

ESS variables used (ESS codebooks, rounds 1-11; codes as in the ESS data files):

============================  ====================================================
``ipcrtiv`` ... ``impfun``    the 21 HVS items (:data:`vp_stats.schema.ESS_HVS_VARIABLES`),
                              1 = very much like me ... 6 = not like me at all;
                              7 refusal, 8 don't know, 9 no answer -> missing.
                              Round 11 names them with an ``a`` suffix (``ipcrtiva``
                              ... ``impfuna``, :data:`ESS11_HVS_VARIABLES`); either
                              spelling is read, and a cumulative file with both is
                              merged row by row
``idno``                      respondent id (unique within country and round)
``cntry``                     ISO 3166 country code (optional; part of the id)
``essround``                  round (optional; part of the id when present)
``gndr``                      1 male, 2 female; 7 / 8 / 9 -> missing
``agea``                      age in years; 999 (and 777 / 888) -> missing;
                              ``age_band``: the paper's 4 bands (15-17 -> missing)
``lrscale``                   left-right self-placement 0 (left) ... 10 (right);
                              77 / 88 / 99 -> missing; ``political_orientation``:
                              0-3 left, 4-6 centre, 7-10 right (:data:`LRSCALE_BANDS`)
``eisced``                    ES-ISCED education 1-7; 0 (not harmonisable), 55
                              (other), 77 / 88 / 99 -> missing; ``education``: 1-2
                              less than high school (ES-ISCED I, II), 3-5 high school
                              (IIIb, IIIa, IV advanced vocational, sub-degree), 6
                              bachelor's degree (V1), 7 graduate degree (V2, MA or
                              higher) (:data:`EISCED_LEVELS`)
``rlgblg``                    belongs to a religion or denomination: 1 yes, 2 no
                              (-> ``religion`` "none"); 7 / 8 / 9 -> missing
``rlgdnm``                    which one (asked if ``rlgblg`` = 1): 1 Roman Catholic,
                              2 Protestant, 3 Eastern Orthodox, 4 other Christian
                              -> "Christian"; 5 Jewish -> "Jewish"; 6 Islamic ->
                              "Muslim"; 7 Eastern religions -> "Eastern religions";
                              8 other non-Christian -> "other"; 66 not applicable,
                              77 / 88 / 99 -> missing (:data:`RLGDNM_LEVELS`)
``hinctnta``                  household net income decile 1-10 (rounds 4+); 77 /
                              88 / 99 -> missing; ``income``: 1-3 low, 4-7 middle,
                              8-10 high (:data:`INCOME_BANDS`)
``anweight``                  analysis weight = ``pspwght`` x ``pweight`` (rounds 9+)
``pspwght``                   post-stratification weight (includes the design weight)
``pweight``                   population size weight (cross-country analyses)
``dweight``                   design weight
============================  ====================================================

What the ESS cannot give (:data:`ESS_UNAVAILABLE`): race (the ESS asks
no race question; ``blgetmg``, belonging to an ethnic minority group in the
country, is not a race), and Buddhist vs Hindu separately (both are in
``rlgdnm`` 7, "Eastern religions"), so the paper's race personas and its
Buddhist and Hindu personas have no ESS group. The bands of
``lrscale`` and ``hinctnta`` are vp-stats' choices (the paper does not give
its cut points); pass your own to :func:`load_ess`. Round 1-3 income
(``hinctnt``, 12 bands) is not recoded.

Weights. The ESS recommends ``anweight`` for all analyses from round 9 on
(ESS, "Weighting European Social Survey Data", 2014; updated guidance 2020:
``anweight`` = ``pspwght`` x ``pweight``, and for rounds before 9, which lack
``anweight``, the same product computed by the user). This is from the ESS
weighting documentation as we know it; check the guide of your round.
``weight="auto"`` therefore picks, in order: ``anweight``; ``pspwght *
pweight`` when both are present; ``pspwght``; ``dweight``; and 1 for every
respondent (with a :class:`UserWarning`) when the file has none of them. In a
cumulative file whose older rounds have no ``anweight`` value, those rows get
``pspwght * pweight`` (``weight_variable`` says which, row by row). Within
one country ``pweight`` is constant, so ``anweight`` and ``pspwght`` give the
same within-country means.

Missing answers. Following the ESS EduNet guide to computing the ten value
scores, respondents with more than 5 of the 21 items missing are not scored
(``min_total=16``); their rows stay in the output with ``score`` NaN and
``status`` ``"too_few_total"``.

No ESS numbers are stored in vp-stats: the paper's ESS group gaps (Value
Portrait, section on demographic groups) can only be recomputed from a
user-supplied ESS file.

Examples
--------
>>> import tempfile, os
>>> raw = synthetic_ess(n=50, seed=1)
>>> path = os.path.join(tempfile.mkdtemp(), "ess.csv")
>>> raw.to_csv(path, index=False)
>>> scores = load_ess(path)
>>> scores.columns.tolist()[:7]
['participant', 'idno', 'cntry', 'essround', 'gender', 'age', 'weight']
>>> scores.participant.nunique(), scores.weight_variable.iloc[0]
(50, 'anweight')
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from vp_stats import schema, tables
from vp_stats.errors import DataFormatError, TableError
from vp_stats.instruments.pvq import score_pvq21
from vp_stats.io.tables import check_file

__all__ = [
    "HVS_MISSING_CODES",
    "GENDER_CODES",
    "GENDER_MISSING",
    "AGE_MISSING",
    "WEIGHT_VARIABLES",
    "ESS11_HVS_VARIABLES",
    "MISSING_2DIGIT",
    "LRSCALE_BANDS",
    "EISCED_LEVELS",
    "EISCED_NO_LEVEL",
    "RLGBLG_CODES",
    "RLGDNM_LEVELS",
    "INCOME_BANDS",
    "ESS_UNAVAILABLE",
    "PERSONA_COLUMNS",
    "OUTPUT_COLUMNS",
    "PERSONA_GROUPS",
    "PERSONA_VARIABLES",
    "ANSWER_COLUMNS",
    "read_ess_file",
    "load_ess",
    "load_ess_answers",
    "recode_persona_attributes",
    "synthetic_ess",
]

#: Codes of the HVS items meaning refusal (7), don't know (8), no answer (9).
HVS_MISSING_CODES: tuple[int, ...] = (7, 8, 9)
#: ``gndr`` codes: 1 male, 2 female; 7, 8, 9 missing.
GENDER_CODES = {1: "male", 2: "female"}
GENDER_MISSING: tuple[int, ...] = (7, 8, 9)
#: ``agea`` missing codes.
AGE_MISSING: tuple[int, ...] = (777, 888, 999)
#: Weight variables in order of preference for ``weight="auto"``.
WEIGHT_VARIABLES: tuple[str, ...] = ("anweight", "pspwght", "pweight", "dweight")
#: Round 11 names of the HVS items (``ipcrtiva`` ...): the round 1-10 names with an ``a`` suffix.
ESS11_HVS_VARIABLES: tuple[str, ...] = tuple(v + "a" for v in schema.ESS_HVS_VARIABLES)
#: Missing codes of two-digit ESS variables (refusal, don't know, no answer).
MISSING_2DIGIT: tuple[int, ...] = (77, 88, 99)
#: ``lrscale`` (0 left ... 10 right) bands -> political orientation (vp-stats' cut points).
LRSCALE_BANDS = {"left": (0, 3), "centre": (4, 6), "right": (7, 10)}
#: ``eisced`` codes -> the paper's four education levels (0 and 55 -> missing).
EISCED_LEVELS = {
    1: "less than high school",
    2: "less than high school",
    3: "high school",
    4: "high school",
    5: "high school",
    6: "bachelor's degree",
    7: "graduate degree",
}
#: ``eisced`` codes that are valid but give no level.
EISCED_NO_LEVEL: tuple[int, ...] = (0, 55)
#: ``rlgblg`` codes: 1 belongs to a religion, 2 does not; 7 / 8 / 9 missing.
RLGBLG_CODES: tuple[int, ...] = (1, 2)
#: ``rlgdnm`` codes -> religion labels (Buddhist and Hindu are not separated by the ESS).
RLGDNM_LEVELS = {
    1: "Christian",
    2: "Christian",
    3: "Christian",
    4: "Christian",
    5: "Jewish",
    6: "Muslim",
    7: "Eastern religions",
    8: "other",
}
#: ``hinctnta`` deciles -> income level (vp-stats' cut points).
INCOME_BANDS = {"low": (1, 3), "middle": (4, 7), "high": (8, 10)}
#: Persona attributes of the paper that ESS data cannot give, and why.
ESS_UNAVAILABLE = {
    "race": "the ESS has no race question (blgetmg, 'belong to minority ethnic group in "
    "country', is not a race)",
    "religion: Buddhist / Hindu": "rlgdnm code 7 'Eastern religions' holds both",
}
#: Columns of the recoded persona attributes in :func:`load_ess`'s output.
PERSONA_COLUMNS = ["age_band", "political_orientation", "education", "religion", "income"]

#: The paper's persona attributes (:data:`vp_stats.instruments.personas.PAPER_PERSONA_LEVELS`)
#: -> the column of :func:`load_ess` / :func:`load_ess_answers` holding the same groups; race
#: has none (:data:`ESS_UNAVAILABLE`).
PERSONA_GROUPS = {
    "gender": "gender",
    "age": "age_band",
    "political_orientation": "political_orientation",
    "education": "education",
    "religion": "religion",
    "income": "income",
}

#: The ESS variable(s) each persona attribute is recoded from (for error messages).
PERSONA_VARIABLES = {
    "gender": "gndr",
    "age": "agea",
    "political_orientation": "lrscale",
    "education": "eisced",
    "religion": "rlgblg / rlgdnm",
    "income": "hinctnta",
}

#: Columns of :func:`load_ess_answers`.
ANSWER_COLUMNS = [
    "participant",
    "item",
    "ess_variable",
    "value",
    "rating",
    "cntry",
    "essround",
    "weight",
    "weight_variable",
    "gender",
    *PERSONA_COLUMNS,
]

OUTPUT_COLUMNS = [
    "participant",
    "idno",
    "cntry",
    "essround",
    "gender",
    "age",
    "weight",
    "weight_variable",
    *PERSONA_COLUMNS,
    "family",
    "dimension",
    "score",
    "n_items",
    "status",
]


# --------------------------------------------------------------------------- reading


def read_ess_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read an ESS microdata file into a DataFrame with lower-case column names.

    CSV is read with every column as text first, so that no value is silently
    coerced; Stata files with :func:`pandas.read_stata` (value labels not
    converted); SPSS files need the optional ``pyreadstat`` package.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file or unsupported extension.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.csv")
    >>> _ = open(p, "w").write("IDNO,gndr\\n1,2\\n")
    >>> read_ess_file(p).columns.tolist()
    ['idno', 'gndr']
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: ESS file not found. vp-stats does not ship ESS data; download the "
            "microdata from the ESS Data Portal (https://ess.sikt.no) under the ESS conditions of "
            "use."
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    elif suffix == ".dta":
        try:
            df = pd.read_stata(path, convert_categoricals=False)
        except (ValueError, OSError, EOFError, struct.error) as exc:
            raise DataFormatError(path, None, None, f"cannot read as a Stata file: {exc}") from exc
    elif suffix in (".sav", ".zsav"):
        try:
            df = pd.read_spss(path, convert_categoricals=False)
        except ImportError as exc:  # pragma: no cover - depends on optional package
            raise ValueError(
                f"{path}: reading SPSS files needs the optional package 'pyreadstat'; "
                "install it or export the file as CSV"
            ) from exc
        except Exception as exc:  # pyreadstat's ReadstatError is not importable by a stable name
            raise DataFormatError(path, None, None, f"cannot read as an SPSS file: {exc}") from exc
        # SPSS stores every number as a double: whole-number columns back to integers, so
        # that ids read as in the CSV ('10001', not '10001.0') and keys match across formats
        for c in df.columns:
            x = df[c]
            if pd.api.types.is_float_dtype(x) and np.all(np.mod(x.dropna(), 1) == 0):
                df[c] = x.astype("Int64")
    else:
        raise ValueError(f"{path}: unsupported ESS file type {suffix!r}; use .csv, .dta or .sav")
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def _choose_weight(df: pd.DataFrame, weight: str | None, file) -> tuple[np.ndarray, str]:
    n = len(df)
    if weight is None:
        return np.ones(n), "none"
    if weight == "auto":
        present = [w for w in WEIGHT_VARIABLES if w in df.columns]
        if "anweight" in present:
            gap = df["anweight"].isna().to_numpy()
            if gap.any() and "pspwght" in present and "pweight" in present:
                # cumulative file: rounds before 9 have no anweight -> pspwght * pweight there
                fb, _ = _product_weight(df, ["pspwght", "pweight"], file, gap)
                w, _ = _product_weight(df, ["anweight"], file, ~gap)
                w = np.where(gap, fb, w)
                return w, np.where(gap, "pspwght*pweight", "anweight").astype(object)
            weight = "anweight"
        elif "pspwght" in present and "pweight" in present:
            weight = "pspwght*pweight"
        elif present:
            weight = [w for w in ("pspwght", "dweight", "pweight") if w in present][0]
        else:
            warnings.warn(
                f"{file}: no ESS weight variable ({', '.join(WEIGHT_VARIABLES)}); "
                "every respondent gets weight 1",
                UserWarning,
                stacklevel=3,
            )
            return np.ones(n), "none"
    return _product_weight(df, weight.split("*"), file, np.ones(n, dtype=bool))[0], weight


def _product_weight(df, parts, file, rows: np.ndarray) -> tuple[np.ndarray, str]:
    """Product of weight variables (checked non-negative by the contract), present on ``rows``."""
    n = len(df)
    w = np.ones(n)
    for p in parts:
        if p not in df.columns:
            raise DataFormatError(
                file,
                None,
                p,
                f"weight variable {p!r} is not in the file (columns: {list(df.columns)})",
            )
        x = pd.to_numeric(df[p], errors="coerce").to_numpy(dtype=float)
        gap = np.isnan(x) & rows
        if gap.any():
            r = int(np.flatnonzero(gap)[0])
            raise TableError(
                file,
                r + 1,
                p,
                "empty cell (the weight is required)",
                detail=f"idno {df['idno'].iloc[r]!r}",
            )
        w = w * np.where(rows, x, 1.0)
    return w, "*".join(parts)


def _read_ess(
    path: str | os.PathLike,
    *,
    weight: str | None,
    countries: Sequence[str] | None,
    keep: Sequence[str],
    lrscale_bands: Mapping[str, tuple[int, int]] | None,
    income_bands: Mapping[str, tuple[int, int]] | None,
) -> tuple[Path, np.ndarray, pd.DataFrame]:
    """Read and check an ESS file: ``(file, HVS answers n x 21 in ESS coding, NaN missing,
    one row per respondent: participant ... persona columns, keep columns)``."""
    file = Path(path)
    df = read_ess_file(file)
    hvs = list(schema.ESS_HVS_VARIABLES)
    required = ["idno", *hvs]
    missing = [
        c for c in required if c not in df.columns and not (c in hvs and c + "a" in df.columns)
    ]
    if missing:
        raise DataFormatError(
            file,
            None,
            missing[0],
            f"missing required column(s) {missing}; an ESS file needs idno and the 21 HVS "
            f"variables {hvs} (round 11: with an 'a' suffix, e.g. ipcrtiva)",
        )
    # respondent key: cntry + essround + idno (idno is unique only within country and round)
    key_parts = [df[c].astype(str) for c in ("cntry", "essround") if c in df.columns]
    key_parts.append(df["idno"].astype(str))
    participant = key_parts[0]
    for p in key_parts[1:]:
        participant = participant + "_" + p
    raw = df
    df = check_file(
        df.assign(participant=participant),
        tables.EssFile,
        source=file,
        headers={"participant": "idno"},
        name_rows_by="idno",
    )
    if countries is not None:
        if "cntry" not in df.columns:
            raise DataFormatError(
                file, None, "cntry", "countries= given but the file has no cntry column"
            )
        mask = df["cntry"].isin(list(countries)).to_numpy()
        df, raw = df[mask].reset_index(drop=True), raw[mask].reset_index(drop=True)
    for c in keep:
        if c.lower() not in df.columns:
            raise DataFormatError(file, None, c, f"keep column {c!r} is not in the file")
    participant = df["participant"]

    # items: 1..6, or 7/8/9 / empty -> missing (codes checked by the contract)
    items = np.empty((len(df), len(hvs)))
    for j, base in enumerate(hvs):
        x = None
        for col in (base, base + "a"):  # round 1-10 name, round 11 name
            if col not in df.columns:
                continue
            y = df[col].to_numpy(dtype=float)
            if x is None:
                x = y
                continue
            clash = ~np.isnan(x) & ~np.isnan(y) & (x != y)
            if clash.any():  # a rule across columns, which the contract cannot say
                r = int(np.flatnonzero(clash)[0])
                raise TableError(
                    file,
                    r + 1,
                    col,
                    f"answer {int(y[r])} differs from {base} = {int(x[r])} in the same row "
                    "(round 11 and round 1-10 names of one item)",
                    detail=f"idno {raw['idno'].iloc[r]!r}",
                )
            x = np.where(np.isnan(x), y, x)
        items[:, j] = np.where(np.isin(x, HVS_MISSING_CODES), np.nan, x)

    # demographics (codes checked by the contract)
    n = len(df)
    if "gndr" in df.columns:
        gender = df["gndr"].map(GENDER_CODES).astype(object).to_numpy()
    else:
        gender = np.full(n, None, dtype=object)
    if "agea" in df.columns:
        a = df["agea"].to_numpy(dtype=float)
        age = np.where(np.isin(a, AGE_MISSING), np.nan, a)
    else:
        age = np.full(n, np.nan)
    w, wname = _choose_weight(df, weight, file)
    attrs = recode_persona_attributes(
        df, file=file, age=age, lrscale_bands=lrscale_bands, income_bands=income_bands
    )

    meta = pd.DataFrame(
        {
            "participant": participant.to_numpy(),
            "idno": raw["idno"].to_numpy(),
            "cntry": df["cntry"].to_numpy()
            if "cntry" in df.columns
            else np.full(n, None, dtype=object),
            "essround": df["essround"].to_numpy()
            if "essround" in df.columns
            else np.full(n, None, dtype=object),
            "gender": gender,
            "age": age,
            "weight": w,
            "weight_variable": wname,
            **{c: attrs[c].to_numpy() for c in PERSONA_COLUMNS},
        }
    )
    for c in keep:
        meta[c.lower()] = raw[c.lower()].to_numpy()
    return file, items, meta


def load_ess(
    path: str | os.PathLike,
    *,
    weight: str | None = "auto",
    countries: Sequence[str] | None = None,
    min_total: int = 16,
    keep: Sequence[str] = (),
    higher_order: bool = True,
    lrscale_bands: Mapping[str, tuple[int, int]] | None = None,
    income_bands: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Load ESS microdata and score the Human Values Scale, tidy and participant level.

    Parameters
    ----------
    path : path-like
        ESS file (``.csv``, ``.dta``; ``.sav`` with ``pyreadstat``), downloaded by
        the user from the ESS Data Portal. Column names are matched case-insensitively.
    weight : {"auto", None} or str
        ``"auto"`` (see the module notes: ``anweight`` first), a variable name,
        a product such as ``"pspwght*pweight"``, or ``None`` for weight 1.
    countries : sequence of str, optional
        Keep only these ``cntry`` codes.
    min_total : int
        Minimum answered HVS items for a respondent to be scored (default 16:
        at most 5 missing, ESS EduNet guideline).
    keep : sequence of str
        Further ESS variables to carry into the output unchanged (raw codes,
        e.g. ``lrscale``, ``eisced``, ``rlgdgr``; their missing codes are not
        recoded; the recoded levels are in the persona columns).
    higher_order : bool
        Also score the four higher-order values.
    lrscale_bands, income_bands : mapping, optional
        Level -> (lowest, highest) code of ``lrscale`` (default
        :data:`LRSCALE_BANDS`) and ``hinctnta`` (default :data:`INCOME_BANDS`).

    Returns
    -------
    pandas.DataFrame
        One row per respondent and dimension: ``participant`` (``cntry`` /
        ``essround`` / ``idno`` joined by ``_``), ``idno``, ``cntry``, ``essround``,
        ``gender`` (``"male"``, ``"female"`` or missing), ``age`` (float, NaN if
        missing), ``weight``, ``weight_variable``, the persona attributes
        (:data:`PERSONA_COLUMNS`: ``age_band``, ``political_orientation``,
        ``education``, ``religion``, ``income``; missing where the ESS
        variable is absent from the file or holds a missing code), ``family``,
        ``dimension``, ``score`` (MRAT-centred, 6 = very much like me after
        reversing the ESS coding), ``n_items``, ``status``, then the ``keep`` columns.

    Raises
    ------
    vp_stats.errors.DataFormatError
        (a ``ValueError``) naming file, data row (with ``idno``) and variable for
        a missing column, an item value outside 1-6 / 7-9, an unknown ``gndr``,
        ``lrscale``, ``eisced``, ``rlgblg``, ``rlgdnm`` or ``hinctnta`` code, an
        impossible age, a missing or negative weight, duplicate ids, or a
        round 10 and a round 11 item name answered differently in one row.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "ess.csv")
    >>> synthetic_ess(n=4, seed=0).to_csv(p, index=False)
    >>> s = load_ess(p, weight="pspwght")
    >>> s.weight_variable.unique().tolist(), s.family.unique().tolist()
    (['pspwght'], ['pvq', 'higher_pvq'])
    """
    file, items, meta = _read_ess(
        path,
        weight=weight,
        countries=countries,
        keep=keep,
        lrscale_bands=lrscale_bands,
        income_bands=income_bands,
    )
    n = len(meta)
    answers = pd.DataFrame(items, columns=list(schema.ESS_HVS_VARIABLES))
    answers.insert(0, "participant", meta["participant"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN scores are reported via 'status'
        scored = score_pvq21(
            answers, ess_coding=True, min_total=min_total, higher_order=higher_order
        )
    n_dim = len(scored) // n if n else 0
    rep = meta.loc[meta.index.repeat(n_dim)].reset_index(drop=True)
    out = pd.concat(
        [rep, scored[["family", "dimension", "score", "n_items", "status"]].reset_index(drop=True)],
        axis=1,
    )
    out = out[OUTPUT_COLUMNS + [c.lower() for c in keep]]
    return tables.check(out, tables.EssScores, source=f"{file} (scored)")


def load_ess_answers(
    path: str | os.PathLike,
    *,
    weight: str | None = "auto",
    countries: Sequence[str] | None = None,
    lrscale_bands: Mapping[str, tuple[int, int]] | None = None,
    income_bands: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """ESS respondents' PVQ-21 (Human Values Scale) answers, long, with groups and weights.

    The item-level companion of :func:`load_ess` (same reader, checks, respondent key,
    weight choice and persona recoding), for comparisons of answer *distributions*
    (:mod:`vp_stats.stats.fidelity`, :func:`vp_stats.studies.ess_fidelity.ess_fidelity`).

    Answers are put on the LLM's PVQ scale: ``rating = 7 - code``, so 6 is "very much
    like me" and 1 "not like me at all", as :func:`vp_stats.studies.personas.pvq21_prompts`
    and the runner's ``p_1..p_6`` number them (the ESS codes 1 = very much like me).
    Missing answers (codes 7 / 8 / 9, empty) are left out.

    Weights. ``weight="auto"`` (the default) is ``anweight`` (= ``pspwght x pweight``;
    for rounds without it the same product, then ``pspwght``, ``dweight``: module
    notes). The ESS recommends ``anweight`` for every analysis from round 9 on and
    ``pspwght x pweight`` for analyses across countries (ESS, "Weighting European
    Social Survey Data", 2014; 2020 guidance); persona groups (gender, age, ...) are not
    one country's, so a group pooled over the countries of a file needs the population
    size weight ``pweight``, and within one country ``pweight`` is constant, so the
    default gives the same within-country distributions as ``pspwght``. Pass
    ``weight="dweight"`` for design weights only, ``None`` for none.

    Returns
    -------
    DataFrame
        One row per respondent and answered item (:data:`ANSWER_COLUMNS`):
        ``participant, item`` (``"1"`` ... ``"21"``, the PVQ-21 item number),
        ``ess_variable``, ``value`` (:data:`vp_stats.schema.PVQ21_KEY`), ``rating``
        (1-6, 6 = very much like me), ``cntry, essround, weight, weight_variable,
        gender`` and the persona columns (:data:`PERSONA_COLUMNS`); checked against
        :class:`vp_stats.tables.AnswerSheet`.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "synthetic_ess.csv")
    >>> synthetic_ess(n=5, seed=0, attributes=True).to_csv(p, index=False)
    >>> a = load_ess_answers(p)
    >>> a.item.nunique(), a.weight_variable.iloc[0], float(a.rating.min()), float(a.rating.max())
    (21, 'anweight', 1.0, 6.0)
    """
    file, items, meta = _read_ess(
        path,
        weight=weight,
        countries=countries,
        keep=(),
        lrscale_bands=lrscale_bands,
        income_bands=income_bands,
    )
    hvs = list(schema.ESS_HVS_VARIABLES)
    value_of = {i: v for v, its in schema.PVQ21_KEY.items() for i in its}
    n, k = items.shape
    row, j = np.nonzero(~np.isnan(items))
    out = meta.iloc[row].reset_index(drop=True)
    out["item"] = (j + 1).astype(str)
    out["ess_variable"] = np.asarray(hvs, dtype=object)[j]
    out["value"] = [value_of[i + 1] for i in j]
    out["rating"] = 7.0 - items[row, j]
    out = out[ANSWER_COLUMNS]
    return tables.check(out, tables.AnswerSheet, source=f"{file} (answers)")


# --------------------------------------------------------------------------- persona attributes


def _bands(x: np.ndarray, bands: Mapping[str, tuple[int, int]]) -> np.ndarray:
    out = np.full(x.shape, None, dtype=object)
    for label, (lo, hi) in bands.items():
        out[(x >= lo) & (x <= hi)] = label
    return out


def recode_persona_attributes(
    df: pd.DataFrame,
    *,
    file: str | os.PathLike = "ESS data",
    age: np.ndarray | None = None,
    lrscale_bands: Mapping[str, tuple[int, int]] | None = None,
    income_bands: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Recode ESS demographics to the levels of the paper's personas (see the module notes).

    Parameters
    ----------
    df : DataFrame
        ESS microdata (lower-case names, raw codes), e.g. :func:`read_ess_file`.
        Absent variables give missing levels; present ones go through their
        :data:`vp_stats.tables.EssFile` columns (an unknown code is an error naming
        ``file``, the row, its ``idno`` when the table has one, and the variable).
    file
        Named in errors.
    age : array, optional
        Ages in years with missing codes already removed (default: from ``agea``).

    Returns
    -------
    DataFrame
        One row per ESS row: ``age_band``, ``political_orientation``,
        ``education``, ``religion``, ``income`` (labels or None).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"agea": [17, 30, 999], "lrscale": [0, 5, 88], "eisced": [2, 6, 55],
    ...                     "rlgblg": [2, 1, 1], "rlgdnm": [66, 6, 7], "hinctnta": [1, 10, 77]})
    >>> recode_persona_attributes(raw).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [[None, 'left', 'less than high school', 'none', 'low'],
     ['30-44', 'centre', "bachelor's degree", 'Muslim', 'high'],
     [None, None, None, 'Eastern religions', None]]
    """
    from vp_stats.instruments.personas import age_band

    n = len(df)
    coded = [c for c in ("agea", "lrscale", "eisced", "rlgblg", "rlgdnm", "hinctnta") if c in df]
    if coded and n:
        contract = pa.DataFrameSchema({c: tables.EssFile.columns[c] for c in coded}, coerce=True)
        df = check_file(df, contract, source=file, name_rows_by="idno")

    def codes(col):
        return df[col].to_numpy(dtype=float) if col in df.columns else None

    out = pd.DataFrame(index=range(n))
    if age is None:
        a = codes("agea")
        age = np.where(np.isin(a, AGE_MISSING), np.nan, a) if a is not None else np.full(n, np.nan)
    out["age_band"] = age_band(age)
    lr = codes("lrscale")
    out["political_orientation"] = (
        _bands(lr, lrscale_bands or LRSCALE_BANDS) if lr is not None else None
    )
    ed = codes("eisced")
    out["education"] = (
        pd.Series(ed).map(EISCED_LEVELS).astype(object).where(lambda s: s.notna(), None).to_numpy()
        if ed is not None
        else None
    )
    blg, dnm = codes("rlgblg"), codes("rlgdnm")
    # a denomination when rlgdnm names one, else "none" when rlgblg = 2, else missing
    rel = np.full(n, None, dtype=object)
    if blg is not None:
        rel[blg == 2] = "none"
    if dnm is not None:
        lab = pd.Series(dnm).map(RLGDNM_LEVELS).astype(object).to_numpy()
        has = pd.notna(lab)
        rel[has] = lab[has]
    out["religion"] = rel
    inc = codes("hinctnta")
    out["income"] = _bands(inc, income_bands or INCOME_BANDS) if inc is not None else None
    return out.astype(object).where(out.notna(), None)


# --------------------------------------------------------------------------- synthetic files


def synthetic_ess(
    n: int = 200,
    *,
    seed: int = 0,
    countries: Sequence[str] = ("DE", "FR"),
    attributes: bool = False,
) -> pd.DataFrame:
    """A small table in ESS microdata format (SYNTHETIC: random answers, not ESS data).

    Columns: ``idno, cntry, essround, gndr, agea``, the 21 HVS variables (ESS
    coding, with a few 7/8/9 missing codes), ``dweight, pspwght, pweight,
    anweight`` (``anweight = pspwght * pweight``). For tests and examples only.

    ``attributes=True`` adds the persona variables ``lrscale, eisced, rlgblg, rlgdnm,
    hinctnta`` (codes as in the ESS codebooks, a few missing codes) and builds group
    differences into the answers, so that groups differ at the distribution level:
    respondents on the right (``lrscale`` 7-10) answer the Tradition, Conformity and
    Security items one category nearer "very much like me", women the Benevolence and
    Universalism items, the highest income deciles (8-10) the Power and Achievement
    items (clipped to 1-6). The other columns are those of ``attributes=False`` with
    the same seed.

    Examples
    --------
    >>> synthetic_ess(3, seed=0).shape
    (3, 30)
    >>> synthetic_ess(3, seed=0, attributes=True).shape
    (3, 35)
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "idno": np.arange(1, n + 1) + 10000,
            "cntry": rng.choice(list(countries), size=n),
            "essround": 11,
            "gndr": rng.choice([1, 2, 9], size=n, p=[0.49, 0.49, 0.02]),
            "agea": np.where(rng.random(n) < 0.02, 999, rng.integers(15, 90, size=n)),
        }
    )
    items = rng.integers(1, 7, size=(n, len(schema.ESS_HVS_VARIABLES)))
    extra = {}
    if attributes:  # own generator: the other columns stay those of attributes=False
        arng = np.random.default_rng([seed, 25])
        p_lr = [0.0925] * 10 + [0.055, 0.01, 0.01]
        extra["lrscale"] = arng.choice([*range(11), 77, 88], size=n, p=p_lr)
        extra["eisced"] = arng.choice([1, 2, 3, 4, 5, 6, 7, 55, 88], size=n)
        blg = arng.choice([1, 2, 8], size=n, p=[0.6, 0.38, 0.02])
        p_dnm = [0.4, 0.3, 0.05, 0.05, 0.1, 0.05, 0.05]
        dnm = arng.choice([1, 2, 3, 5, 6, 7, 8], size=n, p=p_dnm)
        extra["rlgblg"] = blg
        extra["rlgdnm"] = np.where(blg == 1, dnm, 66)
        p_inc = [0.095] * 10 + [0.03, 0.02]
        extra["hinctnta"] = arng.choice([*range(1, 11), 77, 88], size=n, p=p_inc)
        shift = np.zeros_like(items)

        def nearer(rows, values):
            for v in values:
                for i in schema.PVQ21_KEY[v]:
                    shift[rows, i - 1] -= 1

        lr = extra["lrscale"]
        nearer((lr >= 7) & (lr <= 10), ("Tradition", "Conformity", "Security"))
        nearer(df["gndr"].to_numpy() == 2, ("Benevolence", "Universalism"))
        inc = extra["hinctnta"]
        nearer((inc >= 8) & (inc <= 10), ("Power", "Achievement"))
        items = np.clip(items + shift, 1, 6)
    holes = rng.random(items.shape) < 0.02
    items[holes] = rng.choice(list(HVS_MISSING_CODES), size=int(holes.sum()))
    for j, v in enumerate(schema.ESS_HVS_VARIABLES):
        df[v] = items[:, j]
    df["dweight"] = np.round(rng.uniform(0.5, 1.5, n), 4)
    df["pspwght"] = np.round(df["dweight"] * rng.uniform(0.8, 1.2, n), 4)
    df["pweight"] = df["cntry"].map({c: 0.5 + i for i, c in enumerate(countries)})
    df["anweight"] = df["pspwght"] * df["pweight"]
    for c, v in extra.items():
        df[c] = v
    return df
