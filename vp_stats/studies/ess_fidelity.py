"""Personas answering the PVQ-21 against ESS respondents, at the distribution level.

The European Social Survey fields the PVQ-21 (its Human Values Scale) with the
demographics of the Value Portrait paper's personas, so a persona that claims a group
("Your gender is female.") can be put against that group's real answer
distributions, item by item, with the ESS survey weights:

* **fidelity** (:func:`vp_stats.stats.fidelity.item_fidelity`): the persona population
  (all personas pooled; exact ``p_1..p_6`` where the run recorded them, logprobs mode)
  against all ESS respondents, per item, with the weighted noise floors and baselines;
  summarised over all items and per value (:func:`~vp_stats.stats.fidelity.summarise_fidelity`);
* **group fidelity**: each persona against *its own* ESS group (the female persona
  against the women of the file), per item with its own floors, and summarised per
  persona;
* **steerability** (:func:`vp_stats.stats.fidelity.steerability`): each persona's
  distance to every ESS group of its attribute, its own group against the others, with
  item-bootstrap CIs.

The seven persona attributes of the paper
(:data:`vp_stats.instruments.personas.PAPER_PERSONA_LEVELS`) map to the ESS columns of
:data:`vp_stats.io.ess.PERSONA_GROUPS`; race has no ESS group (the ESS asks no race
question) and the Buddhist and Hindu personas share the ESS group "Eastern religions"
with no persona of their own (:data:`vp_stats.io.ess.ESS_UNAVAILABLE`),
so they appear in the persona x group table but have no own-group gap.

Weights: the ``weight`` column of :func:`vp_stats.io.ess.load_ess_answers`, by default
the ESS ``anweight`` (= ``pspwght x pweight``): the ESS's recommended analysis weight
from round 9 on and the weight for analyses across countries (a persona group pools the
countries of the file, so the population size weight ``pweight`` belongs in it; within a
country it is constant and the distributions equal those under ``pspwght``). The
distributions are weighted histograms, the human n is reported with Kish's effective n,
and the floors are weighted (:mod:`vp_stats.stats.fidelity`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.instruments.personas import PLAIN_PERSONA_ID
from vp_stats.studies.personas import PersonaComparison

__all__ = [
    "ess_fidelity",
    "ess_fidelity_file",
    "ess_tables",
    "ess_summary",
    "write_ess_figures",
    "is_pvq21_answers",
]

_ITEMS = [str(i) for i in range(1, schema.PVQ21_N_ITEMS + 1)]
_VALUE_OF = {str(i): v for v, its in schema.PVQ21_KEY.items() for i in its}


def is_pvq21_answers(answers: pd.DataFrame) -> bool:
    """Whether a persona answer table holds PVQ-21 answers (``personas run --instrument pvq21``).

    Examples
    --------
    >>> import pandas as pd
    >>> is_pvq21_answers(pd.DataFrame({"item": [1, 2], "instrument": "pvq21"}))
    True
    >>> is_pvq21_answers(pd.DataFrame({"portrait_id": [1001], "option_id": [1]}))
    False
    """
    for col in ("instrument", "variant"):
        if col in answers.columns and (answers[col].astype(str) == "pvq21").any():
            return True
    return False


def _pvq21_items(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers with ``item`` "1".."21" (the PVQ-21 number), Value Portrait keys dropped."""
    a = answers
    if "item" not in a.columns:
        tables.require(a, ["portrait_id"], "persona answers")
        a = a.assign(item=a["portrait_id"])
    item = pd.to_numeric(a["item"], errors="coerce")
    a = a.drop(columns=["portrait_id", "option_id"], errors="ignore")
    a = a.assign(item=item.astype("Int64").astype(str))
    bad = ~a["item"].isin(_ITEMS)
    if bad.any():
        first = answers.loc[bad.to_numpy(), "item" if "item" in answers.columns else "portrait_id"]
        raise ValueError(
            f"persona answers: row {int(np.flatnonzero(bad.to_numpy())[0])}: field 'item': "
            f"{first.iloc[0]!r} is not a PVQ-21 item (1-21); compare PVQ-21 answers "
            "(personas run --instrument pvq21) with ESS data"
        )
    return a


