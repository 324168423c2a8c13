"""``vp-stats personas``: run an LLM under demographic personas and compare with human data."""

from __future__ import annotations

from pathlib import Path

import typer

from vp_stats.cli._common import (
    BACKEND_OPTS,
    DATA_DIR_OPT,
    _backend,
    _echo_table,
    _fail,
    _use_data_dir,
    _user_errors,
    app,
)

__all__ = ["personas_app", "personas_run", "personas_compare", "personas_humans"]

personas_app = typer.Typer(
    no_args_is_help=True,
    help="Demographic personas: run an LLM under personas and compare with human data.",
)
app.add_typer(personas_app, name="personas")


@personas_app.command("run")
def personas_run(
    out: Path = typer.Option(
        Path("data/processed/personas"),
        "--out",
        help="Output directory (answers, profiles, comparison tables, cache answers.sqlite).",
    ),
    grid: str = typer.Option(
        "paper",
        help=(
            "paper (the paper's 25 single-attribute personas + the plain model), notebook (a "
            "small grid) or values (two personas per basic value, compared with the raters who "
            "hold the value: steerability)."
        ),
    ),
    personas: Path | None = typer.Option(
        None,
        "--personas",
        help=(
            "Persona file (CSV): one row per persona, attribute columns (gender, age, country, "
            "...), optional backstory (free text) and persona_id. Replaces --grid."
        ),
    ),
    sample_from: str | None = typer.Option(
        None,
        "--sample-from",
        help=(
            "Draw --n personas from a human sample's joint demographics (a silicon sample): "
            "sapa-bfi or sapa-spi (psychTools: gender, age band, education, or the columns "
            "of --group-col) or a CSV of people "
            "(its columns are the attributes; --weight names a survey-weight column)."
        ),
    ),
    n_personas: int = typer.Option(20, "--n", help="With --sample-from: personas to draw."),
    weight: str | None = typer.Option(
        None, "--weight", help="With --sample-from FILE: the survey-weight column."
    ),
    instrument: str = typer.Option(
        "items",
        "--instrument",
        help=(
            "What the personas answer: items (Value Portrait items, compared with the raters), "
            "pvq21, bfi10 (scores; compare with SAPA group gaps by personas compare --human) or "
            "ipip (SAPA's 25 bfi items, compared with the SAPA respondents by gender, age band "
            "and education, or by --group-col, at the distribution level; texts read from "
            "psychTools)."
        ),
    ),
    psychtools: Path | None = typer.Option(
        None,
        "--psychtools",
        help="psychTools folder (default: $VP_PSYCHTOOLS, else found through R).",
    ),
    steering: str = typer.Option(
        "attributes",
        "--steering",
        help=(
            "How a persona is described (OpinionQA's steering contexts): attributes (profile "
            "lines, as the Value Portrait paper), qa (each attribute as an answered survey "
            "question), bio (a first-person description) or portray ('Answer ... as if ...')."
        ),
    ),
    n_per_value: int | None = typer.Option(
        None, "--n-per-value", help="Use only N validated items per value (default: all 520 items)."
    ),
    items: str | None = typer.Option(
        None,
        "--items",
        help=(
            "Only these items. --instrument items: all, a number N (a sample seeded by --seed) "
            "or a CSV file with portrait_id,option_id (after --n-per-value); a questionnaire: "
            "comma-separated item ids (ipip: A1,E3,...; bfi10 and pvq21: 1,2,...)."
        ),
    ),
    plain: bool = typer.Option(
        True, "--plain/--no-plain", help="Also run the plain model (no persona; the shifts' base)."
    ),
    group_cols: list[str] | None = typer.Option(
        None,
        "--group-col",
        help=(
            "With --sample-from sapa-bfi/sapa-spi: the columns of the SAPA data the personas "
            "are drawn on and (--instrument ipip) compared by, repeatable or comma-separated "
            "(e.g. gender,education; codes as labelled in psychTools, ages in quantile bands). "
            "Default: gender, age band and education (the paper's levels)."
        ),
    ),
    variants: str = typer.Option("v1", help="Comma-separated prompt variants."),
    mode: str = typer.Option(
        "logprobs",
        help=(
            "text, grammar or logprobs (openai: exact with --chat-template, else the first-token "
            "approximation)."
        ),
    ),
    backend: str = BACKEND_OPTS["backend"],
    model: str | None = BACKEND_OPTS["model"],
    model_path: Path | None = BACKEND_OPTS["model_path"],
    base_url: str | None = BACKEND_OPTS["base_url"],
    api_key_env: str = BACKEND_OPTS["api_key_env"],
    concurrency: int = typer.Option(4, help="openai: parallel requests."),
    timeout: float = BACKEND_OPTS["timeout"],
    retries: int = BACKEND_OPTS["retries"],
    chat_template: Path | None = BACKEND_OPTS["chat_template"],
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples of the comparisons."),
    seed: int = typer.Option(0, help="Seed of the bootstraps (and of --sample-from)."),
) -> None:
    """Run a model under personas (a grid, a persona file or a sample drawn from real people;
    cached, resumable), write the comparisons and figures, and print their summary."""
    from vp_stats.errors import DataError
    from vp_stats.llm import backends, runner
    from vp_stats.studies import personas as persona_studies

    if mode not in runner.MODES:
        _fail(f"--mode must be one of {', '.join(runner.MODES)}")
    if instrument not in persona_studies.INSTRUMENTS:
        _fail(f"--instrument must be one of {', '.join(persona_studies.INSTRUMENTS)}")
    if personas is not None and sample_from is not None:
        _fail("give --personas or --sample-from, not both")
    cols = _split_cols(group_cols)
    if cols and sample_from not in persona_studies.SAMPLE_SOURCES:
        _fail("--group-col goes with --sample-from sapa-bfi or sapa-spi")
    table = None
    with _user_errors():
        if personas is not None:
            from vp_stats.io import personas as pio

            table = persona_studies.personas_from_table(pio.read_persona_file(personas))
        elif sample_from is not None:
            ref = sample_from
            if sample_from not in persona_studies.SAMPLE_SOURCES:
                from vp_stats.io import tables as tio

                ref = tio.read_csv(sample_from, what="--sample-from file")
                if weight is not None:
                    ref[weight] = ref[weight].astype(float)
            table = persona_studies.sampled_personas(
                ref,
                n_personas,
                weight=weight,
                seed=seed,
                path=psychtools,
                group_cols=cols,
            )
    be = _backend(
        backend,
        model=model,
        model_path=model_path,
        base_url=base_url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        chat_template=chat_template,
    )
    try:
        res = persona_studies.run_persona_study(
            out,
            grid=grid,
            n_per_value=n_per_value,
            variants=tuple(v.strip() for v in variants.split(",")),
            mode=mode,
            backend=be,
            n_boot=n_boot,
            seed=seed,
            personas_table=table,
            instrument=instrument,
            psychtools=psychtools,
            steering=steering,
            items=items,
            include_plain=plain,
            group_cols=cols,
        )
    except (backends.BackendError, RuntimeError) as exc:
        _fail(str(exc), code=1)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    errors = res.answers["error"].dropna().astype(str)
    n_failed = int((~errors.str.startswith("unparseable answer")).sum())
    for line in persona_studies.comparison_summary(res, res.answers):
        typer.echo(line)
    if instrument in ("pvq21", "bfi10") and len(res.table):
        means = res.table.groupby("dimension", sort=False)["score"].mean().round(2)
        typer.echo(
            f"{instrument} mean scores over personas: "
            + ", ".join(f"{k} {v}" for k, v in means.items())
        )
    typer.echo(f"tables written to {out}")
    if n_failed:
        _fail(
            f"{n_failed} call(s) failed and are not cached; rerun the same command to retry them",
            code=1,
        )


