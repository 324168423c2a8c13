"""Tests for HVAE on runner backends (vp_stats.llm.hvae.make_chat_fn / run_grid / score_file).

References: Murphy et al. (2011) ideal-type angles (altruist 61.39, joint-gain
maximiser 45.00, individualist 0, competitor -16.26 degrees) and the all-A
pattern (30.47 degrees, intransitive); the SQLite cache's own row count; the
independent scorer :func:`vp_stats.instruments.svo.score_svo` for real-model
answers; deterministic fake backends that record every call.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from vp_stats.errors import DataFormatError
from vp_stats.instruments import svo
from vp_stats.io import svo as svo_io
from vp_stats.io.cache import AnswerCache
from vp_stats.llm import hvae as hvae_protocol
from vp_stats.llm.backends import BackendError, Decoding, GenResult
from vp_stats.llm.local import LlamaCppBackend
from vp_stats.llm.openai_backend import OpenAIBackend
from vp_stats.plots import svo as svo_plots
from vp_stats.stats import hvae as hvae_metrics
from vp_stats.studies import hvae as hvae_runs

# ---------------------------------------------------------------------------
# Fake backends
# ---------------------------------------------------------------------------


def _target_of(messages) -> str:
    first = next(m["content"] for m in messages if m["role"] == "user")
    return next(t for t in svo.TARGETS if f"A person with a {t} value" in first)


def _item_of(messages) -> int:
    """Canonical item id of the question in the last message (from its payoffs)."""
    lines = messages[-1]["content"].splitlines()
    opts = [ln for ln in lines if len(ln) > 2 and ln[1] == ":" and ln[0] in "ABCDEFGHI"]
    pairs = [tuple(int(w) for w in ln.split() if w.isdigit()) for ln in opts]
    for item in svo.PRIMARY_ITEMS:
        if [tuple(p) for p in svo.PAYOFFS[item - 1].tolist()] == pairs:
            return item
    raise AssertionError("no item matches the prompt")


class IdealFake:
    """Answers each target's Murphy ideal pattern; records every call."""

    pattern_of = {t: svo.IDEAL_PATTERNS[svo.TARGET_IDEAL_TYPES[t]] for t in svo.TARGETS}

    def __init__(self, item_text=None):
        self.calls: list[dict] = []
        self.item_text = item_text  # e.g. "Option {}" to test parsers

    def identity(self):
        return {"backend": "fake", "model": "ideal"}

    def prompt_text(self, messages):
        return json.dumps(messages, sort_keys=True)

    def _answer(self, messages, decoding, grammar):
        self.calls.append({"messages": messages, "decoding": decoding, "grammar": grammar})
        if not hvae_protocol.is_item_turn(messages):
            return GenResult(raw_text=f"free text (seed {decoding.seed})")
        opt = self.pattern_of[_target_of(messages)][_item_of(messages) - 1]
        letter = svo.OPTION_LETTERS[opt - 1]
        text = self.item_text.format(letter) if self.item_text and not grammar else letter
        return GenResult(raw_text=text)

    def generate(self, messages, decoding, grammar=None):
        assert grammar in (
            None,
            hvae_protocol.ITEM_GRAMMAR,
        )  # the answer-phrase grammar must never be used here
        return self._answer(messages, decoding, grammar)


class TextOnlyFake(IdealFake):
    supports_grammar = False  # the backend protocol's flag: no constrained generation


# ---------------------------------------------------------------------------
# make_chat_fn: routing, cache, keys
# ---------------------------------------------------------------------------


