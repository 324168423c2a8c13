"""Run every benchmark in turn (make bench); each prints ratios to a baseline of the same run."""

import runpy
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))
for name in (
    "bench_cli",
    "bench_validation",
    "bench_spearman",
    "bench_scoring",
    "bench_runner",
    "bench_templates",
):
    print(f"== {name}")
    runpy.run_path(str(here / f"{name}.py"), run_name="__main__")
