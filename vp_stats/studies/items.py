"""Put the Value Portrait items to a model in one call: what ``vp-stats run-llm`` does.

:func:`run_items` selects the items, builds the prompts from the upstream templates (or your own
template file), opens the answer cache, runs the model (cached and resumable) and writes
``answers.csv``, ``per_item.csv`` and ``provenance.json`` to the output folder.

Examples
--------
>>> import tempfile
>>> from vp_stats.llm.backends import BaseBackend, GenResult
>>> class Always(BaseBackend):
...     def generate(self, messages, decoding, grammar=None):
...         return GenResult(raw_text="like me")
>>> res = run_items(tempfile.mkdtemp(), Always(), mode="text", items="2", variants=("v1",),
...                 progress=False)
>>> len(res.table), res.n_new, res.n_parsed
(2, 2, 2)
>>> sorted(p.name for p in res.out.iterdir() if not p.name.startswith("."))
['answers.csv', 'cache.sqlite', 'per_item.csv', 'provenance.json']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vp_stats import schema
from vp_stats.tables import Result

__all__ = ["ItemRun", "run_items", "select_items"]


@dataclass(frozen=True)
class ItemRun(Result):
    """What :func:`run_items` did: the answer table (``table``), per-item means and counts.

    ``n_cached`` answers came from the cache, ``n_new`` were asked now, ``n_failed`` calls failed
    (timeouts, HTTP errors, empty answers: never cached, a rerun asks them again) and
    ``n_parsed`` answers gave a rating.
    """

    per_item: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_cached: int = 0
    n_new: int = 0
    n_failed: int = 0
    n_parsed: int = 0
    out: Path | None = None


def select_items(items: str, item_table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The items ``items`` chooses: ``"all"``, a number N (a sample seeded by ``seed``) or a CSV
    file with ``portrait_id,option_id``; ``ValueError`` naming the file and rows otherwise.

    Examples
    --------
    >>> t = pd.DataFrame({"portrait_id": [1, 2, 3], "option_id": [1, 1, 1]})
    >>> len(select_items("2", t)), len(select_items("all", t))
    (2, 3)
    """
    items = str(items)
    if items == "all":
        return item_table
    if items.isdigit():
        n = int(items)
        if not 1 <= n <= len(item_table):
            raise ValueError(f"--items {n}: expected 1-{len(item_table)}")
        return item_table.sample(n=n, random_state=seed).sort_values(
            ["portrait_id", "option_id"], ignore_index=True
        )
    path = Path(items)
    if not path.exists():
        raise ValueError(
            "--items: expected 'all', a number or a CSV file with portrait_id,option_id; "
            f"{items!r} is none of these"
        )
    from vp_stats.io.tables import read_csv

    chosen = read_csv(path, as_text=False, what="--items file")  # its errors name the file
    if {"portrait_id", "option_id"} - set(chosen.columns):
        raise ValueError(f"{path}: needs columns portrait_id and option_id")
    keys = chosen[["portrait_id", "option_id"]]
    try:
        known = (
            keys.merge(item_table[["portrait_id", "option_id"]], how="left", indicator=True)[
                "_merge"
            ]
            .eq("both")
            .to_numpy()
        )
    except (ValueError, TypeError):
        raise ValueError(f"{path}: portrait_id and option_id must be whole numbers") from None
    if not known.all():
        bad = keys[~known]
        rows = ", ".join(
            f"row {i + 1} ({p}, {o})"
            for i, (p, o) in zip(bad.index[:5], bad.itertuples(index=False), strict=True)
        )
        raise ValueError(
            f"{path}: {int((~known).sum())} row(s) name items that do not exist: {rows}"
        )
    return item_table.merge(keys.drop_duplicates(), how="inner")


