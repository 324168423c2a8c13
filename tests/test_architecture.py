"""The layer rule of the package tree (README, "Architecture"), checked by import-linter.

``make lint`` runs the contracts of pyproject.toml over the checkout; these tests show that the
check passes on the tree as it is and fails on a copy with one deliberately wrong-way import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (the dev extra has it)"
)


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "vp_stats",
        root / "vp_stats",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "data"),
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_the_layer_rule(tmp_path):
    res = _lint(_copy_tree(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a statistic reading files, a backend running a study, a contract importing a statistic
        ("vp_stats/stats/validation.py", "from vp_stats.io import tables as _tio", "layers"),
        ("vp_stats/llm/runner.py", "from vp_stats.studies import validate as _v", "layers"),
        ("vp_stats/tables.py", "from vp_stats.stats import resampling as _r", "contracts"),
    ],
)
def test_a_wrong_way_import_fails_the_check(tmp_path, module, line, broken):
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n\ndef _wrong():\n    {line}\n")
    res = _lint(root)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout
    broken_lines = [ln for ln in res.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(ln.startswith(broken) for ln in broken_lines), res.stdout
    assert module.removesuffix(".py").replace("/", ".") in res.stdout
