"""Questionnaires administered to the real local model with their own answer scales."""

import os

import numpy as np
import pytest

from vp_stats import schema
from vp_stats.instruments.bfi import score_bfi10
from vp_stats.io.cache import AnswerCache
from vp_stats.llm import questionnaires as q
from vp_stats.llm import runner
from vp_stats.llm.local import LlamaCppBackend

os.environ.setdefault("VP_LLAMA_THREADS", "1")


def test_parse_scale_answer_longest_phrase_wins():
    s = q.BFI10_SCALE
    assert runner.parse_scale_answer("Disagree strongly.", s).rating == 1
    assert runner.parse_scale_answer("I'd say I disagree a little", s).rating == 2
    assert runner.parse_scale_answer("NEITHER agree nor disagree!", s).rating == 3
    assert runner.parse_scale_answer("agree", s).rating is None
    assert runner.parse_scale_answer(None, s).reason == "not_text"


def test_scale_is_validated():
    import pandas as pd

    with pytest.raises(ValueError, match="scale must hold 2-6 distinct phrases"):
        runner.run(pd.DataFrame({"prompt": ["x"]}), object(), scale=("yes",))


@pytest.mark.llm
def test_bfi10_through_the_local_model(tmp_path):
    be = LlamaCppBackend(n_ctx=1024)
    ans = q.run_bfi10(be, mode="logprobs", cache=AnswerCache(tmp_path / "c.sqlite"))
    assert len(ans) == 10 and ans.parse_ok.all()
    p = ans[[f"p_{r}" for r in range(1, 6)]].to_numpy()
    assert np.allclose(p.sum(axis=1), 1) and ans.p_6.isna().all()  # five answers, not six
    assert ans.rating.between(1, 5).all() and ans.raw_text.isin(q.BFI10_SCALE).all()
    mode = q.score_llm_bfi10(ans, "mode").set_index("dimension").score
    long = ans.assign(participant="m", rating=p.argmax(axis=1) + 1)[
        ["participant", "item", "rating"]
    ]
    assert mode.to_dict() == score_bfi10(long).set_index("dimension").score.to_dict()
    exp = q.score_llm_bfi10(ans, "expected").set_index("dimension").score
    x = dict(zip(ans.item, ans.rating, strict=True))
    assert abs(exp["Extraversion"] - ((6 - x[1]) + x[6]) / 2) < 1e-12
    g = q.run_bfi10(be, mode="grammar", cache=AnswerCache(tmp_path / "c.sqlite"))
    assert g.raw_text.isin(q.BFI10_SCALE).all() and g.rating.isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()
    again = q.run_bfi10(be, mode="logprobs", cache=AnswerCache(tmp_path / "c.sqlite"))
    assert runner.run_counts(again)["n_new"] == 0 and again.rating.tolist() == ans.rating.tolist()
    assert set(schema.BFI_TRAITS) == set(mode.index)
