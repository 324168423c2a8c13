"""Chat templates: a model's Jinja2 chat template and the answer turns it renders.

:class:`ChatTemplate` is built from template text (:meth:`ChatTemplate.from_text`) or from a
loaded llama.cpp model (:meth:`ChatTemplate.from_llama`); reading one from a file is
:func:`vp_stats.io.templates.load_chat_template`.

Examples
--------
>>> t = ChatTemplate.from_text("{% for m in messages %}{{ m.content }}{% endfor %}")
>>> t.render([{"role": "user", "content": "hi"}])
'hi'
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from vp_stats.llm.backends import BackendError

__all__ = [
    "RENDER_MAX_TEXT",
    "RENDER_MEMORY",
    "RENDER_SECONDS",
    "ChatTemplate",
    "answer_turns",
    "render_bounded",
]

#: Longest a chat template may take to render one prompt (seconds); a normal render takes well
#: under a millisecond, so this only stops templates that loop for ever.
RENDER_SECONDS = 5.0
#: Address-space limit of the rendering worker process (bytes): a template building a huge
#: string fails with a memory error instead of exhausting the machine.
RENDER_MEMORY = 1 << 30
#: Longest rendered prompt (characters), far above any model's context.
RENDER_MAX_TEXT = 8 << 20
#: Longest the worker process may take to start (seconds; Python and Jinja2 on a busy machine).
_START_SECONDS = 60.0


class _Worker:
    """The rendering process: started on first use, killed at a render's deadline, then restarted
    by the next render. One per Python process, shared by every template (requests are
    serialised by a lock; each costs one pipe round trip)."""

    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.loaded: set[str] = set()
        self.buffer = b""
        self.pid = os.getpid()

    def _start(self, origin: str) -> None:
        code = Path(__file__).with_name("_template_worker.py").read_text(encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", code, str(RENDER_MEMORY), str(RENDER_MAX_TEXT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.loaded, self.buffer = set(), b""
        if self._line(time.monotonic() + _START_SECONDS) is None:
            self.stop()
            raise BackendError(
                f"{origin}: the chat template renderer (a Python process with Jinja2) did not "
                f"start within {_START_SECONDS:g} s"
            )

    def stop(self) -> None:
        if self.pid != os.getpid():  # a forked child never stops its parent's worker
            self._reset()
            return
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for f in (proc.stdin, proc.stdout):
                f.close()

    def _line(self, deadline: float) -> dict | None:
        """The worker's next answer, or None if none came by ``deadline`` or the worker ended."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def render(self, source: str, key: str, variables: dict, origin: str, seconds: float) -> dict:
        if self.pid != os.getpid():  # a forked child: the parent's worker is not its own
            self._reset()
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.stop()
                self._start(origin)
            req = {"key": key, "vars": variables}
            if key not in self.loaded:
                req["source"] = source
            try:
                self.proc.stdin.write((json.dumps(req) + "\n").encode("utf-8"))
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self.stop()
                raise BackendError(f"{origin}: the chat template renderer stopped") from None
            self.loaded.add(key)
            answer = self._line(time.monotonic() + seconds)
            if answer is not None and "error" in answer:
                self.loaded.discard(key)  # it may not have compiled: sent again next time
            if answer is None:
                code = self.proc.poll()
                self.stop()
                if code is None:
                    raise BackendError(
                        f"{origin}: the chat template did not finish rendering within "
                        f"{seconds:g} s (a loop too long, or text too large); stopped"
                    )
                raise BackendError(
                    f"{origin}: the chat template renderer stopped while rendering (exit code "
                    f"{code}; out of memory?)"
                )
            if answer.get("error") == "memory":
                self.stop()  # a process that ran out of memory is not trusted again
            return answer


_WORKER = _Worker()
atexit.register(_WORKER.stop)


