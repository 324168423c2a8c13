"""Prompts for putting the Value Portrait items to a language model.

The six upstream prompt variants (3 wordings x original / reversed answer
order; ``lm_evaluation/prompts`` of the upstream repository) are loaded through
the data layer (:func:`vp_stats.io.datasets.load_prompt_templates`). Items with a title (Reddit,
Dear Abby) use the ``reddit`` template (``{title}``, ``{text}``, ``{content}``); items without one
(ShareGPT, LMSYS) use the ``sharegpt`` template (``{text}``, ``{content}``),
as upstream did. Users may pass their own template with the same placeholders.

Examples
--------
>>> from vp_stats.io import datasets
>>> from vp_stats.llm import prompts
>>> templates = datasets.load_prompt_templates()
>>> items = datasets.load_items().head(2)
>>> table = prompts.item_prompts(items, variants=["v1"], templates=templates)
>>> table.columns.tolist()
['portrait_id', 'option_id', 'variant', 'prompt']
>>> table.prompt.iloc[0].startswith("Now I will briefly describe a scenario and response.")
True
"""

from __future__ import annotations

import string

import pandas as pd

from vp_stats import schema

__all__ = ["PLACEHOLDERS", "check_template", "render", "item_prompts"]

PLACEHOLDERS = frozenset({"title", "text", "content"})


def check_template(template: str) -> str:
    """Validate a user template: only ``{title}``, ``{text}``, ``{content}`` placeholders.

    Examples
    --------
    >>> check_template("Q: {text}\\nA: {content}")
    'Q: {text}\\nA: {content}'
    >>> check_template("{question}")
    Traceback (most recent call last):
    ...
    ValueError: prompt template uses unknown placeholder(s) ['question']; allowed: content, text,
    title
    """
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ValueError(f"prompt template is not a valid format string: {exc}") from exc
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"prompt template uses unknown placeholder(s) {unknown}; allowed: "
            f"{', '.join(sorted(PLACEHOLDERS))}"
        )
    if "content" not in names:
        raise ValueError("prompt template must contain {content} (the response to rate)")
    return template


def _has_title(title) -> bool:
    return isinstance(title, str) and title.strip() != ""


def render(
    item: dict | pd.Series, variant: str = "v1", templates=None, template: str | None = None
) -> str:
    """Render one item's prompt for a variant (or with a user template).

    Examples
    --------
    >>> from vp_stats.io.datasets import load_prompt_templates
    >>> query = {"title": None, "text": "Hi", "response": "Hello"}
    >>> render(query, "v2", load_prompt_templates())[:31]
    'Given a message and response:\\n\\n'
    """
    if template is not None:
        tpl = check_template(template)
    else:
        if variant not in schema.VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {schema.VARIANTS}")
        if templates is None:
            raise ValueError(
                "an upstream variant needs templates= "
                "(vp_stats.io.datasets.load_prompt_templates())"
            )
        tpl = templates[variant]["reddit" if _has_title(item["title"]) else "sharegpt"]
    return tpl.format(title=item["title"] or "", text=item["text"], content=item["response"])


def item_prompts(
    items: pd.DataFrame,
    variants: tuple[str, ...] | list[str] = schema.VARIANTS,
    template: str | None = None,
    templates: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    """Prompts for every item x variant.

    Parameters
    ----------
    items : DataFrame
        ``portrait_id, option_id, title, text, response`` (:func:`vp_stats.io.datasets.load_items`).
    variants : sequence of str
        Upstream variants; with ``template`` given, the variant label is ``"custom"``.
    template : str, optional
        A user template with ``{title}``, ``{text}``, ``{content}``.
    templates : dict, optional
        The upstream templates (:func:`vp_stats.io.datasets.load_prompt_templates`); needed
        unless ``template`` is given.

    Returns
    -------
    DataFrame
        ``portrait_id, option_id, variant, prompt``.
    """
    labels = ["custom"] if template is not None else list(variants)
    rows = []
    for it in items.itertuples(index=False):
        d = {"title": it.title, "text": it.text, "response": it.response}
        for v in labels:
            rows.append(
                (int(it.portrait_id), int(it.option_id), v, render(d, v, templates, template))
            )
    return pd.DataFrame(rows, columns=["portrait_id", "option_id", "variant", "prompt"])