def test_grammar_mode_routes_items_to_letter_grammar_and_free_steps_to_plain_generation():
    be = IdealFake()
    dec = Decoding(temperature=0.7, max_tokens=40, top_p=0.9, seed=99)
    chat = hvae_protocol.make_chat_fn(be, mode="grammar", decoding=dec)
    tr = hvae_runs.run_hvae(chat, targets=["altruistic"], n_runs=1, seed=5, with_goal=True)
    assert len(be.calls) == 8
    free, items = be.calls[:2], be.calls[2:]
    assert all(c["grammar"] is None and c["decoding"].max_tokens == 40 for c in free)
    assert all(c["grammar"] == "root ::= [A-I]\n" for c in items)
    assert all(c["decoding"].max_tokens == 2 for c in items)
    # the run's seed replaces the decoding seed; other parameters are kept
    assert {c["decoding"].seed for c in be.calls} == {5}
    assert {(c["decoding"].temperature, c["decoding"].top_p) for c in be.calls} == {(0.7, 0.9)}
    assert "".join(tr["letter"].dropna()) == "AIAAII"  # the altruist's pattern 1,9,1,1,9,9


def test_text_mode_uses_plain_generation_and_item_token_limit():
    be = IdealFake()
    chat = hvae_protocol.make_chat_fn(be, mode="text", item_max_tokens=7)
    hvae_runs.run_hvae(chat, targets=["competitive"], n_runs=1)
    assert [c["grammar"] for c in be.calls] == [None] * 7
    assert [c["decoding"].max_tokens for c in be.calls] == [64] + [7] * 6


def test_grammar_mode_needs_a_grammar_route():
    chat = hvae_protocol.make_chat_fn(TextOnlyFake(), mode="grammar")
    with pytest.raises(ValueError, match="mode='text'"):
        hvae_runs.run_hvae(chat, targets=["prosocial"])
    with pytest.raises(ValueError, match="mode must be one of"):
        hvae_protocol.make_chat_fn(IdealFake(), mode="logprobs")
    with pytest.raises(ValueError, match="reset_kv"):
        hvae_protocol.make_chat_fn(IdealFake(), reset_kv="sometimes")


def test_cache_answers_once_and_persists(tmp_path):
    path = tmp_path / "hvae.sqlite"
    be = IdealFake()
    chat = hvae_protocol.make_chat_fn(be, cache=AnswerCache(path))
    t1 = hvae_runs.run_hvae(chat, targets=["prosocial", "individualistic"], n_runs=2, seed=3)
    assert chat.stats == {"n_calls": 28, "n_cached": 0}
    with AnswerCache(path) as c:
        assert c.count() == 28
    # a new chat function on the same file: no LLM call at all, same transcript
    be2 = IdealFake()
    chat2 = hvae_protocol.make_chat_fn(be2, cache=AnswerCache(path))
    t2 = hvae_runs.run_hvae(chat2, targets=["prosocial", "individualistic"], n_runs=2, seed=3)
    assert be2.calls == [] and chat2.stats == {"n_calls": 0, "n_cached": 28}
    pd.testing.assert_frame_equal(t1, t2)
    # stored rows carry the step kind as mode and the decoding incl. seed
    con = sqlite3.connect(path)
    modes = dict(con.execute("SELECT mode, COUNT(*) FROM answers GROUP BY mode").fetchall())
    params = [json.loads(p) for (p,) in con.execute("SELECT params FROM answers")]
    con.close()
    assert modes == {"hvae-free": 4, "hvae-item-grammar": 24}
    assert {p["seed"] for p in params} == {3, 4}


def test_cache_key_covers_seed_decoding_messages_and_mode():
    be = IdealFake()
    cache = AnswerCache(":memory:")
    msgs = hvae_protocol.build_messages("prosocial", ["free text"])
    base = hvae_protocol.make_chat_fn(be, cache=cache)
    base(msgs, 0)
    base(msgs, 0)
    assert base.stats == {"n_calls": 1, "n_cached": 1}
    hvae_protocol.make_chat_fn(be, cache=cache)(msgs, 1)  # other seed
    hot = Decoding(temperature=1.0, max_tokens=64, top_p=0.95)
    hvae_protocol.make_chat_fn(be, cache=cache, decoding=hot)(msgs, 0)  # other temperature
    hvae_protocol.make_chat_fn(be, cache=cache, mode="text")(msgs, 0)  # other item mode
    other = hvae_protocol.build_messages("prosocial", ["other free text"])
    hvae_protocol.make_chat_fn(be, cache=cache)(other, 0)  # other earlier reply
    assert len(be.calls) == 5 and cache.count() == 5
    # the free-text step is shared across item modes (same request)
    first = hvae_protocol.build_messages("prosocial")
    hvae_protocol.make_chat_fn(be, cache=cache, mode="grammar")(first, 0)
    text_chat = hvae_protocol.make_chat_fn(be, cache=cache, mode="text")
    text_chat(first, 0)
    assert text_chat.stats == {"n_calls": 0, "n_cached": 1}


