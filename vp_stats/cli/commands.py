"""Value Portrait core commands: validate, average, score, reproduce, run-llm, questionnaire."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from vp_stats.cli._common import (
    BACKEND_OPTS,
    COLUMN_OPTS,
    DATA_DIR_OPT,
    NA_VALUES_OPT,
    READ_OPTS,
    _backend,
    _echo_table,
    _fail,
    _provenance,
    _reading,
    _use_data_dir,
    _user_errors,
    app,
)

__all__ = [
    "validate",
    "average",
    "score",
    "reproduce",
    "run_llm",
    "questionnaire_app",
    "questionnaire_score",
]


@app.command()
def validate(
    ratings: Path | None = typer.Option(
        None,
        "--ratings",
        help=(
            "Your ratings CSV: participant,item,rating[,group] (any string item id). Default: the "
            "released Value Portrait ratings."
        ),
    ),
    scores: Path | None = typer.Option(
        None,
        "--scores",
        help=(
            "Your raters' scores CSV: long participant,family,dimension,score or wide "
            "participant,<dimension>,... (families pvq, higher_pvq, bfi)."
        ),
    ),
    pvq21_answers: Path | None = typer.Option(
        None,
        "--pvq21-answers",
        help=(
            "Raw PVQ-21 answers (respondent or participant column + items 1..21, or long "
            "respondent,item,answer), scored first."
        ),
    ),
    bfi10_answers: Path | None = typer.Option(
        None, "--bfi10-answers", help="Raw BFI-10 answers (items 1..10, 1-5), scored first."
    ),
    ess_coding: bool = typer.Option(
        False,
        "--ess-coding",
        help="PVQ-21 answers use the ESS coding (1 = very much like me): reversed before scoring.",
    ),
    derive_higher: bool = typer.Option(
        False,
        "--derive-higher",
        help=(
            "Derive the 4 higher-order values from the 10 basic values (item-count weighted means; "
            "see vp_stats.tables.HIGHER_ORDER_RULE)."
        ),
    ),
    scale: str | None = typer.Option(
        None,
        "--scale",
        help=(
            "Rating scale LOW-HIGH, e.g. 1-5 (ratings outside are errors). Default: 1-6 for Value "
            "Portrait, else inferred and reported."
        ),
    ),
    families: str | None = typer.Option(
        None,
        "--families",
        help=(
            "Comma-separated families to correlate with (default: every family present in the "
            "scores)."
        ),
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
        Path("data/processed"),
        "--out",
        help="Output directory for item_correlations.csv and provenance.json.",
    ),
    threshold: float = typer.Option(
        0.3, help="Selection threshold on rho (strict: rho > threshold)."
    ),
    mode: str = typer.Option(
        "pos", help="Selection mode: pos (rho > t), neg (rho < -t) or abs (|rho| > t)."
    ),
    max_p: float | None = typer.Option(None, "--max-p", help="Also require p_value < MAX_P."),
    max_fdr: str | None = typer.Option(
        None,
        "--max-fdr",
        help=(
            "Also require the Benjamini-Hochberg adjusted p (within each family) < MAX_FDR; "
            "'none': no FDR filter. Default: 0.05 for your own ratings (the paper's rule alone "
            "passes about 2% of null item x dimension pairs at 47 raters, so a third to a half "
            "of what it selects can be false), none for the released Value Portrait data (the "
            "paper's rule)."
        ),
    ),
    p_method: str | None = typer.Option(
        None,
        "--p-method",
        help=(
            "p-value of rho: auto (permutation p given the ties below 100 raters: exact for "
            "n <= 9, else Monte Carlo; t approximation from 100 on), permutation, t (scipy's, "
            "the published tables') or as89 (R's cor.test exact=TRUE, untied data). Default: "
            "auto for your own ratings, t for the released data."
        ),
    ),
    n_perm: int = typer.Option(
        10_000,
        "--n-perm",
        help="Monte Carlo permutations per rater set (seeded by --seed); smallest p 1/(N+1).",
    ),
    min_ci_low: float | None = typer.Option(
        None,
        "--min-ci-low",
        help=(
            "Also require the bootstrap CI to clear this bound on the side of rho (0: the CI "
            "excludes zero)."
        ),
    ),
    n_boot: int = typer.Option(
        1000, "--n-boot", help="Bootstrap resamples of raters for the CIs (0: none)."
    ),
    ci: float = typer.Option(0.95, help="Coverage of the bootstrap confidence intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap; equal seeds give identical tables."),
    procedure: str = typer.Option(
        "correct",
        help="'correct' (each item's own raters; the default) or 'upstream' (reproduces the "
        "published tables, including upstream's treatment of participant group 0; see "
        "vp_stats.stats.validation.UPSTREAM_PROCEDURE_NOTE). Value Portrait data only.",
    ),
) -> None:
    """Correlate every item's ratings with its raters' value and trait scores and select items.

    Without --ratings: the released Value Portrait study. With --ratings and --scores (or raw
    questionnaire answers): your own study. Writes OUT/item_correlations.csv with columns item,
    [portrait_id, option_id,] family, dimension, rho, p_value, n, p_fdr, ci_low, ci_high, selected,
    and OUT/provenance.json (selection rule, scale, seed, inputs), and prints the number of selected
    items per dimension.
    """
    from vp_stats.stats import validation
    from vp_stats.studies import validate as study

    _use_data_dir(data_dir)
    fams = [f.strip() for f in families.split(",") if f.strip()] if families else None
    import warnings

    from vp_stats.io import tables as tio

    with (
        _user_errors(),
        _reading(sep, decimal, sheet),
        tio.locked_out_dir(out),
        warnings.catch_warnings(),  # printed below, with the counts, not as a Python warning
    ):
        warnings.simplefilter("ignore", validation.SelectionErrorWarning)
        fdr = _max_fdr_option(max_fdr)
        res = study.validate_study(
            ratings,
            scores,
            out=out,
            pvq21_answers=pvq21_answers,
            bfi10_answers=bfi10_answers,
            ess_coding=ess_coding,
            derive_higher=derive_higher,
            scale=scale,
            families=fams,
            participant=participant_col,
            item=item_col,
            rating=rating_col,
            threshold=threshold,
            mode=mode,
            max_p=max_p,
            max_fdr=fdr,
            min_ci_low=min_ci_low,
            p_method=p_method or "default",
            n_perm=n_perm,
            n_boot=n_boot,
            ci=ci,
            seed=seed,
            procedure=procedure,
            data_dir=data_dir,
            na_values=na_values,
            progress=sys.stderr.isatty(),
        )
    table, info = res.table, res.notes
    n_items = table["item"].nunique()
    typer.echo(
        f"{n_items} items x {table['dimension'].nunique()} dimensions "
        f"({', '.join(info['families'])}); "
        f"rating scale {info['scale']}"
    )
    if info.get("derived_higher"):
        typer.echo(f"higher-order values derived: {info['derived_higher']}")
    typer.echo(f"p-values: {info['p_values']}")
    summary = validation.validated_summary(table)
    _echo_table(summary, f"selected items per dimension ({info['rule']}):")
    _echo_table(
        res.errors.table.round(4),
        "selection error rates (expected_null: pairs expected to pass by chance if none were "
        "valid; fdp: estimated false-discovery proportion):",
    )
    typer.echo(res.errors.summary)
    if res.errors.warning:
        typer.echo(f"WARNING: {res.errors.warning}")
    typer.echo(
        f"wrote {out / 'item_correlations.csv'} ({len(table)} rows) and {out / 'provenance.json'}"
    )


def _max_fdr_option(value: str | None):
    """``--max-fdr``: None (the study's default), 'none' (no FDR filter) or a number."""
    if value is None:
        return "default"
    if value.strip().lower() in ("none", "off"):
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"--max-fdr must be a number in (0, 1] or 'none', got {value!r}") from None