def render_bounded(
    source: str,
    key: str,
    variables: dict | list[dict],
    origin: str = "(text)",
    seconds: float = RENDER_SECONDS,
) -> str | list[str]:
    """Render Jinja chat-template ``source`` with ``variables`` in the sandbox, bounded in time and
    memory.

    The template renders in a worker process (Hugging Face's sandboxed environment: see
    :func:`vp_stats.llm._template_worker.sandbox`) whose address space is limited to
    :data:`RENDER_MEMORY` bytes; it is killed if the render takes more than ``seconds``. The
    worker is started once per Python process (about 0.1 s); a render costs one pipe round trip,
    and :func:`answer_turns` renders all answers of a prompt in one: about 2 ms per scored prompt
    more than rendering in the process on a busy 2-core machine (``benchmarks/bench_templates.py``),
    against tens to thousands of milliseconds per model call.

    Parameters
    ----------
    source : str
        The template text.
    key : str
        Identifies ``source`` (e.g. its sha256): the worker compiles each key once.
    variables : dict or list of dict
        The template's variables (JSON values: messages, ``add_generation_prompt``, ...); a list
        renders one text per dict in one round trip (within one deadline).
    origin : str
        Where the template came from (a file name), named in every error.
    seconds : float
        Render deadline.

    Raises
    ------
    BackendError
        Naming ``origin``: the template called ``raise_exception`` (its message), failed in
        Jinja, took longer than ``seconds``, ran out of memory or rendered more than
        :data:`RENDER_MAX_TEXT` characters.

    Examples
    --------
    >>> render_bounded("{{ messages[0].content }}!", "k1", {"messages": [{"content": "hi"}]})
    'hi!'
    >>> render_bounded("{{ raise_exception('no system role') }}", "k2", {}, origin="t.jinja")
    Traceback (most recent call last):
    ...
    vp_stats.llm.backends.BackendError: t.jinja: the chat template raised an error: no system role
    """
    try:
        json.dumps(variables)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"{origin}: the chat template's variables are not JSON: {exc}") from None
    answer = _WORKER.render(source, key, variables, origin, seconds)
    if "text" in answer or "texts" in answer:
        return answer.get("text", answer.get("texts"))
    kind, message = answer.get("error"), answer.get("message", "")
    if kind == "raise":
        raise BackendError(f"{origin}: the chat template raised an error: {message}")
    if kind == "memory":
        raise BackendError(
            f"{origin}: the chat template needs more than {RENDER_MEMORY >> 20} MiB of memory to "
            "render (text too large); stopped"
        )
    if kind == "size":
        raise BackendError(
            f"{origin}: the chat template rendered {message}, more than the limit of "
            f"{RENDER_MAX_TEXT:,}"
        )
    raise BackendError(f"{origin}: the chat template failed to render: {message}")