def test_openai_route_sends_grammar_in_the_request_body():
    """A real HTTP endpoint on 127.0.0.1 records what the OpenAI backend sends."""
    import http.server
    import threading

    sent = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            sent.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "D"},
                        }
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        be = OpenAIBackend(
            model="m", base_url=f"http://127.0.0.1:{srv.server_port}/v1", retries=0, timeout=10
        )
        dec = Decoding(temperature=0.5, max_tokens=2, top_p=1.0, seed=4)
        res = hvae_protocol.generate_text(
            be, [{"role": "user", "content": "q"}], dec, hvae_protocol.ITEM_GRAMMAR
        )
        chat = hvae_protocol.make_chat_fn(be, mode="grammar")
        reply = chat(hvae_protocol.build_messages("prosocial", ["free text"]), 3)
    finally:
        srv.shutdown()
        srv.server_close()
    assert res.raw_text == "D" and reply == "D"
    assert sent[0]["grammar"] == "root ::= [A-I]\n" and sent[1]["grammar"] == "root ::= [A-I]\n"
    assert (sent[0]["seed"], sent[0]["max_tokens"], sent[0]["temperature"]) == (4, 2, 0.5)
    assert (sent[1]["seed"], sent[1]["max_tokens"]) == (3, 2)


# ---------------------------------------------------------------------------
# run_grid: tidy results and rationality
# ---------------------------------------------------------------------------


def test_run_grid_ideal_answers_reproduce_murphy_angles():
    g = hvae_runs.run_grid(IdealFake(), n_runs=2, seed=10, with_goal=(False, True))
    runs = g.runs
    assert len(runs) == 2 * 4 * 2
    assert runs.duplicated(["with_goal", "target", "run"]).sum() == 0
    assert list(runs["seed"]) == [10, 11] * 8
    expected = {
        "altruistic": 61.39,
        "prosocial": 45.00,
        "individualistic": 0.0,
        "competitive": -16.26,
    }
    got = runs.groupby("target")["svo_angle"].agg(["min", "max"])
    for t, a in expected.items():
        assert got.loc[t, "min"] == pytest.approx(a, abs=0.005)
        assert got.loc[t, "max"] == pytest.approx(a, abs=0.005)
    assert runs["hit"].all() and runs["transitive"].all()
    assert not runs["position_bias"].any()
    assert (runs["abs_angular_distance"] < 1e-9).all()
    assert runs.loc[runs.with_goal, "goal_reply"].notna().all()
    assert runs.loc[~runs.with_goal, "goal_reply"].isna().all()
    assert all(len(json.loads(x)) == 6 for x in runs["item_replies"])
    s = g.summary
    assert len(s) == 8 and set(s["with_goal"]) == {False, True}
    assert (s["hit_rate"] == 1.0).all() and (s["mean_abs_angular_distance"] < 1e-9).all()
    # 120 steps; the value step is the same request in both goal conditions
    # (same target, seed and message), so it is generated once and then read back
    assert (g.n_calls, g.n_cached) == (120 - 8, 8)
    vr = runs.pivot_table(
        index=["target", "run"], columns="with_goal", values="value_reply", aggfunc="first"
    )
    assert (vr[False] == vr[True]).all()


