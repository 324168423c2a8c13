"""Make the tests folder importable, so helper modules (r_reference) are imported by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