def _split_cols(values: list[str] | None) -> list[str] | None:
    """``--group-col a --group-col b,c`` -> ``["a", "b", "c"]`` (None when not given)."""
    if not values:
        return None
    cols = [c.strip() for v in values for c in v.split(",") if c.strip()]
    return list(dict.fromkeys(cols)) or None


@personas_app.command("compare")
def personas_compare(
    answers: Path = typer.Argument(
        ..., help="Answers CSV of a persona run (personas run writes OUT/answers.csv)."
    ),
    out: Path = typer.Option(
        Path("data/processed/personas"), "--out", help="Directory for the comparison tables."
    ),
    ess: Path | None = typer.Option(
        None,
        "--ess",
        help=(
            "ESS microdata (.csv, .dta, .sav; downloaded by you from the ESS Data Portal). "
            "With PVQ-21 answers (personas run --instrument pvq21): the distribution level, "
            "each persona against the ESS respondents of its own group and the others, "
            "weighted; with Value Portrait item answers: the group gap of --group."
        ),
    ),
    ess_weight: str = typer.Option(
        "auto",
        "--ess-weight",
        help=(
            "With --ess and PVQ-21 answers: the ESS weight variable(s), e.g. anweight, "
            "pspwght, dweight or "
            "pspwght*pweight; auto = anweight (= pspwght x pweight, the ESS's weight for "
            "analyses across countries); none = unweighted."
        ),
    ),
    ess_countries: str | None = typer.Option(
        None,
        "--ess-countries",
        help=(
            "With --ess and PVQ-21 answers: keep only these ESS countries (cntry codes, "
            "comma-separated: DE,FR)."
        ),
    ),
    group: str | None = typer.Option(
        None,
        "--group",
        "--group-col",
        help=(
            "Group column of the human data and persona attribute, e.g. gender (with --ess: "
            "gender, age, ...; with --human: gender, age or education)."
        ),
    ),
    group_a: str | None = typer.Option(None, "--group-a", help="First group (value of --group)."),
    group_b: str | None = typer.Option(None, "--group-b", help="Second group."),
    n_boot: int = typer.Option(1000, "--n-boot"),
    seed: int = typer.Option(0),
    human: str | None = typer.Option(
        None,
        "--human",
        help=(
            "Compare the run's BFI-10 answers with real human group gaps instead: sapa-bfi or "
            "sapa-spi (R's psychTools, read where R installed it)."
        ),
    ),
    psychtools: Path | None = typer.Option(
        None,
        "--psychtools",
        help="With --human: the psychTools folder (default: $VP_PSYCHTOOLS, else found through R).",
    ),
    sd_reference: str = typer.Option(
        "value-portrait",
        "--sd-reference",
        help=(
            "With --human: standardise persona gaps by the SD of the Value Portrait participants' "
            "BFI-10 scores (value-portrait) or by the spread between persona runs (personas)."
        ),
    ),
    data_dir: Path | None = DATA_DIR_OPT,
) -> None:
    """Compare persona answers with the human raters: item, population, (with ESS data) group level.

    With --human, compare the group gaps of a persona run's BFI-10 answers with a SAPA sample's
    (Cohen's d on both sides: the BFI-10 and the IPIP items are different instruments for the same
    traits) and write persona_vs_human.csv, human_group_gaps.csv, persona_bfi10_scores.csv and
    provenance.json to --out.
    """
    from vp_stats.errors import DataError
    from vp_stats.studies import personas as persona_studies

    _use_data_dir(data_dir)
    if human is not None:
        _compare_humans(
            answers, out, human, group, group_a, group_b, psychtools, sd_reference, n_boot, seed
        )
        return
    if not answers.exists():
        _fail(f"answers file not found: {answers}")
    countries = None if ess_countries is None else [c.strip() for c in ess_countries.split(",")]
    if ess is not None and _compare_ess(
        answers, out, ess, ess_weight, countries, group, n_boot, seed
    ):
        return
    try:
        res = persona_studies.compare_file(
            answers,
            ess_path=ess,
            group=group,
            group_a=group_a,
            group_b=group_b,
            n_boot=n_boot,
            seed=seed,
        )
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    from vp_stats.io import personas as pio
    from vp_stats.io import tables as tio

    with _user_errors():
        out_dir = tio.prepare_out_dir(out)
        for name, df in res.named_tables().items():
            tio.write_csv(df, out_dir / f"compare_{name}.csv")
            typer.echo(
                f"wrote {out_dir / f'compare_{name}.csv'} ({len(df)} rows)"
                + (f"  note: {res.notes[name]}" if res.notes.get(name) else "")
            )
        ans = pio.read_answer_file(answers)
        for path in persona_studies.write_study_figures(out_dir, res, prefix="compare_"):
            typer.echo(f"wrote {path}")
    for line in persona_studies.comparison_summary(res, ans):
        typer.echo(line)
    if ess is not None:
        typer.echo(
            "note: the ESS holds no answers to the Value Portrait items, so these answers meet "
            "the ESS as group gaps of value scores only; the distribution level (fidelity, "
            "steerability) needs PVQ-21 answers (personas run --instrument pvq21)"
        )


