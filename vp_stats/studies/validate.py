"""Study orchestration for item validation: from a study's files to an output folder.

This layer reads a study's files through :mod:`vp_stats.io`, runs the
statistics of :mod:`vp_stats.stats.validation` and :mod:`vp_stats.stats.reliability` on the
DataFrames, and writes the output folder atomically with a ``provenance.json``
beside the tables. ``vp-stats validate`` and ``vp-stats reliability`` are thin
wrappers over :func:`validate_study` and :func:`reliability_study`; a notebook
can call the same functions, or the statistics directly on DataFrames.

Your own study is two files (see the README, "File formats"):

- ratings: ``participant,item,rating`` (any string item id, any integer scale;
  optional ``group``);
- scores: long ``participant,family,dimension,score`` or wide
  ``participant,<dimension>,...``; or raw PVQ-21 / BFI-10 answers, scored first.

Without a ratings file the released Value Portrait data are used (hash-pinned
upstream files), as in the paper.

Examples
--------
>>> import tempfile, pathlib
>>> from vp_stats.stats import simulate
>>> from vp_stats.studies import validate as study
>>> syn = simulate.synthetic(n_participants=60, n_items=10, seed=1)
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> r = syn["ratings"]
>>> r = r.assign(item="q" + r.portrait_id.astype(str) + r.option_id.astype(str))
>>> r[["participant", "item", "rating"]].to_csv(d / "ratings.csv", index=False)
>>> syn["scores"].query("family == 'pvq'").to_csv(d / "scores.csv", index=False)
>>> res = study.validate_study(ratings=d / "ratings.csv", scores=d / "scores.csv", out=d / "out",
...                            n_boot=0)
>>> res.notes["families"], res.notes["scale"], sorted(p.name for p in (d / "out").iterdir())
(['pvq'], '1-6 (inferred from the ratings)', ['item_correlations.csv', 'provenance.json'])
>>> res.rule, sorted(res.provenance["selection_errors"])[:3]
('rho > 0.3 and p_fdr < 0.05', ['by_family', 'estimated_fdp', 'expected_null_passes'])
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vp_stats import schema, tables
from vp_stats.errors import TableError
from vp_stats.io import tables as tio
from vp_stats.stats import validation
from vp_stats.stats.resampling import check_boot_options

__all__ = [
    "load_study",
    "validate_study",
    "reliability_study",
    "StudyValidation",
    "StudyReliability",
    "provenance",
    "file_sha256",
    "undefined_reasons",
]


@dataclass(frozen=True, kw_only=True)
class StudyValidation(tables.Result):
    """What :func:`validate_study` returns: the table written, its notes and its provenance.

    Attributes
    ----------
    table : DataFrame
        The rows of ``item_correlations.csv``.
    notes : mapping
        What :func:`load_study` reports (``source``, ``scale`` as text, ``families``,
        ``derived_higher``, ``inputs``) plus the selection ``rule``, ``p_values`` (how they
        were computed), ``selection_errors`` (the summary line) and ``selection_warning``.
    rule : str
        The selection rule in words.
    scale : Scale
        The rating scale used.
    errors : SelectionErrors or None
        The selection's expected null passes and estimated false-discovery proportion
        (:func:`vp_stats.stats.validation.selection_errors`).
    provenance : mapping
        The record written to ``provenance.json`` (:func:`provenance`), with
        ``selection_errors`` (:meth:`~vp_stats.stats.validation.SelectionErrors.record`) and
        ``p_values``.
    """

    rule: str
    scale: tables.Scale
    errors: validation.SelectionErrors | None = None
    provenance: Mapping = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class StudyReliability(tables.Result):
    """What :func:`reliability_study` returns: the table written, notes and provenance.

    Attributes
    ----------
    table : DataFrame
        The rows of ``reliability.csv``.
    notes : mapping
        ``scale`` (as text) and ``n_sets`` (item sets with items).
    item_statistics : DataFrame or None
        The rows of ``item_statistics.csv`` (``data`` mode; None in ``items`` mode).
    provenance : mapping
        The record written to ``provenance.json`` (:func:`provenance`).
    """

    item_statistics: pd.DataFrame | None = None
    provenance: Mapping = field(default_factory=dict)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file (provenance of a user's inputs; the data layer's hasher)."""
    from vp_stats.io.datasets import _sha256

    return _sha256(Path(path))


