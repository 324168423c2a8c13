"""``vp-stats structure``: factor structure of an item set (EFA, CFA).

Thin wrappers over :func:`vp_stats.stats.factor.efa`, :func:`vp_stats.stats.factor.adequacy`,
:func:`vp_stats.stats.factor.parallel_analysis` and :func:`vp_stats.stats.cfa.cfa`: the
items file is read by :func:`vp_stats.io.tables.read_item_matrix` (one row per
respondent, one column per item, optional participant column), the tables are
written atomically with a ``provenance.json`` beside them.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import typer

from vp_stats.cli._common import (
    COLUMN_OPTS,
    NA_VALUES_OPT,
    READ_OPTS,
    _echo_table,
    _fail,
    _read_record,
    _reading,
    _user_errors,
    app,
)

SCALE_OPT = typer.Option(
    None,
    "--scale",
    help="Rating scale LOW-HIGH, e.g. 1-5 (values outside are errors). Default: inferred.",
)

__all__ = ["structure_app", "DATA_OPT", "efa_cmd", "cfa_cmd", "invariance_cmd"]

structure_app = typer.Typer(
    no_args_is_help=True,
    help="Factor structure of an item set: exploratory (EFA) and confirmatory (CFA) factor "
    "analysis.",
)
app.add_typer(structure_app, name="structure")

DATA_OPT = typer.Option(
    ...,
    "--data",
    help="Items CSV: one row per respondent, one column per item (numbers; empty = missing), "
    "optionally a participant column.",
)


#: ``--data`` of efa and cfa: a wide file, or long ratings with --ratings/--items instead.
WIDE_OR_LONG = {
    "data": typer.Option(
        None,
        "--data",
        help="Items file: one row per respondent, one column per item (numbers; empty = "
        "missing), optionally a participant column; or long participant,item,rating (pivoted).",
    ),
    "ratings": typer.Option(
        None,
        "--ratings",
        help="Instead of --data: long ratings participant,item,rating (any format vp-stats "
        "reads), pivoted to respondents x items; with --items, its selected items only.",
    ),
    "items": typer.Option(
        None,
        "--items",
        help="With --ratings: the items to analyse, e.g. OUT/item_correlations.csv of "
        "`vp-stats validate` (its selected rows) or a list item,family,dimension.",
    ),
    "dimension": typer.Option(
        None,
        "--dimension",
        help="With --items: only the items selected for these dimensions (comma-separated).",
    ),
}


def _dimensions(dimension: str | None):
    return [d.strip() for d in dimension.split(",") if d.strip()] if dimension else None


def _read_matrix(data, ratings, items, dimension, *, participant, scale, na_values):
    """The respondents x items matrix of --data, or of --ratings [--items [--dimension]]."""
    from vp_stats.io import pivot
    from vp_stats.io import tables as tio

    if data is not None and (ratings is not None or items is not None):
        _fail("give either --data (one file) or --ratings [--items], not both")
    if data is None and ratings is None:
        _fail(
            "give --data ITEMS.csv (respondents x items) or --ratings RATINGS.csv [--items "
            "SELECTED.csv [--dimension D]]"
        )
    if items is None and dimension is not None:
        _fail("--dimension needs --items (the selection that names each item's dimension)")
    if data is not None:
        return tio.read_item_matrix(data, participant=participant, scale=scale, na_values=na_values)
    return pivot.read_ratings_matrix(
        ratings,
        items,
        dimensions=_dimensions(dimension),
        participant=participant,
        scale=scale,
        na_values=na_values,
    )


def _read_model(model: Path) -> str:
    from vp_stats.errors import DataFormatError

    if not model.is_file():
        raise DataFormatError(
            model,
            None,
            None,
            "model file not found" if not model.exists() else "is a folder, expected a model file",
        )
    try:
        return model.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            model, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc


def _dimension_model(items: Path, dimensions: list[str]) -> str:
    """lavaan syntax of one factor per dimension over the items selected for it."""
    from vp_stats.io import pivot
    from vp_stats.io import tables as tio

    sel = tio.read_selected_items(items)
    lines = []
    for d in dimensions:
        names = pivot.selected_items(sel, d, source=str(items))
        lines.append(f"{d} =~ {' + '.join(names)}")
    return "\n".join(lines) + "\n"


@structure_app.command("efa")
def efa_cmd(
    data: Path | None = WIDE_OR_LONG["data"],
    ratings: Path | None = WIDE_OR_LONG["ratings"],
    items: Path | None = WIDE_OR_LONG["items"],
    dimension: str | None = WIDE_OR_LONG["dimension"],
    n_factors: int | None = typer.Option(
        None,
        "--n-factors",
        help="Number of factors (1 .. items - 1). With --parallel and no --n-factors: the number "
        "parallel analysis suggests.",
    ),
    method: str = typer.Option(
        "minres",
        "--method",
        help="Extraction: minres, ml or pa (iterated principal axis), as psych::fa(fm).",
    ),
    rotation: str = typer.Option(
        "oblimin", "--rotation", help="Rotation: oblimin, promax (oblique), varimax or none."
    ),
    polychoric: bool = typer.Option(
        False,
        "--polychoric",
        help="Factor polychoric correlations (ordinal items, at most 8 categories) instead of "
        "Pearson.",
    ),
    parallel: bool = typer.Option(
        False,
        "--parallel",
        help="Run parallel analysis (psych::fa.parallel; writes efa_parallel.csv).",
    ),
    n_iter: int = typer.Option(
        20, "--n-iter", help="Simulated data sets of the parallel analysis."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the parallel analysis."),
    missing: str = typer.Option(
        "listwise", "--missing", help="listwise (respondents who answered every item) or pairwise."
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    scale: str | None = SCALE_OPT,
    na_values: str | None = NA_VALUES_OPT,
    sep: str | None = READ_OPTS["sep"],
    decimal: str | None = READ_OPTS["decimal"],
    sheet: str | None = READ_OPTS["sheet"],
    out: Path = typer.Option(..., "--out", help="Output directory."),
) -> None:
    """Exploratory factor analysis as psych::fa, with KMO, Bartlett's test and parallel analysis.

    Writes OUT/efa_loadings.csv (item, factor, loading), OUT/efa_communalities.csv (item,
    communality, uniqueness), OUT/efa_variance.csv (factor, ss_loadings, proportion, cumulative),
    OUT/efa_factor_correlations.csv (factor_1, factor_2, r; oblique rotations),
    OUT/efa_adequacy.csv (statistic, item, value: KMO overall and per item, Bartlett chi2/df/p),
    OUT/efa_parallel.csv (with --parallel) and OUT/provenance.json.
    """
    from vp_stats.io import tables as tio
    from vp_stats.stats import factor
    from vp_stats.studies import validate as study

    with _user_errors(), _reading(sep, decimal, sheet):
        factor._check_options(method=method, rotation=rotation, missing=missing, n_iter=n_iter)
        if n_factors is None and not parallel:
            _fail(
                "give the number of factors with --n-factors K, or --parallel to choose it by "
                "parallel analysis"
            )
        with tio.locked_out_dir(out) as out_dir:
            mat = _read_matrix(
                data,
                ratings,
                items,
                dimension,
                participant=participant_col,
                scale=scale,
                na_values=na_values,
            )
            x = mat.table
            answered = x.notna().all(axis=1) if missing == "listwise" else x.notna().any(axis=1)
            if answered.sum() < 3:  # named here: factor.efa's own error cannot name the file
                _fail(
                    f"{data if data is not None else ratings}: need at least 3 "
                    f"participants with answers ({missing} deletion), got {int(answered.sum())}"
                )
            if n_factors is not None:
                factor._check_options(n_factors=n_factors, n_items=x.shape[1])
            pa = None
            if parallel:
                pa = factor.parallel_analysis(
                    x,
                    method=method,
                    n_iter=n_iter,
                    seed=seed,
                    polychoric=polychoric,
                    missing=missing,
                )
                if n_factors is None:
                    n_factors = pa.n_factors
                    if n_factors < 1:
                        _fail(
                            "parallel analysis suggests no factor (no eigenvalue above the "
                            "simulated ones); "
                            "give --n-factors K to fit one anyway"
                        )
                    factor._check_options(n_factors=n_factors, n_items=x.shape[1])
            res = factor.efa(
                x,
                n_factors,
                method=method,
                rotation=rotation,
                polychoric=polychoric,
                missing=missing,
            )
            adeq = factor.adequacy(x, polychoric=polychoric, missing=missing)
            written = [
                tio.write_csv(res.loadings, out_dir / "efa_loadings.csv"),
                tio.write_csv(res.communalities, out_dir / "efa_communalities.csv"),
                tio.write_csv(res.variance, out_dir / "efa_variance.csv"),
                tio.write_csv(adeq, out_dir / "efa_adequacy.csv"),
            ]
            if res.oblique:
                written.append(
                    tio.write_csv(res.factor_correlations, out_dir / "efa_factor_correlations.csv")
                )
            if pa is not None:
                written.append(tio.write_csv(pa.summary_frame(), out_dir / "efa_parallel.csv"))
            params = {
                "n_factors": int(n_factors),
                "method": method,
                "rotation": rotation,
                "polychoric": polychoric,
                "parallel": parallel,
                "n_iter": n_iter,
                "seed": seed,
                "missing": missing,
                "participant_col": participant_col,
                "scale": str(mat.scale),
                **tio.na_values_record(na_values),
                **_read_record(sep, decimal, sheet),
                **({"dimension": _dimensions(dimension)} if dimension else {}),
            }
            extra = {
                "n_obs": res.n_obs,
                "n_items": x.shape[1],
                "model_dof": res.dof,
                "converged": res.converged,
                "heywood": res.heywood,
            }
            if pa is not None:
                extra.update(
                    parallel_n_factors=pa.n_factors,
                    parallel_n_components=pa.n_components,
                )
            written.append(
                tio.write_json(
                    study.provenance(
                        "structure efa",
                        params,
                        {"data": data, "ratings": ratings, "items": items},
                        **extra,
                    ),
                    out_dir / "provenance.json",
                )
            )
    if pa is not None:
        typer.echo(
            f"parallel analysis suggests {pa.n_factors} factor(s) and "
            f"{pa.n_components} component(s)"
        )
    kmo = adeq[(adeq.statistic == "kmo") & adeq.item.isna()].value.item()
    chi2, df, p = (
        adeq[adeq.statistic == s].value.item()
        for s in ("bartlett_chi2", "bartlett_df", "bartlett_p")
    )
    typer.echo(
        f"{res.n_obs} respondents, {x.shape[1]} items; KMO {kmo:.3f}; "
        f"Bartlett chi2 {chi2:.1f} on {df:.0f} df, p = {p:.3g}; model df {res.dof}"
    )  # a model df <= 0 was also warned about on stderr (factor.efa's log, one line)
    if not res.converged:
        typer.echo("warning: the estimation did not converge; read the loadings with care")
    if res.heywood:
        typer.echo(f"warning: Heywood case (communality >= 1): {', '.join(map(str, res.heywood))}")
    _echo_table(
        res.loading_matrix().round(3).reset_index(), f"{method} loadings, {rotation} rotation:"
    )
    _echo_table(res.variance.round(3))
    typer.echo(f"wrote {len(written)} files to {out}")


@structure_app.command("cfa")
def cfa_cmd(
    data: Path | None = WIDE_OR_LONG["data"],
    ratings: Path | None = WIDE_OR_LONG["ratings"],
    items: Path | None = WIDE_OR_LONG["items"],
    dimension: str | None = WIDE_OR_LONG["dimension"],
    model: Path | None = typer.Option(
        None,
        "--model",
        help="Model file in lavaan syntax, e.g. lines 'Agree =~ A1 + A2 + A3'. Default with "
        "--items and --dimension: one factor per dimension over its selected items.",
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    scale: str | None = SCALE_OPT,
    na_values: str | None = NA_VALUES_OPT,
    sep: str | None = READ_OPTS["sep"],
    decimal: str | None = READ_OPTS["decimal"],
    sheet: str | None = READ_OPTS["sheet"],
    starts: int = typer.Option(
        10, "--starts", min=1, help="Starting points of the ML fit (semopy's, then random ones)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starting points."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
) -> None:
    """Confirmatory factor analysis by maximum likelihood, as lavaan::cfa(estimator = "ML").

    The fit is started from several points and the best proper solution is kept. Writes
    OUT/cfa_fit.csv (n_obs, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low,
    rmsea_ci_high, rmsea_p_close, srmr, baseline_chi2, baseline_df, converged, proper,
    best_of_starts, n_starts, n_starts_at_best, status),
    OUT/cfa_loadings.csv (factor, item, estimate, se, z, p_value, std_all) and OUT/provenance.json.
    Respondents with a missing answer to a model item are left out.
    """
    from vp_stats.io import tables as tio
    from vp_stats.stats import cfa
    from vp_stats.studies import validate as study

    with _user_errors(), _reading(sep, decimal, sheet):
        if model is None:
            if items is None or dimension is None:
                _fail(
                    "give --model MODEL.txt (lavaan syntax), or --ratings with --items and "
                    "--dimension for one factor per dimension"
                )
            text = _dimension_model(items, _dimensions(dimension))
        else:
            text = _read_model(model)
        cfa.parse_model(text, source=str(model or items))
        with tio.locked_out_dir(out) as out_dir:
            mat = _read_matrix(
                data,
                ratings,
                items,
                dimension,
                participant=participant_col,
                scale=scale,
                na_values=na_values,
            )
            x = mat.table
            with warnings.catch_warnings():  # the status is printed below
                warnings.simplefilter("ignore", cfa.CFAWarning)
                res = cfa.cfa(
                    x,
                    text,
                    source=str(model or items),
                    n_starts=starts,
                    seed=seed,
                    progress=sys.stderr.isatty(),  # a bar over the starts, as validate does
                )
            written = [
                tio.write_csv(res.fit, out_dir / "cfa_fit.csv"),
                tio.write_csv(res.loadings, out_dir / "cfa_loadings.csv"),
            ]
            extra = {
                "n_obs": int(res.fit.n_obs.item()),
                "converged": bool(res.fit.converged.item()),
                "status": str(res.fit.status.item()),
            }
            written.append(
                tio.write_json(
                    study.provenance(
                        "structure cfa",
                        {
                            "participant_col": participant_col,
                            "scale": str(mat.scale),
                            **tio.na_values_record(na_values),
                            **_read_record(sep, decimal, sheet),
                            **({"dimension": _dimensions(dimension)} if dimension else {}),
                            **({} if model else {"model": text}),
                            "starts": starts,
                            "seed": seed,
                        },
                        {"data": data, "ratings": ratings, "items": items, "model": model},
                        **extra,
                    ),
                    out_dir / "provenance.json",
                )
            )
    f = res.fit.iloc[0]
    typer.echo(
        f"{f.n_obs} respondents: chi2 {f.chi2:.2f} on {f.df} df (p = {f.p_value:.3g}); "
        f"CFI {f.cfi:.3f}, TLI {f.tli:.3f}, "
        f"RMSEA {f.rmsea:.3f} [{f.rmsea_ci_low:.3f}, {f.rmsea_ci_high:.3f}], SRMR {f.srmr:.3f}"
    )
    if f.status != "ok":
        typer.echo(f"warning: {f.status}; read the estimates with care")
    _echo_table(res.loadings.round(3), "loadings (std_all: standardised):")
    typer.echo(f"wrote {len(written)} files to {out}")


# --------------------------------------------------------------------------- invariance


@structure_app.command("invariance")
def invariance_cmd(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Items CSV: one row per respondent, one column per item (numbers; empty = "
        "missing), the --group column, optionally a participant column.",
    ),
    group: str = typer.Option(
        ...,
        "--group",
        help="Column whose values are the groups (gender, 'human'/'llm', a model name ...).",
    ),
    model: Path = typer.Option(
        ..., "--model", help="Model file in lavaan syntax, e.g. lines 'Agree =~ A1 + A2 + A3'."
    ),
    free: list[str] = typer.Option(
        [],
        "--free",
        help="Partial invariance: a parameter freed from the equalities, in lavaan's "
        "group.partial syntax ('A1 ~ 1' intercept, 'Agree =~ A2' loading, 'A1 ~~ A1' residual "
        "variance). Repeat the option or separate terms by commas.",
    ),
    levels: str | None = typer.Option(
        None,
        "--levels",
        help="Levels to fit, in order, comma-separated (of configural, metric, scalar, strict; "
        "default all; with --ordered configural, metric, scalar).",
    ),
    ordered: bool = typer.Option(
        False,
        "--ordered",
        help="Ordinal items (lavaan's ordered = TRUE): DWLS on polychoric correlations and "
        "thresholds with WLSMV's scaled test; scalar invariance holds the thresholds equal.",
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    scale: str | None = SCALE_OPT,
    na_values: str | None = NA_VALUES_OPT,
    out: Path = typer.Option(..., "--out", help="Output directory."),
) -> None:
    """Measurement invariance across groups: multi-group CFA by ML, as lavaan's group.equal.

    Fits the configural, metric (equal loadings), scalar (+ equal intercepts) and strict
    (+ equal residual variances) models and tests each against the previous one. Writes
    OUT/invariance.csv (level, group_equal, group_partial, n_obs, npar, chisq, df, pvalue, cfi,
    tli, rmsea, srmr, delta_chisq, delta_df, p, delta_cfi, delta_rmsea, converged, proper,
    status; with --ordered also chisq_scaled, pvalue_scaled, chisq_scaling_factor,
    cfi_scaled, tli_scaled, rmsea_scaled, the difference test scaled as lavTestLRT's for
    WLSMV and the deltas of the scaled indices),
    OUT/invariance_estimates.csv (level, group, lhs, op, rhs, label, free, estimate,
    se, z, p_value), OUT/invariance_groups.csv (group, n_obs; the first is the reference
    group) and OUT/provenance.json. Respondents with a missing answer or group are left out.
    """
    from vp_stats.errors import DataFormatError
    from vp_stats.io import tables as tio
    from vp_stats.stats import cfa
    from vp_stats.stats import invariance as inv
    from vp_stats.studies import validate as study

    with _user_errors():
        if not model.is_file():
            raise DataFormatError(
                model,
                None,
                None,
                "model file not found"
                if not model.exists()
                else "is a folder, expected a model file",
            )
        try:
            text = model.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                model, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
        cfa.parse_model(text, source=str(model))
        from vp_stats.stats import ordinal_cfa

        known = ordinal_cfa.LEVELS if ordered else inv.LEVELS
        level_list = (
            list(known) if levels is None else [s.strip() for s in levels.split(",") if s.strip()]
        )
        unknown = [lv for lv in level_list if lv not in known]
        if unknown or not level_list:
            _fail(
                f"--levels: {unknown[0] if unknown else levels!r} is not one of "
                f"{', '.join(known)}" + (" (ordinal items have no strict level)" if ordered else "")
            )
        partial = [t.strip() for f in free for t in f.split(",") if t.strip()]
        with tio.locked_out_dir(out) as out_dir:
            mat = tio.read_item_matrix(
                data,
                participant=participant_col,
                scale=scale,
                na_values=na_values,
                labels=[group],
            )
            x = mat.table.copy()
            g = mat.labels[group]
            x[group] = g.mask(g.isna() | (g.astype(str).str.strip() == "")).to_numpy()
            res = inv.invariance(
                x,
                text,
                group,
                levels=level_list,
                group_partial=partial,
                source=str(model),
                data_source=str(data),
                ordered=ordered,
            )
            groups = res.fits[level_list[0]].groups
            written = [
                tio.write_csv(res.table, out_dir / "invariance.csv"),
                tio.write_csv(res.estimates, out_dir / "invariance_estimates.csv"),
                tio.write_csv(groups, out_dir / "invariance_groups.csv"),
            ]
            written.append(
                tio.write_json(
                    study.provenance(
                        "structure invariance",
                        {
                            "group": group,
                            "free": partial,
                            "levels": level_list,
                            "ordered": ordered,
                            "participant_col": participant_col,
                            "scale": str(mat.scale),
                            **tio.na_values_record(na_values),
                        },
                        {"data": data, "model": model},
                        n_obs=int(groups.n_obs.sum()),
                        groups=[str(v) for v in groups.group],
                    ),
                    out_dir / "provenance.json",
                )
            )
    typer.echo(
        f"{int(groups.n_obs.sum())} respondents in {len(groups)} groups "
        f"({', '.join(f'{a}: {b}' for a, b in zip(groups.group, groups.n_obs, strict=True))}); "
        f"reference group {groups.group.iloc[0]}"
    )
    scaled = "_scaled" if ordered else ""
    cols = [
        "level",
        f"chisq{scaled}",
        "df",
        f"cfi{scaled}",
        f"rmsea{scaled}",
        "srmr",
        "delta_chisq",
        "delta_df",
        "p",
        "delta_cfi",
        "delta_rmsea",
    ]
    _echo_table(res.table[cols].round(4), "invariance (each level against the previous):")
    bad = res.table[res.table.status != "ok"]
    for r in bad.itertuples():
        typer.echo(f"warning: {r.level}: {r.status}; read its estimates with care")
    typer.echo(f"wrote {len(written)} files to {out}")
