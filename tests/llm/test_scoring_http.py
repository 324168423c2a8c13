"""Answer scoring plumbing that needs no model: chat templates from files, the first-token
approximation's arithmetic (hand-worked), how approximate scores become distributions, and the
command line's errors for bad templates (exit 2, one line). The real-server checks are in
tests/llm/test_runner.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from vp_stats.io.templates import load_chat_template
from vp_stats.llm.backends import BackendError, Scores, scores_to_result
from vp_stats.llm.openai_backend import OpenAIBackend, first_token_scores
from vp_stats.llm.templates import ChatTemplate, answer_turns

TPL = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MSGS = [{"role": "user", "content": "hi"}]


def test_templates_load_from_jinja_and_tokenizer_config(tmp_path):
    (tmp_path / "t.jinja").write_text(TPL)
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": TPL, "eos_token": {"content": "<|im_end|>"}})
    )
    a, b = (
        load_chat_template(tmp_path / "t.jinja"),
        load_chat_template(tmp_path / "tokenizer_config.json"),
    )
    assert (
        a.render(MSGS)
        == b.render(MSGS)
        == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert (
        b.eos == "<|im_end|>" and a.sha256 != b.sha256
    )  # the EOS string is part of the template's identity
    assert answer_turns(a.render, MSGS, ("like me", "not like me")) == [
        ("like me<|im_end|>", True),
        ("not like me<|im_end|>", True),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{{ bad", "not a valid Jinja chat template"),
        ("   ", "the chat template is empty"),
        (b"\xff\xfe{{", "cannot read the chat template as UTF-8 text"),
    ],
)
def test_bad_templates_are_named(tmp_path, content, message):
    f = tmp_path / "t.jinja"
    f.write_bytes(content) if isinstance(content, bytes) else f.write_text(content)
    with pytest.raises(BackendError, match=message) as err:
        load_chat_template(f)
    assert content == "   " or str(f) in str(err.value)


def test_bad_tokenizer_configs_are_named(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(BackendError, match="no 'chat_template' string"):
        load_chat_template(tmp_path / "c.json")
    (tmp_path / "d.json").write_text(
        json.dumps({"chat_template": ["not a dict", {"name": "tool_use", "template": "x"}]})
    )
    with pytest.raises(BackendError, match="no 'chat_template' string"):
        load_chat_template(tmp_path / "d.json")
    with pytest.raises(BackendError, match="chat template file not found"):
        load_chat_template(tmp_path / "missing.gguf")


def test_first_token_approximation_by_hand():
    phrases = (
        "not like me at all",
        "not like me",
        "a little like me",
        "somewhat like me",
        "like me",
        "very much like me",
    )
    top = [
        (" not", math.log(0.4)),
        ("Like", math.log(0.2)),
        ("some", math.log(0.1)),
        ("<|im_end|>", math.log(0.1)),
        ("", math.log(0.05)),
        ("Very", math.log(0.05)),
        ("I", math.log(0.05)),
    ]
    lp = first_token_scores(top, phrases)
    p = np.exp(lp)
    # "not" is shared by two answers; "a little like me" begins with no returned token; "I" and ""
    # begin none
    np.testing.assert_allclose(p, [0.2, 0.2, 0.0, 0.1, 0.2, 0.05], atol=1e-15)
    res = scores_to_result(phrases, Scores(lp, approximation="first_token"))
    assert res.error is None and res.answer_mass == pytest.approx(0.75, abs=1e-15)
    np.testing.assert_allclose(res.distribution, p / 0.75, atol=1e-15)
    # exact scores must be finite; an approximation may give an answer probability 0, but not all of
    # them
    assert scores_to_result(phrases, Scores(lp)).error is not None
    assert (
        scores_to_result(
            ("a", "b"), Scores([-math.inf, -math.inf], approximation="first_token")
        ).error
        is not None
    )


def test_http_scoring_method_names_the_template():
    assert OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1").scoring == "first_token:k20"
    assert (
        OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", top_logprobs=5).scoring
        == "first_token:k5"
    )
    be = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", chat_template=ChatTemplate(TPL))
    assert be.scoring == "echo:" + ChatTemplate(TPL).sha256[:16]


def test_cli_template_errors_exit_2_in_one_line(tmp_path):
    (tmp_path / "bad.jinja").write_text("{% if %}")
    env = {**os.environ, "VP_TEST_KEY": "x"}
    runs = {
        "local": ["--chat-template", str(tmp_path / "bad.jinja")],
        "missing": [
            "--backend",
            "openai",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--chat-template",
            str(tmp_path / "none.gguf"),
        ],
        "invalid": [
            "--backend",
            "openai",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--chat-template",
            str(tmp_path / "bad.jinja"),
        ],
    }
    expect = {
        "local": "--chat-template needs --backend openai",
        "missing": "chat template file not found",
        "invalid": "not a valid Jinja chat template",
    }
    for name, args in runs.items():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "vp_stats.cli",
                "run-llm",
                *args,
                "--items",
                "1",
                "--variants",
                "v1",
                "--out",
                str(tmp_path / name),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (name, done.stderr)
        assert expect[name] in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# --------------------------------------------------------------- echo parsing, on a scripted client


def _ns(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**kw)


class _EchoClient:
    """A completions endpoint in miniature: one token per character, ``<|im_end|>`` one token; token
    i
    of a text has log-probability -(1 + i % 5) / 10; then one generated token, ``"\n"`` (-0.5).

    ``style``: "llama" shows special tokens as empty text and leaves out an EOS it stops at; "vllm"
    shows them as text and echoes a generated EOS. ``eos``: generation stops at an end of sequence.
    ``break_at``: a text on which the prompt's last token merges with the answer's first.
    """

    def __init__(self, style="llama", eos=False, usage=True, corrupt=None):
        self.style, self.eos, self.usage, self.corrupt, self.n = style, eos, usage, corrupt, 0
        self.completions = _ns(create=self.create)

    @staticmethod
    def lp(i):
        return -(1 + i % 5) / 10

    def tokens(self, text):
        out, i = [], 0
        while i < len(text):
            if text.startswith("<|im_end|>", i):
                out.append("" if self.style == "llama" else "<|im_end|>")
                i += len("<|im_end|>")
            else:
                out.append(text[i])
                i += 1
        return out

    def create(self, model, prompt, max_tokens, temperature, echo, logprobs):
        assert echo and max_tokens == 1 and logprobs == 1
        self.n += 1
        toks = self.tokens(prompt)
        vals = [None] + [self.lp(i) for i in range(1, len(toks))]
        if self.corrupt == "string":
            vals[-1] = "-0.1"
        if self.eos:  # stopped at an end of sequence
            gen, finish = ([""], [-0.2]) if self.style == "vllm" else ([], [])
            finish_reason = "stop"
        else:
            gen, finish, finish_reason = ["\n"], [-0.5], "length"
        usage = _ns(
            prompt_tokens=len(toks),
            completion_tokens=len(gen) if self.style == "vllm" or not self.eos else 0,
        )
        choice = _ns(
            text=prompt + "".join(gen),
            finish_reason=finish_reason,
            logprobs=_ns(tokens=toks + gen, token_logprobs=vals + finish),
        )
        return _ns(choices=[choice], usage=usage if self.usage else None)


def _echo_backend(client, template=TPL):
    be = OpenAIBackend(
        model="m",
        base_url="http://127.0.0.1:9/v1",
        chat_template=ChatTemplate(template, eos="<|im_end|>"),
    )
    be.client = client
    return be


def _expected(client, template, phrases):
    """Sum of the scripted log-probabilities of each answer's tokens after the prompt's."""
    tpl = ChatTemplate(template, eos="<|im_end|>")
    prompt = tpl.render(MSGS)
    n = len(client.tokens(prompt))
    out = []
    for turn, _ in answer_turns(tpl.render, MSGS, phrases):
        k = len(client.tokens(prompt + turn))
        out.append(sum(client.lp(i) for i in range(n, k)))
    return out


# every combination but a generated EOS echoed with no usage, which no response field tells apart
COMBOS = [
    (s, e, u)
    for s in ("llama", "vllm")
    for e in (False, True)
    for u in (True, False)
    if (s, e, u) != ("vllm", True, False)
]


@pytest.mark.parametrize(("style", "eos", "usage"), COMBOS)
def test_echo_scores_are_the_answer_tokens_log_probabilities(style, eos, usage):
    phrases = ("not like me", "like me", "very much like me")
    client = _EchoClient(style, eos, usage)
    got = _echo_backend(client).score(MSGS, phrases)
    np.testing.assert_allclose(got.logprobs, _expected(client, TPL, phrases), atol=1e-12)
    assert client.n == 3  # the answers begin differently: no request for the prompt alone
    same = (
        "like me",
        "like me a lot",
    )  # same first character: one more request, for the prompt alone
    client = _EchoClient(style, eos, usage)
    np.testing.assert_allclose(
        _echo_backend(client).score(MSGS, same).logprobs, _expected(client, TPL, same), atol=1e-12
    )
    assert client.n == 3


def test_echo_errors_are_clear_not_internal():
    with pytest.raises(RuntimeError, match="malformed echo"):
        _echo_backend(_EchoClient(corrupt="string")).score(MSGS, ("a", "b"))

    class Merging(
        _EchoClient
    ):  # tokenizes the prompt's last character together with the answer's first
        def tokens(self, text):
            toks = super().tokens(text)
            if not text.endswith("assistant\n") and "assistant\n" in text:
                i = len(super().tokens(text[: text.rindex("assistant\n") + len("assistant\n")])) - 1
                toks[i : i + 2] = [toks[i] + toks[i + 1]]
            return toks

    with pytest.raises(RuntimeError, match="do not spell the answer"):
        _echo_backend(Merging()).score(MSGS, ("yes", "no"))
