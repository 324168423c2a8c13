"""Upstream data: a pinned, hashed registry and validated loaders.

Every upstream Value Portrait file is listed in ``vp_stats/data/registry.txt``
with its sha256 at the pinned commit :data:`UPSTREAM_COMMIT`. :func:`fetch`
returns the local path of a file, downloading it with :mod:`pooch` into the
cache directory when it is absent and verifying its hash every time it is
first used in a process. The cache directory is, in order of precedence, the
``data_dir`` argument, the ``VP_DATA_DIR`` environment variable, or
``pooch.os_cache("vp-stats")``. A file that is present but does not match its
recorded hash is never overwritten: :class:`DataIntegrityError` names it.

Loaders return tidy :class:`pandas.DataFrame` objects and validate their input
record by record; a problem raises :class:`DataFormatError` naming the file,
the record and the field. Nothing is dropped silently: the loaders either keep
a record or fail.

Examples
--------
>>> from vp_stats.io import datasets
>>> ratings = datasets.load_ratings()
>>> ratings.columns.tolist()
['group', 'participant', 'portrait_id', 'option_id', 'rating']
>>> len(ratings)
24320
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import schema
from vp_stats.errors import DataError, DataFormatError, DataIntegrityError

#: Commit of the upstream repository the registry pins.
UPSTREAM_COMMIT = "08e1fb7903c619592bd8b3267f00191e36957f9e"
UPSTREAM_REPO = "holi-lab/ValuePortrait"
BASE_URL = f"https://raw.githubusercontent.com/{UPSTREAM_REPO}/{UPSTREAM_COMMIT}/"
ENV_VAR = "VP_DATA_DIR"

SURVEY = "data/prolific/survey/main/survey.json"
VALUES = "data/prolific/value/main/value.json"
CORRELATIONS = "data/correlation_results/{family}_correlation_results.json"
QUERY_RESPONSE = "data/query-response/{source}.json"
QUERY_CATEGORIZED = "data/query/query_categorized.json"
AVERAGE_OUTPUTS_DIR = "lm_evaluation/average_outputs"
RAW_OUTPUTS_DIR = "lm_evaluation/outputs/final"
PROMPTS_DIR = "lm_evaluation/prompts"


__all__ = [
    "UPSTREAM_COMMIT",
    "registry",
    "data_dir",
    "fetch",
    "fetch_all",
    "registered",
    "load_prompt_templates",
    "read_json",
    "load_participant_scores",
    "load_ratings",
    "load_items",
    "load_published_correlations",
]


# --------------------------------------------------------------------------- registry


@lru_cache(maxsize=1)
def registry() -> dict[str, str]:
    """Return the registry ``{relative path: 'sha256:<hex>'}`` of upstream files.

    Examples
    --------
    >>> reg = registry()
    >>> reg["data/prolific/survey/main/survey.json"][:7]
    'sha256:'
    """
    text = resources.files("vp_stats").joinpath("data/registry.txt").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path, digest = line.rsplit(" ", 1)
        out[path] = digest
    return out


def data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the cache directory (argument, then ``$VP_DATA_DIR``, then the OS cache).

    Examples
    --------
    >>> isinstance(data_dir(), Path)
    True
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("vp-stats")) / UPSTREAM_COMMIT[:12]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_VERIFIED: dict[tuple[str, int, int], bool] = {}


def _verify(path: Path, relpath: str, expected: str) -> None:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    got = _sha256(path)
    want = expected.split(":", 1)[1]
    if got != want:
        raise DataIntegrityError(
            f"{path}: sha256 mismatch for upstream file {relpath!r}: expected {want}, got {got}. "
            "The file was left untouched. This folder holds the pinned upstream release only: to "
            "restore it, delete the file and it is downloaded again; to analyse your own study, "
            "pass your files to the command (e.g. vp-stats validate --ratings R.csv --scores "
            "S.csv) "
            "instead of placing them here."
        )
    _VERIFIED[key] = True


def fetch(relpath: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the verified local path of an upstream file, downloading it if absent.

    Parameters
    ----------
    relpath : str
        Path inside the upstream repository, e.g. ``"data/prolific/value/main/value.json"``.
    data_dir : path-like, optional
        Cache directory; defaults to ``$VP_DATA_DIR`` or the OS cache.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    KeyError
        If ``relpath`` is not in the registry.
    DataIntegrityError
        If the cached file's sha256 differs from the registry.

    Examples
    --------
    >>> fetch("LICENSE").name
    'LICENSE'
    """
    reg = registry()
    if relpath not in reg:
        raise KeyError(
            f"{relpath!r} is not a registered upstream file (see vp_stats/data/registry.txt)"
        )
    root = globals()["data_dir"](data_dir)
    path = root / relpath
    if path.exists():
        _verify(path, relpath, reg[relpath])
        return path
    import pooch

    try:
        fetched = pooch.retrieve(
            url=BASE_URL + relpath,
            known_hash=reg[relpath],
            fname=Path(relpath).name,
            path=path.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch's hash check of a fresh download
        raise DataIntegrityError(
            f"{BASE_URL + relpath}: download does not match the registry: {exc}"
        ) from exc
    except Exception as exc:  # network errors: no connection, HTTP errors
        raise DataError(
            f"{relpath!r} is not in the data directory {root} and could not be downloaded from "
            f"{BASE_URL + relpath} ({type(exc).__name__}: {str(exc)[:200]}). Set ${ENV_VAR} to a "
            "directory holding the upstream files (e.g. a mirror of the repository at the pinned "
            "commit)."
        ) from exc
    return Path(fetched)


def fetch_all(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Fetch and verify every registered file; returns their paths.

    Examples
    --------
    >>> len(fetch_all()) == len(registry())
    True
    """
    return [fetch(p, data_dir) for p in registry()]


def registered(prefix: str) -> list[str]:
    """Registered paths under a folder prefix, sorted.

    Examples
    --------
    >>> registered("lm_evaluation/prompts/v1/")
    ['lm_evaluation/prompts/v1/reddit_prompt.txt', 'lm_evaluation/prompts/v1/sharegpt_prompt.txt']
    """
    return sorted(p for p in registry() if p.startswith(prefix))


@lru_cache(maxsize=4)
def _prompt_templates_cached(root: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for variant in schema.VARIANTS:
        out[variant] = {}
        for kind in ("reddit", "sharegpt"):
            rel = f"{PROMPTS_DIR}/{variant}/{kind}_prompt.txt"
            out[variant][kind] = fetch(rel, root).read_text(encoding="utf-8")
    return out


def load_prompt_templates(data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, str]]:
    """The upstream prompt templates (``lm_evaluation/prompts``).

    Returns ``{variant: {"reddit": str, "sharegpt": str}}``.

    Examples
    --------
    >>> t = load_prompt_templates()
    >>> sorted(t) == sorted(schema.VARIANTS), "{content}" in t["v2"]["sharegpt"]
    (True, True)
    """
    return _prompt_templates_cached(str(_data_dir(data_dir)))


_data_dir = data_dir  # for the loaders whose parameter of the same name shadows it


def _per_file_version(parse):
    """Cache a file parser per file version (path, modification time, size) within a process.

    A run that loads the same upstream file twice (``vp-stats reproduce`` validates the
    released ratings twice and scores them once) parses it once; every caller gets its own copy
    of the table, so a caller that changes it changes no other caller's.
    """

    @lru_cache(maxsize=16)
    def cached(path: str, _mtime: int, _size: int, *args):
        return parse(Path(path), *args)

    @functools.wraps(parse)
    def wrapper(file: Path, *args) -> pd.DataFrame:
        st = Path(file).stat()
        return cached(str(file), st.st_mtime_ns, st.st_size, *args).copy()

    wrapper.cache_clear = cached.cache_clear
    return wrapper


def read_json(path: str | os.PathLike, check_duplicate_keys: bool = True) -> object:
    """Read a JSON file; a parse error becomes :class:`DataFormatError` with line and column.

    A key repeated within one object is an error (the parser would keep only the last);
    ``check_duplicate_keys=False`` only for a pinned upstream file whose sha256 :func:`fetch`
    has verified and which is tested to hold no repeated key (the averaged outputs: 30% of
    their parse, ``tests/io/test_pinned_json.py``). The
    file is read as bytes and decoded once, and each object is built by ``dict`` in C, with the
    key-by-key search only for an object whose ``dict`` came out shorter than its pairs: the
    check costs about 10% of the parse instead of doubling it (a 44 MB folder of averaged
    outputs: 0.35 s against 0.75 s, ``benchmarks/bench_scoring.py``).

    Examples
    --------
    >>> isinstance(read_json(fetch(VALUES)), dict)
    True
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, None, None, f"not UTF-8 text ({exc})") from exc
    if not text or text.isspace():
        raise DataFormatError(path, None, None, "file is empty, expected JSON")

    def no_duplicate_keys(pairs):
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise DataFormatError(
                    path,
                    k,
                    k,
                    "duplicate key: the JSON object holds it twice (the parser would keep only the "
                    "last)",
                )
            seen.add(k)
        raise AssertionError("unreachable")  # pragma: no cover

    try:
        return json.loads(
            text, object_pairs_hook=no_duplicate_keys if check_duplicate_keys else None
        )
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            path,
            None,
            None,
            f"invalid or truncated JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from exc


# --------------------------------------------------------------------------- validation helpers


def _is_int_like(x: object) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    return False


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _require(cond: bool, file, record, field, problem) -> None:
    if not cond:
        raise DataFormatError(file, record, field, problem)


def _check_portrait_id(value: object, file, record, field="portrait_id") -> int:
    """Upstream stores portrait ids as int or as a 4-digit string; return the int."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    _require(
        _is_int_like(value), file, record, field, f"expected an integer portrait id, got {value!r}"
    )
    _require(
        1000 <= int(value) <= 4999,
        file,
        record,
        field,
        f"portrait id {value!r} out of range 1000-4999",
    )
    return int(value)


def _check_option_id(value: object, file, record, field="option_id") -> int:
    _require(
        _is_int_like(value),
        file,
        record,
        field,
        f"expected an integer option id 1-5, got {value!r}",
    )
    _require(1 <= int(value) <= 5, file, record, field, f"option id {value!r} outside 1-5")
    return int(value)


# --------------------------------------------------------------------------- participants


def load_participant_scores(
    data_dir: str | os.PathLike | None = None, *, path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Participants' released value and trait scores, tidy.

    Columns: ``participant``, ``family`` (``pvq``, ``higher_pvq``, ``bfi``),
    ``dimension``, ``score``. PVQ and higher-order scores are MRAT-centred;
    BFI scores are raw trait means on the 1-5 scale (as released).

    Parameters
    ----------
    data_dir : path-like, optional
        Cache directory (see :func:`fetch`).
    path : path-like, optional
        Read this file instead of the registered upstream file (same format).

    Examples
    --------
    >>> scores = load_participant_scores()
    >>> scores.groupby("family").dimension.nunique().to_dict()
    {'bfi': 5, 'higher_pvq': 4, 'pvq': 10}
    >>> scores.participant.nunique()
    569
    """
    file = Path(path) if path is not None else fetch(VALUES, data_dir)
    return _read_scores(file)


@_per_file_version
def _read_scores(file: Path) -> pd.DataFrame:
    """The value file's scores: column by column, record by record only to name the first
    problem of a file that fails the column checks."""
    raw = read_json(file)
    _require(
        isinstance(raw, dict),
        file,
        None,
        None,
        f"expected an object keyed by participant, got {type(raw).__name__}",
    )
    fast = _scores_fast(raw)
    return fast if fast is not None else _scores_checked(raw, file)


def _scores_fast(raw: dict) -> pd.DataFrame | None:
    """The checks of :func:`_scores_checked` per dimension over all participants (the same
    table, rows participant by participant); None if any fails."""
    pids, recs = list(raw), list(raw.values())
    if not all(type(p) is str and p.strip() != "" for p in pids):
        return None
    if not all(type(r) is dict for r in recs):
        return None
    columns, fams, dims = [], [], []
    for fam, names in schema.FAMILIES.items():
        blocks = [r.get(fam) for r in recs]
        if not all(type(b) is dict and b.keys() == set(names) for b in blocks):
            return None
        lo, hi = (schema.BFI_MIN, schema.BFI_MAX) if fam == "bfi" else (-5, 5)
        for dim in names:
            col = [b[dim] for b in blocks]
            if not {type(x) for x in col} <= {int, float}:
                return None
            x = np.array(col, dtype=float)
            if not (np.isfinite(x).all() and (x >= lo).all() and (x <= hi).all()):
                return None
            columns.append(x)
            fams.append(fam)
            dims.append(dim)
    k = len(columns)
    return pd.DataFrame(
        {
            "participant": [p for p in pids for _ in range(k)],
            "family": fams * len(pids),
            "dimension": dims * len(pids),
            "score": np.column_stack(columns).ravel() if pids else np.empty(0),
        }
    )


def _scores_checked(raw: dict, file: Path) -> pd.DataFrame:
    """The value file's scores record by record: the first problem raises."""
    parts, fams, dims, vals = [], [], [], []
    for pid, rec in raw.items():
        _require(
            isinstance(pid, str) and pid.strip() != "",
            file,
            pid,
            "participant",
            "empty participant id",
        )
        _require(
            isinstance(rec, dict),
            file,
            pid,
            None,
            f"expected an object of families, got {type(rec).__name__}",
        )
        for fam, names in schema.FAMILIES.items():
            _require(fam in rec, file, pid, fam, f"missing family {fam!r}")
            block = rec[fam]
            _require(
                isinstance(block, dict), file, pid, fam, "expected an object of dimension scores"
            )
            unknown = set(block) - set(names)
            _require(
                not unknown,
                file,
                pid,
                f"{fam}.{sorted(unknown)[0] if unknown else ''}",
                f"unknown dimension(s) {sorted(unknown)}",
            )
            for dim in names:
                _require(dim in block, file, pid, f"{fam}.{dim}", "missing score")
                x = block[dim]
                _require(_is_number(x), file, pid, f"{fam}.{dim}", f"expected a number, got {x!r}")
                _require(
                    np.isfinite(x), file, pid, f"{fam}.{dim}", f"score is {x!r} (NaN or infinite)"
                )
                if fam == "bfi":
                    _require(
                        schema.BFI_MIN <= x <= schema.BFI_MAX,
                        file,
                        pid,
                        f"{fam}.{dim}",
                        f"BFI score {x!r} outside 1-5",
                    )
                else:
                    _require(
                        -5 <= x <= 5,
                        file,
                        pid,
                        f"{fam}.{dim}",
                        f"centred score {x!r} outside -5..5",
                    )
                parts.append(pid)
                fams.append(fam)
                dims.append(dim)
                vals.append(float(x))
    return pd.DataFrame({"participant": parts, "family": fams, "dimension": dims, "score": vals})


# --------------------------------------------------------------------------- ratings


def load_ratings(
    data_dir: str | os.PathLike | None = None,
    *,
    path: str | os.PathLike | None = None,
    participants: pd.DataFrame | None = None,
    check_participants: bool = True,
) -> pd.DataFrame:
    """Human ratings of the Value Portrait items, one row per rating.

    Columns: ``group`` (0-11, the block of ``survey.json``), ``participant``,
    ``portrait_id``, ``option_id``, ``rating`` (1-6).

    Every rating is checked: an integer 1-6, a participant id, no participant
    rating an item twice, and (``check_participants``) every rater present in
    the participant score file.

    Examples
    --------
    >>> r = load_ratings()
    >>> r.groupby(["portrait_id", "option_id"]).ngroups, r.participant.nunique()
    (520, 559)
    >>> int(r.rating.min()), int(r.rating.max())
    (1, 6)
    """
    file = Path(path) if path is not None else fetch(SURVEY, data_dir)
    df = _read_ratings(file)
    if check_participants:
        if participants is None:
            participants = load_participant_scores(data_dir)
        known = set(participants["participant"].unique())
        unknown = ~df["participant"].isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            row = df.iloc[i]
            raise DataFormatError(
                file,
                f"group {row.group}, portrait {row.portrait_id}, option {row.option_id}",
                "participant",
                f"unknown participant {row.participant!r} (not in the participant score file); "
                f"{int(unknown.sum())} rating(s) by unknown participants in total",
            )
    return df


@_per_file_version
def _read_ratings(file: Path) -> pd.DataFrame:
    """The survey file's ratings: column by column, record by record only to name the first
    problem of a file that fails the column checks."""
    raw = read_json(file)
    _require(
        isinstance(raw, list),
        file,
        None,
        None,
        f"expected a list of participant groups, got {type(raw).__name__}",
    )
    fast = _ratings_fast(raw)
    return fast if fast is not None else _ratings_checked(raw, file)


def _ratings_fast(raw: list) -> pd.DataFrame | None:
    """The checks of :func:`_ratings_checked` per column; None if any fails."""
    if not all(type(b) is dict for b in raw):
        return None
    blocks = []  # (group, portrait key, option id, [[rating, participant], ...])
    for g, block in enumerate(raw):
        for key, opts in block.items():
            if type(opts) is not list:
                return None
            for opt in opts:
                if type(opt) is not dict or type(opt.get("data")) is not list:
                    return None
                blocks.append((g, key, opt.get("option_id"), opt["data"]))
    keys = [b[1] for b in blocks]
    options = [b[2] for b in blocks]
    if not (all(k.isdigit() for k in keys) and {type(o) for o in options} <= {int}):
        return None
    pairs = [pair for b in blocks for pair in b[3]]
    if not all(type(pair) is list and len(pair) == 2 for pair in pairs):
        return None
    ratings = [pair[0] for pair in pairs]
    pids = [pair[1] for pair in pairs]
    if not ({type(r) for r in ratings} <= {int} and {type(p) for p in pids} <= {str}):
        return None
    sizes = [len(b[3]) for b in blocks]
    df = pd.DataFrame(
        {
            "group": np.repeat(np.array([b[0] for b in blocks], dtype=np.int64), sizes),
            "participant": pids,
            "portrait_id": np.repeat(np.array(keys, dtype=np.int64), sizes),
            "option_id": np.repeat(np.array(options, dtype=np.int64), sizes),
            "rating": np.array(ratings, dtype=np.int64),
        }
    )
    ok = (
        df["portrait_id"].between(1000, 4999).all()
        and df["option_id"].between(1, 5).all()
        and df["rating"].between(1, 6).all()
        and (df["participant"].str.strip() != "").all()
        and not df.duplicated(["participant", "portrait_id", "option_id"]).any()
    )
    return df if ok else None


def _ratings_checked(raw: list, file: Path) -> pd.DataFrame:
    """The survey file's ratings record by record: the first problem raises."""
    groups, pids, portraits, options, ratings = [], [], [], [], []
    seen: dict[tuple[str, int, int], str] = {}
    for g, block in enumerate(raw):
        _require(
            isinstance(block, dict),
            file,
            f"group {g}",
            None,
            "expected an object keyed by portrait id",
        )
        for portrait_key, opts in block.items():
            rec = f"group {g}, portrait {portrait_key}"
            portrait = _check_portrait_id(portrait_key, file, rec)
            _require(isinstance(opts, list), file, rec, None, "expected a list of options")
            for oi, opt in enumerate(opts):
                rec_o = f"{rec}, option entry {oi}"
                _require(
                    isinstance(opt, dict),
                    file,
                    rec_o,
                    None,
                    "expected an object with option_id and data",
                )
                _require("option_id" in opt, file, rec_o, "option_id", "missing")
                option = _check_option_id(opt["option_id"], file, rec_o)
                rec_o = f"{rec}, option {option}"
                _require(
                    "data" in opt and isinstance(opt["data"], list),
                    file,
                    rec_o,
                    "data",
                    "missing or not a list",
                )
                for ri, pair in enumerate(opt["data"]):
                    rec_r = f"{rec_o}, rating {ri}"
                    _require(
                        isinstance(pair, list) and len(pair) == 2,
                        file,
                        rec_r,
                        "data",
                        f"expected [rating, participant], got {pair!r}",
                    )
                    rating, pid = pair
                    _require(
                        _is_int_like(rating) or (isinstance(rating, float) and rating.is_integer()),
                        file,
                        rec_r,
                        "rating",
                        f"expected an integer 1-6, got {rating!r}"
                        + (" (NaN)" if isinstance(rating, float) and rating != rating else ""),
                    )
                    _require(
                        1 <= rating <= 6, file, rec_r, "rating", f"rating {rating!r} outside 1-6"
                    )
                    _require(
                        isinstance(pid, str) and pid.strip() != "",
                        file,
                        rec_r,
                        "participant",
                        f"expected a participant id string, got {pid!r}",
                    )
                    key = (pid, portrait, option)
                    if key in seen:
                        raise DataFormatError(
                            file,
                            f"{rec_r} (participant {pid})",
                            "participant",
                            f"duplicate rating: {pid} already rated portrait {portrait} option "
                            f"{option} ({seen[key]})",
                        )
                    seen[key] = rec_r
                    groups.append(g)
                    pids.append(pid)
                    portraits.append(portrait)
                    options.append(option)
                    ratings.append(int(rating))
    df = pd.DataFrame(
        {
            "group": np.asarray(groups, dtype=np.int64),
            "participant": pids,
            "portrait_id": np.asarray(portraits, dtype=np.int64),
            "option_id": np.asarray(options, dtype=np.int64),
            "rating": np.asarray(ratings, dtype=np.int64),
        }
    )
    return df


# --------------------------------------------------------------------------- items


def load_items(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 520 query-response items with their source, query and topic categories.

    Columns: ``portrait_id``, ``option_id``, ``source``, ``title``, ``text``,
    ``response``, ``categories`` (``"; "``-joined). Items come from the tagged
    query-response file (104 queries x 5 responses); categories are matched on
    the query's title and text.

    Examples
    --------
    >>> items = load_items()
    >>> len(items), items.source.value_counts().to_dict()["Reddit"]
    (520, 130)
    """
    file = fetch("data/query-response-tagged/query-response-tagged.json", data_dir)
    cat_file = fetch(QUERY_CATEGORIZED, data_dir)
    raw = read_json(file)
    cats_raw = read_json(cat_file)
    _require(isinstance(raw, list), file, None, None, "expected a list of queries")
    _require(isinstance(cats_raw, list), cat_file, None, None, "expected a list of queries")
    cats: dict[tuple, list[str]] = {}
    for i, q in enumerate(cats_raw):
        _require(
            isinstance(q, dict) and isinstance(q.get("content"), dict),
            cat_file,
            i,
            "content",
            "missing",
        )
        _require(
            isinstance(q.get("categories"), list),
            cat_file,
            i,
            "categories",
            "missing or not a list",
        )
        cats[(q["content"].get("title"), q["content"].get("text"))] = q["categories"]
    rows = []
    for i, q in enumerate(raw):
        _require(isinstance(q, dict), file, i, None, "expected an object")
        portrait = _check_portrait_id(q.get("portrait_id"), file, i)
        content = q.get("content")
        _require(
            isinstance(content, dict), file, f"{i} (portrait {portrait})", "content", "missing"
        )
        key = (content.get("title"), content.get("text"))
        _require(
            key in cats,
            file,
            f"{i} (portrait {portrait})",
            "content",
            f"query not found in {QUERY_CATEGORIZED}",
        )
        outputs = q.get("outputs")
        _require(
            isinstance(outputs, list) and len(outputs) == 5,
            file,
            f"{i} (portrait {portrait})",
            "outputs",
            "expected 5 responses",
        )
        for j, out in enumerate(outputs):
            rec = f"{i} (portrait {portrait}, output {j})"
            option = _check_option_id(out.get("id"), file, rec, "id")
            _require(
                isinstance(out.get("content"), str) and out["content"].strip() != "",
                file,
                rec,
                "content",
                "empty response text",
            )
            rows.append(
                (
                    portrait,
                    option,
                    schema.source_of(portrait),
                    content.get("title"),
                    content.get("text"),
                    out["content"],
                    "; ".join(cats[key]),
                )
            )
    df = pd.DataFrame(
        rows,
        columns=["portrait_id", "option_id", "source", "title", "text", "response", "categories"],
    )
    dup = df.duplicated(["portrait_id", "option_id"])
    _require(
        not dup.any(),
        file,
        None,
        "portrait_id/option_id",
        f"duplicate items: {df[dup].iloc[:1].to_dict('records')}",
    )
    return df.sort_values(["portrait_id", "option_id"], ignore_index=True)


# --------------------------------------------------------------------------- published correlations


def load_published_correlations(
    families: tuple[str, ...] | list[str] = schema.FAMILY_NAMES,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """The published item x dimension Spearman correlations, tidy.

    Columns: ``portrait_id``, ``option_id``, ``family``, ``dimension``, ``rho``,
    ``p_value``.

    Examples
    --------
    >>> pub = load_published_correlations()
    >>> pub.groupby("family").size().to_dict()
    {'bfi': 2600, 'higher_pvq': 2080, 'pvq': 5200}
    """
    frames = []
    for fam in families:
        if fam not in schema.FAMILIES:
            raise ValueError(f"unknown family {fam!r}; expected one of {schema.FAMILY_NAMES}")
        frames.append(_read_correlations(fetch(CORRELATIONS.format(family=fam), data_dir), fam))
    return pd.concat(frames, ignore_index=True)


@_per_file_version
def _read_correlations(file: Path, fam: str) -> pd.DataFrame:
    """One family's published correlation file: column by column, record by record only to
    name the first problem of a file that fails the column checks."""
    raw = read_json(file)
    _require(isinstance(raw, list), file, None, None, "expected a list of records")
    df = _correlations_fast(raw, fam)
    if df is None:
        df = _correlations_checked(raw, file, fam)
    dup = df.duplicated(["portrait_id", "option_id", "dimension"])
    _require(
        not dup.any(),
        file,
        int(np.flatnonzero(dup.to_numpy())[0]) if dup.any() else None,
        f"{fam}_dimension",
        "duplicate item x dimension record",
    )
    return df


def _correlations_fast(raw: list, fam: str) -> pd.DataFrame | None:
    """The checks of :func:`_correlations_checked` per column; None if any fails."""
    if not raw or not all(type(r) is dict for r in raw):
        return None
    fields = ("portrait_id", "option_id", f"{fam}_dimension", "spearman_corr", "spearman_p_value")
    cols = {f: [r.get(f) for r in raw] for f in fields}
    pid, oid, dim, rho, p = cols.values()
    if {type(x) for x in pid} == {str} and all(x.isdigit() for x in pid):
        pid = [int(x) for x in pid]
    types = [{type(x) for x in c} for c in (pid, oid, dim, rho, p)]
    if not (
        types[0] == {int}
        and types[1] == {int}
        and types[2] == {str}
        and types[3] <= {int, float}
        and types[4] <= {int, float}
    ):
        return None
    df = pd.DataFrame(
        {
            "portrait_id": np.array(pid, dtype=np.int64),
            "option_id": np.array(oid, dtype=np.int64),
            "family": fam,
            "dimension": dim,
            "rho": np.array(rho, dtype=float),
            "p_value": np.array(p, dtype=float),
        }
    )
    ok = (
        df["portrait_id"].between(1000, 4999).all()
        and df["option_id"].between(1, 5).all()
        and df["dimension"].isin(schema.FAMILIES[fam]).all()
        and df["rho"].between(-1, 1).all()
        and df["p_value"].between(0, 1).all()
    )
    return df if ok else None


def _correlations_checked(raw: list, file: Path, fam: str) -> pd.DataFrame:
    """One family's published correlation file, record by record: the first problem raises."""
    dim_field = f"{fam}_dimension"
    rows = []
    for i, rec in enumerate(raw):
        _require(isinstance(rec, dict), file, i, None, "expected an object")
        for f in ("portrait_id", "option_id", dim_field, "spearman_corr", "spearman_p_value"):
            _require(f in rec, file, i, f, "missing")
        portrait = _check_portrait_id(rec["portrait_id"], file, i)
        option = _check_option_id(rec["option_id"], file, i)
        dim = rec[dim_field]
        _require(dim in schema.FAMILIES[fam], file, i, dim_field, f"unknown dimension {dim!r}")
        rho, p = rec["spearman_corr"], rec["spearman_p_value"]
        _require(
            _is_number(rho) and -1 <= rho <= 1,
            file,
            i,
            "spearman_corr",
            f"expected a number in [-1, 1], got {rho!r}",
        )
        _require(
            _is_number(p) and 0 <= p <= 1,
            file,
            i,
            "spearman_p_value",
            f"expected a number in [0, 1], got {p!r}",
        )
        rows.append((portrait, option, fam, dim, float(rho), float(p)))
    return pd.DataFrame(
        rows, columns=["portrait_id", "option_id", "family", "dimension", "rho", "p_value"]
    )
