"""Real human reference data from R's psychTools package, read where R installed it.

psychTools (William Revelle; GPL) ships two SAPA samples with demographic
columns, which the released Value Portrait data lack:

* ``bfi``: 2,800 SAPA respondents (spring 2010), 25 IPIP Big Five items (``A1``
  ... ``O5``), ``gender``, ``education``, ``age``;
* ``spi``: 4,000 SAPA respondents, the 135 items of the SAPA Personality
  Inventory (``q_253`` ...), ``age``, ``sex``, ``education`` and seven more
  demographic and health variables; ``spi.keys`` and ``spi.dictionary`` give
  the scoring keys and item texts.

vp-stats never copies these data (GPL data in an MIT package): this module
finds the user's installed psychTools and reads its files in place. Install it
with ``apt-get install r-cran-psychtools`` (Debian, Ubuntu) or, in R,
``install.packages("psychTools")``.

Where the package is looked for, in order: an explicit ``path`` argument (the
``psychTools`` folder, or an R library folder holding it), else the
environment variable :data:`ENV_VAR` (``VP_PSYCHTOOLS``, same meaning), else
``Rscript -e 'cat(system.file(package="psychTools"))'`` (R's own
``.libPaths()``), else the ``library`` and ``site-library`` folders of
``R RHOME``, ``R_LIBS`` / ``R_LIBS_USER`` and the usual system folders. An
explicit path or ``VP_PSYCHTOOLS`` that does not hold psychTools is an error
(no silent fall-back to another copy).

File format. An installed R package keeps its data sets in a lazy-load
database (``data/Rdata.rdx``: index, ``data/Rdata.rdb``: one compressed,
serialized object per data set); a source layout may have ``data/bfi.rda``
instead. Data frames are decoded by :mod:`pyreadr` (librdata); the index and
the plain R lists that pyreadr does not read (``spi.keys``, ``bfi.keys``) and
integer row names go through :func:`_unserialize`, a small reader of R's XDR
serialization format (R Internals, "Serialization Formats")
limited to vectors, lists and pairlists: anything else raises.

Value codes (from the data sets' documentation, ``?bfi`` and ``?spi`` in R):

=====================  ======================================================
``bfi$gender``         1 = male, 2 = female (:data:`BFI_GENDER`)
``bfi$education``      1 = HS (in high school, no diploma), 2 = finished HS,
                       3 = some college, 4 = college graduate, 5 = graduate
                       degree (:data:`BFI_EDUCATION`); missing for many
``bfi$age``            age in years (3 ... 86)
``spi$sex``            1 = male, 2 = female ("coded by X chromosomes")
``spi$education``      1 less than 12 years, 2 HS grad, 3 current univ,
                       4 some univ, 5 associate degree, 6 college degree,
                       7 in grad/prof school, 8 grad/prof degree
                       (:data:`SPI_EDUCATION`, in the order of ``?spi``)
``spi$age``            age in years (11 ... 90)
``spi$health``         1 poor, 2 fair, 3 good, 4 very good, 5 excellent
``spi$exer``           exercise: 1 very rarely ... 6 more than 5 times a week
``spi$smoke``          1 never ... 9 more than 20 times a day
``spi$ER``             emergency room visits: 1 none, 2 once, 3 twice, 4 3 or more
                       (these four: :data:`SPI_CODE_LABELS`); ``p1edu``, ``p2edu``
                       (parents' education) and ``wellness`` (1-2) have no
                       documented labels
items                  1 very inaccurate ... 6 very accurate (both data sets)
=====================  ======================================================

Examples
--------
>>> try:
...     read_bfi("/nonexistent/R/library")
... except PsychToolsNotFoundError as exc:
...     print(str(exc).split(": ", 1)[1].split(";")[0])
file level: no psychTools package at /nonexistent/R/library
"""

from __future__ import annotations

import bz2
import functools
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from vp_stats import schema
from vp_stats.errors import DataFormatError
from vp_stats.stats.humans import HUMAN_SOURCES, score_keyed

__all__ = [
    "ENV_VAR",
    "INSTALL_HINT",
    "PsychToolsNotFoundError",
    "find_psychtools",
    "read_psychtools",
    "read_bfi",
    "read_spi",
    "bfi_keys",
    "spi_keys",
    "BFI_KEYS",
    "BFI_ITEMS",
    "BFI_GENDER",
    "BFI_EDUCATION",
    "SPI_SEX",
    "SPI_EDUCATION",
    "SPI_BIG5_SCALES",
    "SCALE_RANGE",
    "EDUCATION_TO_PERSONA",
    "psychtools_version",
    "sapa_scores",
    "SPI_CODE_LABELS",
    "group_columns",
    "label_group_column",
    "sapa_groups",
]