def _load_corr(correlations: Path | None, data_dir):
    from vp_stats.io import datasets
    from vp_stats.io import tables as tio

    if correlations is None or str(correlations) == "published":
        return datasets.load_published_correlations(data_dir=data_dir)
    return tio.read_correlations(correlations)


@app.command()
def average(
    raw_dir: Path = typer.Option(
        ...,
        "--raw-dir",
        help="Folder of raw result files <model>_<variant>_results.json (searched recursively).",
    ),
    out: Path = typer.Option(
        Path("data/processed/average_outputs.csv"), "--out", help="CSV to write."
    ),
    rule: str = typer.Option(
        "default", help="Answer parsing rule: 'default' or 'upstream' (upstream's substring rule)."
    ),
) -> None:
    """Average raw LLM answers: one row per model and item, one rating column per prompt variant.

    numeric_response is the mean over the parsed variants; n_parsed counts them. Records with an
    'error' field and no answer are failed calls: counted (n_failed), never parsed.
    """
    from vp_stats.io import averaging
    from vp_stats.io import tables as tio

    if not raw_dir.is_dir():
        _fail(f"--raw-dir {raw_dir} is not a directory")
    with _user_errors():
        tio.prepare_out_file(out)
        wide = averaging.average_raw_outputs(raw_dir, rule=rule)
        if wide.empty:
            _fail(
                f"--raw-dir {raw_dir}: no raw result files (<model>_<variant>_results.json) found"
            )
        tio.write_csv(wide, out)
        _provenance(out, "average", {"rule": rule, "raw_dir": str(raw_dir)}, {})
    per_model = wide.groupby("model").agg(
        items=("option_id", "size"), parsed=("n_parsed", "sum"), failed=("n_failed", "sum")
    )
    _echo_table(per_model.reset_index(), "answers per model:")
    typer.echo(f"wrote {out} ({len(wide)} rows)")


