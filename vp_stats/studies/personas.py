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
from vp_stats.instruments.personas import PLAIN_PERSONA_ID, age_band, paper_personas
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
    "select_persona_items",
    "run_personas",
    "PVQ21_PARAPHRASES",
    "PVQ21_TEMPLATE",
    "pvq21_prompts",
    "run_pvq21",
    "value_portrait_reference",
    "PersonaComparison",
    "compare_personas",
    "compare_file",
    "run_persona_study",
]

# --------------------------------------------------------------------------- study grids and items

#: Persona grids of :func:`run_persona_study`.
STUDY_GRIDS = ("notebook", "paper")


def study_personas(grid: str = "notebook") -> pd.DataFrame:
    """Persona table of a study grid.

    ``"notebook"``: four of the paper's single-attribute personas, gender
    (male, female) and the youngest and oldest age bands (18-29, 60 and
    older), small enough for a laptop CPU; ``"paper"``: all 25
    single-attribute personas (:func:`~vp_stats.instruments.personas.paper_personas`).

    Examples
    --------
    >>> study_personas().system_prompt.tolist()[:2]
    ['**Your Profile**: Your gender is male.', '**Your Profile**: Your gender is female.']
    """
    if grid == "paper":
        return paper_personas()
    if grid == "notebook":
        t = paper_personas()
        keep = t["level"].isin(["male", "female", "18-29", "60 and older"])
        return t[keep & t["attribute"].isin(["gender", "age"])].reset_index(drop=True)
    raise ValueError(f"grid must be one of {STUDY_GRIDS}, got {grid!r}")


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
_PERSONA_META = ("persona_id", "system_prompt", "n_attributes", "draw", "attribute", "level")


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
    shifts : DataFrame or None
        Persona minus plain model (None when the plain model was not run).
    answers : DataFrame or None
        The run's answers (:func:`run_persona_study`; None from :func:`compare_personas`).
    """

    item: pd.DataFrame = field(default_factory=pd.DataFrame)
    structure: pd.DataFrame = field(default_factory=pd.DataFrame)
    group: pd.DataFrame = field(default_factory=pd.DataFrame)
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
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
    hs = human["scores"]
    if "rater" in hs.columns:
        hs = hs[hs["rater"]]
    pop = variance_ratio(pop_units, hs, family, n_boot=n_boot, seed=seed).merge(
        value_hierarchy(pop_units, hs, family), on=["family", "dimension"]
    )
    n_complete = complete_scores(pop_units, family)["participant"].nunique()
    notes = {}
    if n_complete >= 3:
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
        shifts=persona_shifts(prof, family) if has_plain else None,
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
) -> PersonaComparison:
    """Run a persona grid on an LLM and write the answers and comparison tables.

    The make target for the full grid calls
    ``run_persona_study("data/processed/personas", grid="paper")``: the paper's
    25 single-attribute personas plus the plain model on all 520 items, prompt
    variant ``v1``, logprobs mode, with the default local model
    (SmolLM2-135M-Instruct). Notebook 03 runs ``grid="notebook",
    n_per_value=2``. Answers are cached in ``out_dir/answers.sqlite``, so a
    killed run resumes.

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
    items = datasets.load_items()
    if n_per_value is not None:
        items = select_persona_items(items, corr, n_per_value)
    tab = _wide_attributes(study_personas(grid))
    ans = run_personas(
        backend,
        tab.drop(columns=["attribute", "level"], errors="ignore"),
        items,
        variants=variants,
        mode=mode,
        cache=cache,
        progress=progress,
    )
    pio.write_study_tables(out, {"answers": ans})
    res = compare_personas(ans, corr, n_boot=n_boot, seed=seed)
    pio.write_study_tables(out, res.named_tables())
    return replace(res, answers=ans)