#: Environment variable naming the psychTools folder (or an R library holding it).
ENV_VAR = "VP_PSYCHTOOLS"

#: How to install the data (said by every error about missing data).
INSTALL_HINT = (
    "install R's psychTools package: 'apt-get install r-cran-psychtools' (Debian/Ubuntu), or in R "
    "'install.packages(\"psychTools\")'; or pass its folder as path= / --psychtools, or set "
    f"${ENV_VAR}"
)

#: Item answer scale of bfi and spi: 1 very inaccurate ... 6 very accurate.
SCALE_RANGE = (1, 6)

#: The bfi items per trait; a leading "-" marks a reverse-keyed item (recoded 7 - x).
#: From ``?bfi`` (the ``bfi.keys`` example, also shipped as the data set ``bfi.keys``).
BFI_KEYS = MappingProxyType(
    {
        "Agreeableness": ("-A1", "A2", "A3", "A4", "A5"),
        "Conscientiousness": ("C1", "C2", "C3", "-C4", "-C5"),
        "Extraversion": ("-E1", "-E2", "E3", "E4", "E5"),
        "Neuroticism": ("N1", "N2", "N3", "N4", "N5"),
        "Openness": ("O1", "-O2", "O3", "O4", "-O5"),
    }
)
#: The 25 bfi item columns in data-set order.
BFI_ITEMS: tuple[str, ...] = tuple(f"{t}{i}" for t in "ACENO" for i in range(1, 6))
#: ``bfi$gender`` codes.
BFI_GENDER = MappingProxyType({1: "male", 2: "female"})
#: ``bfi$education`` codes (``?bfi``: "1 = HS, 2 = finished HS, 3 = some college,
#: 4 = college graduate 5 = graduate degree").
BFI_EDUCATION = MappingProxyType(
    {
        1: "in high school",
        2: "finished high school",
        3: "some college",
        4: "college graduate",
        5: "graduate degree",
    }
)
#: ``spi$sex`` codes.
SPI_SEX = MappingProxyType({1: "male", 2: "female"})
#: ``spi$education`` codes 1..8, labels in the order of ``?spi``.
SPI_EDUCATION = MappingProxyType(
    {
        1: "less than 12 years",
        2: "high school graduate",
        3: "currently in university",
        4: "some university",
        5: "associate degree",
        6: "college degree",
        7: "in graduate or professional school",
        8: "graduate or professional degree",
    }
)
#: ``?spi``'s labels of the codes of its other demographic columns, in the order it lists them.
SPI_CODE_LABELS = MappingProxyType(
    {
        "health": MappingProxyType(
            {1: "poor", 2: "fair", 3: "good", 4: "very good", 5: "excellent"}
        ),
        "exer": MappingProxyType(
            {
                1: "very rarely",
                2: "less than once a month",
                3: "less than once a week",
                4: "1 or 2 times a week",
                5: "3-5 times a week",
                6: "more than 5 times a week",
            }
        ),
        "smoke": MappingProxyType(
            {
                1: "never",
                2: "not in the last year",
                3: "less than once a month",
                4: "less than once a week",
                5: "1-3 days a week",
                6: "most days",
                7: "up to 5 times a day",
                8: "up to 20 times a day",
                9: "more than 20 times a day",
            }
        ),
        "ER": MappingProxyType({1: "none", 2: "once", 3: "twice", 4: "3 or more times"}),
    }
)
#: The Big Five scales of ``spi.keys`` and the trait names of :data:`vp_stats.schema.BFI_TRAITS`.
SPI_BIG5_SCALES = MappingProxyType(
    {
        "Agree": "Agreeableness",
        "Consc": "Conscientiousness",
        "Extra": "Extraversion",
        "Neuro": "Neuroticism",
        "Open": "Openness",
    }
)
_BFI_KEY_NAMES = {
    "agree": "Agreeableness",
    "conscientious": "Conscientiousness",
    "extraversion": "Extraversion",
    "neuroticism": "Neuroticism",
    "openness": "Openness",
}

#: Education levels mapped to the paper's four persona levels
#: (:data:`vp_stats.instruments.personas.PAPER_PERSONA_LEVELS`). A choice of vp-stats:
#: no degree beyond secondary school is "high school" (bfi "some college",
#: spi "currently in / some university", "associate degree"); a bachelor's
#: degree holder still studying is "bachelor's degree".
EDUCATION_TO_PERSONA = MappingProxyType(
    {
        "bfi": MappingProxyType(
            {
                1: "less than high school",
                2: "high school",
                3: "high school",
                4: "bachelor's degree",
                5: "graduate degree",
            }
        ),
        "spi": MappingProxyType(
            {
                1: "less than high school",
                2: "high school",
                3: "high school",
                4: "high school",
                5: "high school",
                6: "bachelor's degree",
                7: "bachelor's degree",
                8: "graduate degree",
            }
        ),
    }
)


