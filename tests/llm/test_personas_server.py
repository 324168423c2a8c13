"""``vp-stats personas run --personas FILE`` and ``--sample-from sapa-bfi`` end to end, with the
local backend and against a real llama.cpp server (llama-cpp-python's OpenAI-compatible server on
127.0.0.1 serving the embedded SmolLM2 GGUF), run as the command line is run.

Sizes are the smallest that still test something: llama_cpp.server computes the echoed prompt's
log-probabilities by sorting the whole vocabulary in Python for every prompt token (measured here:
about 30 CPU seconds for an IPIP prompt, 60-80 for a Value Portrait item prompt, most of the
file's CPU time), so each HTTP run puts one item to three personas (``--no-plain``).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from llama_server import llama_server

from vp_stats.llm.local import default_model_path
from vp_stats.schema import PROB_COLUMNS

pytestmark = pytest.mark.llm
os.environ.setdefault("VP_LLAMA_THREADS", "1")

#: ``python -m llama_cpp.server`` with the weights in plain CPU buffers, as tests/llm/test_runner.py
#: serves it (the same kernels as the local backend, so the two give the same numbers).
#: HTTP against local p_1..p_6: the tolerance of tests/llm/test_runner.py (measured about 1e-7).
_TOL = 1e-3
_PERSONAS = (
    "gender,age,backstory\n"
    "female,18-29,\n"
    "male,60 and older,\n"
    ',,"I grew up on a farm in Iowa and now teach history at a small college."\n'
)
_BACKSTORY = "I grew up on a farm in Iowa and now teach history at a small college."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """llama_cpp.server on a free port (tests/llama_server.py)."""
    secret = "sk-test-" + "2b7e151628aed2a6" * 2
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_server(default_model_path(), log, secret) as srv:
        yield srv


def _personas_run(*args, env=None):
    done = subprocess.run(
        [sys.executable, "-m", "vp_stats.cli", "personas", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _http(server):
    return [
        "--backend",
        "openai",
        "--model",
        "smollm2",
        "--base-url",
        server["url"],
        "--api-key-env",
        "VP_TEST_KEY",
        "--chat-template",
        str(default_model_path()),
        "--concurrency",
        "1",
        "--timeout",
        "600",
    ]


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _check_summary(done, out: Path, n_answers: int, answers: pd.DataFrame):
    """The printed summary tells the run's result and the true count of failed answers."""
    text = done.stdout
    assert "fidelity over" in text and "noise floor" in text, text
    n_bad = int((~answers["parse_ok"].astype(bool)).sum())
    assert f"answers: {n_answers}, failed or unparsed: {n_bad}" in text, text
    assert f"tables written to {out}" in text


def _same_distributions(loc: pd.DataFrame, http: pd.DataFrame, key):
    loc = loc.set_index(key).sort_index()
    http = http.set_index(key).sort_index()
    assert loc.index.equals(http.index), (loc.index, http.index)
    assert set(http["mode"]) == {"logprobs"} and set(http["backend"]) == {"openai"}
    assert set(loc["backend"]) == {"local"}
    dp = np.abs(loc[PROB_COLUMNS].to_numpy() - http[PROB_COLUMNS].to_numpy())
    assert dp.max() <= _TOL, dp.max()
    # the personas do move the answers: a run that ignored the system prompt would not
    p = loc[PROB_COLUMNS].to_numpy()
    assert np.abs(p - p[0]).max() > 10 * _TOL


@pytest.fixture(scope="module")
def persona_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("personas")
    (d / "personas.csv").write_text(_PERSONAS)
    # the shortest prompt of all (146 tokens in variant v3; IPIP prompts: about 75)
    (d / "items.csv").write_text("portrait_id,option_id\n4036,2\n")
    return d


def test_persona_file_local_and_http_give_the_same_study(server, persona_file, tmp_path):
    env = {**os.environ, "VP_TEST_KEY": server["secret"]}
    common = [
        "--personas",
        str(persona_file / "personas.csv"),
        "--items",
        str(persona_file / "items.csv"),
        "--variants",
        "v3",
        "--no-plain",
        "--n-boot",
        "50",
    ]
    runs = {}
    for name, backend in (("local", ["--backend", "local"]), ("http", _http(server))):
        out = tmp_path / name
        done = _personas_run(*common, *backend, "--out", str(out), env=env)
        a = pd.read_csv(out / "answers.csv")
        runs[name] = a
        # one persona per row of the file, each with its own attributes; no plain model
        assert a["persona_id"].nunique() == 3 and len(a) == 3 and "plain" not in set(a.persona_id)
        by = a.set_index("persona_id")
        story = by[by["backstory"].notna()]
        assert len(story) == 1 and story["system_prompt"].iloc[0] == _BACKSTORY
        assert story["gender"].isna().all()
        steered = by[by["gender"].notna()]
        prompts = dict(zip(steered["gender"], steered["system_prompt"], strict=True))
        assert set(prompts) == {"female", "male"}
        assert "female" in prompts["female"] and "18-29" in prompts["female"]
        assert "60 and older" in prompts["male"] and "female" not in prompts["male"]
        assert a["parse_ok"].all() and a["error"].isna().all()
        _check_summary(done, out, 3, a)
        assert "model side from answer probabilities" in done.stdout
        # the tables beside the answers, one row per persona where a table is per persona
        fs = pd.read_csv(out / "fidelity_summary.csv")
        per = fs[fs["level"] == "persona"]
        assert set(per["persona_id"]) == set(a["persona_id"]) and len(per) == 3
        assert (fs.loc[fs["level"] == "all", "n_items"] == 1).all()
        prof = pd.read_csv(out / "profiles.csv")
        assert set(prof["persona_id"]) == set(a["persona_id"])
        # validated items never put to a persona are not failures (issue 25: n_failed read 10)
        assert (prof["n_failed"] == 0).all() and (prof["n_not_asked"] > 0).any()
        assert not (out / "shifts.csv").exists()  # --no-plain: no base for shifts
        assert _is_png(out / "item_level.png")
    _same_distributions(runs["local"], runs["http"], ["persona_id", "portrait_id", "option_id"])


