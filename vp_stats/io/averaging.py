"""From raw LLM answers to per-item mean ratings (Value Portrait evaluation).

Each Value Portrait item (``portrait_id``, ``option_id``) is put to a model in
the prompt variants of :data:`vp_stats.schema.VARIANTS`; each answer is parsed
to 1..6 (:mod:`vp_stats.llm.parse`) and an item's score is the mean over the
variants whose answer parsed. Answers that failed (the API call failed, or the
answer is unreadable) are counted, never imputed.

Tables
------
*tidy* (one row per model x item x variant): ``model``, ``provider``,
``portrait_id``, ``option_id``, ``variant``, ``raw_text``, ``rating`` (float,
NaN unless parsed), ``parse_ok``, ``status``, ``error`` (None when parsed),
``parse_reason`` (:func:`vp_stats.llm.parse.parse_answer`'s reason),
``recorded_rating`` (the rating the file itself recorded, if any) and
``record_tagged`` (the record carries correlation tags). ``status`` is
``parsed``; ``unparseable`` (our parser found no answer, or the record is an
error whose message is upstream's "Could not parse valid Likert response from:
<text>", whose text goes to ``raw_text``); or ``call_failed`` (any other error
record). Failed records are never parsed, whatever text they quote.

*wide* (one row per model x item): ``model``, ``portrait_id``, ``option_id``,
one rating column per variant (NaN: failed or not run), ``numeric_response``
(mean over the parsed variants, NaN if none parsed), ``n_parsed``,
``n_failed`` and ``upstream_tagged``.

Sources
-------
* :func:`read_raw_outputs`: a directory of raw result files
  ``<model>_<variant>_results.json`` (any depth; the folder holding a file is
  its ``provider``), as written by upstream's ``main.py`` or by
  :mod:`vp_stats.llm`: a JSON list of records with ``portrait_id``,
  ``option_id`` and either ``raw_response`` (the answer text) or ``error`` (a
  failed call, counted and not parsed; ``error`` wins if both are present, as
  upstream). :func:`load_raw_outputs` reads the mirrored upstream files.
* :func:`load_average_outputs`: upstream's averaged files
  ``<model>_averaged_results.json`` (``version_responses`` maps variant ->
  rating, ``version_errors`` variant -> ``{"error": message}``,
  ``numeric_response`` their mean) checked against ``<model>_metadata.json``.

The averaging quirk
-------------------
Upstream's averager copies an item's correlation tags (``correlations``,
``higher_pvq_correlations``, ``bfi_correlations``) from the item's *first*
variant record (v1), and its scorer reads the tags from there. Failed v1
records carry no tags, so in three published cases (llama-3.1-8b-instruct
2011/1; gemini-2.0-flash-thinking-exp-01-21 1038/2 and 2034/3) the item was
left out of the published scores. ``upstream_tagged`` is True when the
averaged record (for raw outputs: the first variant's record) carries at least
one non-empty tag list; an upstream-parity option of the scorer drops the items
where it is False (items without tags in any family are False too, which is
harmless: they are valid for no dimension).

References
----------
Han, Choi, Song, Lee, Jo (2025). Value Portrait. ACL 2025, arXiv 2505.01015;
holi-lab/ValuePortrait ``lm_evaluation/response_average.py`` (mean over the
variants that parsed, errors counted per variant).

Examples
--------
>>> from vp_stats.io import averaging
>>> wide = averaging.load_average_outputs(["mistral-tiny"])
>>> wide.shape
(520, 13)
>>> round(float(wide.numeric_response.mean()), 4)
3.7891
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from vp_stats import schema, tables
from vp_stats.errors import DataFormatError, TableError
from vp_stats.io import datasets
from vp_stats.llm.parse import RULES, parse_answers
from vp_stats.stats.averaging import average_ratings

__all__ = [
    "TIDY_COLUMNS",
    "WIDE_COLUMNS",
    "TAG_FIELDS",
    "split_result_filename",
    "read_raw_outputs",
    "load_raw_outputs",
    "average_raw_outputs",
    "load_average_outputs",
    "load_error_metadata",
]

TIDY_COLUMNS: tuple[str, ...] = (
    "model",
    "provider",
    "portrait_id",
    "option_id",
    "variant",
    "raw_text",
    "rating",
    "parse_ok",
    "status",
    "error",
    "parse_reason",
    "recorded_rating",
    "record_tagged",
)
WIDE_COLUMNS: tuple[str, ...] = (
    ("model", "portrait_id", "option_id")
    + schema.VARIANTS
    + ("numeric_response", "n_parsed", "n_failed", "upstream_tagged")
)
#: Fields holding an item's correlation tags in upstream records.
TAG_FIELDS: tuple[str, ...] = ("correlations", "higher_pvq_correlations", "bfi_correlations")

_RESULTS_SUFFIX = "_results.json"
_AVERAGED_SUFFIX = "_averaged_results.json"
_METADATA_SUFFIX = "_metadata.json"
_VARIANTS_LONGEST_FIRST = tuple(sorted(schema.VARIANTS, key=len, reverse=True))
_VARIANT_INDEX = {v: i for i, v in enumerate(schema.VARIANTS)}
_UNPARSEABLE_PREFIX = "Could not parse valid Likert response from: "
_KEYS = ["model", "portrait_id", "option_id"]


# --------------------------------------------------------------------------- helpers


def split_result_filename(filename: str) -> tuple[str, str] | None:
    """Split ``<model>_<variant>_results.json`` into ``(model, variant)``.

    The variant is matched as a suffix, longest first (``v1_reversed`` before
    ``v1``), so model names may contain underscores. Returns None for names
    that do not end in ``_<variant>_results.json``.

    Examples
    --------
    >>> split_result_filename("claude-3.7-sonnet:thinking_v1_reversed_results.json")
    ('claude-3.7-sonnet:thinking', 'v1_reversed')
    >>> split_result_filename("my_model_v2_results.json")
    ('my_model', 'v2')
    >>> split_result_filename("mistral-tiny_averaged_results.json") is None
    True
    """
    if not filename.endswith(_RESULTS_SUFFIX):
        return None
    stem = filename[: -len(_RESULTS_SUFFIX)]
    for v in _VARIANTS_LONGEST_FIRST:
        if stem.endswith("_" + v) and len(stem) > len(v) + 1:
            return stem[: -len(v) - 1], v
    return None


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _json_ids(rec: dict, file, i) -> tuple[int, int]:
    """A record's item ids as JSON integers (upstream also writes portrait ids as digit strings).

    Only the JSON types are checked here: the ids' ranges and repeated items are the contract's
    (:class:`vp_stats.tables.RawOutputs`, :class:`vp_stats.tables.AveragedOutputs`).
    """
    pid = rec.get("portrait_id")
    if type(pid) is not int:
        if isinstance(pid, str) and pid.isdigit():
            pid = int(pid)
        elif not _is_int(pid):
            raise DataFormatError(
                file, i, "portrait_id", f"expected an integer portrait id, got {pid!r}"
            )
    oid = rec.get("option_id")
    if type(oid) is not int and not _is_int(oid):
        raise DataFormatError(
            file, i, "option_id", f"expected an integer option id 1-5, got {oid!r}"
        )
    return int(pid), int(oid)


def _read_record_list(path: Path, pinned: bool = False) -> list:
    """A result file's JSON: a non-empty list of records (``pinned``: :func:`_averaged_file`)."""
    data = datasets.read_json(path, check_duplicate_keys=not pinned)
    if not isinstance(data, list):
        raise DataFormatError(
            path, None, None, f"expected a JSON list of records, got {type(data).__name__}"
        )
    if not data:
        raise DataFormatError(path, None, None, "the file holds no records")
    return data