class PsychToolsNotFoundError(DataFormatError):
    """psychTools (or one of its data sets) is not where it was looked for; says how to get it."""


# --------------------------------------------------------------------------- finding the package


def _is_psychtools(p: Path) -> bool:
    data = p / "data"
    if not data.is_dir():
        return False
    desc = p / "DESCRIPTION"
    if desc.is_file():
        try:
            head = desc.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        if "Package: psychTools" not in head:
            return False
    return (data / "Rdata.rdx").is_file() or any(data.glob("bfi.*")) or any(data.glob("spi.*"))


def _resolve(p: Path) -> Path | None:
    for cand in (p, p / "psychTools"):
        if _is_psychtools(cand):
            return cand
    if p.name == "data" and _is_psychtools(p.parent):
        return p.parent
    return None


def _r_library_dirs() -> list[Path]:
    dirs: list[Path] = []
    for var in ("R_LIBS", "R_LIBS_USER", "R_LIBS_SITE"):
        dirs += [Path(x) for x in os.environ.get(var, "").split(os.pathsep) if x]
    r = shutil.which("R")
    if r:
        try:
            res = subprocess.run([r, "RHOME"], capture_output=True, text=True, timeout=60)
            home = res.stdout.strip()
            if res.returncode == 0 and home:
                dirs += [Path(home) / "library", Path(home) / "site-library"]
        except (OSError, subprocess.SubprocessError):
            pass
    dirs += [
        Path(p)
        for p in (
            "/usr/lib/R/site-library",
            "/usr/local/lib/R/site-library",
            "/usr/lib/R/library",
            "/usr/local/lib/R/library",
            "/usr/lib64/R/library",
            "/opt/homebrew/lib/R/library",
            "/Library/Frameworks/R.framework/Resources/library",
        )
    ]
    return dirs


