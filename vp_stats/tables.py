"""The column contracts: the tables every stage of vp-stats exchanges, declared once.

Each table that crosses a module boundary is a :mod:`pandera` DataFrameModel
here, and every reader and every command validates through these models, so a
bad cell gives one :class:`~vp_stats.errors.TableError` naming the file, the
row (with its line) and the field, whatever the entry point.

====================  =============================================================
contract              columns (key columns first)
====================  =============================================================
``Ratings``           ``participant, item, rating`` (+ optional ``group``; Value
                      Portrait items also carry ``portrait_id, option_id``)
``Scores``            ``participant, family, dimension, score``
``Correlations``      ``item, family, dimension, rho`` (+ ``p_value, n, p_fdr,
                      ci_low, ci_high, selected, sign`` when computed)
``Answers``           ``model, item, rating`` (+ ``variant``): an LLM's answers,
                      one row per model, item (and prompt variant)
``Profiles``          ``model, family, dimension, centered_mean``: LLM value
                      profiles (``centered_mean`` is the profile's score)
``SvoAnswers``        ``participant, item, rating``: SVO slider answers (item
                      1-15, rating = chosen option 1-9)
``AnswerSheet``       ``participant, item, rating``: PVQ-21 / BFI-10 answers
``PersonaAnswers``    ``persona_id, portrait_id, option_id, rating``: an LLM's
                      answers under personas
``EssFile``           ``idno``, the ESS variables (raw codes), ``participant``: ESS
                      microdata as read, before recoding
``EssScores``         ``participant, weight, ..., family, dimension, score``: ESS
                      microdata after recoding and scoring
``CompassWeights``    ``dimension, weight, weights_source``: Value Compass weights
``RawOutputs``        ``model, portrait_id, option_id, variant, rating, parse_ok,
                      status``: parsed raw LLM outputs
``AveragedOutputs``   ``model, portrait_id, option_id, numeric_response,
                      n_parsed, n_failed``: per-item means over the variants
====================  =============================================================

Naming convention. The unit of a human table is ``participant``; of an LLM
table ``model``; an item is ``item`` (any non-empty string); a dimension score is
``score``. Functions follow pingouin: they take ``data=`` and the names of the
columns where a user's differ (``participant="rater"``, ``item="question"``).
Value Portrait's ``(portrait_id, option_id)`` is one item-id convention:
``item = "<portrait_id>_<option_id>"`` (:func:`vp_item_id`), derived wherever a
table has the two columns and no ``item``.

Scales are data (:class:`Scale`): a rating scale is ``low..high`` (1-5, 1-6,
1-7, 0-10 ...), given or inferred from the data and reported, and a reversed
rating is ``low + high - x`` everywhere.

Examples
--------
>>> import pandas as pd
>>> from vp_stats import tables
>>> r = pd.DataFrame({"participant": ["a", "b"], "item": ["q1", "q1"], "rating": [1, 5]})
>>> tables.ratings_table(r, scale="1-5").table.dtypes.rating
dtype('float64')
>>> bad = r.assign(rating=["1", "x"])
>>> try:
...     tables.ratings_table(bad, source="my_ratings.csv", from_file=True)
... except tables.TableError as exc:
...     print(exc)
my_ratings.csv: row 2 (line 3), field 'rating': cannot read 'x' as a number
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from vp_stats import schema
from vp_stats.errors import TableError

__all__ = [
    "Scale",
    "parse_scale",
    "infer_scale",
    "implausible_rating",
    "vp_item_id",
    "split_vp_item",
    "with_item_column",
    "Ratings",
    "Scores",
    "Correlations",
    "Answers",
    "Profiles",
    "SvoAnswers",
    "AnswerSheet",
    "PersonaAnswers",
    "EssFile",
    "EssScores",
    "CompassWeights",
    "RawOutputs",
    "AveragedOutputs",
    "TableError",
    "check",
    "ratings_table",
    "scores_table",
    "correlations_table",
    "answers_table",
    "profiles_table",
    "derive_higher_order",
    "to_wide",
    "participant_matrix",
    "HIGHER_ORDER_RULE",
    "require",
    "Result",
    "CheckedRatings",
]


# --------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class Scale:
    """A rating scale ``low..high`` (integers, ``low < high``).

    Examples
    --------
    >>> s = Scale(1, 5)
    >>> s.reverse(2), str(s), s.n_points
    (4, '1-5', 5)
    >>> Scale(0, 10).reverse(3)
    7
    """

    low: float
    high: float
    inferred: bool = False

    def __post_init__(self):
        for v in (self.low, self.high):
            if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                raise ValueError(
                    f"scale bounds must be finite numbers, got {self.low!r}..{self.high!r}"
                )
        if not self.low < self.high:
            raise ValueError(f"scale low must be below high, got {self.low}-{self.high}")

    def reverse(self, x):
        """Reverse-score ``x``: ``low + high - x`` (7 - x on a 1-6 scale, 6 - x on 1-5)."""
        return self.low + self.high - x

    @property
    def n_points(self) -> int:
        return int(self.high - self.low + 1)

    def __str__(self) -> str:
        def f(v):
            return str(int(v)) if float(v).is_integer() else str(v)

        return f"{f(self.low)}-{f(self.high)}"


#: The Value Portrait items' scale (1 = not like me at all ... 6 = very much like me).
VP_SCALE = Scale(schema.LIKERT_MIN, schema.LIKERT_MAX)


def parse_scale(spec: str | Sequence[float] | Scale | None) -> Scale | None:
    """Read a scale from ``"1-5"``, ``"0..10"``, ``(1, 7)`` or a :class:`Scale`; None stays None.

    Examples
    --------
    >>> parse_scale("1-5"), parse_scale("0..10")
    (Scale(low=1, high=5, inferred=False), Scale(low=0, high=10, inferred=False))
    >>> parse_scale((1, 7))
    Scale(low=1, high=7, inferred=False)
    """
    if spec is None or isinstance(spec, Scale):
        return spec
    if isinstance(spec, str):
        m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(?:-|\.\.|:|,)\s*(-?\d+(?:\.\d+)?)\s*", spec)
        if not m:
            raise ValueError(f"scale {spec!r}: expected LOW-HIGH, e.g. 1-5, 1-6, 0-10")
        lo, hi = (float(g) for g in m.groups())
    else:
        try:
            lo, hi = (float(v) for v in spec)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"scale {spec!r}: expected (low, high)") from exc
    lo_, hi_ = (int(v) if v.is_integer() else v for v in (lo, hi))
    return Scale(lo_, hi_)


#: The widest span (high - low) an inferred scale may have: a 0-100 slider.
MAX_INFERRED_SPAN = 100


def implausible_rating(values) -> tuple[int, float, str] | None:
    """The first rating that makes the min..max of ``values`` implausible as a rating scale.

    Missing-value codes (-99, 999, 1e308 ...) read as ratings widen an inferred scale and
    silently change every statistic that uses it (reverse keying, alpha, correlations). A
    scale inferred from the data is refused when

    1. a value is not finite;
    2. an end lies farther from the next distinct value than the other values span, when
       these hold at least 4 distinct levels (999 beside 1..6; 1e308 beside 1..5; -99
       beside continuous scores);

    and, when most values are integers (answers on a rating scale), when

    3. its low end is negative and the scale is not symmetric around 0 (-3..3 is a bipolar
       scale; -99..6 and -9..5 are not);
    4. it spans more than :data:`MAX_INFERRED_SPAN` (a 0-100 slider is the widest inferred);
    5. an end of the scale is not an integer (6.5 on a 1..6 scale).

    Continuous values (most of them not integers: z-scores, averages) are held to rules 1
    and 2 only.

    Returns None when the scale is plausible, else ``(position, value, reason)`` with the
    0-based position of the first such value in ``values``. Missing (NaN) values are skipped.
    Hand-written: a fixed rule stated here, not a statistical outlier test (no library has it).

    Examples
    --------
    >>> implausible_rating([1, 2, 3, 4, 5, 6]) is None
    True
    >>> implausible_rating([1, 2, -99, 4, 5, 6])
    (2, -99.0, 'a negative rating on a scale that is not symmetric around 0')
    >>> implausible_rating([-3, 0, 3]) is None
    True
    >>> implausible_rating([1, 2, 3, 4, 999])[:2]
    (4, 999.0)
    """
    x = np.asarray(values, dtype=float).ravel()
    # every rule needs only the distinct values and their counts: one sort, no copies of x
    u, counts = np.unique(x, return_counts=True)  # NaN last, once
    if np.isinf(u).any():
        at = int(np.flatnonzero(np.isinf(x))[0])
        return at, float(x[at]), "not a finite number"
    ok = ~np.isnan(u)
    u, counts = u[ok], counts[ok]
    if not u.size:
        return None
    lo, hi = float(u[0]), float(u[-1])

    def first(v: float) -> int:
        return int(np.flatnonzero(x == v)[0])

    # the share of integer values (answers on a rating scale)
    integer_like = counts[u == np.round(u)].sum() / counts.sum() > 0.5
    if integer_like and lo < 0 and lo != -hi:
        return first(lo), lo, "a negative rating on a scale that is not symmetric around 0"
    if u.size >= 5:
        if u[-1] - u[-2] > u[-2] - u[0]:
            return first(hi), hi, f"far above the other ratings ({u[0]:g}..{u[-2]:g})"
        if u[1] - u[0] > u[-1] - u[1]:
            return first(lo), lo, f"far below the other ratings ({u[1]:g}..{u[-1]:g})"
    if not integer_like:  # continuous values: rules 1 and 2 only
        return None
    if hi - lo > MAX_INFERRED_SPAN:
        med = np.median(x[~np.isnan(x)])
        v = hi if abs(hi - med) >= abs(lo - med) else lo
        return (
            first(v),
            v,
            f"the scale {lo:g}..{hi:g} would be wider than {MAX_INFERRED_SPAN} points",
        )
    for v in (lo, hi):
        if not float(v).is_integer():
            return first(v), v, "not an integer, on a scale of integer ratings"
    return None


def implausible_scale_problem(value: float, reason: str) -> str:
    """The message of an implausible inferred scale: the value, why, and the two remedies."""
    return (
        f"rating {value:g} makes the inferred rating scale implausible ({reason}); if it is a "
        "missing-value code, declare it (--na-values / na_values=), else give the scale "
        "(--scale / scale=)"
    )


def infer_scale(values) -> Scale:
    """The scale spanned by the observed ratings (``inferred=True``): min..max of the data.

    An inferred scale is only as wide as the answers given: if nobody used a
    scale's end points, pass the scale instead (reverse scoring depends on it).
    A scale that is not a plausible rating scale (:func:`implausible_rating`: a
    missing-value code such as -99 or 999 read as a rating) is refused.

    Examples
    --------
    >>> infer_scale([2, 1, 5, 4])
    Scale(low=1, high=5, inferred=True)
    >>> infer_scale([2, 1, 5, 4, -99])
    Traceback (most recent call last):
    ...
    ValueError: rating -99 makes the inferred rating scale implausible (a negative rating ...
    """
    x = np.asarray(values, dtype=float).ravel()
    bad = implausible_rating(x)
    if bad is not None:
        raise ValueError(implausible_scale_problem(bad[1], bad[2]))
    # no infinite values here; fmin/fmax skip NaN without copying x
    lo = float(np.fmin.reduce(x)) if x.size else np.nan
    if np.isnan(lo):
        raise ValueError("cannot infer a rating scale from no ratings")
    hi = float(np.fmax.reduce(x))
    if lo == hi:
        raise ValueError(f"cannot infer a rating scale: every rating is {lo:g}; pass the scale")
    lo_, hi_ = (int(v) if v.is_integer() else v for v in (lo, hi))
    return Scale(lo_, hi_, inferred=True)


# --------------------------------------------------------------------------- item ids

_VP_ITEM = re.compile(r"^(\d{4})_(\d)$")


def vp_item_id(portrait_id, option_id):
    """Value Portrait's item id: ``"<portrait_id>_<option_id>"`` (scalars or arrays).

    Examples
    --------
    >>> vp_item_id(1001, 3)
    '1001_3'
    >>> vp_item_id(pd.Series([1001, 4999]), pd.Series([1, 5])).tolist()
    ['1001_1', '4999_5']
    """
    if isinstance(portrait_id, (pd.Series, np.ndarray, list)):
        p = pd.Series(np.asarray(portrait_id)).astype("int64").astype(str)
        o = pd.Series(np.asarray(option_id)).astype("int64").astype(str)
        out = p + "_" + o
        if isinstance(portrait_id, pd.Series):
            out.index = portrait_id.index
        return out
    return f"{int(portrait_id)}_{int(option_id)}"


def split_vp_item(item: str) -> tuple[int, int] | None:
    """``(portrait_id, option_id)`` of a Value Portrait item id, None for any other id.

    Examples
    --------
    >>> split_vp_item("2034_5"), split_vp_item("abby_Ach_likely")
    ((2034, 5), None)
    """
    m = _VP_ITEM.match(str(item))
    return (int(m.group(1)), int(m.group(2))) if m else None


def with_item_column(df: pd.DataFrame, item: str = "item") -> pd.DataFrame:
    """Add ``item`` from ``portrait_id, option_id`` when the table has those and no ``item``.

    Ids that are not integer pairs are joined as they are (``_derive_items`` names them as errors).

    Examples
    --------
    >>> with_item_column(pd.DataFrame({"portrait_id": [1001], "option_id": [2]})).item.tolist()
    ['1001_2']
    """
    if item in df.columns or not {"portrait_id", "option_id"} <= set(df.columns):
        return df
    ok = _integer_ids(df)
    ids = df["portrait_id"].astype(str) + "_" + df["option_id"].astype(str)
    if ok.any():
        ids[ok] = vp_item_id(
            df.loc[ok, "portrait_id"].astype(float).astype("int64"),
            df.loc[ok, "option_id"].astype(float).astype("int64"),
        )
    out = df.copy()
    out.insert(0, item, ids)
    return out


def _integer_ids(df: pd.DataFrame) -> pd.Series:
    """Rows whose portrait_id and option_id are both integers."""
    p = pd.to_numeric(df["portrait_id"], errors="coerce")
    o = pd.to_numeric(df["option_id"], errors="coerce")
    return p.notna() & o.notna() & (p == p.round()) & (o == o.round())


def _derive_items(df: pd.DataFrame, source: str, from_file: bool) -> pd.DataFrame:
    """``with_item_column``, with a portrait/option id that is not an integer named as an error."""
    if "item" not in df.columns and {"portrait_id", "option_id"} <= set(df.columns):
        bad = ~_integer_ids(df) & (df["portrait_id"].notna() | df["option_id"].notna())
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            row = _row_label(df, at, from_file)
            for col in ("portrait_id", "option_id"):
                v = pd.to_numeric(pd.Series([df[col].iloc[at]]), errors="coerce").iloc[0]
                if pd.isna(v) or v != round(v):
                    raise TableError(
                        source,
                        row,
                        col,
                        f"expected an integer {col}, got {df[col].iloc[at]!r}",
                        from_file=from_file,
                    )
    return with_item_column(df)


# --------------------------------------------------------------------------- the contracts

_ID = {"str_length": {"min_value": 1}}


class Ratings(pa.DataFrameModel):
    """Human ratings of items: one row per participant and item.

    ``rating`` is a finite number inside the rating scale (checked against the
    :class:`Scale` given or inferred). ``group`` (optional) is the block of items a
    participant was given (Value Portrait: the participant group of ``survey.json``).
    """

    participant: Series[str] = pa.Field(**_ID)
    item: Series[str] = pa.Field(**_ID)
    rating: Series[float] = pa.Field()
    group: Series[str] | None = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = False
        unique = ["participant", "item"]


class Scores(pa.DataFrameModel):
    """Dimension scores of participants: one row per participant, family and dimension.

    ``family`` is one of ``pvq`` (10 basic values), ``higher_pvq`` (4 higher-order
    values), ``bfi`` (Big Five) or a family the caller declares; ``dimension`` must
    belong to its family.
    """

    participant: Series[str] = pa.Field(**_ID)
    family: Series[str] = pa.Field(**_ID)
    dimension: Series[str] = pa.Field(**_ID)
    score: Series[float] = pa.Field()

    class Config:
        coerce = True
        strict = False
        unique = ["participant", "family", "dimension"]


class Correlations(pa.DataFrameModel):
    """Item x dimension validity correlations (the table ``vp-stats validate`` writes).

    ``rho`` is in [-1, 1] or missing (an item with constant ratings), ``p_value``
    and ``p_fdr`` in [0, 1], ``n`` a non-negative count.
    """

    item: Series[str] = pa.Field(**_ID)
    family: Series[str] = pa.Field(**_ID)
    dimension: Series[str] = pa.Field(**_ID)
    rho: Series[float] = pa.Field(nullable=True, in_range={"min_value": -1, "max_value": 1})
    p_value: Series[float] | None = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 1}
    )
    p_fdr: Series[float] | None = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 1})
    n: Series[float] | None = pa.Field(nullable=True, ge=0)
    ci_low: Series[float] | None = pa.Field(
        nullable=True, in_range={"min_value": -1, "max_value": 1}
    )
    ci_high: Series[float] | None = pa.Field(
        nullable=True, in_range={"min_value": -1, "max_value": 1}
    )

    class Config:
        coerce = True
        strict = False
        unique = ["item", "family", "dimension"]


class Answers(pa.DataFrameModel):
    """An LLM's answers to items: one row per model, item (and ``variant``).

    ``rating`` is the answer on the item's scale, missing for a failed call or an
    unparsed answer (never dropped: failures are counted downstream).
    """

    model: Series[str] = pa.Field(**_ID)
    item: Series[str] = pa.Field(**_ID)
    rating: Series[float] = pa.Field(nullable=True)
    variant: Series[str] | None = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = False


class Profiles(pa.DataFrameModel):
    """LLM value profiles: one row per model, family and dimension.

    ``centered_mean`` is the profile's score: the mean answer on the dimension's
    validated items minus the model's mean over the family's validated items.
    """

    model: Series[str] = pa.Field(**_ID)
    family: Series[str] = pa.Field(**_ID)
    dimension: Series[str] = pa.Field(**_ID)
    centered_mean: Series[float] = pa.Field(nullable=True)
    n: Series[float] | None = pa.Field(nullable=True, ge=0)

    class Config:
        coerce = True
        strict = False
        unique = ["model", "family", "dimension"]


# --------------------------------------------------------------------------- file tables
# The tables the readers of vp_stats.io return: each reader reads its file, puts the table
# through its contract with check() (types, ranges, keys: errors name file, row and field) and
# then checks what a contract cannot say (transitivity, key coverage, cross-file agreement).

_VARIANTS = list(schema.VARIANTS)


class SvoAnswers(pa.DataFrameModel):
    """SVO slider answers of people: one row per participant and item.

    ``item`` is the canonical SVO item id (1-6 primary, 7-15 secondary), ``rating``
    the chosen option (1-9, from an option number, a letter A-I or a payoff pair); a file
    that gives the chosen payoffs has ``payoff_self, payoff_other`` (numbers) instead.
    """

    participant: Series[str] = pa.Field(**_ID)
    item: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 15})
    rating: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 9})
    payoff_self: Series[float] | None = pa.Field()
    payoff_other: Series[float] | None = pa.Field()

    class Config:
        coerce = True
        strict = False
        unique = ["participant", "item"]


class AnswerSheet(pa.DataFrameModel):
    """Questionnaire answers of people in long form (PVQ-21, BFI-10): participant, item, rating.

    ``item`` is the item's number or label (``7``, ``"item7"``, an ESS variable name) and
    ``rating`` the answer (missing allowed); the instrument's scorer checks items and the
    answer scale (:func:`vp_stats.instruments.pvq.answers_matrix`).
    """

    participant: Series[str] = pa.Field(**_ID)
    item: Series[str] = pa.Field(**_ID)
    rating: Series[float] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = False
        unique = ["participant", "item"]


class PersonaAnswers(pa.DataFrameModel):
    """An LLM's answers under personas: one row per persona, item (and variant).

    ``rating`` is 1-6 or missing (a failed or unparsed answer, counted downstream).
    """

    persona_id: Series[str] = pa.Field(**_ID)
    portrait_id: Series[int] = pa.Field()  # integer ids (questionnaire runs number their items)
    option_id: Series[int] = pa.Field()
    rating: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": schema.LIKERT_MIN, "max_value": schema.LIKERT_MAX}
    )

    class Config:
        coerce = True
        strict = False


def _ess_codes(codes: Iterable[int], meaning: str) -> pa.Check:
    return pa.Check.isin(list(codes), error=f"is not a valid code ({meaning})")


def _ess_variable(codes: Iterable[int], meaning: str) -> pa.Column:
    """An optional, nullable ESS variable whose present values are ``codes``."""
    return pa.Column(float, _ess_codes(codes, meaning), nullable=True, required=False)


_ESS_MISSING = [77, 88, 99]
_HVS_CODES = _ess_codes(range(1, 10), "1-6 answers, 7 refusal, 8 don't know, 9 no answer")

#: ESS microdata as read (lower-case ESS variable names, raw codebook codes), before recoding:
#: one row per respondent, ``participant`` the reader's key (``cntry_essround_idno``), unique.
#: Every variable but ``idno`` and ``participant`` is optional (absent in some rounds) and
#: may be empty; a present value must be one of the variable's codes (missing codes included:
#: :mod:`vp_stats.io.ess` recodes them). The 21 HVS items under both names (round 11 adds ``a``).
EssFile = pa.DataFrameSchema(
    {
        "idno": pa.Column(str, pa.Check.str_length(min_value=1)),
        **{
            v: pa.Column(float, _HVS_CODES, nullable=True, required=False)
            for base in schema.ESS_HVS_VARIABLES
            for v in (base, base + "a")
        },
        "gndr": _ess_variable([1, 2, 7, 8, 9], "1 male, 2 female, 7/8/9 missing"),
        "agea": _ess_variable(
            [*range(131), 777, 888, 999], "age 0-130 in whole years, 777/888/999 missing"
        ),
        **{
            w: pa.Column(float, pa.Check.ge(0), nullable=True, required=False)
            for w in ("anweight", "pspwght", "pweight", "dweight")
        },
        "lrscale": _ess_variable(
            [*range(11), *_ESS_MISSING], "0 left ... 10 right, 77/88/99 missing"
        ),
        "eisced": _ess_variable(
            [*range(8), 55, *_ESS_MISSING],
            "ES-ISCED 1-7, 0 not harmonisable, 55 other, 77/88/99 missing",
        ),
        "rlgblg": _ess_variable([1, 2, 7, 8, 9], "1 yes, 2 no, 7/8/9 missing"),
        "rlgdnm": _ess_variable(
            [*range(1, 9), 66, *_ESS_MISSING],
            "1-8 denominations, 66 not applicable, 77/88/99 missing",
        ),
        "hinctnta": _ess_variable([*range(1, 11), *_ESS_MISSING], "deciles 1-10, 77/88/99 missing"),
        "participant": pa.Column(str, pa.Check.str_length(min_value=1)),
    },
    coerce=True,
    unique=["participant"],
    name="EssFile",
)


class EssScores(pa.DataFrameModel):
    """ESS microdata after recoding and PVQ-21 scoring: one row per participant and dimension.

    ``weight`` is the survey weight (``weight_variable`` says which ESS variable), the persona
    columns the recoded demographics (missing where the ESS answer is), ``score`` the
    MRAT-centred value (missing when ``status`` is not ``ok``).
    """

    participant: Series[str] = pa.Field(**_ID)
    weight: Series[float] = pa.Field(ge=0)
    weight_variable: Series[str] = pa.Field(**_ID)
    family: Series[str] = pa.Field(isin=["pvq", "higher_pvq"])
    dimension: Series[str] = pa.Field(isin=[*schema.PVQ_VALUES, *schema.HIGHER_ORDER_VALUES])
    score: Series[float] = pa.Field(nullable=True)
    n_items: Series[int] = pa.Field(ge=0)
    status: Series[str] = pa.Field(isin=["ok", "too_few_items", "too_few_total"])

    class Config:
        coerce = True
        strict = False
        unique = ["participant", "family", "dimension"]


class CompassWeights(pa.DataFrameModel):
    """Value Compass weights: one finite weight per dimension, and where the weights come from.

    ``dimension`` is a dimension of :data:`vp_stats.schema.FAMILIES`, each at most once.
    """

    dimension: Series[str] = pa.Field(isin=[d for ds in schema.FAMILIES.values() for d in ds])
    weight: Series[float] = pa.Field()
    weights_source: Series[str] = pa.Field(**_ID)

    class Config:
        coerce = True
        strict = False
        unique = ["dimension"]


class RawOutputs(pa.DataFrameModel):
    """Parsed raw LLM outputs: one row per model, Value Portrait item and prompt variant.

    ``rating`` is the parsed answer (1-6, missing unless ``parse_ok``); ``status`` is
    ``parsed``, ``unparseable`` or ``call_failed``.
    """

    model: Series[str] = pa.Field(**_ID)
    portrait_id: Series[int] = pa.Field(in_range={"min_value": 1000, "max_value": 4999})
    option_id: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 5})
    variant: Series[str] = pa.Field(isin=_VARIANTS)
    rating: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": schema.LIKERT_MIN, "max_value": schema.LIKERT_MAX}
    )
    parse_ok: Series[bool] = pa.Field()
    status: Series[str] = pa.Field(isin=["parsed", "unparseable", "call_failed"])

    class Config:
        coerce = True
        strict = False
        unique = ["model", "portrait_id", "option_id", "variant"]


class AveragedOutputs(pa.DataFrameModel):
    """Per-item means of an LLM's answers over the prompt variants: one row per model and item.

    ``numeric_response`` is the mean over the variants that parsed (1-6, missing if none did);
    ``n_parsed`` and ``n_failed`` count the variants.
    """

    model: Series[str] = pa.Field(**_ID)
    portrait_id: Series[int] = pa.Field(in_range={"min_value": 1000, "max_value": 4999})
    option_id: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 5})
    numeric_response: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": schema.LIKERT_MIN, "max_value": schema.LIKERT_MAX}
    )
    n_parsed: Series[int] = pa.Field(ge=0)
    n_failed: Series[int] = pa.Field(ge=0)

    class Config:
        coerce = True
        strict = False
        unique = ["model", "portrait_id", "option_id"]


# --------------------------------------------------------------------------- checking


def _fmt(v) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return repr(int(v)) if abs(v) < 1e15 else repr(v)
    return repr(v)


def _problem(check: str, value, column: str, key: Sequence[str] | None) -> str:
    """A user-facing sentence for one pandera failure case."""
    if check.startswith("coerce_dtype"):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "empty cell (a value is required)"
        if "int" in check:
            return f"{_fmt(value)} is not an integer"
        kind = "a number" if "float" in check else "text"
        return f"cannot read {_fmt(value)} as {kind}"
    if check.startswith("is "):  # a contract's own wording, e.g. "is not a valid code (...)"
        return f"{_fmt(value)} {check}"
    if check == "not_nullable":
        return "empty cell (a value is required)"
    if check.startswith("str_length"):
        return "empty id"
    nums = re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", check)
    if check.startswith("in_range") and len(nums) == 2:
        lo, hi = (n[:-2] if n.endswith(".0") else n for n in nums)
        if column == "rating":
            return f"{_fmt(value)} is outside the rating scale {lo}-{hi}"
        return f"{_fmt(value)} is outside [{lo}, {hi}]"
    if check.startswith("greater_than") and nums:
        return f"{_fmt(value)} is below {nums[0]}"
    if check.startswith("less_than") and nums:
        return f"{_fmt(value)} is above {nums[0]}"
    if check in ("multiple_fields_uniqueness", "field_uniqueness"):
        return f"duplicate {'/'.join(key or [column])}: the same key appears in an earlier row"
    if check.startswith("isin"):
        return f"{_fmt(value)} is not one of the allowed values"
    if check.startswith("finite"):
        return f"{_fmt(value)} is not a finite number"
    return f"{_fmt(value)} fails {check}"


def _row_label(df: pd.DataFrame, at: int, from_file: bool):
    """Row ``at`` (0-based position) as errors name it: 1-based for files, else the index label."""
    lab = df.index[at]
    if from_file:  # a file's rows keep their position as label, also after rows were dropped
        return int(lab) + 1 if isinstance(lab, (int, np.integer)) else at + 1
    return lab.item() if isinstance(lab, np.generic) else lab


def _duplicate_problem(df: pd.DataFrame, at: int, key: Sequence[str], from_file: bool) -> str:
    """The sentence for row ``at`` repeating the key of an earlier row, naming that row."""
    row = df.iloc[at]
    vals = {k: row[k].item() if isinstance(row[k], np.generic) else row[k] for k in key}
    same = np.ones(len(df), dtype=bool)
    for k in key:  # as the contract compares them: numbers as numbers ("1" == "1.0"), else text
        num = pd.to_numeric(df[k], errors="coerce")
        norm = num.astype(object).where(num.notna(), df[k].astype(str))
        same &= (norm == norm.iloc[at]).to_numpy()
    first = _row_label(df, int(np.flatnonzero(same)[0]), from_file)
    if list(key) == ["participant", "family", "dimension"]:
        return (
            f"participant {vals['participant']} has more than one {vals['family']} score for "
            f"{vals['dimension']} (first in row {first})"
        )
    if list(key) == ["participant", "item"]:
        return (
            f"participant {vals['participant']} rated item {vals['item']} more than once "
            f"(first answer in row {first})"
        )
    return (
        "duplicate " + ", ".join(f"{k} {v!r}" for k, v in vals.items()) + f" (first in row {first})"
    )


def _finite(s: pd.Series) -> pd.Series:
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(~np.isinf(x), index=s.index)


def _raise_first(
    exc: pa.errors.SchemaErrors,
    df: pd.DataFrame,
    source: str,
    from_file: bool,
    key: Sequence[str] | None,
) -> None:
    fc = exc.failure_cases.copy()
    missing = fc[fc["check"].astype(str) == "column_in_dataframe"]
    if len(missing):
        col = str(missing.iloc[0]["failure_case"])
        raise TableError(
            source,
            None,
            col,
            f"missing column {col!r} (columns are: {', '.join(map(str, df.columns))})",
            from_file=from_file,
        )
    rows = fc[fc["index"].notna()].copy()
    if rows.empty:  # a table-level failure pandera could not place
        first = fc.iloc[0]
        raise TableError(
            source,
            None,
            first.get("column"),
            _problem(str(first["check"]), first["failure_case"], str(first.get("column")), key),
            from_file=from_file,
        )
    # a column that failed to convert was checked unconverted ("6" is not in [1, ..., 9]):
    # its conversion failures are the errors, the rest of its failures are artefacts
    is_coerce = rows["check"].astype(str).str.startswith("coerce_dtype")
    unconverted = set(rows.loc[is_coerce, "column"])
    rows = rows[is_coerce | ~rows["column"].isin(unconverted)].copy()
    pos = {lab: i for i, lab in enumerate(df.index)}
    rows["_pos"] = rows["index"].map(pos)
    colpos = {c: i for i, c in enumerate(df.columns)}
    rows["_col"] = rows["column"].map(colpos).fillna(len(colpos))
    # a failed conversion is the cause of a failed dtype check on the same cell: report it
    rows["_kind"] = (~rows["check"].astype(str).str.startswith("coerce_dtype")).astype(int)
    first = rows.sort_values(["_pos", "_col", "_kind"], kind="stable").iloc[0]
    at = int(first["_pos"])
    row = _row_label(df, at, from_file)
    col = str(first["column"])
    check_name = str(first["check"])
    if check_name in ("multiple_fields_uniqueness", "field_uniqueness") and key:
        problem = _duplicate_problem(df, at, key, from_file)
    else:
        problem = _problem(check_name, first["failure_case"], col, key)
    err = TableError(source, row, col, problem, from_file=from_file)
    err.check = check_name  # which rule the cell broke, for a reader that words it further
    raise err


def check(
    df: pd.DataFrame,
    contract: type[pa.DataFrameModel] | pa.DataFrameSchema,
    *,
    source: str = "table",
    from_file: bool = False,
    extra_checks: Mapping[str, Sequence[pa.Check]] | None = None,
) -> pd.DataFrame:
    """Validate ``df`` against a contract; the first offending cell raises :class:`TableError`.

    Parameters
    ----------
    df : DataFrame
        The table. For a table read from a file, its index must be the default
        RangeIndex (row ``i`` of the data is line ``i + 2`` of the file).
    contract : DataFrameModel class or DataFrameSchema
    source : str
        The file name (or the table's name) that errors mention.
    from_file : bool
        Rows are numbered 1.. with their file line; otherwise by index label.
    extra_checks : mapping, optional
        More checks per column (e.g. the rating scale), added to the contract's own.

    Returns
    -------
    DataFrame
        The validated table with the contract's dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"participant": ["a", "a"], "family": "bfi",
    ...                   "dimension": "Openness", "score": [3.0, 4.0]})
    >>> try:
    ...     check(s, Scores, source="scores.csv", from_file=True)
    ... except TableError as exc:
    ...     print(exc)
    scores.csv: row 2 (line 3), field 'participant': participant a has more than one bfi score ...
    """
    if df.shape[1] == 0:
        raise TableError(
            source, None, None, "the table has no columns (is the file empty?)", from_file=from_file
        )
    if len(df) == 0:
        raise TableError(
            source, None, None, "the table has a header but no data rows", from_file=from_file
        )
    schema_ = copy.copy(contract.to_schema() if isinstance(contract, type) else contract)
    schema_.report_duplicates = "exclude_first"  # name the repeated row, not the first one
    for c, col in schema_.columns.items():  # coercing 2.5 to an integer would truncate it
        if c in df.columns and str(col.dtype).startswith("int"):
            x = pd.to_numeric(df[c], errors="coerce")
            frac = (x.notna() & (x != x.round())).to_numpy()
            if frac.any():
                at = int(np.flatnonzero(frac)[0])
                raise TableError(
                    source,
                    _row_label(df, at, from_file),
                    c,
                    f"{_fmt(df[c].iloc[at])} is not an integer",
                    from_file=from_file,
                )
    key = schema_.unique if isinstance(schema_.unique, list) else None
    finite = [
        c
        for c, col in schema_.columns.items()
        if str(col.dtype).startswith(("float", "int")) and c in df.columns
    ]
    updates = {
        c: [*schema_.columns[c].checks, pa.Check(_finite, name="finite", error="finite")]
        for c in finite
    }
    for c, chks in (extra_checks or {}).items():
        updates[c] = [*updates.get(c, schema_.columns[c].checks), *chks]
    if updates:
        schema_ = schema_.update_columns({c: {"checks": v} for c, v in updates.items()})
    try:
        return schema_.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        _raise_first(exc, df, source, from_file, key)
    raise AssertionError("unreachable")  # pragma: no cover


def _rename(
    data: pd.DataFrame, names: Mapping[str, str], what: str, source: str, from_file: bool
) -> pd.DataFrame:
    """Rename the user's column names to the contract's (pingouin-style column parameters)."""
    ren = {user: canon for canon, user in names.items() if user is not None and user != canon}
    for user, canon in ren.items():
        if user not in data.columns:
            raise TableError(
                source,
                None,
                user,
                f"{what}: no column {user!r} (columns are: {', '.join(map(str, data.columns))})",
                from_file=from_file,
            )
        if canon in data.columns:
            raise TableError(
                source,
                None,
                canon,
                f"{what}: both {user!r} and {canon!r} present; rename one",
                from_file=from_file,
            )
    return data.rename(columns=ren)


def _known_check(df: pd.DataFrame, column: str, allowed, source, from_file, what: str) -> None:
    bad = ~df[column].isin(list(allowed))
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        row = _row_label(df, at, from_file)
        shown = ", ".join(map(str, list(allowed)[:20]))
        raise TableError(
            source,
            row,
            column,
            f"unknown {what} {df[column].iloc[at]!r} (known: {shown})",
            from_file=from_file,
        )


def ratings_table(
    data: pd.DataFrame,
    *,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    group: str | None = "group",
    scale: Scale | str | Sequence[float] | None = None,
    source: str = "ratings",
    from_file: bool = False,
) -> CheckedRatings:
    """Validate ratings against the :class:`Ratings` contract and return them canonical.

    Parameters
    ----------
    data : DataFrame
        One row per participant and item. Value Portrait tables with
        ``portrait_id, option_id`` and no item column get ``item`` derived.
    participant, item, rating, group : str
        The user's column names (``group`` is optional).
    scale : Scale, "LOW-HIGH" or (low, high), optional
        Ratings outside it are errors; default: inferred from the data (min..max),
        reported as the result's ``scale``.
    source : str
        File name (or table name) for errors.
    from_file : bool
        Number rows as file lines.

    Returns
    -------
    CheckedRatings
        ``table``: ``participant, item, rating`` (float) and ``group``, ``portrait_id``,
        ``option_id`` when present; ``scale``: the :class:`Scale` given or inferred.

    Examples
    --------
    >>> r = pd.DataFrame({"rater": ["a", "b", "c"], "question": "q7", "answer": [1, 3, 4]})
    >>> out = ratings_table(r, participant="rater", item="question", rating="answer")
    >>> out.table.columns.tolist(), str(out.scale), out.scale.inferred
    (['participant', 'item', 'rating'], '1-4', True)
    """
    df = _rename(
        data,
        {
            "participant": participant,
            "item": item,
            "rating": rating,
            "group": group if group in data.columns else None,
        },
        "ratings",
        source,
        from_file,
    )
    if "item" not in df.columns:
        df = _derive_items(df, source, from_file)
    sc = parse_scale(scale)
    extra = {}
    if sc is not None:
        extra["rating"] = [pa.Check.in_range(sc.low, sc.high)]
    if "group" in df.columns:
        df = df.assign(group=df["group"].astype(object).where(df["group"].notna(), None))
        df["group"] = df["group"].map(
            lambda g: (
                None
                if g is None
                else (str(int(g)) if isinstance(g, float) and g.is_integer() else str(g))
            )
        )
    out = check(df, Ratings, source=source, from_file=from_file, extra_checks=extra)
    if "group" in out.columns:  # keep Value Portrait's integer groups as integers
        as_int = pd.to_numeric(out["group"], errors="coerce")
        if as_int.notna().all() and (as_int == as_int.round()).all():
            out["group"] = as_int.astype("int64")
    if sc is None:
        bad = implausible_rating(out["rating"])
        if bad is not None:
            raise TableError(
                source,
                _row_label(out, bad[0], from_file),
                rating,
                implausible_scale_problem(bad[1], bad[2]),
                from_file=from_file,
            )
        sc = infer_scale(out["rating"])
    cols = [
        c
        for c in ("group", "participant", "item", "portrait_id", "option_id", "rating")
        if c in out.columns
    ]
    return CheckedRatings(out[cols], {"scale": str(sc)}, scale=sc)


def _wide_scores(
    df: pd.DataFrame, dims: Mapping[str, Sequence[str]], source, from_file
) -> pd.DataFrame:
    family_of = {d: f for f, ds in dims.items() for d in ds}
    cols = [c for c in df.columns if c != "participant"]
    unknown = [c for c in cols if c not in family_of]
    if unknown:
        raise TableError(
            source,
            None,
            unknown[0],
            f"unknown column {unknown[0]!r}: a wide score table holds 'participant' and one column "
            "per "
            f"known dimension ({', '.join(family_of)}); a long one has "
            "participant,family,dimension,score",
            from_file=from_file,
        )
    if not cols:
        raise TableError(source, None, None, "no dimension columns", from_file=from_file)
    wide_schema = pa.DataFrameSchema(
        {
            "participant": pa.Column(str, pa.Check.str_length(min_value=1)),
            **{c: pa.Column(float, pa.Check(_finite, name="finite")) for c in cols},
        },
        coerce=True,
        unique=["participant"],
        report_duplicates="exclude_first",
    )
    wide = check(df, wide_schema, source=source, from_file=from_file)
    long = wide.melt(
        id_vars="participant", value_vars=cols, var_name="dimension", value_name="score"
    )
    long.insert(1, "family", long["dimension"].map(family_of))
    return long


def scores_table(
    data: pd.DataFrame,
    *,
    participant: str = "participant",
    family: str = "family",
    dimension: str = "dimension",
    score: str = "score",
    dimensions: Mapping[str, Sequence[str]] | None = None,
    source: str = "scores",
    from_file: bool = False,
) -> pd.DataFrame:
    """Validate dimension scores (long or wide) against :class:`Scores`; return them long.

    Parameters
    ----------
    data : DataFrame
        Long (``participant, family, dimension, score``) or wide (``participant``
        plus one column per known dimension, e.g. ``Power``, ``Openness``; the
        family follows from the dimension).
    dimensions : mapping family -> dimensions, optional
        The families and dimensions allowed; default :data:`vp_stats.schema.FAMILIES`.
    source, from_file :
        As :func:`ratings_table`.

    Returns
    -------
    DataFrame
        ``participant, family, dimension, score``; each family present is complete (every
        participant scored on each of its dimensions).

    Examples
    --------
    >>> w = pd.DataFrame({"participant": ["a", "b"], "Extraversion": [3.5, 2.0],
    ...     "Agreeableness": [4.0, 3.0], "Conscientiousness": [2.5, 4.5],
    ...     "Neuroticism": [3.0, 1.5], "Openness": [3.5, 4.0]})
    >>> long = scores_table(w)
    >>> long.family.unique().tolist(), len(long)
    (['bfi'], 10)
    """
    dims = dict(dimensions) if dimensions is not None else dict(schema.FAMILIES)
    df = _rename(
        data,
        {
            "participant": participant,
            "family": family if family in data.columns else None,
            "dimension": dimension if dimension in data.columns else None,
            "score": score if score in data.columns else None,
        },
        "scores",
        source,
        from_file,
    )
    if {"family", "dimension", "score"} <= set(df.columns):
        out = check(df, Scores, source=source, from_file=from_file)
        _known_check(out, "family", dims, source, from_file, "family")
        ok = [d in dims.get(f, ()) for f, d in zip(out["family"], out["dimension"], strict=True)]
        bad = ~np.asarray(ok)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            row = _row_label(out, at, from_file)
            f = out["family"].iloc[at]
            raise TableError(
                source,
                row,
                "dimension",
                f"unknown dimension {out['dimension'].iloc[at]!r} for family {f!r} (known: "
                f"{', '.join(dims[f])})",
                from_file=from_file,
            )
        out = out[["participant", "family", "dimension", "score"]]
    elif {"family", "dimension", "score"} & set(df.columns):
        missing = sorted({"family", "dimension", "score"} - set(df.columns))
        raise TableError(
            source,
            None,
            missing[0],
            f"missing column {missing[0]!r}: a long score table has "
            "participant,family,dimension,score",
            from_file=from_file,
        )
    else:
        out = _wide_scores(df, dims, source, from_file)
    fams = [f for f in dims if f in set(out["family"])]
    # each family present must be complete: every participant has every one of its dimensions
    for f in fams:
        sub = out[out["family"] == f]
        have = sub.groupby("participant", sort=False)["dimension"].nunique()
        short = have[have < len(dims[f])]
        if len(short):
            p = short.index[0]
            lacking = sorted(set(dims[f]) - set(sub.loc[sub["participant"] == p, "dimension"]))
            raise TableError(
                source,
                None,
                "dimension",
                f"participant {p!r} has no {f} score for {', '.join(lacking)} (a family present "
                "must be "
                f"complete; {len(short)} participant(s) are incomplete)",
                from_file=from_file,
            )
    return out.reset_index(drop=True)


#: How :func:`derive_higher_order` forms the higher-order values (checked on the released data).
HIGHER_ORDER_RULE = (
    "higher-order value = mean of its basic values weighted by their PVQ-21 item counts "
    "(the mean of the constituent items' answers; Hedonism belongs to none): "
    "Openness_to_Change = (2 SD + 2 ST)/4, Self_Enhancement = (2 AC + 2 PO)/4, "
    "Conservation = (2 SE + 2 CO + 2 TR)/6, Self_Transcendence = (2 BE + 3 UN)/5; "
    "reproduces the released value.json to 4e-16"
)


def derive_higher_order(scores: pd.DataFrame) -> pd.DataFrame:
    """Add the four higher-order values (family ``higher_pvq``) derived from the basic values.

    Rule: :data:`HIGHER_ORDER_RULE`. A table that already holds ``higher_pvq``
    scores is an error (they are never overwritten silently).

    Examples
    --------
    >>> from vp_stats.io import datasets
    >>> released = datasets.load_participant_scores()
    >>> derived = derive_higher_order(released[released.family != "higher_pvq"])
    >>> a = derived[derived.family == "higher_pvq"].set_index(["participant", "dimension"]).score
    >>> b = released[released.family == "higher_pvq"].set_index(["participant", "dimension"]).score
    >>> bool((a - b.reindex(a.index)).abs().max() < 1e-12)
    True
    """
    if (scores["family"] == "higher_pvq").any():
        raise ValueError(
            "the scores already hold higher-order (higher_pvq) values; derive them only when absent"
        )
    pvq = scores[scores["family"] == "pvq"]
    if pvq.empty:
        raise ValueError("deriving higher-order values needs the 10 basic values (family pvq)")
    wide = to_wide(pvq, index="participant", columns="dimension", values="score")
    missing = [v for v in schema.PVQ_VALUES if v not in wide.columns]
    if missing:
        raise ValueError(f"deriving higher-order values needs every basic value; missing {missing}")
    rows = []
    for h, members in schema.HIGHER_ORDER_MAP.items():
        w = np.array([len(schema.PVQ21_KEY[m]) for m in members], dtype=float)
        val = wide[list(members)].to_numpy(dtype=float) @ w / w.sum()
        rows.append(
            pd.DataFrame(
                {"participant": wide.index, "family": "higher_pvq", "dimension": h, "score": val}
            )
        )
    return pd.concat([scores, *rows], ignore_index=True)


def correlations_table(
    data: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    source: str = "correlations",
    from_file: bool = False,
) -> pd.DataFrame:
    """Validate an item x dimension correlation table against :class:`Correlations`.

    Accepts ``item`` or Value Portrait's ``portrait_id, option_id``; families and
    dimensions must be known (default :data:`vp_stats.schema.FAMILIES`).

    Examples
    --------
    >>> c = pd.DataFrame({"item": ["q1"], "family": "pvq", "dimension": "Power", "rho": [5.0]})
    >>> try:
    ...     correlations_table(c, source="corr.csv", from_file=True)
    ... except TableError as exc:
    ...     print(exc)
    corr.csv: row 1 (line 2), field 'rho': 5 is outside [-1, 1]
    """
    dims = dict(dimensions) if dimensions is not None else dict(schema.FAMILIES)
    df = _derive_items(data, source, from_file)
    out = check(df, Correlations, source=source, from_file=from_file)
    _known_check(out, "family", dims, source, from_file, "family")
    ok = np.asarray(
        [d in dims.get(f, ()) for f, d in zip(out["family"], out["dimension"], strict=True)]
    )
    if not ok.all():
        at = int(np.flatnonzero(~ok)[0])
        row = _row_label(out, at, from_file)
        raise TableError(
            source,
            row,
            "dimension",
            f"unknown dimension {out['dimension'].iloc[at]!r} for family "
            f"{out['family'].iloc[at]!r}",
            from_file=from_file,
        )
    if "selected" in out.columns:
        sel = out["selected"]
        if sel.dtype != bool:
            m = (
                sel.astype(str)
                .str.strip()
                .str.lower()
                .map({"true": True, "false": False, "1": True, "0": False})
            )
            if m.isna().any():
                at = int(np.flatnonzero(m.isna().to_numpy())[0])
                row = _row_label(out, at, from_file)
                raise TableError(
                    source,
                    row,
                    "selected",
                    f"expected True or False, got {sel.iloc[at]!r}",
                    from_file=from_file,
                )
            out["selected"] = m.astype(bool)
    return out


def answers_table(
    data: pd.DataFrame,
    *,
    model: str = "model",
    item: str = "item",
    rating: str = "rating",
    scale: Scale | str | Sequence[float] | None = VP_SCALE,
    source: str = "answers",
    from_file: bool = False,
) -> pd.DataFrame:
    """Validate LLM answers against :class:`Answers` (ratings inside ``scale`` or missing).

    Examples
    --------
    >>> a = pd.DataFrame({"model": "m", "portrait_id": [1001, 1001], "option_id": [1, 2],
    ...                   "rating": [5, None]})
    >>> answers_table(a).item.tolist()
    ['1001_1', '1001_2']
    """
    df = _rename(
        data, {"model": model, "item": item, "rating": rating}, "answers", source, from_file
    )
    if "item" not in df.columns:
        df = _derive_items(df, source, from_file)
    sc = parse_scale(scale)
    extra = (
        {"rating": [pa.Check.in_range(sc.low, sc.high, ignore_na=True)]} if sc is not None else None
    )
    return check(df, Answers, source=source, from_file=from_file, extra_checks=extra)


def profiles_table(
    data: pd.DataFrame, *, source: str = "profiles", from_file: bool = False
) -> pd.DataFrame:
    """Validate LLM value profiles against :class:`Profiles`.

    Examples
    --------
    >>> p = pd.DataFrame({"model": ["m"], "family": "pvq", "dimension": "Power",
    ...                   "centered_mean": [0.2]})
    >>> len(profiles_table(p))
    1
    """
    return check(data, Profiles, source=source, from_file=from_file)


# --------------------------------------------------------------------------- tidy -> wide


def to_wide(
    data: pd.DataFrame,
    index: str | Sequence[str],
    columns: str | Sequence[str],
    values: str,
    *,
    source: str = "table",
    column_order: Sequence | None = None,
    as_float: bool = True,
    name_columns: bool = False,
) -> pd.DataFrame:
    """Turn a tidy table wide: one row per ``index``, one column per ``columns`` value.

    The one tidy-to-wide converter of the package: a duplicated (index, columns)
    pair is an error naming it (never silently aggregated), missing cells are NaN.

    Numeric values become float; ``as_float=False`` keeps the values' dtype (as
    :meth:`DataFrame.pivot` gives it: e.g. integers or booleans, for callers that
    check raw answers cell by cell). The columns axis of a single ``columns`` key
    is unnamed; ``name_columns=True`` names it after ``columns`` (as
    :meth:`DataFrame.pivot` does). Rows and columns come sorted; pass
    ``column_order`` (or reindex) for another order.

    Examples
    --------
    >>> t = pd.DataFrame({"participant": ["a", "a", "b"], "item": ["x", "y", "x"],
    ...                   "rating": [1, 2, 3]})
    >>> to_wide(t, "participant", "item", "rating").to_dict()
    {'x': {'a': 1.0, 'b': 3.0}, 'y': {'a': 2.0, 'b': nan}}
    >>> w = to_wide(t[t.item == "x"], "participant", "item", "rating", as_float=False,
    ...             name_columns=True)
    >>> w.columns.name, w["x"].dtype
    ('item', dtype('int64'))
    """
    idx = [index] if isinstance(index, str) else list(index)
    cols = [columns] if isinstance(columns, str) else list(columns)
    absent = [c for c in (*idx, *cols, values) if c not in data.columns]
    if absent:
        raise TableError(source, None, absent[0], f"missing column {absent[0]!r}", from_file=False)
    dup = data.duplicated([*idx, *cols])
    if dup.any():
        at = int(np.flatnonzero(dup.to_numpy())[0])

        def py(v):  # numpy scalars as plain Python values, for a readable message
            return v.item() if isinstance(v, np.generic) else v

        key = ", ".join(f"{c}={py(data[c].iloc[at])!r}" for c in (*idx, *cols))
        raise TableError(
            source, py(data.index[at]), None, f"more than one {values!r} for {key}", from_file=False
        )
    wide = data.pivot(
        index=idx[0] if len(idx) == 1 else idx,
        columns=cols[0] if len(cols) == 1 else cols,
        values=values,
    )
    wide = wide.astype(float) if as_float and pd.api.types.is_numeric_dtype(data[values]) else wide
    if column_order is not None:
        wide = wide.reindex(columns=list(column_order))
    if not name_columns:
        wide.columns.name = None if len(cols) == 1 else wide.columns.names
    return wide


def participant_matrix(scores: pd.DataFrame, family: str) -> pd.DataFrame:
    """Wide participants x dimensions matrix of one family (columns in schema order).

    Examples
    --------
    >>> from vp_stats.io.datasets import load_participant_scores
    >>> participant_matrix(load_participant_scores(), "pvq").shape
    (569, 10)
    """
    sub = scores[scores["family"] == family]
    wide = to_wide(sub, "participant", "dimension", "score", source="scores", name_columns=True)
    return wide.reindex(columns=list(schema.FAMILIES[family]))


def require(
    data: pd.DataFrame,
    columns: Iterable[str],
    what: str = "table",
    *,
    numeric: Iterable[str] = (),
) -> pd.DataFrame:
    """The one column check of the statistics layer: an error for a missing or non-numeric column.

    Statistics functions take DataFrames with named columns (pingouin-style ``data=`` plus the
    column-name parameters); this checks them in one place instead of by hand in every function.

    Parameters
    ----------
    data : DataFrame
        The input table.
    columns : iterable of str
        Columns that must be present.
    what : str
        The table's name in the error (e.g. ``"ratings"``, ``"answers"``).
    numeric : iterable of str
        Columns that must also hold numbers (missing values allowed).

    Returns
    -------
    DataFrame
        ``data`` itself, so that ``require`` can stand in a pipe.

    Raises
    ------
    TableError
        Naming the table and the first missing (or non-numeric) column, with the columns it has.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"participant": ["a"], "item": ["q1"], "rating": ["x"]})
    >>> try:
    ...     require(t, ["participant", "item", "rating", "dimension"], "ratings")
    ... except TableError as exc:
    ...     print(exc)
    ratings: table, field 'dimension': missing column (columns are: participant, item, rating)
    >>> try:
    ...     require(t, ["rating"], "ratings", numeric=["rating"])
    ... except TableError as exc:
    ...     print(exc)
    ratings: table, field 'rating': the column holds non-numbers (first: 'x')
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame, got {type(data).__name__}")
    have = list(data.columns)
    for col in [*columns, *numeric]:
        if col not in data.columns:
            listed = ", ".join(map(str, have)) or "none"
            raise TableError(
                what, None, col, f"missing column (columns are: {listed})", from_file=False
            )
    for col in numeric:
        values = data[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            continue
        as_num = pd.to_numeric(values, errors="coerce")
        bad = as_num.isna() & values.notna()
        if bad.any():
            first = values[bad].iloc[0]
            raise TableError(
                what, None, col, f"the column holds non-numbers (first: {first!r})", from_file=False
            )
    return data


@dataclass(frozen=True)
class Result:
    """A table and the notes that belong to it, returned where a function has more to say.

    Side results never travel in ``DataFrame.attrs`` (concat, merge and ``to_csv`` drop them):
    a function that returns more than a table returns a subclass of this, in the manner of
    statsmodels' results objects. ``table`` is the tidy table, ``notes`` what describes it
    (rule, effect size, counts); :meth:`summary_frame` gives the table for printing or writing.

    When built, a result orders the ``family`` and ``dimension`` columns of its DataFrames (the
    ``table`` and any other table field) with :func:`vp_stats.schema.order_dimensions`, so every
    function that returns a result sorts in the circumplex order without doing it itself; a
    subclass's own ``__post_init__`` runs after that. Results of the file readers
    (:mod:`vp_stats.io`) keep their text as read: they are data, not results.

    Examples
    --------
    >>> import pandas as pd
    >>> r = Result(pd.DataFrame({"dimension": ["Power"], "d": [0.2]}), {"effect_size": "Cohen's d"})
    >>> r.summary_frame().columns.tolist(), r.notes["effect_size"]
    (['dimension', 'd'], "Cohen's d")
    """

    table: pd.DataFrame
    notes: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        _order_tables(self)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is not None:  # a subclass's own __post_init__: order the tables first

            def post_init(self, _own=own):
                _order_tables(self)
                _own(self)

            cls.__post_init__ = post_init

    def summary_frame(self) -> pd.DataFrame:
        """The result's table (a copy), the form to print or write."""
        return self.table.copy()


def _order_tables(result: Result) -> None:
    if type(result).__module__.startswith("vp_stats.io."):
        return
    for f in fields(result):
        value = getattr(result, f.name)
        if isinstance(value, pd.DataFrame) and schema.needs_order(value):
            object.__setattr__(result, f.name, schema.order_dimensions(value))


@dataclass(frozen=True)
class CheckedRatings(Result):
    """Ratings that passed the :class:`Ratings` contract, with the scale they were checked on.

    ``table`` is the canonical ratings table, ``scale`` the :class:`Scale` given or inferred
    from the data (``scale.inferred`` says which); returned by :func:`ratings_table` and
    :func:`vp_stats.io.tables.read_ratings`.

    Examples
    --------
    >>> r = ratings_table(pd.DataFrame({"participant": ["a", "b"], "item": "q", "rating": [2, 6]}))
    >>> str(r.scale), len(r.summary_frame())
    ('2-6', 2)
    """

    scale: Scale | None = None
