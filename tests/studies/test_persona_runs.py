"""Persona runs on an LLM: job building, cached persona prompts, persona profiles, the PVQ-21
put to an LLM, the comparison bundle and its file reader. Fast tests use a deterministic fake
backend; one test (marked llm) runs the real local model on a tiny grid."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.instruments import personas
from vp_stats.instruments.pvq import score_pvq21
from vp_stats.io import datasets, ess
from vp_stats.llm import questionnaires, runner
from vp_stats.llm.backends import PHRASES, GenResult, Scores
from vp_stats.llm.local import LlamaCppBackend
from vp_stats.schema import PROB_COLUMNS
from vp_stats.stats import personas as persona_stats
from vp_stats.studies import personas as persona_studies

os.environ.setdefault("VP_LLAMA_THREADS", "1")


class FakeBackend:
    """Deterministic stand-in for a model: the distribution is a hash of the rendered prompt."""

    backend = "fake"
    concurrency = 1

    def __init__(self):
        self.model = "fake-llm"
        self.calls = 0

    def identity(self):
        return {"backend": "fake", "model": self.model, "model_id": "fake:1"}

    def prompt_text(self, messages):
        return json.dumps(messages, sort_keys=True)

    def score(self, messages, continuations=PHRASES):
        self.calls += 1
        h = hashlib.sha256(self.prompt_text(messages).encode()).digest()
        w = np.frombuffer(h[: len(continuations)], dtype=np.uint8).astype(float) + 1.0
        return Scores(np.log(0.5 * w / w.sum()).tolist())

    def generate(self, messages, decoding, grammar=None):
        self.calls += 1
        return GenResult(raw_text="like me")


@pytest.fixture(scope="module")
def items():
    return datasets.load_items().iloc[[0, 7, 130, 260, 400]]


@pytest.fixture(scope="module")
def grid():
    return personas.persona_grid({"gender": ["male", "female"], "age": ["18-29", "60 and older"]})


@pytest.fixture(scope="module")
def corr():
    return datasets.load_published_correlations()


def _cache_rows(path):
    with sqlite3.connect(path) as con:
        return pd.read_sql(
            "SELECT persona_id, system_prompt, portrait_id, variant FROM answers", con
        )


# ----------------------------------------------------------------------------- running


def test_run_personas_jobs_attributes_and_cache(tmp_path, items, grid):
    be = FakeBackend()
    cache = tmp_path / "a.sqlite"
    ans = persona_studies.run_personas(be, grid, items, variants=("v1", "v2"), cache=cache)
    # (4 personas + plain) x 5 items x 2 variants, every one answered once
    assert len(ans) == 5 * 5 * 2 and be.calls == 50
    assert ans.groupby("persona_id").size().eq(10).all()
    plain = ans[ans.persona_id == "plain"]
    assert plain.system_prompt.isna().all() and plain.gender.isna().all()
    male_old = ans[(ans.gender == "male") & (ans.age == "60 and older")]
    assert len(male_old) == 10
    assert set(male_old.system_prompt) == {
        "**Your Profile**: Your gender is male. Your age is 60 and older."
    }
    # the persona prompt of every attribute combination is stored with each cached answer
    rows = _cache_rows(cache)
    assert len(rows) == 50
    for combo in grid.itertuples():
        attrs = {"gender": combo.gender, "age": combo.age}
        got = rows[rows.persona_id == personas.persona_id(attrs)]
        assert len(got) == 10
        assert set(got.system_prompt) == {personas.render_persona(attrs)}
    assert rows.loc[rows.persona_id == "plain", "system_prompt"].isna().all()
    # deterministic: a rerun is served from the cache with identical answers
    be2 = FakeBackend()
    again = persona_studies.run_personas(be2, grid, items, variants=("v1", "v2"), cache=cache)
    assert be2.calls == 0 and again.from_cache.all()
    assert np.array_equal(again.rating.to_numpy(), ans.rating.to_numpy())


def test_persona_prompts_deterministic_and_distinct():
    a = personas.persona_grid({"gender": ["male", "female"], "age": ["18-29", "30-44", "45-59"]})
    b = personas.persona_grid({"age": ["18-29", "30-44", "45-59"], "gender": ["male", "female"]})
    assert a.persona_id.is_unique and a.system_prompt.is_unique
    key = ["gender", "age"]
    m = a.merge(b, on=key, suffixes=("_a", "_b"))
    assert len(m) == 6 and (m.persona_id_a == m.persona_id_b).all()
    assert (m.system_prompt_a == m.system_prompt_b).all()


def test_run_personas_refuses_bad_tables(items):
    be = FakeBackend()
    with pytest.raises(ValueError, match="reserved for the plain model"):
        persona_studies.run_personas(
            be, pd.DataFrame({"persona_id": ["plain"], "system_prompt": ["x"]}), items
        )
    with pytest.raises(ValueError, match="lacks column"):
        persona_studies.run_personas(be, pd.DataFrame({"persona_id": ["a"]}), items)
    with pytest.raises(ValueError, match="several different system prompts"):
        persona_studies.run_personas(
            be, pd.DataFrame({"persona_id": ["a", "a"], "system_prompt": ["x", "y"]}), items
        )
    with pytest.raises(ValueError, match="empty system prompt"):
        persona_studies.run_personas(
            be, pd.DataFrame({"persona_id": ["a"], "system_prompt": [" "]}), items
        )
    assert be.calls == 0


def test_persona_value_profiles_by_hand():
    # two items per value family bfi; answers over two variants are averaged first
    corr = pd.DataFrame(
        {
            "portrait_id": [1001, 1002, 1003],
            "option_id": 1,
            "family": "bfi",
            "dimension": ["Openness", "Openness", "Neuroticism"],
            "rho": [0.5, 0.31, 0.4],
        }
    )
    rows = []
    vals = {"plain": [5, 3, 2, 4, 1, 1], "p1": [6, 6, 1, 1, 4, 2]}
    for pid, v in vals.items():
        for k, (it, var) in enumerate([(i, w) for i in (1001, 1002, 1003) for w in ("v1", "v2")]):
            rows.append((pid, it, 1, var, float(v[k]), True))
    a = pd.DataFrame(
        rows, columns=["persona_id", "portrait_id", "option_id", "variant", "rating", "parse_ok"]
    )
    a["model"] = "m"
    a["gender"] = np.where(a.persona_id == "p1", "female", None)
    prof = persona_stats.persona_value_profiles(a, corr, exclusions=None)
    for pid, v in vals.items():
        means = np.array(v, float).reshape(3, 2).mean(axis=1)  # per item over variants
        centre = means.mean()
        got = prof[prof.model == pid].set_index("dimension").centered_mean
        assert got["Openness"] == pytest.approx(means[:2].mean() - centre, abs=1e-12)
        assert got["Neuroticism"] == pytest.approx(means[2] - centre, abs=1e-12)
    assert (prof.model == prof.persona_id).all() and set(prof.llm) == {"m"}
    assert set(prof.loc[prof.model == "p1", "gender"]) == {"female"}
    # failed answers are left out
    b = a.copy()
    b.loc[0, ["rating", "parse_ok"]] = [1.0, False]
    got = persona_stats.persona_value_profiles(b, corr, exclusions=None)
    o = got[(got.model == "plain") & (got.dimension == "Openness")].original_mean.item()
    assert o == pytest.approx(np.mean([3, 2, 4]), abs=1e-12)


def test_select_persona_items(corr):
    its = datasets.load_items()
    sel = persona_studies.select_persona_items(its, corr, 3)
    c = corr[(corr.family == "pvq") & (corr.rho > 0.3)]
    for r in sel.itertuples():
        for d in r.selected_for.split(";"):
            rho = c[
                (c.portrait_id == r.portrait_id) & (c.option_id == r.option_id) & (c.dimension == d)
            ]
            assert len(rho) == 1
    counts = sel.selected_for.str.split(";").explode().value_counts()
    assert set(counts.index) == set(schema.PVQ_VALUES) and (counts == 3).all()


def test_age_band():
    got = personas.age_band([15, 18, 29.0, 30, 44, 45, 59, 60, 101, np.nan])
    assert got.tolist() == [
        None,
        "18-29",
        "18-29",
        "30-44",
        "30-44",
        "45-59",
        "45-59",
        "60 and older",
        "60 and older",
        None,
    ]


# ----------------------------------------------------------------------------- PVQ-21 on an LLM


def test_pvq21_prompts_keyed_like_schema():
    j = persona_studies.pvq21_prompts()
    assert j["item"].tolist() == list(range(1, 22))
    for v, its in schema.PVQ21_KEY.items():
        assert j.loc[j["item"].isin(its), "value"].eq(v).all()
    assert j.prompt.is_unique
    for ph in PHRASES:
        assert ph in j.prompt.iloc[0]
    with pytest.raises(ValueError, match="21 portraits"):
        persona_studies.pvq21_prompts(["x"] * 20)


def test_score_llm_pvq21_expected_agrees_with_score_pvq21():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 7, size=(3, 21)).astype(float)
    x[1, 4] = np.nan  # one failed answer
    a = pd.DataFrame(
        {
            "persona_id": np.repeat(["plain", "a", "b"], 21),
            "item": np.tile(np.arange(1, 22), 3),
            "rating": x.ravel(),
            "parse_ok": ~np.isnan(x.ravel()),
        }
    )
    ref = score_pvq21(
        a.rename(columns={"persona_id": "participant"}).drop(columns="parse_ok")
    ).rename(columns={"participant": "persona_id"})
    got = questionnaires.score_llm_pvq21(a, "expected")
    assert got.columns.tolist() == ref.columns.tolist()  # the human scorer's table, unit persona_id
    m = ref.merge(got, on=["persona_id", "family", "dimension"], suffixes=("_ref", ""))
    assert len(m) == 3 * 14
    assert np.allclose(m.score, m.score_ref, atol=1e-12) and (m.n_items == m.n_items_ref).all()
    # mode scoring of a logprobs table uses the most probable phrase
    b = a.assign(
        raw_text=[schema.LIKERT_LABELS[int(v)] if v == v else None for v in x.ravel()],
        rating=x.ravel() + 0.3,
    )
    mode = questionnaires.score_llm_pvq21(b, "mode")
    assert np.allclose(mode.score, ref.score, atol=1e-12, equal_nan=True)


def test_run_pvq21_fake(items):
    be = FakeBackend()
    tab = personas.persona_table([{"gender": "female"}])
    ans = persona_studies.run_pvq21(be, tab)
    assert len(ans) == 42 and set(ans.persona_id) == {
        "plain",
        personas.persona_id({"gender": "female"}),
    }
    assert (
        ans.groupby("persona_id")["item"].apply(sorted).map(lambda s: s == list(range(1, 22))).all()
    )
    scores = questionnaires.score_llm_pvq21(ans, "expected")
    # MRAT identity: item-weighted sum of centred basic scores is zero
    w = scores[scores.family == "pvq"].assign(
        k=lambda d: d.dimension.map(lambda v: len(schema.PVQ21_KEY[v]))
    )
    assert np.allclose(w.assign(s=w.score * w.k).groupby("persona_id").s.sum(), 0, atol=1e-12)


# ----------------------------------------------------------------------------- comparisons


def test_compare_personas_against_direct_computation(tmp_path, items, grid, corr):
    be = FakeBackend()
    its = persona_studies.select_persona_items(datasets.load_items(), corr, 2)
    ans = persona_studies.run_personas(be, grid, its)
    ref = persona_studies.value_portrait_reference()
    res = persona_studies.compare_personas(ans, corr, human=ref, n_boot=0)
    assert res.group.empty and "no demographic columns" in res.notes["group"]
    # item level: human means straight from the ratings, persona means over the 4 personas
    r = ref["ratings"].groupby(["portrait_id", "option_id"]).rating.mean()
    pm = ans[ans.persona_id != "plain"].groupby(["portrait_id", "option_id"]).rating.mean()
    it = res.item.set_index(["portrait_id", "option_id"])
    assert np.allclose(it.mean_human, r.reindex(it.index), atol=1e-12)
    assert np.allclose(it.mean_persona, pm.reindex(it.index), atol=1e-12)
    # population level: variance ratio by hand for one value
    prof = res.profiles
    pv = prof[(prof.persona_id != "plain") & (prof.family == "pvq") & (prof.dimension == "Power")]
    hs = ref["scores"]
    hv = hs[hs.rater & (hs.family == "pvq") & (hs.dimension == "Power")].score
    row = res.population.set_index("dimension").loc["Power"]
    assert row.variance_ratio == pytest.approx(
        np.var(pv.centered_mean, ddof=1) / np.var(hv, ddof=1), rel=1e-10
    )
    # shifts: persona minus plain
    sh = res.shifts.set_index(["persona_id", "dimension"])["shift"]
    plain = (
        prof[(prof.persona_id == "plain") & (prof.family == "pvq")]
        .set_index("dimension")
        .centered_mean
    )
    one = pv.iloc[0]
    assert sh[(one.persona_id, "Power")] == pytest.approx(
        one.centered_mean - plain["Power"], abs=1e-12
    )


def test_group_gap_on_synthetic_ess_by_hand(tmp_path, corr):
    """Group level on SYNTHETIC ESS-format data (random answers): checks arithmetic only."""
    be = FakeBackend()
    its = persona_studies.select_persona_items(datasets.load_items(), corr, 2)
    tab = personas.persona_table([{"gender": "male"}, {"gender": "female"}])
    ans = persona_studies.run_personas(be, tab, its)
    path = tmp_path / "ess.csv"
    ess.synthetic_ess(300, seed=4).to_csv(path, index=False)
    hum = ess.load_ess(path)
    res = persona_studies.compare_personas(
        ans, corr, ess_scores=hum, group="gender", group_a="male", n_boot=0
    )
    g = res.group.set_index("dimension")
    prof = res.profiles
    pvq = prof[prof.family == "pvq"].pivot(
        index="persona_id", columns="dimension", values="centered_mean"
    )
    male = personas.persona_id({"gender": "male"})
    h = hum[(hum.family == "pvq") & hum.score.notna()]
    for d in ("Power", "Tradition"):
        assert g.loc[d, "llm_gap"] == pytest.approx(
            pvq.loc[male, d] - pvq.loc["plain", d], abs=1e-12
        )
        hd = h[h.dimension == d]
        mm = np.average(hd[hd.gender == "male"].score, weights=hd[hd.gender == "male"].weight)
        allm = np.average(hd.score, weights=hd.weight)
        assert g.loc[d, "human_gap"] == pytest.approx(mm - allm, abs=1e-12)
    # one persona against the plain model: the LLM interval comes from resampling the items
    gb = persona_studies.compare_personas(
        ans, corr, ess_scores=hum, group="gender", group_a="male", n_boot=200, seed=1
    ).group.dropna(subset=["llm_gap"])
    assert gb.llm_resampled.str.contains("items").all()
    assert ((gb.llm_ci_low <= gb.llm_gap) & (gb.llm_gap <= gb.llm_ci_high)).all()
    assert (gb.llm_ci_low < gb.llm_ci_high).any()


def test_compare_file_and_bad_answer_files(tmp_path, grid, corr):
    be = FakeBackend()
    its = persona_studies.select_persona_items(datasets.load_items(), corr, 2)
    ans = persona_studies.run_personas(be, grid, its)
    path = tmp_path / "answers.csv"
    ans.to_csv(path, index=False)
    res = persona_studies.compare_file(path, n_boot=0)
    direct = persona_studies.compare_personas(ans, corr, n_boot=0)
    assert set(res.named_tables()) >= {"item", "population", "structure", "group"}
    pd.testing.assert_frame_equal(res.population, direct.population, check_dtype=False)
    bad = ans.copy()
    bad.loc[7, "rating"] = 6.5
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"answers.csv: row 8 \(line 9\), field 'rating'"):
        persona_studies.compare_file(path)
    ans.drop(columns="portrait_id").to_csv(path, index=False)
    with pytest.raises(ValueError, match="field 'portrait_id'.*missing column"):
        persona_studies.compare_file(path)
    bad = ans.copy().astype({"option_id": object})
    bad.loc[3, "option_id"] = "two"
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match="row 4.*'option_id'.*not an integer"):
        persona_studies.compare_file(path)
    with pytest.raises(ValueError, match="file not found"):
        persona_studies.compare_file(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- the real model


@pytest.mark.llm
@pytest.mark.slow
def test_real_model_tiny_persona_grid(tmp_path):
    be = LlamaCppBackend(n_ctx=2048)
    corr = datasets.load_published_correlations()
    its = persona_studies.select_persona_items(datasets.load_items(), corr, 1).head(5)
    tab = personas.persona_table([{"gender": "male"}, {"gender": "female"}])
    cache = tmp_path / "real.sqlite"
    ans = persona_studies.run_personas(
        be, tab, its, variants=("v1",), cache=cache, include_plain=False
    )
    assert len(ans) == 10 and ans.parse_ok.all() and (ans["mode"] == "logprobs").all()
    p = ans[PROB_COLUMNS].to_numpy()
    assert np.allclose(p.sum(axis=1), 1, atol=1e-9)
    assert np.allclose(ans.rating, p @ np.arange(1, 7), atol=1e-9)
    rows = _cache_rows(cache)
    assert len(rows) == 10
    for g in ("male", "female"):
        got = rows[rows.persona_id == personas.persona_id({"gender": g})]
        assert len(got) == 5 and set(got.system_prompt) == {
            f"**Your Profile**: Your gender is {g}."
        }
    # the two personas are answered from different prompts: some answer distribution differs
    wide = ans.pivot_table(index="portrait_id", columns="gender", values="rating")
    assert not np.allclose(wide["male"], wide["female"])
    again = persona_studies.run_personas(
        be, tab, its, variants=("v1",), cache=cache, include_plain=False
    )
    assert runner.run_counts(again)["n_new"] == 0 and np.array_equal(again.rating, ans.rating)
    prof = persona_stats.persona_value_profiles(ans, corr)
    assert set(prof.model) == set(tab.persona_id)
    pvq = prof[prof.family == "pvq"]
    assert pvq.centered_mean.notna().any() and pvq.groupby("model").size().eq(10).all()