def _record_objects(data: list, path):
    """Yield (index, record) of a list of records, each a JSON object."""
    for i, rec in enumerate(data):
        if type(rec) is not dict:
            raise DataFormatError(path, i, None, f"expected an object, got {type(rec).__name__}")
        yield i, rec


class _Origin(NamedTuple):
    """Where each row of a table read from JSON record lists comes from: file and record."""

    files: list[Path]
    file: np.ndarray  # per row: its file, an index into ``files``
    record: np.ndarray  # per row: its record's index in that file


def _contract(df: pd.DataFrame, contract, origin: _Origin, source: str) -> pd.DataFrame:
    """:func:`vp_stats.tables.check` of a table read from record lists, run once for all files.

    ``df`` has a RangeIndex; the contract's first failing cell is reported as a
    :class:`DataFormatError` naming the file, the record and the field.
    """
    try:
        return tables.check(df, contract, source=source)
    except TableError as exc:
        if exc.row is None:
            raise
        at = int(exc.row)
        problem = exc.problem
        first = re.search(r" \(first in row (\d+)\)$", problem)
        if first:  # a repeated key: name the earlier row as a record of its file, too
            j = int(first.group(1))
            where = f"record {int(origin.record[j])}"
            if origin.file[j] != origin.file[at]:
                where += f" of {origin.files[int(origin.file[j])].name}"
            problem = problem[: first.start()] + f" (first in {where})"
        raise DataFormatError(
            origin.files[int(origin.file[at])], int(origin.record[at]), exc.field, problem
        ) from None


def _check_known_items(path, ids: np.ndarray, known: frozenset | None, complete: bool) -> None:
    """Domain check of one file's (portrait_id, option_id) pairs (record order): known items;
    ``complete``: every known item present."""
    if known is None:
        return
    items = list(zip(ids[:, 0].tolist(), ids[:, 1].tolist(), strict=True))
    if not known.issuperset(items):
        at = next(i for i, it in enumerate(items) if it not in known)
        raise DataFormatError(
            path,
            at,
            "portrait_id/option_id",
            f"unknown item {items[at]}: not a Value Portrait item",
        )
    if complete:
        _check_item_set(path, items, known, "the file")


def _tagged(rec: dict) -> bool:
    return any(isinstance(rec.get(k), list) and len(rec[k]) > 0 for k in TAG_FIELDS)


@lru_cache(maxsize=4)
def _valueportrait_items(root: str) -> frozenset[tuple[int, int]]:
    items = datasets.load_items(root)
    return frozenset(zip(items.portrait_id.tolist(), items.option_id.tolist(), strict=True))


def _known_item_set(known_items) -> frozenset[tuple[int, int]] | None:
    if known_items is None:
        return None
    if isinstance(known_items, str):
        if known_items != "valueportrait":
            raise ValueError(
                "known_items must be 'valueportrait', None or a table of items, got "
                f"{known_items!r}"
            )
        return _valueportrait_items(str(datasets.data_dir()))
    if isinstance(known_items, pd.DataFrame):
        missing = {"portrait_id", "option_id"} - set(known_items.columns)
        if missing:
            raise ValueError(f"known_items table lacks column(s) {sorted(missing)}")
        return frozenset(
            zip(known_items.portrait_id.astype(int), known_items.option_id.astype(int), strict=True)
        )
    return frozenset((int(p), int(o)) for p, o in known_items)


