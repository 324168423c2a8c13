"""Per-item means of an LLM's answers over prompt variants, and failed answers per variant.

Statistics on the tidy table of parsed answers (one row per model x item x variant) that
:func:`vp_stats.io.averaging.read_raw_outputs` reads: :func:`average_ratings` gives the wide
table (an item's score is the mean over the variants whose answer parsed, failures counted and
never imputed, as upstream's ``lm_evaluation/response_average.py``), :func:`error_counts` the
failed answers per model and variant (the layout of upstream's error metadata).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vp_stats import schema

__all__ = ["average_ratings", "error_counts"]

_KEYS = ["model", "portrait_id", "option_id"]
_VARIANT_INDEX = {v: i for i, v in enumerate(schema.VARIANTS)}


def average_ratings(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per-item means over the parsed variants: the wide table.

    Parameters
    ----------
    tidy : pandas.DataFrame
        Columns ``model``, ``portrait_id``, ``option_id``, ``variant``,
        ``rating``, ``parse_ok`` (and optionally ``record_tagged``); one row per
        model x item x variant.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``portrait_id``, ``option_id``, one column per variant of
        :data:`vp_stats.schema.VARIANTS`, ``numeric_response`` (mean of the
        parsed ratings, summed in variant order as upstream's ``np.mean``),
        ``n_parsed``, ``n_failed``, and ``upstream_tagged`` (the first
        variant's record carries tags) when ``record_tagged`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> tidy = pd.DataFrame({"model": "m", "portrait_id": 1003, "option_id": 1,
    ...                      "variant": ["v1", "v2", "v3"], "rating": [4.0, None, 6.0],
    ...                      "parse_ok": [True, False, True]})
    >>> average_ratings(tidy)[["v1", "v2", "v3", "numeric_response", "n_parsed", "n_failed"]]
        v1  v2   v3  numeric_response  n_parsed  n_failed
    0  4.0 NaN  6.0               5.0         2         1
    """
    need = {"model", "portrait_id", "option_id", "variant", "rating", "parse_ok"}
    missing = need - set(tidy.columns)
    if missing:
        raise ValueError(f"tidy table lacks column(s) {sorted(missing)}")
    bad = ~tidy["variant"].isin(schema.VARIANTS)
    if bad.any():
        row = tidy.index[bad.to_numpy()][0]
        raise ValueError(
            f"row {row}: unknown variant {tidy.loc[row, 'variant']!r}; expected one of "
            f"{schema.VARIANTS}"
        )
    dup = tidy.duplicated(_KEYS + ["variant"])
    if dup.any():
        row = tidy.index[dup.to_numpy()][0]
        raise ValueError(
            f"row {row}: duplicate answer for {tidy.loc[row, _KEYS + ['variant']].to_dict()}"
        )
    ok = tidy["parse_ok"].to_numpy(dtype=bool)
    rating = tidy["rating"].to_numpy(dtype=np.float64)
    bad = ok & ~np.isin(rating, np.arange(schema.LIKERT_MIN, schema.LIKERT_MAX + 1))
    if bad.any():
        row = tidy.index[bad][0]
        raise ValueError(
            f"row {row}: parsed rating {float(rating[bad][0])!r} is not an integer 1-6"
        )
    rating = np.where(ok, rating, np.nan)

    keys = tidy[_KEYS]
    key_index = pd.MultiIndex.from_frame(keys)
    codes, uniques = key_index.factorize()
    n_items = len(uniques)
    vcode = tidy["variant"].map(_VARIANT_INDEX).to_numpy()
    mat = np.full((n_items, len(schema.VARIANTS)), np.nan)
    mat[codes, vcode] = rating
    n_parsed = np.bincount(codes, weights=ok, minlength=n_items).astype(np.int64)
    n_failed = np.bincount(codes, weights=~ok, minlength=n_items).astype(np.int64)
    total = np.nansum(mat, axis=1)  # adds 0.0 for NaN: same sum as upstream's list of parsed values
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_parsed > 0, total / np.maximum(n_parsed, 1), np.nan)

    out = uniques.set_names(_KEYS).to_frame(index=False)
    for j, v in enumerate(schema.VARIANTS):
        out[v] = mat[:, j]
    out["numeric_response"] = mean
    out["n_parsed"] = n_parsed
    out["n_failed"] = n_failed
    if "record_tagged" in tidy.columns:
        first = np.full(n_items, len(schema.VARIANTS))
        np.minimum.at(first, codes, vcode)
        is_first = vcode == first[codes]
        tagged = np.zeros(n_items, dtype=bool)
        tagged[codes[is_first]] = tidy["record_tagged"].to_numpy(dtype=bool)[is_first]
        out["upstream_tagged"] = tagged
    return out.sort_values(_KEYS, ignore_index=True)


def error_counts(tidy: pd.DataFrame) -> pd.DataFrame:
    """Failed answers per model and variant (call failures plus unparseable answers).

    Returns ``model``, ``variant``, ``n_errors`` for every model and every
    variant of :data:`vp_stats.schema.VARIANTS` (0 where none failed or the
    variant was not run): the same layout as :func:`load_error_metadata`.

    Examples
    --------
    >>> import pandas as pd
    >>> tidy = pd.DataFrame({"model": ["m", "m"], "variant": ["v1", "v2"],
    ...                      "parse_ok": [True, False]})
    >>> error_counts(tidy).query("n_errors > 0")
      model variant  n_errors
    2     m      v2         1
    """
    failed = tidy.loc[~tidy["parse_ok"].to_numpy(dtype=bool)]
    counts = failed.groupby(["model", "variant"]).size()
    idx = pd.MultiIndex.from_product(
        [sorted(tidy["model"].unique()), list(schema.VARIANTS)], names=["model", "variant"]
    )
    out = counts.reindex(idx, fill_value=0).rename("n_errors").reset_index()
    out["n_errors"] = out["n_errors"].astype(np.int64)
    return out
