"""Run R (psych) as an independent reference for the tests: one Rscript call per batch.

``available()`` finds Rscript with the psych package; ``make r-deps`` (part of
``make test``) installs them from Debian's packages, the tests never do. Without
them the R comparisons skip with the printed reason. ``run(script, data)`` writes the
matrices in ``data`` to CSV files, runs ``script`` in one Rscript process (the
matrices are bound to R variables of the same names, and ``out(name, x)``
records a numeric result) and returns the results as numpy arrays.

References that never change (R's outputs on fixed data) are also stored under
``tests/fixtures/r/`` beside the R script that made them (``make_<name>.R``);
``stored(name)`` reads them in the same form as ``run`` returns, so the tests compare
with them always and with a live R run where R is installed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_PRELUDE = r"""
suppressPackageStartupMessages(library(psych))
.out_file <- file(Sys.getenv("VP_R_OUT"), open = "w")
out <- function(name, x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "NA", sprintf("%.17g", x))
  writeLines(paste0(name, "=", paste(s, collapse = " ")), .out_file)
}
"""


def _has_psych(rscript: str) -> bool:
    try:
        res = subprocess.run(
            [rscript, "-e", "suppressPackageStartupMessages(library(psych))"],
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


@functools.lru_cache(maxsize=1)
def available() -> tuple[str | None, str]:
    """Return ``(path to Rscript, "")`` or ``(None, reason)``."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None, "Rscript not found (make r-deps installs R and psych from Debian's packages)"
    if not _has_psych(rscript):
        return None, "R has no psych package (make r-deps installs r-cran-psych)"
    return rscript, ""


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "r"


def stored(name: str) -> dict[str, np.ndarray]:
    """R's stored outputs ``tests/fixtures/r/<name>.csv`` (``name, index, value``) as ``run`` gives.

    Each name's values are returned in ``index`` order as a float array (R's NA as NaN).
    """
    table = pd.read_csv(FIXTURES / f"{name}.csv", na_values=["NA"], keep_default_na=False)
    return {
        key: grp.sort_values("index")["value"].to_numpy(dtype=float)
        for key, grp in table.groupby("name", sort=False)
    }


def run(
    script: str, data: dict[str, object] | None = None, timeout: float = 300
) -> dict[str, np.ndarray]:
    """Run ``script`` in one Rscript process and return what it passed to ``out``.

    ``data`` maps R variable names to 2-D arrays or DataFrames (numeric), bound
    as numeric matrices before ``script`` runs. Values are returned as float
    arrays (R's NA as NaN), keyed by the name given to ``out``.
    """
    rscript, reason = available()
    if rscript is None:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory(prefix="vp_r_") as tmp:
        tmp = Path(tmp)
        lines = [_PRELUDE]
        for name, mat in (data or {}).items():
            arr = np.asarray(mat.to_numpy() if isinstance(mat, pd.DataFrame) else mat, dtype=float)
            if arr.ndim != 2:
                raise ValueError(f"{name}: expected a 2-D matrix, got shape {arr.shape}")
            path = tmp / f"{name}.csv"
            np.savetxt(path, arr, delimiter=",", fmt="%.17g")
            lines.append(
                f'{name} <- as.matrix(read.csv("{path.as_posix()}", header = FALSE)); '
                f'colnames({name}) <- paste0("V", seq_len(ncol({name})))'
            )
        lines.append(script)
        lines.append("close(.out_file)")
        (tmp / "script.R").write_text("\n".join(lines), encoding="utf-8")
        out = tmp / "out.txt"
        res = subprocess.run(
            [rscript, "--vanilla", str(tmp / "script.R")],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "VP_R_OUT": str(out)},
        )
        if res.returncode != 0:
            raise RuntimeError(f"Rscript failed ({res.returncode}):\n{res.stderr[-3000:]}")
        results: dict[str, np.ndarray] = {}
        for line in out.read_text(encoding="utf-8").splitlines():
            name, _, vals = line.partition("=")
            results[name] = np.array(
                [np.nan if v == "NA" else float(v) for v in vals.split()], dtype=float
            )
        return results
