"""family and dimension as ordered categoricals: sorting keeps the circumplex, CSV text is kept."""

import numpy as np
import pandas as pd

from vp_stats import schema
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
