"""``vp-stats compare-versions``: validity of two versions of the same items (wordings, orders)."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    COLUMN_OPTS,
    DATA_DIR_OPT,
    NA_VALUES_OPT,
    READ_OPTS,
    _echo_table,
    _fail,
    _reading,
    _use_data_dir,
    _user_errors,
    app,
)

__all__ = ["compare_versions_cmd"]


@app.command("compare-versions")
def compare_versions_cmd(
    ratings: Path | None = typer.Option(
        None,
        "--ratings",
        help=(
            "Ratings CSV participant,item,rating[,group] holding both versions of each item "
            "(default: the released Value Portrait ratings)."
        ),
    ),
    scores: Path | None = typer.Option(
        None,
        "--scores",
        help=(
            "The raters' scores CSV: long participant,family,dimension,score or wide "
            "participant,<dimension>,..."
        ),
    ),
    pairs: Path | None = typer.Option(
        None,
        "--pairs",
        help=(
            "Pairs CSV item_a,item_b[,dimension]: the two versions of each item and, optionally, "
            "the value it measures (otherwise every scored dimension)."
        ),
    ),
    versions: str | None = typer.Option(
        None,
        "--versions",
        help=(
            "Instead of --pairs: derive the pairs from the item ids, e.g. likely,similar pairs "
            "abby_Power_likely_04 with abby_Power_similar_14 "
            "(vp_stats.stats.versions.version_pairs), on every scored dimension."
        ),
    ),
    scale: str | None = typer.Option(
        None,
        "--scale",
        help=(
            "Rating scale LOW-HIGH (ratings outside are errors). Default: 1-6 for Value Portrait, "
            "else inferred."
        ),
    ),
    families: str | None = typer.Option(
        None,
        "--families",
        help="Comma-separated families of dimensions (default: every family in the scores).",
    ),
    method: str = typer.Option(
        "spearman", help="Correlation: spearman (as item validation) or pearson."
    ),
    ci: float = typer.Option(
        0.95, help="Coverage of Zou's intervals and of the pooled bootstrap interval."
    ),
    n_boot: int = typer.Option(
        1000, "--n-boot", help="Rater resamples for the pooled interval (0: none)."
    ),
    seed: int = typer.Option(
        0, help="Seed of the rater bootstrap; equal seeds give identical tables."
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    item_col: str = COLUMN_OPTS["item"],
    rating_col: str = COLUMN_OPTS["rating"],
    na_values: str | None = NA_VALUES_OPT,
    sep: str | None = READ_OPTS["sep"],
    decimal: str | None = READ_OPTS["decimal"],
    sheet: str | None = READ_OPTS["sheet"],
    data_dir: Path | None = DATA_DIR_OPT,
    out: Path = typer.Option(
        ...,
        "--out",
        help=(
            "Output directory for version_comparison.csv, version_comparison_pooled.csv and "
            "provenance.json."
        ),
    ),
) -> None:
    """Compare the validity of two versions of each item.

    rho_a vs rho_b, with the same raters' value scores.

    Writes OUT/version_comparison.csv (item_a, item_b, dimension, n, rho_a, rho_b, r_ab, diff,
    williams_t, p_williams, steiger_z, p_steiger, zou_low, zou_high, family): Williams' t
    (Steiger 1980 eq. 7), Steiger's Z (eq. 14) and Zou's (2007) CI of diff = rho_a - rho_b;
    OUT/version_comparison_pooled.csv (per dimension, and 'all' when the pairs name their
    dimensions: mean diff with a rater-bootstrap CI); OUT/provenance.json.
    """
    from vp_stats.io import tables as tio
    from vp_stats.stats import versions as vs
    from vp_stats.studies import validate as study

    _use_data_dir(data_dir)
    if (pairs is None) == (versions is None):
        _fail("give the item pairs: --pairs FILE (item_a,item_b[,dimension]) or --versions A,B")
    fams = [f.strip() for f in families.split(",") if f.strip()] if families else None
    with _user_errors(), _reading(sep, decimal, sheet):
        vs.check_options(method, ci, n_boot)
        rule = None
        if versions is not None:
            names = [v.strip() for v in versions.split(",") if v.strip()]
            if len(names) != 2 or names[0] == names[1]:
                raise ValueError(
                    f"--versions needs two different names separated by a comma, got {versions!r}"
                )
            rule = tuple(names)
        out_dir = tio.prepare_out_dir(out)
        r, s, info = study.load_study(
            ratings,
            scores,
            scale=scale,
            participant=participant_col,
            item=item_col,
            rating=rating_col,
            data_dir=data_dir,
            na_values=na_values,
        )
        if rule is not None:
            table = vs.version_pairs(r["item"].unique(), rule)[["item_a", "item_b"]]
        else:
            table = tio.read_csv(pairs, what="pairs file")
        res = vs.compare_versions(
            r,
            s,
            table,
            fams,
            method=method,
            ci=ci,
            n_boot=n_boot,
            seed=seed,
            scale=info["scale_obj"],
            pairs_source=str(pairs) if pairs is not None else None,
            validated=True,  # load_study ran the contracts
        )
        comp, pooled = res.comparison, res.pooled
        inputs = {**info["inputs"], "pairs": pairs}
        params = {
            "method": method,
            "ci": ci,
            "n_boot": n_boot,
            "seed": seed,
            "versions": list(rule) if rule else None,
            "families": list(dict.fromkeys(comp["family"])),
            **tio.na_values_record(na_values),
        }
        prov = study.provenance(
            "compare-versions",
            params,
            inputs,
            source=info["source"],
            scale=info["scale"],
            data_commit=info.get("data_commit"),
            n_pairs=int(len(comp[["item_a", "item_b"]].drop_duplicates())),
            tests={
                "williams_t": "Williams (1959), Steiger (1980) eq. 7, df = n - 3",
                "steiger_z": (
                    "Steiger (1980) eq. 14: Fisher z, Dunn & Clark (1969) covariance at the mean r"
                ),
                "zou": "Zou (2007) CI of rho_a - rho_b",
                "pooled": "mean diff over pairs, percentile CI from a rater bootstrap",
            },
        )
        tio.write_csv(comp, out_dir / "version_comparison.csv")
        tio.write_csv(pooled, out_dir / "version_comparison_pooled.csv")
        tio.write_json(prov, out_dir / "provenance.json")
    typer.echo(
        f"{len(comp)} comparisons of {prov['n_pairs']} item pairs ({method}); rating scale "
        f"{info['scale']}"
    )
    a, b = rule if rule is not None else ("a", "b")
    show = pooled[
        [
            "dimension",
            "n_pairs",
            "mean_rho_a",
            "mean_rho_b",
            "mean_diff",
            "ci_low",
            "ci_high",
            "n_a_better",
            "n_b_better",
        ]
    ].round(3)
    show = show.rename(columns=_version_headers(a, b))
    what = (
        f"version a = {a!r}, version b = {b!r} (--versions)"
        if rule is not None
        else "version a = item_a, version b = item_b of the pairs file"
    )
    _echo_table(show, f"pooled over pairs; {what}; diff = rho_{a} - rho_{b}:")
    if (pooled["dimension"] == "all").any():  # compare_versions adds "all" for named values
        typer.echo(
            "each pair is compared on the value its pairs file names (column dimension): "
            f"rho_{a} and rho_{b} are the validities against that intended value; the row "
            "'all' pools every pair on its own value."
        )
    else:
        typer.echo(
            "the pairs name no intended value, so each pair is compared on every scored "
            "dimension (add a column dimension to the pairs file to compare each pair on its "
            "own value only)."
        )
    pct = f"{ci:.0%}"
    typer.echo(
        f"n_{a}_better / n_{b}_better: pairs whose Zou {pct} CI of rho_{a} - rho_{b} lies above / "
        f"below 0 (the other pairs show no difference); ci_low, ci_high: {pct} rater-bootstrap "
        "CI of mean_diff. The CSV files keep the columns _a/_b (a = "
        f"{a!r}, b = {b!r})."
    )
    typer.echo(
        f"wrote {out_dir / 'version_comparison.csv'}, {out_dir / 'version_comparison_pooled.csv'} "
        f"and {out_dir / 'provenance.json'}"
    )


def _version_headers(a: str, b: str) -> dict[str, str]:
    """Printed column names with the versions' names instead of ``a`` and ``b``.

    Examples
    --------
    >>> _version_headers("likely", "similar")["n_a_better"]
    'n_likely_better'
    """
    return {
        "mean_rho_a": f"mean_rho_{a}",
        "mean_rho_b": f"mean_rho_{b}",
        "n_a_better": f"n_{a}_better",
        "n_b_better": f"n_{b}_better",
    }