def ess_fidelity(
    answers: pd.DataFrame,
    ess_answers: pd.DataFrame,
    *,
    attributes: Sequence[str] | None = None,
    weight: str | None = "weight",
    n_boot: int = 1000,
    n_floor: int = 200,
    seed: int = 0,
) -> PersonaComparison:
    """A persona run's PVQ-21 answers against ESS respondents, weighted, at the distribution level.

    Parameters
    ----------
    answers : DataFrame
        The run's answers (``personas run --instrument pvq21``: ``persona_id``, ``item``
        1..21, ``rating`` on 1-6 with 6 = very much like me, ``p_1..p_6`` in logprobs
        mode, the persona attribute columns). The plain model is left out when personas
        are present; failed answers (``parse_ok`` False) too.
    ess_answers : DataFrame
        :func:`vp_stats.io.ess.load_ess_answers` (its ``rating`` already on the LLM's
        direction) or any table with ``participant, item, rating``, the ESS group
        columns and ``weight``.
    attributes : sequence of str, optional
        Persona attributes to group by (keys of :data:`vp_stats.io.ess.PERSONA_GROUPS`);
        default: every one the answers carry.
    weight : str or None
        The survey-weight column of ``ess_answers`` (default ``"weight"``: the ESS
        ``anweight`` as chosen by :func:`~vp_stats.io.ess.load_ess_answers`, see the
        module notes); None: unweighted.
    n_boot : int
        Bootstrap resamples of the items for the CIs of the summaries and steerability.
    n_floor : int
        Split halves and floor draws per item.
    seed : int
        Seed of every resampling (two runs give identical tables).

    Returns
    -------
    PersonaComparison
        ``fidelity`` (per item, all personas pooled against all ESS respondents,
        ``value`` the item's PVQ value), ``fidelity_summary`` (``level``: ``"all"``,
        ``"value"`` and ``"persona"``: each persona against its own ESS group),
        ``group`` (per persona and item against its own group: ``attribute, group,
        persona_id, item, ...``), ``steerability`` / ``steerability_personas`` (stacked
        over the attributes, column ``attribute``), ``table``: the ESS groups
        (``attribute, group, n_participants, n_effective`` (Kish), ``n_personas``), and
        ``notes`` (attributes without ESS groups, personas without an own group, the
        weight).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"participant": [f"h{i}" for i in range(8)] * 2,
    ...                   "item": ["1"] * 8 + ["2"] * 8, "gender": ["male", "female"] * 8,
    ...                   "rating": [6, 1, 5, 2] * 4, "weight": [1.0, 2.0] * 8})
    >>> a = pd.DataFrame({"persona_id": ["m", "m", "f", "f"], "item": [1, 2, 1, 2],
    ...                   "gender": ["male", "male", "female", "female"],
    ...                   "rating": [6.0, 5.0, 1.0, 2.0], "instrument": "pvq21"})
    >>> r = ess_fidelity(a, h, n_boot=0, n_floor=5)
    >>> r.steerability_personas[["persona_id", "own_is_closest"]].values.tolist()
    [['f', True], ['m', True]]
    """
    from vp_stats.io.ess import ESS_UNAVAILABLE, PERSONA_GROUPS
    from vp_stats.stats import fidelity

    tables.require(answers, ["persona_id", "rating"], "persona answers")
    tables.require(ess_answers, ["participant", "item", "rating"], "ESS answers")
    if weight is not None:
        tables.require(ess_answers, [weight], "ESS answers", numeric=[weight])
    a = _pvq21_items(answers)
    if "parse_ok" in a.columns:
        a = a[a["parse_ok"].astype(bool)]
    personas = a[a["persona_id"] != PLAIN_PERSONA_ID]
    if personas.empty:
        personas = a
    human = ess_answers.assign(item=ess_answers["item"].astype(str))
    notes: dict[str, str] = {}
    if weight is not None:
        wv = (
            " / ".join(map(str, pd.unique(human["weight_variable"])))
            if "weight_variable" in human.columns
            else weight
        )
        notes["weight"] = f"ESS answers weighted by {wv} (column {weight!r})"
    else:
        notes["weight"] = "unweighted"

    fid = fidelity.item_fidelity(
        personas, human, weight=weight, n_splits=n_floor, n_boot=n_floor, seed=seed
    ).table
    fid.insert(1, "value", fid["item"].map(_VALUE_OF))
    parts = [
        fidelity.summarise_fidelity(fid, n_boot=n_boot, seed=seed).assign(level="all"),
        fidelity.summarise_fidelity(fid, ["value"], n_boot=n_boot, seed=seed).assign(level="value"),
    ]

    if attributes is None:
        attributes = [c for c in PERSONA_GROUPS if c in personas.columns]
    unknown = [c for c in attributes if c not in PERSONA_GROUPS]
    if unknown:
        raise ValueError(
            f"persona attribute {unknown[0]!r} has no ESS group column (known: "
            f"{', '.join(PERSONA_GROUPS)}; race: {ESS_UNAVAILABLE['race']})"
        )
    if "race" in personas.columns and personas["race"].notna().any():
        notes["race"] = f"race personas have no ESS group: {ESS_UNAVAILABLE['race']}"
    groups_rows, gfid, st, sp, lonely = [], [], [], [], []
    for attr in attributes:
        col = PERSONA_GROUPS[attr]
        tables.require(personas, [attr], "persona answers")
        tables.require(human, [col], "ESS answers")
        p = personas[personas[attr].notna()]
        h = human[human[col].notna()]
        if p.empty or h.empty:
            continue
        for g, hg in h.groupby(col, sort=True):
            first = hg.drop_duplicates("participant")
            w = first[weight].to_numpy(dtype=float) if weight else np.ones(len(first))
            groups_rows.append(
                {
                    "attribute": attr,
                    "group": g,
                    "n_participants": len(first),
                    "n_effective": fidelity.kish_effective_n(w),
                    "n_personas": int(p.loc[p[attr] == g, "persona_id"].nunique()),
                }
            )
            pg = p[p[attr] == g]
            if pg.empty:
                continue
            t = fidelity.item_fidelity(
                pg, hg, by=["persona_id"], weight=weight, n_splits=n_floor, n_boot=n_floor,
                seed=seed,
            ).table  # fmt: skip
            gfid.append(t.assign(attribute=attr, group=g))
        missing = sorted(set(p[attr].astype(str)) - set(h[col].astype(str)))
        lonely += [f"{attr} {m!r}" for m in missing]
        s = fidelity.steerability(p, h, col, attr, weight=weight, n_boot=n_boot, seed=seed)
        st.append(s.table.assign(attribute=attr))
        if len(s.personas):
            sp.append(s.personas.assign(attribute=attr))
    if lonely:
        notes["own_group"] = (
            f"personas without an own ESS group (in the persona x group table only): "
            f"{', '.join(lonely)}"
        )
    group_fid = pd.DataFrame()
    if gfid:
        group_fid = pd.concat(gfid, ignore_index=True)
        lead = ["attribute", "group", "persona_id"]
        group_fid = group_fid[[*lead, *[c for c in group_fid.columns if c not in lead]]]
        group_fid.insert(4, "value", group_fid["item"].map(_VALUE_OF))
        parts.append(
            fidelity.summarise_fidelity(
                group_fid, ["attribute", "group", "persona_id"], n_boot=n_boot, seed=seed
            ).assign(level="persona")
        )
    elif not attributes:
        notes["group"] = (
            "the answers carry no persona attribute with an ESS group "
            f"({', '.join(PERSONA_GROUPS)}): compared with all ESS respondents only"
        )
    summary = pd.concat(parts, ignore_index=True)
    lead = ["level", "value", "attribute", "group", "persona_id"]
    for c in lead:
        if c not in summary.columns:
            summary[c] = None
    summary[lead] = summary[lead].astype(object).where(summary[lead].notna(), None)
    summary = summary[[*lead, *[c for c in summary.columns if c not in lead]]]
    return PersonaComparison(
        pd.DataFrame(
            groups_rows,
            columns=["attribute", "group", "n_participants", "n_effective", "n_personas"],
        ),
        notes,
        fidelity=fid,
        fidelity_summary=summary,
        group=group_fid,
        steerability=pd.concat(st, ignore_index=True) if st else None,
        steerability_personas=pd.concat(sp, ignore_index=True) if sp else None,
    )


