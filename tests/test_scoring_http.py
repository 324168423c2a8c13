"""Answer scoring plumbing that needs no model: chat templates from files, the first-token
approximation's arithmetic (hand-worked), how approximate scores become distributions, and the
command line's errors for bad templates (exit 2, one line). The real-server checks are in
tests/test_runner.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from vp_stats.llm.backends import (
    BackendError,
    ChatTemplate,
    OpenAIBackend,
    Scores,
    answer_turns,
    first_token_scores,
    scores_to_result,
)

TPL = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
       "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")  # fmt: skip
MSGS = [{"role": "user", "content": "hi"}]


def test_templates_load_from_jinja_and_tokenizer_config(tmp_path):
    (tmp_path / "t.jinja").write_text(TPL)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": TPL, "eos_token": {"content": "<|im_end|>"}}))
    a, b = ChatTemplate.load(tmp_path / "t.jinja"), ChatTemplate.load(tmp_path / "tokenizer_config.json")
    assert a.render(MSGS) == b.render(MSGS) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert b.eos == "<|im_end|>" and a.sha256 != b.sha256  # the EOS string is part of the template's identity
    assert answer_turns(a.render, MSGS, ("like me", "not like me")) == [("like me<|im_end|>", True), ("not like me<|im_end|>", True)]


@pytest.mark.parametrize(("content", "message"), [
    ("{{ bad", "not a valid Jinja chat template"),
    ("   ", "the chat template is empty"),
])  # fmt: skip
def test_bad_templates_are_named(tmp_path, content, message):
    (tmp_path / "t.jinja").write_text(content)
    with pytest.raises(BackendError, match=message):
        ChatTemplate.load(tmp_path / "t.jinja")
    (tmp_path / "c.json").write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(BackendError, match="no 'chat_template' string"):
        ChatTemplate.load(tmp_path / "c.json")
    with pytest.raises(BackendError, match="chat template file not found"):
        ChatTemplate.load(tmp_path / "missing.gguf")


def test_first_token_approximation_by_hand():
    phrases = ("not like me at all", "not like me", "a little like me", "somewhat like me", "like me", "very much like me")
    top = [(" not", math.log(0.4)), ("Like", math.log(0.2)), ("some", math.log(0.1)), ("<|im_end|>", math.log(0.1)),
           ("", math.log(0.05)), ("Very", math.log(0.05)), ("I", math.log(0.05))]  # fmt: skip
    lp = first_token_scores(top, phrases)
    p = np.exp(lp)
    # "not" is shared by two answers; "a little like me" begins with no returned token; "I" and "" begin none
    np.testing.assert_allclose(p, [0.2, 0.2, 0.0, 0.1, 0.2, 0.05], atol=1e-15)
    res = scores_to_result(phrases, Scores(lp, approximation="first_token"))
    assert res.error is None and res.answer_mass == pytest.approx(0.75, abs=1e-15)
    np.testing.assert_allclose(res.distribution, p / 0.75, atol=1e-15)
    # exact scores must be finite; an approximation may give an answer probability 0, but not all of them
    assert scores_to_result(phrases, Scores(lp)).error is not None
    assert scores_to_result(("a", "b"), Scores([-math.inf, -math.inf], approximation="first_token")).error is not None


def test_http_scoring_method_names_the_template():
    assert OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1").scoring == "first_token"
    be = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", chat_template=ChatTemplate(TPL))
    assert be.scoring == "echo:" + ChatTemplate(TPL).sha256[:16]


def test_cli_template_errors_exit_2_in_one_line(tmp_path):
    (tmp_path / "bad.jinja").write_text("{% if %}")
    env = {**os.environ, "VP_TEST_KEY": "x"}
    runs = {
        "local": ["--chat-template", str(tmp_path / "bad.jinja")],
        "missing": ["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                    "--chat-template", str(tmp_path / "none.gguf")],
        "invalid": ["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                    "--chat-template", str(tmp_path / "bad.jinja")],
    }  # fmt: skip
    expect = {"local": "--chat-template needs --backend openai", "missing": "chat template file not found",
              "invalid": "not a valid Jinja chat template"}  # fmt: skip
    for name, args in runs.items():
        done = subprocess.run([sys.executable, "-m", "vp_stats.cli", "run-llm", *args, "--items", "1", "--variants", "v1",
                               "--out", str(tmp_path / name)], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 2, (name, done.stderr)
        assert expect[name] in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
