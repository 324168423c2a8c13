"""File-level compass functions behind `vp-stats compass match|score`: results checked against
hand-computed composites (MRAT centring by hand, scipy's Spearman), and bad files refused with
messages naming file, row and field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vp_stats import schema
from vp_stats.stats import compass_weights
from vp_stats.studies import compass as compass_studies

VALUES = list(schema.PVQ_VALUES)


@pytest.fixture()
def profiles():
    rng = np.random.default_rng(11)
    rows = []
    for m in ("m_a", "m_b", "m_c", "m_d"):
        s = rng.normal(0, 0.5, len(VALUES))
        rows += [(m, "pvq", d, float(x)) for d, x in zip(VALUES, s, strict=True)]
    return pd.DataFrame(rows, columns=["model", "family", "dimension", "centered_mean"])


@pytest.fixture()
def answers():
    rng = np.random.default_rng(5)
    return rng.integers(1, 7, size=21)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _long_csv(path, answers):
    return _write(path, "item,answer\n" + "".join(f"{i},{a}\n" for i, a in enumerate(answers, 1)))


def _by_hand(answers, profiles):
    """MRAT-centred value scores and the three composites, computed directly."""
    x = np.asarray(answers, float)
    w = np.array([x[[i - 1 for i in schema.PVQ21_KEY[v]]].mean() for v in VALUES]) - x.mean()
    mat = profiles.pivot(index="model", columns="dimension", values="centered_mean")[VALUES]
    S = mat.to_numpy()
    weighted = S @ w / np.abs(w).sum()
    rho = np.array([stats.spearmanr(s, w)[0] for s in S])
    t = w / np.abs(w).max()
    sm = S / np.abs(S).max(axis=1, keepdims=True)
    dist = (np.abs(t) * (np.abs(sm) > 0.3) * np.abs(sm - t)).sum(axis=1)
    return pd.DataFrame(
        {
            "model": mat.index,
            "weighted": weighted,
            "rank_agreement": (rho + 1) / 2,
            "distance": dist,
        }
    ).set_index("model")


# ----------------------------------------------------------------------------- match


def test_match_file_long_by_hand(tmp_path, profiles, answers):
    res = compass_studies.match_file(_long_csv(tmp_path / "me.csv", answers), profiles)
    ref = _by_hand(answers, profiles)
    got = res.table.set_index("model")
    for c in ("weighted", "rank_agreement", "distance"):
        assert np.allclose(got[c], ref.loc[got.index, c], atol=1e-12), c
    assert got["weighted_rank"].tolist() == list(range(1, 5))  # sorted by the weighted rank
    exp_rank = ref["weighted"].rank(ascending=False, method="min").astype(int)
    assert (got["weighted_rank"] == exp_rank[got.index]).all()
    exp_d = ref["distance"].rank(method="min").astype(int)
    assert (got["distance_rank"] == exp_d[got.index]).all()
    assert "centred profiles" in res.caveat


@pytest.mark.parametrize("style", ["numbers", "ess", "item_prefix"])
def test_match_file_wide_layouts_agree(tmp_path, profiles, answers, style):
    names = {
        "numbers": [str(i) for i in range(1, 22)],
        "ess": list(schema.ESS_HVS_VARIABLES),
        "item_prefix": [f"item{i}" for i in range(1, 22)],
    }[style]
    order = np.random.default_rng(2).permutation(21)  # column order must not matter
    head = ",".join(["respondent"] + [names[i] for i in order])
    body = ",".join(["anna"] + [str(answers[i]) for i in order])
    wide = compass_studies.match_file(
        _write(tmp_path / "w.csv", head + "\n" + body + "\n"), profiles
    )
    long = compass_studies.match_file(_long_csv(tmp_path / "l.csv", answers), profiles)
    pd.testing.assert_frame_equal(wide.table, long.table)
    assert "'anna'" in wide.weights_source


def test_match_file_released_models(tmp_path, answers):
    out = compass_studies.match_file(_long_csv(tmp_path / "me.csv", answers)).table
    assert len(out) == 34 and out.model.is_unique
    assert sorted(out.weighted_rank) == sorted(
        out.weighted.rank(ascending=False, method="min").astype(int)
    )


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "item,answer\n" + "".join(f"{i},3\n" for i in range(1, 21)),
            r"missing answers for item\(s\) \[21\]",
        ),
        (
            "item,answer\n" + "".join(f"{i},{7 if i == 5 else 3}\n" for i in range(1, 22)),
            r"row 5 \(line 6\), field 'answer': 7 is not an integer 1..6",
        ),
        (
            "item,answer\n" + "".join(f"{i},{'' if i == 2 else 3}\n" for i in range(1, 22)),
            r"row 2 \(line 3\), field 'answer': empty cell",
        ),
        (
            "item,answer\n" + "".join(f"{i},3.5\n" for i in range(1, 22)),
            r"row 1 \(line 2\), field 'answer': 3.5 is not an integer 1..6",
        ),
        (
            "item,answer\n1,3\n1,4\n" + "".join(f"{i},3\n" for i in range(2, 22)),
            r"row 2 \(line 3\), field 'item': item 1 given twice \(first in row 1\)",
        ),
        (
            "item,answer\n" + "".join(f"{i},3\n" for i in range(1, 21)) + "22,3\n",
            r"row 21 \(line 22\), field 'item': unknown item '22'",
        ),
        ("item,answer,comment\n1,3,x\n", r"field 'comment': unexpected column"),
        (
            ",".join(str(i) for i in range(1, 22))
            + "\n"
            + ",".join(["3"] * 21)
            + "\n"
            + ",".join(["3"] * 21)
            + "\n",
            r"2 data rows",
        ),
        (
            ",".join(str(i) for i in range(1, 21)) + ",foo\n" + ",".join(["3"] * 21) + "\n",
            r"field 'foo': unknown column",
        ),
        (
            ",".join(str(i) for i in range(1, 21)) + "\n" + ",".join(["3"] * 20) + "\n",
            r"missing item column\(s\) \[21\]",
        ),
        ("item,answer\n", r"no data rows"),
        (
            "item,answer\n" + "".join(f"{i},x\n" for i in range(1, 22)),
            r"row 1 \(line 2\), field 'answer': cannot read 'x' as a number",
        ),
        (
            ",".join(str(i) for i in range(1, 22)) + "\n" + ",".join(["3"] * 20) + ",9\n",
            r"row 1 \(line 2\), field '21': 9 is not an integer 1..6",
        ),
    ],
)
def test_match_file_bad_inputs(tmp_path, profiles, text, match):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=match) as e:
        compass_studies.match_file(path, profiles)
    assert str(path) in str(e.value)


def test_match_file_missing_file_and_flat_person(tmp_path, profiles):
    with pytest.raises(ValueError, match="nope.csv: file level: file not found"):
        compass_studies.match_file(tmp_path / "nope.csv", profiles)
    flat = _long_csv(tmp_path / "flat.csv", [4] * 21)
    with pytest.raises(ValueError, match="all weights are zero"):
        compass_studies.match_file(flat, profiles)


# ----------------------------------------------------------------------------- score


def test_score_file_by_hand_subset_and_names(tmp_path, profiles):
    path = _write(
        tmp_path / "w.csv", "dimension,weight\nbenevolence,3\nPower,-1\nself direction,0.5\n"
    )
    out = compass_studies.score_file(path, profiles).table
    mat = profiles.pivot(index="model", columns="dimension", values="centered_mean")
    w = pd.Series({"Benevolence": 3.0, "Power": -1.0, "Self_Direction": 0.5})
    ref = (mat[w.index] * w).sum(axis=1) / w.abs().sum()
    got = out.set_index("model")["weighted_composite"]
    assert np.allclose(got, ref[got.index], atol=1e-12)
    assert out["weighted_composite"].is_monotonic_decreasing and out["rank"].tolist() == [
        1,
        2,
        3,
        4,
    ]
    assert (out.n_dimensions == 3).all() and (out.weights_source == "weights file w.csv").all()


def test_score_file_released_models_higher_order(tmp_path):
    path = _write(tmp_path / "w.csv", "dimension,weight\nConservation,1\nOpenness_to_Change,-1\n")
    out = compass_studies.score_file(path).table
    assert len(out) == 34
    prof = compass_studies.released_profiles("higher_pvq").pivot(
        index="model", columns="dimension", values="centered_mean"
    )
    ref = (prof["Conservation"] - prof["Openness_to_Change"]) / 2
    assert np.allclose(out.set_index("model").weighted_composite, ref[out.model], atol=1e-12)


@pytest.mark.parametrize(
    "text, match",
    [
        ("dim,weight\nPower,1\n", r"field 'dimension': missing column 'dimension'"),
        (
            "dimension,weight\nPower,1\nKindness,2\n",
            r"row 2 \(line 3\), field 'dimension': 'Kindness' is not one of the allowed values; "
            "known: Self_Direction",
        ),
        (
            "dimension,weight\nPower,1\npower,2\n",
            r"row 2 \(line 3\), field 'dimension': "
            r"duplicate dimension 'Power' \(first in row 1\)",
        ),
        (
            "Dimension,Weight\nPower,1\nSecurity,high\n",
            r"row 2 \(line 3\), field 'Weight': cannot read 'high' as a number",
        ),
        ("dimension,weight\nPower,1\nSecurity,\n", r"row 2 .*field 'weight': empty cell"),
        ("dimension,weight\nPower,1\nSecurity,inf\n", r"row 2 .*field 'weight': inf is not a fin"),
        ("dimension,weight\nPower,0\nSecurity,0\n", r"all weights are zero"),
        ("dimension,weight\nPower,1\nOpenness,1\n", r"several families"),
        ("", r"not a readable CSV file"),
    ],
)
def test_score_file_bad_inputs(tmp_path, profiles, text, match):
    path = _write(tmp_path / "bad_weights.csv", text)
    with pytest.raises(ValueError, match=match) as e:
        compass_studies.score_file(path, profiles)
    assert "bad_weights.csv" in str(e.value)


def test_score_file_profiles_without_family(tmp_path, profiles):
    path = _write(tmp_path / "w.csv", "dimension,weight\nConservation,1\n")
    with pytest.raises(ValueError, match="no 'higher_pvq' rows"):
        compass_studies.score_file(path, profiles)


# ----------------------------------------------------------------------------- study helpers


def test_composite_table_and_sensitivity_by_hand(profiles):
    w = pd.DataFrame(
        {
            "group": ["g1"] * 10 + ["g2"] * 10,
            "dimension": VALUES * 2,
            "weight": list(np.linspace(-1, 1, 10)) + list(np.linspace(1, -1, 10)),
            "weights_source": "demo",
        }
    )
    t = compass_studies.composite_table(profiles, w)
    mat = profiles.pivot(index="model", columns="dimension", values="centered_mean")[VALUES]
    for g in ("g1", "g2"):
        wv = w[w.group == g].weight.to_numpy()
        sub = t[t.group == g].set_index("model")
        assert np.allclose(
            sub.weighted_composite, (mat @ wv / np.abs(wv).sum())[sub.index], atol=1e-12
        )
        rho = [stats.spearmanr(mat.loc[m], wv)[0] for m in sub.index]
        assert np.allclose(sub.rho, rho, atol=1e-12)
    # opposite weights reverse the ranking
    r1 = t[t.group == "g1"].set_index("model").weighted_rank
    r2 = t[t.group == "g2"].set_index("model").weighted_rank
    assert ((r1 + r2) == 5).all()
    s0 = compass_studies.weight_sensitivity(
        profiles, w[w.group == "g1"].drop(columns="group"), noise=0.0, n_draws=20
    )
    assert (s0["rank"] == s0.rank_p05).all() and (s0["rank"] == s0.rank_p95).all()
    s1 = compass_studies.weight_sensitivity(
        profiles, w[w.group == "g1"].drop(columns="group"), noise=2.0, n_draws=400
    )
    assert (s1.rank_p95 - s1.rank_p05).max() > 0
    assert np.allclose(s1.composite, s0.composite)


def test_participant_groups():
    rng = np.random.default_rng(0)
    centres = np.array([[1.0] * 5 + [-1.0] * 5, [-1.0] * 5 + [1.0] * 5])
    lab = np.repeat([0, 1], [30, 10])
    X = centres[lab] + rng.normal(0, 0.1, (40, 10))
    t = pd.DataFrame(
        [(f"p{i}", "pvq", d, X[i, j]) for i in range(40) for j, d in enumerate(VALUES)],
        columns=["participant", "family", "dimension", "score"],
    )
    g = compass_weights.participant_groups(t, "kmeans", 2, seed=1).set_index("participant").group
    truth = pd.Series(
        np.where(lab == 0, "cluster 1", "cluster 2"), index=[f"p{i}" for i in range(40)]
    )
    assert (g[truth.index] == truth).all()  # largest cluster is 'cluster 1'
    q = compass_weights.participant_groups(t, "quantile", 4, dimension="Power")
    assert q.group.value_counts().eq(10).all()
    with pytest.raises(ValueError, match="dimension="):
        compass_weights.participant_groups(t, "quantile", 4)
