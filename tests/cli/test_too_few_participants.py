"""`vp-stats reliability` and `structure efa` refuse fewer than 3 participants: exit 2, one line
naming the file, no traceback, no output file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app

runner = CliRunner()


def _wide(tmp_path, n, *, name="few.csv", missing_in=None):
    rng = np.random.default_rng(n)
    x = pd.DataFrame(rng.integers(1, 6, size=(n, 6)), columns=[f"q{i}" for i in range(1, 7)])
    x = x.astype(float)
    if missing_in is not None:
        x.iloc[missing_in, 0] = np.nan
    x.insert(0, "participant", [f"p{i}" for i in range(n)])
    path = tmp_path / name
    x.to_csv(path, index=False)
    return path


COMMANDS = {
    "reliability": ["reliability", "--n-factors", "1"],
    "structure efa": ["structure", "efa", "--n-factors", "1"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("n", [1, 2])
def test_fewer_than_three_participants_is_one_line_naming_the_file(tmp_path, command, n):
    path = _wide(tmp_path, n)
    res = runner.invoke(
        app, [*COMMANDS[command], "--data", str(path), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), res.output
    assert "at least 3" in lines[0] and f"got {n}" in lines[0]
    assert "Traceback" not in res.output
    assert not list((tmp_path / "o").glob("*.csv")) if (tmp_path / "o").exists() else True


@pytest.mark.parametrize("command", list(COMMANDS))
def test_three_complete_participants_are_counted_after_listwise_deletion(tmp_path, command):
    """Four rows, one with a missing answer: 3 left, so the command runs past the count."""
    path = _wide(tmp_path, 4, missing_in=[1, 2])  # two incomplete rows: 2 complete left
    out = tmp_path / "o"
    res = runner.invoke(app, [*COMMANDS[command], "--data", str(path), "--out", str(out)])
    assert res.exit_code == 2 and "got 2" in res.output, res.output
    path = _wide(tmp_path, 5, name="enough.csv", missing_in=[1])
    res = runner.invoke(app, [*COMMANDS[command], "--data", str(path), "--out", str(out)])
    assert "at least 3" not in res.output, res.output