def provenance(
    command: str, params: dict, inputs: dict[str, str | os.PathLike | None], **extra
) -> dict:
    """What produced an output folder: package version, command line, parameters and input hashes.

    Examples
    --------
    >>> p = provenance("validate", {"seed": 0}, {})
    >>> sorted(p)
    ['argv', 'command', 'inputs', 'parameters', 'python', 'vp_stats_version']
    """
    from vp_stats import __version__, redact

    rec = {
        "command": command,
        "vp_stats_version": __version__,
        "python": sys.version.split()[0],
        "argv": list(sys.argv),
        "parameters": params,
        "inputs": {
            k: {"path": str(v), "sha256": file_sha256(v)}
            for k, v in inputs.items()
            if v is not None
        },
    }
    rec.update(extra)
    return redact.redact_obj(rec)  # a key in argv (--base-url https://u:KEY@host) never lands here


@schema.orders_dimensions
def undefined_reasons(table: pd.DataFrame, ratings: pd.DataFrame, scores) -> pd.DataFrame:
    """``table`` with a ``reason`` column: why a row's ``rho`` is missing or meaningless (empty
    where it is neither).

    A correlation is undefined with fewer than 3 raters holding both a rating of the item and
    a score, or when the item's ratings or the dimension's scores do not vary among them; the
    output says which instead of a silent missing value.

    Examples
    --------
    >>> t = pd.DataFrame({"item": ["a", "b"], "family": "pvq", "dimension": "Power",
    ...                   "rho": [0.5, float("nan")], "n": [10, 2]})
    >>> undefined_reasons(t, pd.DataFrame(columns=["participant", "item", "rating"]), None)[
    ...     "reason"].tolist()
    [nan, '2 rater(s) with both a rating and a score: a correlation needs at least 3']
    """
    out = table.copy()
    # missing (NaN) where rho is defined, as the column reads back from item_correlations.csv
    reason = pd.Series(np.nan, index=out.index, dtype=object)
    undefined = out["rho"].isna()
    if "n" in out.columns:  # rho of 2 raters is +-1 whatever they answered: no correlation
        undefined = undefined | (pd.to_numeric(out["n"], errors="coerce") < 3)
    undefined = undefined.to_numpy()
    if undefined.any():
        r = tables.with_item_column(ratings) if len(ratings) else ratings
        by_item = {k: g for k, g in r.groupby("item")} if len(r) else {}
        sc = None
        if scores is not None and len(scores):
            sc = scores.set_index(["family", "dimension", "participant"])["score"]
        for i in out.index[undefined]:
            row = out.loc[i]
            n = int(row["n"]) if "n" in out.columns and pd.notna(row["n"]) else None
            if n is not None and n < 3:
                reason[i] = (
                    f"{n} rater(s) with both a rating and a score: a correlation needs at least 3"
                )
                continue
            g = by_item.get(row["item"])
            if g is not None and g["rating"].nunique() < 2:
                reason[i] = "the item's ratings do not vary among its raters (rho undefined)"
                continue
            if g is not None and sc is not None:
                try:
                    vals = sc.loc[(row["family"], row["dimension"])]
                except KeyError:
                    vals = pd.Series(dtype=float)
                vals = vals[vals.index.isin(set(g["participant"]))]
                if vals.nunique() < 2:
                    reason[i] = (
                        "the dimension's scores do not vary among the item's raters (rho undefined)"
                    )
                    continue
            reason[i] = "rho undefined"
    out["reason"] = reason
    return out


def _score_questionnaires(
    pvq21_answers, bfi10_answers, ess_coding: bool, derive_higher: bool, na_values=None
) -> pd.DataFrame:
    """Score raw PVQ-21 / BFI-10 answer files into the Scores contract (unit: participant)."""
    from vp_stats.errors import DataFormatError
    from vp_stats.instruments import bfi, pvq

    frames = []
    for path, kind in ((pvq21_answers, "pvq21"), (bfi10_answers, "bfi10")):
        if path is None:
            continue
        ans = tio.read_questionnaire_answers(path)
        ans = tio.mask_na_values(
            ans, [c for c in ans.columns if c not in ("participant", "item")], na_values
        )
        try:
            if kind == "pvq21":
                sc = pvq.score_pvq21(ans, ess_coding=ess_coding, higher_order=derive_higher)
            else:
                sc = bfi.score_bfi10(ans)
        except ValueError as exc:
            raise DataFormatError(path, None, None, str(exc)) from exc
        unscored = sc[sc["score"].isna()]
        if len(unscored):
            row = unscored.iloc[0]
            raise DataFormatError(
                path,
                f"participant {row['participant']!r}",
                row["dimension"],
                f"cannot be scored ({row['status']}); {unscored['participant'].nunique()} "
                "participant(s) lack enough answers",
            )
        frames.append(sc[["participant", "family", "dimension", "score"]])
    out = pd.concat(frames, ignore_index=True)
    out["participant"] = out["participant"].astype(str)
    return out


