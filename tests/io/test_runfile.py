"""`vp-stats run-models RUNFILE.toml`: several models in one command, against a scripted HTTP
endpoint on 127.0.0.1.

The endpoint is the real http.server fake of tests/fault_server.py (FaultServer); it answers by
the requested model name, so each model's answers are told apart. Bad run files are refused with
exit 2 before any request, naming the file, the [[model]] index and the key.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fault_server import ENV, KEY, FaultServer, ok_body  # tests/ is on sys.path (conftest)

from vp_stats.io.runfile import RunFileError, load_runfile

pytest.importorskip("openai")

ANSWER = {"m-alpha": "like me", "m-beta": "not like me"}


def by_model(srv, fail=()):
    """Answer each request by its model: 404 for unknown models, 500 for models in ``fail``."""

    def script(n, h):
        model = srv[0].bodies[n].get("model")
        if model in fail:
            h.send(500, b'{"error": {"message": "boom"}}')
        elif model in ANSWER:
            h.send(200, ok_body(ANSWER[model]))
        else:
            h.echo_key(404)

    return script


def serve(fail=(), max_requests=60):
    holder: list = []
    srv = FaultServer(by_model(holder, fail), max_requests=max_requests)
    holder.append(srv)
    return srv


def write_runfile(path: Path, url: str, *models: tuple[str, str], extra: str = "") -> Path:
    text = (
        f'[defaults]\nbackend = "openai"\nbase_url = "{url}"\n'
        'api_key_env = "VP_FAULT_KEY"\nmode = "text"\n'
        f'variants = ["v1", "v2"]\nitems = 2\nretries = 0\nconcurrency = 2\n{extra}\n'
    )
    for name, model in models:
        text += f'[[model]]\nname = "{name}"\nmodel = "{model}"\n\n'
    path.write_text(text)
    return path


def run_models(runfile, out, *extra):
    cmd = [
        sys.executable,
        "-m",
        "vp_stats.cli",
        "run-models",
        str(runfile),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=180)
    done.elapsed = time.monotonic() - t0
    return done


def assert_no_key(done, out: Path):
    assert KEY not in done.stdout and KEY not in done.stderr
    for f in out.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f


def test_two_models_one_command_one_cache_each_and_a_resume(tmp_path):
    out = tmp_path / "out"
    with serve() as srv:
        rf = write_runfile(
            tmp_path / "runs.toml", srv.url, ("alpha", "m-alpha"), ("beta", "m-beta")
        )
        done = run_models(rf, out)
        assert done.returncode == 0, done.stdout + done.stderr
        assert srv.n == 2 * 2 * 2  # 2 models x 2 items x 2 variants
        assert {b["model"] for b in srv.bodies} == {"m-alpha", "m-beta"}
        for name, model in [("alpha", "m-alpha"), ("beta", "m-beta")]:
            d = out / name
            assert {"answers.csv", "per_item.csv", "cache.sqlite"} <= {p.name for p in d.iterdir()}
            answers = pd.read_csv(d / "answers.csv")
            assert (
                len(answers) == 4
                and answers.parse_ok.all()
                and (answers.raw_text == ANSWER[model]).all()
            )
            assert (answers.model == model).all()
            assert len(pd.read_csv(d / "per_item.csv")) == 2
        alpha, beta = (pd.read_csv(out / n / "answers.csv") for n in ("alpha", "beta"))
        assert (alpha.rating > beta.rating).all()
        summary = pd.read_csv(out / "run_summary.csv")
        assert list(summary.model) == ["alpha", "beta"] and (summary.status == "ok").all()
        assert summary[["n_answers", "n_parsed", "n_failed", "from_cache"]].to_dict("list") == {
            "n_answers": [4, 4],
            "n_parsed": [4, 4],
            "n_failed": [0, 0],
            "from_cache": [0, 0],
        }

        again = run_models(rf, out)  # resume: everything from the per-model caches
        assert again.returncode == 0, again.stderr
        assert srv.n == 8
    summary = pd.read_csv(out / "run_summary.csv")
    assert list(summary.from_cache) == [4, 4] and list(summary.n_new) == [0, 0]
    assert "alpha: 4 answers (4 from cache, 0 new)" in again.stdout
    assert_no_key(done, out)


def test_a_failing_model_does_not_stop_the_others_and_the_run_exits_1(tmp_path):
    out = tmp_path / "out"
    with serve(fail=("m-beta",)) as srv:
        rf = write_runfile(
            tmp_path / "runs.toml",
            srv.url,
            ("gone", "no-such-model"),
            ("alpha", "m-alpha"),
            ("beta", "m-beta"),
        )
        done = run_models(rf, out, "--only", "gone,alpha,beta")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = pd.read_csv(out / "run_summary.csv").set_index("model")
    assert (
        summary.loc["gone", "status"] == "failed"
        and "no such route or model" in summary.loc["gone", "error"]
    )
    assert "[REDACTED]" in summary.loc["gone", "error"]  # the server echoed the key
    assert summary.loc["alpha", "status"] == "ok" and summary.loc["alpha", "n_parsed"] == 4
    assert (
        summary.loc["beta", "status"] == "nothing_parsed" and summary.loc["beta", "n_failed"] == 4
    )
    assert (
        "2 of 3 model(s) did not finish cleanly (1 failed, 4 failed calls in all: gone, beta)"
        in done.stderr
    )
    assert not (out / "gone" / "answers.csv").exists() and (out / "beta" / "answers.csv").exists()
    assert_no_key(done, out)


def test_only_selects_models_and_names_unknown_ones(tmp_path):
    with serve() as srv:
        rf = write_runfile(
            tmp_path / "runs.toml", srv.url, ("alpha", "m-alpha"), ("beta", "m-beta")
        )
        done = run_models(rf, tmp_path / "out", "--only", "beta")
        assert done.returncode == 0, done.stderr
        assert list(pd.read_csv(tmp_path / "out" / "run_summary.csv").model) == ["beta"]
        bad = run_models(rf, tmp_path / "out2", "--only", "gamma")
        assert srv.n == 4
    assert bad.returncode == 2 and "no model named 'gamma'" in bad.stderr


# ----------------------------------------------------------------------------- bad run files

BASE = (
    '[[model]]\nname = "a"\nbackend = "openai"\nmodel = "m"\n'
    'base_url = "http://127.0.0.1:9/v1"\nmode = "text"\n'
)

BAD = {
    "unknown key": (
        BASE + "temprature = 0.5\n",
        "[[model]] 1 ('a'), key 'temprature': unknown key",
    ),
    "missing name": (BASE + '[[model]]\nmodel = "m2"\n', "[[model]] 2, key 'name': missing"),
    "duplicate": (
        BASE + '[[model]]\nname = "A"\n',
        "[[model]] 2 ('A'), key 'name': repeats the name of [[model]] 1",
    ),
    "bad name": (
        '[[model]]\nname = "../up"\n',
        "[[model]] 1 ('../up'), key 'name': must be a folder name",
    ),
    "bad mode": (
        BASE.replace('"text"', '"fast"'),
        "key 'mode': must be one of text, grammar, logprobs, got 'fast'",
    ),
    "chat template on local": (
        '[[model]]\nname = "a"\nchat_template = "t.jinja"\n',
        "key 'chat_template': only for backend openai",
    ),
    "unknown variant": (BASE + 'variants = ["v9"]\n', "key 'variants': unknown variant(s) ['v9']"),
    "zero concurrency": (
        BASE + "concurrency = 0\n",
        "key 'concurrency': must be an integer >= 1, got 0",
    ),
    "bool concurrency": (
        BASE + "concurrency = true\n",
        "key 'concurrency': must be an integer >= 1, got True",
    ),
    "negative temperature": (
        BASE + "temperature = -1\n",
        "key 'temperature': must be a number >= 0",
    ),
    "string max_tokens": (
        BASE + 'max_tokens = "32"\n',
        "key 'max_tokens': must be an integer >= 1, got '32'",
    ),
    "a key in the file": (
        BASE + 'api_key = "sk-secret-value"\n',
        "key 'api_key': never put a key in a run file",
    ),
    "a key as env name": (
        BASE + 'api_key_env = "sk-secret-value"\n',
        "key 'api_key_env': must be the name of an environment variable",
    ),
    "openai without model": (
        '[[model]]\nname = "a"\nbackend = "openai"\nmode = "text"\n',
        "key 'model': missing",
    ),
    "base_url on local": (
        '[[model]]\nname = "a"\nbase_url = "http://x/v1"\n',
        "key 'base_url': only for backend openai",
    ),
    "base_url not a url": (
        BASE.replace("http://127.0.0.1:9/v1", "not a url"),
        "key 'base_url': must be a URL without spaces, got 'not a url'",
    ),
    "base_url without scheme": (
        BASE.replace("http://127.0.0.1:9/v1", "127.0.0.1/v1"),
        "key 'base_url': must be an http:// or https:// URL with a host",
    ),
    "base_url ftp": (
        BASE.replace("http://127.0.0.1:9/v1", "ftp://host/v1"),
        "key 'base_url': must be an http:// or https:// URL with a host",
    ),
    "base_url bad port": (
        BASE.replace("http://127.0.0.1:9/v1", "http://host:99999/v1"),
        "key 'base_url': has a port that is not a number 0-65535",
    ),
    "base_url in defaults": (
        '[defaults]\nbase_url = "http//host"\n' + BASE,
        "key 'defaults.base_url': must be an http:// or https:// URL with a host",
    ),
    "unknown backend": (
        '[[model]]\nname = "a"\nbackend = "cloud"\n',
        "key 'backend': must be local or openai",
    ),
    "no items file": (
        BASE + 'items = "nope.csv"\n',
        "key 'items': expected 'all', a number or a CSV file; no such file",
    ),
    "no model file": (
        '[[model]]\nname = "a"\nmodel_path = "nope.gguf"\n',
        "key 'model_path': no such file",
    ),
    "no models": ('[defaults]\nmode = "text"\n', "key 'model': no [[model]] tables"),
    "unknown top level": (BASE + "[settings]\nx = 1\n", "key 'settings': unknown top-level key"),
    "name in defaults": ('[defaults]\nname = "x"\n' + BASE, "key 'defaults.name': unknown key"),
    "bad default": (
        "[defaults]\nretries = -1\n" + BASE,
        "key 'defaults.retries': must be an integer >= 0",
    ),
    "bad default in model": (
        "[defaults]\nseed = 1.5\n" + BASE,
        "key 'defaults.seed': must be an integer, got 1.5",
    ),
    "invalid toml": ('[[model]]\nname = "a\n', "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_run_files_name_the_file_the_index_and_the_key(tmp_path, case):
    text, expected = BAD[case]
    rf = tmp_path / "runs.toml"
    rf.write_text(text)
    with pytest.raises(RunFileError) as info:
        load_runfile(rf)
    assert str(info.value).startswith(f"{rf}: ") and expected in str(info.value), str(info.value)
    assert "sk-secret-value" not in str(info.value)


def test_a_bad_chat_template_is_refused_up_front(tmp_path):
    (tmp_path / "t.jinja").write_text("{% include 'other.jinja' %}")
    rf = tmp_path / "runs.toml"
    rf.write_text(BASE + 'chat_template = "t.jinja"\n')
    with pytest.raises(RunFileError) as info:
        load_runfile(rf)
    assert str(info.value).startswith(f"{rf}: [[model]] 1 ('a'), key 'chat_template': ")
    assert f"{tmp_path / 't.jinja'}: the chat template uses {{% include %}}" in str(info.value)


def test_a_bad_url_exits_2_before_any_request_and_keeps_the_summary(tmp_path):
    """A run file whose second model has a base_url that is no URL is refused whole, before the
    first model runs: the earlier run_summary.csv stays byte-identical."""
    with serve() as srv:
        out = tmp_path / "out"
        rf = write_runfile(tmp_path / "runs.toml", srv.url, ("alpha", "m-alpha"))
        assert run_models(rf, out).returncode == 0
        before = (out / "run_summary.csv").read_bytes()
        n = srv.n
        text = rf.read_text() + '[[model]]\nname = "beta"\nmodel = "m"\nbase_url = "not a url"\n'
        rf.write_text(text)
        done = run_models(rf, out)
        assert srv.n == n  # no request
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{rf}: [[model]] 2 ('beta'), key 'base_url': must be a URL without spaces" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert (out / "run_summary.csv").read_bytes() == before


def test_items_csv_is_checked_against_the_item_table(tmp_path):
    (tmp_path / "items.csv").write_text("portrait_id,option_id\n1003,1\n999999,1\n")
    rf = tmp_path / "runs.toml"
    rf.write_text(BASE + 'items = "items.csv"\n')  # relative to the run file
    assert load_runfile(rf)[0].items == str(tmp_path / "items.csv")
    with pytest.raises(
        RunFileError,
        match=r"\[\[model\]\] 1 \('a'\), key 'items': .*row 2 \(line 3\) names an item "
        r"that does not exist \(999999, 1\)",
    ):
        load_runfile(rf, prompts=True)
    rf.write_text(BASE + "items = 100000\n")
    with pytest.raises(RunFileError, match="key 'items': 100000 items asked for; there are 520"):
        load_runfile(rf, prompts=True)


def test_a_bad_run_file_exits_2_before_any_request(tmp_path):
    with serve() as srv:
        rf = write_runfile(
            tmp_path / "runs.toml", srv.url, ("alpha", "m-alpha"), ("alpha", "m-beta")
        )
        done = run_models(rf, tmp_path / "out")
        missing = run_models(tmp_path / "nope.toml", tmp_path / "out")
        assert srv.n == 0
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"{rf}: [[model]] 2 ('alpha'), key 'name': repeats the name of [[model]] 1" in done.stderr
    )
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    assert missing.returncode == 2 and "nope.toml: no such run file" in missing.stderr


def test_a_foreign_cache_in_a_model_folder_stops_the_run_before_it_starts(tmp_path):
    import sqlite3

    (tmp_path / "out" / "beta").mkdir(parents=True)
    with sqlite3.connect(tmp_path / "out" / "beta" / "cache.sqlite") as con:
        con.execute("create table users (name text)")
    with serve() as srv:
        rf = write_runfile(
            tmp_path / "runs.toml", srv.url, ("alpha", "m-alpha"), ("beta", "m-beta")
        )
        done = run_models(rf, tmp_path / "out")
        assert srv.n == 0
    assert done.returncode == 2 and "is an SQLite database of something else" in done.stderr
    assert str(tmp_path / "out" / "beta" / "cache.sqlite") in done.stderr
