"""Start-up of the command line: ``vp-stats --help`` against bare Python and ``import pandas``.

Each command is a fresh interpreter (what a user waits for), best of several runs; wall and CPU
time (user + system, of the child) are printed with the baselines measured in the same run.
Goal: ``vp-stats --help`` and ``vp-stats COMMAND --help`` under 0.5 s wall, i.e. no heavy
library imported before a command runs (``tests/cli/test_cli_startup.py`` counts the modules).
On a busy machine (load average above 3/4 of the cores) wall times measure the other jobs, so
the verdict is then on CPU time, which a quiet machine's wall time of a one-thread start-up is
close to.

Run: python benchmarks/bench_cli.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

REPEAT = 5

CASES = [
    ("python -c pass (baseline: the interpreter)", ["-c", "pass"]),
    ('python -c "import pandas" (baseline)', ["-c", "import pandas"]),
    ("vp-stats --help", ["-m", "vp_stats", "--help"]),
    ("vp-stats validate --help", ["-m", "vp_stats", "validate", "--help"]),
    ("vp-stats reproduce --help", ["-m", "vp_stats", "reproduce", "--help"]),
    ("vp-stats run-llm --help", ["-m", "vp_stats", "run-llm", "--help"]),
    ("vp-stats personas run --help", ["-m", "vp_stats", "personas", "run", "--help"]),
]


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    results = {}
    for name, args in CASES:
        runs = [run_once(args) for _ in range(REPEAT)]
        results[name] = (min(w for w, _ in runs), min(c for _, c in runs))
    bare = results[CASES[0][0]][0]
    pandas_wall = results[CASES[1][0]][0]
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = load > 0.75 * cores  # other jobs hold the cores: wall times measure them too
    print(f"best of {REPEAT} fresh interpreters; goal: every --help under 0.5 s wall")
    print(
        f"load average {load:.1f} on {cores} cores"
        + (
            ": a busy machine; the verdict is on CPU time (a quiet machine's wall time of a "
            "one-thread start-up)"
            if busy
            else ""
        )
    )
    print(f"{'':<46s} {'wall':>8s} {'cpu':>8s} {'/ import pandas':>16s}")
    for name, (wall, cpu) in results.items():
        t = cpu if busy else wall
        goal = "" if name.startswith("python") else ("ok" if t < 0.5 else "ABOVE GOAL")
        print(
            f"{name:<46s} {wall:7.3f}s {cpu:7.3f}s {wall / pandas_wall:15.2f}x  "
            f"(+{wall - bare:.3f} s over bare python) {goal}".rstrip()
        )


if __name__ == "__main__":
    main()