def test_run_grid_parse_failures_and_parsers():
    strict = hvae_runs.run_grid(
        IdealFake("Option {}"), targets=["prosocial"], n_runs=1, with_goal=False, mode="text"
    )
    r = strict.runs.iloc[0]
    assert r["answers"] == "??????" and r["n_parse_failures"] == 6 and not r["complete"]
    assert np.isnan(r["svo_angle"]) and pd.isna(r["hit"])
    assert json.loads(r["item_replies"])[0] == "Option A"
    assert np.isnan(strict.summary.loc[0, "hit_rate"])
    assert strict.summary.loc[0, "hit_rate_all_runs"] == 0.0
    lenient = hvae_runs.run_grid(
        IdealFake("Option {}"),
        targets=["prosocial"],
        n_runs=1,
        with_goal=False,
        mode="text",
        parser="lenient",
    )
    assert lenient.runs.loc[0, "svo_angle"] == pytest.approx(45.0, abs=1e-9)


def test_run_grid_position_bias_flag_all_a():
    class AllA(IdealFake):
        def generate(self, messages, decoding, grammar=None):
            return GenResult(raw_text="A" if grammar else "free text")

    g = hvae_runs.run_grid(AllA(), targets=["competitive"], n_runs=1, with_goal=False)
    r = g.runs.iloc[0]
    assert r["answers"] == "AAAAAA" and r["position_bias"] and not r["transitive"]
    assert r["svo_angle"] == pytest.approx(30.47, abs=0.005)
    assert r["svo_category"] == "prosocial" and not r["hit"]
    assert r["abs_angular_distance"] == pytest.approx(30.47 + 16.26, abs=0.01)


def test_run_grid_temperature_and_argument_checks():
    be = IdealFake()
    g = hvae_runs.run_grid(be, targets=["prosocial"], n_runs=1, with_goal=True, temperature=0.0)
    assert {c["decoding"].temperature for c in be.calls} == {0.0}
    assert (g.runs["temperature"] == 0.0).all() and list(g.runs["with_goal"]) == [True]
    with pytest.raises(ValueError, match="unknown HVAE target"):
        hvae_runs.run_grid(be, targets=["selfish"])
    with pytest.raises(ValueError, match="with_goal"):
        hvae_runs.run_grid(be, with_goal=(True, True))
    with pytest.raises(ValueError, match="temperature"):
        hvae_runs.run_grid(be, temperature=-1)
    with pytest.raises(ValueError, match="convention"):
        hvae_runs.run_grid(be, convention="other")


