"""The shared Typer app, options and error handling of the command line."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    # plain help text: rich's import and rendering cost about 0.1 s of every --help
    # (benchmarks/bench_cli.py); tests/cli/test_cli_startup.py checks that --help stays light
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="vp-stats: psychometric item validation and LLM value assessment "
    "(Value Portrait, HVAE/SVO, Value Compass).",
)


def _version(value: bool) -> None:
    if value:
        from vp_stats import __version__

        typer.echo(f"vp-stats {__version__}")
        raise typer.Exit()


_LOG_HANDLER_NAME = "vp-stats-cli"


def _configure_logging(verbose: int, quiet: bool) -> None:
    """The library's diagnostics (the ``vp_stats`` loggers) on stderr: warnings by default,
    ``-v`` what was detected and done (INFO), ``-vv`` details (DEBUG), ``-q`` errors only.

    One handler, replaced on every call (so repeated in-process runs do not print twice); its
    messages pass the one redaction point (:func:`vp_stats.redact.redact`).
    """
    import logging

    from vp_stats.redact import redact

    class _Redacting(logging.Formatter):
        def format(self, record):
            return redact(super().format(record))

    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    logger = logging.getLogger("vp_stats")
    for h in [h for h in logger.handlers if h.get_name() == _LOG_HANDLER_NAME]:
        logger.removeHandler(h)
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_LOG_HANDLER_NAME)
    handler.setFormatter(_Redacting("vp-stats: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    for other in ("pooch",):  # the data download's progress messages follow -q
        logging.getLogger(other).setLevel(logging.WARNING if quiet else logging.INFO)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="Say what was detected and done (file formats, delimiters, missing codes ...); "
        "-vv for details. Before the command: vp-stats -v validate ...",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Only errors (no warnings or download messages)."
    ),
) -> None:
    """vp-stats: psychometric item validation and LLM value assessment.

    Value Portrait, HVAE/SVO, Value Compass.
    """
    if verbose and quiet:
        _fail("give -v or -q, not both")
    _configure_logging(verbose, quiet)


DATA_DIR_OPT = typer.Option(
    None,
    "--data-dir",
    help="Directory holding the upstream Value Portrait files (default: $VP_DATA_DIR, else the "
    "download cache; files are fetched at the pinned commit and verified by sha256).",
)


def _use_data_dir(data_dir) -> None:
    """Make --data-dir the data directory of everything this command loads (as $VP_DATA_DIR)."""
    import os

    if data_dir is not None:
        if not Path(data_dir).is_dir():
            _fail(f"--data-dir {data_dir} is not a directory")
        os.environ["VP_DATA_DIR"] = str(Path(data_dir).resolve())


def _echo_table(df, title: str | None = None) -> None:
    if title:
        typer.echo(title)
    typer.echo(df.to_string(index=False))


def _fail(msg: str, code: int = 2) -> None:
    """One line on stderr (secrets redacted) and exit ``code``.

    ``code`` 2: usage or input; 1: a failed run.
    """
    from vp_stats.redact import redact

    typer.secho(f"error: {redact(msg)}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@contextmanager
def _user_errors():
    """Bad input and OS conditions become one line on stderr and exit code 2, never a traceback."""
    from vp_stats.errors import DataError

    try:
        yield
    except typer.Exit:
        raise
    except KeyError as exc:
        _fail(str(exc.args[0]) if exc.args else repr(exc))
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _fail(f"{where}{exc.strerror or exc}")


def _backend(
    backend: str,
    *,
    model,
    model_path,
    base_url,
    api_key_env,
    concurrency,
    timeout,
    retries,
    chat_template=None,
):
    """The backend the command-line options name (run-llm, personas run, svo run): one place.

    A chat-template file is read for the openai backend (``make_backend`` refuses one for the
    local backend and says so); a bad option is one error line and exit code 2.
    """
    from vp_stats.io.templates import load_chat_template
    from vp_stats.llm import backends

    try:
        if chat_template is not None and backend == "openai":
            chat_template = load_chat_template(chat_template)
        return backends.make_backend(
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
    except (backends.BackendError, ValueError) as exc:
        _fail(str(exc))


def _provenance(out, command: str, params: dict, inputs: dict | None = None, **extra) -> None:
    """Write ``provenance.json`` beside a command's outputs: in an output folder, or
    ``<file>.provenance.json`` beside an output file (package version, command line, parameters,
    seeds, input and model hashes; :func:`vp_stats.studies.validate.provenance`)."""
    from vp_stats.io import tables as tio
    from vp_stats.studies import validate as study

    out = Path(out)
    dest = out / "provenance.json" if out.is_dir() else out.with_name(out.name + ".provenance.json")
    inputs = {k: v for k, v in (inputs or {}).items() if v is not None and Path(v).is_file()}
    tio.write_json(study.provenance(command, params, inputs, **extra), dest)


#: The backend options every command that puts questions to a model takes (run-llm, personas run,
#: svo run).
BACKEND_OPTS = {
    "backend": typer.Option(
        "local", help="local (llama.cpp, a GGUF file) or openai (any OpenAI-compatible endpoint)."
    ),
    "model": typer.Option(
        None,
        help=(
            "local: model name in outputs (default: file name); openai: the model name at the "
            "endpoint (required)."
        ),
    ),
    "model_path": typer.Option(
        None, "--model-path", help="local: GGUF file (default: the embedded SmolLM2-135M-Instruct)."
    ),
    "base_url": typer.Option(
        None,
        "--base-url",
        help=(
            "openai: endpoint, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL or OpenAI)."
        ),
    ),
    "api_key_env": typer.Option(
        "OPENAI_API_KEY",
        "--api-key-env",
        help=(
            "openai: environment variable holding the API key (the key is never written anywhere)."
        ),
    ),
    "timeout": typer.Option(
        60.0,
        help=(
            "openai: wall-clock deadline of one attempt of a request in seconds (connecting and "
            "reading), counted once it is sent: no more requests are sent at once than the "
            "server serves, so time queued for a slot does not count; timed-out attempts are "
            "retried (--retries)."
        ),
    ),
    "chat_template": typer.Option(
        None,
        "--chat-template",
        help=(
            "openai, logprobs mode: the served model's chat template (.gguf, tokenizer_config.json "
            "or a Jinja file); answers are then scored exactly through /v1/completions with echo, "
            "otherwise approximately from the first token's top_logprobs."
        ),
    ),
    "retries": typer.Option(
        5,
        help=(
            "openai: retries on 429/5xx/timeouts (the server's Retry-After, capped at 60 s, else "
            "exponential backoff with per-request jitter)."
        ),
    ),
}

COLUMN_OPTS = {
    "participant": typer.Option(
        "participant",
        "--participant-col",
        "--id-column",
        help=(
            "Name of the participant (respondent id) column in your files, long or wide (a "
            "Qualtrics export's ResponseId is used when the file has no such column)."
        ),
    ),
    "item": typer.Option(
        "item", "--item-col", help="Name of the item column in your ratings file."
    ),
    "rating": typer.Option(
        "rating", "--rating-col", help="Name of the rating column in your ratings file."
    ),
}

NA_VALUES_OPT = typer.Option(
    None,
    "--na-values",
    help=(
        "Missing-value codes of the ratings/answers, comma-separated (e.g. -99,999): read as "
        "missing, never as ratings. Without it an inferred scale that such a code would widen "
        "is refused."
    ),
)

#: How the user's files are read (vp_stats.io.formats): every command that reads a user's tables.
READ_OPTS = {
    "sep": typer.Option(
        None,
        "--sep",
        help="Delimiter of your CSV files: , ; tab or | (default: detected from the header line).",
    ),
    "decimal": typer.Option(
        None,
        "--decimal",
        help="Decimal mark of your CSV files: . or , (default: detected; 3,5 read as 3.5).",
    ),
    "sheet": typer.Option(
        None,
        "--sheet",
        help=(
            "Sheet of an .xlsx workbook (name or number; default the first) or data frame of an "
            ".RData file. Files are read by suffix: .csv/.tsv/.txt, .xlsx, .sav, .dta, .rds, "
            ".RData (the last four and .xlsx need: pip install 'vp-stats[formats]')."
        ),
    ),
}


@contextmanager
def _reading(sep=None, decimal=None, sheet=None):
    """Read every user file of the block with ``--sep``/``--decimal``/``--sheet``; a bad option is
    one error line (exit 2)."""
    from vp_stats.io import formats

    try:
        ctx = formats.read_options(sep=sep, decimal=decimal, sheet=sheet)
        ctx.__enter__()
    except ValueError as exc:
        _fail(str(exc))
    try:
        yield
    finally:
        ctx.__exit__(None, None, None)


def _read_record(sep=None, decimal=None, sheet=None) -> dict:
    """The provenance entries of the reading options given (empty when all were detected)."""
    return {
        k: v for k, v in {"sep": sep, "decimal": decimal, "sheet": sheet}.items() if v is not None
    }
