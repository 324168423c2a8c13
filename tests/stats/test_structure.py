"""Tests of vp_stats.stats.structure: correlations and classical MDS against R, circumplex check.

R (``cor``, ``cmdscale``) runs once for the module; classical MDS is closed
form (an eigendecomposition), so coordinates must agree to 1e-10 up to the
sign of each axis (neither implementation's sign is canonical; ours is fixed
by a rule).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import r_reference  # noqa: E402  (tests/ is on sys.path via tests/conftest.py)
from scipy import stats

from vp_stats import schema, tables
from vp_stats.io import datasets
from vp_stats.stats import structure

TOL = 1e-10


@pytest.fixture(scope="session")
def real_scores():
    return datasets.load_participant_scores()


@pytest.fixture(scope="session")
def r_ref(real_scores):
    rscript, reason = r_reference.available()
    if rscript is None:
        print(f"R reference unavailable: {reason}")
        pytest.skip(reason)
    syn = structure.synthetic_circumplex(n_participants=300, seed=4)
    mats = {
        "real": tables.participant_matrix(real_scores, "pvq"),
        "syn": tables.participant_matrix(syn, "pvq"),
    }
    script = r"""
for (nm in c("real", "syn")) {
  x <- get(nm)
  for (m in c("pearson", "spearman")) {
    r <- cor(x, method = m)
    out(paste0(nm, ".", m, ".cor"), r)
    for (d in c("sqrt", "linear")) {
      dd <- if (d == "sqrt") sqrt(pmax(2 * (1 - r), 0)) else 1 - r
      diag(dd) <- 0
      mds <- cmdscale(as.dist(dd), k = 2, eig = TRUE)
      out(paste0(nm, ".", m, ".", d, ".points"), mds$points)
      out(paste0(nm, ".", m, ".", d, ".eig"), mds$eig)
    }
  }
}
"""
    return r_reference.run(script, mats)


# --------------------------------------------------------------------------- correlations


@pytest.mark.r
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_correlation_matrix_matches_r(method, real_scores, r_ref):
    r = structure.correlation_matrix(real_scores, "pvq", method)
    assert list(r.index) == list(schema.PVQ_VALUES)
    np.testing.assert_allclose(r.to_numpy().ravel(order="F"), r_ref[f"real.{method}.cor"], atol=TOL)


def test_value_correlations_tidy_matches_scipy(real_scores):
    t = structure.value_correlations(real_scores)
    wide = tables.participant_matrix(real_scores, "pvq")
    assert len(t) == 45 and (t.n == 569).all()
    for row in t.sample(8, random_state=0).itertuples():
        a, b = wide[row.dimension_a], wide[row.dimension_b]
        assert row.pearson == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-12)
        assert row.spearman == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    order = {d: i for i, d in enumerate(schema.PVQ_VALUES)}
    assert (t.dimension_a.map(order) < t.dimension_b.map(order)).all()


def test_bad_scores_raise(real_scores):
    holed = real_scores.drop(index=real_scores.index[5])
    who = real_scores.participant.iloc[5]
    with pytest.raises(ValueError, match=f"participant '{who}'"):
        structure.correlation_matrix(holed)
    with pytest.raises(ValueError, match="unknown family"):
        structure.correlation_matrix(real_scores, "mbti")
    with pytest.raises(ValueError, match="method must be"):
        structure.correlation_matrix(real_scores, method="kendall")


# --------------------------------------------------------------------------- MDS


def _same_up_to_axis_sign(a: np.ndarray, b: np.ndarray, tol: float) -> None:
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a, b * signs, atol=tol)


@pytest.mark.r
@pytest.mark.parametrize("name,scores_kind", [("real", "real"), ("syn", "syn")])
@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("distance", ["sqrt", "linear"])
def test_classical_mds_matches_cmdscale(name, scores_kind, method, distance, real_scores, r_ref):
    scores = (
        real_scores
        if scores_kind == "real"
        else structure.synthetic_circumplex(n_participants=300, seed=4)
    )
    d = structure.correlation_distance(
        structure.correlation_matrix(scores, "pvq", method), distance
    )
    xy = structure.classical_mds(d)
    ours = xy.coordinates()
    ref = r_ref[f"{name}.{method}.{distance}.points"].reshape(2, -1).T
    _same_up_to_axis_sign(ours, ref, TOL)
    np.testing.assert_allclose(xy.eigenvalues, r_ref[f"{name}.{method}.{distance}.eig"], atol=TOL)
    assert xy.table.label.tolist() == list(schema.PVQ_VALUES)


def test_classical_mds_recovers_planar_configuration_and_equals_pca_of_centred_r():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(7, 2)) * [3, 1]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    xy = structure.classical_mds(d).coordinates()
    # Procrustes: the embedding reproduces every distance exactly
    np.testing.assert_allclose(np.linalg.norm(xy[:, None] - xy[None], axis=-1), d, atol=1e-10)
    assert structure.classical_mds(d).explained == pytest.approx(1.0, abs=1e-12)
    # with d = sqrt(2 (1 - r)), B = J R J: coordinates are eigenvectors of J R J
    r = np.corrcoef(rng.normal(size=(50, 6)), rowvar=False)
    j = np.eye(6) - 1 / 6
    w, v = np.linalg.eigh(j @ r @ j)
    ref = v[:, ::-1][:, :2] * np.sqrt(w[::-1][:2])
    got = structure.classical_mds(structure.correlation_distance(r)).coordinates()
    _same_up_to_axis_sign(got, ref, 1e-10)


def test_mds_input_errors():
    with pytest.raises(ValueError, match="square"):
        structure.classical_mds(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not symmetric"):
        structure.classical_mds(np.array([[0, 1, 2], [1, 0, 1], [3, 1, 0]], dtype=float))
    with pytest.raises(ValueError, match="positive eigenvalue"):
        structure.classical_mds(np.zeros((4, 4)))


def test_metric_mds_is_seeded_and_no_worse_than_classical(real_scores):
    d = structure.correlation_distance(structure.correlation_matrix(real_scores))
    a = structure.metric_mds(d, random_state=3)
    b = structure.metric_mds(d, random_state=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    x0 = structure.classical_mds(d).coordinates()
    dd = d.to_numpy()
    raw0 = ((dd - np.linalg.norm(x0[:, None] - x0[None], axis=-1)) ** 2).sum() / 2
    x1 = a.coordinates()
    raw1 = ((dd - np.linalg.norm(x1[:, None] - x1[None], axis=-1)) ** 2).sum() / 2
    assert a.stress == pytest.approx(raw1, rel=1e-6)
    assert raw1 <= raw0 + 1e-12


# --------------------------------------------------------------------------- circumplex check


def _angles(order_idx, step=36.0, offset=0.0, sign=1):
    """Angles placing theoretical value order_idx[p] at position p."""
    ang = np.empty(10)
    ang[list(order_idx)] = (offset + sign * step * np.arange(10)) % 360
    return pd.DataFrame({"dimension": schema.PVQ_VALUES, "angle_deg": ang})


def test_check_is_rotation_and_reflection_invariant():
    ident = list(range(10))
    for offset in (0.0, 17.0, 200.0):
        for sign in (1, -1):
            c = structure.circumplex_check(_angles(ident, offset=offset, sign=sign)).iloc[0]
            assert bool(c.exact_order) and c.adjacent_pairs_preserved == 10
            assert c.circular_rank_association == pytest.approx(1.0, abs=1e-12)
            assert c.mean_displacement == 0 and c.max_displacement == 0
            assert c.direction == ("same" if sign == 1 else "reflected")
            assert c.recovered_order == c.theoretical_order == "SD-ST-HE-AC-PO-SE-CO-TR-BE-UN"


def test_check_hand_worked_swaps():
    # swap neighbours Security (5) and Conformity (6): pairs PO-SE and CO-TR are lost,
    # SE-CO kept -> 8 of 10; two values one position off -> mean 0.2, max 1
    order = [0, 1, 2, 3, 4, 6, 5, 7, 8, 9]
    c = structure.circumplex_check(_angles(order, offset=90, sign=-1)).iloc[0]
    assert c.adjacent_pairs_preserved == 8 and not bool(c.exact_order)
    assert c.mean_displacement == pytest.approx(0.2) and c.max_displacement == 1
    assert c.recovered_order == "SD-ST-HE-AC-PO-CO-SE-TR-BE-UN"
    # uniform-score association by the explicit cos/sin sums
    g = 2 * np.pi * np.arange(10) / 10
    h = 2 * np.pi * np.argsort(order) / 10
    r_plus = (np.cos(g - h).sum() ** 2 + np.sin(g - h).sum() ** 2) / 100
    r_minus = (np.cos(g + h).sum() ** 2 + np.sin(g + h).sum() ** 2) / 100
    assert c.circular_rank_association == pytest.approx(max(r_plus, r_minus), abs=1e-12)
    assert c.circular_rank_association < 1
    # opposite order of every other value: SD, HE, PO, CO, BE, ST, AC, SE, TR, UN:
    # no theoretical neighbours stay adjacent except UN-SD
    c2 = structure.circumplex_check(_angles([0, 2, 4, 6, 8, 1, 3, 5, 7, 9])).iloc[0]
    assert c2.adjacent_pairs_preserved == 1
    assert c2.expected_adjacent_by_chance == pytest.approx(20 / 9)


def test_check_missing_dimension_raises():
    a = _angles(list(range(10))).iloc[1:]
    with pytest.raises(ValueError, match="Self_Direction"):
        structure.circumplex_check(a)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("mds", ["classical", "metric"])
def test_perfect_circumplex_recovered(seed, mds):
    scores = structure.synthetic_circumplex(n_participants=400, noise=0.5, seed=seed)
    pos = structure.circumplex_positions(scores, mds=mds, random_state=seed)
    c = structure.circumplex_check(pos).iloc[0]
    assert bool(c.exact_order) and c.adjacent_pairs_preserved == 10
    # equally spaced: consecutive angles about 36 degrees apart
    gaps = np.diff(np.sort(pos.angle_deg.to_numpy()), append=pos.angle_deg.min() + 360)
    assert np.all(np.abs(gaps - 36) < 12)


def test_real_data_circumplex(real_scores):
    # What the 569 Value Portrait participants' MRAT-centred PVQ-21 scores give:
    # classical MDS recovers Schwartz's order except in the Conservation region,
    # where Security lands between Tradition and Benevolence (7 of 10 neighbour pairs
    # kept; PO-SE, SE-CO and TR-BE lost). Metric MDS moves Security back next to
    # Conformity (8 of 10). Far above the 2.2 neighbour pairs of a random order.
    c = structure.circumplex_check(structure.circumplex_positions(real_scores)).iloc[0]
    assert c.recovered_order == "SD-ST-HE-AC-PO-CO-TR-SE-BE-UN"
    assert c.direction == "same" and c.adjacent_pairs_preserved == 7 and c.max_displacement == 2
    assert c.mean_displacement == pytest.approx(0.4)
    sp = structure.circumplex_check(
        structure.circumplex_positions(real_scores, method="spearman")
    ).iloc[0]
    assert sp.recovered_order == c.recovered_order
    m = structure.circumplex_check(structure.circumplex_positions(real_scores, mds="metric")).iloc[
        0
    ]
    assert m.recovered_order == "SD-ST-HE-AC-PO-CO-SE-TR-BE-UN" and m.adjacent_pairs_preserved == 8
    mds = structure.classical_mds(
        structure.correlation_distance(structure.correlation_matrix(real_scores))
    )  # the map of circumplex_positions(real_scores)
    assert 0.45 < mds.explained < 0.6  # two axes carry about half of the structure


def test_correlation_distance_is_exactly_symmetric_near_perfect_correlations():
    """np.corrcoef's r[i, j] and r[j, i] can differ in the last bit; sqrt(2 (1 - r)) magnified
    that past classical_mds's symmetry check for nearly collinear persona scores."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.normal(size=(4, 10))
        x[:, 1] = 3 * x[:, 0] + 1e-9 * rng.normal(size=4)
        r = np.corrcoef(x, rowvar=False)
        d = structure.correlation_distance(r)
        assert (d == d.T).all()
        expected = np.sqrt(np.clip(2 * (1 - r), 0, None)) * (1 - np.eye(10))
        np.testing.assert_allclose(d, expected, atol=2e-8)
        structure.classical_mds(d, 2)