@functools.lru_cache(maxsize=1)
def _auto_find() -> tuple[str | None, tuple[str, ...]]:
    """(psychTools folder or None, the places searched)."""
    searched: list[str] = []
    rscript = shutil.which("Rscript")
    if rscript:
        searched.append("Rscript system.file(package='psychTools')")
        try:
            res = subprocess.run(
                [
                    rscript,
                    "-e",
                    'cat("VPSTATS_PKG=", system.file(package="psychTools"), "\\n", sep="")',
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            for line in res.stdout.splitlines():
                if line.startswith("VPSTATS_PKG=") and line[12:].strip():
                    found = _resolve(Path(line[12:].strip()))
                    if found is not None:
                        return str(found), tuple(searched)
        except (OSError, subprocess.SubprocessError):
            pass
    else:
        searched.append("Rscript (not on PATH)")
    for d in _r_library_dirs():
        searched.append(str(d))
        found = _resolve(d)
        if found is not None:
            return str(found), tuple(searched)
    return None, tuple(searched)


def find_psychtools(path: str | os.PathLike | None = None) -> Path:
    """The folder of the installed psychTools package (see the module notes for the search order).

    Parameters
    ----------
    path : path-like, optional
        The ``psychTools`` folder, its ``data`` folder, or an R library folder
        holding it. Default: ``$VP_PSYCHTOOLS``, else R's own library paths.

    Raises
    ------
    PsychToolsNotFoundError
        (a :class:`~vp_stats.errors.DataFormatError`) naming where it looked and
        how to install the package.

    Examples
    --------
    >>> try:
    ...     find_psychtools("/nonexistent")
    ... except PsychToolsNotFoundError as exc:
    ...     "apt-get install r-cran-psychtools" in str(exc)
    True
    """
    if path is None and os.environ.get(ENV_VAR):
        p = Path(os.environ[ENV_VAR]).expanduser()
        found = _resolve(p)
        if found is None:
            raise PsychToolsNotFoundError(
                p, None, None, f"no psychTools package at ${ENV_VAR}={p}; {INSTALL_HINT}"
            )
        return found
    if path is not None:
        p = Path(path).expanduser()
        found = _resolve(p)
        if found is None:
            raise PsychToolsNotFoundError(
                p, None, None, f"no psychTools package at {p}; {INSTALL_HINT}"
            )
        return found
    found, searched = _auto_find()
    if found is None:
        raise PsychToolsNotFoundError(
            "psychTools",
            None,
            None,
            f"R package not found (searched: {'; '.join(searched)}); {INSTALL_HINT}",
        )
    return Path(found)


def psychtools_version(path: str | os.PathLike | None = None) -> str | None:
    """The ``Version:`` of the psychTools found (from its DESCRIPTION), or None if it has none."""
    desc = find_psychtools(path) / "DESCRIPTION"
    if desc.is_file():
        for line in desc.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


# --------------------------------------------------------------------------- R serialization


class _Reader:
    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.buf, self.pos)
        self.pos += 4
        return v

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("truncated R serialization")
        self.pos += n
        return out

    def length(self) -> int:
        n = self.int()
        if n == -1:  # long vector: two 32-bit halves
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n


class _RList(list):
    """An R vector or list read by :func:`_unserialize`, with its R attributes in ``r_attributes``.

    (R's own attributes, ``names``, ``class``, ``row.names``; not a DataFrame's ``attrs``.)
    """

    r_attributes: dict


_NA_INT = -(2**31)
_SPECIAL = {254: None, 242: None, 241: None, 253: None, 251: None, 252: None}


def _item(r: _Reader, refs: list):
    flags = r.int()
    t = flags & 0xFF
    has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
    if t in _SPECIAL:  # NILVALUE, EMPTYENV, BASEENV, GLOBALENV, MISSINGARG, UNBOUNDVALUE
        return None
    if t == 255:  # REFSXP
        k = flags >> 8
        return refs[(k or r.int()) - 1]
    if t == 1:  # SYMSXP
        sym = ("symbol", _item(r, refs))
        refs.append(sym)
        return sym
    if t == 2:  # LISTSXP: (tag, value) pairs until NILVALUE
        pairs = []
        while True:
            if has_attr:
                _item(r, refs)
            tag = _item(r, refs) if has_tag else None
            pairs.append((tag[1] if isinstance(tag, tuple) else tag, _item(r, refs)))
            nxt = r.int()
            if nxt & 0xFF == 254:
                return pairs
            if nxt & 0xFF != 2:
                raise ValueError(f"unsupported R pairlist tail (SEXP type {nxt & 0xFF})")
            has_attr, has_tag = bool(nxt & (1 << 9)), bool(nxt & (1 << 10))
    if t == 9:  # CHARSXP
        n = r.int()
        if n == -1:
            return None
        enc = "latin-1" if flags & (1 << 14) else "utf-8"  # LATIN1_MASK in the levels
        return r.raw(n).decode(enc, errors="replace")
    if t in (10, 13, 14, 16, 19, 20):  # LGLSXP INTSXP REALSXP STRSXP VECSXP EXPRSXP
        n = r.length()
        if t in (10, 13):
            v = list(struct.unpack_from(f">{n}i", r.buf, r.pos))
            r.pos += 4 * n
            v = [None if x == _NA_INT else x for x in v]
        elif t == 14:
            v = list(struct.unpack_from(f">{n}d", r.buf, r.pos))
            r.pos += 8 * n
        else:
            v = [_item(r, refs) for _ in range(n)]
        out = _RList(v)
        out.r_attributes = dict(_item(r, refs)) if has_attr else {}
        return out
    raise ValueError(f"unsupported R object (SEXP type {t}) for vp-stats' R reader")


def _unserialize(buf: bytes):
    """Decode R's XDR serialization (``serialize()`` / ``saveRDS`` content, version 2 or 3).

    Vectors come back as lists with an ``r_attributes`` dict (``names``, ``class``,
    ``row.names`` ...); pairlists as lists of ``(tag, value)``.

    Examples
    --------
    >>> # R: serialize(c(a = 1L, b = 2L), NULL, version = 2)
    >>> b = bytes.fromhex("580a0000000200040202000203000000020d00000002000000010000000200000402"
    ...                   "0000000100040009000000056e616d657300000010000000020004000900000001"
    ...                   "61000400090000000162000000fe")
    >>> v = _unserialize(b)
    >>> list(v), v.r_attributes["names"]
    ([1, 2], ['a', 'b'])
    """
    if buf[:2] != b"X\n":
        raise ValueError("not R's XDR serialization format")
    r = _Reader(buf, 2)
    version = r.int()
    r.int(), r.int()
    if version == 3:
        r.raw(r.int())  # native encoding
    elif version != 2:
        raise ValueError(f"unsupported R serialization version {version}")
    return _item(r, [])


def _named(v) -> dict:
    names = v.r_attributes.get("names") if isinstance(v, _RList) else None
    if names is None:
        raise ValueError("expected a named R list")
    return dict(zip(names, v, strict=True))


def _decompress(blob: bytes, compressed) -> bytes:
    """One entry of a lazy-load database: 4-byte length, then the (compressed) serialization."""
    (n,) = struct.unpack(">I", blob[:4])
    kind = compressed[0] if isinstance(compressed, list) else compressed
    if kind in (True, 1):
        out = zlib.decompress(blob[4:])
    elif kind in (2, 3):  # type byte then data: '0' none, '1' zlib, '2' bzip2, 'Z' xz
        typ, body = blob[4:5], blob[5:]
        out = {
            b"0": lambda b: b,
            b"1": zlib.decompress,
            b"2": bz2.decompress,
            b"Z": lzma.decompress,
        }[typ](body)
    else:
        out = blob[4:]
    if len(out) != n:
        raise ValueError(f"lazy-load entry decompressed to {len(out)} bytes, expected {n}")
    return out


def _lazyload(pkg: Path, name: str) -> bytes:
    data = pkg / "data"
    index = _unserialize(gzip.decompress((data / "Rdata.rdx").read_bytes()))
    idx = _named(index)
    variables = _named(idx["variables"])
    if name not in variables:
        raise PsychToolsNotFoundError(
            data / "Rdata.rdx",
            None,
            name,
            f"this psychTools has no data set {name!r} (has {len(variables)}); {INSTALL_HINT}",
        )
    off, length = variables[name]
    with open(data / "Rdata.rdb", "rb") as fh:
        fh.seek(off)
        blob = fh.read(length)
    return _decompress(blob, idx.get("compressed", [True]))


def _data_frame_from_rds_bytes(buf: bytes) -> pd.DataFrame:
    import pyreadr

    with tempfile.TemporaryDirectory(prefix="vp_psychtools_") as tmp:
        f = Path(tmp) / "object.rds"
        f.write_bytes(buf)
        res = pyreadr.read_r(str(f))
    return next(iter(res.values()))


def _row_names(obj) -> list | None:
    rn = obj.r_attributes.get("row.names") if isinstance(obj, _RList) else None
    if rn is None:
        return None
    if len(rn) == 2 and rn[0] is None:  # compact form c(NA, -n): automatic row names
        return None
    return [str(x) for x in rn]


def _unreadable(file: Path, name: str, exc: Exception) -> DataFormatError:
    """The error for a psychTools file that exists but cannot be decoded (corrupt, truncated, not
    R data): names the file and the data set."""
    if isinstance(exc, OSError) and exc.errno is not None:  # permissions, I/O: not corruption
        return DataFormatError(file, None, name, f"cannot read this file: {exc.strerror}")
    return DataFormatError(
        file,
        None,
        name,
        f"cannot read this data set: the file is corrupt or not R data ({type(exc).__name__}: "
        f"{str(exc)[:200]}); reinstall psychTools ({INSTALL_HINT})",
    )


@functools.lru_cache(maxsize=16)
def _read_cached(pkg: str, name: str, mtime: float):
    p = Path(pkg)
    data = p / "data"
    if (data / "Rdata.rdx").is_file():
        try:
            return _read_lazyload(p, name)
        except DataFormatError:
            raise
        except Exception as exc:  # noqa: BLE001 - zlib, lzma, gzip, librdata: all say "corrupt"
            raise _unreadable(data / "Rdata.rdb", name, exc) from exc
    for ext in (".rda", ".RData", ".rdata", ".rds"):
        f = data / f"{name}{ext}"
        if f.is_file():
            import pyreadr

            try:
                res = pyreadr.read_r(str(f))
            except Exception as exc:  # noqa: BLE001 - librdata's errors are plain Exceptions
                raise _unreadable(f, name, exc) from exc
            obj = res.get(name, next(iter(res.values())) if len(res) == 1 else None)
            if obj is None:
                raise PsychToolsNotFoundError(
                    f, None, name, f"no object {name!r} readable in the file"
                )
            if isinstance(obj.index, pd.RangeIndex):
                obj.index = pd.Index(np.arange(1, len(obj) + 1).astype(str), name="row")
            return obj
    raise PsychToolsNotFoundError(
        data, None, name, f"this psychTools has no data set {name!r}; {INSTALL_HINT}"
    )


def _read_lazyload(p: Path, name: str):
    """A data set from an installed package's lazy-load database (``Rdata.rdx``/``.rdb``)."""
    buf = _lazyload(p, name)
    obj = _unserialize(buf)
    cls = obj.r_attributes.get("class") if isinstance(obj, _RList) else None
    if cls is not None and "data.frame" in cls:
        df = _data_frame_from_rds_bytes(buf)
        rn = _row_names(obj)
        df.index = pd.Index(
            rn if rn is not None else np.arange(1, len(df) + 1).astype(str), name="row"
        )
        return df
    return obj


def read_psychtools(name: str, path: str | os.PathLike | None = None):
    """One psychTools data set: a DataFrame (data frames, index = R row names) or a dict (R lists).

    Examples
    --------
    >>> try:
    ...     read_psychtools("bfi", "/nonexistent")
    ... except PsychToolsNotFoundError as exc:
    ...     "install.packages" in str(exc)
    True
    """
    pkg = find_psychtools(path)
    stamp = max((f.stat().st_mtime for f in (pkg / "data").iterdir()), default=0.0)
    try:
        obj = _read_cached(str(pkg), name, stamp)
    except (OSError, ValueError, zlib.error, lzma.LZMAError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(
            pkg / "data", None, name, f"cannot read this data set ({exc})"
        ) from exc
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    if isinstance(obj, _RList):
        names = obj.r_attributes.get("names")
        if names is not None:
            return {
                k: list(v) if isinstance(v, list) else v for k, v in zip(names, obj, strict=True)
            }
        return list(obj)
    return obj


# --------------------------------------------------------------------------- the two samples


def _code_column(df: pd.DataFrame, col: str, codes: Mapping, file, source: str) -> np.ndarray:
    x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(x) & ~np.isin(x, list(codes))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            file,
            f"row {df.index[r]!r} of {source}",
            col,
            f"value {x[r]!r} is not one of the documented codes {dict(codes)}",
        )
    return x


def _items(df: pd.DataFrame, cols, file, source: str) -> pd.DataFrame:
    lo, hi = SCALE_RANGE
    X = df[list(cols)].apply(pd.to_numeric, errors="coerce").astype(float)
    v = X.to_numpy()
    bad = ~np.isnan(v) & ((v < lo) | (v > hi) | (v != np.round(v)))
    if bad.any():
        r, c = (int(a[0]) for a in np.nonzero(bad))
        raise DataFormatError(
            file,
            f"row {df.index[r]!r} of {source}",
            cols[c],
            f"answer {v[r, c]!r} outside the {lo}-{hi} scale",
        )
    return X


def _demographics(df, sex_col, sex_codes, edu_codes, edu_map, file, source):
    from vp_stats.instruments.personas import age_band

    sex = _code_column(df, sex_col, sex_codes, file, source)
    edu = _code_column(df, "education", edu_codes, file, source)
    age = pd.to_numeric(df["age"], errors="coerce").to_numpy(dtype=float)
    gender = pd.Series(sex).map(dict(sex_codes)).astype(object).to_numpy()
    edu_detail = pd.Series(edu).map(dict(edu_codes)).astype(object).to_numpy()
    education = pd.Series(edu).map(dict(edu_map)).astype(object).to_numpy()
    return pd.DataFrame(
        {
            "participant": [f"{source}:{i}" for i in df.index],
            "gender": gender,
            "age": age,
            "age_band": age_band(age),
            "education": education,
            "education_detail": edu_detail,
            "education_code": edu,
        }
    )


def read_bfi(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """psychTools ``bfi``: one row per respondent, demographics labelled, items as floats.

    Returns
    -------
    DataFrame
        ``participant`` (``"bfi:<SAPA row name>"``), ``gender`` (``"male"``
        / ``"female"``), ``age`` (years), ``age_band`` (the paper's persona
        bands, :func:`vp_stats.instruments.personas.age_band`; under 18 missing),
        ``education`` (the paper's four persona levels,
        :data:`EDUCATION_TO_PERSONA`), ``education_detail`` (the documented
        label), ``education_code`` (1-5), then ``A1`` ... ``O5`` (1-6, missing NaN).

    Examples
    --------
    >>> try:
    ...     read_bfi("/nonexistent")
    ... except PsychToolsNotFoundError as exc:
    ...     "r-cran-psychtools" in str(exc)
    True
    """
    df = read_psychtools("bfi", path)
    file = find_psychtools(path) / "data"
    missing = [c for c in (*BFI_ITEMS, "gender", "education", "age") if c not in df.columns]
    if missing:
        raise DataFormatError(file, None, missing[0], f"bfi lacks column(s) {missing}")
    demo = _demographics(
        df, "gender", BFI_GENDER, BFI_EDUCATION, EDUCATION_TO_PERSONA["bfi"], file, "bfi"
    )
    items = _items(df, BFI_ITEMS, file, "bfi").reset_index(drop=True)
    return pd.concat([demo, items], axis=1)


def spi_keys(path: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """psychTools ``spi.keys``: scale -> items (``"-q_1896"``: reverse keyed), 5 + 27 scales.

    Examples
    --------
    >>> try:
    ...     spi_keys("/nonexistent")
    ... except PsychToolsNotFoundError:
    ...     print("not installed here")
    not installed here
    """
    keys = read_psychtools("spi.keys", path)
    if not isinstance(keys, dict):
        raise DataFormatError(find_psychtools(path) / "data", None, "spi.keys", "not a named list")
    return {k: tuple(v) for k, v in keys.items()}


def bfi_keys(path: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """psychTools ``bfi.keys`` as shipped, with the trait names of :data:`BFI_KEYS`."""
    keys = read_psychtools("bfi.keys", path)
    return {_BFI_KEY_NAMES.get(k, k): tuple(v) for k, v in keys.items()}


def read_spi(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """psychTools ``spi``: one row per respondent, demographics labelled, the 135 items as floats.

    Returns
    -------
    DataFrame
        ``participant`` (``"spi:<row>"``), ``gender`` (from ``sex``), ``age``,
        ``age_band``, ``education``, ``education_detail``, ``education_code``
        (1-8), the other demographic columns of ``spi`` as numbers (``health``,
        ``p1edu``, ``p2edu``, ``wellness``, ``exer``, ``smoke``, ``ER``; codes in
        ``?spi``), then the item columns ``q_...`` (1-6, missing NaN).
    """
    df = read_psychtools("spi", path)
    file = find_psychtools(path) / "data"
    for c in ("sex", "education", "age"):
        if c not in df.columns:
            raise DataFormatError(file, None, c, "spi lacks this column")
    demo = _demographics(
        df, "sex", SPI_SEX, SPI_EDUCATION, EDUCATION_TO_PERSONA["spi"], file, "spi"
    )
    item_cols = [c for c in df.columns if str(c).startswith("q_")]
    other = [c for c in df.columns if c not in item_cols and c not in ("sex", "education", "age")]
    rest = df[other].apply(pd.to_numeric, errors="coerce").astype(float).reset_index(drop=True)
    items = _items(df, item_cols, file, "spi").reset_index(drop=True)
    return pd.concat([demo, rest, items], axis=1)


def sapa_scores(
    source: str = "sapa-bfi",
    path: str | os.PathLike | None = None,
    *,
    scales: str = "big5",
    min_items: int = 1,
) -> pd.DataFrame:
    """Scored SAPA respondents of psychTools, tidy, with their demographics.

    Parameters
    ----------
    source : {"sapa-bfi", "sapa-spi"}
        :data:`HUMAN_SOURCES`.
    path : path-like, optional
        The psychTools folder (default: found through R, see
        :func:`vp_stats.io.psychtools.find_psychtools`).
    scales : {"big5", "all"}
        ``"all"`` (spi only) adds the 27 narrower SPI scales (family ``"spi27"``).

    Returns
    -------
    DataFrame
        ``participant, source, gender, age, age_band, education,
        education_detail, family ("bfi"), dimension`` (trait names of
        :data:`vp_stats.schema.BFI_TRAITS`), ``score`` (mean item answer,
        1-6), ``n_items``. Keys: :data:`vp_stats.io.psychtools.BFI_KEYS` for
        bfi, the shipped ``spi.keys`` for spi.

    Raises
    ------
    vp_stats.io.psychtools.PsychToolsNotFoundError
        psychTools is not installed (the message says how to install it).

    Examples
    --------
    >>> try:
    ...     sapa_scores("sapa-bfi", "/nonexistent")
    ... except Exception as exc:
    ...     "r-cran-psychtools" in str(exc)
    True
    """
    if source not in HUMAN_SOURCES:
        raise ValueError(f"unknown human source {source!r}; one of {list(HUMAN_SOURCES)}")
    if scales not in ("big5", "all"):
        raise ValueError(f"scales must be 'big5' or 'all', got {scales!r}")
    if source == "sapa-bfi":
        if scales != "big5":
            raise ValueError("sapa-bfi has the Big Five scales only (scales='big5')")
        raw = read_bfi(path)
        keyed = {"bfi": dict(BFI_KEYS)}
    else:
        raw = read_spi(path)
        keys = spi_keys(path)
        keyed = {"bfi": {SPI_BIG5_SCALES[k]: keys[k] for k in SPI_BIG5_SCALES}}
        if scales == "all":
            keyed["spi27"] = {k: v for k, v in keys.items() if k not in SPI_BIG5_SCALES}
    demo_cols = ["participant", "gender", "age", "age_band", "education", "education_detail"]
    frames = []
    for fam, k in keyed.items():
        sc = score_keyed(raw, k, scale=SCALE_RANGE, min_items=min_items)
        sc.insert(1, "family", fam)
        frames.append(sc)
    sc = pd.concat(frames, ignore_index=True)
    out = sc.merge(raw[demo_cols], on="participant", how="left", validate="many_to_one")
    out.insert(1, "source", source)
    order = {t: i for i, t in enumerate(schema.BFI_TRAITS)}
    out = out.assign(
        _f=(out["family"] != "bfi").astype(int), _o=out["dimension"].map(order).fillna(99)
    )
    pid = {p: i for i, p in enumerate(raw["participant"])}
    out = out.assign(_p=out["participant"].map(pid)).sort_values(["_f", "_p", "_o"], kind="stable")
    cols = ["participant", "source", *demo_cols[1:], "family", "dimension", "score", "n_items"]
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------- groups by any column


#: Columns of :func:`read_bfi` / :func:`read_spi` that are not data columns of psychTools.
_DERIVED = ("participant", "education_detail", "education_code")


def group_columns(raw: pd.DataFrame) -> list[str]:
    """The columns a SAPA sample's respondents can be grouped by (``sapa_groups``' names).

    Every demographic column of the data set as psychTools names it (bfi: ``gender``,
    ``education``, ``age``; spi: ``sex``, ``age``, ``health``, ``p1edu``, ``p2edu``,
    ``education``, ``wellness``, ``exer``, ``smoke``, ``ER``), plus ``gender`` for spi
    (its ``sex``) and ``age_band`` (the paper's persona bands).
    """
    items = set(BFI_ITEMS)
    cols = [
        c
        for c in raw.columns
        if c not in _DERIVED and c not in items and not str(c).startswith("q_")
    ]
    if "sex" not in cols and "age_band" in cols and "health" in raw.columns:
        cols.insert(1, "sex")
    return cols


def label_group_column(
    raw: pd.DataFrame, column: str, *, source: str = "sapa", n_bands: int = 4, max_levels: int = 12
) -> pd.Series:
    """One column of a SAPA sample as group labels, one per respondent (missing: None).

    * documented codes become psychTools' labels: ``gender``/``sex``
      (:data:`BFI_GENDER`), ``education`` (the full documented levels,
      :data:`BFI_EDUCATION` / :data:`SPI_EDUCATION`; the paper's four persona levels are
      the group ``education`` of ``personas humans --group``), spi's ``health``,
      ``exer``, ``smoke``, ``ER`` (:data:`SPI_CODE_LABELS`);
    * ``age_band``: the paper's persona age bands;
    * a numeric column with more than ``max_levels`` distinct values (``age``): its
      ``n_bands`` quantile bands (:func:`pandas.qcut`, ties kept together), each labelled
      by the smallest and largest value in it (``"18-22"``);
    * any other coded column (``p1edu``, ``p2edu``, ``wellness``): the code itself,
      labelled as such (``"p1edu code 3"``): psychTools documents no labels for them.

    ``raw`` is :func:`read_bfi` or :func:`read_spi`. An unknown column is a
    ``ValueError`` naming it and the columns there are (:func:`group_columns`).

    Examples
    --------
    >>> raw = pd.DataFrame({"participant": ["a", "b", "c", "d"], "age": [20, 30, 40, 50],
    ...                     "gender": ["male", "female", "male", None]})
    >>> label_group_column(raw, "age", n_bands=2, max_levels=3).tolist()
    ['20-30', '20-30', '40-50', '40-50']
    >>> label_group_column(raw, "height")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --group-col height: sapa has no such column; available: age, gender
    """
    available = group_columns(raw)
    if column not in available:
        raise ValueError(
            f"--group-col {column}: {source} has no such column; available: {', '.join(available)}"
        )
    if column == "sex":
        column = "gender"
    if column == "education" and "education_detail" in raw.columns:
        column = "education_detail"
    if column in ("gender", "age_band", "education_detail") or raw[column].dtype == object:
        lab = raw[column].astype(object)
        return lab.where(lab.notna(), None).rename(column.replace("_detail", ""))
    x = pd.to_numeric(raw[column], errors="coerce")
    if column in SPI_CODE_LABELS:
        lab = x.map(dict(SPI_CODE_LABELS[column]))
    elif x.nunique() > max_levels:
        band = pd.qcut(x, n_bands, labels=False, duplicates="drop")
        lo, hi = x.groupby(band).min(), x.groupby(band).max()
        lab = band.map({b: f"{lo[b]:g}-{hi[b]:g}" for b in lo.index})
    else:
        lab = x.map(lambda v: f"{column} code {v:g}" if pd.notna(v) else None)
    return lab.astype(object).where(lab.notna(), None).rename(column)


def sapa_groups(
    source: str,
    columns,
    path: str | os.PathLike | None = None,
    *,
    n_bands: int = 4,
) -> pd.DataFrame:
    """A SAPA sample's respondents labelled by the named columns (:func:`label_group_column`).

    Returns
    -------
    DataFrame
        ``participant`` and one column of labels per name in ``columns`` (named as given).

    Examples
    --------
    >>> try:
    ...     sapa_groups("sapa-bfi", ["gender"], "/nonexistent")
    ... except PsychToolsNotFoundError:
    ...     print("not installed here")
    not installed here
    """
    if source not in HUMAN_SOURCES:
        raise ValueError(f"unknown human source {source!r}; one of {list(HUMAN_SOURCES)}")
    raw = read_bfi(path) if source == "sapa-bfi" else read_spi(path)
    out = pd.DataFrame({"participant": raw["participant"]})
    for c in columns:
        out[c] = label_group_column(raw, c, source=source, n_bands=n_bands).to_numpy()
    return out