def _compare_ess(answers, out, ess, ess_weight, countries, group, n_boot, seed) -> bool:
    """PVQ-21 answers against ESS microdata at the distribution level; False: not PVQ-21 answers.

    Writes ``compare_ess_*.csv`` (fidelity, its summary, each persona against its own ESS
    group, steerability, the ESS groups) and the figures (fidelity per persona, a
    steerability heat map per attribute) to ``out`` and prints the summary.
    """
    from vp_stats.errors import DataFormatError
    from vp_stats.io import personas as pio
    from vp_stats.io import tables as tio
    from vp_stats.studies import ess_fidelity as ef
    from vp_stats.studies import personas as persona_studies

    with _user_errors():
        ans = pio.read_answer_file(answers)
        if not ef.is_pvq21_answers(ans):
            return False
        if group is not None and group not in ans.columns:
            raise DataFormatError(
                answers,
                None,
                group,
                f"the answers have no persona attribute column {group!r} (columns: "
                f"{', '.join(map(str, ans.columns))})",
            )
        res = ef.ess_fidelity_file(
            ans,
            ess,
            attributes=None if group is None else [group],
            weight=None if ess_weight.lower() == "none" else ess_weight,
            countries=countries,
            n_boot=n_boot,
            seed=seed,
        )
        out_dir = tio.prepare_out_dir(out)
        for name, df in ef.ess_tables(res).items():
            tio.write_csv(df, out_dir / f"compare_{name}.csv")
            typer.echo(f"wrote {out_dir / f'compare_{name}.csv'} ({len(df)} rows)")
        for path in ef.write_ess_figures(out_dir, res, prefix="compare_ess_"):
            typer.echo(f"wrote {path}")
    for line in persona_studies.comparison_summary(res, ans):
        typer.echo(line)
    for line in ef.ess_summary(res):
        typer.echo(line)
    return True


