"""``vp-stats personas compare ANSWERS --ess FILE``: PVQ-21 persona answers from a real
``personas run --instrument pvq21`` (against tests/fault_server.py, an HTTP endpoint answering
with the six PVQ phrases) against a SYNTHETIC ESS-format file (random answers written by
:func:`vp_stats.io.ess.synthetic_ess`, NOT ESS data: ESS microdata need registration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fault_server import KEY, FaultServer, ok_body  # tests/ is on sys.path (conftest)
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.io import ess
from vp_stats.llm.backends import PHRASES
from vp_stats.stats import fidelity

runner = CliRunner()


def _phrases(n, h):
    h.send(200, ok_body(PHRASES[(n * 5) % 6]))


@pytest.fixture(scope="module")
def pvq21_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pvq21")
    personas = out / "personas.csv"
    pd.DataFrame(
        {
            "persona_id": ["woman", "man", "right", "left"],
            "gender": ["female", "male", None, None],
            "political_orientation": [None, None, "right", "left"],
        }
    ).to_csv(personas, index=False)
    with FaultServer(_phrases, max_requests=200) as srv:
        res = runner.invoke(
            app,
            ["personas", "run", "--personas", str(personas), "--instrument", "pvq21",
             "--backend", "openai", "--base-url", srv.url, "--model", "m",
             "--api-key-env", "VP_FAULT_KEY", "--mode", "text", "--retries", "0",
             "--concurrency", "2", "--n-boot", "20", "--out", str(out)],
            env={"VP_FAULT_KEY": KEY},
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    path = out / "SYNTHETIC_ess.csv"
    ess.synthetic_ess(300, seed=2, attributes=True).to_csv(path, index=False)
    return out, path


def _compare(out, path, *extra):
    return runner.invoke(
        app,
        ["personas", "compare", str(out / "answers.csv"), "--ess", str(path), "--out",
         str(out / "cmp"), "--n-boot", "50", *extra],
    )  # fmt: skip


def test_compare_writes_the_distribution_level_and_prints_it(pvq21_run):
    out, path = pvq21_run
    res = _compare(out, path)
    assert res.exit_code == 0, res.output
    cmp = out / "cmp"
    for name in ("fidelity", "fidelity_summary", "group_fidelity", "steerability",
                 "steerability_personas", "groups"):  # fmt: skip
        assert (cmp / f"compare_ess_{name}.csv").exists(), name
    for name in ("fidelity_personas", "fidelity_values", "steerability_gender",
                 "steerability_political_orientation"):  # fmt: skip
        assert (cmp / f"compare_ess_{name}.png").stat().st_size > 0, name
    text = res.output
    assert "fidelity over 21 items (model side from answer histogram)" in text
    assert "steerability by gender" in text and "steerability by political_orientation" in text
    assert "ESS groups by gender (respondents, Kish effective n)" in text
    assert "weighted by anweight" in text
    # the written steerability: the woman persona against the ESS women, recomputed
    st = pd.read_csv(cmp / "compare_ess_steerability.csv")
    ans = pd.read_csv(out / "answers.csv")
    human = ess.load_ess_answers(path)
    woman = ans[ans["persona_id"] == "woman"]
    d = []
    for i in range(1, 22):
        m = woman.loc[woman["item"] == i, "rating"].to_numpy()
        g = human[(human["item"] == str(i)) & (human["gender"] == "female")]
        q = np.bincount(m.astype(int), minlength=7)[1:]
        h = np.bincount(g["rating"].astype(int), weights=g["weight"], minlength=7)[1:]
        d.append(fidelity.ordinal_w1(q, h))
    got = st[(st["persona_id"] == "woman") & (st["group"] == "female")]["distance"].item()
    assert got == pytest.approx(np.mean(d), abs=1e-12)


def test_countries_and_weight_options(pvq21_run):
    out, path = pvq21_run
    res = _compare(out, path, "--ess-countries", "DE", "--ess-weight", "pspwght", "--group",
                   "gender")  # fmt: skip
    assert res.exit_code == 0, res.output
    raw = pd.read_csv(path)
    de = raw[(raw["cntry"] == "DE") & (raw["gndr"] == 2)]
    g = pd.read_csv(out / "cmp" / "compare_ess_groups.csv").set_index("group")
    assert g.loc["female", "n_participants"] == len(de)
    kish = de["pspwght"].sum() ** 2 / (de["pspwght"] ** 2).sum()
    assert g.loc["female", "n_effective"] == pytest.approx(kish, rel=1e-12)
    assert "weighted by pspwght" in res.output


def test_bad_attribute_or_weight_is_one_line_with_exit_2(pvq21_run):
    out, path = pvq21_run
    res = _compare(out, path, "--group", "nationality")
    assert res.exit_code == 2
    assert "answers.csv" in res.output and "'nationality'" in res.output
    assert "Traceback" not in res.output
    res = _compare(out, path, "--ess-weight", "xweight")
    assert res.exit_code == 2 and "SYNTHETIC_ess.csv" in res.output and "'xweight'" in res.output
    raw = pd.read_csv(path).drop(columns="lrscale")
    nolr = out / "SYNTHETIC_no_lrscale.csv"
    raw.to_csv(nolr, index=False)
    res = _compare(out, nolr, "--group", "political_orientation")
    assert res.exit_code == 2 and "SYNTHETIC_no_lrscale.csv" in res.output
    assert "'lrscale'" in res.output


def test_value_portrait_item_answers_keep_the_group_gap_and_say_why(pvq21_run, tmp_path):
    from vp_stats.io import datasets
    from vp_stats.studies.personas import select_persona_items

    _, path = pvq21_run
    items = select_persona_items(datasets.load_items(), datasets.load_published_correlations(), 1)
    rng = np.random.default_rng(0)
    rows = [
        {"persona_id": pid, "gender": g, "portrait_id": r.portrait_id, "option_id": r.option_id,
         "rating": float(rng.integers(1, 7))}
        for pid, g in (("w1", "female"), ("w2", "female"), ("m1", "male"), ("m2", "male"))
        for r in items[["portrait_id", "option_id"]].drop_duplicates().itertuples()
    ]  # fmt: skip
    answers = tmp_path / "vp_answers.csv"
    pd.DataFrame(rows).to_csv(answers, index=False)
    res = runner.invoke(
        app,
        ["personas", "compare", str(answers), "--ess", str(path), "--group", "gender",
         "--group-a", "female", "--group-b", "male", "--out", str(tmp_path / "o"),
         "--n-boot", "20"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "compare_group.csv").exists()
    assert not list((tmp_path / "o").glob("compare_ess_*"))
    assert "the distribution level (fidelity, steerability) needs PVQ-21 answers" in res.output
