"""PVQ-21 / ESS Human Values Scale scoring from raw answers.

The 21-item Portrait Values Questionnaire (Schwartz 2003) is the Human Values
Scale of the European Social Survey (ESS). Each of Schwartz's ten basic values
is indexed by two items (three for Universalism); the keys are
:data:`vp_stats.schema.PVQ21_KEY`. Answers run from 1 = "not like me at all" to
6 = "very much like me" (the Value Portrait coding). The ESS codes the scale the
other way round (1 = very much like me ... 6 = not like me at all): pass
``ess_coding=True`` to reverse answers as ``7 - x`` before scoring.

Scores
------
* basic value *v*: mean of its answered items;
* MRAT centring (Schwartz's correction for individual differences in scale
  use): minus the person's mean over all answered items (of the 21);
* higher-order value *H* (as in the released Value Portrait scores): the mean
  over the answered items of its constituent basic values, minus the same
  person mean. Hedonism belongs to neither Openness to Change nor
  Self-Enhancement (:data:`vp_stats.schema.HIGHER_ORDER_MAP`), so
  Self_Transcendence pools the 5 Benevolence and Universalism items.

Because centring subtracts one constant per person, the item-weighted sum of a
complete participant's ten centred basic scores is exactly zero, and each
higher-order score is the item-weighted mean of its constituents' centred
scores.

Missing answers
---------------
A missing answer (NaN, an absent row of a long table, or one of the codes given
in ``missing_codes``) is left out of every mean. A value with fewer than
``min_items`` answered items scores NaN, as does every value of a participant
with fewer than ``min_total`` answered items overall; the ``status`` column says
why and a :class:`UserWarning` counts them. ``require_complete=True`` turns any
missing answer into an error instead.

References
----------
Schwartz, S. H. (2003). A proposal for measuring value orientations across
nations. ESS Questionnaire Development Report, ch. 7.
Schwartz, S. H. Computing scores for the 10 human values (ESS EduNet /
ESS documentation): mean of the items, then centring on the person's mean
over all 21 items (MRAT).
Han, Choi, Song, Lee, Jo (2025). Value Portrait. ACL 2025, arXiv 2505.01015
(higher-order scores as released in ``value.json``).

Examples
--------
>>> import pandas as pd
>>> from vp_stats.instruments import pvq
>>> wide = pd.DataFrame([["p1"] + [3] * 20 + [6]],
...                     columns=["participant"] + list(range(1, 22)))
>>> out = pvq.score_pvq21(wide)
>>> out.query("dimension == 'Hedonism'")[["dimension", "score", "n_items"]]
  dimension     score  n_items
2  Hedonism  1.357143        2
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables

__all__ = ["score_pvq21", "answers_matrix", "PVQ_ITEM_WEIGHTS"]

#: Number of PVQ-21 items per basic value (the weights of the item-weighted
#: combinations: higher-order values, the centring identity).
PVQ_ITEM_WEIGHTS = {v: len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES}

_OUT_COLUMNS = ["participant", "family", "dimension", "score", "n_items", "status"]


# --------------------------------------------------------------------------- input parsing


def _py(x):
    """A numpy scalar as the plain Python value (for readable error messages)."""
    return x.item() if isinstance(x, np.generic) else x


def _label_to_item(label, n_items: int, aliases: dict[str, int]) -> int | None:
    """Map an item label (int, '7', 'item7', 'q7' or an alias name) to 1..n_items, else None."""
    if isinstance(label, (bool, np.bool_)):
        return None
    if isinstance(label, (int, np.integer)):
        return int(label) if 1 <= int(label) <= n_items else None
    if isinstance(label, (float, np.floating)):
        if np.isfinite(label) and float(label).is_integer() and 1 <= int(label) <= n_items:
            return int(label)
        return None
    if isinstance(label, str):
        s = label.strip().lower()
        if s in aliases:
            return aliases[s]
        for prefix in ("item", "pvq", "bfi", "q", "i"):
            if s.startswith(prefix) and s[len(prefix) :].lstrip("_").isdigit():
                s = s[len(prefix) :].lstrip("_")
                break
        if s.isdigit() and 1 <= int(s) <= n_items:
            return int(s)
    return None


def answers_matrix(
    answers: pd.DataFrame,
    *,
    n_items: int,
    lo: int,
    hi: int,
    instrument: str,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    aliases: Sequence[str] | None = None,
    missing_codes: Sequence[float] = (),
) -> pd.DataFrame:
    """Validate raw questionnaire answers and return a participants x items float matrix.

    Accepts a tidy long table (``participant``, ``item``, ``rating``)
    or a wide one (``participant`` plus exactly ``n_items`` item columns
    named ``1..n``, ``"1".."n"``, ``item1`` ... or one of ``aliases``, e.g. the
    ESS variable names). Missing answers become NaN; anything else outside the
    integers ``lo..hi`` raises :class:`ValueError` naming participant, item and
    value.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"participant": ["a", "a"], "item": [1, 2], "rating": [5, 2]})
    >>> answers_matrix(long, n_items=2, lo=1, hi=5, instrument="demo").to_numpy().tolist()
    [[5.0, 2.0]]
    """
    if not isinstance(answers, pd.DataFrame):
        raise TypeError(
            f"{instrument}: answers must be a pandas DataFrame, got {type(answers).__name__}"
        )
    alias_map = {str(a).lower(): i + 1 for i, a in enumerate(aliases or ())}
    if participant not in answers.columns:
        raise ValueError(
            f"{instrument}: answers have no participant column {participant!r} "
            f"(columns: {list(answers.columns)}); pass participant="
        )
    if answers[participant].isna().any():
        row = answers.index[answers[participant].isna()][0]
        raise ValueError(f"{instrument}: row {_py(row)!r} has a missing participant id")
    long = item in answers.columns and rating in answers.columns
    if long:
        extra = set(answers.columns) - {participant, item, rating}
        if extra:
            raise ValueError(
                f"{instrument}: long answer table has unexpected columns "
                f"{sorted(map(str, extra))}; "
                f"expected only {participant!r}, {item!r}, {rating!r}"
            )
        items = [_label_to_item(x, n_items, alias_map) for x in answers[item]]
        bad = [i for i, it in enumerate(items) if it is None]
        if bad:
            row = answers.iloc[bad[0]]
            raise ValueError(
                f"{instrument}: unknown item {_py(row[item])!r} for participant "
                f"{_py(row[participant])!r} "
                f"(valid items are 1..{n_items})"
            )
        df = pd.DataFrame(
            {
                "participant": answers[participant].to_numpy(),
                "item": items,
                "rating": answers[rating].to_numpy(),
            }
        )
        dup = df.duplicated(["participant", "item"], keep=False)
        if dup.any():
            r = df.loc[dup].iloc[0]
            raise ValueError(
                f"{instrument}: duplicate answers for participant {_py(r['participant'])!r}, item "
                f"{int(r['item'])} "
                f"({int(dup.sum())} duplicated rows in total)"
            )
        order = pd.unique(df["participant"])
        wide = tables.to_wide(df, "participant", "item", "rating", source="answers", as_float=False)
        wide = wide.reindex(index=order, columns=range(1, n_items + 1))
    else:
        cols = [c for c in answers.columns if c != participant]
        mapped = {c: _label_to_item(c, n_items, alias_map) for c in cols}
        unknown = [c for c, it in mapped.items() if it is None]
        if unknown:
            raise ValueError(
                f"{instrument}: unknown item column(s) {unknown[:5]!r}; a wide table holds "
                f"{participant!r} and {n_items} item columns (1..{n_items}"
                + (", or the ESS variable names" if aliases else "")
                + f"); a long table needs columns {item!r} and {rating!r}"
            )
        seen: dict[int, object] = {}
        for c, it in mapped.items():
            if it in seen:
                raise ValueError(
                    f"{instrument}: duplicate item {it}: columns {seen[it]!r} and {c!r}"
                )
            seen[it] = c
        if len(cols) != n_items:
            missing = sorted(set(range(1, n_items + 1)) - set(seen))
            raise ValueError(
                f"{instrument}: wrong item count: {len(cols)} item columns, expected {n_items} "
                f"(missing items {missing}); record missing answers as NaN instead of dropping "
                "columns"
            )
        if answers[participant].duplicated().any():
            r = answers[participant][answers[participant].duplicated()].iloc[0]
            raise ValueError(
                f"{instrument}: duplicate rows for participant {_py(r)!r} in the wide table"
            )
        wide = answers.set_index(participant)[[seen[i] for i in range(1, n_items + 1)]]
        wide.columns = range(1, n_items + 1)
    wide.columns.name = "item"
    wide.index.name = "participant"

    # answers: numeric integers lo..hi, or missing
    codes = np.array(sorted({float(c) for c in missing_codes}), dtype=float)
    out = np.full(wide.shape, np.nan)
    for c, col in enumerate(wide.columns):
        ser = wide[col]
        if pd.api.types.is_numeric_dtype(ser) and not pd.api.types.is_bool_dtype(ser):
            x = ser.to_numpy(dtype=float, na_value=np.nan)
            ok = np.isnan(x) | np.isin(x, codes) | ((x == np.round(x)) & (x >= lo) & (x <= hi))
            bad_rows = np.flatnonzero(~ok)
            vals = ser.to_numpy(dtype=object)
            col_out = np.where(np.isin(x, codes), np.nan, x)
        else:  # object / bool columns: check cell by cell
            vals = ser.to_numpy(dtype=object)
            col_out = np.full(len(vals), np.nan)
            bad_rows = []
            for r, v in enumerate(vals):
                if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v)):
                    continue
                if isinstance(
                    v, str
                ):  # a CSV column with one bad cell is read as text: judge each cell
                    if not v.strip():
                        continue
                    try:
                        v = float(v)
                    except ValueError:
                        pass
                num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
                    v, (bool, np.bool_)
                )
                if num and float(v) in codes:
                    continue
                if not num or not float(v).is_integer() or not lo <= float(v) <= hi:
                    bad_rows.append(r)
                    break
                col_out[r] = float(v)
        if len(bad_rows):
            r = bad_rows[0]
            raise ValueError(
                f"{instrument}: participant {_py(wide.index[r])!r}, item {c + 1}: answer "
                f"{_py(vals[r])!r} is outside the integers {lo}..{hi}"
                + (f" (missing codes {codes.tolist()} are allowed)" if len(codes) else "")
            )
        out[:, c] = col_out
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)


def _check_complete(mat: pd.DataFrame, instrument: str) -> None:
    miss = mat.isna()
    if miss.any(axis=None):
        r = miss.any(axis=1).idxmax()
        items = [int(c) for c in mat.columns[miss.loc[r].to_numpy()]]
        raise ValueError(
            f"{instrument}: wrong item count for participant {_py(r)!r}: "
            f"{len(mat.columns) - len(items)} "
            f"answered items, expected {len(mat.columns)} (missing items {items}; "
            f"{int(miss.any(axis=1).sum())} participants incomplete)"
        )


def _warn_missing(out: pd.DataFrame, instrument: str) -> None:
    nan = out[out["score"].isna()]
    if len(nan):
        who = pd.unique(nan["participant"])
        warnings.warn(
            f"{instrument}: {len(nan)} scores are NaN for {len(who)} participant(s) "
            f"(e.g. {list(who[:5])}) because of missing answers; see the 'status' column",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- scoring


def score_pvq21(
    answers: pd.DataFrame,
    *,
    ess_coding: bool = False,
    centre: bool = True,
    min_items: int = 1,
    min_total: int = 1,
    require_complete: bool = False,
    missing_codes: Sequence[float] = (),
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    higher_order: bool = True,
) -> pd.DataFrame:
    """Score PVQ-21 (ESS Human Values Scale) answers into basic and higher-order values.

    Parameters
    ----------
    answers : pandas.DataFrame
        Long (``participant``, ``item`` 1..21, ``rating``) or wide (``participant``
        plus 21 item columns named 1..21 or with the ESS variable names of
        :data:`vp_stats.schema.ESS_HVS_VARIABLES`). Answers are integers 1..6.
    ess_coding : bool
        Answers use the ESS coding (1 = very much like me ... 6 = not like me at
        all) and are reversed as ``7 - x`` before scoring.
    centre : bool
        MRAT centring: subtract the person's mean over all answered items. With
        ``False`` the raw means (1..6 scale) are returned.
    min_items : int
        Minimum answered items for a basic value (and, summed over its
        constituents, a higher-order value) to be scored; otherwise NaN.
    min_total : int
        Minimum answered items of the 21 for the participant to be scored at all.
    require_complete : bool
        Raise :class:`ValueError` if any participant misses any item.
    missing_codes : sequence of numbers
        Answer codes meaning "missing" (e.g. ``(7, 8, 9)`` for refusal / don't
        know / no answer in ESS files). Checked before any reversal.
    participant, item, rating : str
        Column names of the input (the participant id, the item number, the answer).
    higher_order : bool
        Also return the four higher-order values (family ``higher_pvq``).

    Returns
    -------
    pandas.DataFrame
        Columns ``participant, family, dimension, score, n_items, status``; one
        row per participant and dimension, participants in input order and
        dimensions in :data:`vp_stats.schema.PVQ_VALUES` / ``HIGHER_ORDER_VALUES``
        order. ``n_items`` counts the answered items the score rests on;
        ``status`` is ``"ok"``, ``"too_few_items"`` or ``"too_few_total"``.

    Raises
    ------
    ValueError
        Answers outside 1..6, unknown or duplicate items, a wide table without
        exactly 21 item columns, missing participant ids, or (with
        ``require_complete``) incomplete participants.

    Notes
    -----
    Basic: ``s_v = mean(x_i, i in v) - mean(x_j, j = 1..21)``; higher-order:
    ``s_H = mean(x_i, i in any v of H) - mean(x_j, j = 1..21)`` (Schwartz 2003;
    higher-order definition checked against the released Value Portrait
    ``value.json``).

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"participant": "p1", "item": range(1, 22),
    ...                      "rating": [6, 1] + [3] * 19})
    >>> out = score_pvq21(long)  # person mean 64/21; Self_Direction (6 + 3)/2 - 64/21
    >>> dims = ["Self_Direction", "Power", "Openness_to_Change"]
    >>> out.set_index("dimension").loc[dims, "score"].round(4)
    dimension
    Self_Direction        1.4524
    Power                -1.0476
    Openness_to_Change    0.7024
    Name: score, dtype: float64
    """
    if min_items < 1 or min_total < 1:
        raise ValueError(f"min_items and min_total must be >= 1, got {min_items} and {min_total}")
    mat = answers_matrix(
        answers,
        n_items=schema.PVQ21_N_ITEMS,
        lo=schema.LIKERT_MIN,
        hi=schema.LIKERT_MAX,
        instrument="PVQ-21",
        participant=participant,
        item=item,
        rating=rating,
        aliases=schema.ESS_HVS_VARIABLES,
        missing_codes=missing_codes,
    )
    if require_complete:
        _check_complete(mat, "PVQ-21")
    x = mat.to_numpy()
    if ess_coding:
        x = (schema.LIKERT_MIN + schema.LIKERT_MAX) - x
    answered = ~np.isnan(x)
    x0 = np.where(answered, x, 0.0)
    n_total = answered.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        person_mean = x0.sum(axis=1) / n_total
    shift = person_mean if centre else np.zeros_like(person_mean)

    groups: list[tuple[str, str, tuple[int, ...]]] = [
        ("pvq", v, schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES
    ]
    if higher_order:
        groups += [
            (
                "higher_pvq",
                h,
                tuple(i for v in schema.HIGHER_ORDER_MAP[h] for i in schema.PVQ21_KEY[v]),
            )
            for h in schema.HIGHER_ORDER_VALUES
        ]
    n_resp, n_dim = x.shape[0], len(groups)
    score = np.empty((n_resp, n_dim))
    n_items = np.empty((n_resp, n_dim), dtype=int)
    status = np.empty((n_resp, n_dim), dtype=object)
    basic_ok = {}
    for k, (fam, dim, items) in enumerate(groups):
        idx = np.asarray(items) - 1
        cnt = answered[:, idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = x0[:, idx].sum(axis=1) / cnt
        if fam == "pvq":
            ok = cnt >= min_items
            basic_ok[dim] = ok
        else:  # a higher-order value needs every constituent scored
            ok = np.logical_and.reduce([basic_ok[v] for v in schema.HIGHER_ORDER_MAP[dim]])
        st = np.where(ok, "ok", "too_few_items").astype(object)
        st[n_total < min_total] = "too_few_total"
        good = st == "ok"
        score[:, k] = np.where(good, mean - shift, np.nan)
        n_items[:, k] = cnt
        status[:, k] = st
    out = pd.DataFrame(
        {
            "participant": np.repeat(mat.index.to_numpy(), n_dim),
            "family": np.tile([g[0] for g in groups], n_resp),
            "dimension": np.tile([g[1] for g in groups], n_resp),
            "score": score.ravel(),
            "n_items": n_items.ravel(),
            "status": status.ravel().astype(str),
        },
        columns=_OUT_COLUMNS,
    )
    _warn_missing(out, "PVQ-21")
    return out
