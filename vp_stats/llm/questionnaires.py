"""Administer the BFI-10 to an LLM with the instrument's own 5-point answer scale.

Each item ("I see myself as someone who is reserved") is one prompt; the model
answers with one of the BFI's agreement phrases (:data:`vp_stats.schema.BFI_LABELS`).
The runner's ``scale`` argument makes every answer mode use that scale: ``logprobs``
gives the distribution over the five answers, ``grammar`` constrains the answer to
them, ``text`` parses them. Answers are scored with the same scorer as human
answers (:func:`vp_stats.instruments.bfi.score_bfi10`). The PVQ-21 counterpart is
:func:`vp_stats.studies.personas.run_pvq21` (its six labels are the runner's default scale).

Examples
--------
>>> jobs = bfi10_prompts()
>>> len(jobs), jobs.prompt.iloc[0].splitlines()[0]
(10, 'How well does the following statement describe you?')
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.instruments.pvq import score_pvq21

__all__ = [
    "BFI10_SCALE",
    "BFI10_TEMPLATE",
    "bfi10_prompts",
    "run_bfi10",
    "score_llm_bfi10",
    "score_llm_pvq21",
    "persona_bfi10_scores",
    "IPIP_SCALE",
    "IPIP_TEMPLATE",
    "ipip_prompts",
]

BFI10_SCALE: tuple[str, ...] = tuple(schema.BFI_LABELS[r] for r in range(1, 6))

BFI10_TEMPLATE = (
    "How well does the following statement describe you?\n\n"
    "I see myself as someone who {stem}.\n\n"
    "Answer with exactly one of: " + ", ".join(BFI10_SCALE) + "."
)


#: The answer scale of SAPA's IPIP items (psychTools ``?bfi``: 1 very inaccurate ... 6 very
#: accurate), in rating order 1..6.
IPIP_SCALE: tuple[str, ...] = (
    "very inaccurate",
    "moderately inaccurate",
    "slightly inaccurate",
    "slightly accurate",
    "moderately accurate",
    "very accurate",
)

IPIP_TEMPLATE = (
    "How accurately does the following statement describe you?\n\n"
    "{stem}\n\n"
    "Answer with exactly one of: " + ", ".join(IPIP_SCALE) + "."
)


def ipip_prompts(texts, template: str = IPIP_TEMPLATE) -> pd.DataFrame:
    """One job per IPIP item of SAPA's bfi: ``item`` (``A1`` ... ``O5``), ``portrait_id``
    (1..k, the runner's integer item key), ``option_id`` (0), ``variant`` (``"ipip"``),
    ``prompt``.

    ``texts`` maps the item names to their texts (``"Am indifferent to the feelings of
    others."``). The texts are not shipped with vp-stats: they are psychTools'
    ``bfi.dictionary`` (GPL), read where R installed it by
    :func:`vp_stats.studies.personas.ipip_item_texts`. The answers are on SAPA's own
    6-point scale (:data:`IPIP_SCALE`), so a persona's answer distribution is
    comparable item by item with the SAPA respondents'.

    Examples
    --------
    >>> j = ipip_prompts({"A1": "Am indifferent to the feelings of others.",
    ...                   "E4": "Make friends easily."})
    >>> j[["item", "portrait_id"]].values.tolist()
    [['A1', 1], ['E4', 2]]
    >>> j.prompt.iloc[1].splitlines()[2]
    'Make friends easily.'
    """
    if "{stem}" not in template:
        raise ValueError("template must contain the placeholder {stem}")
    texts = dict(texts)
    if not texts:
        raise ValueError("no IPIP item texts given")
    for k, t in texts.items():
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"text of IPIP item {k!r} is empty or not a string")
    names = list(texts)
    return pd.DataFrame(
        {
            "item": names,
            "portrait_id": np.arange(1, len(names) + 1),
            "option_id": 0,
            "variant": "ipip",
            "prompt": [template.replace("{stem}", texts[k].strip()) for k in names],
        }
    )


def bfi10_prompts(template: str = BFI10_TEMPLATE) -> pd.DataFrame:
    """One job per BFI-10 item: ``item, dimension, reverse, portrait_id (= item), option_id (0),
    variant, prompt``.

    Examples
    --------
    >>> bfi10_prompts().query("item == 1")[["dimension", "reverse"]].values.tolist()
    [['Extraversion', True]]
    """
    if "{stem}" not in template:
        raise ValueError("template must contain the placeholder {stem}")
    items = np.arange(1, 11)
    return pd.DataFrame(
        {
            "item": items,
            "dimension": [schema.BFI10_KEY[i][0] for i in items],
            "reverse": [schema.BFI10_KEY[i][1] for i in items],
            "portrait_id": items,
            "option_id": 0,
            "variant": "bfi10",
            "prompt": [template.replace("{stem}", schema.BFI10_ITEMS[i]) for i in items],
        }
    )


def run_bfi10(
    backend,
    mode: str = "logprobs",
    cache=None,
    system_prompt: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Administer the BFI-10; the runner's answer table with ``item`` and ``dimension`` added."""
    from vp_stats.llm import runner

    jobs = bfi10_prompts()
    ans = runner.run(
        jobs,
        backend,
        mode=mode,
        cache=cache,
        system_prompt=system_prompt,
        progress=progress,
        scale=BFI10_SCALE,
    )
    ans.insert(2, "item", jobs["item"].to_numpy())
    ans.insert(3, "dimension", jobs["dimension"].to_numpy())
    return ans


def score_llm_bfi10(
    answers: pd.DataFrame, rating: str = "mode", model: str = "model"
) -> pd.DataFrame:
    """Score an LLM's BFI-10 answers with the human scorer, one row per ``model`` and trait.

    ``model`` names the column that tells the scored units apart (the model, or a persona
    run); the output keeps that column name.

    ``rating="mode"`` scores the most probable (or generated) answer, an integer
    1-5, with :func:`vp_stats.instruments.bfi.score_bfi10`; ``rating="expected"``
    uses the logprobs expected rating with the same formula (mean of the trait's
    two items after reversing the keyed one as 6 - x).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"model": "m", "item": range(1, 11),
    ...                   "rating": [2.0, 4, 2, 2, 2, 4, 2, 4, 4, 4], "parse_ok": True})
    >>> score_llm_bfi10(a).set_index("dimension").score.round(2).to_dict()["Extraversion"]
    4.0
    """
    from vp_stats.instruments.bfi import score_bfi10

    ok = (
        answers["parse_ok"].astype(bool)
        if "parse_ok" in answers.columns
        else pd.Series(True, index=answers.index)
    )
    a = answers[ok]
    if rating == "mode":
        if {f"p_{r}" for r in range(1, 6)} <= set(a.columns) and a["p_1"].notna().all():
            vals = a[[f"p_{r}" for r in range(1, 6)]].to_numpy().argmax(axis=1) + 1
        else:
            vals = a["rating"].to_numpy()
        long = pd.DataFrame(
            {
                "participant": a[model].to_numpy(),
                "item": a["item"].to_numpy(),
                "rating": vals.astype(int),
            }
        )
        return score_bfi10(long).rename(columns={"participant": model})
    if rating != "expected":
        raise ValueError("rating must be 'mode' or 'expected'")
    rows = []
    for who, g in a.groupby(model, sort=True):
        x = dict(zip(g["item"], g["rating"].astype(float), strict=True))
        for trait in schema.BFI_TRAITS:
            items = [i for i, (t, _) in schema.BFI10_KEY.items() if t == trait]
            vals = [6 - x[i] if schema.BFI10_KEY[i][1] else x[i] for i in items if i in x]
            rows.append((who, "bfi", trait, float(np.mean(vals)) if vals else np.nan, len(vals)))
    return pd.DataFrame(rows, columns=[model, "family", "dimension", "score", "n_items"])


def persona_bfi10_scores(
    answers: pd.DataFrame, *, runs: Sequence[str] | None = None
) -> pd.DataFrame:
    """Trait scores of a persona run's BFI-10 answers, one row per persona run and trait.

    Parameters
    ----------
    answers : DataFrame
        ``persona_id``, the item (``item`` 1..10, else ``portrait_id`` as
        written by :func:`vp_stats.llm.questionnaires.bfi10_prompts`),
        ``rating`` (1-5; fractional expected ratings allowed), optional
        ``parse_ok`` and persona attribute columns (``gender``, ``age`` ...).
    runs : sequence of str, optional
        Columns that tell a persona's runs apart (default: those of ``variant``, ``run``,
        ``seed`` present besides ``persona_id``). Each run is scored on its own.

    Returns
    -------
    DataFrame
        ``persona_id, run`` (the unit key), ``family`` ("bfi"), ``dimension``,
        ``score`` (BFI-10 trait mean after ``6 - x`` on reversed items, 1-5),
        ``n_items``, then the persona attribute columns.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"persona_id": "p", "gender": "male", "item": range(1, 11),
    ...                   "rating": [2.0, 4, 2, 2, 2, 4, 2, 4, 4, 4]})
    >>> persona_bfi10_scores(a).set_index("dimension").score.to_dict()["Extraversion"]
    4.0
    """
    item_col = "item" if "item" in answers.columns else "portrait_id"
    need = {"persona_id", item_col, "rating"} - set(answers.columns)
    if need:
        raise ValueError(f"BFI-10 persona answers lack column(s) {sorted(need)}")
    a = answers
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    a = a.assign(
        item=pd.to_numeric(a[item_col], errors="coerce"),
        rating=pd.to_numeric(a["rating"], errors="coerce"),
    )
    a = a[a["rating"].notna()]
    bad = ~a["item"].isin(range(1, 11))
    if bad.any():
        raise ValueError(
            f"item {a.loc[bad, item_col].iloc[0]} is not a BFI-10 item (1..10): "
            "persona_vs_human needs the persona run's BFI-10 answers"
        )
    out_of = (a["rating"] < schema.BFI_MIN) | (a["rating"] > schema.BFI_MAX)
    if out_of.any():
        r = a[out_of].iloc[0]
        raise ValueError(
            f"persona {r['persona_id']!r}, item {int(r['item'])}: rating {r['rating']!r} outside "
            "1..5"
        )
    units = (
        list(runs)
        if runs is not None
        else [c for c in ("variant", "run", "seed") if c in a.columns]
    )
    key = a["persona_id"].astype(str)
    for u in units:
        key = key + "|" + a[u].astype(str)
    a = a.assign(_unit=key.to_numpy())
    dup = a.duplicated(["_unit", "item"])
    if dup.any():
        r = a[dup].iloc[0]
        raise ValueError(
            f"two answers of run {r['_unit']!r} to BFI-10 item {int(r['item'])}; "
            "tell runs apart with runs="
        )
    sc = score_llm_bfi10(a, "expected", model="_unit").rename(columns={"_unit": "run"})
    info_cols = [
        c
        for c in answers.columns
        if c
        not in {
            "item",
            "portrait_id",
            "option_id",
            "rating",
            "parse_ok",
            "trait",
            "dimension",
            "prompt",
            "system_prompt",
            *units,
            *_RUNNER_COLUMNS,
        }
    ]
    info = a.drop_duplicates("_unit")[["_unit", *info_cols]].rename(columns={"_unit": "run"})
    out = sc.merge(info, on="run", how="left")
    first = ["persona_id", "run", "family", "dimension", "score", "n_items"]
    return out[first + [c for c in out.columns if c not in first]]


_RUNNER_COLUMNS = (
    "model",
    "variant",
    "raw_text",
    "mode",
    "expected_rating",
    "entropy",
    "answer_mass",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "error",
    "backend",
    "model_id",
    "key",
    "from_cache",
    "p_1",
    "p_2",
    "p_3",
    "p_4",
    "p_5",
    "p_6",
)


def score_llm_pvq21(answers: pd.DataFrame, rating: str = "mode") -> pd.DataFrame:
    """Score an LLM's PVQ-21 answers per persona (MRAT-centred values).

    Parameters
    ----------
    answers : DataFrame
        ``persona_id, item`` and, for ``rating="mode"``, ``raw_text`` or
        ``rating``; for ``rating="expected"``, ``rating`` (logprobs expected
        rating) -- as returned by :func:`~vp_stats.studies.personas.run_pvq21`.
    rating : {"mode", "expected"}
        ``"mode"``: the most probable answer phrase (an integer 1..6), scored
        with :func:`vp_stats.instruments.pvq.score_pvq21`; ``"expected"``: the
        expected rating ``sum_r r p_r`` of logprobs mode (fractional), scored
        with the same formula (mean of a value's items minus the mean of all 21
        answered items; Schwartz's MRAT centring), implemented here because
        ``score_pvq21`` accepts integer answers only. The two agree on integer
        answers (tested).

    Returns
    -------
    DataFrame
        ``score_pvq21`` layout with the unit column ``persona_id`` (the unit of a
        persona table, :class:`vp_stats.tables.PersonaAnswers`) in place of ``participant``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"persona_id": "plain", "item": range(1, 22),
    ...                   "rating": [6.0] + [3.0] * 20})
    >>> s = score_llm_pvq21(a, "expected")
    >>> round(s.query("dimension == 'Self_Direction'").score.item(), 4)  # 4.5 - 66/21
    1.3571
    """

    need = {"persona_id", "item"} - set(answers.columns)
    if need:
        raise ValueError(f"answers lack column(s) {sorted(need)}")
    ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else True
    a = answers.assign(_ok=ok)
    if rating == "mode":
        if "raw_text" in a.columns and a["raw_text"].notna().any():
            from vp_stats.llm import parse

            def _mode(t):
                return parse.parse_answer(t).rating if isinstance(t, str) else None

            x = a["raw_text"].map(_mode)
        else:
            x = np.round(pd.to_numeric(a["rating"], errors="coerce"))
        x = pd.to_numeric(x, errors="coerce").where(a["_ok"])
        long = pd.DataFrame({"participant": a["persona_id"], "item": a["item"], "rating": x})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = score_pvq21(long)
        out = out.rename(columns={"participant": "persona_id"})
    elif rating == "expected":
        x = pd.to_numeric(a["rating"], errors="coerce").where(a["_ok"])
        bad = x.notna() & ((x < 1) | (x > 6))
        if bad.any():
            r = a.loc[bad].iloc[0]
            raise ValueError(
                f"persona {r['persona_id']!r}, item {r['item']}: rating {r['rating']!r} outside "
                "1..6"
            )
        dup = a.duplicated(["persona_id", "item"])
        if dup.any():
            r = a.loc[dup].iloc[0]
            raise ValueError(f"duplicate answers for persona {r['persona_id']!r}, item {r['item']}")
        W = (
            pd.DataFrame({"p": a["persona_id"], "i": a["item"].astype(int), "x": x})
            .pipe(tables.to_wide, "p", "i", "x", source="answers")
            .reindex(index=pd.unique(a["persona_id"]), columns=range(1, 22))
        )
        X = W.to_numpy(dtype=float)
        person = np.nanmean(X, axis=1)
        rows = []
        groups = [("pvq", v, schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES] + [
            ("higher_pvq", h, tuple(i for v in vs for i in schema.PVQ21_KEY[v]))
            for h, vs in schema.HIGHER_ORDER_MAP.items()
        ]
        for fam, dim, its in groups:
            sub = X[:, [i - 1 for i in its]]
            n = (~np.isnan(sub)).sum(axis=1)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sc = np.nanmean(sub, axis=1) - person
            for p, s, k in zip(W.index, sc, n, strict=True):
                rows.append((p, fam, dim, s, int(k), "ok" if k else "too_few_items"))
        out = pd.DataFrame(
            rows, columns=["persona_id", "family", "dimension", "score", "n_items", "status"]
        )
        order = {p: i for i, p in enumerate(W.index)}
        out = out.sort_values("persona_id", key=lambda s: s.map(order), kind="stable")
        out = out.reset_index(drop=True)
    else:
        raise ValueError(f"rating must be 'mode' or 'expected', got {rating!r}")
    return out
