"""Tests of the BFI-10 scorer (Rammstedt & John 2007)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.instruments.bfi import score_bfi10


def _wide(rows: dict[str, list[object]]) -> pd.DataFrame:
    return pd.DataFrame([[r, *a] for r, a in rows.items()], columns=["participant", *range(1, 11)])


def test_hand_worked():
    # Rammstedt & John key: 1R E, 2 A, 3R C, 4R N, 5R O, 6 E, 7R A, 8 C, 9 N, 10 O
    answers = [2, 4, 1, 5, 3, 4, 2, 5, 1, 3]
    out = score_bfi10(_wide({"p": answers})).set_index("dimension")
    assert out.loc["Extraversion", "score"] == (6 - 2 + 4) / 2  # 4.0
    assert out.loc["Agreeableness", "score"] == (4 + 6 - 2) / 2  # 4.0
    assert out.loc["Conscientiousness", "score"] == (6 - 1 + 5) / 2  # 5.0
    assert out.loc["Neuroticism", "score"] == (6 - 5 + 1) / 2  # 1.0
    assert out.loc["Openness", "score"] == (6 - 3 + 3) / 2  # 3.0
    assert list(out.index) == list(schema.BFI_TRAITS)
    assert (out["family"] == "bfi").all()
    assert (out["n_items"] == 2).all()
    assert (out["status"] == "ok").all()


def test_long_equals_wide_and_random_reference():
    rng = np.random.default_rng(0)
    ans = rng.integers(1, 6, size=(30, 10))
    wide = _wide({f"r{i}": list(a) for i, a in enumerate(ans)})
    long = wide.melt(id_vars="participant", var_name="item", value_name="rating")
    a = score_bfi10(wide)
    b = score_bfi10(long)
    np.testing.assert_array_equal(a["score"], b["score"])
    # independent reference: per-item loop over the published key
    for i, row in enumerate(ans):
        for trait in schema.BFI_TRAITS:
            vals = [
                (6 - row[k - 1]) if rev else row[k - 1]
                for k, (t, rev) in schema.BFI10_KEY.items()
                if t == trait
            ]
            got = a[(a.participant == f"r{i}") & (a.dimension == trait)]["score"].item()
            assert got == sum(vals) / 2


def test_missing_items():
    answers: list[object] = [2, 4, 1, 5, 3, 4, 2, 5, 1, np.nan]
    with pytest.warns(UserWarning, match="1 scores are NaN"):
        out = score_bfi10(_wide({"p": answers})).set_index("dimension")
    assert np.isnan(out.loc["Openness", "score"])
    assert out.loc["Openness", "status"] == "too_few_items"
    out1 = score_bfi10(_wide({"p": answers}), min_items=1).set_index("dimension")
    assert out1.loc["Openness", "score"] == 3.0  # 6 - 3 alone
    assert out1.loc["Openness", "n_items"] == 1
    with pytest.raises(
        ValueError, match=r"wrong item count for participant 'p'.*missing items \[10\]"
    ):
        score_bfi10(_wide({"p": answers}), require_complete=True)


@pytest.mark.parametrize("bad", [0, 6, 1.5, "x"])
def test_bad_answers(bad):
    answers: list[object] = [3] * 10
    answers[6] = bad
    with pytest.raises(
        ValueError, match=r"participant 'p', item 7: answer .* outside the integers 1..5"
    ):
        score_bfi10(_wide({"p": answers}))


def test_structural_errors():
    wide = _wide({"p": [3] * 10})
    with pytest.raises(ValueError, match="wrong item count: 9 item columns, expected 10"):
        score_bfi10(wide.drop(columns=[10]))
    with pytest.raises(ValueError, match="unknown item column"):
        score_bfi10(wide.assign(**{"11": 3}))
    long = pd.DataFrame({"participant": "p", "item": range(1, 11), "rating": 3})
    with pytest.raises(ValueError, match="unknown item 11"):
        score_bfi10(
            pd.concat([long, pd.DataFrame({"participant": ["p"], "item": [11], "rating": [3]})])
        )
    with pytest.raises(ValueError, match="duplicate answers for participant 'p', item 2"):
        score_bfi10(pd.concat([long, long.iloc[[1]]]))
    with pytest.raises(ValueError, match="min_items"):
        score_bfi10(wide, min_items=3)
