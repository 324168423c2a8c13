"""Cost of rendering chat templates in the bounded sandbox (a worker process with a deadline and a
memory limit) against rendering in the process, per prompt: the prompt and its six answer turns
(what logprobs scoring renders, :func:`vp_stats.llm.templates.answer_turns`).

Goal: the per-prompt overhead stays far below one model call (milliseconds against the tens to
thousands of milliseconds of a scoring request); measured on the busy 2-core test machine: about
2 ms per prompt (two pipe round trips).
"""

from __future__ import annotations

from _common import best_of, report
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from vp_stats.io import datasets
from vp_stats.llm import prompts
from vp_stats.llm.backends import PHRASES
from vp_stats.llm.templates import ChatTemplate, answer_turns

TEMPLATE = (  # SmolLM2 / ChatML
    "{% for m in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
N = 200


def main() -> None:
    items = datasets.load_items().head(N // 2)
    jobs = prompts.item_prompts(
        items, variants=["v1", "v2"], templates=datasets.load_prompt_templates()
    )
    convs = [[{"role": "user", "content": p}] for p in jobs.prompt]
    bounded = ChatTemplate(TEMPLATE, eos="<|im_end|>")
    bounded.render(convs[0])  # starts the worker
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    tpl = env.from_string(TEMPLATE)

    def in_process(messages, add_generation_prompt=True):
        return tpl.render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            eos_token="<|im_end|>",
            bos_token="",
        )

    def run(render):
        for c in convs:
            render(c)
            answer_turns(render, c, PHRASES)

    base, _ = best_of(lambda: run(in_process))
    t, _ = best_of(lambda: run(bounded.render))
    n = len(convs)
    report(f"templates: in-process render, {n} prompts x 7", base)
    report(f"templates: bounded render (worker), {n} prompts x 7", t, base)
    print(f"templates: overhead per prompt {(t - base) / n * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
