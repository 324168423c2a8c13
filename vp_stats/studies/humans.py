"""Real human groups against persona runs: the studies that read psychTools and write folders.

The statistics are :mod:`vp_stats.stats.humans`; the SAPA samples are read by
:mod:`vp_stats.io.psychtools`, a persona run's BFI-10 answers scored by
:mod:`vp_stats.llm.questionnaires`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from vp_stats import tables
from vp_stats.io import psychtools as pt
from vp_stats.io import tables as tio
from vp_stats.io.datasets import load_participant_scores
from vp_stats.io.psychtools import sapa_scores
from vp_stats.llm.questionnaires import persona_bfi10_scores
from vp_stats.stats.humans import (
    HUMAN_GROUPS,
    HUMAN_SOURCES,
    GroupGaps,
    human_group_gaps,
    persona_vs_human,
)
from vp_stats.stats.resampling import check_boot_options
from vp_stats.studies.validate import provenance

__all__ = [
    "human_gaps_study",
    "sapa_item_ratings",
    "human_distribution_study",
    "compare_with_humans",
    "HumanComparison",
]


@dataclass(frozen=True)
class HumanComparison(tables.Result):
    """:func:`compare_with_humans`' result: persona against human gaps, and what went into them.

    Attributes
    ----------
    table : DataFrame
        :func:`~vp_stats.stats.humans.persona_vs_human`'s table.
    note : str
        How the persona and the human d were standardised.
    human_gaps : GroupGaps
        :func:`~vp_stats.stats.humans.human_group_gaps` of the same pairs.
    persona_scores : DataFrame
        The persona runs' BFI-10 scores (:func:`persona_bfi10_scores`).
    """

    note: str = ""
    human_gaps: GroupGaps | None = None
    persona_scores: pd.DataFrame = field(default_factory=pd.DataFrame)


def _psychtools_version(path) -> str | None:
    return pt.psychtools_version(path)


def _psychtools_inputs(path) -> dict:
    data = pt.find_psychtools(path) / "data"
    files = (
        [data / n for n in ("Rdata.rdb", "Rdata.rdx")]
        if (data / "Rdata.rdx").is_file()
        else sorted(data.glob("*.rda"))
    )
    return {f"psychTools/data/{f.name}": f for f in files}


def sapa_item_ratings(
    source: str = "sapa-bfi", path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """A SAPA sample's item answers in long form with the respondents' demographics.

    Returns
    -------
    DataFrame
        ``participant, gender, age_band, education, item`` (``A1`` ... ``O5`` for bfi,
        ``q_...`` for spi), ``rating`` (1-6; missing answers left out), read through
        :func:`vp_stats.io.psychtools.read_bfi` / :func:`~vp_stats.io.psychtools.read_spi`.
    """
    if source not in HUMAN_SOURCES:
        raise ValueError(f"unknown human source {source!r}; one of {list(HUMAN_SOURCES)}")
    raw = pt.read_bfi(path) if source == "sapa-bfi" else pt.read_spi(path)
    items = (
        list(pt.BFI_ITEMS)
        if source == "sapa-bfi"
        else [c for c in raw.columns if str(c).startswith("q_")]
    )
    demo = ["participant", "gender", "age_band", "education"]
    long = raw.melt(id_vars=demo, value_vars=items, var_name="item", value_name="rating")
    return long[long["rating"].notna()].reset_index(drop=True)


_DEMOGRAPHICS = ("gender", "age", "age_band", "education", "education_detail")


def _by_columns(
    table: pd.DataFrame, source: str, group_cols, path, n_bands: int = 4
) -> pd.DataFrame:
    """``table`` (one row per participant and item or score) labelled by ``group_cols``
    (:func:`vp_stats.io.psychtools.sapa_groups`) instead of its persona-level demographics."""
    groups = pt.sapa_groups(source, group_cols, path, n_bands=n_bands)
    keep = [c for c in table.columns if c not in _DEMOGRAPHICS]
    return table[keep].merge(groups, on="participant", how="left", validate="many_to_one")


def human_distribution_study(
    source: str = "sapa-bfi",
    group: str = "gender",
    out: str | os.PathLike | None = None,
    *,
    path: str | os.PathLike | None = None,
    n_perm: int = 200,
    seed: int = 0,
    group_cols: Sequence[str] | None = None,
    n_bands: int = 4,
) -> pd.DataFrame:
    """Real groups at the distribution level: how far apart they answer, item by item.

    :func:`vp_stats.stats.fidelity.group_distances` of a SAPA sample's item answers
    (:func:`sapa_item_ratings`) between every pair of levels of ``group`` (gender, age
    band, education), with the floor of groups formed by shuffling the labels
    (``n_perm`` shuffles, seeded). Writes ``out/group_distances.csv`` when ``out`` is
    given. ``group_cols`` (instead of ``group``): any columns of the data, labelled by
    :func:`vp_stats.io.psychtools.label_group_column` (``n_bands``), one block of rows each.
    """
    from vp_stats.stats.fidelity import group_distances

    if not group_cols and group not in HUMAN_GROUPS:
        raise ValueError(f"--group must be one of {list(HUMAN_GROUPS)}, got {group!r}")
    ratings = sapa_item_ratings(source, path)
    if group_cols:
        ratings = _by_columns(ratings, source, group_cols, path, n_bands)
        named = {c: c for c in group_cols}
    else:
        named = {group: HUMAN_GROUPS[group]}
    out_dir = tio.prepare_out_dir(out) if out is not None else None
    parts = []
    for name, col in named.items():
        one = group_distances(ratings, col, n_perm=n_perm, seed=seed)
        one.insert(0, "group", name)
        parts.append(one)
    d = pd.concat(parts, ignore_index=True)
    d.insert(0, "source", source)
    if out_dir is not None:
        tio.write_csv(d, out_dir / "group_distances.csv")
    return d


def human_gaps_study(
    source: str = "sapa-bfi",
    group: str = "gender",
    out: str | os.PathLike | None = None,
    *,
    path: str | os.PathLike | None = None,
    group_a: object | None = None,
    group_b: object | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    group_cols: Sequence[str] | None = None,
    n_bands: int = 4,
) -> GroupGaps:
    """``vp-stats personas humans``: human group gaps of a SAPA sample, written to ``out``.

    Writes ``out/human_group_gaps.csv`` (the table of
    :func:`~vp_stats.stats.humans.human_group_gaps`) and ``out/provenance.json`` (parameters,
    the psychTools files with sha256, the effect size). Returns the
    :class:`~vp_stats.stats.humans.GroupGaps`.
    ``group``: ``gender``, ``age`` (the paper's 4 age bands) or ``education``
    (the paper's 4 levels; see :data:`vp_stats.io.psychtools.EDUCATION_TO_PERSONA`).
    ``group_cols`` (instead of ``group``): any columns of the data, labelled by
    :func:`vp_stats.io.psychtools.label_group_column` (``n_bands`` quantile bands of a
    many-valued one); the table then starts with a
    ``group`` column naming the column of each row.
    """
    if not group_cols and group not in HUMAN_GROUPS:
        raise ValueError(f"--group must be one of {list(HUMAN_GROUPS)}, got {group!r}")
    check_boot_options(n_boot, ci, allow_zero=True)
    scores = sapa_scores(source, path)
    if group_cols:
        scores = _by_columns(scores, source, group_cols, path, n_bands)
        each = [
            human_group_gaps(scores, c, group_a, group_b, n_boot=n_boot, ci=ci, seed=seed)
            for c in group_cols
        ]
        table = pd.concat(
            [g.table.assign(group=c) for g, c in zip(each, group_cols, strict=True)],
            ignore_index=True,
        )
        table = table[["group", *[c for c in table.columns if c != "group"]]]
        gaps = GroupGaps(table, dict(each[0].notes), each[0].effect_size)
    else:
        gaps = human_group_gaps(
            scores, HUMAN_GROUPS[group], group_a, group_b, n_boot=n_boot, ci=ci, seed=seed
        )
    out_dir = tio.prepare_out_dir(out) if out is not None else None
    if out_dir is not None:
        prov = provenance(
            "personas humans",
            {
                "source": source,
                "group": None if group_cols else group,
                "group_column": list(group_cols) if group_cols else HUMAN_GROUPS[group],
                "n_bands": n_bands if group_cols else None,
                "group_a": group_a,
                "group_b": group_b,
                "n_boot": n_boot,
                "ci": ci,
                "seed": seed,
            },
            _psychtools_inputs(path),
            human_source=HUMAN_SOURCES[source],
            effect_size=gaps.effect_size,
            psychtools_version=_psychtools_version(path),
        )
        tio.write_csv(gaps.table, out_dir / "human_group_gaps.csv")
        tio.write_json(prov, out_dir / "provenance.json")
    return gaps


def compare_with_humans(
    answers: pd.DataFrame,
    source: str = "sapa-bfi",
    group: str = "gender",
    group_a: object | None = None,
    group_b: object | None = None,
    *,
    path: str | os.PathLike | None = None,
    sd_reference: pd.DataFrame | str | None = "value-portrait",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> HumanComparison:
    """A persona run's BFI-10 answers against a SAPA sample: persona and human gaps as d.

    ``sd_reference="value-portrait"`` standardises the persona gaps by the SD
    of the Value Portrait participants' released BFI-10 scores
    (:func:`vp_stats.io.datasets.load_participant_scores`, 569 people); ``None``
    by the spread between persona runs; or pass a tidy score table.

    Returns
    -------
    HumanComparison
        ``table``: :func:`persona_vs_human`'s table, with its ``note``; ``human_gaps``
        (:func:`human_group_gaps` of the same pairs); ``persona_scores``
        (:func:`persona_bfi10_scores`).
    """
    if "portrait_id" in answers.columns and "item" not in answers.columns:
        pid = pd.to_numeric(answers["portrait_id"], errors="coerce")
        if (pid >= 1000).any():
            raise ValueError(
                "the answers are a persona run on Value Portrait items (portrait_id "
                f"{int(pid[pid >= 1000].iloc[0])}); the comparison with a SAPA sample needs the "
                "run's BFI-10 answers (items 1..10: vp_stats.llm.questionnaires.run_bfi10). "
                "Compare Value Portrait answers with the raters by leaving out --human"
            )
    pscores = persona_bfi10_scores(answers)
    if isinstance(sd_reference, str):
        if sd_reference != "value-portrait":
            raise ValueError(
                f"sd_reference must be 'value-portrait', None or a table, got {sd_reference!r}"
            )
        s = load_participant_scores(data_dir)
        sd_reference = s[s["family"] == "bfi"]
    human = sapa_scores(source, path)
    res = persona_vs_human(
        pscores,
        human,
        group,
        group_a,
        group_b,
        sd_reference=sd_reference,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
    )
    pairs = res.table[["group_a", "group_b"]].drop_duplicates()
    each = [
        human_group_gaps(human, group, a, b, n_boot=n_boot, ci=ci, seed=seed)
        for a, b in pairs.itertuples(index=False, name=None)
    ]
    hg = GroupGaps(
        pd.concat([g.table for g in each], ignore_index=True),
        dict(each[0].notes),
        each[0].effect_size,
    )
    return HumanComparison(
        res.table,
        {"note": res.note, "effect_size": hg.effect_size},
        res.note,
        hg,
        pscores,
    )