class ChatTemplate:
    """A model's chat template (Jinja2, rendered sandboxed) with its BOS and EOS strings.

    The local backend renders prompts with the template of its GGUF file; an
    OpenAI-compatible backend needs one to score answers exactly (it sends the
    rendered text to the completions endpoint). :func:`vp_stats.io.templates.load_chat_template`
    reads it from a GGUF file, a Hugging Face ``tokenizer_config.json`` or a Jinja file.

    Examples
    --------
    >>> t = ChatTemplate(
    ...     "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
    ...     "{% if add_generation_prompt %}<assistant>{% endif %}", eos="</s>")
    >>> t.render([{"role": "user", "content": "hi"}])
    '<user>hi</s><assistant>'
    >>> answer_turns(t.render, [{"role": "user", "content": "hi"}], ("yes", "no"))
    [('yes</s>', True), ('no</s>', True)]
    """

    def __init__(
        self,
        source: str,
        bos: str = "",
        eos: str = "",
        origin: str = "(text)",
        render_seconds: float | None = None,
    ):
        if not isinstance(source, str) or not source.strip():
            raise BackendError(f"{origin}: the chat template is empty")
        from jinja2 import TemplateError, nodes

        from vp_stats.llm._template_worker import sandbox

        self.source, self.bos, self.eos, self.origin = source, bos, eos, origin
        self.render_seconds = RENDER_SECONDS if render_seconds is None else float(render_seconds)
        try:  # parsed only: compiling folds constants (``{{ 'x' * 4e9 }}``), done in the worker
            tree = sandbox().parse(source)
        except TemplateError as exc:
            raise BackendError(f"{origin}: not a valid Jinja chat template: {exc}") from None
        for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            tag = {"FromImport": "from ... import"}.get(type(node).__name__, type(node).__name__)
            raise BackendError(
                f"{origin}: the chat template uses {{% {tag.lower()} %}} (line {node.lineno}); "
                "a chat template must be self-contained: include, import and extends are refused"
            )
        self.sha256 = hashlib.sha256(f"{source}\0{bos}\0{eos}".encode()).hexdigest()

    @classmethod
    def from_text(
        cls, source: str, bos: str = "", eos: str = "", origin: str = "(text)"
    ) -> ChatTemplate:
        """The template of Jinja ``source`` text with its BOS and EOS strings.

        Examples
        --------
        >>> ChatTemplate.from_text("{{ bos_token }}", bos="<s>").render([])
        '<s>'
        """
        return cls(source, bos, eos, origin=origin)

    @classmethod
    def from_llama(cls, llm, origin: str) -> ChatTemplate:
        """The template a loaded ``llama_cpp.Llama`` (or vocabulary) carries, with its BOS/EOS
        text."""
        source = llm.metadata.get("tokenizer.chat_template")
        if not source:
            raise BackendError(
                f"{origin}: the GGUF file has no chat template (tokenizer.chat_template)"
            )

        def text(tok):
            return llm.detokenize([tok], special=True).decode("utf-8", "ignore") if tok >= 0 else ""

        return cls(source, text(llm.token_bos()), text(llm.token_eos()), origin=origin)

    def _vars(self, messages: list[dict], add_generation_prompt: bool) -> dict:
        return {
            "messages": messages,
            "add_generation_prompt": add_generation_prompt,
            "eos_token": self.eos,
            "bos_token": self.bos,
        }

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages`` (with the assistant's generation prompt by default).

        Rendered in the sandbox's worker process (:func:`render_bounded`): within
        ``render_seconds`` and :data:`RENDER_MEMORY` bytes, at most :data:`RENDER_MAX_TEXT`
        characters.
        """
        return render_bounded(
            self.source,
            self.sha256,
            self._vars(messages, add_generation_prompt),
            origin=self.origin,
            seconds=self.render_seconds,
        )

    def render_many(self, conversations: Sequence[tuple[list[dict], bool]]) -> list[str]:
        """The texts of several ``(messages, add_generation_prompt)`` in one round trip to the
        worker (the same texts as :meth:`render` one by one).

        Examples
        --------
        >>> ChatTemplate("{{ messages | length }}").render_many([([], True), ([{}], True)])
        ['0', '1']
        """
        return render_bounded(
            self.source,
            self.sha256,
            [self._vars(m, g) for m, g in conversations],
            origin=self.origin,
            seconds=self.render_seconds,
        )


def answer_turns(render, messages: list[dict], phrases: Sequence[str]) -> list[tuple[str, bool]]:
    """Per phrase, the text the chat template renders after the prompt for that answer, and whether
    it ends with an end-of-turn marker.

    The answer turn is what ``render`` gives after the generation prompt for an
    assistant message holding the phrase, up to and including the end-of-turn
    marker (e.g. ``like me<|im_end|>``), so that a phrase that is a prefix of
    another (``not like me`` / ``not like me at all``) is scored as a complete answer.

    Parameters
    ----------
    render : callable
        ``render(messages, add_generation_prompt=True) -> str``, e.g. :meth:`ChatTemplate.render`.
    messages : list of dict
        The conversation up to the answer.
    phrases : sequence of str
        The answers.

    Returns
    -------
    list of (str, bool)
        Per phrase, the answer turn's text and whether it ends with a marker.

    Raises
    ------
    BackendError
        If the template does not render the answer as a verbatim continuation of the prompt.

    Examples
    --------
    >>> def render(messages, add_generation_prompt=True):
    ...     text = "".join(f"[{m['role']}] {m['content']}</s>" for m in messages)
    ...     return text + ("[assistant] " if add_generation_prompt else "")
    >>> answer_turns(render, [{"role": "user", "content": "hi"}], ("yes",))
    [('yes</s>', True)]
    """
    answered = [[*messages, {"role": "assistant", "content": ph}] for ph in phrases]
    owner = getattr(render, "__self__", None)
    if isinstance(owner, ChatTemplate) and render.__func__ is ChatTemplate.render:
        # one round trip to the rendering worker for the prompt and every answer
        prompt, *fulls = owner.render_many([(messages, True)] + [(m, False) for m in answered])
    else:
        prompt = render(messages)
        fulls = [render(m, add_generation_prompt=False) for m in answered]
    turns = []
    for ph, full in zip(phrases, fulls, strict=True):
        if not full.startswith(prompt):
            raise BackendError(
                "the chat template does not render the answer as a continuation of the prompt"
            )
        rest = full[len(prompt) :]
        if ph not in rest:
            raise BackendError(
                f"the chat template does not render the answer {ph!r} verbatim; cannot score it"
            )
        end = rest.find(ph) + len(ph)
        tail = rest[end:]
        marker = tail.split("\n", 1)[0] if tail.strip() else ""
        turns.append((rest[:end] + marker, bool(marker)))
    return turns
