"""SAPA respondents grouped by any column of the data (vp_stats.io.psychtools.label_group_column,
``personas humans --group-col``, ``personas run --sample-from ... --group-col``), checked against
an independent pandas computation on the real psychTools data (psychTools' own data frames read
as they are, labels typed from ``?bfi`` and ``?spi``). Skipped when psychTools is not installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.io import psychtools as pt

runner = CliRunner()

#: Labels as ``?spi`` lists them (codes 1, 2, ...), typed here, not taken from the module.
SPI_DOC = {
    "health": ["poor", "fair", "good", "very good", "excellent"],
    "exer": [
        "very rarely",
        "less than once a month",
        "less than once a week",
        "1 or 2 times a week",
        "3-5 times a week",
        "more than 5 times a week",
    ],
    "smoke": [
        "never",
        "not in the last year",
        "less than once a month",
        "less than once a week",
        "1-3 days a week",
        "most days",
        "up to 5 times a day",
        "up to 20 times a day",
        "more than 20 times a day",
    ],
    "ER": ["none", "once", "twice", "3 or more times"],
    "sex": ["male", "female"],
    "education": [
        "less than 12 years",
        "high school graduate",
        "currently in university",
        "some university",
        "associate degree",
        "college degree",
        "in graduate or professional school",
        "graduate or professional degree",
    ],
}


@pytest.fixture(scope="module")
def spi():
    try:
        return pt.read_psychtools("spi"), pt.read_spi()
    except pt.PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools not installed: {exc}")


@pytest.fixture(scope="module")
def bfi():
    try:
        return pt.read_psychtools("bfi"), pt.read_bfi()
    except pt.PsychToolsNotFoundError as exc:
        pytest.skip(f"psychTools not installed: {exc}")


def _coded(raw: pd.Series, labels: list[str]) -> list:
    codes = dict(enumerate(labels, start=1))
    return [None if pd.isna(v) else codes[int(v)] for v in raw]


def _quartile_bands(x: pd.Series) -> list:
    """Quartile bands by hand: numpy's quantiles as edges, right-closed, each band named by
    the smallest and largest value in it."""
    v = x.to_numpy(dtype=float)
    edges = np.quantile(v[~np.isnan(v)], [0, 0.25, 0.5, 0.75, 1])
    band = np.searchsorted(edges[1:-1], v, side="left")
    name = {}
    for b in np.unique(band[~np.isnan(v)]):
        inside = v[(band == b) & ~np.isnan(v)]
        name[b] = f"{inside.min():g}-{inside.max():g}"
    return [None if np.isnan(a) else name[b] for a, b in zip(v, band, strict=True)]


@pytest.mark.parametrize("col", ["health", "exer", "smoke", "ER", "sex", "education"])
def test_spi_codes_become_the_documented_labels(spi, col):
    raw, read = spi
    got = pt.label_group_column(read, col, source="sapa-spi").tolist()
    assert got == _coded(raw[col], SPI_DOC[col])
    assert pd.Series(got).notna().sum() == raw[col].notna().sum() > 3000


@pytest.mark.parametrize("col", ["p1edu", "p2edu", "wellness"])
def test_spi_codes_without_documented_labels_are_named_as_codes(spi, col):
    raw, read = spi
    got = pt.label_group_column(read, col, source="sapa-spi").tolist()
    want = [None if pd.isna(v) else f"{col} code {int(v)}" for v in raw[col]]
    assert got == want


@pytest.mark.parametrize("which", ["spi", "bfi"])
def test_age_is_cut_into_labelled_quartile_bands(spi, bfi, which):
    raw, read = spi if which == "spi" else bfi
    got = pt.label_group_column(read, "age").tolist()
    assert got == _quartile_bands(raw["age"].astype(float))
    counts = pd.Series(got).value_counts()
    assert len(counts) == 4 and counts.min() > 0.2 * len(raw)  # quartiles, ties kept together


def test_bfi_education_and_gender_labels(bfi):
    raw, read = bfi
    edu = ["in high school", "finished high school", "some college", "college graduate"]
    edu.append("graduate degree")
    assert pt.label_group_column(read, "education").tolist() == _coded(raw["education"], edu)
    sexes = ["male", "female"]
    assert pt.label_group_column(read, "gender").tolist() == _coded(raw["gender"], sexes)


def test_unknown_column_names_it_and_the_available_ones(spi, bfi):
    with pytest.raises(ValueError, match=r"--group-col marital: sapa-spi has no such column; "):
        pt.sapa_groups("sapa-spi", ["health", "marital"])
    res = runner.invoke(
        app, ["personas", "humans", "--source", "sapa-bfi", "--group-col", "smoke", "--out", "x"]
    )
    assert res.exit_code == 2
    msg = res.output.strip()
    assert "\n" not in msg and "Traceback" not in msg
    assert "smoke" in msg and "available: gender, age, age_band, education" in msg


def _cohen_d(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = len(a), len(b)
    sp = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return (a.mean() - b.mean()) / sp


def test_humans_group_col_gaps_equal_pandas_on_the_real_data(spi, tmp_path):
    """``personas humans --group-col health,age`` on spi: every pair's n, means and Cohen's d
    equal a pandas computation from psychTools' own codes (labels and quartiles by hand)."""
    raw, _ = spi
    out = tmp_path / "h"
    res = runner.invoke(
        app,
        [
            "personas",
            "humans",
            "--source",
            "sapa-spi",
            "--group-col",
            "health",
            "--group-col",
            "age",
            "--n-boot",
            "0",
            "--n-perm",
            "3",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    gaps = pd.read_csv(out / "human_group_gaps.csv")
    assert list(gaps.columns[:2]) == ["group", "dimension"]
    scores = pt.sapa_scores("sapa-spi")  # scoring is checked against R in tests/stats
    people = pd.DataFrame(
        {
            "participant": [f"spi:{i}" for i in raw.index],
            "health": _coded(raw["health"], SPI_DOC["health"]),
            "age": _quartile_bands(raw["age"].astype(float)),
        }
    )
    wide = scores.pivot(index="participant", columns="dimension", values="score")
    wide = wide.join(people.set_index("participant"))
    for col, n_levels in (("health", 5), ("age", 4)):
        g = gaps[gaps["group"] == col]
        assert len(g) == 5 * n_levels * (n_levels - 1) // 2  # Big Five x pairs of levels
        for r in g.itertuples():
            a = wide.loc[wide[col] == r.group_a, r.dimension].dropna().to_numpy()
            b = wide.loc[wide[col] == r.group_b, r.dimension].dropna().to_numpy()
            assert (r.n_a, r.n_b) == (len(a), len(b))
            assert r.mean_a == pytest.approx(a.mean(), abs=1e-12)
            assert r.d == pytest.approx(_cohen_d(a, b), abs=1e-10)
    dist = pd.read_csv(out / "group_distances.csv")
    assert set(dist["group"]) == {"health", "age"}
    poor = dist[(dist.group == "health") & (dist.group_a == "excellent") & (dist.group_b == "poor")]
    assert int(poor["n_b"].iloc[0]) == int((raw["health"] == 1).sum())
    assert "health" in res.output and "excellent" in res.output


def test_silicon_sample_on_chosen_columns_is_compared_by_them(spi, bfi):
    """Personas drawn on (gender, education) of bfi carry bfi's documented education labels,
    and the IPIP comparison groups the SAPA respondents by the same labelled columns."""
    from vp_stats.studies import personas as ps

    raw, _ = bfi
    drawn = ps.sampled_personas("sapa-bfi", 40, seed=1, group_cols=["gender", "education"])
    edu = {"in high school", "finished high school", "some college", "college graduate"}
    edu |= {"graduate degree"}
    assert set(drawn["education"].dropna()) <= edu and len(set(drawn["education"].dropna())) > 2
    assert "age" not in drawn.columns
    # answers of two drawn personas on two items: steerability against the labelled groups
    two = drawn.dropna(subset=["education", "gender"]).drop_duplicates("education").head(2)
    ans = pd.DataFrame(
        [
            {"persona_id": p.persona_id, "item": i, "rating": 3.0, "parse_ok": True,
             "gender": p.gender, "education": p.education}
            for p in two.itertuples()
            for i in ("A1", "E3")
        ]
    )  # fmt: skip
    res = ps.sapa_fidelity(ans, group_cols=["education"], n_boot=0, n_floor=5)
    st = res.steerability
    assert set(st["attribute"]) == {"education"} and set(st["group"]) == edu
    with pytest.raises(ValueError, match="the personas have no attribute 'age'"):
        ps.sapa_fidelity(ans.assign(health="good"), group_cols=["age"], n_boot=0, n_floor=5)
    with pytest.raises(ValueError, match="sapa-bfi has no such column"):
        ps.sapa_fidelity(ans.assign(health="good"), group_cols=["health"], n_boot=0, n_floor=5)