def _compare_humans(
    answers, out, human, group, group_a, group_b, psychtools, sd_reference, n_boot, seed
) -> None:
    from vp_stats.io import personas as pio
    from vp_stats.io import tables as tio
    from vp_stats.stats import humans
    from vp_stats.studies import humans as human_studies
    from vp_stats.studies.validate import provenance

    with _user_errors():
        if human not in humans.HUMAN_SOURCES:
            raise ValueError(f"--human must be one of {list(humans.HUMAN_SOURCES)}, got {human!r}")
        if sd_reference not in ("value-portrait", "personas"):
            raise ValueError(
                f"--sd-reference must be value-portrait or personas, got {sd_reference!r}"
            )
        out_dir = tio.prepare_out_dir(out)
        ans = pio.read_answer_file(answers)
        if _is_ipip(ans):
            _compare_ipip(ans, out_dir, human, group, psychtools, n_boot, seed)
            return
        group = group or "gender"
        res = human_studies.compare_with_humans(
            ans,
            human,
            group,
            group_a,
            group_b,
            path=psychtools,
            sd_reference=None if sd_reference == "personas" else sd_reference,
            n_boot=n_boot,
            seed=seed,
        )
        table = res.table
        prov = provenance(
            "personas compare --human",
            {
                "human": human,
                "group": group,
                "group_a": group_a,
                "group_b": group_b,
                "sd_reference": sd_reference,
                "n_boot": n_boot,
                "seed": seed,
            },
            {"answers": answers, **human_studies._psychtools_inputs(psychtools)},
            note=res.note,
            effect_size=res.human_gaps.effect_size,
            psychtools_version=human_studies._psychtools_version(psychtools),
        )
        for name, df in (
            ("persona_vs_human", table),
            ("human_group_gaps", res.human_gaps.table),
            ("persona_bfi10_scores", res.persona_scores),
        ):
            tio.write_csv(df, out_dir / f"{name}.csv")
        tio.write_json(prov, out_dir / "provenance.json")
    cols = [
        "dimension",
        "group_a",
        "group_b",
        "persona_d",
        "human_d",
        "d_difference",
        "d_difference_ci_low",
        "d_difference_ci_high",
        "sign_agree",
    ]
    _echo_table(table[cols].round(3), f"persona vs {human} ({res.note})")
    typer.echo(
        f"wrote {out_dir / 'persona_vs_human.csv'}, human_group_gaps.csv, "
        "persona_bfi10_scores.csv, provenance.json"
    )


def _is_ipip(ans) -> bool:
    from vp_stats.io.psychtools import BFI_ITEMS

    return "item" in ans.columns and ans["item"].astype(str).isin(BFI_ITEMS).any()


