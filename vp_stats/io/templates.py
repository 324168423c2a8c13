"""Reading a model's chat template from a file (GGUF, ``tokenizer_config.json`` or Jinja).

Examples
--------
>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "t.jinja"
>>> _ = f.write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
>>> load_chat_template(f).render([{"role": "user", "content": "hi"}])
'hi'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vp_stats.llm.backends import BackendError
from vp_stats.llm.templates import ChatTemplate

__all__ = ["load_chat_template"]


def load_chat_template(path: str | os.PathLike) -> ChatTemplate:
    """The template of a ``.gguf`` file, a ``tokenizer_config.json`` or a Jinja text file."""
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"chat template file not found: {path}")
    if path.suffix == ".gguf":
        try:
            from llama_cpp import Llama
            from llama_cpp._utils import suppress_stdout_stderr

            with suppress_stdout_stderr(disable=False):  # llama.cpp prints context notes on stderr
                llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        except Exception as exc:
            raise BackendError(f"{path}: cannot read the GGUF file: {exc}") from None
        return ChatTemplate.from_llama(llm, str(path))
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError(f"{path}: cannot read the chat template as UTF-8 text: {exc}") from None
    if path.suffix == ".json":
        try:
            conf = json.loads(raw)
        except ValueError as exc:
            raise BackendError(f"{path}: not JSON: {exc}") from None
        source = conf.get("chat_template") if isinstance(conf, dict) else None
        if isinstance(source, list):  # several named templates: the default one
            source = next(
                (
                    t.get("template")
                    for t in source
                    if isinstance(t, dict) and t.get("name") == "default"
                ),
                None,
            )
        if not isinstance(source, str):
            raise BackendError(f"{path}: no 'chat_template' string in this tokenizer configuration")

        def tok(name):
            v = conf.get(name) or ""
            return v.get("content", "") if isinstance(v, dict) else str(v)

        return ChatTemplate.from_text(source, tok("bos_token"), tok("eos_token"), origin=str(path))
    return ChatTemplate.from_text(raw, origin=str(path))
