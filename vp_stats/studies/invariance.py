"""Humans against silicon samples: one stacked table for the invariance test across samples.

Before comparing the means of people and an LLM's personas (or of two LLMs) on a scale, ask
whether the items measure the same thing in both: :func:`vp_stats.stats.invariance.invariance`
with the sample as the group. That needs one respondents x items table with a group column;
:func:`stack_groups` builds it from the tables as they come:

- human answers as wide tables (``participant`` plus one column per item: psychTools' ``bfi``
  from :func:`vp_stats.io.psychtools.read_bfi`, :func:`vp_stats.io.tables.read_item_matrix`);
- persona or model answers as long tables (one row per answer: ``persona_id`` and its run
  columns, or ``participant``, or ``model``; ``item``; ``rating``), the layout of a persona
  run's answers (:func:`vp_stats.llm.questionnaires.persona_bfi10_scores` reads the same).

Both samples must answer the same items on the same answer scale (the intercepts of a
1-5 and a 1-6 scale cannot be equal): the table keeps the items of the first sample and
refuses a sample that lacks one. One LLM against another is the same call with one long table
per model (``{m: t[t.model == m] for m in models}``).

Command line: write the stacked table and run ``vp-stats structure invariance``::

    stacked = stack_groups({"human": humans, "llm": personas})
    stacked.to_csv("stacked.csv", index=False)
    # vp-stats structure invariance --data stacked.csv --group sample --model model.txt --out inv

Examples
--------
>>> import numpy as np, pandas as pd
>>> humans = pd.DataFrame({"participant": ["h1", "h2"], "q1": [1.0, 4], "q2": [2.0, 5]})
>>> personas = pd.DataFrame({"persona_id": ["p1", "p1", "p2", "p2"], "run": 0,
...                          "item": ["q1", "q2", "q1", "q2"], "rating": [3.0, 3, 5, 4]})
>>> stack_groups({"human": humans, "llm": personas})
  participant sample   q1   q2
0          h1  human  1.0  2.0
1          h2  human  4.0  5.0
2        p1|0    llm  3.0  3.0
3        p2|0    llm  5.0  4.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vp_stats.errors import DataFormatError
from vp_stats.stats import invariance as inv

__all__ = ["RUN_COLUMNS", "stack_groups", "sample_invariance"]

#: Columns that tell the runs of one persona apart (as :func:`persona_bfi10_scores` reads).
RUN_COLUMNS = ("variant", "run", "seed")


def _unit_columns(t: pd.DataFrame, participant: str) -> list[str]:
    if participant in t.columns:
        return [participant]
    if "persona_id" in t.columns:
        return ["persona_id", *[c for c in RUN_COLUMNS if c in t.columns]]
    if "model" in t.columns:
        return ["model", *[c for c in RUN_COLUMNS if c in t.columns]]
    return []


def _wide(t: pd.DataFrame, name: str, participant: str, item: str, rating: str) -> pd.DataFrame:
    """One sample as participant x items: a long table pivoted, a wide one kept."""
    if item in t.columns and rating in t.columns:
        units = _unit_columns(t, participant)
        if not units:
            raise DataFormatError(
                name,
                None,
                participant,
                f"a long answers table needs a {participant!r}, 'persona_id' or 'model' column",
            )
        key = t[units].astype(str).agg("|".join, axis=1)
        dup = pd.Series(list(zip(key, t[item], strict=True))).duplicated().to_numpy()
        if dup.any():
            r = int(np.flatnonzero(dup)[0])
            raise DataFormatError(
                name,
                f"row {t.index[r]!r}",
                item,
                f"{key.iloc[r]!r} answered item {t[item].iloc[r]!r} twice",
            )
        vals = pd.to_numeric(t[rating], errors="coerce")
        bad = vals.isna() & t[rating].notna()
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(
                name, f"row {t.index[r]!r}", rating, f"{t[rating].iloc[r]!r} is not a number"
            )
        w = (
            pd.DataFrame({participant: key.to_numpy(), "_i": t[item].astype(str), "_r": vals})
            .pivot(index=participant, columns="_i", values="_r")
            .reindex(pd.unique(key))
        )
        w.columns.name = None
        return w
    w = t.set_index(participant) if participant in t.columns else t.copy()
    if participant not in t.columns:
        w.index = pd.Index([f"{name}:{k + 1}" for k in range(len(w))], name=participant)
    w.index = w.index.astype(str)
    w.columns = [str(c) for c in w.columns]
    return w


def stack_groups(
    groups: Mapping[str, pd.DataFrame],
    *,
    group: str = "sample",
    items: Sequence[str] | None = None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
) -> pd.DataFrame:
    """Stack the answers of several samples into one table with a group column.

    Parameters
    ----------
    groups : mapping
        Group label (``"human"``, ``"llm"``, a model's name) -> its answers, wide (one row per
        respondent, one column per item, optional ``participant`` column) or long (``item``
        and ``rating`` columns plus the unit: ``participant``, else ``persona_id`` and its
        run columns :data:`RUN_COLUMNS`, else ``model`` and its run columns).
    group : str
        Name of the group column of the result.
    items : sequence of str, optional
        The items to keep (default: the item columns of the first sample, in its order).
    participant, item, rating : str
        Column names of the unit, the item and the answer.

    Returns
    -------
    DataFrame
        ``participant`` (a long table's unit columns joined by ``|``), ``group``, then one
        column per item (floats, NaN = not answered); the samples in the given order.

    Raises
    ------
    DataFormatError
        Naming the sample (its label) and the field: a sample without one of the items, an
        answer that is not a number, the same item answered twice by one unit, fewer than two
        samples, a participant in two samples.
    """
    if len(groups) < 2:
        raise DataFormatError(
            "groups", None, group, f"need at least 2 samples to compare, got {len(groups)}"
        )
    wides = {str(k): _wide(v, str(k), participant, item, rating) for k, v in groups.items()}
    first = next(iter(wides))
    keep = [str(i) for i in (items if items is not None else wides[first].columns)]
    frames = []
    for name, w in wides.items():
        missing = [i for i in keep if i not in w.columns]
        if missing:
            raise DataFormatError(
                name,
                None,
                missing[0],
                f"sample {name!r} has no item {missing[0]!r}; the samples must answer the same "
                f"items (here {', '.join(keep[:10])}{' ...' if len(keep) > 10 else ''})",
            )
        x = w[keep].apply(pd.to_numeric, errors="coerce").astype(float)
        x.insert(0, group, name)
        frames.append(x.reset_index(names=participant))
    out = pd.concat(frames, ignore_index=True)
    dup = out[participant].duplicated()
    if dup.any():
        p = out.loc[dup, participant].iloc[0]
        raise DataFormatError(
            str(out.loc[dup, group].iloc[0]),
            None,
            participant,
            f"participant {p!r} is in two samples; give the samples distinct participant ids",
        )
    return out


def sample_invariance(
    groups: Mapping[str, pd.DataFrame],
    model: str,
    *,
    group: str = "sample",
    items: Sequence[str] | None = None,
    levels=None,
    group_partial=(),
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    ordered: bool = False,
) -> inv.InvarianceResult:
    """Measurement invariance across samples (humans against personas, model against model).

    :func:`stack_groups` then :func:`vp_stats.stats.invariance.invariance` with the sample as
    the group; the first sample is the reference group (its latent means are 0).

    Parameters
    ----------
    groups, group, items, participant, item, rating
        As :func:`stack_groups`.
    model, levels, group_partial, ordered
        As :func:`vp_stats.stats.invariance.invariance` (``ordered``: Likert answers as
        ordinal categories, WLSMV).

    Returns
    -------
    vp_stats.stats.invariance.InvarianceResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def people(n, prefix):
    ...     f = rng.standard_normal((n, 1))
    ...     x = pd.DataFrame(f * [.8, .7, .6] + .6 * rng.standard_normal((n, 3)),
    ...                      columns=["q1", "q2", "q3"])
    ...     return x.assign(participant=[f"{prefix}{i}" for i in range(n)])
    >>> res = sample_invariance({"human": people(300, "h"), "llm": people(300, "p")},
    ...                         "F =~ q1 + q2 + q3", levels=["configural", "metric"])
    >>> res.notes["groups"], bool(res.table.p.iloc[1] > 0.05)
    (['human', 'llm'], True)
    """
    stacked = stack_groups(
        groups, group=group, items=items, participant=participant, item=item, rating=rating
    )
    return inv.invariance(
        stacked.drop(columns=[participant]),
        model,
        group,
        levels=levels,
        group_partial=group_partial,
        data_source="stacked samples",
        ordered=ordered,
    )
