"""Run several models of a run file (:mod:`vp_stats.io.runfile`), one cache per model.

:func:`run_models` is what ``vp-stats run-models`` does after reading and checking the file:
each model writes ``OUT/<name>/answers.csv``, ``per_item.csv`` and ``cache.sqlite`` (rerun to
resume), and ``OUT/run_summary.csv`` has one row per model (:data:`SUMMARY_COLUMNS`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from vp_stats.errors import DataFormatError
from vp_stats.io.runfile import RunSpec, with_jobs
from vp_stats.llm import runner

__all__ = ["SUMMARY_COLUMNS", "run_models"]

#: Columns of ``run_summary.csv``.
SUMMARY_COLUMNS = [
    "model",
    "status",
    "n_answers",
    "n_parsed",
    "n_failed",
    "from_cache",
    "n_new",
    "backend",
    "endpoint_model",
    "mode",
    "error",
]


def _counts(answers: pd.DataFrame) -> dict:
    errors = answers["error"].dropna().astype(str)
    n_failed = int((~errors.str.startswith("unparseable answer")).sum())
    counts = runner.run_counts(answers)
    return {
        "n_answers": len(answers),
        "n_parsed": int(answers["parse_ok"].astype(bool).sum()),
        "n_failed": n_failed,
        "from_cache": counts["n_cached"],
        "n_new": counts["n_new"],
    }


def run_models(
    specs: list[RunSpec],
    out: str | os.PathLike,
    *,
    progress: bool = False,
    data_dir=None,
    echo=None,
) -> pd.DataFrame:
    """Run every model of a run file, one after the other; the summary table.

    Each model ``name`` writes ``OUT/name/answers.csv``, ``per_item.csv`` and its own
    ``cache.sqlite`` (its folder is locked while it runs; rerun to resume: finished answers
    come from the cache). ``OUT/run_summary.csv`` (:data:`SUMMARY_COLUMNS`) is rewritten
    atomically after every model, so a stopped run leaves the rows of the models it finished.
    A model whose backend cannot be built or fails fatally (unreachable endpoint, unknown
    model) is recorded with ``status = "failed"`` and the next model runs.

    Parameters
    ----------
    specs : list of RunSpec
        From :func:`load_runfile` (prompts are built here when ``jobs`` is None).
    out : path-like
        The output folder.
    progress : bool
        Progress bars.
    data_dir : path-like, optional
        Where the Value Portrait files are.
    echo : callable, optional
        Called with one line per finished model.

    Returns
    -------
    DataFrame
        The summary, one row per model: ``status`` is ``ok``, ``calls_failed`` (some calls
        failed: rerun), ``nothing_parsed`` or ``failed``.
    """
    from vp_stats import redact
    from vp_stats.io import tables as tio
    from vp_stats.io.cache import AnswerCache, CacheError
    from vp_stats.io.templates import load_chat_template
    from vp_stats.llm import backends, runner

    out = Path(out)
    for spec in specs:  # an unusable cache stops the run before any model starts (CacheError)
        if (out / spec.name / "cache.sqlite").exists():
            AnswerCache(out / spec.name / "cache.sqlite").close()
    rows: list[dict] = []
    with tio.locked_out_dir(out):
        for i, spec in enumerate(specs, start=1):
            if spec.jobs is None:
                spec = with_jobs(spec, Path("<run file>"), i, data_dir)
            row = {
                "model": spec.name,
                "backend": spec.backend,
                "endpoint_model": spec.model,
                "mode": spec.mode,
                "status": "failed",
                "error": None,
                "n_answers": 0,
                "n_parsed": 0,
                "n_failed": 0,
                "from_cache": 0,
                "n_new": 0,
            }
            mdir = out / spec.name
            try:
                with tio.locked_out_dir(mdir):
                    be = backends.make_backend(
                        spec.backend,
                        model=spec.model,
                        model_path=spec.model_path,
                        base_url=spec.base_url,
                        api_key_env=spec.api_key_env,
                        concurrency=spec.concurrency,
                        timeout=spec.timeout,
                        retries=spec.retries,
                        chat_template=(
                            None
                            if spec.chat_template is None
                            else load_chat_template(spec.chat_template)
                        ),
                    )
                    dec = backends.Decoding(
                        temperature=spec.temperature, max_tokens=spec.max_tokens, seed=spec.seed
                    )
                    with AnswerCache(mdir / "cache.sqlite") as cache:
                        answers = runner.run(
                            spec.jobs,
                            be,
                            mode=spec.mode,
                            cache=cache,
                            decoding=dec,
                            system_prompt=spec.system_prompt,
                            progress=progress,
                        )
                    tio.write_csv(answers.drop(columns=["key"]), mdir / "answers.csv")
                    tio.write_csv(runner.per_item_means(answers), mdir / "per_item.csv")
                row.update(_counts(answers))
                if row["n_answers"] and row["n_parsed"] == 0:
                    row["status"] = "nothing_parsed"
                elif row["n_failed"]:
                    row["status"] = "calls_failed"
                else:
                    row["status"] = "ok"
            except (
                backends.BackendError,
                CacheError,
                DataFormatError,
                OSError,
                ValueError,
                RuntimeError,
            ) as exc:
                row["error"] = redact.redact(f"{type(exc).__name__}: {exc}")[:500]
            rows.append(row)
            tio.write_csv(pd.DataFrame(rows, columns=SUMMARY_COLUMNS), out / "run_summary.csv")
            if echo is not None:
                echo(_line(row))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _line(row: dict) -> str:
    if row["status"] == "failed":
        return f"{row['model']}: failed: {row['error']}"
    return (
        f"{row['model']}: {row['n_answers']} answers ({row['from_cache']} from cache, "
        f"{row['n_new']} new); "
        f"{row['n_parsed']} parsed, {row['n_failed']} failed calls [{row['status']}]"
    )
