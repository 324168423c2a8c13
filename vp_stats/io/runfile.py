"""Run several models in one command from a TOML run file, one cache per model.

A run file lists models as ``[[model]]`` tables; an optional ``[defaults]`` table holds
values every model shares (a model's own keys win)::

    [defaults]
    mode = "text"
    variants = ["v1", "v1_reversed"]
    items = "all"                 # "all", a number N (seeded sample) or a CSV of
    portrait_id,option_id

    [[model]]
    name = "qwen-7b"              # folder of its outputs: letters, digits, . _ -
    backend = "openai" model = "Qwen/Qwen2.5-7B-Instruct"
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "VLLM_API_KEY"  # the variable's name; the key itself never goes in the file
    concurrency = 16

    [[model]]
    name = "smollm2"
    backend = "local"             # the embedded SmolLM2-135M-Instruct, or model_path = "x.gguf"
    mode = "logprobs"

Keys of a model (and of ``[defaults]``, except ``name``): see :data:`KEYS`. Relative
paths (``items`` CSV, ``model_path``, ``template``) are read relative to the run file.
The whole file is checked before anything runs (:func:`load_runfile`): an unknown key,
a missing or repeated name or a bad value raises :class:`RunFileError` naming the file,
the ``[[model]]`` index and the key. :func:`vp_stats.studies.runs.run_models` then runs the
models one after the other through :func:`vp_stats.llm.runner.run`; each writes
``OUT/<name>/answers.csv``,
``per_item.csv`` and ``cache.sqlite`` (rerun to resume), and ``OUT/run_summary.csv``
has one row per model.

Examples
--------
>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "runs.toml"
>>> _ = f.write_text('[defaults]\\nmode = "text"\\n[[model]]\\nname = "a"\\n'
...                  'backend = "openai"\\nmodel = "m"\\n'
...                  'base_url = "http://127.0.0.1:8000/v1"\\n[[model]]\\nname = "b"\\n')
>>> [(s.name, s.backend, s.mode) for s in load_runfile(f)]
[('a', 'openai', 'text'), ('b', 'local', 'text')]
>>> _ = f.write_text('[[model]]\\nname = "a"\\nmode = "fast"\\n')
>>> load_runfile(f)
Traceback (most recent call last):
...
vp_stats.io.runfile.RunFileError: ...runs.toml: [[model]] 1 ('a'), key 'mode': must be one of text,
grammar, logprobs, got 'fast'
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from vp_stats import schema
from vp_stats.errors import DataFormatError
from vp_stats.io.templates import load_chat_template
from vp_stats.llm.backends import BackendError
from vp_stats.llm.openai_backend import base_url_problem

__all__ = ["KEYS", "RunFileError", "RunSpec", "load_runfile", "spec_dict", "with_jobs"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RunFileError(DataFormatError):
    """A run file breaks its format; the message names the file, the ``[[model]]`` index and the
    key."""

    def __init__(self, file, index: int | None, name: str | None, key: str | None, problem: str):
        DataFormatError.__init__(self, file, index, key, problem)
        where = "" if index is None else f"[[model]] {index}" + (f" ({name!r})" if name else "")
        if index is None and key is not None:
            where = f"key {key!r}"
        elif key is not None:
            where += f", key {key!r}"
        self.index, self.name = index, name
        self.args = (f"{file}: {where + ': ' if where else ''}{problem}",)

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class RunSpec:
    """One model's run, as a run file describes it (every value checked)."""

    name: str
    backend: str = "local"
    model: str | None = None
    model_path: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    chat_template: str | None = None
    mode: str = "logprobs"
    variants: tuple[str, ...] = schema.VARIANTS
    items: str | int = "all"
    template: str | None = None
    system_prompt: str | None = None
    concurrency: int = 4
    timeout: float = 60.0
    retries: int = 5
    temperature: float = 0.0
    max_tokens: int = 32
    seed: int = 0
    jobs: pd.DataFrame | None = field(default=None, compare=False, repr=False)


