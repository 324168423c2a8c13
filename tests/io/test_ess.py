"""Tests of vp_stats.io.ess on small ESS-format files written by the tests (no ESS data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vp_stats import schema
from vp_stats.errors import DataFormatError
from vp_stats.io import ess
from vp_stats.stats import survey

HVS = list(schema.ESS_HVS_VARIABLES)


def _row(idno, cntry, gndr, agea, items, **weights):
    rec = {"idno": idno, "cntry": cntry, "gndr": gndr, "agea": agea}
    rec.update(dict(zip(HVS, items, strict=True)))
    rec.update(weights)
    return rec


@pytest.fixture
def small(tmp_path):
    """Four respondents with hand-chosen answers (ESS coding) and weights."""
    base = [2] * 21
    r1 = list(base)
    r1[0] = 1  # ipcrtiv (Self_Direction item 1) = very much like me
    r1[1] = 6  # imprich (Power item 2) = not like me at all
    r2 = [3] * 21
    r2[4] = 7  # refusal -> missing
    r2[13] = 8  # don't know -> missing
    r2[2] = 9  # no answer -> missing
    r3 = [4] * 21
    r4 = [1, 2, 3, 4, 5, 6] * 3 + [1, 2, 3]
    rows = [
        _row(101, "DE", 1, 30, r1, anweight=2.0, pspwght=1.0, pweight=2.0, dweight=1.0),
        _row(102, "DE", 2, 999, r2, anweight=1.0, pspwght=0.5, pweight=2.0, dweight=1.0),
        _row(103, "FR", 1, 45, r3, anweight=0.5, pspwght=0.5, pweight=1.0, dweight=0.5),
        _row(104, "FR", 9, 60, r4, anweight=1.5, pspwght=1.5, pweight=1.0, dweight=1.5),
    ]
    df = pd.DataFrame(rows)
    path = tmp_path / "ess_small.csv"
    df.to_csv(path, index=False)
    return path, df


def _hand_score(items_ess, value):
    """Independent MRAT score: reverse 7 - x, drop 7/8/9, value mean minus person mean."""
    x = np.array(items_ess, dtype=float)
    x[np.isin(x, [7, 8, 9])] = np.nan
    x = 7 - x
    idx = np.array(schema.PVQ21_KEY[value]) - 1
    if np.isnan(x[idx]).all():
        return np.nan
    return np.nanmean(x[idx]) - np.nanmean(x)


def test_scores_match_hand_computation(small):
    path, df = small
    s = ess.load_ess(path)
    assert s.participant.nunique() == 4
    assert len(s) == 4 * 14
    for _, rec in df.iterrows():
        items = rec[HVS].to_numpy(dtype=float)
        pid = f"{rec.cntry}_{rec.idno}"
        got = s[(s.participant == pid) & (s.family == "pvq")].set_index("dimension")["score"]
        for v in schema.PVQ_VALUES:
            assert got[v] == pytest.approx(_hand_score(items, v), abs=1e-12, nan_ok=True)
    # respondent 101: answers reversed -> Self_Direction item 1 = 6, Power item 2 = 1, rest 5
    r1 = s[(s.participant == "DE_101") & (s.family == "pvq")].set_index("dimension")["score"]
    pm = (6 + 1 + 19 * 5) / 21
    assert r1["Self_Direction"] == pytest.approx((6 + 5) / 2 - pm, abs=1e-12)
    assert r1["Power"] == pytest.approx((1 + 5) / 2 - pm, abs=1e-12)
    # higher order: Self_Enhancement over the 4 Achievement + Power items
    se = s[(s.participant == "DE_101") & (s.dimension == "Self_Enhancement")].score.item()
    assert se == pytest.approx((1 + 5 + 5 + 5) / 4 - pm, abs=1e-12)


def test_missing_codes_and_demographics(small):
    path, _ = small
    s = ess.load_ess(path)
    r2 = s[s.participant == "DE_102"]
    # items 3 (Universalism), 5 and 14 (Security) missing
    assert r2.set_index("dimension").loc["Security", "n_items"] == 0
    assert np.isnan(r2.set_index("dimension").loc["Security", "score"])
    assert r2.set_index("dimension").loc["Universalism", "n_items"] == 2
    assert r2.set_index("dimension").loc["Conservation", "status"] == "too_few_items"
    assert np.isnan(r2.age.iloc[0])
    assert r2.gender.iloc[0] == "female"
    r4 = s[s.participant == "FR_104"]
    assert pd.isna(r4.gender.iloc[0])
    assert r4.age.iloc[0] == 60
    assert set(s[s.participant == "DE_101"].gender) == {"male"}


def test_weight_choice(small, tmp_path):
    path, df = small
    s = ess.load_ess(path)
    assert (s.weight_variable == "anweight").all()
    w = s.drop_duplicates("participant").set_index("participant")["weight"]
    assert w.to_dict() == {"DE_101": 2.0, "DE_102": 1.0, "FR_103": 0.5, "FR_104": 1.5}
    # without anweight: pspwght * pweight
    p2 = tmp_path / "noanw.csv"
    df.drop(columns="anweight").to_csv(p2, index=False)
    s2 = ess.load_ess(p2).drop_duplicates("participant")
    assert s2.weight_variable.iloc[0] == "pspwght*pweight"
    np.testing.assert_allclose(s2.weight, [2.0, 1.0, 0.5, 1.5])
    # explicit choice
    s3 = ess.load_ess(path, weight="dweight").drop_duplicates("participant")
    np.testing.assert_allclose(s3.weight, [1.0, 1.0, 0.5, 1.5])
    # none present: weight 1 with a warning
    p4 = tmp_path / "now.csv"
    df.drop(columns=["anweight", "pspwght", "pweight", "dweight"]).to_csv(p4, index=False)
    with pytest.warns(UserWarning, match="no ESS weight"):
        s4 = ess.load_ess(p4)
    assert (s4.weight == 1).all() and (s4.weight_variable == "none").all()


def test_weighted_group_means_hand_checked(small):
    path, df = small
    s = ess.load_ess(path)
    g = survey.weighted_group_means(s, "gender", families=["pvq"]).set_index(
        ["gender", "dimension"]
    )
    # males: DE_101 (w 2) and FR_103 (w 0.5); FR_103 answers all 4 -> every value 0
    sd1 = _hand_score(df.loc[0, HVS].to_numpy(float), "Self_Direction")
    assert g.loc[("male", "Self_Direction"), "mean"] == pytest.approx(
        (2 * sd1 + 0.5 * 0.0) / 2.5, abs=1e-12
    )
    assert g.loc[("male", "Self_Direction"), "n"] == 2
    assert g.loc[("male", "Self_Direction"), "n_eff"] == pytest.approx(2.5**2 / (4 + 0.25))
    m = (2 * sd1) / 2.5
    sd = np.sqrt((2 * (sd1 - m) ** 2 + 0.5 * m**2) / 2.5)
    assert g.loc[("male", "Self_Direction"), "sd"] == pytest.approx(sd, abs=1e-12)
    # female: only DE_102, whose Security is missing -> no row for it
    assert ("female", "Security") not in g.index
    assert g.loc[("female", "Power"), "mean"] == pytest.approx(
        _hand_score(df.loc[1, HVS].to_numpy(float), "Power"), abs=1e-12
    )
    # gender missing (FR_104) is left out of the groups
    assert set(g.index.get_level_values(0)) == {"male", "female"}
    # overall weighted mean over all four
    o = survey.weighted_group_means(s, families=["pvq"]).set_index("dimension")
    scores = [_hand_score(df.loc[i, HVS].to_numpy(float), "Power") for i in range(4)]
    w = np.array([2.0, 1.0, 0.5, 1.5])
    assert o.loc["Power", "mean"] == pytest.approx(np.dot(w, scores) / w.sum(), abs=1e-12)
    # against numpy's weighted average
    assert o.loc["Power", "mean"] == pytest.approx(np.average(scores, weights=w), abs=1e-12)


@pytest.mark.parametrize(
    "column,value,match",
    [
        ("ipfrule", 0, r"row 3 \(line 4, idno '103'\), field 'ipfrule': 0 is not a valid code"),
        ("impfun", 10, r"row 3 \(line 4, idno '103'\), field 'impfun': 10 is not a valid code"),
        ("ipcrtiv", 2.5, r"field 'ipcrtiv': 2.5 is not a valid code \(1-6 answers, 7 refusal"),
        ("imprich", "abc", r"field 'imprich': cannot read 'abc' as a number"),
        ("gndr", 3, r"field 'gndr': 3 is not a valid code \(1 male, 2 female"),
        ("agea", 200, r"field 'agea': 200 is not a valid code \(age 0-130"),
        ("anweight", -1, r"field 'anweight': -1 is below 0"),
    ],
)
def test_bad_values_name_file_row_field(small, tmp_path, column, value, match):
    _, df = small
    bad = df.copy().astype(object)
    bad.loc[2, column] = value
    p = tmp_path / "bad.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(DataFormatError, match=match) as exc:
        ess.load_ess(p)
    assert "bad.csv" in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_missing_column_and_duplicates(small, tmp_path):
    _, df = small
    p = tmp_path / "nocol.csv"
    df.drop(columns=["impenv"]).to_csv(p, index=False)
    with pytest.raises(
        DataFormatError, match=r"nocol.csv: file level, field 'impenv': missing required column"
    ):
        ess.load_ess(p)
    p2 = tmp_path / "dup.csv"
    d2 = df.copy()
    d2.loc[1, "idno"] = 101
    d2.loc[1, "cntry"] = "DE"
    d2.to_csv(p2, index=False)
    with pytest.raises(
        DataFormatError,
        match=r"row 2 \(line 3, idno '101'\), field 'idno': duplicate participant 'DE_101'",
    ):
        ess.load_ess(p2)
    # same idno in another country is a different respondent
    d3 = df.copy()
    d3.loc[2, "idno"] = 101
    d3.to_csv(p2, index=False)
    assert ess.load_ess(p2).participant.nunique() == 4
    with pytest.raises(DataFormatError, match="weight variable 'xweight'"):
        ess.load_ess(p2, weight="xweight")
    with pytest.raises(FileNotFoundError, match="does not ship ESS data"):
        ess.load_ess(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="unsupported ESS file type"):
        (tmp_path / "x.xlsx").write_text("")
        ess.load_ess(tmp_path / "x.xlsx")


def test_min_total_and_filters(small, tmp_path):
    _, df = small
    d = df.copy()
    d.loc[3, HVS[:6]] = [7, 8, 9, 7, 8, 9]  # 6 missing -> not scored by default (> 5 missing)
    d["lrscale"] = [0, 5, 10, 88]
    p = tmp_path / "mt.csv"
    d.to_csv(p, index=False)
    s = ess.load_ess(p, keep=["lrscale"])
    r4 = s[s.participant == "FR_104"]
    assert (r4.status == "too_few_total").all() and r4.score.isna().all()
    assert s.drop_duplicates("participant").lrscale.astype(int).tolist() == [0, 5, 10, 88]
    s15 = ess.load_ess(p, min_total=15)
    assert s15[s15.participant == "FR_104"].score.notna().all()
    fr = ess.load_ess(p, countries=["FR"])
    assert sorted(fr.participant.unique()) == ["FR_103", "FR_104"]


def test_synthetic_seeded_and_stata_roundtrip(tmp_path):
    a, b = ess.synthetic_ess(120, seed=3), ess.synthetic_ess(120, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(ess.synthetic_ess(120, seed=4))
    assert np.isin(a[HVS].to_numpy(), [7, 8, 9]).any()
    pc, pdta = tmp_path / "s.csv", tmp_path / "s.dta"
    a.to_csv(pc, index=False)
    a.to_stata(pdta, write_index=False)
    sc, sd = ess.load_ess(pc), ess.load_ess(pdta)
    np.testing.assert_allclose(sc.score.to_numpy(), sd.score.to_numpy(), equal_nan=True)
    np.testing.assert_allclose(sc.weight.to_numpy(), sd.weight.to_numpy())
    # weighted means by gender equal numpy's weighted average, respondent by respondent
    g = survey.weighted_group_means(sc, "gender", families=["pvq"]).set_index(
        ["gender", "dimension"]
    )
    sub = sc[(sc.gender == "female") & (sc.dimension == "Tradition")].dropna(subset=["score"])
    assert g.loc[("female", "Tradition"), "mean"] == pytest.approx(
        np.average(sub.score, weights=sub.weight), abs=1e-12
    )


# --------------------------------------------------------------------- persona attributes, round 11
# SYNTHETIC ESS-format data: variable names and codes from the ESS codebooks (gndr, agea, lrscale,
# eisced, rlgblg, rlgdnm, hinctnta, anweight / pspwght / pweight; round 11 HVS names with an 'a'
# suffix); the rows are made up for the tests and are NOT ESS data.

HVS11 = [v + "a" for v in HVS]

#: (gndr, agea, lrscale, eisced, rlgblg, rlgdnm, hinctnta) -> expected
#: (gender, age_band, political_orientation, education, religion, income)
DEMO_CASES = [
    ((1, 25, 2, 2, 2, 66, 2), ("male", "18-29", "left", "less than high school", "none", "low")),
    ((2, 40, 5, 4, 1, 1, 5), ("female", "30-44", "centre", "high school", "Christian", "middle")),
    ((1, 50, 8, 6, 1, 6, 9), ("male", "45-59", "right", "bachelor's degree", "Muslim", "high")),
    (
        (2, 70, 10, 7, 1, 7, 10),
        ("female", "60 and older", "right", "graduate degree", "Eastern religions", "high"),
    ),
    ((9, 999, 77, 55, 7, 66, 88), (None, None, None, None, None, None)),
    ((1, 16, 88, 0, 1, 77, 99), ("male", None, None, None, None, None)),
    ((2, 18, 0, 1, 1, 5, 3), ("female", "18-29", "left", "less than high school", "Jewish", "low")),
    ((1, 29, 3, 3, 1, 2, 4), ("male", "18-29", "left", "high school", "Christian", "middle")),
    ((2, 30, 4, 5, 1, 3, 7), ("female", "30-44", "centre", "high school", "Christian", "middle")),
    ((1, 59, 6, 88, 1, 4, 8), ("male", "45-59", "centre", None, "Christian", "high")),
    ((2, 60, 7, 99, 1, 8, 77), ("female", "60 and older", "right", None, "other", None)),
    ((1, 45, 99, 77, 8, 99, 1), ("male", "45-59", None, None, None, "low")),
]  # fmt: skip
DEMO_VARS = ["gndr", "agea", "lrscale", "eisced", "rlgblg", "rlgdnm", "hinctnta"]
ATTR_COLS = ["gender", "age_band", "political_orientation", "education", "religion", "income"]


def _ess11_frame(seed=0, names=HVS11, round_=11):
    rng = np.random.default_rng(seed)
    rows = []
    for k, (codes, _) in enumerate(DEMO_CASES):
        rec = {"idno": 500 + k, "cntry": "DE" if k % 2 else "FR", "essround": round_}
        rec.update(dict(zip(DEMO_VARS, codes, strict=True)))
        items = rng.integers(1, 7, size=21)
        items[rng.random(21) < 0.05] = 8
        rec.update(dict(zip(names, items.tolist(), strict=True)))
        rec.update(dweight=1.0, pspwght=round(0.5 + 0.1 * k, 2), pweight=2.0)
        rec["anweight"] = rec["pspwght"] * rec["pweight"]
        rows.append(rec)
    return pd.DataFrame(rows)


def test_round11_file_recodes_every_persona_attribute(tmp_path):
    df = _ess11_frame()
    p = tmp_path / "SYNTHETIC_ess11.csv"
    df.to_csv(p, index=False)
    s = ess.load_ess(p)
    assert s.participant.nunique() == len(DEMO_CASES)
    per = s.drop_duplicates("participant").reset_index(drop=True)
    for i, (_, want) in enumerate(DEMO_CASES):
        got = tuple(None if pd.isna(v) else v for v in per.loc[i, ATTR_COLS])
        assert got == want, (i, got, want)
    assert set(ess.PERSONA_COLUMNS) <= set(s.columns) and "race" not in s.columns
    assert "race" in ess.ESS_UNAVAILABLE
    # the persona levels are the paper's (religion adds what the ESS cannot split)
    from vp_stats.instruments.personas import PAPER_PERSONA_LEVELS

    for col in ("political_orientation", "education", "income"):
        assert set(per[col].dropna()) <= set(PAPER_PERSONA_LEVELS[col])
    assert set(per["age_band"].dropna()) == set(PAPER_PERSONA_LEVELS["age"])
    # round 11 names score exactly like the round 1-10 names
    p10 = tmp_path / "same_items_round10_names.csv"
    df.rename(columns=dict(zip(HVS11, HVS, strict=True))).to_csv(p10, index=False)
    s10 = ess.load_ess(p10)
    np.testing.assert_array_equal(s.score.to_numpy(), s10.score.to_numpy())
    # the recoded groups work with the weighted means
    g = survey.weighted_group_means(s, "political_orientation", families=["pvq"])
    assert set(g.political_orientation) == {"left", "centre", "right"}


def test_recode_bands_are_configurable():
    raw = pd.DataFrame({"lrscale": [4, 5, 6], "hinctnta": [2, 5, 9]})
    r = ess.recode_persona_attributes(
        raw,
        lrscale_bands={"left": (0, 4), "centre": (5, 5), "right": (6, 10)},
        income_bands={"low": (1, 2), "middle": (3, 8), "high": (9, 10)},
    )
    assert r.political_orientation.tolist() == ["left", "centre", "right"]
    assert r.income.tolist() == ["low", "middle", "high"]
    assert r.religion.isna().all() and r.education.isna().all()  # variables absent from the file


def test_cumulative_file_mixes_names_and_weights(tmp_path):
    old = _ess11_frame(seed=1, names=HVS, round_=8).drop(columns="anweight")
    new = _ess11_frame(seed=2)
    both = pd.concat([old, new], ignore_index=True)  # both spellings present, blanks elsewhere
    assert both[HVS[0]].isna().sum() == len(new) and both[HVS11[0]].isna().sum() == len(old)
    p = tmp_path / "cumulative.csv"
    both.to_csv(p, index=False)
    s = ess.load_ess(p).drop_duplicates("participant").set_index("participant")
    assert len(s) == 2 * len(DEMO_CASES)
    r8 = s[s.essround.astype(str) == "8"]
    r11 = s[s.essround.astype(str) == "11"]
    assert (r8.weight_variable == "pspwght*pweight").all() and (
        r11.weight_variable == "anweight"
    ).all()
    np.testing.assert_allclose(r8.weight.to_numpy(), (old.pspwght * old.pweight).to_numpy())
    np.testing.assert_allclose(r11.weight.to_numpy(), new.anweight.to_numpy())
    # scores per round equal those of the single-round files
    for part, frame in (("old", old), ("new", new)):
        q = tmp_path / f"{part}.csv"
        frame.to_csv(q, index=False)
        alone = ess.load_ess(q)
        sub = ess.load_ess(p)
        sub = sub[sub.participant.isin(set(alone.participant))]
        np.testing.assert_array_equal(sub.score.to_numpy(), alone.score.to_numpy())
    # the same item answered under both names with different answers: an error naming row and field
    clash = both.copy()
    clash.loc[0, HVS11[0]] = 1 if clash.loc[0, HVS[0]] != 1 else 2
    q = tmp_path / "clash.csv"
    clash.to_csv(q, index=False)
    with pytest.raises(
        DataFormatError, match=r"clash.csv: row 1 \(line 2, idno '500'\), field 'ipcrtiva'"
    ):
        ess.load_ess(q)
    # neither spelling: the error names the round 1-10 name and the round 11 rule
    q2 = tmp_path / "noitem.csv"
    new.drop(columns="impfuna").to_csv(q2, index=False)
    with pytest.raises(DataFormatError, match=r"field 'impfun': .*'a' suffix"):
        ess.load_ess(q2)


@pytest.mark.parametrize(
    "column,value",
    [
        ("lrscale", 11),
        ("lrscale", -1),
        ("eisced", 8),
        ("rlgblg", 3),
        ("rlgdnm", 9),
        ("hinctnta", 0),
        ("hinctnta", 11),
    ],
)
def test_bad_persona_codes_name_file_row_field(tmp_path, column, value):
    df = _ess11_frame()
    df.loc[4, column] = value
    p = tmp_path / "bad_codes.csv"
    df.to_csv(p, index=False)
    with pytest.raises(
        DataFormatError,
        match=rf"bad_codes.csv: row 5 \(line 6, idno '504'\), field '{column}': "
        rf"{value} is not a valid code",
    ):
        ess.load_ess(p)


def test_the_file_contract_codes_agree_with_the_recoding():
    """tables.EssFile (the codes a file may hold) and io.ess's recoding name the same codes."""
    from vp_stats import tables

    def allowed(col):
        return set(tables.EssFile.columns[col].checks[0].statistics["allowed_values"])

    miss2 = set(ess.MISSING_2DIGIT)
    assert allowed("gndr") == {*ess.GENDER_CODES, *ess.GENDER_MISSING}
    assert allowed("agea") == {*range(131), *ess.AGE_MISSING}
    assert allowed("ipcrtiv") == allowed("ipcrtiva") == {*range(1, 7), *ess.HVS_MISSING_CODES}
    assert allowed("lrscale") == {*range(11), *miss2}
    assert allowed("eisced") == {*ess.EISCED_LEVELS, *ess.EISCED_NO_LEVEL, *miss2}
    assert allowed("rlgblg") == {*ess.RLGBLG_CODES, *ess.GENDER_MISSING}
    assert allowed("rlgdnm") == {*ess.RLGDNM_LEVELS, 66, *miss2}
    assert allowed("hinctnta") == {*range(1, 11), *miss2}
    assert set(ess.WEIGHT_VARIABLES) <= set(tables.EssFile.columns)
