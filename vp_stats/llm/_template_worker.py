"""The chat-template renderer's worker process: renders Jinja chat templates under a memory limit.

:class:`vp_stats.llm.templates.ChatTemplate` renders in this separate process (started once
per Python process, ``python -I -c <this file's text>``), so that a template that loops for
ever or builds a huge string is stopped: the parent kills the worker at the render deadline,
and the worker's address space is limited (``resource.RLIMIT_AS``), so a huge string ends in
a ``MemoryError`` here instead of exhausting the machine. It imports nothing from vp_stats
(``-I`` ignores ``PYTHONPATH``), only Jinja2 and the standard library.

Protocol: one JSON object per line on stdin, ``{"key", "source"?, "vars"}`` (``source`` the
first time a template key is used; ``vars`` a dict, or a list of dicts to render several texts);
one JSON line back, ``{"text"}`` (``{"texts"}``) or ``{"error", "message"}``
with ``error`` one of ``raise`` (the template called ``raise_exception``), ``template`` (a
Jinja error), ``memory``, ``size`` (the text is longer than the limit) and ``other``.

Examples
--------
>>> sandbox().from_string("{{ raise_exception('no system role') }}").render()
Traceback (most recent call last):
...
jinja2.exceptions.TemplateError: no system role
"""

from __future__ import annotations

import json
import sys


def raise_exception(message):
    """``raise_exception`` as Hugging Face's ``apply_chat_template`` defines it: a TemplateError
    with the message."""
    from jinja2 import TemplateError

    raise TemplateError(message)


def sandbox():
    """The Jinja environment Hugging Face's ``apply_chat_template`` renders chat templates in:
    immutable sandbox, ``trim_blocks``, ``lstrip_blocks``, ``{% break %}``/``{% continue %}`` and
    ``raise_exception``; no loader (``include``, ``import`` and ``extends`` are refused before
    rendering by :class:`vp_stats.llm.templates.ChatTemplate`)."""
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.globals["raise_exception"] = raise_exception
    return env


def _answer(out, **fields) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def main(memory: int, max_text: int) -> None:  # pragma: no cover - runs in the worker process
    """Serve render requests from stdin until it closes."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    from jinja2 import TemplateError

    env, compiled = sandbox(), {}
    out = sys.stdout
    _answer(out, ready=True)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            key = req["key"]
            if "source" in req:
                compiled[key] = env.from_string(req["source"])
            batch = req["vars"]  # one dict of variables, or a list of them
            texts = [
                compiled[key].render(**v) for v in ([batch] if isinstance(batch, dict) else batch)
            ]
            longest = max(map(len, texts), default=0)
            if longest > max_text:
                _answer(out, error="size", message=f"{longest:,} characters")
            elif isinstance(batch, dict):
                _answer(out, text=texts[0])
            else:
                _answer(out, texts=texts)
        except MemoryError:
            _answer(out, error="memory", message="")
        except TemplateError as exc:
            kind = "raise" if exc.__traceback__ and _raised(exc) else "template"
            _answer(out, error=kind, message=str(exc))
        except RecursionError:
            _answer(out, error="other", message="recursion too deep")
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent as text
            _answer(out, error="other", message=f"{type(exc).__name__}: {exc}")


def _raised(exc) -> bool:
    """Whether ``exc`` came from the template's ``raise_exception`` call."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code is raise_exception.__code__


if __name__ == "__main__":  # pragma: no cover - the worker process
    main(int(sys.argv[1]), int(sys.argv[2]))
