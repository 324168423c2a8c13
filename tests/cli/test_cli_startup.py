"""The command line answers at once: ``--help`` imports none of the heavy libraries.

The commands import pandas, pandera, numpy, scipy and matplotlib inside their bodies, so
``vp-stats --help`` and ``vp-stats COMMAND --help`` cost typer and the command modules only.
These tests count modules (``python -X importtime``, ``sys.modules``), never time anything: the
times are in ``benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("pandas", "pandera", "scipy", "matplotlib", "numpy")
#: Not heavy, but never needed: the app prints plain help (``rich_markup_mode=None``), which saves
#: rich's import and rendering (about 0.1 s of CPU per ``--help``; benchmarks/bench_cli.py).
NOT_NEEDED = ("rich",)


def _imported(stderr: str) -> set[str]:
    """Top-level packages named in ``-X importtime`` output (``import time: self | cum | name``)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name.split(".")[0])
    return names


def _importtime(*args: str) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return _imported(res.stderr)


def test_help_imports_no_heavy_library():
    names = _importtime("-m", "vp_stats", "--help")
    assert "vp_stats" in names and "typer" in names  # the parse sees the modules it should
    assert sorted(names & {*HEAVY, *NOT_NEEDED}) == []


def test_the_check_sees_a_heavy_import():
    # the same parse on a module that imports pandas at its top names it: the test above can fail
    names = _importtime("-c", "import vp_stats.io.tables")
    assert {"pandas", "pandera", "numpy"} <= names


def test_every_command_help_imports_no_heavy_library():
    """Each command's and sub-command's ``--help`` in one process; then the modules loaded."""
    script = textwrap.dedent(
        """
        import sys
        import typer
        from typer.testing import CliRunner
        from vp_stats.cli import app

        def walk(cmd, path):
            yield path
            for name, sub in getattr(cmd, "commands", {}).items():
                yield from walk(sub, [*path, name])

        runner = CliRunner()
        paths = list(walk(typer.main.get_command(app), []))
        for path in paths:
            res = runner.invoke(app, [*path, "--help"])
            assert res.exit_code == 0, (path, res.output)
            assert "Usage" in res.output, (path, res.output)
        heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
        print(len(paths))
        print("heavy:" + ",".join(heavy))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script, *HEAVY, *NOT_NEEDED],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    n_paths, heavy = res.stdout.splitlines()[-2:]
    assert int(n_paths) >= 20  # root, the commands and the groups' sub-commands
    assert heavy == "heavy:"
