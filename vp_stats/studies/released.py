"""The released Value Portrait study: validation and LLM value scores from the upstream files.

The statistics are :mod:`vp_stats.stats.validation` and :mod:`vp_stats.stats.scoring`; this
module reads the pinned upstream files (:mod:`vp_stats.io.datasets`) and hands the tables on.
Within a process each released file is parsed once (:mod:`vp_stats.io.datasets` caches the
parsed tables per file version) and the ratings and scores go through their contracts once
(:func:`released_tables`), however many analyses use them: ``vp-stats reproduce`` runs two
validations and a scoring on them (:func:`reproduce_tables`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vp_stats import schema, tables
from vp_stats.io import averaging, datasets
from vp_stats.io import tables as tio
from vp_stats.stats import scoring, validation

__all__ = ["released_tables", "validate_data", "score_released_models", "reproduce_tables"]

_CHECKED: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}


def released_tables(data_dir=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The released ratings and scores through their contracts, once per file version.

    Returns ``(ratings, scores)``: the canonical tables of
    :func:`vp_stats.tables.ratings_table` (on the items' 1-6 scale, with ``group``,
    ``portrait_id``, ``option_id``) and :func:`vp_stats.tables.scores_table`. The contracts run
    on the first call for a version of the files; later calls get copies of the checked tables
    (so a caller that changes its copy changes no other caller's).

    Examples
    --------
    >>> ratings, scores = released_tables()
    >>> ratings.columns.tolist(), len(ratings), scores.participant.nunique()
    (['group', 'participant', 'item', 'portrait_id', 'option_id', 'rating'], 24320, 569)
    """
    files = [datasets.fetch(datasets.VALUES, data_dir), datasets.fetch(datasets.SURVEY, data_dir)]
    key = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if key not in _CHECKED:
        scores = datasets.load_participant_scores(data_dir)
        ratings = datasets.load_ratings(data_dir, participants=scores)
        checked = tables.ratings_table(ratings, scale=tables.VP_SCALE, source=str(files[1]))
        _CHECKED.clear()  # one version of the released files per process is enough
        _CHECKED[key] = (checked.table, tables.scores_table(scores, source=str(files[0])))
    ratings, scores = _CHECKED[key]
    return ratings.copy(), scores.copy()


def validate_data(
    data_dir=None,
    families: tuple[str, ...] | list[str] = schema.FAMILY_NAMES,
    threshold: float = 0.3,
    mode: str = "pos",
    exclusions: pd.DataFrame | None = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    procedure: str = "correct",
    *,
    max_fdr: float | None = None,
    p_method: str = "t",
    **rule,
) -> validation.ItemValidation:
    """Validate the released Value Portrait items.

    Loads the released ratings and scores (:func:`released_tables`), pairs them by
    ``procedure`` (:func:`~vp_stats.stats.validation.apply_procedure`) and validates the items
    (:func:`~vp_stats.stats.validation.validate_items`, ``validated=True``: the contracts ran
    once in :func:`released_tables`). The defaults are the paper's analysis, explicitly:
    ``rho > 0.3`` with no p-value filter (``max_fdr=None``) and the t approximation's p
    (``p_method="t"``, as the published tables); the result's ``errors`` give that rule's
    expected null passes and estimated false-discovery proportion (and it warns). ``rule``
    passes ``max_p``, ``min_ci_low``, ``n_perm`` to
    :func:`~vp_stats.stats.validation.validate_items`.

    Examples
    --------
    >>> res = validate_data(n_boot=0)
    >>> len(res.table), int(res.table.selected.sum()) > 0, res.rule
    (9880, True, 'rho > 0.3')
    """
    ratings, scores = released_tables(data_dir)
    ratings, scores = validation.apply_procedure(ratings, scores, procedure)
    return validation.validate_items(
        ratings,
        scores,
        families,
        threshold,
        mode,
        exclusions,
        n_boot,
        ci,
        seed,
        scale=tables.VP_SCALE,
        validated=True,
        max_fdr=max_fdr,
        p_method=p_method,
        **rule,
    )


