"""``vp-stats structure grm`` and ``vp-stats structure dif``: measurement of ordinal items.

Thin wrappers over :func:`vp_stats.stats.irt.fit_grm` (graded response model) and
:func:`vp_stats.stats.dif.ordinal_dif` (ordinal logistic regression DIF), registered under the
``structure`` group of :mod:`vp_stats.cli.structure`. The items file has one row per respondent
and one column per item (whole-number answers, empty or ``NA`` = missing), optionally a
participant column and, for DIF, a group column. Outputs are written atomically with a
``provenance.json`` beside them (file formats: docs/formats.rst).
"""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import COLUMN_OPTS, _echo_table, _fail, _user_errors
from vp_stats.cli.structure import DATA_OPT, structure_app

__all__ = ["grm_cmd", "dif_cmd"]

ITEMS_OPT = typer.Option(
    None,
    "--items",
    help="Item columns, comma-separated (default: every column but the participant and group "
    "columns).",
)
OUT_OPT = typer.Option(..., "--out", help="Output directory.")


def _read(data: Path, participant: str):
    """The items file as text cells, rows numbered as in the file (row 1 = line 2)."""
    import pandas as pd

    from vp_stats.io import tables as tio

    df = tio.read_csv(data, what="items file")
    df = df.mask(df.isin(["NA", "NaN", "nan"]))  # R's write.csv writes missing cells as NA
    if participant in df.columns:
        df = df.set_index(participant)
    else:
        df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    return df


def _item_list(spec: str | None, df, data: Path, exclude=()) -> list[str]:
    from vp_stats.errors import DataFormatError

    if spec is None:
        return [c for c in df.columns if c not in exclude]
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        _fail("--items names no column")
    for i in items:
        if i not in df.columns:
            raise DataFormatError(
                data, None, i, f"no such column (--items); columns: {list(df.columns)}"
            )
    return items


