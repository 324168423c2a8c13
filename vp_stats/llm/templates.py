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

import hashlib
from collections.abc import Sequence

from vp_stats.llm.backends import BackendError

__all__ = ["ChatTemplate", "answer_turns"]


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

    def __init__(self, source: str, bos: str = "", eos: str = "", origin: str = "(text)"):
        if not isinstance(source, str) or not source.strip():
            raise BackendError(f"{origin}: the chat template is empty")
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.source, self.bos, self.eos, self.origin = source, bos, eos, origin
        try:
            self._tpl = ImmutableSandboxedEnvironment(
                trim_blocks=True, lstrip_blocks=True
            ).from_string(source)
        except TemplateError as exc:
            raise BackendError(f"{origin}: not a valid Jinja chat template: {exc}") from None
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

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text of ``messages`` (with the assistant's generation prompt by default)."""
        from jinja2 import TemplateError

        try:
            return self._tpl.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                eos_token=self.eos,
                bos_token=self.bos,
            )
        except TemplateError as exc:
            raise BackendError(
                f"{self.origin}: the chat template failed to render: {exc}"
            ) from None


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
    prompt = render(messages)
    turns = []
    for ph in phrases:
        full = render(
            [*messages, {"role": "assistant", "content": ph}], add_generation_prompt=False
        )
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