@app.command()
def score(
    data_dir: Path | None = DATA_DIR_OPT,
    out: Path = typer.Option(
        Path("data/processed"), "--out", help="Output directory for llm_value_scores.csv."
    ),
    answers: Path | None = typer.Option(
        None,
        "--answers",
        help=(
            "Score these answers instead of the released models: a runner answers.csv (tidy, one "
            "row per variant) or an averaged CSV (numeric_response)."
        ),
    ),
    correlations: Path | None = typer.Option(
        None,
        "--correlations",
        help=(
            "Item correlation table (e.g. your item_correlations.csv); default: the published "
            "tables."
        ),
    ),
    threshold: float = typer.Option(0.3, help="Selection threshold on rho."),
    mode: str = typer.Option(
        "pos",
        help=(
            "Selection mode: pos, neg or abs (abs reverses answers on negatively keyed items as 7 "
            "- x)."
        ),
    ),
    no_exclusions: bool = typer.Option(
        False,
        "--no-exclusions",
        help=(
            "Do not apply upstream's three hand exclusions (vp_stats/data/upstream_exclusions.csv)."
        ),
    ),
    upstream_parity: bool = typer.Option(
        False,
        "--upstream-parity",
        help=(
            "Drop items whose upstream averaged record carries no correlation tags (reproduces the "
            "published scores exactly)."
        ),
    ),
    n_boot: int = typer.Option(
        1000, "--n-boot", help="Bootstrap resamples over items for the CIs (0: none)."
    ),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    na_values: str | None = NA_VALUES_OPT,
) -> None:
    """Score LLM value profiles: centred means over validated items.

    One score per model, family and dimension.

    Writes OUT/llm_value_scores.csv with columns model, family, dimension, centered_mean,
    original_mean, std_dev, n, ci_low, ci_high, centre, n_failed, reason (why a score
    is missing: no validated item, or no answer to any of them).
    """

    from vp_stats import tables
    from vp_stats.errors import TableError
    from vp_stats.io import averaging
    from vp_stats.llm import runner
    from vp_stats.stats import scoring

    _use_data_dir(data_dir)
    from vp_stats.io import tables as tio

    with _user_errors():
        out = tio.prepare_out_dir(out)
        corr = _load_corr(correlations, data_dir)
        exclusions = None if no_exclusions else scoring.upstream_exclusions()
        if answers is None:
            wide = averaging.load_average_outputs()
        else:
            table = tio.read_answers(answers, na_values=na_values)
            unknown = ~table["item"].isin(
                set(
                    corr["item"]
                    if "item" in corr.columns
                    else tables.with_item_column(corr)["item"]
                )
            )
            if unknown.any():
                at = int(unknown.to_numpy().nonzero()[0][0])
                raise TableError(
                    str(answers),
                    at + 1,
                    "item",
                    f"unknown item {table['item'].iloc[at]!r}: not in the "
                    f"correlation table ({int(table.loc[unknown, 'item'].nunique())} unknown "
                    "item(s))",
                )
            # one row per variant (a run's answers) or already averaged (average_outputs)
            wide = runner.per_item_means(table) if "variant" in table.columns else table
        prof = scoring.value_profiles(
            wide,
            corr,
            threshold=threshold,
            mode=mode,
            exclusions=exclusions,
            upstream_parity=upstream_parity,
            n_boot=n_boot,
            seed=seed,
        )
    path = tio.write_csv(prof, out / "llm_value_scores.csv")
    with _user_errors():
        _provenance(
            out,
            "score",
            {
                "threshold": threshold,
                "mode": mode,
                "no_exclusions": no_exclusions,
                "upstream_parity": upstream_parity,
                "n_boot": n_boot,
                "seed": seed,
            },
            {
                "answers": answers,
                "correlations": correlations
                if correlations and str(correlations) != "published"
                else None,
            },
        )
    if prof.model.nunique() > 1:
        _echo_table(
            scoring.mean_profile(prof).round(3),
            f"across-model mean PVQ profile ({prof.model.nunique()} models):",
        )
    else:
        _echo_table(prof[["family", "dimension", "centered_mean", "n"]].round(3))
    typer.echo(f"wrote {path} ({len(prof)} rows)")