@structure_app.command("grm")
def grm_cmd(
    data: Path = DATA_OPT,
    items: str | None = ITEMS_OPT,
    link: str = typer.Option(
        "logit",
        "--link",
        help="logit (Samejima's logistic GRM, mirt's metric) or probit (normal-ogive GRM, the "
        "metric of an ordinal one-factor CFA).",
    ),
    n_quadrature: int = typer.Option(
        61, "--n-quadrature", min=11, help="Gauss-Hermite nodes of the marginal likelihood."
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    out: Path = OUT_OPT,
) -> None:
    """Graded response model by marginal maximum likelihood, with standard errors.

    Writes OUT/grm_items.csv (item, a, a_se, b1 .. b<K-1>, their _se, n_categories,
    n_responses), OUT/grm_parameters.csv (item, parameter, estimate, se),
    OUT/grm_information.csv (theta, item, information; item "test" = the test information),
    OUT/grm_abilities.csv (participant, ability, ability_sd, n_responses: EAP and posterior SD)
    and OUT/provenance.json.
    """
    import warnings

    from vp_stats.io import tables as tio
    from vp_stats.stats import irt
    from vp_stats.studies import validate as study

    with _user_errors():
        if link not in ("logit", "probit"):
            _fail(f"--link must be logit or probit, got {link!r}")
        with tio.locked_out_dir(out) as out_dir:
            df = _read(data, participant_col)
            cols = _item_list(items, df, data)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # convergence: printed below
                res = irt.fit_grm(
                    df, items=cols, link=link, n_quadrature=n_quadrature, source=str(data)
                )
            ab = res.abilities()
            written = [
                tio.write_csv(res.items, out_dir / "grm_items.csv"),
                tio.write_csv(res.summary_frame(), out_dir / "grm_parameters.csv"),
                tio.write_csv(res.information(), out_dir / "grm_information.csv"),
                tio.write_csv(ab, out_dir / "grm_abilities.csv"),
            ]
            notes = {k: v for k, v in res.notes.items() if k != "estimator"}
            written.append(
                tio.write_json(
                    study.provenance(
                        "structure grm",
                        {
                            "items": cols,
                            "link": link,
                            "n_quadrature": n_quadrature,
                            "participant_col": participant_col,
                        },
                        {"data": data},
                        **notes,
                    ),
                    out_dir / "provenance.json",
                )
            )
    typer.echo(
        f"{res.notes['n_participants']} respondents, {len(cols)} items; marginal log-likelihood "
        f"{res.notes['loglik']:.3f} ({link} link)"
    )
    if not res.notes["converged"]:
        typer.echo("warning: the fit may not have converged; read the estimates with care")
    show = ["item", "a", "a_se", *[c for c in res.items.columns if c[1:].isdigit()]]
    _echo_table(res.items[show].round(3), "item parameters (a: discrimination, b: thresholds):")
    typer.echo(f"wrote {len(written)} files to {out}")


@structure_app.command("dif")
def dif_cmd(
    data: Path = DATA_OPT,
    group: str = typer.Option(..., "--group", help="The group column (two or more groups)."),
    items: str | None = ITEMS_OPT,
    reverse: str | None = typer.Option(
        None,
        "--reverse",
        help="Reverse-keyed items, comma-separated: recoded low + high - x (the item's lowest "
        "and highest answers in the file) before the matching score is summed.",
    ),
    matching: str = typer.Option(
        "total", "--matching", help="Matching score: total (all items) or rest (all but the item)."
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Level of the likelihood-ratio test."),
    r2_threshold: float = typer.Option(
        0.02, "--r2-threshold", help="Least McFadden R^2 change (M3 vs M1) of a flagged item."
    ),
    participant_col: str = COLUMN_OPTS["participant"],
    out: Path = OUT_OPT,
) -> None:
    """Differential item functioning by ordinal logistic regression (Zumbo 1999; lordif).

    For each item, proportional-odds models item ~ score (M1), + group (M2), + score:group (M3).
    Writes OUT/dif.csv (one row per item: n, log-likelihoods, likelihood-ratio chi2, df and p
    of the uniform, non-uniform and total tests, McFadden and Nagelkerke R^2 changes,
    beta_change, jodoin_gierl, flag, dif_type) and OUT/provenance.json. Respondents with a
    missing answer or group are left out.
    """
    import pandas as pd

    from vp_stats.errors import DataFormatError
    from vp_stats.io import tables as tio
    from vp_stats.stats import dif
    from vp_stats.studies import validate as study

    with _user_errors():
        if matching not in ("total", "rest"):
            _fail(f"--matching must be total or rest, got {matching!r}")
        with tio.locked_out_dir(out) as out_dir:
            df = _read(data, participant_col)
            if group not in df.columns:
                raise DataFormatError(
                    data, None, group, f"no such column (--group); columns: {list(df.columns)}"
                )
            cols = _item_list(items, df, data, exclude=(group,))
            rev = [s.strip() for s in (reverse or "").split(",") if s.strip()]
            for r in rev:
                if r not in cols:
                    raise DataFormatError(data, None, r, "--reverse names a column not an item")
            if rev:
                from vp_stats.stats.irt import ordinal_codes

                ordinal_codes(df[rev], source=str(data))  # integer answers, checked
                x = df[rev].apply(pd.to_numeric)
                df = df.copy()
                df[rev] = x.min() + x.max() - x
            res = dif.ordinal_dif(
                df,
                group,
                items=cols,
                matching=matching,
                alpha=alpha,
                r2_threshold=r2_threshold,
                source=str(data),
            )
            written = [tio.write_csv(res.table, out_dir / "dif.csv")]
            written.append(
                tio.write_json(
                    study.provenance(
                        "structure dif",
                        {
                            "group": group,
                            "items": cols,
                            "reverse": rev,
                            "matching": matching,
                            "alpha": alpha,
                            "r2_threshold": r2_threshold,
                            "participant_col": participant_col,
                        },
                        {"data": data},
                        groups=res.notes["groups"],
                        n_participants=res.notes["n_participants"],
                        rule=res.notes["rule"],
                    ),
                    out_dir / "provenance.json",
                )
            )
    t = res.table
    typer.echo(
        f"{res.notes['n_participants']} respondents in {len(res.notes['groups'])} groups "
        f"({', '.join(res.notes['groups'])}), {len(cols)} items; {res.notes['rule']}"
    )
    _echo_table(
        t[["item", "chi2_uniform", "p_uniform", "chi2_nonuniform", "p_nonuniform",
           "delta_r2_mcfadden_total", "flag", "dif_type"]].round(4)
    )  # fmt: skip
    typer.echo(f"{int(t.flag.sum())} item(s) flagged; wrote {len(written)} files to {out}")
