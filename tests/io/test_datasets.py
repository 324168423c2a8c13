"""Data layer: registry, hashes, loaders against the real files, one test per bad-input class."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema, tables
from vp_stats.errors import DataFormatError, DataIntegrityError
from vp_stats.io import datasets
from vp_stats.stats import simulate

# ----------------------------------------------------------------------------- real data


def test_registry_covers_every_mirrored_file():
    reg = datasets.registry()
    assert len(reg) == 109
    assert all(h.startswith("sha256:") and len(h) == 71 for h in reg.values())
    assert datasets.SURVEY in reg and datasets.VALUES in reg


def test_every_registered_file_verifies():
    paths = datasets.fetch_all()
    assert all(p.exists() for p in paths)


def test_ratings_shape_and_known_facts():
    r = datasets.load_ratings()
    assert len(r) == 24_320
    assert r.participant.nunique() == 559
    assert r.groupby(["portrait_id", "option_id"]).ngroups == 520
    assert r.group.nunique() == 12
    # P186 is the only participant who rated two groups
    per_participant = r.groupby("participant").group.nunique()
    assert per_participant[per_participant > 1].index.tolist() == ["P186"]
    assert r.rating.between(1, 6).all()
    # about 47 raters per item
    n = r.groupby(["portrait_id", "option_id"]).size()
    assert 40 <= n.min() and n.max() <= 55 and abs(n.mean() - 46.77) < 0.01


def test_participant_scores_match_the_released_file():
    s = datasets.load_participant_scores()
    raw = json.loads(datasets.fetch(datasets.VALUES).read_text())
    assert len(s) == 569 * 19
    row = s[(s.participant == "P321") & (s.dimension == "Benevolence")]
    assert row.score.item() == raw["P321"]["pvq"]["Benevolence"]
    # MRAT centring: item-weighted sum of the centred basic values is zero
    w = np.array([len(schema.PVQ21_KEY[v]) for v in schema.PVQ_VALUES])
    pvq = tables.participant_matrix(s, "pvq").to_numpy()
    assert np.abs(pvq @ w).max() < 1e-9


def test_items_table():
    items = datasets.load_items()
    assert len(items) == 520 and items[["portrait_id", "option_id"]].duplicated().sum() == 0
    assert set(items.source) == set(schema.SOURCES)
    assert items.response.str.len().min() > 0
    ratings = datasets.load_ratings()
    rated = set(map(tuple, ratings[["portrait_id", "option_id"]].drop_duplicates().to_numpy()))
    assert rated == set(map(tuple, items[["portrait_id", "option_id"]].to_numpy()))


def test_published_correlations():
    pub = datasets.load_published_correlations()
    assert pub.groupby("family").size().to_dict() == {"pvq": 5200, "higher_pvq": 2080, "bfi": 2600}
    assert pub.rho.between(-1, 1).all()


def test_synthetic_is_deterministic_and_has_truth():
    a, b = simulate.synthetic(seed=7), simulate.synthetic(seed=7)
    for k in a:
        pd.testing.assert_frame_equal(a[k], b[k])
    assert not simulate.synthetic(seed=8)["ratings"].equals(a["ratings"])
    assert len(a["truth"]) == 40


# ----------------------------------------------------------------------------- bad input


@pytest.fixture()
def survey(tmp_path):
    """A small, valid survey file and the released value file copied to tmp."""
    raw = json.loads(datasets.fetch(datasets.SURVEY).read_text())
    small = [{k: raw[0][k] for k in list(raw[0])[:2]}]
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(small))
    return path, small


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_valid_small_survey_loads(survey):
    path, small = survey
    df = datasets.load_ratings(path=path)
    assert len(df) == sum(len(o["data"]) for opts in small[0].values() for o in opts)


def test_rating_out_of_scale(survey):
    path, small = survey
    first = next(iter(small[0]))
    small[0][first][0]["data"][3][0] = 7
    with pytest.raises(
        DataFormatError,
        match=rf"survey.json: record group 0, portrait {first}, option 1, rating 3, "
        r"field 'rating': rating 7 outside 1-6",
    ):
        datasets.load_ratings(path=_write(path, small))


def test_rating_nan(survey):
    path, small = survey
    first = next(iter(small[0]))
    small[0][first][1]["data"][0][0] = float("nan")
    with pytest.raises(
        DataFormatError,
        match=r"option 2, rating 0, field 'rating': expected an integer 1-6, got nan \(NaN\)",
    ):
        datasets.load_ratings(path=_write(path, small))


def test_rating_wrong_type(survey):
    path, small = survey
    first = next(iter(small[0]))
    small[0][first][0]["data"][0][0] = "5"
    with pytest.raises(DataFormatError, match=r"field 'rating': expected an integer 1-6, got '5'"):
        datasets.load_ratings(path=_write(path, small))


def test_unknown_participant(survey):
    path, small = survey
    first = next(iter(small[0]))
    small[0][first][0]["data"][2][1] = "P99999"
    with pytest.raises(DataFormatError, match=r"field 'participant': unknown participant 'P99999'"):
        datasets.load_ratings(path=_write(path, small))


def test_duplicate_rating(survey):
    path, small = survey
    first = next(iter(small[0]))
    data = small[0][first][0]["data"]
    data.append([3, data[0][1]])
    with pytest.raises(
        DataFormatError,
        match=rf"duplicate rating: {data[0][1]} already rated portrait {first} option 1",
    ):
        datasets.load_ratings(path=_write(path, small))


def test_truncated_json(survey):
    path, _ = survey
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(
        DataFormatError,
        match=r"survey.json: file level: invalid or truncated JSON at line 1, column \d+",
    ):
        datasets.load_ratings(path=path)


def test_empty_file(tmp_path):
    path = tmp_path / "value.json"
    path.write_text("")
    with pytest.raises(DataFormatError, match="file is empty"):
        datasets.load_participant_scores(path=path)


def test_participant_score_errors(tmp_path):
    raw = json.loads(datasets.fetch(datasets.VALUES).read_text())
    small = {k: raw[k] for k in list(raw)[:3]}
    pid = next(iter(small))
    bad = json.loads(json.dumps(small))
    bad[pid]["pvq"]["Power"] = None
    with pytest.raises(
        DataFormatError, match=rf"record {pid}, field 'pvq.Power': expected a number, got None"
    ):
        datasets.load_participant_scores(path=_write(tmp_path / "v.json", bad))
    bad = json.loads(json.dumps(small))
    del bad[pid]["bfi"]["Openness"]
    with pytest.raises(
        DataFormatError, match=rf"record {pid}, field 'bfi.Openness': missing score"
    ):
        datasets.load_participant_scores(path=_write(tmp_path / "v.json", bad))
    bad = json.loads(json.dumps(small))
    bad[pid]["bfi"]["Openness"] = 9.0
    with pytest.raises(DataFormatError, match=r"BFI score 9.0 outside 1-5"):
        datasets.load_participant_scores(path=_write(tmp_path / "v.json", bad))


def test_hash_mismatch_names_the_file_and_keeps_it(tmp_path):
    src = datasets.fetch("LICENSE")
    shutil.copy(src, tmp_path / "LICENSE")
    (tmp_path / "LICENSE").write_text(src.read_text() + "tampered\n")
    with pytest.raises(
        DataIntegrityError, match=r"LICENSE: sha256 mismatch for upstream file 'LICENSE'"
    ):
        datasets.fetch("LICENSE", data_dir=tmp_path)
    assert (tmp_path / "LICENSE").read_text().endswith("tampered\n")  # nothing overwritten


def test_unregistered_file_is_refused():
    with pytest.raises(KeyError, match="not a registered upstream file"):
        datasets.fetch("data/secret.json")


def test_env_var_sets_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VP_DATA_DIR", str(tmp_path))
    assert datasets.data_dir() == tmp_path


def test_duplicate_json_keys_are_an_error(tmp_path):
    raw = json.loads(datasets.fetch(datasets.VALUES).read_text())
    rec = json.dumps(raw["P321"])
    (tmp_path / "v.json").write_text('{"P321": ' + rec + ', "P321": ' + rec + "}")
    with pytest.raises(DataFormatError, match=r"v.json: record P321, field 'P321': duplicate key"):
        datasets.load_participant_scores(path=tmp_path / "v.json")


@pytest.mark.parametrize("family", ["pvq", "higher_pvq", "bfi"])
def test_correlations_read_by_column_equal_the_record_reading(family, tmp_path):
    path = datasets.fetch(datasets.CORRELATIONS.format(family=family))
    raw = datasets.read_json(path)
    fast = datasets._correlations_fast(raw, family)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, datasets._correlations_checked(raw, path, family))
    # a file failing the column checks is read record by record, which names the record
    raw[3]["spearman_corr"] = 1.5
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(DataFormatError, match=r"c.json: record 3, field 'spearman_corr'"):
        datasets._read_correlations(bad, family)


def test_ratings_read_by_column_equal_the_record_reading():
    path = datasets.fetch(datasets.SURVEY)
    raw = datasets.read_json(path)
    fast = datasets._ratings_fast(raw)
    assert fast is not None and len(fast) == 24320
    pd.testing.assert_frame_equal(fast, datasets._ratings_checked(raw, path))


def test_scores_read_by_column_equal_the_record_reading(tmp_path):
    path = datasets.fetch(datasets.VALUES)
    raw = datasets.read_json(path)
    fast = datasets._scores_fast(raw)
    assert fast is not None and len(fast) == 569 * 19
    pd.testing.assert_frame_equal(fast, datasets._scores_checked(raw, path), check_exact=True)
    # each failure of the column checks falls back to the record reading, which names the record
    pid = list(raw)[7]
    for fam, dim, value, problem in [
        ("pvq", "Power", True, "expected a number, got True"),
        ("pvq", "Power", float("nan"), "score is nan"),
        ("higher_pvq", "Conservation", -5.5, "centred score -5.5 outside -5..5"),
        ("bfi", "Openness", 0.5, "BFI score 0.5 outside 1-5"),
    ]:
        bad = json.loads(json.dumps(raw))
        bad[pid][fam][dim] = value
        assert datasets._scores_fast(bad) is None
        with pytest.raises(DataFormatError, match=rf"record {pid}, field '{fam}.{dim}': {problem}"):
            datasets._scores_checked(bad, path)
    bad = json.loads(json.dumps(raw))
    bad[pid]["pvq"]["Fame"] = 1.0
    assert datasets._scores_fast(bad) is None
    with pytest.raises(DataFormatError, match=r"unknown dimension\(s\) \['Fame'\]"):
        datasets._scores_checked(bad, path)
