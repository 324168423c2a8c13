"""Test-wide set-up: point the data cache at the upstream mirror beside the project.

CI clones the project next to ``shared/``, whose ``data/valueportrait`` is a byte-identical
mirror of the pinned upstream files. When ``VP_DATA_DIR`` is not set and the mirror is there,
tests read it, so nothing is downloaded (hashes are still verified).
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

_MIRROR = Path(__file__).resolve().parent.parent / "shared" / "data" / "valueportrait"
if not os.environ.get("VP_DATA_DIR") and (_MIRROR / "SHA256SUMS").exists():
    os.environ["VP_DATA_DIR"] = str(_MIRROR)
