"""``vp-stats structure invariance``: the tables it writes, lavaan's numbers through the command
line (psychTools' bfi by gender, stored lavaan reference), and bad input as one error line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import r_reference  # tests/ is on sys.path via tests/conftest.py
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import invariance as inv

runner = CliRunner()
MODEL = "F =~ a + b + c + d\n"
BFI_MODEL = "Agree =~ A1 + A2 + A3 + A4 + A5\nNeuro =~ N1 + N2 + N3 + N4 + N5\n"


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


def _items(n=200, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((2 * n, 1))
    x = pd.DataFrame(
        f * [0.8, 0.7, 0.6, 0.7] + 0.6 * rng.standard_normal((2 * n, 4)), columns=list("abcd")
    ).round(3)
    x.insert(0, "participant", [f"p{i}" for i in range(2 * n)])
    x["sample"] = np.repeat(["human", "llm"], n)
    return x


@pytest.fixture()
def files(tmp_path):
    _items().to_csv(tmp_path / "items.csv", index=False)
    (tmp_path / "model.txt").write_text(MODEL)
    return tmp_path


def test_writes_the_level_table_and_estimates(files):
    out = files / "out"
    res = _run(
        [
            "structure",
            "invariance",
            "--data",
            files / "items.csv",
            "--group",
            "sample",
            "--model",
            files / "model.txt",
            "--free",
            "d ~ 1",
            "--out",
            out,
        ]
    )
    assert res.exit_code == 0, res.output
    assert "reference group human" in res.output
    t = pd.read_csv(out / "invariance.csv", keep_default_na=False, na_values=[""])
    assert t.columns.tolist() == [
        "level",
        "group_equal",
        "group_partial",
        "n_obs",
        "npar",
        "chisq",
        "df",
        "pvalue",
        "cfi",
        "tli",
        "rmsea",
        "srmr",
        "delta_chisq",
        "delta_df",
        "p",
        "delta_cfi",
        "delta_rmsea",
        "converged",
        "proper",
        "status",
    ]
    assert t.level.tolist() == ["configural", "metric", "scalar", "strict"]
    direct = inv.invariance(
        _items().drop(columns="participant"), MODEL, "sample", group_partial=["d ~ 1"]
    )
    np.testing.assert_allclose(
        t[["chisq", "cfi", "rmsea", "srmr"]],
        direct.table[["chisq", "cfi", "rmsea", "srmr"]],
        rtol=1e-9,
    )
    assert t.group_partial.fillna("").tolist() == ["", "", "d ~ 1", "d ~ 1"]
    e = pd.read_csv(out / "invariance_estimates.csv")
    assert e.columns.tolist() == [
        "level",
        "group",
        "lhs",
        "op",
        "rhs",
        "label",
        "free",
        "estimate",
        "se",
        "z",
        "p_value",
    ]
    g = pd.read_csv(out / "invariance_groups.csv")
    assert g.to_dict("list") == {"group": ["human", "llm"], "n_obs": [200, 200]}
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"] == "structure invariance" and prov["parameters"]["free"] == ["d ~ 1"]


def test_bfi_by_gender_through_the_command_line_equals_lavaan(tmp_path):
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_psychtools

    try:
        bfi = read_psychtools("bfi")
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")
    cols = [*(f"A{i}" for i in range(1, 6)), *(f"N{i}" for i in range(1, 6)), "gender"]
    bfi[cols].to_csv(tmp_path / "bfi.csv", index=False)  # a temporary copy, never stored
    (tmp_path / "m.txt").write_text(BFI_MODEL)
    res = _run(
        [
            "structure",
            "invariance",
            "--data",
            tmp_path / "bfi.csv",
            "--group",
            "gender",
            "--model",
            tmp_path / "m.txt",
            "--out",
            tmp_path / "o",
        ]
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "invariance.csv")
    ref = r_reference.stored("invariance_bfi")
    for r in t.itertuples():
        want = ref[f"gender_{r.level}_fit"]  # chisq df pvalue cfi tli rmsea srmr
        np.testing.assert_allclose(
            [r.chisq, r.df, r.cfi, r.tli, r.rmsea, r.srmr],
            want[[0, 1, 3, 4, 5, 6]],
            atol=1e-4,
            err_msg=r.level,
        )


def _error(args) -> str:
    res = _run(args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


def test_bad_input_is_one_error_line_exit_2(files):
    base = ["structure", "invariance", "--model", files / "model.txt", "--out", files / "o"]
    x = _items()
    lonely = pd.concat([x, x.iloc[[0]].assign(participant="solo", sample="robot")])
    lonely.to_csv(files / "lonely.csv", index=False)
    msg = _error([*base, "--data", files / "lonely.csv", "--group", "sample"])
    assert "lonely.csv" in msg and "row 'solo'" in msg and "'sample'" in msg
    assert "group 'robot' has 1 respondent" in msg

    msg = _error([*base, "--data", files / "items.csv", "--group", "nope"])
    assert "items.csv" in msg and "'nope'" in msg

    (files / "absent.txt").write_text("F =~ a + b\n + zz\n")
    msg = _error(
        [
            "structure",
            "invariance",
            "--data",
            files / "items.csv",
            "--group",
            "sample",
            "--model",
            files / "absent.txt",
            "--out",
            files / "o",
        ]
    )
    assert "absent.txt" in msg and "line 1" in msg and "'zz'" in msg

    (files / "noscale.txt").write_text("F =~ 0*a + b + c + d\n")
    msg = _error(
        [
            "structure",
            "invariance",
            "--data",
            files / "items.csv",
            "--group",
            "sample",
            "--model",
            files / "noscale.txt",
            "--out",
            files / "o",
        ]
    )
    assert "noscale.txt" in msg and "not identified" in msg

    msg = _error([*base, "--data", files / "items.csv", "--group", "sample", "--free", "q ~ 1"])
    assert "'q ~ 1' names no parameter" in msg

    msg = _error([*base, "--data", files / "items.csv", "--group", "sample", "--levels", "weak"])
    assert "'weak'" in msg
    assert not (files / "o").exists() or not list((files / "o").glob("invariance*.csv"))


def test_ordered_bfi_by_gender_equals_lavaan_wlsmv(tmp_path):
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_psychtools

    try:
        bfi = read_psychtools("bfi")
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")
    cols = [*(f"A{i}" for i in range(1, 6)), *(f"N{i}" for i in range(1, 6)), "gender"]
    bfi[cols].to_csv(tmp_path / "bfi.csv", index=False)  # a temporary copy, never stored
    (tmp_path / "m.txt").write_text(BFI_MODEL)
    res = _run(
        [
            "structure",
            "invariance",
            "--data",
            tmp_path / "bfi.csv",
            "--group",
            "gender",
            "--model",
            tmp_path / "m.txt",
            "--ordered",
            "--out",
            tmp_path / "o",
        ]
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "invariance.csv").set_index("level")
    ref = r_reference.stored("ordinal_invariance_bfi")
    for lv in ("configural", "metric", "scalar"):
        want = ref[f"{lv}_fit"]  # chisq ... chisq.scaled (3) ... cfi.scaled (11) rmsea.scaled (13)
        np.testing.assert_allclose(
            t.loc[lv, ["chisq", "chisq_scaled", "cfi_scaled", "rmsea_scaled", "srmr"]].to_numpy(
                dtype=float
            ),
            want[[0, 3, 11, 13, 14]],
            atol=1e-3,
            err_msg=lv,
        )
    for lv in ("metric", "scalar"):
        np.testing.assert_allclose(t.loc[lv, "delta_chisq"], ref[f"lrt_{lv}"][0], atol=1e-3)
    prov = json.loads((tmp_path / "o" / "provenance.json").read_text())
    assert prov["parameters"]["ordered"] is True


def test_ordered_bad_input_is_one_error_line(tmp_path):
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.integers(1, 5, (300, 4)), columns=list("abcd"))
    x["g"] = np.repeat(["u", "v"], 150)
    x["d"] = x["d"] + 0.5 * (np.arange(300) == 17)  # "4.5": not an ordinal category
    x.to_csv(tmp_path / "items.csv", index=False)
    (tmp_path / "m.txt").write_text(MODEL)
    msg = _error(
        [
            "structure",
            "invariance",
            "--data",
            tmp_path / "items.csv",
            "--group",
            "g",
            "--model",
            tmp_path / "m.txt",
            "--ordered",
            "--out",
            tmp_path / "o",
        ]
    )
    assert "items.csv" in msg and "row 18" in msg and "'d'" in msg and "integer category" in msg
    msg = _error(
        [
            "structure",
            "invariance",
            "--data",
            tmp_path / "items.csv",
            "--group",
            "g",
            "--model",
            tmp_path / "m.txt",
            "--ordered",
            "--levels",
            "strict",
            "--out",
            tmp_path / "o",
        ]
    )
    assert "no strict level" in msg


def test_ordered_writes_the_same_estimate_columns(tmp_path):
    rng = np.random.default_rng(2)
    lam = np.array([0.8, 0.7, 0.6, 0.7])
    z = rng.standard_normal((600, 1)) * lam + rng.standard_normal((600, 4)) * np.sqrt(1 - lam**2)
    x = pd.DataFrame(np.digitize(z, [-1.0, 0.0, 1.0]) + 1, columns=list("abcd"))
    x["g"] = np.repeat(["u", "v"], 300)
    x.to_csv(tmp_path / "items.csv", index=False)
    (tmp_path / "m.txt").write_text(MODEL)
    res = _run(
        [
            "structure",
            "invariance",
            "--data",
            tmp_path / "items.csv",
            "--group",
            "g",
            "--model",
            tmp_path / "m.txt",
            "--ordered",
            "--out",
            tmp_path / "o",
        ]
    )
    assert res.exit_code == 0, res.output
    e = pd.read_csv(tmp_path / "o" / "invariance_estimates.csv")
    assert e.columns.tolist() == [
        "level",
        "group",
        "lhs",
        "op",
        "rhs",
        "label",
        "free",
        "estimate",
        "se",
        "z",
        "p_value",
    ]
    assert set(e.op) == {"=~", "~~", "|", "~1", "~*~"}
