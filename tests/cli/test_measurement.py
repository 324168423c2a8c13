"""``vp-stats structure grm`` and ``vp-stats structure dif`` through the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.stats import dif, irt

runner = CliRunner()


def _run(args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def items_csv(tmp_path_factory):
    sim = irt.simulate_grm(400, 4, 5, seed=7)
    x = sim.responses.reset_index()
    x["group"] = np.where(np.arange(len(x)) % 2 == 0, "a", "b")
    x.loc[3, "item02"] = np.nan
    path = tmp_path_factory.mktemp("m") / "items.csv"
    x.to_csv(path, index=False)
    return path, x


def test_grm_writes_the_fit_of_the_library_function(items_csv, tmp_path):
    path, x = items_csv
    items = ["item01", "item02", "item03", "item04"]
    res = _run(["structure", "grm", "--data", path, "--items", ",".join(items), "--out", tmp_path])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "grm_items.csv")
    ref = irt.fit_grm(x.set_index("participant")[items])
    pd.testing.assert_frame_equal(got, ref.items, check_dtype=False)
    par = pd.read_csv(tmp_path / "grm_parameters.csv")
    assert par.columns.tolist() == ["item", "parameter", "estimate", "se"] and len(par) == 20
    info = pd.read_csv(tmp_path / "grm_information.csv")
    assert set(info.item) == {*items, "test"}
    ab = pd.read_csv(tmp_path / "grm_abilities.csv")
    assert ab.columns.tolist() == ["participant", "ability", "ability_sd", "n_responses"]
    assert ab.participant.tolist() == x.participant.tolist()
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["parameters"]["link"] == "logit" and prov["parameters"]["items"] == items
    assert prov["loglik"] == pytest.approx(ref.notes["loglik"], abs=1e-9) and prov["converged"]
    assert "marginal log-likelihood" in res.output


def test_dif_writes_the_table_of_the_library_function(items_csv, tmp_path):
    path, x = items_csv
    res = _run(["structure", "dif", "--data", path, "--group", "group", "--out", tmp_path])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "dif.csv")
    ref = dif.ordinal_dif(x.set_index("participant"), "group").table
    assert got.item.tolist() == ref.item.tolist()
    np.testing.assert_allclose(got.chi2_total, ref.chi2_total, rtol=1e-9)
    assert got.flag.dtype == bool and "0 item(s) flagged" in res.output


def test_dif_reverse_keys_items_before_summing(items_csv, tmp_path):
    path, x = items_csv
    flipped = x.assign(item03=6 - x.item03)
    p2 = tmp_path / "flipped.csv"
    flipped.to_csv(p2, index=False)
    res = _run(
        ["structure", "dif", "--data", p2, "--group", "group", "--reverse", "item03",
         "--out", tmp_path / "o"]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "o" / "dif.csv")
    ref = dif.ordinal_dif(x.set_index("participant"), "group").table
    np.testing.assert_allclose(got.chi2_total, ref.chi2_total, rtol=1e-6)


def _bad(tmp_path, frame, name="bad.csv"):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


BASE = pd.DataFrame(
    {"q1": [1, 2, 3, 4, 2, 3], "q2": [2, 3, 1, 4, 4, 1], "g": ["a", "a", "b", "b", "a", "b"]}
)


@pytest.mark.parametrize(
    "command, frame, extra, needles",
    [
        ("dif", BASE.assign(g=["a", "a", "a", "a", "a", "b"]), [], ["row 6", "'g'", "1 member"]),
        ("dif", BASE, ["--items", "q1,q9"], ["'q9'", "no such column"]),
        ("dif", BASE.drop(columns="g"), [], ["'g'", "no such column"]),
        ("dif", BASE.assign(q1=[1, 2.5, 3, 4, 2, 3]), [], ["row 2", "'q1'", "not an integer"]),
        ("dif", BASE.assign(q1=["1", "x", "3", "4", "2", "3"]), [], ["row 2", "'q1'"]),
        ("dif", BASE.assign(q2=2), [], ["'q2'", "single category"]),
        ("grm", BASE.drop(columns="g").assign(q1=2), [], ["'q1'", "single category"]),
        ("grm", BASE.drop(columns="g"), ["--items", "q1,zz"], ["'zz'", "no such column"]),
        (
            "grm",
            pd.DataFrame({"q1": range(25), "q2": [1, 2, 3, 4, 5] * 5}),
            [],
            ["'q1'", "25 distinct values", "not an ordinal"],
        ),
        (
            "grm",
            BASE.drop(columns="g").assign(q2=[1, 2, 3.5, 4, 2, 1]),
            [],
            ["row 3", "'q2'", "not an integer"],
        ),
    ],
)
def test_bad_input_is_one_error_naming_file_row_field(tmp_path, command, frame, extra, needles):
    p = _bad(tmp_path, frame)
    args = ["structure", command, "--data", p, *extra, "--out", tmp_path / "o"]
    if command == "dif":
        args[4:4] = ["--group", "g"]
    res = _run(args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.count("error:") == 1
    assert "bad.csv" in res.output
    for n in needles:
        assert n in res.output, res.output
    assert (
        not (tmp_path / "o" / "dif.csv").exists()
        and not (tmp_path / "o" / "grm_items.csv").exists()
    )
