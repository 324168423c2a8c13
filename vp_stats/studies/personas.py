"""Persona studies: running an LLM under personas (and the PVQ-21) and writing output folders.

Persona studies: builds the LLM jobs (item
prompts or PVQ-21 portraits crossed with personas), runs them through
:func:`vp_stats.llm.runner.run` (cached), loads the human reference
(:mod:`vp_stats.io.datasets`), calls the statistics of
:mod:`vp_stats.stats.personas` and :mod:`vp_stats.stats.persona_gaps`, and reads
and writes files through :mod:`vp_stats.io.personas`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.instruments.personas import (
    PLAIN_PERSONA_ID,
    STEERING_FORMATS,
    age_band,
    paper_personas,
    persona_id,
    render_persona,
    render_steering,
    sample_personas,
)
from vp_stats.io import datasets
from vp_stats.io import personas as pio
from vp_stats.io.datasets import load_participant_scores, load_ratings
from vp_stats.stats.persona_gaps import group_gap_comparison, persona_item_scores
from vp_stats.stats.personas import (
    compare_item_distributions,
    complete_scores,
    human_reference,
    persona_shifts,
    persona_value_profiles,
    value_hierarchy,
    value_structure,
    variance_ratio,
)

__all__ = [
    "STUDY_GRIDS",
    "study_personas",
    "personas_from_table",
    "steer_personas",
    "SAMPLE_SOURCES",
    "sampled_personas",
    "select_persona_items",
    "run_personas",
    "PVQ21_PARAPHRASES",
    "PVQ21_TEMPLATE",
    "pvq21_prompts",
    "run_pvq21",
    "INSTRUMENTS",
    "ipip_item_texts",
    "instrument_jobs",
    "select_instrument_items",
    "run_instrument",
    "sapa_fidelity",
    "silicon_pattern",
    "value_portrait_reference",
    "PersonaComparison",
    "compare_personas",
    "persona_fidelity",
    "comparison_summary",
    "VALUE_PERSONA_LEVELS",
    "value_personas",
    "value_rater_groups",
    "value_steering",
    "write_study_figures",
    "compare_file",
    "run_persona_study",
]

# --------------------------------------------------------------------------- study grids and items

#: Persona grids of :func:`run_persona_study`.
STUDY_GRIDS = ("notebook", "paper", "values")


def study_personas(grid: str = "notebook") -> pd.DataFrame:
    """Persona table of a study grid.

    ``"notebook"``: four of the paper's single-attribute personas, gender
    (male, female) and the youngest and oldest age bands (18-29, 60 and
    older), small enough for a laptop CPU; ``"paper"``: all 25
    single-attribute personas (:func:`~vp_stats.instruments.personas.paper_personas`);
    ``"values"``: two personas per basic value, one for whom it is very important and
    one for whom it is not (:func:`value_personas`), compared with the raters who hold
    the value (steerability).

    Examples
    --------
    >>> study_personas().system_prompt.tolist()[:2]
    ['**Your Profile**: Your gender is male.', '**Your Profile**: Your gender is female.']
    """
    if grid == "paper":
        return paper_personas()
    if grid == "values":
        return value_personas(schema.PVQ_VALUES)
    if grid == "notebook":
        t = paper_personas()
        keep = t["level"].isin(["male", "female", "18-29", "60 and older"])
        return t[keep & t["attribute"].isin(["gender", "age"])].reset_index(drop=True)
    raise ValueError(f"grid must be one of {STUDY_GRIDS}, got {grid!r}")


def personas_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """A persona table (``persona_id, system_prompt``, attributes) from a persona file's rows.

    Each row's non-missing attribute cells are rendered as the paper's profile lines
    (:func:`~vp_stats.instruments.personas.render_persona`); a ``backstory`` (free
    text) follows them, or is the whole system prompt when the row has no attribute.
    ``persona_id``: the file's own where given, else the stable hash of the attributes
    and the backstory (:func:`~vp_stats.instruments.personas.persona_id`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"gender": ["female", None], "backstory": [None, "I farm."]})
    >>> personas_from_table(t).system_prompt.tolist()
    ['**Your Profile**: Your gender is female.', 'I farm.']
    """
    attrs = [c for c in table.columns if c not in ("persona_id", "backstory")]
    rows = []
    for _, r in table.iterrows():
        a = {k: r[k] for k in attrs if r[k] is not None and not pd.isna(r[k])}
        story = r.get("backstory")
        story = None if story is None or pd.isna(story) else str(story)
        prompt = " ".join(x for x in (render_persona(a) if a else "", story or "") if x)
        pid = r.get("persona_id")
        if pid is None or pd.isna(pid):
            pid = persona_id({**a, **({"backstory": story} if story else {})})
        rows.append({"persona_id": str(pid), "system_prompt": prompt, **a})
    out = pd.DataFrame(rows, columns=["persona_id", "system_prompt", *attrs])
    if "backstory" in table.columns:
        out["backstory"] = table["backstory"].to_numpy()
    return out


def steer_personas(table: pd.DataFrame, steering: str = "attributes") -> pd.DataFrame:
    """A persona table with its system prompts rewritten in another steering format.

    Each persona's attribute columns (every column but ``persona_id``, ``system_prompt``,
    ``backstory`` and the table's bookkeeping columns) are rendered by
    :func:`~vp_stats.instruments.personas.render_steering` (``attributes``, ``qa``,
    ``bio``, ``portray``: OpinionQA's steering contexts); a ``backstory`` follows. The
    persona ids get the format as a suffix (``<id>-qa``), so answers under different
    formats never share an id or a cache entry. ``"attributes"`` returns the table as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> t = personas_from_table(pd.DataFrame({"gender": ["female"], "persona_id": ["f"]}))
    >>> q = steer_personas(t, "qa")
    >>> q.persona_id.tolist(), q.system_prompt.tolist()
    (['f-qa'], ['Question: What is your gender?\\nAnswer: female'])
    """
    if steering not in STEERING_FORMATS:
        raise ValueError(f"--steering must be one of {list(STEERING_FORMATS)}, got {steering!r}")
    if steering == "attributes":
        return table
    if "steer_group" in table.columns:
        raise ValueError(
            "the values grid steers by value statements, not demographic attributes: "
            "--steering applies to the paper and notebook grids, --personas and --sample-from"
        )
    skip = {*_PERSONA_META, "backstory", "n_drawn"}
    attrs = [c for c in table.columns if c not in skip]
    prompts = []
    for _, r in table.iterrows():
        a = {k: r[k] for k in attrs if r[k] is not None and not pd.isna(r[k])}
        story = r.get("backstory")
        story = None if story is None or pd.isna(story) else str(story)
        sep = "\n\n" if steering == "qa" else " "
        prompts.append(sep.join(x for x in (render_steering(a, steering), story or "") if x))
    return table.assign(
        persona_id=table["persona_id"].astype(str) + f"-{steering}", system_prompt=prompts
    )


#: Human samples personas can be drawn from (:func:`sampled_personas`): demographic columns.
SAMPLE_SOURCES = ("sapa-bfi", "sapa-spi")


def sampled_personas(
    reference: pd.DataFrame | str,
    n: int,
    *,
    attributes: Sequence[str] | None = None,
    weight: str | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    group_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A silicon sample: ``n`` personas drawn from a human sample's joint demographics.

    ``reference`` is a table of real people (attribute columns, optional survey
    ``weight``) or the name of a psychTools SAPA sample (``"sapa-bfi"``,
    ``"sapa-spi"``: gender, age band and education of each respondent, read where R
    installed psychTools, ``path``). Rows are drawn with replacement (weighted) by
    :func:`~vp_stats.instruments.personas.sample_personas`, so the personas
    reproduce the sample's joint distribution (Argyle et al. 2023, "Out of One,
    Many"); the same person profile can be drawn several times and then runs once.
    ``group_cols`` (a SAPA sample only): draw the personas on these columns of the data
    instead, labelled as :func:`vp_stats.io.psychtools.label_group_column` labels them
    (e.g. ``["gender", "health"]`` of spi), so that :func:`sapa_fidelity` can compare
    them with the SAPA groups of the same columns.

    Returns
    -------
    DataFrame
        ``persona_id, system_prompt``, the attribute columns and ``n_drawn`` (how
        often the profile was drawn).
    """
    if isinstance(reference, str):
        if reference not in SAMPLE_SOURCES:
            raise ValueError(f"--sample-from must be one of {list(SAMPLE_SOURCES)} or a CSV file")
        from vp_stats.io import psychtools as pt

        if group_cols:
            reference = pt.sapa_groups(reference, group_cols, path).drop(columns="participant")
        else:
            raw = pt.read_bfi(path) if reference == "sapa-bfi" else pt.read_spi(path)
            reference = raw[["gender", "age_band", "education"]].rename(columns={"age_band": "age"})
    elif group_cols:
        raise ValueError("group_cols draws from a SAPA sample (sapa-bfi, sapa-spi) only")
    drawn = sample_personas(n, reference=reference, attributes=attributes, weight=weight, seed=seed)
    counts = drawn["persona_id"].value_counts()
    out = drawn.drop(columns=["draw"]).drop_duplicates("persona_id").reset_index(drop=True)
    out["n_drawn"] = out["persona_id"].map(counts).to_numpy()
    return out


@schema.orders_dimensions
def select_persona_items(
    items: pd.DataFrame,
    corr: pd.DataFrame,
    n_per_value: int = 4,
    *,
    family: str = "pvq",
    threshold: float = 0.3,
) -> pd.DataFrame:
    """A small item set covering every value of a family: the shortest validated items.

    For each value of ``family`` the ``n_per_value`` shortest items (by the
    length of title, text and response) with ``rho > threshold`` (published
    selection, upstream exclusions applied) are kept; the union is returned
    (an item valid for two values counts for both). Short items keep a persona
    run on a laptop CPU fast; they are not a random sample of items, so
    conclusions about the whole item pool need the full run.

    Returns
    -------
    DataFrame
        The selected rows of ``items`` with a ``selected_for`` column (the
        values the item was picked for, ``;``-joined), in item order.

    Examples
    --------
    >>> from vp_stats.io import datasets
    >>> sel = select_persona_items(datasets.load_items(), datasets.load_published_correlations(), 2)
    >>> 10 <= len(sel) <= 20, sel.portrait_id.is_monotonic_increasing or True
    (True, True)
    """
    from vp_stats.stats import validation

    if n_per_value < 1:
        raise ValueError(f"n_per_value must be >= 1, got {n_per_value}")
    sel = validation.select_items(
        corr[corr["family"] == family], threshold, "pos", validation.upstream_exclusions()
    )
    sel = sel[sel["selected"]]
    it = items.assign(
        _len=items["title"].fillna("").str.len()
        + items["text"].fillna("").str.len()
        + items["response"].fillna("").str.len()
    )
    picked: dict[tuple[int, int], list[str]] = {}
    for dim in schema.FAMILIES[family]:
        keys = sel.loc[sel["dimension"] == dim, ["portrait_id", "option_id"]]
        cand = it.merge(keys, on=["portrait_id", "option_id"]).sort_values(
            ["_len", "portrait_id", "option_id"], kind="stable"
        )
        if len(cand) < n_per_value:
            warnings.warn(
                f"{dim}: only {len(cand)} validated item(s) available", UserWarning, stacklevel=2
            )
        for r in cand.head(n_per_value).itertuples(index=False):
            picked.setdefault((int(r.portrait_id), int(r.option_id)), []).append(dim)
    key = list(zip(it["portrait_id"].astype(int), it["option_id"].astype(int), strict=True))
    mask = np.array([k in picked for k in key])
    out = it.loc[mask].drop(columns="_len").copy()
    out["selected_for"] = [";".join(picked[k]) for k, m in zip(key, mask, strict=True) if m]
    return out.sort_values(["portrait_id", "option_id"]).reset_index(drop=True)


# ----------------------------------------------------------------------- running personas on an LLM

#: Columns of a persona table that are not persona attributes.
_PERSONA_META = (
    "persona_id",
    "system_prompt",
    "n_attributes",
    "draw",
    "attribute",
    "level",
    "n_drawn",
)


def _check_persona_table(personas_table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(personas_table, pd.DataFrame):
        raise TypeError(
            f"personas_table must be a DataFrame (see persona_table / persona_grid), "
            f"got {type(personas_table).__name__}"
        )
    need = {"persona_id", "system_prompt"} - set(personas_table.columns)
    if need:
        raise ValueError(
            f"personas_table lacks column(s) {sorted(need)}; build it with persona_table(), "
            "persona_grid() or paper_personas()"
        )
    tab = personas_table.drop_duplicates("persona_id")
    if tab["persona_id"].isna().any():
        r = int(np.flatnonzero(tab["persona_id"].isna().to_numpy())[0])
        raise ValueError(f"personas_table row {r}: missing persona_id")
    dup = personas_table.groupby("persona_id")["system_prompt"].nunique()
    if (dup > 1).any():
        raise ValueError(
            f"persona_id {dup[dup > 1].index[0]!r} has several different system prompts"
        )
    if PLAIN_PERSONA_ID in set(tab["persona_id"]):
        raise ValueError(
            f"persona_id {PLAIN_PERSONA_ID!r} is reserved for the plain model (no system prompt)"
        )
    bad = tab["system_prompt"].isna() | (tab["system_prompt"].astype(str).str.strip() == "")
    if bad.any():
        pid = tab.loc[bad, "persona_id"].iloc[0]
        raise ValueError(
            f"persona {pid!r} has an empty system prompt; the plain model is added by "
            "include_plain=True"
        )
    return tab


def _persona_jobs(base_jobs: pd.DataFrame, tab: pd.DataFrame, include_plain: bool) -> pd.DataFrame:
    """Cross a job table with personas: per-row ``system_prompt`` and ``persona_id``."""
    frames = []
    if include_plain:
        frames.append(base_jobs.assign(persona_id=PLAIN_PERSONA_ID, system_prompt=None))
    for pid, sp in zip(tab["persona_id"], tab["system_prompt"], strict=True):
        frames.append(base_jobs.assign(persona_id=pid, system_prompt=str(sp)))
    if not frames:
        raise ValueError("no personas to run (empty personas_table and include_plain=False)")
    return pd.concat(frames, ignore_index=True)


def _join_attributes(answers: pd.DataFrame, tab: pd.DataFrame) -> pd.DataFrame:
    attrs = [c for c in tab.columns if c not in _PERSONA_META]
    info = tab[["persona_id", "system_prompt", *attrs]].copy()
    plain = pd.DataFrame({"persona_id": [PLAIN_PERSONA_ID], "system_prompt": [None]})
    info = pd.concat([plain, info], ignore_index=True)
    out = answers.merge(info, on="persona_id", how="left", validate="many_to_one")
    return out


def run_personas(
    backend,
    personas_table: pd.DataFrame,
    items: pd.DataFrame,
    variants: Sequence[str] = ("v1",),
    mode: str = "logprobs",
    cache=None,
    include_plain: bool = True,
    *,
    progress: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Put Value Portrait items to an LLM under every persona (and as the plain model).

    Jobs are :func:`vp_stats.llm.prompts.item_prompts` (items x variants)
    crossed with the personas; each job carries its persona's ``system_prompt``
    and ``persona_id`` (the plain model: no system prompt, ``persona_id``
    ``"plain"``), so both are stored with every cached answer
    (:class:`vp_stats.io.cache.AnswerCache`, table ``answers``). Answers come
    from :func:`vp_stats.llm.runner.run`; reruns read finished answers from
    ``cache``. Persona protocol as in Value Portrait (Han et al., ACL 2025,
    demographic groups): the persona is the system message, the item prompt
    unchanged.

    Parameters
    ----------
    backend : LlamaCppBackend or OpenAIBackend (or any object with the runner's interface)
    personas_table : DataFrame
        ``persona_id, system_prompt`` and attribute columns
        (:func:`~vp_stats.instruments.personas.persona_table`,
        :func:`~vp_stats.instruments.personas.persona_grid`,
        :func:`~vp_stats.instruments.personas.paper_personas`,
        :func:`~vp_stats.instruments.personas.sample_personas`).
    items : DataFrame
        Value Portrait items (``portrait_id, option_id, title, text, response``;
        :func:`vp_stats.io.datasets.load_items`, any subset).
    variants : sequence of str
        Prompt variants (:data:`vp_stats.schema.VARIANTS`).
    mode : {"logprobs", "grammar", "text"}
        Answer mode of the runner.
    cache : AnswerCache or path, optional
        SQLite answer cache (default: in memory, nothing persisted).
    include_plain : bool
        Also run the plain model (the baseline of persona shifts).

    Returns
    -------
    DataFrame
        The runner's tidy answer table (``model, portrait_id, option_id,
        variant, raw_text, rating, parse_ok, mode, p_1..p_6, ...,
        persona_id``) with ``system_prompt`` and the persona attribute columns
        joined (missing for the plain model).
    """
    from vp_stats.io.cache import open_cache
    from vp_stats.llm import prompts, runner

    tab = _check_persona_table(personas_table)
    base = prompts.item_prompts(
        items, variants=variants, templates=datasets.load_prompt_templates(data_dir)
    )
    jobs = _persona_jobs(base, tab, include_plain)
    with open_cache(cache) as opened:
        ans = runner.run(jobs, backend, mode=mode, cache=opened, progress=progress)
    return _join_attributes(ans, tab)


# --------------------------------------------------------------------------- PVQ-21 put to an LLM

#: Portrait texts for the 21 PVQ-21 items, in ESS item order. These are
#: PARAPHRASES written for vp-stats of the content of the ESS Human Values Scale
#: items (Schwartz 2003), gender neutral ("this person"), not the official
#: wording, which we could not verify against an ESS source questionnaire here.
PVQ21_PARAPHRASES: tuple[str, ...] = (
    "This person values creativity and enjoys coming up with original ideas and ways of doing "
    "things.",
    "This person wants to be wealthy and to own money and costly possessions.",
    "This person believes everyone in the world deserves equal treatment and the same chances in "
    "life.",
    "This person wants to demonstrate their abilities and to be admired for what they do.",
    "This person cares about living in safe surroundings and stays away from anything that could "
    "put them in danger.",
    "This person enjoys surprises and keeps looking for new things to do; variety in life matters "
    "to them.",
    "This person thinks people should do as they are told and keep to the rules at all times, "
    "even when nobody is watching.",
    "This person makes an effort to listen to people unlike themselves and to understand them "
    "even when they disagree.",
    "This person wants to be humble and modest and avoids drawing attention to themselves.",
    "Enjoying themselves matters to this person; they like to treat themselves.",
    "This person wants to decide for themselves what they do and to be free and independent of "
    "others.",
    "Helping the people around them matters a great deal to this person; they want to look after "
    "others' well-being.",
    "Being highly successful matters to this person; they hope others will recognise what they "
    "achieve.",
    "This person wants the government to protect them from every threat and wants a strong state "
    "that can defend its citizens.",
    "This person seeks adventure, likes taking risks and wants an exciting life.",
    "This person wants always to behave properly and to avoid anything others would call wrong.",
    "Being respected by others matters to this person; they want people to follow their lead.",
    "This person wants to be loyal to their friends and devoted to the people close to them.",
    "This person is convinced that people should care for nature; protecting the environment "
    "matters to them.",
    "This person values tradition and follows the customs passed on by their religion or family.",
    "This person takes every chance to have fun and likes doing things that give them pleasure.",
)


#: Prompt wrapped around a portrait; the answer phrases are the runner's
#: (:data:`vp_stats.llm.backends.PHRASES`), i.e. the PVQ's own six labels.
PVQ21_TEMPLATE = (
    "Here is a short description of a person.\n\n{portrait}\n\n"
    "How much is this person like you? Answer with exactly one of: very much like me, like me, "
    "somewhat like me, a little like me, not like me, not like me at all."
)


def pvq21_prompts(
    texts: Sequence[str] | None = None, template: str = PVQ21_TEMPLATE
) -> pd.DataFrame:
    """Jobs putting the 21 PVQ-21 portrait items to an LLM (6-point PVQ answer scale).

    The portraits default to :data:`PVQ21_PARAPHRASES`: paraphrases written for
    vp-stats of the content of the ESS Human Values Scale items (Schwartz
    2003, ESS questionnaire development report ch. 7), gender neutral. They are
    NOT the official ESS wording (which we could not verify here), so scores
    are not directly comparable with ESS norms; pass the official texts (from an
    ESS source questionnaire, under its terms) as ``texts`` for that. The answer
    scale is the PVQ's (6 very much like me ... 1 not like me at all), which
    is also the runner's answer set, so ``logprobs`` mode scores exactly the
    six PVQ labels.

    Parameters
    ----------
    texts : sequence of 21 str, optional
        Portrait texts in ESS item order.
    template : str
        Prompt with a ``{portrait}`` placeholder.

    Returns
    -------
    DataFrame
        ``item`` (1..21), ``value`` (:data:`vp_stats.schema.PVQ21_KEY`),
        ``portrait_id`` (= item, the runner's item key), ``option_id`` (0),
        ``variant`` (``"pvq21"``), ``prompt``.

    Examples
    --------
    >>> j = pvq21_prompts()
    >>> len(j), j.value.iloc[0], j.value.iloc[2]
    (21, 'Self_Direction', 'Universalism')
    >>> j.prompt.iloc[0].splitlines()[0]
    'Here is a short description of a person.'
    """
    texts = list(PVQ21_PARAPHRASES if texts is None else texts)
    if len(texts) != schema.PVQ21_N_ITEMS:
        raise ValueError(f"texts must hold {schema.PVQ21_N_ITEMS} portraits, got {len(texts)}")
    if "{portrait}" not in template:
        raise ValueError("template must contain the placeholder {portrait}")
    for i, t in enumerate(texts, 1):
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"portrait text of item {i} is empty or not a string")
    value_of = {i: v for v, its in schema.PVQ21_KEY.items() for i in its}
    items = np.arange(1, schema.PVQ21_N_ITEMS + 1)
    return pd.DataFrame(
        {
            "item": items,
            "value": [value_of[i] for i in items],
            "portrait_id": items,
            "option_id": 0,
            "variant": "pvq21",
            "prompt": [template.replace("{portrait}", t.strip()) for t in texts],
        }
    )


def run_pvq21(
    backend,
    personas_table: pd.DataFrame | None = None,
    mode: str = "logprobs",
    cache=None,
    include_plain: bool = True,
    *,
    texts: Sequence[str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Administer the PVQ-21 to an LLM, as the plain model and under personas.

    Returns the runner's answer table with ``item`` (1..21) and ``value``
    added, ``system_prompt`` and persona attributes joined; score it with
    :func:`~vp_stats.stats.personas.score_llm_pvq21`.
    """
    from vp_stats.io.cache import open_cache
    from vp_stats.llm import runner

    base = pvq21_prompts(texts)
    if personas_table is None:
        personas_table = pd.DataFrame(columns=["persona_id", "system_prompt"])
        if not include_plain:
            raise ValueError("nothing to run: no personas_table and include_plain=False")
    tab = _check_persona_table(personas_table) if len(personas_table) else personas_table
    jobs = _persona_jobs(base, tab, include_plain)
    with open_cache(cache) as opened:
        ans = runner.run(jobs, backend, mode=mode, cache=opened, progress=progress)
    if len(ans) != len(jobs):
        raise RuntimeError(f"the runner returned {len(ans)} answers for {len(jobs)} jobs")
    ans.insert(2, "item", jobs["item"].to_numpy())
    ans.insert(3, "value", jobs["value"].to_numpy())
    return _join_attributes(ans, tab)


# ------------------------------------------------------- any instrument: PVQ-21, BFI-10, SAPA IPIP

#: What ``personas run --instrument`` puts to the personas: the Value Portrait items
#: (``items``), the PVQ-21 portraits, the BFI-10, or the 25 IPIP items of SAPA's bfi.
INSTRUMENTS = ("items", "pvq21", "bfi10", "ipip")


def ipip_item_texts(path: str | os.PathLike | None = None) -> dict[str, str]:
    """The texts of SAPA's 25 IPIP items (``A1`` ... ``O5``), read from psychTools.

    From psychTools' ``bfi.dictionary`` (column ``Item``) where R installed it
    (:func:`vp_stats.io.psychtools.read_psychtools`; GPL data, never copied into
    vp-stats), in the item order of :data:`vp_stats.io.psychtools.BFI_ITEMS`.

    Examples
    --------
    >>> t = ipip_item_texts()  # doctest: +SKIP
    >>> t["A1"]  # doctest: +SKIP
    'Am indifferent to the feelings of others.'
    """
    from vp_stats.io import psychtools as pt

    d = pt.read_psychtools("bfi.dictionary", path)
    missing = [i for i in pt.BFI_ITEMS if i not in d.index]
    if missing or "Item" not in d.columns:
        raise ValueError(
            f"psychTools bfi.dictionary lacks the texts of item(s) {missing or list(pt.BFI_ITEMS)}"
        )
    return {i: str(d.loc[i, "Item"]).strip() for i in pt.BFI_ITEMS}


def instrument_jobs(
    instrument: str, *, path: str | os.PathLike | None = None
) -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    """The jobs of a questionnaire and its answer scale (None: the runner's six PVQ phrases).

    ``pvq21``: :func:`pvq21_prompts`; ``bfi10``:
    :func:`vp_stats.llm.questionnaires.bfi10_prompts` on the BFI's 5-point scale;
    ``ipip``: :func:`vp_stats.llm.questionnaires.ipip_prompts` of the texts read by
    :func:`ipip_item_texts` (``path``: the psychTools folder) on SAPA's 6-point scale.
    Every job table has ``item``, ``portrait_id`` (integer item key), ``option_id`` and
    ``variant`` (the instrument).

    Examples
    --------
    >>> jobs, scale = instrument_jobs("bfi10")
    >>> len(jobs), scale[0], jobs.variant.iloc[0]
    (10, 'disagree strongly', 'bfi10')
    """
    from vp_stats.llm import questionnaires as q

    if instrument == "pvq21":
        return pvq21_prompts(), None
    if instrument == "bfi10":
        return q.bfi10_prompts(), q.BFI10_SCALE
    if instrument == "ipip":
        return q.ipip_prompts(ipip_item_texts(path)), q.IPIP_SCALE
    raise ValueError(
        f"instrument must be one of {[i for i in INSTRUMENTS if i != 'items']} here "
        f"(the Value Portrait items run through run_personas), got {instrument!r}"
    )


@schema.orders_dimensions
def select_instrument_items(
    jobs: pd.DataFrame, items: Sequence[object] | str, instrument: str = "the instrument"
) -> pd.DataFrame:
    """The jobs of the named items only, in the instrument's order.

    ``items``: item ids (``"A1"``, ``"3"`` or ``3``) or one comma-separated string of them.
    An id the instrument does not have is a ``ValueError`` naming it and the ids there are.

    Examples
    --------
    >>> jobs, _ = instrument_jobs("bfi10")
    >>> select_instrument_items(jobs, "2, 7")["item"].tolist()
    [2, 7]
    >>> select_instrument_items(jobs, ["11"], "bfi10")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --items: bfi10 has no item '11'; its items: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    """
    if isinstance(items, str):
        items = [x for x in items.split(",")]
    wanted = [str(x).strip() for x in items if str(x).strip()]
    if not wanted:
        raise ValueError("--items: no item named")
    have = jobs["item"].astype(str)
    for w in wanted:
        if w not in set(have):
            raise ValueError(
                f"--items: {instrument} has no item {w!r}; its items: {', '.join(have)}"
            )
    return jobs[have.isin(wanted)].reset_index(drop=True)


def run_instrument(
    backend,
    personas_table: pd.DataFrame | None,
    instrument: str,
    mode: str = "logprobs",
    cache=None,
    include_plain: bool = True,
    *,
    progress: bool = False,
    path: str | os.PathLike | None = None,
    items: Sequence[object] | None = None,
) -> pd.DataFrame:
    """Put a questionnaire (PVQ-21, BFI-10, SAPA's IPIP items) to an LLM under personas.

    The path of :func:`run_pvq21` for any instrument of :func:`instrument_jobs`: the
    jobs crossed with the personas (the persona is the system message), answered by
    :func:`vp_stats.llm.runner.run` with the instrument's own answer scale (every
    backend and answer mode; ``logprobs`` records the exact ``p_1..p_k``), cached.
    ``items`` keeps only the named items of the instrument (``A1`` ... for IPIP, ``1`` ...
    for the BFI-10 and the PVQ-21; :func:`select_instrument_items`).

    Returns
    -------
    DataFrame
        The runner's answer table (``portrait_id`` = the item's number, ``rating`` on
        the instrument's scale) with ``item`` (``1..10`` for the BFI-10, ``A1`` ...
        for IPIP), ``instrument``, ``system_prompt`` and the persona attributes joined:
        the persona answer contract (:class:`vp_stats.tables.PersonaAnswers`), so
        ``personas compare --human sapa-bfi`` reads it.
    """
    from vp_stats.io.cache import open_cache
    from vp_stats.llm import runner

    base, scale = instrument_jobs(instrument, path=path)
    if items is not None:
        base = select_instrument_items(base, items, instrument)
    if personas_table is None:
        personas_table = pd.DataFrame(columns=["persona_id", "system_prompt"])
    if not len(personas_table) and not include_plain:
        raise ValueError("nothing to run: no personas and include_plain=False")
    tab = _check_persona_table(personas_table) if len(personas_table) else personas_table
    jobs = _persona_jobs(base, tab, include_plain)
    with open_cache(cache) as opened:
        ans = runner.run(jobs, backend, mode=mode, cache=opened, progress=progress, scale=scale)
    if len(ans) != len(jobs):
        raise RuntimeError(f"the runner returned {len(ans)} answers for {len(jobs)} jobs")
    ans.insert(2, "item", jobs["item"].to_numpy())
    ans.insert(3, "instrument", instrument)
    return _join_attributes(ans, tab)


def silicon_pattern(
    answers: pd.DataFrame,
    *,
    source: str = "sapa-bfi",
    path: str | os.PathLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, str | None]:
    """Pattern correspondence of a silicon sample's IPIP answers with the SAPA respondents.

    Each persona is one respondent of the silicon sample (its ``rating`` per item: the
    expected rating in logprobs mode, else the parsed answer); the SAPA bfi respondents
    are the humans; :func:`vp_stats.stats.silicon.pattern_correspondence` compares them
    per Big Five scale (keys :data:`vp_stats.io.psychtools.BFI_KEYS`): Tucker congruence
    of the one-factor loadings, inter-item correlation differences, alpha and omega side
    by side, and the female - male gap with CIs when the sample has at least two personas
    of each gender. A profile drawn several times (``n_drawn``) counts once: a
    deterministic model answers it the same way each time.

    Returns
    -------
    (DataFrame, str or None)
        The comparison table (empty when fewer than 3 personas answered) and a note.
    """
    from vp_stats.io import psychtools as pt
    from vp_stats.stats.silicon import pattern_correspondence

    if source != "sapa-bfi":
        return pd.DataFrame(), f"pattern correspondence is computed on sapa-bfi only, not {source}"
    a = answers[answers["persona_id"] != PLAIN_PERSONA_ID]
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    a = a[a["item"].astype(str).isin(pt.BFI_ITEMS)]
    wide = a.pivot_table(index="persona_id", columns="item", values="rating", aggfunc="mean")
    if len(wide) < 3:
        return pd.DataFrame(), (
            f"pattern correspondence needs at least 3 personas (a silicon sample), got {len(wide)}"
        )
    wide = wide.reindex(columns=list(pt.BFI_ITEMS))
    group = None
    if "gender" in a.columns:
        g = a.drop_duplicates("persona_id").set_index("persona_id")["gender"]
        wide["gender"] = g.reindex(wide.index)
        counts = wide["gender"].value_counts()
        if counts.get("female", 0) >= 2 and counts.get("male", 0) >= 2:
            group = "gender"
    human = pt.read_bfi(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = pattern_correspondence(
            human,
            wide.reset_index(drop=True),
            pt.BFI_KEYS,
            scale=pt.SCALE_RANGE,
            group=group,
            group_a="female" if group else None,
            group_b="male" if group else None,
            n_boot=n_boot,
            seed=seed,
        )
    note = None
    if group is None:
        note = "no gender gap: fewer than two personas of each gender"
    return res.table, note


#: Persona attributes and the SAPA column holding the same groups.
_SAPA_GROUPS = {"gender": "gender", "age": "age_band", "education": "education"}


def sapa_fidelity(
    answers: pd.DataFrame,
    *,
    source: str = "sapa-bfi",
    path: str | os.PathLike | None = None,
    attributes: Sequence[str] | None = None,
    n_boot: int = 1000,
    n_floor: int = 200,
    seed: int = 0,
    group_cols: Sequence[str] | None = None,
) -> PersonaComparison:
    """A persona run's IPIP answers against real SAPA people, at the distribution level.

    * ``fidelity`` / ``fidelity_summary``: every item's persona answer distribution
      (all personas pooled; exact ``p_1..p_6`` where recorded) against all SAPA
      respondents', with noise floors and baselines, and per persona
      (:func:`persona_fidelity`, item key ``item``);
    * ``steerability`` / ``steerability_personas``: for each persona attribute among
      gender, age (band) and education (``attributes``), each persona's distance to
      every SAPA group of that attribute, its own group against the others, with
      item-bootstrap CIs (:func:`vp_stats.stats.fidelity.steerability`), stacked with
      an ``attribute`` column. ``group_cols`` instead: any columns of the SAPA data,
      labelled by :func:`vp_stats.io.psychtools.label_group_column`, against the persona
      attribute of the same name (personas drawn by :func:`sampled_personas` with the
      same ``group_cols``); a persona attribute absent from the answers is an error.

    The answers must be on SAPA's items (``item`` ``A1`` ... ``O5``; a run with
    ``instrument="ipip"``); BFI-10 answers are other items on another scale and are
    compared as group gaps (:func:`vp_stats.studies.humans.compare_with_humans`).
    """
    from vp_stats.stats import fidelity
    from vp_stats.studies.humans import sapa_item_ratings

    tables.require(answers, ["persona_id", "item", "rating"], "persona answers")
    human = sapa_item_ratings(source, path)
    known = set(human["item"])
    a = answers.drop(columns=["portrait_id", "option_id"], errors="ignore")
    a = a.assign(item=a["item"].astype(str))
    if not a["item"].isin(known).any():
        raise ValueError(
            f"none of the answers' items ({sorted(set(a['item']))[:5]} ...) is an item of "
            f"{source}; put the IPIP items to the personas (personas run --instrument ipip)"
        )
    a = a[a["item"].isin(known)]
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    a_personas = a[a["persona_id"] != PLAIN_PERSONA_ID]
    if a_personas.empty:
        a_personas = a
    fid, fid_summary = persona_fidelity(
        a_personas, human, n_boot=n_boot, n_floor=n_floor, seed=seed
    )
    # the "source" level of an IPIP run: the trait an item is keyed for
    from vp_stats.io.psychtools import BFI_KEYS

    trait_of = {i.lstrip("-"): t for t, its in BFI_KEYS.items() for i in its}
    fid.insert(1, "source", fid["item"].map(trait_of))
    fid_summary = pd.concat(
        [
            fid_summary,
            fidelity.summarise_fidelity(fid, ["source"], n_boot=n_boot, seed=seed).assign(
                level="source"
            ),
        ],
        ignore_index=True,
    )
    if group_cols:
        from vp_stats.io import psychtools as pt

        missing = [c for c in group_cols if c not in a_personas.columns]
        if missing:
            raise ValueError(
                f"--group-col {missing[0]}: the personas have no attribute {missing[0]!r} "
                "(draw them with --sample-from and the same --group-col)"
            )
        labelled = pt.sapa_groups(source, group_cols, path)
        human = human[["participant", "item", "rating"]].merge(labelled, on="participant")
        columns = {c: c for c in group_cols}
    else:
        columns = dict(_SAPA_GROUPS)
    attrs = [
        c
        for c in (group_cols or (attributes if attributes is not None else _SAPA_GROUPS))
        if c in a_personas.columns and a_personas[c].notna().any()
    ]
    st, sp, notes = [], [], {}
    for attr in attrs:
        col = columns[attr]
        h = human[human[col].notna()]
        p = a_personas[a_personas[attr].notna()]
        s = fidelity.steerability(p, h, col, attr, n_boot=n_boot, seed=seed)
        st.append(s.table.assign(attribute=attr))
        if len(s.personas):
            sp.append(s.personas.assign(attribute=attr))
    if not attrs:
        notes["steerability"] = (
            "no persona attribute among gender, age, education: the personas are compared "
            "with all SAPA respondents only"
        )
    pattern, pnote = silicon_pattern(a_personas, source=source, path=path, seed=seed)
    if pnote:
        notes["structure"] = pnote
    return PersonaComparison(
        pd.DataFrame(),
        notes,
        structure=pattern,
        fidelity=fid,
        fidelity_summary=fid_summary,
        steerability=pd.concat(st, ignore_index=True) if st else None,
        steerability_personas=pd.concat(sp, ignore_index=True) if sp else None,
    )


# ------------------------------------------------------------------------ comparisons, files, study


def value_portrait_reference(data_dir: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The Value Portrait human reference: participant scores, ratings, item distributions.

    Returns a dict of tidy tables:

    * ``"scores"``: ``participant, family, dimension, score, rater`` for the
      569 participants of ``value.json`` (PVQ and higher-order MRAT-centred,
      BFI raw 1-5); ``rater`` is True for the 559 who rated items;
    * ``"ratings"``: the 24,320 item ratings (:func:`vp_stats.io.datasets.load_ratings`);
    * ``"item_distributions"``: per item counts of 1..6, ``n``, ``mean``, ``sd``
      and ``source`` (:func:`~vp_stats.stats.personas.item_distributions`).

    The release has no demographic columns (age, gender, country ... of the
    Prolific participants are not published), so it cannot serve as the
    reference for group gaps; use ESS microdata (:mod:`vp_stats.io.ess`).

    The files are read by the validated loaders of :mod:`vp_stats.io.datasets`;
    the tables are built by :func:`~vp_stats.stats.personas.human_reference`.

    Examples
    --------
    >>> ref = value_portrait_reference()
    >>> s = ref["scores"]
    >>> s.participant.nunique(), int(s.groupby("participant").rater.first().sum())
    (569, 559)
    >>> len(ref["item_distributions"]), int(ref["item_distributions"].n.sum())
    (520, 24320)
    """
    scores = load_participant_scores(data_dir)
    ratings = load_ratings(data_dir, participants=scores)
    return human_reference(scores, ratings)


@dataclass(frozen=True)
class PersonaComparison(tables.Result):
    """The comparisons of a persona run with human data (:func:`compare_personas`).

    Attributes
    ----------
    table : DataFrame
        The population level (``population``): variance ratio and value hierarchy per value.
    notes : mapping
        Why a level is empty: ``"structure"``, ``"group"`` (absent when computed).
    item, structure, group, profiles : DataFrame
        Item level, value structure, group level, persona value profiles.
    fidelity : DataFrame
        Distribution fidelity per item of the persona population (all personas pooled)
        against the raters, with noise floors and baselines
        (:func:`vp_stats.stats.fidelity.item_fidelity`).
    fidelity_summary : DataFrame
        Its means over all items (``source`` "all") and per item source, and per
        persona (``persona_id``), with CIs from a bootstrap over items
        (:func:`vp_stats.stats.fidelity.summarise_fidelity`).
    steerability, steerability_personas : DataFrame or None
        For value-steered personas (answers with a ``steer_group`` column,
        :func:`value_personas`): :func:`value_steering`'s persona x group distances and
        its per-persona own-group gaps; None otherwise.
    shifts : DataFrame or None
        Persona minus plain model (None when the plain model was not run).
    answers : DataFrame or None
        The run's answers (:func:`run_persona_study`; None from :func:`compare_personas`).
    """

    item: pd.DataFrame = field(default_factory=pd.DataFrame)
    structure: pd.DataFrame = field(default_factory=pd.DataFrame)
    group: pd.DataFrame = field(default_factory=pd.DataFrame)
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    fidelity: pd.DataFrame = field(default_factory=pd.DataFrame)
    fidelity_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    steerability: pd.DataFrame | None = None
    steerability_personas: pd.DataFrame | None = None
    shifts: pd.DataFrame | None = None
    answers: pd.DataFrame | None = None

    @property
    def population(self) -> pd.DataFrame:
        """The population-level table (the result's table)."""
        return self.table

    def named_tables(self) -> dict[str, pd.DataFrame]:
        """Table name -> DataFrame, the tables present (for
        :func:`vp_stats.io.personas.write_study_tables`)."""
        named = {
            "answers": self.answers,
            "item": self.item,
            "fidelity": self.fidelity,
            "fidelity_summary": self.fidelity_summary,
            "steerability": self.steerability,
            "steerability_personas": self.steerability_personas,
            "population": self.table,
            "structure": self.structure,
            "group": self.group,
            "profiles": self.profiles,
            "shifts": self.shifts,
        }
        return {k: v for k, v in named.items() if v is not None}


def compare_personas(
    answers: pd.DataFrame,
    corr: pd.DataFrame | None = None,
    *,
    human: Mapping[str, pd.DataFrame] | None = None,
    ess_scores: pd.DataFrame | None = None,
    group: str | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    family: str = "pvq",
    n_boot: int = 1000,
    seed: int = 0,
    weight: str | None = "weight",
) -> PersonaComparison:
    """The three comparisons of a persona run with human data, as a :class:`PersonaComparison`.

    * ``item``: per item, the persona population's answers (plain model
      left out) against the Value Portrait raters' distribution
      (:func:`~vp_stats.stats.personas.compare_item_distributions`);
    * ``population`` (the ``table``): per value, :func:`~vp_stats.stats.personas.variance_ratio`
      and :func:`~vp_stats.stats.personas.value_hierarchy` of the persona
      profiles against the Value Portrait participants' MRAT-centred scores
      (merged on family, dimension);
    * ``structure``: :func:`~vp_stats.stats.personas.value_structure` (one
      row; empty with ``notes["structure"]`` when fewer than 3 personas
      have complete profiles);
    * ``group``: :func:`~vp_stats.stats.persona_gaps.group_gap_comparison` of the column
      ``group`` against ``ess_scores`` (:func:`vp_stats.io.ess.load_ess`, survey weights in
      the column ``weight`` when present); the Value Portrait release has no demographic
      columns, so without ``ess_scores`` this table is empty and ``notes["group"]`` says
      why. ``group="age"`` maps ESS ages to the persona age bands
      (:func:`~vp_stats.instruments.personas.age_band`).

    Also ``profiles`` (:func:`~vp_stats.stats.personas.persona_value_profiles`)
    and ``shifts`` (:func:`~vp_stats.stats.personas.persona_shifts`, when
    the plain model was run).

    When ``corr`` or ``human`` is not given it is loaded: the published item
    correlations (:func:`vp_stats.io.datasets.load_published_correlations`) and
    :func:`value_portrait_reference`.
    """
    from vp_stats.io import datasets

    if corr is None:
        corr = datasets.load_published_correlations()
    if human is None:
        human = value_portrait_reference()
    prof = persona_value_profiles(answers, corr)
    personas_only = prof[prof["persona_id"] != PLAIN_PERSONA_ID]
    has_plain = (prof["persona_id"] == PLAIN_PERSONA_ID).any()
    pop_units = personas_only if personas_only["persona_id"].nunique() else prof
    ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else True
    a_items = answers[ok & (answers["persona_id"] != PLAIN_PERSONA_ID)]
    if a_items.empty:
        a_items = answers[ok]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        item = compare_item_distributions(a_items, human["ratings"])
    fid, fid_summary = persona_fidelity(a_items, human["ratings"], n_boot=n_boot, seed=seed)
    steer = None
    if "steer_group" in a_items.columns and a_items["steer_group"].notna().any():
        steer = value_steering(a_items, human, corr, n_boot=n_boot, seed=seed)
    hs = human["scores"]
    if "rater" in hs.columns:
        hs = hs[hs["rater"]]
    pop = variance_ratio(pop_units, hs, family, n_boot=n_boot, seed=seed).merge(
        value_hierarchy(pop_units, hs, family), on=["family", "dimension"]
    )
    tidy = complete_scores(pop_units, family)
    n_complete = tidy["participant"].nunique()
    n_dims = tidy["dimension"].nunique()
    notes = {}
    if family == "pvq" and n_complete >= 3 and n_dims < len(schema.PVQ_VALUES):
        structure = pd.DataFrame()
        notes["structure"] = (
            f"only {n_dims} of the {len(schema.PVQ_VALUES)} values scored for every persona "
            "(a run on a subset of items): the value structure needs all of them"
        )
    elif n_complete >= 3:
        structure = value_structure(pop_units, hs, family)
    else:
        structure = pd.DataFrame()
        notes["structure"] = (
            f"only {n_complete} persona(s) with a complete {family} profile: value structure "
            "needs at least 3"
        )
    if ess_scores is None or group is None:
        gaps = pd.DataFrame()
        notes["group"] = (
            "group level not computed: the released Value Portrait data have no demographic "
            "columns; supply ESS microdata (vp_stats.io.ess.load_ess) and group / group_a"
        )
    else:
        hum = ess_scores
        if group == "age" and pd.api.types.is_numeric_dtype(hum["age"]):
            hum = hum.assign(age=age_band(hum["age"].to_numpy()))
        if group_a is None:
            raise ValueError("group_a is required for the group-level comparison")
        base = prof[prof["persona_id"] == PLAIN_PERSONA_ID] if group_b is None else None
        if group_b is None and not has_plain:
            raise ValueError("group_b=None compares with the plain model, which was not run")
        gaps = group_gap_comparison(
            personas_only,
            hum,
            group,
            group_a,
            group_b,
            persona_baseline=base,
            family=family,
            weight=weight if weight in hum.columns else None,
            n_boot=n_boot,
            seed=seed,
            persona="persona_id",
            persona_items=persona_item_scores(answers, corr, family),
        )
    return PersonaComparison(
        pop,
        notes,
        item=item,
        structure=structure,
        group=gaps,
        profiles=prof,
        fidelity=fid,
        fidelity_summary=fid_summary,
        steerability=None if steer is None else steer.table,
        steerability_personas=None if steer is None else steer.personas,
        shifts=persona_shifts(prof, family) if has_plain else None,
    )


def persona_fidelity(
    answers: pd.DataFrame,
    human_ratings: pd.DataFrame,
    *,
    n_boot: int = 1000,
    n_floor: int = 200,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distribution fidelity of a persona run: the item table and its summaries.

    The item table is :func:`~vp_stats.stats.fidelity.item_fidelity` of all personas
    pooled (``n_floor`` split-halves and floor draws); the summary stacks
    :func:`~vp_stats.stats.fidelity.summarise_fidelity` over all items
    (``level = "all"``), per item source (``level = "source"``) and per persona
    (``level = "persona"``, each persona's items against the raters), with
    ``n_boot`` bootstrap resamples of the items for the CIs.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"portrait_id": 1001, "option_id": 1, "rating": [1, 2, 2, 3] * 5})
    >>> a = pd.DataFrame({"persona_id": ["a", "b"], "portrait_id": 1001, "option_id": 1,
    ...                   "rating": [2, 3]})
    >>> t, s = persona_fidelity(a, h, n_boot=0, n_floor=10)
    >>> s[["level", "source", "persona_id", "n_items"]].values.tolist()[::2]
    [['all', 'all', None, 1], ['persona', None, 'a', 1]]
    """
    from vp_stats.stats import fidelity

    t = fidelity.item_fidelity(answers, human_ratings, n_splits=n_floor, n_boot=n_floor, seed=seed)
    t = t.table
    parts = [
        fidelity.summarise_fidelity(t, n_boot=n_boot, seed=seed).assign(level="all", source="all")
    ]
    if "source" in t.columns:
        parts.append(
            fidelity.summarise_fidelity(t, ["source"], n_boot=n_boot, seed=seed).assign(
                level="source"
            )
        )
    if "persona_id" in answers.columns:
        tp = fidelity.item_fidelity(
            answers, human_ratings, by=["persona_id"], n_splits=1, n_boot=n_floor, seed=seed
        ).table
        # the human split-half does not depend on the persona: take the pooled table's
        halves = ["split_half_w1", "split_half_js_distance"]
        keys = ["portrait_id", "option_id"] if "portrait_id" in t.columns else ["item"]
        tp = tp.drop(columns=halves).merge(t[[*keys, *halves]], on=keys, how="left")
        parts.append(
            fidelity.summarise_fidelity(tp, ["persona_id"], n_boot=n_boot, seed=seed).assign(
                level="persona"
            )
        )
    s = pd.concat(parts, ignore_index=True)
    lead = ["level", "source", "persona_id"]
    for c in lead:
        if c not in s.columns:
            s[c] = None
    s[lead] = s[lead].astype(object).where(s[lead].notna(), None)
    return t, s[[*lead, *[c for c in s.columns if c not in lead]]]


def comparison_summary(res: PersonaComparison, answers: pd.DataFrame | None = None) -> list[str]:
    """A few lines telling a persona comparison's result (printed by ``vp-stats personas``).

    The pooled fidelity against its noise floor and baselines
    (:func:`persona_fidelity`), the items and values furthest from the raters, and
    the answers that failed (``parse_ok`` False, counted per row of ``answers``).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"level": ["all"], "source": ["all"], "persona_id": [None],
    ...                   "n_items": [2], "distribution_from": ["probabilities"],
    ...                   "w1": [0.8], "floor_w1": [0.2], "split_half_w1": [0.4],
    ...                   "average_w1": [0.5], "uniform_w1": [0.7], "normalised_w1": [-1.0],
    ...                   "normalised_w1_ci_low": [-1.5], "normalised_w1_ci_high": [-0.5],
    ...                   "js_distance": [0.4], "floor_js_distance": [0.1],
    ...                   "split_half_js_distance": [0.2], "average_js_distance": [0.2],
    ...                   "uniform_js_distance": [0.3], "representativeness": [0.84],
    ...                   "representativeness_ci_low": [0.8], "representativeness_ci_high": [0.88],
    ...                   "similarity": [0.6]})
    >>> res = PersonaComparison(pd.DataFrame(), {}, fidelity_summary=s)
    >>> print(comparison_summary(res)[0][:62])
    fidelity over 2 items (model side from answer probabilities):
    """
    lines = []
    fs = res.fidelity_summary
    if len(fs):
        a = fs[fs["level"] == "all"].iloc[0]
        lines.append(
            f"fidelity over {int(a['n_items'])} items (model side from answer "
            f"{a['distribution_from']}): W1 {a['w1']:.3f} "
            f"(representativeness {a['representativeness']:.3f}, CI "
            f"{a['representativeness_ci_low']:.3f}-{a['representativeness_ci_high']:.3f}), "
            f"JS distance {a['js_distance']:.3f}"
        )
        lines.append(
            f"  noise floor (a perfect model at this n): W1 {a['floor_w1']:.3f}, JS "
            f"{a['floor_js_distance']:.3f}; human split-half: W1 {a['split_half_w1']:.3f}, JS "
            f"{a['split_half_js_distance']:.3f}; human-average baseline: W1 "
            f"{a['average_w1']:.3f}, JS {a['average_js_distance']:.3f}; uniform: W1 "
            f"{a['uniform_w1']:.3f}, JS {a['uniform_js_distance']:.3f}"
        )
        nw = a["normalised_w1"]
        lo, hi = a["normalised_w1_ci_low"], a["normalised_w1_ci_high"]
        if np.isfinite(nw):
            ci = (
                f"CI {lo:.2f} to {hi:.2f}"
                if np.isfinite(lo) and np.isfinite(hi)
                else f"no CI: {a.get('normalised_w1_reason') or 'no resamples'}"
            )
            lines.append(
                f"  normalised W1 score {nw:.2f} ({ci}; 0 = human-average baseline, "
                "1 = noise floor)"
            )
        else:
            lines.append(
                "  normalised score undefined: the floor is not below the baseline (too few "
                "answers per item)"
            )
    if len(res.fidelity):
        top = res.fidelity.nlargest(3, "w1")

        def _name(r):
            if hasattr(r, "portrait_id"):
                return f"{int(r.portrait_id)}/{int(r.option_id)}"
            return str(r.item)

        gaps = ", ".join(
            f"{_name(r)} (W1 {r.w1:.2f}; mean {r.mean_model:.2f} vs {r.mean_human:.2f})"
            for r in top.itertuples()
        )
        lines.append(f"largest item gaps: {gaps}")
    pop = res.table
    if len(pop) and "mean_persona" in pop.columns:
        d = (pop["mean_persona"] - pop["mean_human"]).abs()
        top = pop.assign(_d=d).dropna(subset=["_d"]).nlargest(3, "_d")
        if len(top):
            lines.append(
                "largest value gaps (persona - human mean score): "
                + ", ".join(
                    f"{r.dimension} {r.mean_persona - r.mean_human:+.2f}" for r in top.itertuples()
                )
            )
    st = res.structure
    if len(st) and "congruence" in st.columns:
        sc = st[st["dimension"] != "all items"]
        al = st[st["dimension"] == "all items"]
        lines.append(
            f"pattern correspondence ({int(sc['n_silicon'].max())} personas vs "
            f"{int(sc['n_human'].max())} people): Tucker congruence "
            + ", ".join(f"{r.dimension} {r.congruence:.2f}" for r in sc.itertuples())
            + (
                f"; mean |r difference| over all item pairs "
                f"{al['mean_abs_r_difference'].iloc[0]:.3f}"
                if len(al)
                else ""
            )
        )
        lines.append(
            "  alpha silicon / human: "
            + ", ".join(
                f"{r.dimension} {r.alpha_silicon:.2f}/{r.alpha_human:.2f}" for r in sc.itertuples()
            )
        )
        if "gap_silicon" in sc.columns:
            lines.append(
                f"  gap {sc['group_a'].iloc[0]} - {sc['group_b'].iloc[0]} silicon / human: "
                + ", ".join(
                    f"{r.dimension} {r.gap_silicon:+.2f}/{r.gap_human:+.2f}"
                    for r in sc.itertuples()
                )
            )
    sp = res.steerability_personas
    if sp is not None and len(sp):
        parts = sp.groupby("attribute", sort=False) if "attribute" in sp.columns else [(None, sp)]
        for attr, one in parts:
            n_ci = int((one["gap_ci_low"] > 0).sum())
            lines.append(
                f"steerability{f' by {attr}' if attr else ''}: "
                f"{int(one['own_is_closest'].sum())} of {len(one)} personas closest to "
                f"their own group; own-group gap CI above 0 for {n_ci} (mean gap "
                f"{one['gap'].mean():+.3f})"
            )
    if answers is not None:
        ok = answers["parse_ok"].astype(bool) if "parse_ok" in answers.columns else None
        if ok is None:
            ok = answers["rating"].notna()
        lines.append(f"answers: {len(answers)}, failed or unparsed: {int((~ok).sum())}")
    return lines


#: Value-steered persona prompts: (level, wording) with ``{value}`` the value's name.
VALUE_PERSONA_LEVELS = (
    ("top", "**Your Profile**: {value} is very important to you."),
    ("bottom", "**Your Profile**: {value} is not important to you at all."),
)


def value_personas(values: Sequence[str]) -> pd.DataFrame:
    """Personas steered to a value: for each value, one for whom it is very important (own
    group: the raters in the top third on it) and one for whom it is not (the bottom third).

    Returns ``persona_id, system_prompt, value, level, steer_group`` (``steer_group``:
    ``"<value>: <level>"``, the group of :func:`value_rater_groups` the persona claims).

    Examples
    --------
    >>> t = value_personas(["Tradition"])
    >>> t[["persona_id", "steer_group"]].values.tolist()
    [['Tradition-top', 'Tradition: top'], ['Tradition-bottom', 'Tradition: bottom']]
    >>> t.system_prompt[0]
    '**Your Profile**: Tradition is very important to you.'
    """
    rows = []
    for v in values:
        if v not in schema.PVQ_VALUES:
            raise ValueError(f"unknown value {v!r}; one of {list(schema.PVQ_VALUES)}")
        name = v.replace("_", "-")
        for level, text in VALUE_PERSONA_LEVELS:
            rows.append(
                {
                    "persona_id": f"{name}-{level}",
                    "system_prompt": text.format(value=name),
                    "value": v,
                    "level": level,
                    "steer_group": f"{v}: {level}",
                }
            )
    return pd.DataFrame(rows)


@schema.orders_dimensions
def value_rater_groups(
    human: Mapping[str, pd.DataFrame],
    corr: pd.DataFrame,
    values: Sequence[str] | None = None,
    *,
    fraction: float = 1 / 3,
) -> pd.DataFrame:
    """The Value Portrait raters grouped by their own value scores, on each value's own items.

    For each value the raters in the top and bottom ``fraction`` of their PVQ score
    (:func:`vp_stats.stats.fidelity.value_groups`) form the groups ``"<value>: top"``
    and ``"<value>: bottom"``; their ratings are kept on the items validated for that
    value only (published selection, ``rho > 0.3``, upstream exclusions), the items on
    which the two groups are expected to differ.

    Returns
    -------
    DataFrame
        ``participant, portrait_id, option_id, rating, value, group``.
    """
    from vp_stats.stats import fidelity, validation

    hs = human["scores"]
    if "rater" in hs.columns:
        hs = hs[hs["rater"]]
    groups = fidelity.value_groups(hs, "pvq", fraction=fraction)
    sel = validation.select_items(
        corr[corr["family"] == "pvq"], 0.3, "pos", validation.upstream_exclusions()
    )
    sel = sel[sel["selected"]]
    ratings = human["ratings"].drop(columns=["group"], errors="ignore")
    parts = []
    for v in values or schema.PVQ_VALUES:
        g = groups[groups["dimension"] == v][["participant", "group"]]
        its = sel.loc[sel["dimension"] == v, ["portrait_id", "option_id"]]
        r = ratings.merge(its, on=["portrait_id", "option_id"]).merge(g, on="participant")
        parts.append(r.assign(value=v, group=v + ": " + r["group"]))
    return pd.concat(parts, ignore_index=True)


def value_steering(
    answers: pd.DataFrame,
    human: Mapping[str, pd.DataFrame],
    corr: pd.DataFrame,
    *,
    measure: str = "w1",
    n_boot: int = 1000,
    seed: int = 0,
):
    """Steerability of value-steered personas against the raters who hold the value.

    The personas of :func:`value_personas` (their ``steer_group`` column, e.g.
    ``"Tradition: top"``) are compared with every group of :func:`value_rater_groups`
    for the values they steer (each group on its value's validated items) by
    :func:`vp_stats.stats.fidelity.steerability`; the plain model and personas without
    a ``steer_group`` are left out. A persona's other group is the opposite third on
    the same value (``blocks``), rated on the same items.

    Returns
    -------
    vp_stats.stats.fidelity.Steerability
    """
    from vp_stats.stats.fidelity import steerability

    a = answers[answers["steer_group"].notna() & (answers["persona_id"] != PLAIN_PERSONA_ID)]
    values = sorted({str(g).split(": ")[0] for g in a["steer_group"]})
    groups = value_rater_groups(human, corr, values)
    blocks = dict(zip(groups["group"], groups["value"], strict=True))
    return steerability(
        a,
        groups,
        "group",
        "steer_group",
        measure=measure,
        blocks=blocks,
        n_boot=n_boot,
        seed=seed,
    )


def compare_file(
    answers_path: str | os.PathLike,
    *,
    ess_path: str | os.PathLike | None = None,
    group: str | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    family: str = "pvq",
    n_boot: int = 1000,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> PersonaComparison:
    """``vp-stats personas compare``: a persona answer CSV -> the comparison tables.

    Reads the answer file (:func:`~vp_stats.io.personas.read_answer_file`), the
    Value Portrait human reference (:func:`value_portrait_reference`), and, when ``ess_path`` is
    given, ESS microdata (:func:`vp_stats.io.ess.load_ess`) for the group level;
    returns :func:`compare_personas`'s :class:`PersonaComparison`.
    """
    from vp_stats.io import datasets

    answers = pio.read_answer_file(answers_path, items=datasets.load_items(data_dir))
    ess_scores = None
    if ess_path is not None:
        from vp_stats.io import ess

        ess_scores = ess.load_ess(ess_path)
        if group is None:
            raise ValueError("an ESS file was given without group (e.g. 'gender')")
        if group not in answers.columns:
            raise ValueError(
                f"{answers_path}: the answers have no persona attribute column {group!r} "
                f"(columns: {list(answers.columns)})"
            )
    return compare_personas(
        answers,
        datasets.load_published_correlations(data_dir=data_dir),
        human=value_portrait_reference(data_dir),
        ess_scores=ess_scores,
        group=group,
        group_a=group_a,
        group_b=group_b,
        family=family,
        n_boot=n_boot,
        seed=seed,
    )


def _wide_attributes(tab: pd.DataFrame) -> pd.DataFrame:
    """A paper_personas-style table (attribute, level) with one column per attribute."""
    if {"attribute", "level"} <= set(tab.columns):
        wide = tables.to_wide(
            tab, "persona_id", "attribute", "level", source="personas", as_float=False
        )
        wide = wide.reset_index()
        wide.columns.name = None
        return tab[["persona_id", "system_prompt", "attribute", "level"]].merge(
            wide, on="persona_id"
        )
    return tab


def run_persona_study(
    out_dir: str | os.PathLike = "data/processed/personas",
    *,
    grid: str = "paper",
    n_per_value: int | None = None,
    variants: Sequence[str] = ("v1",),
    mode: str = "logprobs",
    backend=None,
    cache=None,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = True,
    personas_table: pd.DataFrame | None = None,
    instrument: str = "items",
    psychtools: str | os.PathLike | None = None,
    steering: str = "attributes",
    items: object | None = None,
    include_plain: bool = True,
    group_cols: Sequence[str] | None = None,
) -> PersonaComparison:
    """Run a persona grid on an LLM and write the answers and comparison tables.

    The make target for the full grid calls
    ``run_persona_study("data/processed/personas", grid="paper")``: the paper's
    25 single-attribute personas plus the plain model on all 520 items, prompt
    variant ``v1``, logprobs mode, with the default local model
    (SmolLM2-135M-Instruct). Notebook 03 runs ``grid="notebook",
    n_per_value=2``. Answers are cached in ``out_dir/answers.sqlite``, so a
    killed run resumes. ``personas_table`` (e.g. :func:`personas_from_table` of a
    persona file, :func:`sampled_personas`) replaces the grid.

    ``instrument`` (:data:`INSTRUMENTS`): ``"items"`` (the Value Portrait items, the
    comparisons above) or a questionnaire run by :func:`run_instrument`: ``"ipip"``
    (SAPA's 25 items, compared at the distribution level with the SAPA respondents
    overall and by gender, age band and education, :func:`sapa_fidelity`;
    ``psychtools``: the psychTools folder), ``"bfi10"`` (trait scores,
    :func:`~vp_stats.llm.questionnaires.persona_bfi10_scores`, written as
    ``scores.csv``; compare them with ``personas compare --human``) or ``"pvq21"``
    (value scores, :func:`~vp_stats.llm.questionnaires.score_llm_pvq21`).
    ``steering`` (:data:`~vp_stats.instruments.personas.STEERING_FORMATS`) rewrites the
    personas' descriptions as OpinionQA's QA, BIO or PORTRAY context
    (:func:`steer_personas`).

    ``items`` narrows the questions: for ``"items"`` ``"all"``, a number N (a sample
    seeded by ``seed``) or a CSV file of ``portrait_id,option_id``
    (:func:`vp_stats.studies.items.select_items`, applied after ``n_per_value``); for a
    questionnaire the item ids (:func:`select_instrument_items`). ``include_plain=False``
    leaves out the plain model (no ``shifts``). ``group_cols`` (``"ipip"`` only): the SAPA
    columns the persona attributes are compared by (:func:`sapa_fidelity`).

    Writes ``answers.csv``, ``profiles.csv``, ``shifts.csv``,
    ``item_comparison.csv``, ``population.csv`` and ``structure.csv`` to
    ``out_dir`` (:func:`~vp_stats.io.personas.write_study_tables`); returns
    :func:`compare_personas`'s :class:`PersonaComparison` with the ``answers``.
    """
    from vp_stats.io import datasets
    from vp_stats.llm.local import LlamaCppBackend

    out = pio.study_dir(out_dir)
    if backend is None:
        backend = LlamaCppBackend()
    if cache is None:
        cache = out / pio.STUDY_CACHE
    corr = datasets.load_published_correlations()
    item_choice, items = items, datasets.load_items()
    if n_per_value is not None:
        items = select_persona_items(items, corr, n_per_value)
    if item_choice is not None and instrument == "items":
        from vp_stats.studies.items import select_items

        items = select_items(str(item_choice), items, seed)
    tab = _wide_attributes(study_personas(grid)) if personas_table is None else personas_table
    tab = steer_personas(tab.drop(columns=["attribute", "level"], errors="ignore"), steering)
    if instrument != "items":
        return _run_questionnaire_study(
            out,
            tab,
            instrument,
            backend,
            mode,
            cache,
            n_boot,
            seed,
            progress,
            psychtools,
            items=item_choice,
            include_plain=include_plain,
            group_cols=group_cols,
        )
    ans = run_personas(
        backend,
        tab.drop(columns=["attribute", "level"], errors="ignore"),
        items,
        variants=variants,
        mode=mode,
        cache=cache,
        include_plain=include_plain,
        progress=progress,
    )
    pio.write_study_tables(out, {"answers": ans})
    _require_parsed(ans, mode, out)
    res = compare_personas(ans, corr, n_boot=n_boot, seed=seed)
    pio.write_study_tables(out, res.named_tables())
    write_study_figures(out, res)
    return replace(res, answers=ans)


def _require_parsed(ans: pd.DataFrame, mode: str, out) -> None:
    """A run without a single parsed answer has nothing to compare: say so (RuntimeError)."""
    ok = ans["parse_ok"].astype(bool) if "parse_ok" in ans.columns else ans["rating"].notna()
    if len(ans) and not ok.any():
        raw = ans["raw_text"].dropna().astype(str) if "raw_text" in ans.columns else pd.Series()
        seen = f" (e.g. {raw.iloc[0][:60]!r})" if len(raw) else ""
        raise RuntimeError(
            f"none of the {len(ans)} answers parsed in {mode} mode{seen}: nothing to compare; "
            f"{out / 'answers.csv'} holds them (logprobs and grammar modes always give one)"
        )


def _run_questionnaire_study(
    out,
    tab,
    instrument,
    backend,
    mode,
    cache,
    n_boot,
    seed,
    progress,
    psychtools,
    *,
    items=None,
    include_plain=True,
    group_cols=None,
) -> PersonaComparison:
    from vp_stats.llm import questionnaires as q

    if instrument not in INSTRUMENTS:
        raise ValueError(f"--instrument must be one of {list(INSTRUMENTS)}, got {instrument!r}")
    if instrument == "ipip" and group_cols:  # before any prompt: SAPA's IPIP answers are bfi's
        from vp_stats.io import psychtools as pt

        try:
            pt.sapa_groups("sapa-bfi", group_cols, psychtools)
        except ValueError as exc:
            raise ValueError(f"{exc} (the IPIP answers are compared with sapa-bfi)") from None
    ans = run_instrument(
        backend,
        tab.drop(columns=["attribute", "level"], errors="ignore"),
        instrument,
        mode=mode,
        cache=cache,
        include_plain=include_plain,
        progress=progress,
        path=psychtools,
        items=items,
    )
    pio.write_study_tables(out, {"answers": ans})
    _require_parsed(ans, mode, out)
    if instrument == "ipip":
        res = sapa_fidelity(ans, path=psychtools, group_cols=group_cols, n_boot=n_boot, seed=seed)
    else:
        ok = ans[ans["parse_ok"].astype(bool)]
        if instrument == "bfi10":
            scores = q.persona_bfi10_scores(ok.drop(columns=["portrait_id"]))
        else:
            scores = q.score_llm_pvq21(ok, "expected" if mode == "logprobs" else "mode")
        res = PersonaComparison(
            scores,
            {
                "population": f"{instrument} scores per persona; no distribution-level human "
                "reference for these items (compare BFI-10 scores with SAPA's group gaps: "
                "personas compare ANSWERS --human sapa-bfi)"
            },
        )
    if instrument == "ipip":  # no Value Portrait item level, profiles or population here
        named = {
            k: v for k, v in res.named_tables().items() if k != "population" and len(v.columns)
        }
    else:
        named = {"scores": res.table}
    pio.write_study_tables(out, named)
    write_study_figures(out, res)
    return replace(res, answers=ans)


def write_study_figures(
    out_dir: str | os.PathLike, res: PersonaComparison, *, prefix: str = ""
) -> list:
    """Write a comparison's figures beside its tables; returns the files written.

    ``<prefix>item_level.png`` (:func:`vp_stats.plots.personas.item_level_plot`) when
    the item level has rows, ``<prefix>steerability.png``
    (:func:`vp_stats.plots.personas.steerability_heatmap`) for value-steered personas.
    """
    import matplotlib.pyplot as plt

    from vp_stats.io.figures import save_figure
    from vp_stats.plots import personas as pplot

    out = pio.study_dir(out_dir)
    written = []
    if len(res.item):
        fig = pplot.item_level_plot(res.item)
        written += save_figure(fig, out / f"{prefix}item_level.png")
        plt.close(fig)
    st = res.steerability
    if st is not None and len(st):
        parts = st.groupby("attribute", sort=False) if "attribute" in st.columns else [(None, st)]
        for attr, one in parts:
            ax = pplot.steerability_heatmap(one, title=None if attr is None else f"by {attr}")
            name = "steerability" if attr is None else f"steerability_{attr}"
            written += save_figure(ax, out / f"{prefix}{name}.png")
            plt.close(ax.figure)
    return written
