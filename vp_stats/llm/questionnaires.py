"""Administer the BFI-10 to an LLM with the instrument's own 5-point answer scale.

Each item ("I see myself as someone who is reserved") is one prompt; the model
answers with one of the BFI's agreement phrases (:data:`vp_stats.schema.BFI_LABELS`).
The runner's ``scale`` argument makes every answer mode use that scale: ``logprobs``
gives the distribution over the five answers, ``grammar`` constrains the answer to
them, ``text`` parses them. Answers are scored with the same scorer as human
answers (:func:`vp_stats.instruments.bfi.score_bfi10`). The PVQ-21 counterpart is
:func:`vp_stats.personas.run_pvq21` (its six labels are the runner's default scale).

Examples
--------
>>> jobs = bfi10_prompts()
>>> len(jobs), jobs.prompt.iloc[0].splitlines()[0]
(10, 'How well does the following statement describe you?')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vp_stats import schema

__all__ = ['BFI10_SCALE', 'BFI10_TEMPLATE', 'bfi10_prompts', 'run_bfi10', 'score_llm_bfi10']  # fmt: skip

BFI10_SCALE: tuple[str, ...] = tuple(schema.BFI_LABELS[r] for r in range(1, 6))

BFI10_TEMPLATE = (
    "How well does the following statement describe you?\n\n"
    "I see myself as someone who {stem}.\n\n"
    "Answer with exactly one of: " + ", ".join(BFI10_SCALE) + "."
)


def bfi10_prompts(template: str = BFI10_TEMPLATE) -> pd.DataFrame:
    """One job per BFI-10 item: ``item, trait, reverse, portrait_id (= item), option_id (0), variant, prompt``.

    Examples
    --------
    >>> bfi10_prompts().query("item == 1")[["trait", "reverse"]].values.tolist()
    [['Extraversion', True]]
    """
    if "{stem}" not in template:
        raise ValueError("template must contain the placeholder {stem}")
    items = np.arange(1, 11)
    return pd.DataFrame(
        {
            "item": items,
            "trait": [schema.BFI10_KEY[i][0] for i in items],
            "reverse": [schema.BFI10_KEY[i][1] for i in items],
            "portrait_id": items,
            "option_id": 0,
            "variant": "bfi10",
            "prompt": [template.replace("{stem}", schema.BFI10_ITEMS[i]) for i in items],
        }
    )


def run_bfi10(backend, mode: str = "logprobs", cache=None, system_prompt: str | None = None, progress: bool = False) -> pd.DataFrame:
    """Administer the BFI-10; the runner's answer table with ``item`` and ``trait`` added."""
    from vp_stats.llm import runner

    jobs = bfi10_prompts()
    ans = runner.run(jobs, backend, mode=mode, cache=cache, system_prompt=system_prompt, progress=progress, scale=BFI10_SCALE)
    ans.insert(2, "item", jobs["item"].to_numpy())
    ans.insert(3, "trait", jobs["trait"].to_numpy())
    return ans


def score_llm_bfi10(answers: pd.DataFrame, rating: str = "mode", respondent: str = "model") -> pd.DataFrame:
    """Score an LLM's BFI-10 answers with the human scorer.

    ``rating="mode"`` scores the most probable (or generated) answer, an integer
    1-5, with :func:`vp_stats.instruments.bfi.score_bfi10`; ``rating="expected"``
    uses the logprobs expected rating with the same formula (mean of the trait's
    two items after reversing the keyed one as 6 - x).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "item": range(1, 11), "rating": [2.0, 4, 2, 2, 2, 4, 2, 4, 4, 4], "parse_ok": True})
    >>> score_llm_bfi10(a).set_index("dimension").score.round(2).to_dict()["Extraversion"]
    4.0
    """
    from vp_stats.instruments.bfi import score_bfi10

    ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else pd.Series(True, index=answers.index)
    a = answers[ok]
    if rating == "mode":
        if {f"p_{r}" for r in range(1, 6)} <= set(a.columns) and a["p_1"].notna().all():
            vals = a[[f"p_{r}" for r in range(1, 6)]].to_numpy().argmax(axis=1) + 1
        else:
            vals = a["rating"].to_numpy()
        long = pd.DataFrame({"respondent": a[respondent].to_numpy(), "item": a["item"].to_numpy(), "answer": vals.astype(int)})
        return score_bfi10(long)
    if rating != "expected":
        raise ValueError("rating must be 'mode' or 'expected'")
    rows = []
    for who, g in a.groupby(respondent, sort=True):
        x = dict(zip(g["item"], g["rating"].astype(float), strict=True))
        for trait in schema.BFI_TRAITS:
            items = [i for i, (t, _) in schema.BFI10_KEY.items() if t == trait]
            vals = [6 - x[i] if schema.BFI10_KEY[i][1] else x[i] for i in items if i in x]
            rows.append((who, "bfi", trait, float(np.mean(vals)) if vals else np.nan, len(vals)))
    return pd.DataFrame(rows, columns=["respondent", "family", "dimension", "score", "n_items"])
