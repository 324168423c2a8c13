"""family and dimension as ordered categoricals: sorting keeps the circumplex, CSV text is kept.

Every public function of vp_stats.stats and vp_stats.studies is walked (list-driven, as the figure
tests walk the plot functions): one whose table has these columns orders them (a tables.Result,
or @schema.orders_dimensions) or is named in DATA, NO_COLUMN or PENDING below. A user's own
dimensions follow the known ones in the order they first appear.
"""

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema, tables
from vp_stats.stats import scoring, simulate, validation


def test_order_dimensions_sorts_in_circumplex_order_and_keeps_the_text():
    rng = np.random.default_rng(0)
    dims = list(schema.DIMENSION_ORDER)
    t = pd.DataFrame({"dimension": rng.permutation(dims)})
    t["family"] = t["dimension"].map(schema.family_of)
    t["x"] = np.arange(len(t))
    o = schema.order_dimensions(t)
    assert o.sort_values("dimension")["dimension"].tolist() == dims
    pvq = o[o.family == "pvq"].sort_values("dimension")["dimension"].tolist()
    assert pvq == list(schema.PVQ_VALUES)  # Self_Direction ... Universalism, not alphabetical
    assert o.sort_values("family")["family"].drop_duplicates().tolist() == list(schema.FAMILY_NAMES)
    assert o.to_csv(index=False) == t.to_csv(index=False)  # the same text in a CSV
    assert t["dimension"].dtype == object or t["dimension"].dtype == "str"  # input untouched


def test_order_dimensions_keeps_unknown_dimensions_and_missing_values():
    t = pd.DataFrame(
        {"family": ["own", "pvq", "pvq", None], "dimension": ["Zeal", "Power", "Hedonism", None]}
    )
    o = schema.order_dimensions(t)
    assert list(o["dimension"].cat.categories) == ["Hedonism", "Power", "Zeal"]
    assert list(o["family"].cat.categories) == ["pvq", "own"]
    assert o["dimension"].isna().tolist() == [False, False, False, True]
    assert o.to_csv(index=False) == t.to_csv(index=False)


def test_result_tables_of_validation_and_scoring_are_ordered():
    st = simulate.synthetic(n_participants=60, n_items=30, n_groups=2, seed=1)
    res = validation.validate_items(st["ratings"], st["scores"], families=["pvq"], n_boot=0)
    table = res.table
    assert table["dimension"].cat.ordered and table["family"].cat.ordered
    got = table.sort_values("dimension")["dimension"].drop_duplicates().tolist()
    assert got == list(schema.PVQ_VALUES)
    plain = table.astype({"family": str, "dimension": str})
    assert table.to_csv(index=False) == plain.to_csv(index=False)
    answers = (
        st["ratings"]
        .groupby(["portrait_id", "option_id"], as_index=False)["rating"]
        .mean()
        .assign(model="m", rating=lambda d: d.rating.round())
    )
    prof = scoring.value_profiles(
        answers, table, families=["pvq"], exclusions=None, rating="rating"
    )
    assert prof["dimension"].cat.ordered
    assert prof.sort_values("dimension")["dimension"].tolist() == list(schema.PVQ_VALUES)


# ------------------------------------------------------------ every public function, list-driven
#
# A public function of vp_stats.stats or vp_stats.studies whose table has a ``family`` or
# ``dimension`` column returns them ordered: either it returns a tables.Result (which orders its
# tables when built) or it carries @schema.orders_dimensions. The lists below name the others, so
# a new function must be placed: the static test flags any unplaced function whose source names a
# family/dimension column, and the doctest walk flags any that returns one unordered in its example.

#: data, not results: simulators and loaders return the tables as a file would hold them (text)
DATA = {
    "stats.simulate": {
        "synthetic",
        "synthetic_study",
        "scale_study",
        "synthetic_model_answers",
        "synthetic_version_pairs",
    },
    "stats.structure": {"synthetic_circumplex"},
    "studies.validate": {"load_study"},
    "studies.released": {"released_tables"},
    "studies.personas": {"value_portrait_reference", "instrument_jobs"},
}

#: the source names family/dimension, but the table has no such column (wide matrices whose
#: columns are the dimensions, composites per model, text)
NO_COLUMN = {
    "stats.compass": {"score_matrix", "match_models"},
    "stats.compass_weights": {"participant_groups"},
    "stats.irt": {"binary_matrix_from_answers", "ordinal_matrix_from_answers"},
    "stats.personas": {"value_correlation_matrix"},
    "stats.scoring": {"threshold_sensitivity", "cluster_models"},
    "stats.structure": {"correlation_matrix", "circumplex_check"},
    "studies.compass": {"composite_table", "weight_sensitivity"},
    "studies.personas": {"comparison_summary"},
}

#: in modules another branch edits this round; each needs ``@schema.orders_dimensions`` above
#: its ``def`` (the lead adds it on merging, then removes the name here)
PENDING: dict[str, set[str]] = {}


def _public_functions():
    import importlib
    import inspect

    from vp_stats import stats, studies

    for pkg in (stats, studies):
        for m in pkg.__all__:
            mod = importlib.import_module(f"{pkg.__name__}.{m}")
            for name in mod.__all__:
                fn = getattr(mod, name)
                if inspect.isfunction(fn):
                    yield f"{pkg.__name__.split('.')[1]}.{m}", name, mod, fn