def _check_item_set(
    file, items: Iterable[tuple[int, int]], known: frozenset | None, what: str
) -> None:
    if known is None:
        return
    missing = sorted(known - set(items))
    if missing:
        raise DataFormatError(
            file,
            None,
            "portrait_id/option_id",
            f"{len(missing)} of the {len(known)} known items missing from {what}, e.g. "
            f"{missing[:3]}",
        )


def _error_status(message: str) -> tuple[str, str | None]:
    """Status of a recorded error; upstream's parse failures quote the answer text."""
    if message.startswith(_UNPARSEABLE_PREFIX):
        return "unparseable", message[len(_UNPARSEABLE_PREFIX) :]
    return "call_failed", None


def _tidy_frame(cols: dict[str, list]) -> pd.DataFrame:
    n = len(cols["model"])
    df = pd.DataFrame(
        {
            "model": pd.array(cols["model"], dtype=object),
            "provider": pd.array(cols["provider"], dtype=object),
            "portrait_id": np.asarray(cols["portrait_id"], dtype=np.int64),
            "option_id": np.asarray(cols["option_id"], dtype=np.int64),
            "variant": pd.array(cols["variant"], dtype=object),
            "raw_text": pd.array(cols["raw_text"], dtype=object),
            "rating": np.asarray(cols["rating"], dtype=np.float64),
            "parse_ok": np.asarray(cols["parse_ok"], dtype=bool),
            "status": pd.array(cols["status"], dtype=object),
            "error": pd.array(cols["error"], dtype=object),
            "parse_reason": pd.array(cols["parse_reason"], dtype=object),
            "recorded_rating": np.asarray(cols["recorded_rating"], dtype=np.float64),
            "record_tagged": np.asarray(cols["record_tagged"], dtype=bool),
        },
        index=pd.RangeIndex(n),
    )
    return df


def _sort_tidy(df: pd.DataFrame) -> pd.DataFrame:
    order = np.lexsort(
        (
            df["variant"].map(_VARIANT_INDEX).to_numpy(),
            df["option_id"].to_numpy(),
            df["portrait_id"].to_numpy(),
            df["model"].to_numpy(dtype=str),
        )
    )
    return df.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- raw outputs