def _compare_ipip(ans, out_dir, human, group, psychtools, n_boot, seed) -> None:
    """A run's SAPA IPIP answers against the SAPA respondents at the distribution level."""
    from vp_stats.io import tables as tio
    from vp_stats.studies import personas as persona_studies

    if human != "sapa-bfi":
        raise ValueError(
            "the answers are SAPA bfi (IPIP) items: compare them with --human sapa-bfi, "
            f"not {human}"
        )
    res = persona_studies.sapa_fidelity(
        ans,
        source=human,
        path=psychtools,
        attributes=None if group is None else [group],
        n_boot=n_boot,
        seed=seed,
    )
    written = []
    for name, df in res.named_tables().items():
        if name in ("population", "answers"):
            continue
        tio.write_csv(df, out_dir / f"compare_{name}.csv")
        written.append(f"compare_{name}.csv")
    figs = persona_studies.write_study_figures(out_dir, res, prefix="compare_")
    written += [p.name for p in figs]
    for line in persona_studies.comparison_summary(res, ans):
        typer.echo(line)
    for note in res.notes.values():
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {', '.join(written)} to {out_dir}")


@personas_app.command("humans")
def personas_humans(
    source: str = typer.Option(
        "sapa-bfi",
        "--source",
        help=(
            "sapa-bfi (psychTools bfi, 2,800 SAPA respondents) or sapa-spi (psychTools spi, 4,000)."
        ),
    ),
    group: str = typer.Option(
        "gender",
        "--group",
        help="gender, age (the paper's 4 age bands) or education (the paper's 4 levels).",
    ),
    group_cols: list[str] | None = typer.Option(
        None,
        "--group-col",
        help=(
            "Instead of --group: any column of the data, repeatable or comma-separated "
            "(sapa-bfi: gender, age, age_band, education; sapa-spi also sex, health, p1edu, "
            "p2edu, wellness, exer, smoke, ER). Codes become psychTools' documented labels "
            "(else 'COL code N'), ages quantile bands; one block of rows per column."
        ),
    ),
    n_bands: int = typer.Option(
        4, "--n-bands", help="With --group-col: quantile bands of a many-valued column (age)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder: human_group_gaps.csv and provenance.json."
    ),
    group_a: str | None = typer.Option(
        None, "--group-a", help="First group (default: every pair of levels)."
    ),
    group_b: str | None = typer.Option(None, "--group-b", help="Second group."),
    psychtools: Path | None = typer.Option(
        None,
        "--psychtools",
        help="The psychTools folder (default: $VP_PSYCHTOOLS, else found through R).",
    ),
    n_boot: int = typer.Option(
        2000, "--n-boot", help="Bootstrap resamples (within groups) for the CIs of d."
    ),
    ci: float = typer.Option(0.95, "--ci"),
    seed: int = typer.Option(0, "--seed"),
    n_perm: int = typer.Option(
        200, "--n-perm", help="Label shuffles for the floor of the answer-distribution distances."
    ),
) -> None:
    """Real human group gaps of a SAPA sample: Cohen's d (pooled SD) with CIs, and how far
    apart the groups' answer distributions are (W1, JS) against randomly formed groups."""
    from vp_stats.stats import humans
    from vp_stats.studies import humans as human_studies

    cols = _split_cols(group_cols)
    with _user_errors():
        if n_bands < 2:
            raise ValueError(f"--n-bands must be at least 2, got {n_bands}")
        gaps = human_studies.human_gaps_study(
            source,
            group,
            out,
            path=psychtools,
            group_a=group_a,
            group_b=group_b,
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            group_cols=cols,
            n_bands=n_bands,
        )
        dist = human_studies.human_distribution_study(
            source,
            group,
            out,
            path=psychtools,
            n_perm=n_perm,
            seed=seed,
            group_cols=cols,
            n_bands=n_bands,
        )
    lead = ["group"] if cols else []
    _echo_table(
        gaps.table[[*lead, *humans.HUMAN_GAP_COLUMNS]].round(3), f"{source}: {gaps.effect_size}"
    )
    _echo_table(
        dist[
            [*lead, "group_a", "group_b", "n_a", "n_b", "w1", "perm_w1", "js_distance", "w1_p"]
        ].round(3),
        "answer distributions, mean over items (perm_w1: groups of these sizes drawn at random)",
    )
    typer.echo(
        f"wrote {Path(out) / 'human_group_gaps.csv'}, group_distances.csv and provenance.json"
    )