def load_study(
    ratings: str | os.PathLike | None = None,
    scores: str | os.PathLike | None = None,
    *,
    pvq21_answers: str | os.PathLike | None = None,
    bfi10_answers: str | os.PathLike | None = None,
    ess_coding: bool = False,
    derive_higher: bool = False,
    scale: str | tables.Scale | None = None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    procedure: str = "correct",
    data_dir=None,
    na_values=None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read a study's ratings and scores (or the released Value Portrait data), validated.

    Both tables go through their contracts here, once. ``na_values`` (``"-99,999"`` or a list)
    are the missing-value codes of the ratings and the questionnaire answers.

    Returns
    -------
    ratings, scores : DataFrame
        Canonical :class:`~vp_stats.tables.Ratings` and :class:`~vp_stats.tables.Scores`,
        validated once here: pass ``validated=True`` to the statistics.
    info : dict
        ``source`` ("value-portrait" or "own"), ``scale`` (as reported), ``families``,
        ``derived_higher`` (the rule, or None) and the input paths.
    """
    own_scores = scores is not None or pvq21_answers is not None or bfi10_answers is not None
    if ratings is None:
        if own_scores:
            raise ValueError(
                "scores were given without --ratings: give the ratings of your items too"
            )
        from vp_stats.io import datasets

        if derive_higher:
            raise ValueError(
                "--derive-higher: the released Value Portrait scores already hold the higher-order "
                "values"
            )
        s = datasets.load_participant_scores(data_dir)
        r = datasets.load_ratings(data_dir, participants=s)
        r, s = validation.apply_procedure(r, s, procedure)
        sc = tables.parse_scale(scale) or tables.VP_SCALE
        # through the contracts once: the statistics take them as validated
        r = tables.ratings_table(r, scale=sc, source="released ratings").table
        s = tables.scores_table(s, source="released scores")
        info = {
            "source": "value-portrait",
            "data_commit": datasets.UPSTREAM_COMMIT,
            "scale": f"{sc} (Value Portrait)",
            "scale_obj": sc,
            "families": list(schema.FAMILY_NAMES),
            "derived_higher": None,
            "inputs": {},
        }
        return r, s, info
    if procedure != "correct":
        raise ValueError(
            "--procedure upstream reproduces the published Value Portrait tables; it does not "
            "apply to your own ratings"
        )
    if not own_scores:
        raise ValueError(
            "--ratings needs the raters' scores: --scores FILE, or --pvq21-answers / "
            "--bfi10-answers"
        )
    if scores is not None and (pvq21_answers is not None or bfi10_answers is not None):
        raise ValueError(
            "give either --scores or raw questionnaire answers (--pvq21-answers / "
            "--bfi10-answers), not both"
        )
    checked = tio.read_ratings(
        ratings,
        participant=participant,
        item=item,
        rating=rating,
        scale=scale,
        na_values=na_values,
    )
    r, sc = checked.table, checked.scale
    if scores is not None:
        s = tio.read_scores(scores, participant=participant)
    else:
        s = tables.scores_table(
            _score_questionnaires(
                pvq21_answers, bfi10_answers, ess_coding, derive_higher, na_values
            )
        )
    derived = None
    if derive_higher and scores is not None:
        s = tables.derive_higher_order(s)
        derived = tables.HIGHER_ORDER_RULE
    elif derive_higher:
        derived = (
            "higher-order values scored from the PVQ-21 items (mean of the constituent items' "
            "answers, MRAT-centred)"
        )
    unknown = ~r["participant"].isin(set(s["participant"]))
    if unknown.any():
        at = int(unknown.to_numpy().nonzero()[0][0])
        n = r.loc[unknown, "participant"].nunique()
        raise TableError(
            ratings,
            at + 1,
            "participant",
            f"unknown participant {r['participant'].iloc[at]!r}: not in the scores "
            f"({n} rater(s) have no scores)",
        )
    tio.require_participants(r, ratings, 3)  # one rater: every correlation undefined
    info = {
        "source": "own",
        "scale": f"{sc} (inferred from the ratings)" if sc.inferred else f"{sc}",
        "scale_obj": sc,
        "families": [f for f in schema.FAMILY_NAMES if f in set(s["family"])],
        "derived_higher": derived,
        "na_values": list(tio.parse_na_values(na_values)),
        "inputs": {
            "ratings": ratings,
            "scores": scores,
            "pvq21_answers": pvq21_answers,
            "bfi10_answers": bfi10_answers,
        },
    }
    return r, s, info


def validate_study(
    ratings: str | os.PathLike | None = None,
    scores: str | os.PathLike | None = None,
    *,
    out: str | os.PathLike | None = None,
    pvq21_answers=None,
    bfi10_answers=None,
    ess_coding: bool = False,
    derive_higher: bool = False,
    scale=None,
    families=None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    threshold: float = 0.3,
    mode: str = "pos",
    max_p: float | None = None,
    max_fdr: float | None | str = "default",
    min_ci_low: float | None = None,
    p_method: str = "default",
    n_perm: int = 10_000,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    procedure: str = "correct",
    data_dir=None,
    na_values=None,
    progress: bool = False,
) -> StudyValidation:
    """Validate a study's items: correlations, FDR, bootstrap CIs and selection, written to ``out``.

    ``progress`` shows the bootstrap's progress bar (the CLI turns it on when stderr is a
    terminal).

    Writes ``out/item_correlations.csv`` (``item, [portrait_id, option_id,]
    family, dimension, rho, p_value, n, p_fdr, ci_low, ci_high, selected``) and
    ``out/provenance.json`` (rule, scale, seeds, inputs with sha256, how the p-values were
    computed, and the selection's error rates: expected null passes, estimated
    false-discovery proportion, warning). The output folder is checked before any
    computation; files are written atomically.

    Defaults (``"default"``): for your own ratings the rule is ``rho > 0.3 and p_fdr < 0.05``
    with permutation p-values below 100 raters (``p_method="auto"``; why:
    :func:`vp_stats.stats.validation.validate_items`); for the released Value Portrait data
    (no ``ratings``) the paper's analysis, ``rho > 0.3`` with the t approximation's p, so that
    the command reproduces the paper. ``max_fdr=None`` removes the FDR filter.

    Returns
    -------
    StudyValidation
        ``table`` (the rows written), ``notes`` (what :func:`load_study` reports plus the
        selection ``rule``, ``p_values`` and the error rates), ``rule``, ``scale``, ``errors``
        and ``provenance``.
    """
    own = ratings is not None
    if isinstance(max_fdr, str):
        if max_fdr != "default":
            raise ValueError(
                f"max_fdr must be a number in (0, 1], None or 'default', got {max_fdr!r}"
            )
        max_fdr = validation.DEFAULT_MAX_FDR if own else None
    if p_method == "default":
        p_method = "auto" if own else "t"
    validation._check_rule(threshold, mode, max_p, max_fdr, min_ci_low, p_method, n_perm)
    check_boot_options(n_boot, ci, allow_zero=True)
    if min_ci_low is not None and not n_boot:
        raise ValueError("--min-ci-low needs the bootstrap CIs: set --n-boot > 0")
    out_dir = tio.prepare_out_dir(out) if out is not None else None
    r, s, info = load_study(
        ratings,
        scores,
        pvq21_answers=pvq21_answers,
        bfi10_answers=bfi10_answers,
        ess_coding=ess_coding,
        derive_higher=derive_higher,
        scale=scale,
        participant=participant,
        item=item,
        rating=rating,
        procedure=procedure,
        data_dir=data_dir,
        na_values=na_values,
    )
    fams = list(families) if families else None
    res = validation.validate_items(
        r,
        s,
        fams,
        threshold=threshold,
        mode=mode,
        n_boot=n_boot,
        ci=ci,
        seed=seed,
        max_p=max_p,
        max_fdr=max_fdr,
        min_ci_low=min_ci_low,
        p_method=p_method,
        n_perm=n_perm,
        scale=info["scale_obj"],
        validated=True,
        progress=progress,
    )
    table = undefined_reasons(res.table, r, s)
    info["rule"] = res.rule
    info["p_values"] = res.p_values
    info["selection_errors"] = res.errors.summary
    info["selection_warning"] = res.errors.warning
    info["families"] = list(dict.fromkeys(table["family"]))
    params = {
        "threshold": threshold,
        "mode": mode,
        "max_p": max_p,
        "max_fdr": max_fdr,
        "min_ci_low": min_ci_low,
        "p_method": p_method,
        "n_perm": n_perm,
        "n_boot": n_boot,
        "ci": ci,
        "seed": seed,
        "procedure": procedure,
        "families": info["families"],
        **tio.na_values_record(na_values),
    }
    prov = provenance(
        "validate",
        params,
        info["inputs"],
        source=info["source"],
        selection_rule=info["rule"],
        selection_errors=res.errors.record(),
        p_values=res.p_values,
        scale=info["scale"],
        derived_higher=info["derived_higher"],
        data_commit=info.get("data_commit"),
    )
    if out_dir is not None:
        tio.write_csv(table, out_dir / "item_correlations.csv")
        tio.write_json(prov, out_dir / "provenance.json")
    return StudyValidation(
        table=table,
        notes=info,
        rule=res.rule,
        scale=res.scale,
        errors=res.errors,
        provenance=prov,
    )


def reliability_study(
    ratings: str | os.PathLike | None = None,
    items: str | os.PathLike | None = None,
    *,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    scale=None,
    participant: str = "participant",
    item: str = "item",
    rating: str = "rating",
    method: str = "minres",
    ci: float = 0.95,
    n_factors: int = 3,
    reverse=None,
    missing: str = "listwise",
    data_dir=None,
    na_values=None,
    polychoric: bool = False,
    dimensions=None,
) -> StudyReliability:
    """Reliability of one scale (``data``) or of each selected item set (``items``).

    The tables are written to ``out``.

    Two modes:

    - ``data``: an item matrix ITEMS.csv (one row per respondent, one column
      per item, optional ``participant`` column; read by
      :func:`vp_stats.io.tables.read_item_matrix`). Items in ``reverse`` are
      reversed as ``low + high - x`` on ``scale`` (default: inferred from the
      values, reported). Writes ``out/reliability.csv`` (one row:
      :func:`vp_stats.stats.reliability.scale_reliability`: alpha with its Feldt CI,
      psych's omega total and omega hierarchical of an ``n_factors``
      Schmid-Leiman solution ...), ``out/item_statistics.csv`` (item-rest r,
      alpha if dropped, ...) and ``out/provenance.json``; the result's ``item_statistics``
      holds the item table.
    - ``items``: an ``item_correlations.csv`` from :func:`validate_study` (its
      ``selected`` rows, reversed where ``rho < 0``) or a list ``item, family,
      dimension[, sign]``, with ``ratings`` (default: the released Value
      Portrait ratings): :func:`vp_stats.stats.reliability.value_reliability` per
      dimension and participant group, written to ``out/reliability.csv``. The
      scale is the one given, else 1-6 for Value Portrait items, else inferred
      and reported. ``dimensions`` (names, or ``"A,B"``) keeps only the item sets of
      those dimensions.

    ``missing`` is ``"listwise"`` (default) or ``"pairwise"`` (psych's
    default; see :mod:`vp_stats.stats.reliability`). ``na_values`` (``"-99,999"`` or a list)
    are missing-value codes of the answers; without them an inferred scale that such a code
    would widen is refused (:func:`vp_stats.tables.implausible_rating`).
    ``polychoric`` computes ``omega_total`` and ``omega_hierarchical`` from polychoric
    correlations, as ``psych::omega(x, nf, poly = TRUE)`` (for Likert items; the Pearson
    omegas are biased low there).

    Returns
    -------
    StudyReliability
        ``table`` (the rows of ``reliability.csv``), ``notes`` (``scale`` as text, ``n_sets``),
        ``item_statistics`` (``data`` mode) and ``provenance``.
    """
    from vp_stats.stats import reliability

    if method not in ("minres", "ml"):
        raise ValueError(f"--method must be minres or ml, got {method!r}")
    if not (0 < ci < 1):
        raise ValueError(f"--ci must be in (0, 1), got {ci}")
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"--missing must be pairwise or listwise, got {missing!r}")
    if isinstance(n_factors, bool) or not isinstance(n_factors, int) or n_factors < 1:
        raise ValueError(f"--n-factors must be a positive integer, got {n_factors!r}")
    if isinstance(reverse, str):
        reverse = [r.strip() for r in reverse.split(",") if r.strip()]
    if data is not None:
        if ratings is not None or items is not None:
            raise ValueError(
                "--data (an item matrix) cannot be combined with --ratings / --items (selected "
                "item sets)"
            )
        out_dir = tio.prepare_out_dir(out) if out is not None else None
        mat = tio.read_item_matrix(data, participant=participant, scale=scale, na_values=na_values)
        try:
            summary, item_stats = reliability.scale_reliability(
                mat.table,
                n_factors=n_factors,
                reverse=reverse or (),
                scale=mat.scale,
                missing=missing,
                ci=ci,
                polychoric=polychoric,
            )
        except ValueError as exc:
            raise ValueError(f"{data}: {exc}") from exc
        info = {"scale": str(summary["scale"].iloc[0]), "n_sets": 1}
        params = {
            "n_factors": n_factors,
            "reverse": list(reverse or ()),
            "missing": missing,
            "ci": ci,
            **tio.na_values_record(na_values),
        }
        if polychoric:
            params["polychoric"] = True
        prov = provenance(
            "reliability", params, {"data": data}, scale=info["scale"], mode="item matrix"
        )
        if out_dir is not None:
            tio.write_csv(summary, out_dir / "reliability.csv")
            tio.write_csv(item_stats, out_dir / "item_statistics.csv")
            tio.write_json(prov, out_dir / "provenance.json")
        return StudyReliability(
            table=summary, notes=info, item_statistics=item_stats, provenance=prov
        )
    if reverse:
        raise ValueError(
            "--reverse applies to --data; with --items the selected items' sign says which to "
            "reverse"
        )
    if items is None:
        raise ValueError(
            "give --data ITEMS.csv (one scale: respondents x items) or --items SELECTED.csv "
            "(item_correlations.csv of vp-stats validate, or a list item,family,dimension)"
        )
    out_dir = tio.prepare_out_dir(out) if out is not None else None
    sel = tio.read_selected_items(items)
    if dimensions is not None:
        if isinstance(dimensions, str):
            dimensions = [d.strip() for d in dimensions.split(",") if d.strip()]
        dimensions = list(dimensions)
        known = list(dict.fromkeys(sel.loc[sel["selected"], "dimension"]))
        unknown = [d for d in dimensions if d not in known]
        if unknown or not dimensions:
            raise ValueError(
                f"--dimension {','.join(unknown) or '(empty)'}: {items} selects no item for it; "
                f"its dimensions are {', '.join(map(str, known))}"
            )
        sel = sel[sel["dimension"].isin(dimensions)]  # its index stays the file's row number
    if ratings is None:
        from vp_stats.io import datasets

        r = datasets.load_ratings(data_dir)
        sc = tables.parse_scale(scale) or tables.VP_SCALE
    else:
        checked = tio.read_ratings(
            ratings,
            participant=participant,
            item=item,
            rating=rating,
            scale=scale,
            na_values=na_values,
        )
        r, sc = checked.table, checked.scale
        tio.require_participants(r, ratings, 3)
    unknown = ~sel.loc[sel["selected"], "item"].isin(set(tables.with_item_column(r)["item"]))
    if unknown.any():
        at = int(sel.index[sel["selected"]][unknown.to_numpy()][0])
        raise TableError(
            items,
            at + 1,
            "item",
            f"unknown item {sel['item'].loc[at]!r}: nobody rated it in the ratings",
        )
    table = reliability.value_reliability(
        r,
        sel,
        method=method,
        ci=ci,
        scale=sc,
        n_factors=n_factors,
        missing=missing,
        polychoric=polychoric,
    )
    info = {
        "scale": f"{sc} (inferred from the ratings)" if sc.inferred else str(sc),
        "n_sets": int(table["n_items"].gt(0).sum()),
    }
    params = {
        "method": method,
        "ci": ci,
        "n_factors": n_factors,
        "missing": missing,
        **tio.na_values_record(na_values),
    }
    if polychoric:
        params["polychoric"] = True
    if dimensions is not None:
        params["dimensions"] = dimensions
    prov = provenance(
        "reliability", params, {"ratings": ratings, "items": items}, scale=info["scale"]
    )
    if out_dir is not None:
        tio.write_csv(table, out_dir / "reliability.csv")
        tio.write_json(prov, out_dir / "provenance.json")
    return StudyReliability(table=table, notes=info, provenance=prov)
