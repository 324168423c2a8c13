"""The released study: reproduce's tables, each file parsed and each contract run once per run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from vp_stats import tables
from vp_stats.io import datasets
from vp_stats.studies import released


def test_reproduce_tables_writes_the_published_tables(tmp_path):
    out = released.reproduce_tables(tmp_path / "out", n_boot=0)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "item_correlations.csv",
        "item_correlations_upstream.csv",
        "llm_value_scores.csv",
        "provenance.json",
    ]
    # upstream's procedure equals every published row (9,880 of 9,880)
    up = pd.read_csv(tmp_path / "out" / "item_correlations_upstream.csv")
    pub = datasets.load_published_correlations()
    m = up.merge(pub, on=["portrait_id", "option_id", "family", "dimension"], suffixes=("", "_pub"))
    assert len(m) == len(pub) == 9880
    assert np.abs(m.rho - m.rho_pub).max() < 1e-12
    # the scores are the released models scored with the published tables
    scores = pd.read_csv(tmp_path / "out" / "llm_value_scores.csv")
    assert scores.model.nunique() == 34 and len(scores) == len(out["llm_value_scores"])
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["command"] == "reproduce" and prov["data_commit"] == datasets.UPSTREAM_COMMIT


def test_released_tables_run_the_contracts_once(monkeypatch):
    released._CHECKED.clear()
    calls = []
    real = tables.ratings_table
    monkeypatch.setattr(tables, "ratings_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    r1, s1 = released.released_tables()
    r1.loc[0, "rating"] = -99.0  # a caller's copy: changing it changes no other caller's
    r2, s2 = released.released_tables()
    assert len(calls) == 1
    assert r2.loc[0, "rating"] != -99.0
    pd.testing.assert_frame_equal(s1, s2)
    # the same tables as the contracts give on the reader's output
    expect = real(datasets.load_ratings(), scale=tables.VP_SCALE).table
    pd.testing.assert_frame_equal(r2, expect)


def test_validate_data_on_checked_tables_equals_the_checking_path():
    # validated=True (contracts run once) gives the table that checking both inputs again gives
    from vp_stats.stats import validation

    fast = released.validate_data(n_boot=0).table
    scores = datasets.load_participant_scores()
    slow = validation.validate_items(
        datasets.load_ratings(participants=scores),
        scores,
        n_boot=0,
        scale=tables.VP_SCALE,
        max_fdr=None,
        p_method="t",
    ).table
    pd.testing.assert_frame_equal(fast, slow)


def test_reproduce_runs_on_one_blas_thread_and_restores_the_callers(tmp_path):
    """The one-BLAS-thread limit changes no number and is lifted afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        before = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
        out = released.reproduce_tables(tmp_path / "out", n_boot=20, seed=3)
        after = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
        two = released.validate_data(n_boot=20, seed=3).table  # on the caller's two threads
    assert after == before
    pd.testing.assert_frame_equal(
        out["item_correlations"].drop(columns="reason"), two, check_exact=True
    )


def test_reproduce_writes_the_item_tables_validate_writes(tmp_path):
    """Both paths write the same item_correlations.csv, byte for byte: same columns (``reason``
    included), same numbers; upstream's procedure as ``validate --procedure upstream``."""
    from vp_stats.studies.validate import validate_study

    released.reproduce_tables(tmp_path / "r", n_boot=20, seed=3)
    validate_study(out=tmp_path / "v", n_boot=20, seed=3)
    validate_study(out=tmp_path / "u", n_boot=0, procedure="upstream")
    mine = pd.read_csv(tmp_path / "r" / "item_correlations.csv")
    assert mine.columns[-1] == "reason" and mine["rho"].notna().all()
    assert mine["reason"].isna().all()  # every rho of the released study is defined
    for ours, theirs in [
        ("item_correlations.csv", tmp_path / "v" / "item_correlations.csv"),
        ("item_correlations_upstream.csv", tmp_path / "u" / "item_correlations.csv"),
    ]:
        assert (tmp_path / "r" / ours).read_bytes() == theirs.read_bytes(), ours