@contextmanager
def _collector_spares_imports():
    """Import with CPython's cycle collector off, then leave the imported modules out of every
    later collection (:func:`gc.freeze`) until the block ends.

    Call the yielded ``imported()`` once the heavy modules (pandas, scipy, pandera) are imported:
    they live as long as the process, and without this the collector's full passes traverse
    their objects during the imports and again while the averaged outputs' JSON is parsed (three
    full collections in ``vp-stats reproduce``, about 0.2 of its 2.8 CPU s; peak memory the
    same). Objects created afterwards are collected as usual; at the end the frozen objects go
    back to the collector (unless the caller had frozen some) and its state is restored.
    """
    import gc

    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()

    def imported() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield imported
    finally:
        if not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


@app.command()
def reproduce(
    data_dir: Path | None = DATA_DIR_OPT,
    out: Path = typer.Option(Path("data/processed"), "--out", help="Directory for the tables."),
    notebooks: bool = typer.Option(
        True,
        "--notebooks/--no-notebooks",
        help=(
            "Execute notebooks 01 and 02 headless (in a source checkout: figures to "
            "reports/figures/, executed copies to reports/notebooks/)."
        ),
    ),
    n_boot: int = typer.Option(
        1000, "--n-boot", help="Bootstrap resamples (item CIs and profile CIs)."
    ),
    seed: int = typer.Option(0, help="Seed of every bootstrap."),
) -> None:
    """The paper in one go: item validation, LLM value scores and the figures.

    Writes OUT/item_correlations.csv (recomputed from the released files), OUT/
    item_correlations_upstream.csv (upstream's procedure: equals the published tables),
    OUT/llm_value_scores.csv (the released models scored with the published tables), and, in a
    source checkout, the figures of notebooks 01 and 02 (reports/figures/; the notebooks use their
    own defaults: 1,000 resamples, seed 0).
    """
    import time
    import warnings

    with _collector_spares_imports() as imported:
        from vp_stats.io import tables as tio
        from vp_stats.stats import scoring, validation
        from vp_stats.studies import released
        from vp_stats.studies import validate as _study  # noqa: F401  (reproduce_tables')

        imported()
        _use_data_dir(data_dir)
        t0 = time.perf_counter()
        with _user_errors(), tio.locked_out_dir(out), warnings.catch_warnings():
            warnings.simplefilter("ignore", validation.SelectionErrorWarning)  # printed below
            res = released.reproduce_tables(out, data_dir, n_boot=n_boot, seed=seed, progress=True)
    table, prof = res["item_correlations"], res["llm_value_scores"]
    typer.echo(f"tables written to {out} in {time.perf_counter() - t0:.1f} s")
    _echo_table(
        validation.validated_summary(table).query("family == 'pvq'"),
        "validated items per value (rho > 0.3):",
    )
    errors = validation.selection_errors(table)  # the paper's rule, as validate_data applies it
    typer.echo(errors.summary)
    if errors.warning:
        typer.echo(f"WARNING (the paper's rule): {errors.warning}")
    _echo_table(
        scoring.mean_profile(prof).round(3),
        f"across-model mean PVQ profile ({prof.model.nunique()} models):",
    )
    if notebooks:
        from vp_stats.studies.notebooks import execute_notebooks, repo_root

        try:
            root = repo_root()
        except FileNotFoundError:
            typer.echo(
                "notebooks skipped: they are part of the source checkout (run from inside it for "
                "the figures)"
            )
            return
        for nb, secs in execute_notebooks(
            ["01-item-validation", "02-llm-value-profiles"], root=root
        ):
            typer.echo(f"executed {nb} in {secs:.1f} s")
        typer.echo(f"figures in {root / 'reports' / 'figures'}")


