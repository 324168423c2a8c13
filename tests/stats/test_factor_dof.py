"""EFA degrees of freedom: psych::fa's ``dof``, and one warning when it is 0 or below (no test).

Stored reference: ``tests/fixtures/r/psych_fa_dof.csv`` from ``make_psych_fa_dof.R`` (psych's
``dof`` and ``PVAL`` for six item x factor configurations, three without a test).
"""

from __future__ import annotations

import json
import logging
import subprocess

import numpy as np
import pandas as pd
import pytest
import r_reference
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import factor

REF = r_reference.stored("psych_fa_dof")
CONFIGS = list(zip(REF["n_items"].astype(int), REF["n_factors"].astype(int), strict=True))


def _data(n_items, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((200, n_items)) + rng.standard_normal((200, 1))
    return pd.DataFrame(x, columns=[f"q{i + 1}" for i in range(n_items)])


def _dof_warnings(caplog):
    return [r for r in caplog.records if "degrees of freedom" in r.getMessage()]


@pytest.mark.parametrize("at", range(len(CONFIGS)))
def test_dof_is_psych_fa_dof_and_a_model_without_test_warns_once(at, caplog):
    p, k = CONFIGS[at]
    with caplog.at_level(logging.WARNING, logger="vp_stats.stats.factor"):
        res = factor.efa(_data(p), k, rotation="none")
    assert res.dof == REF["dof"][at] == factor.efa_dof(p, k)
    untestable = REF["dof"][at] <= 0
    assert np.isnan(REF["pval"][at]) == untestable  # psych gives no p value exactly then
    warned = _dof_warnings(caplog)
    assert len(warned) == (1 if untestable else 0)
    if untestable:
        msg = warned[0].getMessage()
        assert "\n" not in msg and f"{int(REF['dof'][at])} degrees of freedom" in msg
        assert f"{k} factors of {p} items" in msg and warned[0].levelname == "WARNING"


def test_three_of_the_stored_configurations_have_no_test():
    assert sorted(REF["dof"].astype(int).tolist()) == [-2, -1, 0, 0, 1, 4]


@pytest.mark.r
def test_the_stored_reference_is_what_r_gives_now(tmp_path):
    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    out = tmp_path / "dof.csv"
    script = r_reference.FIXTURES / "make_psych_fa_dof.R"
    subprocess.run([rscript, "--vanilla", str(script), str(out)], check=True, timeout=120)
    live = pd.read_csv(out, na_values=["NA"], keep_default_na=False)
    stored = pd.read_csv(r_reference.FIXTURES / "psych_fa_dof.csv", na_values=["NA"])
    pd.testing.assert_frame_equal(live, stored, check_exact=False, rtol=1e-10)


@pytest.mark.parametrize(("k", "dof"), [(3, -2), (2, 1)])
def test_structure_efa_prints_the_warning_once_and_records_the_dof(tmp_path, k, dof):
    path = tmp_path / "five.csv"
    _data(5).to_csv(path, index=False)
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app, ["structure", "efa", "--data", str(path), "--n-factors", str(k), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if "degrees of freedom" in ln]
    if dof <= 0:
        assert lines == [
            f"vp-stats: WARNING: {k} factors of 5 items leave {dof} degrees of freedom: the "
            "model has no test (chi2, RMSEA, TLI undefined); use fewer factors or more items"
        ]
    else:
        assert lines == []
    assert f"model df {dof}" in res.output
    assert json.loads((out / "provenance.json").read_text())["model_dof"] == dof