def test_svo_figures_return_figures():
    g = hvae_runs.run_grid(IdealFake(), n_runs=1)
    figs = [
        svo_plots.svo_ring(g.runs),
        svo_plots.rationality_bars(g.summary),
        svo_plots.consistency_bars(g.runs),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    # one scatter point per run with an angle
    pts = sum(len(c.get_offsets()) for c in figs[0].axes[0].collections)
    assert pts == len(g.runs)
    with pytest.raises(ValueError, match="missing column"):
        svo_plots.rationality_bars(g.runs)


# ---------------------------------------------------------------------------
# score_file
# ---------------------------------------------------------------------------


def _write(tmp_path, text, name="svo.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_score_file_choices_letters_and_numbers(tmp_path):
    rows = ["Respondent,Item,Choice,extra"]
    rows += [f"r1,{i},a,x" for i in range(1, 7)]  # all A: 30.47, intransitive
    for name, pat in svo.IDEAL_PATTERNS.items():
        rows += [f"{name},{i},{o}," for i, o in zip(range(1, 7), pat, strict=True)]
    out = svo_io.score_file(_write(tmp_path, "\n".join(rows) + "\n"))
    assert list(out["participant"]) == ["r1", *svo.IDEAL_PATTERNS]
    a = out.set_index("participant")["svo_angle"]
    assert a["r1"] == pytest.approx(30.47, abs=0.005)
    for name, ang in {
        "altruist": 61.39,
        "joint_gain_maximizer": 45.0,
        "inequality_averser": 37.48,
        "competitor": -16.26,
    }.items():
        assert a[name] == pytest.approx(ang, abs=0.005)
    assert out.loc[0, "transitive"] == False  # noqa: E712
    assert list(out["svo_category_murphy"]) == list(out["svo_category_hvae"])
    assert out.set_index("participant").loc["competitor", "svo_category_murphy"] == "competitive"
    assert "inequality_aversion_index" not in out.columns


def test_score_file_payoffs_and_secondary(tmp_path):
    ia = svo.SECONDARY_IDEALS["inequality_aversion"]
    pat = svo.IDEAL_PATTERNS["inequality_averser"]
    rows = ["respondent,item,payoff_self,payoff_other"]
    for item, opt in zip(range(1, 16), list(pat) + list(ia), strict=True):
        s, o = svo.PAYOFFS[item - 1, opt - 1]
        rows.append(f"p1,{item},{s},{o}")
    out = svo_io.score_file(_write(tmp_path, "\n".join(rows)))
    assert out.loc[0, "svo_angle"] == pytest.approx(37.48, abs=0.005)
    assert out.loc[0, "inequality_aversion_index"] == 0.0
    assert out.loc[0, "prosocial_type"] == "inequality_averse"
    # incomplete primary block: no angle (never partial)
    out2 = svo_io.score_file(_write(tmp_path, "respondent,item,choice\nx,1,A\nx,2,B\n", "p.csv"))
    assert not out2.loc[0, "primary_complete"] and np.isnan(out2.loc[0, "svo_angle"])


@pytest.mark.parametrize(
    "text, record, field, problem",
    [
        (
            "respondent,item,choice\nr1,1,A\nr1,2,J\n",
            "row 2 (line 3, respondent 'r1')",
            "choice",
            "'J'",
        ),
        ("respondent,item,choice\nr1,16,A\n", "row 1 (line 2, respondent 'r1')", "item", "1-15"),
        ("respondent,item,choice\nr1,x,A\n", "row 1", "item", "'x'"),
        (
            "respondent,item,choice\nr1,1,A\nr1,1,B\n",
            "row 2 (line 3, respondent 'r1')",
            "respondent",
            "rated item 1 more than once (first answer in row 1)",
        ),
        ("respondent,item,choice\n,1,A\n", "row 1", "respondent", "empty"),
        ("respondent,item,choice\nr1,1,\n", "row 1", "choice", "leave unanswered items out"),
        (
            "respondent,item,payoff_self,payoff_other\nr1,2,85,85\n",
            "row 1",
            "payoff_self/payoff_other",
            "item 1 option A",
        ),
        ("respondent,item,self,other\nr1,1,85,abc\n", "row 1", "other", "'abc'"),
        ("respondent,choice\nr1,A\n", None, "item", "missing column"),
        ("respondent,item\nr1,1\n", None, "choice", "missing column"),
        ("respondent,item,choice,self,other\nr1,1,A,85,85\n", None, "choice", "not both"),
        ("", None, None, "empty"),
        ("respondent,item,choice\n", None, None, "no data rows"),
        ("participant,item,rating\nr1,2.5,A\n", "row 1", "item", "2.5 is not an integer"),
        ("participant,item,rating\nr1,1,10\n", "row 1", "rating", "outside the rating scale 1-9"),
    ],
)
def test_score_file_errors_name_file_row_and_field(tmp_path, text, record, field, problem):
    p = _write(tmp_path, text)
    with pytest.raises(DataFormatError) as err:
        svo_io.score_file(p)
    e = err.value
    assert e.file == str(p) and e.field == field and problem in str(e)
    if record is None:
        assert e.record is None
    else:
        assert str(e.record).startswith(record)
    assert isinstance(e, ValueError) and str(p) in str(e)


def test_score_file_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        svo_io.score_file(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------
# The real local model (SmolLM2-135M-Instruct through llama.cpp)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_backend():
    try:
        return LlamaCppBackend()
    except BackendError as exc:  # pragma: no cover - depends on the install
        pytest.skip(f"local model unavailable: {exc}")


@pytest.mark.llm
@pytest.mark.slow
def test_real_model_grid_parsed_cached_and_seed_deterministic(local_backend, tmp_path):
    path = tmp_path / "hvae.sqlite"
    dec = Decoding(temperature=0.7, max_tokens=16, top_p=0.95)
    kw = dict(targets=["prosocial"], n_runs=1, seed=7, with_goal=False, decoding=dec)
    g1 = hvae_runs.run_grid(local_backend, cache=path, **kw)
    # parsed: grammar mode gives one bare letter per item, scored like svo.score_svo
    r = g1.runs.iloc[0]
    replies = json.loads(r["item_replies"])
    assert all(x in list("ABCDEFGHI") for x in replies) and r["n_parse_failures"] == 0
    ref = svo.score_svo([list(r["answers"])])
    assert r["svo_angle"] == pytest.approx(ref.loc[0, "svo_angle"], abs=1e-12)
    assert r["svo_category"] == ref.loc[0, "svo_category"]
    assert bool(r["transitive"]) == bool(ref.loc[0, "transitive"])
    assert (g1.n_calls, g1.n_cached) == (7, 0)
    with AnswerCache(path) as c:
        assert c.count() == 7
    # cached: a second grid makes no LLM call and returns the same table
    g2 = hvae_runs.run_grid(local_backend, cache=path, **kw)
    assert (g2.n_calls, g2.n_cached) == (0, 7)
    pd.testing.assert_frame_equal(g1.runs, g2.runs)
    # seeds deterministic: recomputed from scratch (fresh cache) at temperature 0.7
    g3 = hvae_runs.run_grid(local_backend, cache=None, **kw)
    assert g3.n_calls == 7
    pd.testing.assert_frame_equal(g1.runs, g3.runs)
    # tidy: one row per run, the documented columns
    assert list(g1.runs.columns[:8]) == [
        "model",
        "mode",
        "temperature",
        "with_goal",
        "target",
        "run",
        "seed",
        "answers",
    ]
    assert g1.runs.loc[0, "seed"] == 7 and g1.runs.loc[0, "model"].startswith("SmolLM2")
    # another seed samples another value description
    chat = hvae_protocol.make_chat_fn(local_backend, decoding=dec)
    first = hvae_protocol.build_messages("prosocial")
    assert chat(first, 8) != r["value_reply"]


def test_chance_baseline_matches_enumeration_of_all_patterns():
    # independent reference: svo.svo_angle / svo.svo_category on all 9**6 patterns
    grid = np.indices((9,) * 6).reshape(6, -1).T + 1.0
    angles = svo.svo_angle(grid)
    b = hvae_metrics.chance_baseline(irrational="include").set_index("target")
    for conv in svo.CONVENTIONS:
        share = pd.Series(svo.svo_category(angles, conv)).value_counts(normalize=True)
        bc = hvae_metrics.chance_baseline(convention=conv, irrational="include").set_index("target")
        for t in svo.TARGETS:
            assert bc.loc[t, "hit_rate"] == pytest.approx(share.get(t, 0.0), abs=1e-12)
    for t in svo.TARGETS:
        d = np.abs(angles - svo.TARGET_ANGLES[t]).mean()
        assert b.loc[t, "mean_abs_angular_distance"] == pytest.approx(d, rel=1e-12)
    assert b["hit_rate"].sum() == pytest.approx(1.0)
    # published reachable range: nothing random lies outside -16.26..61.39
    assert angles.min() == pytest.approx(-16.26, abs=0.005)
    assert angles.max() == pytest.approx(61.39, abs=0.005)


def test_run_grid_in_parallel_equals_sequential():
    class Parallel(IdealFake):
        concurrency = 3

    kw = dict(targets=["prosocial", "competitive"], n_runs=2, seed=4, with_goal=(False, True))
    seq, par = hvae_runs.run_grid(IdealFake(), **kw), hvae_runs.run_grid(Parallel(), **kw)
    pd.testing.assert_frame_equal(seq.runs, par.runs)
    pd.testing.assert_frame_equal(seq.transcript, par.transcript)