@app.command("run-llm")
def run_llm(
    backend: str = BACKEND_OPTS["backend"],
    model: str | None = BACKEND_OPTS["model"],
    model_path: Path | None = BACKEND_OPTS["model_path"],
    base_url: str | None = BACKEND_OPTS["base_url"],
    api_key_env: str = BACKEND_OPTS["api_key_env"],
    mode: str = typer.Option(
        "logprobs",
        help=(
            "text (free answer, parsed), grammar (constrained to the six phrases) or logprobs "
            "(distribution over the six answers; openai: exact with --chat-template, else the "
            "first-token approximation)."
        ),
    ),
    variants: str = typer.Option(
        ",".join(("v1", "v1_reversed", "v2", "v2_reversed", "v3", "v3_reversed")),
        help="Comma-separated prompt variants.",
    ),
    items: str = typer.Option(
        "all",
        help="all, a number N (seeded sample of N items) or a CSV file with portrait_id,option_id.",
    ),
    template: Path | None = typer.Option(
        None,
        "--template",
        help=(
            "Your own prompt template file with {title}, {text}, {content} (replaces the variants)."
        ),
    ),
    system_prompt: str | None = typer.Option(
        None, "--system-prompt", help="System prompt for every request (e.g. a persona)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        help="Output directory: answers.csv, per_item.csv and the cache (cache.sqlite).",
    ),
    cache: Path | None = typer.Option(
        None,
        "--cache",
        help="SQLite cache file (default: OUT/cache.sqlite). Rerun the same command to resume.",
    ),
    temperature: float = typer.Option(0.0, help="Sampling temperature (text and grammar modes)."),
    max_tokens: int = typer.Option(
        32, "--max-tokens", help="Maximum answer length (text and grammar modes)."
    ),
    seed: int = typer.Option(0, help="Seed for sampling and for --items N."),
    concurrency: int = typer.Option(4, help="openai: parallel requests."),
    timeout: float = BACKEND_OPTS["timeout"],
    retries: int = BACKEND_OPTS["retries"],
    chat_template: Path | None = BACKEND_OPTS["chat_template"],
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Put the Value Portrait items to a model; answers are cached and a rerun resumes.

    Writes OUT/answers.csv (tidy: model, portrait_id, option_id, variant, raw_text, rating,
    parse_ok, mode, p_1..p_6, expected_rating, entropy, ...) and OUT/per_item.csv (mean over
    variants), which `vp-stats score --answers OUT/answers.csv` scores. Exit 1 when any call
    failed (timeouts, HTTP errors, empty answers: never cached; rerun to retry them), 2 on bad
    input (including an unusable --cache file).
    """
    from vp_stats.llm import backends
    from vp_stats.studies.items import run_items

    if backend not in backends.BACKENDS:
        _fail(f"--backend must be local or openai, got {backend!r}")
    if not (temperature >= 0):
        _fail(f"--temperature must be >= 0, got {temperature}")
    if max_tokens < 1:
        _fail(f"--max-tokens must be >= 1, got {max_tokens}")
    if concurrency < 1 or retries < 0 or not (timeout > 0):
        _fail("--concurrency must be >= 1, --retries >= 0 and --timeout > 0")
    with _user_errors():
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
            res = run_items(
                out,
                be,
                mode=mode,
                variants=variants.split(","),
                items=items,
                template=template,
                system_prompt=system_prompt,
                cache=cache,
                decoding=backends.Decoding(
                    temperature=temperature, max_tokens=max_tokens, seed=seed
                ),
                seed=seed,
                progress=progress,
            )
        except backends.BackendError as exc:
            _fail(str(exc), code=1)
    answers, n_failed, n_ok = res.table, res.n_failed, res.n_parsed
    typer.echo(
        f"{len(answers)} answers ({res.n_cached} from cache, {res.n_new} new); {n_ok} parsed, "
        f"{len(answers) - n_ok} not parsed ({n_failed} failed calls); wrote {out / 'answers.csv'}"
    )
    if len(answers) and n_ok == 0:
        _fail(
            f"no answer could be used: {n_failed} of {len(answers)} calls failed and the rest did "
            "not parse; "
            "check the backend and rerun the same command (failed calls are retried, finished "
            "ones come from the cache)",
            code=1,
        )
    if n_failed:
        _fail(
            f"{n_failed} call(s) failed and are not cached (see the error column of "
            f"{out / 'answers.csv'}); "
            "rerun the same command to retry them (finished answers come from the cache)",
            code=1,
        )


questionnaire_app = typer.Typer(
    no_args_is_help=True,
    help="Score questionnaires (PVQ-21 / ESS Human Values Scale, BFI-10) from raw answers.",
)
app.add_typer(questionnaire_app, name="questionnaire")


@questionnaire_app.command("score")
def questionnaire_score(
    file: Path = typer.Argument(
        ...,
        help=(
            "CSV of answers: long (respondent,item,answer) or wide (respondent + one column per "
            "item, 1..N or ESS variable names)."
        ),
    ),
    instrument: str = typer.Option("pvq21", "--instrument", help="pvq21 or bfi10."),
    ess_coding: bool = typer.Option(
        False,
        "--ess-coding",
        help=(
            "PVQ answers use the ESS coding (1 = very much like me ... 6 = not like me at all): "
            "reverse before scoring."
        ),
    ),
    raw: bool = typer.Option(
        False, "--raw", help="PVQ: raw value means instead of MRAT-centred scores."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the scores to this CSV (default: print)."
    ),
    na_values: str | None = NA_VALUES_OPT,
) -> None:
    """Score raw questionnaire answers.

    Tidy out: participant, family, dimension, score, n_items, status.
    """
    from vp_stats.instruments import bfi, pvq
    from vp_stats.io import tables as tio

    if instrument not in ("pvq21", "bfi10"):
        _fail(f"--instrument must be pvq21 or bfi10, got {instrument!r}")
    with _user_errors():
        if out:
            tio.prepare_out_file(out)
        answers = tio.read_questionnaire_answers(file)
        answers = tio.mask_na_values(
            answers, [c for c in answers.columns if c not in ("participant", "item")], na_values
        )
    try:
        if instrument == "pvq21":
            scores = pvq.score_pvq21(answers, ess_coding=ess_coding, centre=not raw)
        elif instrument == "bfi10":
            scores = bfi.score_bfi10(answers)
        else:
            _fail(f"--instrument must be pvq21 or bfi10, got {instrument!r}")
    except ValueError as exc:
        _fail(f"{file}: {exc}")
    if out:
        with _user_errors():
            tio.write_csv(scores, out)
            _provenance(
                out,
                "questionnaire score",
                {
                    "instrument": instrument,
                    "ess_coding": ess_coding,
                    "raw": raw,
                    **tio.na_values_record(na_values),
                },
                {"answers": file},
            )
        typer.echo(f"wrote {out} ({len(scores)} rows)")
    else:
        _echo_table(scores)