def test_silicon_sample_ipip_local_and_http_give_the_same_study(server, tmp_path):
    from vp_stats.io import psychtools as pt

    try:
        raw = pt.read_bfi()
    except pt.PsychToolsNotFoundError:
        pytest.skip("psychTools is not installed")
    env = {**os.environ, "VP_TEST_KEY": server["secret"]}
    common = [
        "--sample-from",
        "sapa-bfi",
        "--n",
        "3",
        "--seed",
        "0",
        "--instrument",
        "ipip",
        "--items",
        "A1",
        "--no-plain",
        "--n-boot",
        "50",
    ]
    runs = {}
    for name, backend in (("local", ["--backend", "local"]), ("http", _http(server))):
        out = tmp_path / name
        done = _personas_run(*common, *backend, "--out", str(out), env=env)
        a = pd.read_csv(out / "answers.csv")
        runs[name] = a
        assert set(a["item"]) == {"A1"} and a["parse_ok"].all()
        # personas are real respondents' profiles: each attribute combination occurs in bfi
        people = raw.rename(columns={"age_band": "age_p"})
        profiles = a.drop_duplicates("persona_id")[["gender", "age", "education"]]
        assert 1 <= len(profiles) <= 3 and len(a) == len(profiles)
        assert not profiles.duplicated().any()
        for r in profiles.itertuples():
            hit = people[
                (people.gender == r.gender)
                & (people.age_p == r.age)
                & (people.education == r.education)
            ]
            assert len(hit), r
        _check_summary(done, out, len(a), a)
        for line in ("steerability by gender", "steerability by education"):
            assert line in done.stdout
        fs = pd.read_csv(out / "fidelity_summary.csv")
        assert set(fs.loc[fs["level"] == "persona", "persona_id"]) == set(a["persona_id"])
        st = pd.read_csv(out / "steerability_personas.csv")
        assert set(st["persona_id"]) == set(a["persona_id"])
        assert set(st["attribute"]) >= {"gender", "education"}
        for attr in set(st["attribute"]):
            assert _is_png(out / f"steerability_{attr}.png")
        # no empty Value Portrait tables in an IPIP study folder
        assert not (out / "item_comparison.csv").exists() and not (out / "profiles.csv").exists()
    _same_distributions(runs["local"], runs["http"], ["persona_id", "item"])
    # the same answers give the same comparison, whichever backend produced them
    w1 = [pd.read_csv(tmp_path / n / "fidelity.csv").set_index("item")["w1"] for n in runs]
    assert np.allclose(w1[0], w1[1], atol=10 * _TOL)


def test_silicon_sample_on_the_items_with_the_plain_model_local(tmp_path):
    """``--sample-from`` on the Value Portrait items with the plain model: the persona shifts
    against it, the per-persona tables and the summary's count of failed answers."""
    from vp_stats.io import psychtools as pt

    try:
        pt.find_psychtools()
    except pt.PsychToolsNotFoundError:
        pytest.skip("psychTools is not installed")
    out = tmp_path / "out"
    done = _personas_run(
        "--sample-from",
        "sapa-bfi",
        "--n",
        "3",
        "--seed",
        "0",
        "--items",
        "1",
        "--n-boot",
        "50",
        "--backend",
        "local",
        "--out",
        str(out),
    )
    a = pd.read_csv(out / "answers.csv")
    n_personas = a.loc[a.persona_id != "plain", "persona_id"].nunique()
    assert "plain" in set(a["persona_id"]) and 1 <= n_personas <= 3
    assert len(a) == n_personas + 1 and a["parse_ok"].all()
    _check_summary(done, out, len(a), a)
    shifts = pd.read_csv(out / "shifts.csv")
    assert set(shifts["persona_id"]) == set(a["persona_id"]) - {"plain"}
    prof = pd.read_csv(out / "profiles.csv")
    assert set(prof["persona_id"]) == set(a["persona_id"]) and (prof["n_failed"] == 0).all()
    assert _is_png(out / "item_level.png")


def test_a_run_without_a_parsed_answer_fails_in_one_line(tmp_path):
    """Text mode: SmolLM2 chats instead of answering (greedy decoding, so every time). The run
    keeps the answers and exits 1 with one line saying none parsed (it was a pandera message
    about an empty table, exit 2)."""
    (tmp_path / "one.csv").write_text("gender\nfemale\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "vp_stats.cli", "personas", "run", "--personas",
         str(tmp_path / "one.csv"), "--items", "1", "--no-plain", "--mode", "text",
         "--backend", "local", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    err = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert len(err) == 1 and "none of the 1 answers parsed in text mode" in err[0], done.stderr
    a = pd.read_csv(out / "answers.csv")
    assert len(a) == 1 and not a["parse_ok"].any() and a["raw_text"].str.len().gt(0).all()