def _returns_result(fn) -> bool:
    import inspect

    ann = inspect.signature(fn).return_annotation
    if isinstance(ann, str):
        try:
            ann = eval(ann, inspect.unwrap(fn).__globals__)  # noqa: S307 (an annotation)
        except Exception:
            return False
    return isinstance(ann, type) and issubclass(ann, tables.Result)


def _placed(mod: str, name: str) -> bool:
    return any(name in lst.get(mod, ()) for lst in (DATA, NO_COLUMN, PENDING))


def _ordered(fn) -> bool:
    return getattr(fn, "orders_dimensions", False) or _returns_result(fn)


def test_every_public_function_naming_a_dimension_column_orders_it_or_is_placed():
    import inspect
    import re

    column = re.compile(r"""["'](family|dimension)["']""")
    loose, seen = [], set()
    for mod, name, _, fn in _public_functions():
        seen.add((mod, name))
        if _ordered(fn) or _placed(mod, name):
            continue
        if column.search(inspect.getsource(inspect.unwrap(fn))):
            loose.append(f"{mod}.{name}")
    assert not loose, "order (@schema.orders_dimensions) or place in a list: " + ", ".join(loose)
    listed = {(m, n) for lst in (DATA, NO_COLUMN, PENDING) for m, ns in lst.items() for n in ns}
    assert listed <= seen, f"listed but not public: {sorted(listed - seen)}"
    ordered = [f for *_, f in _public_functions() if _ordered(f)]
    assert len(ordered) >= 40  # the walk sees the package (decorated ones and results)


def test_pending_functions_are_not_yet_ordered():
    """When a pending function gets its decorator, its name leaves PENDING (this fails until)."""
    done = [
        f"{m}.{n}"
        for m, n, _, fn in _public_functions()
        if n in PENDING.get(m, ()) and _ordered(fn)
    ]
    assert not done, f"ordered now, remove from PENDING: {done}"


def _frames(value, where):
    import dataclasses

    if isinstance(value, pd.DataFrame):
        yield where, value
    elif isinstance(value, tables.Result):
        for f in dataclasses.fields(value):
            yield from _frames(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _frames(v, f"{where}[{k!r}]")
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from _frames(v, f"{where}[{i}]")


@pytest.mark.filterwarnings("ignore")
def test_every_example_returns_family_and_dimension_ordered(monkeypatch):
    """Run the examples of every stats/studies module with each public function watched."""
    import doctest
    import functools

    seen, unordered = {}, []

    def watch(mod, name, fn):
        @functools.wraps(fn)
        def watched(*args, **kwargs):
            out = fn(*args, **kwargs)
            for where, df in _frames(out, f"{mod}.{name}"):
                if {"family", "dimension"} & set(df.columns):
                    seen[where] = df
                    if schema.needs_order(df) and not _placed(mod, name):
                        unordered.append(where)
            return out

        return watched

    modules = {}
    for mod, name, module, fn in _public_functions():
        monkeypatch.setattr(module, name, watch(mod, name, fn))
        modules[module.__name__] = module
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for module in modules.values():
        for t in finder.find(module, module.__name__, globs=dict(vars(module))):
            runner.run(t, out=lambda _: None)
    assert runner.failures == 0 and runner.tries > 200  # the examples ran as in the doctests
    assert not unordered, "unordered family/dimension in: " + ", ".join(sorted(set(unordered)))
    # the walk reached the main result tables through the examples
    assert {"stats.scoring.value_profiles", "stats.validation.validate_items.table"} <= set(seen)
    assert len(seen) >= 30


def test_results_order_their_tables_even_with_their_own_post_init():
    t = pd.DataFrame({"family": ["pvq", "pvq"], "dimension": ["Tradition", "Power"]})
    plain = tables.Result(t)
    assert plain.table.dimension.cat.ordered and plain.table.equals(schema.order_dimensions(t))
    from vp_stats.stats.versions import VersionComparison  # has its own __post_init__

    res = VersionComparison(table=t, pooled=t, method="spearman", ci=0.95, n_boot=0, seed=0)
    assert res.table.dimension.cat.ordered and res.pooled.family.cat.ordered
    assert res.notes["method"] == "spearman"  # its own __post_init__ still ran
    assert t["dimension"].dtype != "category"  # the caller's table is untouched


def test_file_readers_keep_their_text():
    from vp_stats.io.formats import FileTable

    t = pd.DataFrame({"family": ["pvq"], "dimension": ["Power"]})
    assert not isinstance(FileTable(t).table["dimension"].dtype, pd.CategoricalDtype)


def test_a_users_own_dimensions_follow_the_known_ones_in_first_seen_order():
    from vp_stats.stats import survey

    d = pd.DataFrame(
        {
            "participant": list("abcdef") * 2,
            "family": ["own"] * 6 + ["pvq"] * 6,
            "dimension": ["Zeal"] * 3 + ["Awe"] * 3 + ["Tradition"] * 3 + ["Power"] * 3,
            "score": np.arange(12.0),
            "group": ["g", "h", "g"] * 4,
        }
    )
    out = survey.weighted_group_means(d, by="group", weight=None)
    assert list(out["dimension"].cat.categories) == ["Power", "Tradition", "Zeal", "Awe"]
    assert list(out["family"].cat.categories) == ["pvq", "own"]
    assert out.to_csv(index=False) == out.astype({"family": str, "dimension": str}).to_csv(
        index=False
    )