#: Keys a ``[[model]]`` table may hold, with what each must be.
KEYS = {
    "name": "a folder name: letters, digits, '.', '_', '-' (required, unique)",
    "backend": "local or openai",
    "model": "openai: the model name at the endpoint (required); local: the name in outputs",
    "model_path": "local: a GGUF file (default: the embedded SmolLM2-135M-Instruct)",
    "base_url": "openai: the endpoint, e.g. http://127.0.0.1:8000/v1",
    "api_key_env": "openai: the NAME of the environment variable holding the key",
    "chat_template": "openai: the served model's chat template (.gguf, tokenizer_config.json "
    "or Jinja file) for exact logprobs",
    "mode": "text, grammar or logprobs (openai: exact with chat_template, else the first-token "
    "approximation)",
    "variants": "a list of prompt variants",
    "items": "'all', a number N (seeded sample of N items) or a CSV file with "
    "portrait_id,option_id",
    "template": "a prompt template file with {title}, {text}, {content} (replaces the variants)",
    "system_prompt": "a system prompt for every request",
    "concurrency": "an integer >= 1 (openai: parallel requests)",
    "timeout": "seconds > 0 (openai: deadline of one request with its retries)",
    "retries": "an integer >= 0",
    "temperature": "a number >= 0",
    "max_tokens": "an integer >= 1",
    "seed": "an integer",
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_model(
    table: dict, file: Path, index: int, defaults: dict, where_defaults: bool = False
) -> dict:
    """The checked, completed keys of one model table (``index`` is 1-based; 0 for
    ``[defaults]``)."""
    name = table.get("name") if isinstance(table.get("name"), str) else None

    def bad(key, problem):
        if where_defaults:
            raise RunFileError(file, None, None, f"defaults.{key}" if key else None, problem)
        raise RunFileError(file, index, name, key, problem)

    if "api_key" in table:
        bad(
            "api_key",
            "never put a key in a run file; put it in an environment variable and name that "
            "variable with api_key_env",
        )
    unknown = [k for k in table if k not in KEYS or (where_defaults and k == "name")]
    if unknown:
        allowed = ", ".join(k for k in KEYS if not (where_defaults and k == "name"))
        bad(unknown[0], f"unknown key; a model table takes {allowed}")
    spec = {**defaults, **table}
    if not where_defaults:
        if "name" not in table:
            bad("name", "missing: every [[model]] needs a name (the folder of its outputs)")
    for key, value in spec.items():
        if key == "name" and not (isinstance(value, str) and _NAME.match(value)):
            bad(
                key,
                "must be a folder name of letters, digits, '.', '_', '-' (at most 100), got "
                f"{value!r}",
            )
        elif key in (
            "model",
            "model_path",
            "base_url",
            "template",
            "system_prompt",
            "chat_template",
        ) and not (isinstance(value, str) and value):
            bad(key, f"must be a non-empty string, got {value!r}")
        elif key == "base_url" and (problem := base_url_problem(value)):
            bad(key, problem)
        elif key == "backend" and value not in ("local", "openai"):
            bad(key, f"must be local or openai, got {value!r}")
        elif key == "api_key_env" and not (isinstance(value, str) and _ENV.match(value)):
            bad(
                key,
                "must be the name of an environment variable (letters, digits, '_'), not the key "
                "itself",
            )
        elif key == "mode" and value not in ("text", "grammar", "logprobs"):
            bad(key, f"must be one of text, grammar, logprobs, got {value!r}")
        elif key == "variants":
            if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                bad(key, f"must be a non-empty list of variant names, got {value!r}")
            unknown_v = [v for v in value if v not in schema.VARIANTS]
            if unknown_v:
                bad(
                    key, f"unknown variant(s) {unknown_v}; choose from {', '.join(schema.VARIANTS)}"
                )
            if len(set(value)) != len(value):
                bad(key, f"a variant is listed twice: {value!r}")
        elif key == "items" and not (
            (_is_int(value) and value >= 1) or (isinstance(value, str) and value)
        ):
            bad(key, f"must be 'all', a number >= 1 or a CSV file, got {value!r}")
        elif key in ("concurrency", "max_tokens") and not (_is_int(value) and value >= 1):
            bad(key, f"must be an integer >= 1, got {value!r}")
        elif key == "retries" and not (_is_int(value) and value >= 0):
            bad(key, f"must be an integer >= 0, got {value!r}")
        elif key == "seed" and not _is_int(value):
            bad(key, f"must be an integer, got {value!r}")
        elif key == "timeout" and not (_is_num(value) and value > 0):
            bad(key, f"must be a number of seconds > 0, got {value!r}")
        elif key == "temperature" and not (_is_num(value) and value >= 0):
            bad(key, f"must be a number >= 0, got {value!r}")
    if where_defaults:
        return spec
    backend = spec.get("backend", "local")
    if backend == "openai":
        if "model" not in spec:
            bad("model", "missing: backend openai needs the model name at the endpoint")
        if "model_path" in spec:
            bad("model_path", "only for backend local")
    else:
        for key in ("base_url", "chat_template"):
            if key in spec:
                bad(key, "only for backend openai")
    base = file.parent
    for key in ("model_path", "template", "chat_template"):
        if key in spec:
            p = Path(spec[key]).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                bad(key, f"no such file: {p}")
            spec[key] = str(p)
    if "chat_template" in spec and not spec["chat_template"].endswith(".gguf"):
        try:  # parsed now (cheap), so that a bad template fails before any model runs
            load_chat_template(spec["chat_template"])
        except BackendError as exc:
            bad("chat_template", str(exc))
    items = spec.get("items", "all")
    if isinstance(items, str) and items != "all":
        if items.isdigit():
            spec["items"] = int(items)
        else:
            p = Path(items).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                bad("items", f"expected 'all', a number or a CSV file; no such file: {p}")
            spec["items"] = str(p)
    if "variants" in spec:
        spec["variants"] = tuple(spec["variants"])
    if "timeout" in spec or "temperature" in spec:
        spec.update({k: float(spec[k]) for k in ("timeout", "temperature") if k in spec})
    return spec


def _select_items(items, table: pd.DataFrame, seed: int, bad) -> pd.DataFrame:
    if items == "all":
        return table
    if _is_int(items):
        if items > len(table):
            bad(f"{items} items asked for; there are {len(table)}")
        return table.sample(n=items, random_state=seed).sort_values(
            ["portrait_id", "option_id"], ignore_index=True
        )
    try:
        chosen = pd.read_csv(items)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        bad(f"{items}: cannot be read as CSV ({exc})")
    if {"portrait_id", "option_id"} - set(chosen.columns):
        bad(f"{items}: needs columns portrait_id and option_id")
    keys = chosen[["portrait_id", "option_id"]]
    try:
        known = (
            keys.merge(table[["portrait_id", "option_id"]], how="left", indicator=True)["_merge"]
            .eq("both")
            .to_numpy()
        )
    except (ValueError, TypeError):
        bad(f"{items}: portrait_id and option_id must be integers")
    if not known.all():
        i = int((~known).nonzero()[0][0])
        bad(
            f"{items}: row {i + 1} (line {i + 2}) names an item that does not exist "
            f"({keys.iloc[i, 0]}, {keys.iloc[i, 1]}); {int((~known).sum())} such row(s)"
        )
    return table.merge(keys.drop_duplicates(), how="inner")


def load_runfile(path: str | os.PathLike, *, prompts: bool = False, data_dir=None) -> list[RunSpec]:
    """Read and check a run file; the run specs in file order.

    Parameters
    ----------
    path : path-like
        The TOML run file (see the module docstring).
    prompts : bool
        Also select each model's items and build its prompts (``RunSpec.jobs``), which
        checks ``items`` CSV files and templates against the item table (needs the data).
    data_dir : path-like, optional
        Where the Value Portrait files are (default: ``$VP_DATA_DIR`` or the download cache).

    Returns
    -------
    list of RunSpec

    Raises
    ------
    RunFileError
        On the first problem, naming the file, the ``[[model]]`` index and the key.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise RunFileError(file, None, None, None, "no such run file") from None
    except IsADirectoryError:
        raise RunFileError(
            file, None, None, None, "is a folder, expected a TOML run file"
        ) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RunFileError(
            file, None, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise RunFileError(file, None, None, None, f"not valid TOML ({exc})") from None
    extra = [k for k in doc if k not in ("model", "defaults")]
    if extra:
        raise RunFileError(
            file,
            None,
            None,
            extra[0],
            "unknown top-level key; a run file holds [defaults] and [[model]] tables",
        )
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise RunFileError(file, None, None, "defaults", "must be a table ([defaults])")
    defaults = _check_model(defaults, file, 0, {}, where_defaults=True)
    models = doc.get("model")
    if not isinstance(models, list) or not models or not all(isinstance(m, dict) for m in models):
        raise RunFileError(
            file,
            None,
            None,
            "model",
            "no [[model]] tables: list each model as a [[model]] table with a name",
        )
    specs: list[RunSpec] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(models, start=1):
        spec = _check_model(table, file, i, defaults)
        folded = spec["name"].casefold()
        if folded in seen:
            raise RunFileError(
                file,
                i,
                spec["name"],
                "name",
                f"repeats the name of [[model]] {seen[folded]} "
                "(names are output folders and must differ, also in case)",
            )
        seen[folded] = i
        specs.append(RunSpec(**spec))
    if prompts:
        specs = [with_jobs(s, file, i, data_dir) for i, s in enumerate(specs, start=1)]
    return specs


def with_jobs(spec: RunSpec, file: Path, index: int, data_dir) -> RunSpec:
    """``spec`` with its items selected and prompts built (``jobs``); :class:`RunFileError` naming
    ``file``, the ``[[model]]`` ``index`` and the key when they cannot be."""
    from dataclasses import replace

    from vp_stats.io import datasets
    from vp_stats.llm import prompts

    def bad(problem, key="items"):
        raise RunFileError(file, index, spec.name, key, problem)

    table = _select_items(spec.items, datasets.load_items(data_dir=data_dir), spec.seed, bad)
    tpl = None
    if spec.template is not None:
        try:
            tpl = Path(spec.template).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            bad(f"cannot read {spec.template} ({exc})", "template")
    try:
        jobs = prompts.item_prompts(
            table,
            variants=list(spec.variants),
            template=tpl,
            templates=None if tpl is not None else datasets.load_prompt_templates(data_dir),
        )
    except (KeyError, ValueError) as exc:
        bad(
            str(exc.args[0]) if exc.args else repr(exc),
            "template" if tpl is not None else "variants",
        )
    return replace(spec, jobs=jobs)


def spec_dict(spec: RunSpec) -> dict:
    """A run spec as a plain dict (without its prompts), e.g. for provenance.

    Examples
    --------
    >>> spec_dict(RunSpec(name="a"))["backend"]
    'local'
    """
    d = asdict(spec)
    d.pop("jobs", None)
    return d