def ess_fidelity_file(
    answers: pd.DataFrame,
    ess_path: str | os.PathLike,
    *,
    attributes: Sequence[str] | None = None,
    weight: str | None = "auto",
    countries: Sequence[str] | None = None,
    n_boot: int = 1000,
    n_floor: int = 200,
    seed: int = 0,
) -> PersonaComparison:
    """:func:`ess_fidelity` of an ESS file (``personas compare ANSWERS --ess FILE``).

    ``weight``: the ESS weight variable(s) (:func:`vp_stats.io.ess.load_ess_answers`;
    ``"auto"``: ``anweight``, see the module notes; None: unweighted). ``attributes``
    named explicitly must be persona attributes with an ESS group whose ESS variable the
    file holds (else a :class:`~vp_stats.errors.DataFormatError` naming the file and the
    variable); by default the attributes of the answers whose variables the file holds,
    the others named in ``notes["absent"]``.
    """
    from vp_stats.errors import DataFormatError
    from vp_stats.io import ess

    human = ess.load_ess_answers(ess_path, weight=weight, countries=countries)
    explicit = attributes is not None
    wanted = list(attributes) if explicit else [c for c in ess.PERSONA_GROUPS if c in answers]
    absent = []
    for attr in wanted:
        if attr not in ess.PERSONA_GROUPS:
            raise DataFormatError(
                ess_path,
                None,
                attr,
                f"persona attribute {attr!r} has no ESS group (known: "
                f"{', '.join(ess.PERSONA_GROUPS)}; race: {ess.ESS_UNAVAILABLE['race']})",
            )
        if human[ess.PERSONA_GROUPS[attr]].isna().all():
            if explicit:
                raise DataFormatError(
                    ess_path,
                    None,
                    ess.PERSONA_VARIABLES[attr],
                    f"no respondent has a {attr} group: the variable is absent from the file "
                    "or holds only missing codes",
                )
            absent.append(attr)
    res = ess_fidelity(
        answers,
        human,
        attributes=[a for a in wanted if a not in absent],
        weight=None if weight is None else "weight",
        n_boot=n_boot,
        n_floor=n_floor,
        seed=seed,
    )
    if absent:
        res.notes["absent"] = "not in the ESS file (no group): " + ", ".join(
            f"{a} ({ess.PERSONA_VARIABLES[a]})" for a in absent
        )
    return res