def score_released_models(
    corr: pd.DataFrame | None = None,
    data_dir=None,
    upstream_parity: bool = False,
    **kwargs,
) -> pd.DataFrame:
    """Profiles of every model in upstream's ``average_outputs`` (34 files).

    ``corr`` defaults to the published correlation tables (identical to
    :func:`vp_stats.stats.validation.item_correlations` with ``procedure='upstream'``).

    Examples
    --------
    >>> p = score_released_models(n_boot=0)
    >>> p.model.nunique(), sorted(p.family.unique())
    (34, ['bfi', 'higher_pvq', 'pvq'])
    """
    if corr is None:
        corr = datasets.load_published_correlations(data_dir=data_dir)
    directory = None
    if data_dir is not None:  # verify every registered file there, then read that folder
        for rel in datasets.registered(datasets.AVERAGE_OUTPUTS_DIR + "/"):
            datasets.fetch(rel, data_dir)
        directory = datasets.data_dir(data_dir) / datasets.AVERAGE_OUTPUTS_DIR
    wide = averaging.load_average_outputs(directory=directory)
    return scoring.value_profiles(wide, corr, upstream_parity=upstream_parity, **kwargs)


def _item_table(data_dir, procedure: str, n_boot: int, seed: int) -> pd.DataFrame:
    """The rows of ``item_correlations.csv`` as ``vp-stats validate`` writes them for the released
    study: :func:`validate_data`'s table and the ``reason`` column
    (:func:`vp_stats.studies.validate.undefined_reasons`, on the pair the procedure correlated)."""
    from vp_stats.studies import validate as study

    table = validate_data(data_dir, n_boot=n_boot, seed=seed, procedure=procedure).table
    ratings, scores = validation.apply_procedure(*released_tables(data_dir), procedure)
    return study.undefined_reasons(table, ratings, scores)


def reproduce_tables(
    out: str | Path,
    data_dir=None,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, pd.DataFrame]:
    """The paper's tables in one go, written to ``out`` (``vp-stats reproduce``).

    Writes ``item_correlations.csv`` (recomputed from the released files, bootstrap CIs),
    ``item_correlations_upstream.csv`` (upstream's procedure: equals the published tables; both
    with the columns ``vp-stats validate`` writes, ``reason`` included),
    ``llm_value_scores.csv`` (the 34 released models scored with the published tables) and
    ``provenance.json``. Each file is parsed once and the contracts run once
    (:func:`released_tables`); ``benchmarks/bench_scoring.py`` times the whole.

    Parameters
    ----------
    out : path
        Output folder (created; the files are written atomically).
    data_dir : path, optional
        Folder of the upstream files (default: ``$VP_DATA_DIR`` or the download cache).
    n_boot, seed : int
        Bootstrap resamples and seed of the item CIs and of the profiles' CIs.
    progress : bool
        A progress bar over the four steps on a terminal (tqdm; quiet when stderr is not one).

    Returns
    -------
    dict
        ``{"item_correlations": ..., "item_correlations_upstream": ..., "llm_value_scores":
        ...}``, the tables written.

    Examples
    --------
    >>> import tempfile
    >>> t = reproduce_tables(tempfile.mkdtemp(), n_boot=0)
    >>> {k: len(v) for k, v in t.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'item_correlations': 9880, 'item_correlations_upstream': 9880, 'llm_value_scores': 646}
    """
    from tqdm.auto import tqdm

    from vp_stats.stats.resampling import single_threaded_blas
    from vp_stats.studies import validate as study

    out = tio.prepare_out_dir(out)
    steps = [
        ("item_correlations", lambda: _item_table(data_dir, "correct", n_boot, seed)),
        ("item_correlations_upstream", lambda: _item_table(data_dir, "upstream", 0, 0)),
        (
            "llm_value_scores",
            lambda: score_released_models(data_dir=data_dir, n_boot=n_boot, seed=seed),
        ),
    ]
    results: dict[str, pd.DataFrame] = {}
    # One BLAS thread: the bootstraps' products are small and a second OpenBLAS thread only
    # adds synchronisation (2 shared cores: 10-20% less CPU time for the whole command; the
    # three tables came out byte-identical either way). The caller's setting is restored after.
    with (
        single_threaded_blas(),
        tqdm(
            total=len(steps) + 1, desc="reproduce", unit="step", disable=None if progress else True
        ) as bar,
    ):
        for name, make in steps:
            bar.set_postfix_str(name)
            results[name] = make()
            bar.update(1)
        bar.set_postfix_str("writing")
        for name, table in results.items():
            tio.write_csv(table, out / f"{name}.csv")
        tio.write_json(
            study.provenance(
                "reproduce",
                {"n_boot": n_boot, "seed": seed},
                {},
                data_commit=datasets.UPSTREAM_COMMIT,
            ),
            out / "provenance.json",
        )
        bar.update(1)
    return results