def _find_result_files(root: Path) -> dict[str, dict[str, tuple[Path, str | None]]]:
    """model -> variant -> (file, provider), walking ``root``."""
    found: dict[str, dict[str, tuple[Path, str | None]]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(_RESULTS_SUFFIX) or name.endswith(_AVERAGED_SUFFIX):
                continue
            path = Path(dirpath) / name
            split = split_result_filename(name)
            if split is None:
                raise DataFormatError(
                    path,
                    None,
                    None,
                    "cannot tell model and prompt variant from the file name: expected "
                    f"<model>_<variant>_results.json with variant one of {schema.VARIANTS}",
                )
            model, variant = split
            rel = Path(dirpath).relative_to(root).as_posix()
            provider = None if rel in ("", ".") else rel
            other = found.setdefault(model, {}).get(variant)
            if other is not None:
                raise DataFormatError(
                    path,
                    None,
                    None,
                    f"model {model!r} variant {variant!r} is also in {other[0]}: one file per "
                    "model and variant",
                )
            found[model][variant] = (path, provider)
    return found


def read_raw_outputs(
    directory: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    rule: str = "default",
    known_items="valueportrait",
) -> pd.DataFrame:
    """Read raw result files under a directory into the tidy answer table.

    Parameters
    ----------
    directory : path-like
        Folder walked recursively for ``<model>_<variant>_results.json`` files
        (``*_averaged_results.json`` files are skipped: see
        :func:`load_average_outputs`).
    models : sequence of str, optional
        Models to read (default: all found).
    variants : sequence of str, optional
        Variants every model must have (default: all of
        :data:`vp_stats.schema.VARIANTS`); files of other variants are ignored.
    rule : {"default", "upstream"}
        Parsing rule, see :func:`vp_stats.llm.parse.parse_answer`.
        ``"upstream"`` reproduces the published averages exactly.
    known_items : "valueportrait", None, DataFrame or iterable of (portrait_id, option_id)
        Items a file may hold (a subset is fine, but every variant of a model
        must hold the same items). ``"valueportrait"``: the 520 Value Portrait
        items (:func:`vp_stats.io.datasets.load_items`); None: any ids in range
        (portrait 1000-4999, option 1-5).

    Returns
    -------
    pandas.DataFrame
        The tidy table (module docstring), sorted by model, item and variant.

    Raises
    ------
    DataFormatError
        Naming file, record and field: non-JSON or non-list file, bad or unknown
        ids, a duplicate item, a record with neither ``raw_response`` nor
        ``error``, an empty answer, an item missing from one variant's file, a
        variant file missing for a model, an unrecognised file name.
    FileNotFoundError
        If no result file is found.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> recs = {"v1": [{"portrait_id": 1003, "option_id": 1, "raw_response": "Like me."}],
    ...         "v2": [{"portrait_id": 1003, "option_id": 1, "raw_response": "No idea"}]}
    >>> for v, r in recs.items():
    ...     _ = (d / f"my_model_{v}_results.json").write_text(json.dumps(r))
    >>> tidy = read_raw_outputs(d, variants=["v1", "v2"], known_items=None)
    >>> tidy[["model", "variant", "rating", "status"]]
          model variant  rating       status
    0  my_model      v1     5.0       parsed
    1  my_model      v2     NaN  unparseable
    """
    if rule not in RULES:
        raise ValueError(f"unknown parsing rule {rule!r}; expected one of {RULES}")
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    wanted_variants = tuple(schema.VARIANTS if variants is None else variants)
    bad = [v for v in wanted_variants if v not in schema.VARIANTS]
    if bad or not wanted_variants:
        raise ValueError(f"unknown variant(s) {bad}; expected a subset of {schema.VARIANTS}")
    found = _find_result_files(root)
    if not found:
        raise FileNotFoundError(f"{root}: no <model>_<variant>_results.json files found")
    if models is not None:
        missing = [m for m in models if m not in found]
        if missing:
            raise ValueError(f"model(s) {missing} not found under {root}; found: {sorted(found)}")
        found = {m: found[m] for m in models}
    known = _known_item_set(known_items)

    # read: every file's records, their JSON types and answer fields
    cols: dict[str, list] = {c: [] for c in TIDY_COLUMNS}
    read: list[tuple[str, Path, int, int]] = []  # model, file, its rows [start, end)
    for model in sorted(found):
        files = found[model]
        absent = [v for v in wanted_variants if v not in files]
        if absent:
            raise DataFormatError(
                root,
                None,
                None,
                f"model {model!r}: no file for variant(s) {absent} (expected "
                f"{model}_<variant>_results.json); "
                "pass variants=... to read a subset",
            )
        for variant in wanted_variants:
            path, provider = files[variant]
            start = len(cols["model"])
            _read_raw_file(path, model, provider, variant, cols)
            read.append((model, path, start, len(cols["model"])))

    parsed = parse_answers(pd.Series(cols["raw_text"], dtype=object), rule=rule)
    answered = np.array([s is None for s in cols["status"]])  # not a failed call
    ok = parsed["parse_ok"].to_numpy() & answered
    cols["rating"] = np.where(
        ok, parsed["rating"].to_numpy(dtype=np.float64, na_value=np.nan), np.nan
    )
    cols["parse_ok"] = ok
    reasons = parsed["reason"].to_numpy(dtype=object)
    cols["parse_reason"] = np.where(answered, reasons, None).tolist()
    cols["error"] = [
        e if s is not None else (None if k else f"unparseable answer ({r})")
        for e, s, k, r in zip(cols["error"], cols["status"], ok, reasons, strict=True)
    ]
    cols["status"] = [
        s if s is not None else ("parsed" if k else "unparseable")
        for s, k in zip(cols["status"], ok, strict=True)
    ]

    # contract: id ranges, one answer per model, item and variant (the file and record named)
    sizes = [end - start for _, _, start, end in read]
    origin = _Origin(
        [path for _, path, _, _ in read],
        np.repeat(np.arange(len(read)), sizes),
        np.concatenate([np.arange(n) for n in sizes]),
    )
    tidy = _contract(_tidy_frame(cols), tables.RawOutputs, origin, str(directory))

    # domain: known items; every variant of a model holds the same items
    ids = tidy[["portrait_id", "option_id"]].to_numpy()
    item_sets: dict[str, list[tuple[Path, set]]] = {}
    for model, path, start, end in read:
        _check_known_items(path, ids[start:end], known, complete=False)
        items = set(zip(ids[start:end, 0].tolist(), ids[start:end, 1].tolist(), strict=True))
        item_sets.setdefault(model, []).append((path, items))
    for model, sets in item_sets.items():
        union = set().union(*(items for _, items in sets))
        for path, items in sets:
            if items != union:
                lacking = sorted(union - items)
                raise DataFormatError(
                    path,
                    None,
                    "portrait_id/option_id",
                    f"{len(lacking)} item(s) answered in other variants of model {model!r} are "
                    "missing, "
                    f"e.g. (portrait_id, option_id) = {lacking[0]}",
                )
    return _sort_tidy(tidy)


def _read_raw_file(path: Path, model, provider, variant, cols) -> None:
    """Append one raw result file's records to ``cols`` (JSON types and answer fields checked)."""
    data = _read_record_list(path)
    for i, rec in _record_objects(data, path):
        item = _json_ids(rec, path, i)
        raw = rec.get("raw_response")
        err = rec.get("error")
        if err is not None:
            err = err if isinstance(err, str) else repr(err)
            if not err.strip():
                raise DataFormatError(path, i, "error", "empty error message")
            status, text = _error_status(err)
            if text is None and isinstance(raw, str):
                text = raw
        else:
            if "raw_response" not in rec:
                raise DataFormatError(
                    path,
                    i,
                    "raw_response",
                    "missing: a record needs an answer (raw_response) or an error",
                )
            if not isinstance(raw, str):
                raise DataFormatError(
                    path, i, "raw_response", f"expected the answer text, got {raw!r}"
                )
            if not raw.strip():
                raise DataFormatError(
                    path, i, "raw_response", "empty answer without an error field"
                )
            status, text = None, raw
        recorded = rec.get("numeric_response")
        if recorded is not None and not _is_number(recorded):
            raise DataFormatError(
                path, i, "numeric_response", f"expected a number, got {recorded!r}"
            )
        cols["model"].append(model)
        cols["provider"].append(provider)
        cols["portrait_id"].append(item[0])
        cols["option_id"].append(item[1])
        cols["variant"].append(variant)
        cols["raw_text"].append(text)
        cols["status"].append(status)
        cols["error"].append(err)
        cols["recorded_rating"].append(np.nan if recorded is None else float(recorded))
        cols["record_tagged"].append(_tagged(rec))


def load_raw_outputs(
    models: Sequence[str] | None = None,
    *,
    rule: str = "default",
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Tidy table of the mirrored upstream raw outputs (``lm_evaluation/outputs/final``).

    Every registered raw file is fetched and verified first (sha256), then the
    folder is read with :func:`read_raw_outputs`. The mirror holds
    gpt-4o-2024-11-20 (openai) and mistral-tiny (openrouter).

    Examples
    --------
    >>> tidy = load_raw_outputs(["mistral-tiny"], rule="upstream")
    >>> len(tidy), int(tidy.parse_ok.sum()), tidy.provider.unique().tolist()
    (3120, 3120, ['openrouter'])
    """
    prefix = datasets.RAW_OUTPUTS_DIR + "/"
    for rel in datasets.registered(prefix):
        split = split_result_filename(Path(rel).name)
        if models is None or (split is not None and split[0] in models):
            datasets.fetch(rel, data_dir)
    root = datasets.data_dir(data_dir) / datasets.RAW_OUTPUTS_DIR
    return read_raw_outputs(root, models=models, rule=rule)


# --------------------------------------------------------------------------- averaging


def average_raw_outputs(directory: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """The wide table of a folder: :func:`read_raw_outputs`, then
    :func:`vp_stats.stats.averaging.average_ratings`.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for v, a in [("v1", "Like me"), ("v1_reversed", "Somewhat like me.")]:
    ...     rec = [{"portrait_id": 1003, "option_id": 2, "raw_response": a}]
    ...     _ = (d / f"m_{v}_results.json").write_text(json.dumps(rec))
    >>> w = average_raw_outputs(d, variants=["v1", "v1_reversed"], known_items=None)
    >>> float(w.numeric_response[0]), int(w.n_parsed[0])
    (4.5, 2)
    """
    return average_ratings(read_raw_outputs(directory, **kwargs))


# -------------------------------------------------------------------------- upstream averaged files


def _averaged_files(models, directory) -> dict[str, tuple[Path, Path | None]]:
    """model -> (averaged file, metadata file or None)."""
    out: dict[str, tuple[Path, Path | None]] = {}
    if directory is None:
        reg = datasets.registry()
        prefix = datasets.AVERAGE_OUTPUTS_DIR + "/"
        available = {
            Path(rel).name[: -len(_AVERAGED_SUFFIX)]: rel
            for rel in datasets.registered(prefix)
            if rel.endswith(_AVERAGED_SUFFIX)
        }
        chosen = sorted(available) if models is None else list(models)
        missing = [m for m in chosen if m not in available]
        if missing:
            raise ValueError(
                f"no upstream averaged outputs for model(s) {missing}; available: "
                f"{sorted(available)}"
            )
        for m in chosen:
            meta_rel = f"{prefix}{m}{_METADATA_SUFFIX}"
            meta = datasets.fetch(meta_rel) if meta_rel in reg else None
            out[m] = (datasets.fetch(available[m]), meta)
        return out
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    available = {}
    for path in sorted(root.rglob("*" + _AVERAGED_SUFFIX)):
        m = path.name[: -len(_AVERAGED_SUFFIX)]
        if m in available:
            raise DataFormatError(path, None, None, f"model {m!r} is also in {available[m]}")
        available[m] = path
    if not available:
        raise FileNotFoundError(f"{root}: no <model>_averaged_results.json files found")
    chosen = sorted(available) if models is None else list(models)
    missing = [m for m in chosen if m not in available]
    if missing:
        raise ValueError(f"model(s) {missing} not found under {root}; found: {sorted(available)}")
    for m in chosen:
        meta = available[m].with_name(m + _METADATA_SUFFIX)
        out[m] = (available[m], meta if meta.exists() else None)
    return out


_NUMBER_TYPES = (int, float)


class _AveragedFile(NamedTuple):
    """One averaged file as read: the wide table (not yet through the contract) and its errors."""

    version: tuple  # (path, modification time, size, model): the cache key
    model: str
    path: Path
    wide: pd.DataFrame  # WIDE_COLUMNS, one row per record, in record order
    answered: np.ndarray  # (records, variants): a rating or a recorded error
    errors: tuple[tuple[int, str, str], ...]  # (record, variant, message) of recorded errors
    n_err: dict[str, int]  # errors per variant (for the metadata file)


def _averaged_file(path: Path, model: str, pinned: bool = False) -> _AveragedFile:
    """:func:`_read_averaged`, cached per file version (path, modification time, size).

    ``pinned``: a registered upstream file :func:`vp_stats.io.datasets.fetch` has verified by
    its sha256, tested to hold no repeated JSON key; its parse skips that check.
    """
    st = path.stat()
    return _read_averaged(str(path), st.st_mtime_ns, st.st_size, model, pinned)


@lru_cache(maxsize=64)
def _read_averaged(
    path_str: str, _mtime: int, _size: int, model: str, pinned: bool = False
) -> _AveragedFile:
    """Read one averaged file: JSON types and structure here, ranges by the contract later.

    The fields go straight from the parsed records into numpy arrays, one list comprehension
    per field (the variants' ratings into an items x variants matrix), their JSON types checked
    per column; only a file that fails those checks is read again record by record, to name the
    first offending record and field (:func:`_averaged_arrays_checked`).
    """
    path = Path(path_str)
    data = _read_record_list(path, pinned)
    arrays = _averaged_arrays_fast(data, path)
    if arrays is None:
        arrays = _averaged_arrays_checked(data, path)
    ids, mat, has_error, stated, tagged, errors = arrays
    rated = ~np.isnan(mat)
    answered = rated | has_error
    n_run = int(answered.any(axis=0).sum())
    n_parsed = rated.sum(axis=1).astype(np.int64)
    columns = {"model": model, "portrait_id": ids[:, 0], "option_id": ids[:, 1]}
    columns.update({v: mat[:, j] for j, v in enumerate(schema.VARIANTS)})
    columns.update(
        numeric_response=stated,
        n_parsed=n_parsed,
        n_failed=n_run - n_parsed,
        upstream_tagged=tagged,
    )
    wide = pd.DataFrame(columns)
    n_err = dict(zip(schema.VARIANTS, has_error.sum(axis=0).tolist(), strict=True))
    version = (path_str, _mtime, _size, model)
    return _AveragedFile(version, model, path, wide, answered, tuple(errors), n_err)


_NONE = type(None)
_VARIANT_SET = frozenset(schema.VARIANTS)


def _floats(values: list) -> np.ndarray | None:
    """JSON numbers or nulls as floats (null -> NaN); None if any is another type (or NaN)."""
    if not {type(x) for x in values} <= {int, float, _NONE}:
        return None
    out = np.array(values, dtype=float)
    return out if np.isnan(out).sum() == values.count(None) else None


def _averaged_arrays_fast(data: list, path: Path):
    """The arrays of :func:`_read_averaged` column by column; None when a column's JSON types (or
    structure) need the record-by-record reading."""
    if not all(type(r) is dict for r in data):
        return None
    pids = [r.get("portrait_id") for r in data]
    oids = [r.get("option_id") for r in data]
    if not ({type(x) for x in pids} == {int} and {type(x) for x in oids} == {int}):
        return None
    responses = [r.get("version_responses") for r in data]
    if not all(type(d) is dict for d in responses):
        return None
    if not set().union(*responses) <= _VARIANT_SET:
        return None
    n = len(data)
    mat = np.full((n, len(schema.VARIANTS)), np.nan)
    for j, v in enumerate(schema.VARIANTS):
        col = [d.get(v) for d in responses]
        if col.count(None) == n:
            continue
        values = _floats(col)
        if values is None:
            return None
        mat[:, j] = values
    stated = _floats([r.get("numeric_response") for r in data])
    if stated is None:
        return None
    has_error = np.zeros(mat.shape, dtype=bool)
    errors: list[tuple[int, str, str]] = []
    for i, r in enumerate(data):
        if r.get("version_errors"):
            for j, v, msg in _recorded_errors(r, responses[i], path, i):
                has_error[i, j] = True
                errors.append((i, v, msg))
    tagged = np.zeros(n, dtype=bool)
    for k in TAG_FIELDS:
        tags = [r.get(k) for r in data]
        tagged |= np.array([type(t) is list and t != [] for t in tags], dtype=bool)
    ids = np.column_stack([np.array(pids, dtype=np.int64), np.array(oids, dtype=np.int64)])
    return ids, mat, has_error, stated, tagged, errors


def _recorded_errors(rec: dict, responses: dict, path: Path, i: int) -> list:
    """(variant index, variant, message) of a record's ``version_errors``, checked."""
    recorded = rec.get("version_errors") or {}
    if type(recorded) is not dict:
        raise DataFormatError(
            path, i, "version_errors", f"expected an object variant -> error, got {recorded!r}"
        )
    out = []
    for v, e in recorded.items():
        j = _VARIANT_INDEX.get(v)
        if j is None:
            raise DataFormatError(
                path,
                i,
                "version_errors",
                f"unknown variant {v!r}; expected one of {schema.VARIANTS}",
            )
        if v in responses:
            raise DataFormatError(
                path, i, f"version_errors.{v}", "variant has both a rating and an error"
            )
        msg = e.get("error") if isinstance(e, dict) else e
        if not isinstance(msg, str) or not msg.strip():
            raise DataFormatError(
                path, i, f"version_errors.{v}", f"expected {{'error': message}}, got {e!r}"
            )
        out.append((j, v, msg))
    return out


def _averaged_arrays_checked(data: list, path: Path):
    """The arrays of :func:`_read_averaged` record by record: the first problem names its record
    and field (and upstream's digit-string portrait ids are read as integers)."""
    n = len(data)
    ids = np.empty((n, 2), dtype=np.int64)
    mat = np.full((n, len(schema.VARIANTS)), np.nan)
    has_error = np.zeros(mat.shape, dtype=bool)
    stated = np.full(n, np.nan)
    tagged = np.zeros(n, dtype=bool)
    errors: list[tuple[int, str, str]] = []
    for i, rec in _record_objects(data, path):
        ids[i] = _json_ids(rec, path, i)
        responses = rec.get("version_responses")
        if type(responses) is not dict:
            raise DataFormatError(
                path,
                i,
                "version_responses",
                f"expected an object variant -> rating, got {responses!r}",
            )
        for v, r in responses.items():
            j = _VARIANT_INDEX.get(v)
            if j is None:
                raise DataFormatError(
                    path,
                    i,
                    "version_responses",
                    f"unknown variant {v!r}; expected one of {schema.VARIANTS}",
                )
            if type(r) not in _NUMBER_TYPES or r != r:
                raise DataFormatError(
                    path, i, f"version_responses.{v}", f"expected a rating 1-6, got {r!r}"
                )
            mat[i, j] = r
        for j, v, msg in _recorded_errors(rec, responses, path, i):
            has_error[i, j] = True
            errors.append((i, v, msg))
        value = rec.get("numeric_response")
        if value is not None:
            if type(value) not in _NUMBER_TYPES or value != value:
                raise DataFormatError(
                    path, i, "numeric_response", f"expected a number, got {value!r}"
                )
            stated[i] = value
        tagged[i] = _tagged(rec)
    return ids, mat, has_error, stated, tagged, errors


@lru_cache(maxsize=1)
def _averaged_contract():
    """The averaged files' contract: :class:`vp_stats.tables.AveragedOutputs`, and each variant's
    rating (named by its JSON field) an integer 1-6 where given (built on first use)."""
    return tables.AveragedOutputs.to_schema().add_columns(
        {
            field: pa.Column(
                float,
                nullable=True,
                checks=[
                    pa.Check.in_range(schema.LIKERT_MIN, schema.LIKERT_MAX),
                    pa.Check.isin(list(range(schema.LIKERT_MIN, schema.LIKERT_MAX + 1))),
                ],
            )
            for field in _RATING_FIELDS.values()
        }
    )


_RATING_FIELDS = {v: f"version_responses.{v}" for v in schema.VARIANTS}
_CHECKED: set[tuple] = set()  # the sets of file versions that passed the contract


def _check_averaged_contract(files: list[_AveragedFile], source: str) -> None:
    """The contract of all files at once (one validation per set of file versions and run)."""
    key = tuple(sorted(f.version for f in files))
    if key in _CHECKED:
        return
    sizes = [len(f.wide) for f in files]
    origin = _Origin(
        [f.path for f in files],
        np.repeat(np.arange(len(files)), sizes),
        np.concatenate([np.arange(n) for n in sizes]),
    )
    table = pd.concat([f.wide for f in files], ignore_index=True).rename(columns=_RATING_FIELDS)
    _contract(table, _averaged_contract(), origin, source)
    _CHECKED.add(key)


def _check_averaged_domain(f: _AveragedFile, known) -> None:
    """What the contract cannot say: known items, every run variant answered, the stated mean."""
    wide, path = f.wide, f.path
    _check_known_items(path, wide[["portrait_id", "option_id"]].to_numpy(), known, complete=True)
    run = f.answered.any(axis=0)
    run_variants = [v for v, r in zip(schema.VARIANTS, run, strict=True) if r]
    n_answered = f.answered.sum(axis=1)
    empty = np.flatnonzero(n_answered == 0)
    if empty.size:
        raise DataFormatError(
            path, int(empty[0]), "version_responses", "empty: no answer and no recorded error"
        )
    short = np.flatnonzero(n_answered != run.sum())
    if short.size:
        i = int(short[0])
        lacking = [v for j, v in enumerate(schema.VARIANTS) if run[j] and not f.answered[i, j]]
        raise DataFormatError(
            path,
            i,
            "version_responses",
            f"variant(s) {lacking} missing: neither a rating nor a recorded error (the file "
            f"has {run_variants})",
        )
    ratings = wide[list(schema.VARIANTS)].to_numpy()
    stated = wide["numeric_response"].to_numpy()
    n_parsed = wide["n_parsed"].to_numpy()
    with np.errstate(invalid="ignore"):
        mean = np.nansum(ratings, axis=1) / n_parsed
    bad = np.flatnonzero((n_parsed > 0) & ~(np.abs(stated - mean) <= 1e-9))
    if bad.size:
        i = int(bad[0])
        shown = None if np.isnan(stated[i]) else float(stated[i])
        raise DataFormatError(
            path,
            i,
            "numeric_response",
            f"{shown!r} is not the mean {float(mean[i])!r} of version_responses",
        )
    extra = np.flatnonzero((n_parsed == 0) & ~np.isnan(stated))
    if extra.size:
        i = int(extra[0])
        raise DataFormatError(
            path, i, "numeric_response", f"{float(stated[i])!r} given but no variant has a rating"
        )


def _averaged_tidy(f: _AveragedFile) -> pd.DataFrame:
    """The tidy table of one averaged file: one row per item and variant the model was run on."""
    wide = f.wide
    run_variants = [v for v, r in zip(schema.VARIANTS, f.answered.any(axis=0), strict=True) if r]
    n_run, n_items = len(run_variants), len(wide)
    vcols = np.array([_VARIANT_INDEX[v] for v in run_variants])
    rows = np.repeat(np.arange(n_items), n_run)
    rating = wide[list(schema.VARIANTS)].to_numpy()[rows, np.tile(vcols, n_items)]
    ok = ~np.isnan(rating)
    raw_text = np.full(rows.size, None, dtype=object)
    status = np.where(ok, "parsed", "call_failed").astype(object)
    error = np.full(rows.size, None, dtype=object)
    position = {v: j for j, v in enumerate(run_variants)}
    for k, v, msg in f.errors:
        at = k * n_run + position[v]
        status[at], raw_text[at] = _error_status(msg)
        error[at] = msg
    return pd.DataFrame(
        {
            "model": f.model,
            "provider": None,
            "portrait_id": wide["portrait_id"].to_numpy()[rows],
            "option_id": wide["option_id"].to_numpy()[rows],
            "variant": np.asarray(run_variants, dtype=object)[np.tile(np.arange(n_run), n_items)],
            "raw_text": raw_text,
            "rating": rating,
            "parse_ok": ok,
            "status": status,
            "error": error,
            "parse_reason": None,
            "recorded_rating": rating,
            "record_tagged": wide["upstream_tagged"].to_numpy()[rows],
        }
    )


def _check_metadata(meta_path: Path | None, n_err: dict[str, int]) -> None:
    if meta_path is None:
        return
    meta = datasets.read_json(meta_path)
    if not isinstance(meta, dict):
        raise DataFormatError(
            meta_path, None, None, "expected an object with total_errors and errors_by_version"
        )
    total, by_version = meta.get("total_errors"), meta.get("errors_by_version")
    if not _is_int(total):
        raise DataFormatError(
            meta_path, None, "total_errors", f"expected an integer, got {total!r}"
        )
    if not isinstance(by_version, dict):
        raise DataFormatError(
            meta_path, None, "errors_by_version", f"expected an object, got {by_version!r}"
        )
    ours = {v: n for v, n in n_err.items() if n}
    theirs = {v: n for v, n in by_version.items() if n}
    if theirs != ours:
        raise DataFormatError(
            meta_path,
            None,
            "errors_by_version",
            f"{theirs} disagrees with the averaged file's version_errors {ours}",
        )
    if total != sum(ours.values()):
        raise DataFormatError(
            meta_path,
            None,
            "total_errors",
            f"{total} != {sum(ours.values())} errors in the averaged file",
        )


def load_average_outputs(
    models: Sequence[str] | None = None,
    *,
    directory: str | os.PathLike | None = None,
    form: str = "wide",
    known_items="valueportrait",
) -> pd.DataFrame:
    """Upstream's per-item averaged answers as the wide (or tidy) table.

    Parameters
    ----------
    models : sequence of str, optional
        Model names as in the file names (``claude-3.7-sonnet:thinking``);
        default all (34 averaged files in the upstream release).
    directory : path-like, optional
        Folder of ``<model>_averaged_results.json`` (+ ``<model>_metadata.json``)
        files; default: the registered upstream files, fetched and verified.
    form : {"wide", "tidy"}
        Wide: one row per model x item, ``numeric_response`` as stated in the
        file (checked against the mean of ``version_responses`` to 1e-9).
        Tidy: one row per model x item x variant the model was run on;
        ``raw_text`` holds the answer only for upstream's parse failures
        (``status == "unparseable"``, recovered from the error message);
        ``provider`` and ``parse_reason`` are None.
    known_items : "valueportrait", None, DataFrame or iterable of (portrait_id, option_id)
        Items each file must hold exactly (``"valueportrait"``: the 520 items);
        None only checks the id ranges.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataFormatError
        Naming file, record index and field: non-JSON, bad or unknown ids,
        duplicate or missing items, unknown variants, a variant with neither a
        rating nor an error (variants absent from the whole file are taken as
        not run, e.g. gemini-flash-1.5 has only v1 and v1_reversed), ratings
        outside 1-6, a ``numeric_response`` that is not the mean, error counts
        disagreeing with the metadata file.

    Examples
    --------
    >>> wide = load_average_outputs(["llama-3.1-8b-instruct"])
    >>> int(wide.n_failed.sum())
    55
    >>> wide.query("portrait_id == 2011 and option_id == 1")[["v1", "n_parsed", "upstream_tagged"]]
         v1  n_parsed  upstream_tagged
    155 NaN         4            False
    """
    if form not in ("wide", "tidy"):
        raise ValueError(f"form must be 'wide' or 'tidy', got {form!r}")
    if isinstance(models, str):
        models = [models]
    files = _averaged_files(models, directory)
    known = _known_item_set(known_items)
    where = str(directory) if directory is not None else datasets.AVERAGE_OUTPUTS_DIR
    pinned = directory is None  # the registered files, each verified by its sha256
    read = [_averaged_file(path, model, pinned) for model, (path, _) in files.items()]
    _check_averaged_contract(read, where)
    for f, (_, meta) in zip(read, files.values(), strict=True):
        _check_averaged_domain(f, known)
        _check_metadata(meta, f.n_err)
    if form == "tidy":
        tidy = pd.concat([_averaged_tidy(f) for f in read], ignore_index=True)
        return tables.check(_sort_tidy(tidy), tables.RawOutputs, source=where)
    # a copy (the cached frames stay untouched), already through the contract
    return pd.concat([f.wide for f in read], ignore_index=True).sort_values(
        _KEYS, ignore_index=True
    )


def load_error_metadata(
    models: Sequence[str] | None = None, *, directory: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Upstream's error metadata (``<model>_metadata.json``) as ``model, variant, n_errors``.

    Every model gets a row for each variant of :data:`vp_stats.schema.VARIANTS`
    (0 where the file lists none); ``total_errors`` is checked to be their sum.

    Examples
    --------
    >>> meta = load_error_metadata(["o1-mini-2024-09-12"])
    >>> meta.n_errors.tolist()
    [4, 5, 10, 7, 11, 3]
    """
    files = _averaged_files(models, directory)
    rows = []
    for model, (_, meta_path) in files.items():
        if meta_path is None:
            raise FileNotFoundError(
                f"no {model}{_METADATA_SUFFIX} next to the averaged file of {model!r}"
            )
        meta = datasets.read_json(meta_path)
        by_version = meta.get("errors_by_version") if isinstance(meta, dict) else None
        if not isinstance(by_version, dict):
            raise DataFormatError(
                meta_path, None, "errors_by_version", f"expected an object, got {by_version!r}"
            )
        for v, n in by_version.items():
            if v not in _VARIANT_INDEX:
                raise DataFormatError(meta_path, None, f"errors_by_version.{v}", "unknown variant")
            if not _is_int(n) or n < 0:
                raise DataFormatError(
                    meta_path, None, f"errors_by_version.{v}", f"expected a count, got {n!r}"
                )
        if meta.get("total_errors") != sum(by_version.values()):
            raise DataFormatError(
                meta_path,
                None,
                "total_errors",
                f"{meta.get('total_errors')!r} is not the sum of errors_by_version",
            )
        rows += [(model, v, int(by_version.get(v, 0))) for v in schema.VARIANTS]
    return pd.DataFrame(rows, columns=["model", "variant", "n_errors"]).astype(
        {"n_errors": np.int64}
    )
