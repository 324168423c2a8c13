"""vp_stats.io.ess.load_ess_answers on SYNTHETIC ESS-format files (random answers, no ESS data).

ESS microdata need registration (https://ess.sikt.no) and are not on this machine: every
file here is written by the tests, by hand or by :func:`vp_stats.io.ess.synthetic_ess`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.errors import DataFormatError
from vp_stats.io import ess

HVS = list(schema.ESS_HVS_VARIABLES)


@pytest.fixture
def synthetic_file(tmp_path):
    path = tmp_path / "SYNTHETIC_ess.csv"
    ess.synthetic_ess(300, seed=7, attributes=True).to_csv(path, index=False)
    return path


def test_answers_are_reversed_weighted_and_grouped_by_hand(tmp_path):
    rows = [
        {"idno": 1, "cntry": "DE", "gndr": 2, "agea": 33, "lrscale": 8, "eisced": 6,
         "rlgblg": 1, "rlgdnm": 6, "hinctnta": 9, "anweight": 2.5,
         **dict(zip(HVS, [1, 2, 3, 4, 5, 6, 7, 8, 9] + [1] * 12, strict=True))},
        {"idno": 2, "cntry": "FR", "gndr": 1, "agea": 999, "lrscale": 88, "eisced": 55,
         "rlgblg": 2, "rlgdnm": 66, "hinctnta": 2, "anweight": 0.5, **dict.fromkeys(HVS, 6)},
    ]  # fmt: skip
    path = tmp_path / "hand_ess.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    a = ess.load_ess_answers(path)
    assert a.columns.tolist() == ess.ANSWER_COLUMNS
    one = a[a["participant"] == "DE_1"].set_index("item")
    # codes 7/8/9 (items 7, 8, 9) are missing; rating = 7 - code
    assert len(one) == 18 and not {"7", "8", "9"} & set(one.index)
    assert one.loc[["1", "2", "3", "4", "5", "6", "10"], "rating"].tolist() == [6, 5, 4, 3, 2, 1, 6]
    assert one.loc["1", "ess_variable"] == "ipcrtiv" and one.loc["1", "value"] == "Self_Direction"
    assert one.loc["2", "value"] == "Power"
    r = one.iloc[0]
    assert (r.weight, r.weight_variable) == (2.5, "anweight")
    assert (r.gender, r.age_band) == ("female", "30-44")
    assert (r.political_orientation, r.education, r.religion, r.income) == (
        "right",
        "bachelor's degree",
        "Muslim",
        "high",
    )
    two = a[a["participant"] == "FR_2"]
    assert len(two) == 21 and (two["rating"] == 1).all()
    assert two["age_band"].isna().all() and two["political_orientation"].isna().all()
    assert (two["religion"] == "none").all() and (two["income"] == "low").all()


def test_answers_agree_with_load_ess_scores(synthetic_file):
    a = ess.load_ess_answers(synthetic_file)
    s = ess.load_ess(synthetic_file)
    per = s.drop_duplicates("participant").set_index("participant")
    first = a.drop_duplicates("participant").set_index("participant")
    cols = ["weight", "weight_variable", "gender", *ess.PERSONA_COLUMNS]
    pd.testing.assert_frame_equal(
        first[cols], per.loc[first.index, cols], check_names=False, check_dtype=False
    )
    # MRAT scores recomputed from the long answers equal load_ess's (status ok)
    wide = a.pivot(index="participant", columns="item", values="rating")
    centre = wide.mean(axis=1)
    ok = s[(s["family"] == "pvq") & (s["status"] == "ok")]
    for value, its in schema.PVQ21_KEY.items():
        mine = wide[[str(i) for i in its]].mean(axis=1) - centre
        theirs = ok[ok["dimension"] == value].set_index("participant")["score"]
        np.testing.assert_allclose(mine.loc[theirs.index], theirs, rtol=0, atol=1e-12)


def test_weight_choice_and_errors(synthetic_file, tmp_path):
    a = ess.load_ess_answers(synthetic_file, weight="pspwght")
    assert (a["weight_variable"] == "pspwght").all()
    none = ess.load_ess_answers(synthetic_file, weight=None)
    assert (none["weight"] == 1).all()
    with pytest.raises(DataFormatError, match=r"SYNTHETIC_ess.csv.*xweight"):
        ess.load_ess_answers(synthetic_file, weight="xweight")
    de = ess.load_ess_answers(synthetic_file, countries=["DE"])
    assert set(de["cntry"]) == {"DE"}


def test_synthetic_attributes_keep_the_other_columns_and_build_in_group_differences():
    plain = ess.synthetic_ess(400, seed=3)
    rich = ess.synthetic_ess(400, seed=3, attributes=True)
    same = [c for c in plain.columns if c not in HVS]
    pd.testing.assert_frame_equal(rich[same], plain[same])
    assert set(rich.columns) - set(plain.columns) == {
        "lrscale",
        "eisced",
        "rlgblg",
        "rlgdnm",
        "hinctnta",
    }
    # the right answer the Tradition items nearer 'very much like me' (ESS code 1)
    right = rich["lrscale"].between(7, 10)
    trad = rich[["imptrad", "ipmodst"]].where(rich[["imptrad", "ipmodst"]] <= 6)
    assert trad[right].mean().mean() < trad[~right].mean().mean() - 0.5


def test_spss_and_stata_files_read_like_the_csv(synthetic_file, tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    raw = pd.read_csv(synthetic_file)
    sav, dta = tmp_path / "SYNTHETIC_ess.sav", tmp_path / "SYNTHETIC_ess.dta"
    pyreadstat.write_sav(raw, str(sav))
    raw.to_stata(dta, write_index=False)
    ref = ess.load_ess_answers(synthetic_file)
    for path in (sav, dta):
        got = ess.load_ess_answers(path)
        # the CSV reader keeps every column as text; a binary file's round is a number
        got = got.assign(essround=got["essround"].astype(str))
        pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    bad = tmp_path / "broken.sav"
    bad.write_text("not an SPSS file\n")
    with pytest.raises(DataFormatError, match="broken.sav.*cannot read as an SPSS file"):
        ess.load_ess_answers(bad)
    bad_dta = tmp_path / "broken.dta"
    bad_dta.write_text("not a Stata file\n")
    with pytest.raises(DataFormatError, match="broken.dta.*cannot read as a Stata file"):
        ess.load_ess_answers(bad_dta)
