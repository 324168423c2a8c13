"""Chat templates render in a bounded sandbox: a worker process with a deadline and an
address-space limit (vp_stats.llm.templates.render_bounded). Templates that loop for ever or
build huge strings fail within seconds, naming their file; ``raise_exception`` works as in
Hugging Face's ``apply_chat_template``; include/import/extends are refused before any render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from vp_stats.io.templates import load_chat_template
from vp_stats.llm.backends import BackendError
from vp_stats.llm.templates import ChatTemplate, render_bounded

MSGS = [{"role": "user", "content": "hi"}]
GOOD = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"


def _config(tmp_path, template, name="tokenizer_config.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"chat_template": template, "eos_token": "</s>"}))
    return path


@pytest.mark.parametrize(
    "template, message",
    [
        (  # 10^10 loop iterations
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "did not finish rendering within 2 s",
        ),
        ("{{ lipsum(100000000) }}", "did not finish rendering within 2 s"),
        ("{{ 'x' * 4000000000 }}", "needs more than 1024 MiB of memory"),
        ("{{ 'x' | center(4000000000) }}", "needs more than 1024 MiB of memory"),
        ("{{ '{:>4000000000}'.format('x') }}", "needs more than 1024 MiB of memory"),
        ("{{ 'x' * 4e9 }}", "can't multiply sequence by non-int"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion too deep"),
    ],
)
def test_runaway_templates_fail_within_seconds_naming_the_file(tmp_path, template, message):
    tpl = load_chat_template(_config(tmp_path, template))
    tpl.render_seconds = 2.0
    t0 = time.monotonic()
    with pytest.raises(BackendError, match=message) as err:
        tpl.render(MSGS)
    assert time.monotonic() - t0 < 15
    assert str(err.value).startswith(str(tmp_path / "tokenizer_config.json") + ": ")
    # the renderer is restarted after it was stopped: a good template still renders
    assert ChatTemplate(GOOD, eos="</s>").render(MSGS) == "<user>hi</s>"


def test_the_default_deadline_stops_a_hanging_template(tmp_path):
    tpl = load_chat_template(
        _config(
            tmp_path,
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        )
    )
    t0 = time.monotonic()
    with pytest.raises(BackendError, match="within 5 s"):
        tpl.render(MSGS)
    assert time.monotonic() - t0 < 20


def test_raise_exception_is_huggingfaces_template_error(tmp_path):
    """Hugging Face templates validate conversations with ``raise_exception(message)``; the user
    sees the message and the file."""
    template = (
        "{% if messages[0]['role'] != 'system' %}"
        "{{ raise_exception('Conversation must start with a system message') }}{% endif %}"
        "{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    tpl = load_chat_template(_config(tmp_path, template))
    with pytest.raises(BackendError) as err:
        tpl.render(MSGS)
    assert str(err.value) == (
        f"{tmp_path / 'tokenizer_config.json'}: the chat template raised an error: "
        "Conversation must start with a system message"
    )
    assert tpl.render([{"role": "system", "content": "s"}, *MSGS]) == "shi"
    # {% break %} / {% continue %} as in Hugging Face's environment (jinja2.ext.loopcontrols)
    loop = "{% for m in messages %}{{ m.content }}{% if loop.index == 1 %}{% break %}{% endif %}"
    assert ChatTemplate(loop + "{% endfor %}").render(MSGS * 3) == "hi"


@pytest.mark.parametrize(
    "tag, template",
    [
        ("include", "{% include 'other.jinja' %}"),
        ("import", "{{ 1 }}\n{% import 'macros.jinja' as m %}"),
        ("from ... import", "{% from 'macros.jinja' import f %}"),
        ("extends", "{% extends 'base.jinja' %}"),
    ],
)
def test_include_import_and_extends_are_refused_with_the_file(tmp_path, tag, template):
    (tmp_path / "t.jinja").write_text(template)
    with pytest.raises(BackendError) as err:
        load_chat_template(tmp_path / "t.jinja")
    line = template.count("\n") + 1
    assert str(err.value) == (
        f"{tmp_path / 't.jinja'}: the chat template uses {{% {tag} %}} (line {line}); a chat "
        "template must be self-contained: include, import and extends are refused"
    )


def test_sandbox_escapes_stay_blocked():
    for template in (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ):
        with pytest.raises(BackendError, match="failed to render.*unsafe|failed to render"):
            ChatTemplate(template, origin="evil.jinja").render(MSGS)


def test_rendering_is_unchanged_and_concurrent_renders_do_not_mix():
    from concurrent.futures import ThreadPoolExecutor

    tpl = ChatTemplate(GOOD + "{% if add_generation_prompt %}<assistant>{% endif %}", eos="</s>")
    msgs = [[{"role": "user", "content": f"prompt {i}"}] for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(tpl.render, msgs))
    assert out == [f"<user>prompt {i}</s><assistant>" for i in range(200)]
    assert render_bounded("{{ x }}", "k", {"x": "é\n\u2028"}) == "é\n\u2028"


def test_cli_refused_and_raising_templates_are_one_line_naming_the_file(tmp_path):
    env = {**os.environ, "VP_TEST_KEY": "x"}
    cases = {  # refused on loading: bad input (2); failing while the run renders: a failed run (1)
        "include": ("{% include 'x' %}", "uses {% include %}", 2),
        "raise": ("{{ raise_exception('no system role') }}", "raised an error: no system role", 1),
    }
    for name, (template, message, code) in cases.items():
        path = tmp_path / f"{name}.jinja"
        path.write_text(template)
        out = tmp_path / name
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "vp_stats.cli",
                "run-llm",
                "--backend",
                "openai",
                "--model",
                "m",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--api-key-env",
                "VP_TEST_KEY",
                "--mode",
                "logprobs",
                "--chat-template",
                str(path),
                "--items",
                "1",
                "--variants",
                "v1",
                "--no-progress",
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code, (name, done.stdout, done.stderr)
        assert str(path) in done.stderr and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_a_forked_child_starts_its_own_renderer():
    tpl = ChatTemplate(GOOD, eos="</s>")
    assert tpl.render(MSGS) == "<user>hi</s>"  # the parent's worker is running
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child renders through a worker of its own
        try:
            ok = tpl.render([{"role": "user", "content": "child"}]) == "<user>child</s>"
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert tpl.render(MSGS) == "<user>hi</s>"  # and the parent's still answers