def run_items(
    out: str | os.PathLike,
    backend,
    *,
    mode: str = "logprobs",
    variants=schema.VARIANTS,
    items: str = "all",
    template: str | os.PathLike | None = None,
    system_prompt: str | None = None,
    cache=None,
    decoding=None,
    seed: int = 0,
    progress: bool = True,
    data_dir=None,
) -> ItemRun:
    """Put the Value Portrait items to ``backend``; answers cached, outputs written to ``out``.

    Parameters
    ----------
    out : path-like
        Output folder (created; locked while the run writes): ``answers.csv`` (tidy, one row
        per item and variant), ``per_item.csv`` (mean over variants) and ``provenance.json``.
    backend : Backend
        A backend of :mod:`vp_stats.llm` (e.g. :class:`vp_stats.llm.local.LlamaCppBackend`,
        or :func:`vp_stats.llm.backends.make_backend`).
    mode : {"text", "grammar", "logprobs"}
        Answer mode (:func:`vp_stats.llm.runner.run`).
    variants : sequence of str
        Prompt variants (:data:`vp_stats.schema.VARIANTS`); ignored with ``template``.
    items : str
        ``"all"``, a number N (seeded sample) or a CSV file with ``portrait_id,option_id``.
    template : path-like, optional
        Your own prompt template file with ``{title}``, ``{text}``, ``{content}``.
    system_prompt : str, optional
        System prompt of every request (e.g. a persona).
    cache : path-like or cache object, optional
        The answer cache (default ``out/cache.sqlite``); rerun to resume.
    decoding : vp_stats.llm.backends.Decoding, optional
        Temperature, max_tokens, top_p, seed of text and grammar modes (default: greedy, 32
        tokens, the ``seed``).
    seed : int
        Seed of the item sample (``items`` = N) and of the default decoding.
    progress : bool
        Progress bar.
    data_dir : path-like, optional
        Where the Value Portrait files are.

    Returns
    -------
    ItemRun
        The answer table (with its request ``key``), per-item means and counts.

    Raises
    ------
    ValueError
        Bad ``mode``, ``variants`` or ``items``.
    vp_stats.llm.backends.BackendError
        The backend failed fatally (unreachable endpoint, unknown model).
    """
    from vp_stats.io import datasets
    from vp_stats.io import tables as tio
    from vp_stats.io.cache import open_cache
    from vp_stats.llm import prompts, runner
    from vp_stats.llm.backends import Decoding
    from vp_stats.studies.validate import provenance

    out = Path(out)
    variants = [v.strip() for v in variants if v.strip()]
    bad = [v for v in variants if v not in schema.VARIANTS]
    if bad:
        raise ValueError(f"unknown variant(s) {bad}; choose from {', '.join(schema.VARIANTS)}")
    if mode not in runner.MODES:
        raise ValueError(f"--mode must be one of {', '.join(runner.MODES)}")
    decoding = Decoding(seed=seed) if decoding is None else decoding
    tio.prepare_out_dir(out)
    item_table = select_items(items, datasets.load_items(data_dir=data_dir), seed)
    tpl = Path(template).read_text(encoding="utf-8") if template is not None else None
    jobs = prompts.item_prompts(
        item_table,
        variants=variants,
        template=tpl,
        templates=None if tpl is not None else datasets.load_prompt_templates(data_dir),
    )
    with tio.locked_out_dir(out):
        with open_cache(cache if cache is not None else out / "cache.sqlite") as opened:
            answers = runner.run(
                jobs,
                backend,
                mode=mode,
                cache=opened,
                decoding=decoding,
                system_prompt=system_prompt,
                progress=progress,
            )
        per_item = runner.per_item_means(answers)
        tio.write_csv(answers.drop(columns=["key"]), out / "answers.csv")
        tio.write_csv(per_item, out / "per_item.csv")
        ident = {
            k: v
            for k, v in backend.identity().items()
            if k in ("backend", "model", "model_id", "base_url")
        }
        params = {
            "mode": mode,
            "scoring": getattr(backend, "scoring", None) if mode == "logprobs" else None,
            "variants": variants,
            "items": items,
            "temperature": decoding.temperature,
            "max_tokens": decoding.max_tokens,
            "seed": seed,
            "system_prompt": system_prompt,
        }
        inputs = {"template": template} if template is not None and Path(template).is_file() else {}
        tio.write_json(provenance("run-llm", params, inputs, model=ident), out / "provenance.json")
    errors = answers["error"].dropna().astype(str)
    counts = runner.run_counts(answers)
    return ItemRun(
        answers,
        {"mode": mode, "model": ident.get("model")},
        per_item=per_item,
        n_cached=counts["n_cached"],
        n_new=counts["n_new"],
        n_failed=int((~errors.str.startswith("unparseable answer")).sum()),
        n_parsed=int(answers["parse_ok"].astype(bool).sum()),
        out=out,
    )