def ess_tables(res: PersonaComparison) -> dict[str, pd.DataFrame]:
    """File name stem -> table of an :func:`ess_fidelity` result (the tables present)."""
    named = {
        "ess_fidelity": res.fidelity,
        "ess_fidelity_summary": res.fidelity_summary,
        "ess_group_fidelity": res.group,
        "ess_steerability": res.steerability,
        "ess_steerability_personas": res.steerability_personas,
        "ess_groups": res.table,
    }
    return {k: v for k, v in named.items() if v is not None and len(v)}


def _persona_labels(rows: pd.DataFrame) -> pd.Series:
    """``"female (gender)"``; the persona id added where a group has several personas."""
    base = rows["group"].astype(str) + " (" + rows["attribute"].astype(str) + ")"
    dup = base.duplicated(keep=False)
    return base.where(~dup, base + " " + rows["persona_id"].astype(str))


def ess_summary(res: PersonaComparison) -> list[str]:
    """Lines telling an :func:`ess_fidelity` result beyond
    :func:`vp_stats.studies.personas.comparison_summary`: the ESS groups with their
    effective n, each persona against its own group, and the notes.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"attribute": ["gender"] * 2, "group": ["female", "male"],
    ...                   "n_participants": [10, 8], "n_effective": [9.1, 7.5],
    ...                   "n_personas": [1, 1]})
    >>> for line in ess_summary(PersonaComparison(g, {"weight": "by anweight"})):
    ...     print(line)
    ESS groups by gender (respondents, Kish effective n): female 10 (9.1), male 8 (7.5)
    note (weight): by anweight
    """
    lines = []
    g = res.table
    if len(g):
        for attr, one in g.groupby("attribute", sort=False):
            lines.append(
                f"ESS groups by {attr} (respondents, Kish effective n): "
                + ", ".join(
                    f"{r.group} {int(r.n_participants)} ({r.n_effective:.1f})"
                    for r in one.itertuples()
                )
            )
    fs = res.fidelity_summary
    if len(fs) and "level" in fs.columns:
        per = fs[fs["level"] == "persona"]
        if len(per):
            lab = _persona_labels(per)
            best, worst = per["w1"].idxmin(), per["w1"].idxmax()
            lines.append(
                f"personas against their own ESS group ({len(per)}): mean W1 "
                f"{per['w1'].mean():.3f} (noise floor {per['floor_w1'].mean():.3f}, "
                f"human-average baseline {per['average_w1'].mean():.3f}); closest "
                f"{lab[best]} {per.loc[best, 'w1']:.3f}, furthest {lab[worst]} "
                f"{per.loc[worst, 'w1']:.3f}"
            )
    for k, v in res.notes.items():
        lines.append(f"note ({k}): {v}")
    return lines


