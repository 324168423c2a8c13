"""Humans against silicon samples: stack_groups and sample_invariance (vp_stats.studies).

Humans are psychTools' bfi respondents (wide table, as read_bfi gives it); the "persona"
sample is a long answers table (persona_id, run, item, rating) as a persona run writes it,
here bfi rows resampled with one item's answers shifted, so scalar invariance must fail on that
item and hold once its intercept is freed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats.errors import DataFormatError
from vp_stats.stats import invariance as inv
from vp_stats.studies.invariance import sample_invariance, stack_groups

MODEL = "Agree =~ A1 + A2 + A3 + A4 + A5\nNeuro =~ N1 + N2 + N3 + N4 + N5"
ITEMS = [f"A{i}" for i in range(1, 6)] + [f"N{i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def humans() -> pd.DataFrame:
    from vp_stats.io.psychtools import PsychToolsNotFoundError, read_bfi

    try:
        return read_bfi()[["participant", *ITEMS]].dropna().iloc[:800]
    except PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools is not installed: {exc}")


def _personas(humans: pd.DataFrame, shift: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """A long answers table of 600 'persona runs': resampled human rows, A2 shifted."""
    rng = np.random.default_rng(seed)
    rows = humans[ITEMS].to_numpy()[rng.integers(0, len(humans), 600)].copy()
    rows[:, ITEMS.index("A2")] = np.clip(rows[:, ITEMS.index("A2")] - shift, 1, 6)
    wide = pd.DataFrame(rows, columns=ITEMS)
    wide["persona_id"] = [f"persona{k // 2}" for k in range(600)]
    wide["run"] = [k % 2 for k in range(600)]
    return wide.melt(["persona_id", "run"], var_name="item", value_name="rating")


def test_stack_groups_of_a_wide_and_a_long_table(humans):
    personas = _personas(humans)
    st = stack_groups({"human": humans, "llm": personas})
    assert st.columns.tolist() == ["participant", "sample", *ITEMS]
    assert st["sample"].value_counts().to_dict() == {"human": 800, "llm": 600}
    assert st.participant.iloc[800] == "persona0|0" and st.participant.iloc[801] == "persona0|1"
    # the long table's answers land in the right cells
    back = personas.pivot_table(index=["persona_id", "run"], columns="item", values="rating")
    one = st[st.participant == "persona7|1"][ITEMS].iloc[0]
    np.testing.assert_array_equal(one.to_numpy(), back.loc[("persona7", 1), ITEMS].to_numpy())


def test_sample_invariance_finds_the_shifted_item(humans):
    personas = _personas(humans)
    res = sample_invariance({"human": humans, "llm": personas}, MODEL)
    direct = inv.invariance(
        stack_groups({"human": humans, "llm": personas}).drop(columns="participant"),
        MODEL,
        "sample",
    )
    pd.testing.assert_frame_equal(res.table, direct.table)
    assert res.notes["reference_group"] == "human"
    t = res.table.set_index("level")
    assert t.p["scalar"] < 1e-10  # A2's intercept differs
    freed = sample_invariance({"human": humans, "llm": personas}, MODEL, group_partial="A2 ~ 1")
    f = freed.table.set_index("level")
    assert f.delta_df["scalar"] == t.delta_df["scalar"] - 1
    assert f.delta_chisq["scalar"] < t.delta_chisq["scalar"] / 5
    # the freed intercept of A2 is about one answer point lower in the persona sample
    e = freed.fits["scalar"].estimates
    a2 = e[(e.lhs == "A2") & (e.op == "~1")].set_index("group").estimate
    assert a2["human"] - a2["llm"] == pytest.approx(1.0, abs=0.25)


def test_one_model_against_another():
    rng = np.random.default_rng(4)
    rows = []
    for m in ("model-a", "model-b"):
        f = rng.standard_normal(300)
        for k in range(300):
            for j, lam in enumerate((0.8, 0.7, 0.6, 0.7)):
                rows.append((m, k, f"q{j + 1}", lam * f[k] + 0.6 * rng.standard_normal()))
    t = pd.DataFrame(rows, columns=["model", "seed", "item", "rating"])
    res = sample_invariance(
        {m: t[t.model == m] for m in ("model-a", "model-b")},
        "F =~ q1 + q2 + q3 + q4",
        levels=["configural", "metric"],
    )
    assert res.notes["groups"] == ["model-a", "model-b"] and res.notes["n_obs"] == [300, 300]
    assert (res.table.status == "ok").all()


def test_stack_groups_bad_input():
    h = pd.DataFrame({"participant": ["a", "b"], "q1": [1.0, 2], "q2": [3.0, 4]})
    p = pd.DataFrame({"persona_id": ["x", "x"], "item": ["q1", "q1"], "rating": [1.0, 2]})
    with pytest.raises(DataFormatError, match="answered item 'q1' twice") as e:
        stack_groups({"human": h, "llm": p})
    assert e.value.file == "llm" and e.value.field == "item"
    p = pd.DataFrame({"persona_id": ["x"], "item": ["q1"], "rating": [1.0]})
    with pytest.raises(DataFormatError, match="has no item 'q2'") as e:
        stack_groups({"human": h, "llm": p})
    assert e.value.field == "q2"
    with pytest.raises(DataFormatError, match="at least 2 samples"):
        stack_groups({"human": h})
    with pytest.raises(DataFormatError, match="in two samples"):
        stack_groups({"one": h, "two": h})
    p = pd.DataFrame({"persona_id": ["x", "x"], "item": ["q1", "q2"], "rating": ["1", "lots"]})
    with pytest.raises(DataFormatError, match="'lots' is not a number"):
        stack_groups({"human": h, "llm": p})


def test_ordinal_invariance_across_samples(humans):
    """Likert answers as ordered categories: the same shifted item, found by WLSMV."""
    personas = _personas(humans, shift=0.0)
    rng = np.random.default_rng(1)
    down = (personas["item"] == "A2") & (rng.random(len(personas)) < 0.6)  # 6 stays in use
    personas.loc[down, "rating"] = np.clip(personas.loc[down, "rating"] - 1, 1, 6)
    res = sample_invariance(
        {"human": humans, "llm": personas}, MODEL, ordered=True, levels=["metric", "scalar"]
    )
    assert res.table.columns[res.table.columns.get_loc("p") - 2] == "delta_chisq"
    assert res.table.p.iloc[1] < 1e-10 and (res.table.status == "ok").all()