def write_ess_figures(
    out_dir: str | os.PathLike, res: PersonaComparison, *, prefix: str = "ess_"
) -> list:
    """Write an :func:`ess_fidelity` result's figures; returns the files written.

    ``<prefix>fidelity_personas.png``: each persona against its own ESS group
    (:func:`vp_stats.plots.personas.fidelity_plot`); ``<prefix>fidelity_values.png``: the
    pooled personas per value; ``<prefix>steerability_<attribute>.png``: the persona x
    group heat maps with the own group framed
    (:func:`vp_stats.plots.personas.steerability_heatmap`, personas named by their group).
    """
    import matplotlib.pyplot as plt

    from vp_stats.io.figures import save_figure
    from vp_stats.plots import personas as pplot

    out = Path(out_dir)
    written = []
    fs = res.fidelity_summary
    panels = []
    if len(fs):
        per = fs[fs["level"] == "persona"]
        if len(per):
            panels.append(
                (
                    per.assign(persona=_persona_labels(per).to_numpy()),
                    "persona",
                    "fidelity_personas",
                    "Each persona against its own ESS group (weighted)",
                )
            )
        val = fs[fs["level"] == "value"]
        if len(val):
            panels.append((val, "value", "fidelity_values", "Personas pooled against the ESS"))
    for data, label, name, title in panels:
        ax = pplot.fidelity_plot(data, label, title=title)
        written += save_figure(ax, out / f"{prefix}{name}.png", bbox_inches="tight")
        plt.close(ax.figure)
    st = res.steerability
    if st is not None and len(st):
        for attr, one in st.groupby("attribute", sort=False):
            who = one.drop_duplicates("persona_id").set_index("persona_id")["own_group"]
            lab = who.astype(str)
            dup = lab.duplicated(keep=False)
            lab = lab.where(~dup, lab + " " + lab.index.astype(str))
            ax = pplot.steerability_heatmap(
                one.assign(persona=one["persona_id"].map(lab)),
                persona="persona",
                title=f"Steerability by {attr}: persona (its {attr}) x ESS group, own group framed",
            )
            ax.set_ylabel(f"persona ({attr})")
            ax.set_xlabel("ESS group (weighted)")
            written += save_figure(
                ax, out / f"{prefix}steerability_{attr}.png", bbox_inches="tight"
            )
            plt.close(ax.figure)
    return written
