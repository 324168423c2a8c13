"""Tests of the psychTools human reference (vp_stats.io.psychtools) and vp_stats.stats.humans.

With R's psychTools installed (Debian r-cran-psychtools), the SAPA group gaps are checked
against an independent computation in R (psych::scoreItems on the data R loads itself,
group means, SDs and pooled-SD d by hand) to 1e-9. Without it those tests are skipped, and the
tests that every entry point says what to install run with a wrong explicit path.
The persona side is a BFI-10 answer table built by hand (no LLM is run).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vp_stats import schema
from vp_stats.cli import app
from vp_stats.instruments import personas as define
from vp_stats.io import psychtools as pt
from vp_stats.llm import questionnaires
from vp_stats.stats import humans
from vp_stats.studies import humans as human_studies

TRAITS = list(schema.BFI_TRAITS)
INSTALL = ("apt-get install r-cran-psychtools", 'install.packages("psychTools")')


def _psychtools():
    try:
        return pt.find_psychtools()
    except pt.PsychToolsNotFoundError as exc:
        return exc


@pytest.fixture(scope="module")
def pkg():
    found = _psychtools()
    if isinstance(found, Exception):
        pytest.skip(f"psychTools not installed: {found}")
    return found


@pytest.fixture(scope="module")
def bfi_scores(pkg):
    return pt.sapa_scores("sapa-bfi")


@pytest.fixture(scope="module")
def r_ok():
    import r_reference

    rscript, reason = r_reference.available()
    if rscript is None:
        pytest.skip(reason)
    return r_reference


# --------------------------------------------------------------------------- the reader


def test_bfi_read_in_place_with_documented_codes(pkg):
    raw = pt.read_bfi()
    assert raw.shape == (2800, 7 + 25)
    assert raw.participant.is_unique and raw.participant.iloc[0] == "bfi:61617"  # SAPA row names
    assert raw.gender.value_counts().to_dict() == {"female": 1881, "male": 919}
    assert raw.education_code.value_counts().sort_index().tolist() == [224, 292, 1249, 394, 418]
    assert raw.education_code.isna().sum() == 223
    assert set(raw.education.dropna()) == set(define.PAPER_PERSONA_LEVELS["education"])
    assert raw.age.min() == 3 and raw.age.max() == 86
    assert raw.loc[raw.age < 18, "age_band"].isna().all()
    x = raw[list(pt.BFI_ITEMS)].to_numpy()
    assert np.nanmin(x) == 1 and np.nanmax(x) == 6 and np.isnan(x).sum() == 508
    # read where R installed it: nothing of psychTools is in the package
    assert str(pkg).endswith("psychTools")


def test_keys_match_the_shipped_keys_and_dictionary(pkg):
    assert pt.bfi_keys() == {k: tuple(v) for k, v in pt.BFI_KEYS.items()}
    rev = {i.lstrip("-") for v in pt.BFI_KEYS.values() for i in v if i.startswith("-")}
    assert rev == {"A1", "C4", "C5", "E1", "E2", "O2", "O5"}
    d = pt.read_psychtools("bfi.dictionary")
    for item in pt.BFI_ITEMS:
        if item.startswith("N"):
            # the dictionary keys the N items toward emotional stability (-1); bfi.keys and ?bfi
            # score neuroticism with all five items positive
            assert d.loc[item, "Keying"] == -1
        else:
            assert (d.loc[item, "Keying"] == -1) == (item in rev), item
    keys = pt.spi_keys()
    assert len(keys) == 32 and all(len(keys[k]) == 14 for k in pt.SPI_BIG5_SCALES)
    assert "-q_1896" in keys["Agree"]


def test_spi_read(pkg):
    raw = pt.read_spi()
    items = [c for c in raw.columns if c.startswith("q_")]
    assert len(raw) == 4000 and len(items) == 135
    assert raw.gender.value_counts().to_dict() == {"female": 2348, "male": 1598}
    assert raw.education_code.value_counts().sort_index().tolist() == [
        394,
        369,
        1060,
        260,
        123,
        567,
        165,
        392,
    ]
    s = pt.sapa_scores("sapa-spi", scales="all")
    assert set(s.family) == {"bfi", "spi27"} and s[s.family == "bfi"].dimension.nunique() == 5


def test_unserialize_subset_and_errors():
    # R: serialize(c(a = 1L, b = 2L), NULL, version = 2)
    b = bytes.fromhex(
        "580a0000000200040202000203000000020d00000002000000010000000200000402"
        "0000000100040009000000056e616d65730000001000000002000400090000000161"
        "000400090000000162000000fe"
    )
    v = pt._unserialize(b)
    assert list(v) == [1, 2] and v.r_attributes["names"] == ["a", "b"]
    with pytest.raises(ValueError, match="XDR"):
        pt._unserialize(b"RDX3\n")
    with pytest.raises(ValueError, match="unsupported R object"):
        pt._unserialize(b[:14] + bytes.fromhex("00000004") + b[18:])  # an environment


# --------------------------------------------------------------------------- against R


def _r_script(source: str) -> str:
    keys = (
        "keys <- list(Extraversion = c('-E1','-E2','E3','E4','E5'), Agreeableness = "
        "c('-A1','A2','A3','A4','A5'), "
        "Conscientiousness = c('C1','C2','C3','-C4','-C5'), Neuroticism = "
        "c('N1','N2','N3','N4','N5'), "
        "Openness = c('O1','-O2','O3','O4','-O5'))"
    )
    if source == "bfi":
        load = f"""
suppressPackageStartupMessages(library(psychTools))
dat <- psychTools::bfi
{keys}
items <- dat[, 1:25]
g <- c("male", "female")[dat$gender]
edu <- c("less than high school", "high school", "high school", "bachelor's degree",
         "graduate degree")[dat$education]
"""
    else:
        load = """
suppressPackageStartupMessages(library(psychTools))
dat <- psychTools::spi
k <- psychTools::spi.keys
keys <- list(Extraversion = k$Extra, Agreeableness = k$Agree, Conscientiousness = k$Consc,
             Neuroticism = k$Neuro, Openness = k$Open)
items <- dat[, grep("^q_", names(dat))]
g <- c("male", "female")[dat$sex]
edu <- c("less than high school", "high school", "high school", "high school", "high school",
         "bachelor's degree", "bachelor's degree", "graduate degree")[dat$education]
"""
    return (
        load
        + r"""
sc <- psych::scoreItems(keys, items, min = 1, max = 6, impute = "none")$scores
# by hand: reverse 7 - x, mean of the answered items
hand <- sapply(keys, function(k) {
  nm <- sub("^-", "", k); x <- as.matrix(items[, nm])
  rev <- startsWith(k, "-"); x[, rev] <- 7 - x[, rev]
  m <- rowMeans(x, na.rm = TRUE); m[is.nan(m)] <- NA; m
})
out("max_scoreitems_vs_hand", max(abs(sc - hand), na.rm = TRUE))
out("scores", as.vector(sc[, names(keys)]))
age <- dat$age
band <- ifelse(age >= 18 & age <= 29, "18-29", ifelse(age >= 30 & age <= 44, "30-44",
        ifelse(age >= 45 & age <= 59, "45-59", ifelse(age >= 60, "60 and older", NA))))
gap <- function(lab, grp, a, b) {
  for (t in names(keys)) {
    x <- sc[, t]
    xa <- x[!is.na(grp) & grp == a & !is.na(x)]
    xb <- x[!is.na(grp) & grp == b & !is.na(x)]
    na <- length(xa); nb <- length(xb)
    sp <- sqrt(((na - 1) * var(xa) + (nb - 1) * var(xb)) / (na + nb - 2))
    out(paste(lab, a, b, t, sep = "|"), c(na, nb, mean(xa) - mean(xb), (mean(xa) - mean(xb)) / sp,
                                          mean(xa), sd(xa), sd(xb)))
  }
}
gap("gender", g, "male", "female")
bands <- c("18-29", "30-44", "45-59", "60 and older")
for (i in 1:3) for (j in (i + 1):4) gap("age", band, bands[i], bands[j])
lv <- c("less than high school", "high school", "bachelor's degree", "graduate degree")
for (i in 1:3) for (j in (i + 1):4) gap("education", edu, lv[i], lv[j])
"""
    )


@pytest.mark.r
@pytest.mark.parametrize("source", ["bfi", "spi"])
def test_group_gaps_equal_r(pkg, r_ok, source):
    res = r_ok.run(_r_script(source))
    assert res["max_scoreitems_vs_hand"][0] < 1e-12
    scores = pt.sapa_scores(f"sapa-{source}")
    wide = scores.pivot(index="participant", columns="dimension", values="score")
    order = scores.participant.drop_duplicates()
    py = wide.reindex(index=order, columns=TRAITS).to_numpy().T.ravel()
    r = res["scores"]
    assert np.array_equal(np.isnan(py), np.isnan(r))
    worst = float(np.nanmax(np.abs(py - r)))
    for group, col in (("gender", "gender"), ("age", "age_band"), ("education", "education")):
        g = humans.human_group_gaps(scores, col, n_boot=0).table
        assert len(g) == (5 if group == "gender" else 30)
        for row in g.itertuples():
            na, nb, diff, d, ma, sa, sb = res[
                f"{group}|{row.group_a}|{row.group_b}|{row.dimension}"
            ]
            assert (row.n_a, row.n_b) == (na, nb)
            for got, want in (
                (row.mean_diff, diff),
                (row.d, d),
                (row.mean_a, ma),
                (row.sd_a, sa),
                (row.sd_b, sb),
            ):
                worst = max(worst, abs(got - want))
    assert worst < 1e-9, worst
    print(f"{source}: max |Python - R| = {worst:.3g}")


def test_bfi_gender_gaps_as_documented(bfi_scores):
    g = humans.human_group_gaps(bfi_scores, "gender", n_boot=2000, seed=0).table
    g = g.set_index("dimension")
    assert (g.group_a == "male").all() and (g.group_b == "female").all()
    expected = {
        "Agreeableness": -0.40,
        "Neuroticism": -0.32,
        "Extraversion": -0.24,
        "Conscientiousness": -0.19,
        "Openness": 0.10,
    }
    for t, v in expected.items():
        assert g.loc[t, "mean_diff"] == pytest.approx(v, abs=0.01)
        assert np.sign(g.loc[t, "d"]) == np.sign(v)
        assert g.loc[t, "ci_low"] < g.loc[t, "d"] < g.loc[t, "ci_high"]
        assert np.sign(g.loc[t, "ci_low"]) == np.sign(g.loc[t, "ci_high"])  # all five CIs exclude 0
    assert list(g.reset_index().columns[:9]) == humans.HUMAN_GAP_COLUMNS


# ---------------------------------------------------------------------- statistics (no data needed)


def _toy_humans(n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = "male" if i % 2 else "female"
        for t in TRAITS:
            shift = {"Agreeableness": -0.5, "Openness": 0.2}.get(t, 0.0) if g == "male" else 0.0
            rows.append((f"h{i}", g, t, 3.5 + shift + rng.normal()))
    return pd.DataFrame(rows, columns=["participant", "gender", "dimension", "score"]).assign(
        family="bfi"
    )


def test_human_group_gaps_by_hand_and_seeded():
    h = _toy_humans()
    res = humans.human_group_gaps(h, "gender", "male", "female", n_boot=500, seed=3)
    g = res.table
    assert "Cohen's d" in res.effect_size and "500 resamples" in res.effect_size
    for row in g.itertuples():
        a = h[(h.gender == "male") & (h.dimension == row.dimension)].score.to_numpy()
        b = h[(h.gender == "female") & (h.dimension == row.dimension)].score.to_numpy()
        sp = np.sqrt(
            ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
        )
        assert row.d == pytest.approx((a.mean() - b.mean()) / sp, abs=1e-12)
        assert row.mean_diff == pytest.approx(a.mean() - b.mean(), abs=1e-12)
        assert row.ci_low < row.d < row.ci_high and row.n_boot_valid == 500
    again = humans.human_group_gaps(h, "gender", "male", "female", n_boot=500, seed=3).table
    pd.testing.assert_frame_equal(g, again)
    other = humans.human_group_gaps(h, "gender", "male", "female", n_boot=500, seed=4).table
    assert not np.allclose(g.ci_low, other.ci_low)
    # all pairs in the paper's order; errors
    assert humans.human_group_gaps(h, "gender", n_boot=0).table.group_a.unique().tolist() == [
        "male"
    ]
    with pytest.raises(ValueError, match="both group_a and group_b"):
        humans.human_group_gaps(h, "gender", "male", n_boot=0)
    with pytest.raises(ValueError, match="no rows"):
        humans.human_group_gaps(h, "gender", "male", "other", n_boot=0)


def test_score_keyed_by_hand():
    x = pd.DataFrame(
        {"participant": ["p", "q"], "A1": [2.0, np.nan], "A2": [5.0, np.nan], "A3": [4.0, 3.0]}
    )
    s = humans.score_keyed(x, {"Agreeableness": ["-A1", "A2", "A3"]})
    assert s.score.tolist() == pytest.approx([(5 + 5 + 4) / 3, 3.0])
    assert s.n_items.tolist() == [3, 1]
    assert np.isnan(humans.score_keyed(x, {"A": ["-A1", "A2", "A3"]}, min_items=2).score.iloc[1])
    with pytest.raises(ValueError, match="outside 1-6"):
        humans.score_keyed(x.assign(A3=[7.0, 1.0]), {"A": ["A3"]})


def _persona_answers(runs=1):
    """BFI-10 answers of a male and a female persona built by hand: trait scores are known."""
    target = {
        "male": {
            "Extraversion": 3.0,
            "Agreeableness": 2.5,
            "Conscientiousness": 3.5,
            "Neuroticism": 2.0,
            "Openness": 3.0,
        },
        "female": {
            "Extraversion": 3.5,
            "Agreeableness": 4.0,
            "Conscientiousness": 4.0,
            "Neuroticism": 3.0,
            "Openness": 3.5,
        },
    }
    rows = []
    for gender, traits in target.items():
        pid = define.persona_id({"gender": gender})
        for run in range(runs):
            jitter = 0.5 * run if gender == "male" else -0.25 * run
            for item, (trait, reverse) in schema.BFI10_KEY.items():
                s = traits[trait] + jitter
                rows.append(
                    {
                        "model": "hand",
                        "persona_id": pid,
                        "gender": gender,
                        "portrait_id": item,
                        "option_id": 0,
                        "variant": f"v{run + 1}",
                        "item": item,
                        "rating": 6 - s if reverse else s,
                        "parse_ok": True,
                    }
                )
    return pd.DataFrame(rows), target


def test_persona_bfi10_scores_recover_targets():
    ans, target = _persona_answers()
    s = questionnaires.persona_bfi10_scores(ans)
    for gender, traits in target.items():
        got = s[s.gender == gender].set_index("dimension").score
        for t, v in traits.items():
            assert got[t] == pytest.approx(v, abs=1e-12)
    with pytest.raises(ValueError, match="not a BFI-10 item"):
        questionnaires.persona_bfi10_scores(ans.assign(item=ans.item + 1000))


def test_persona_vs_human_by_hand():
    ans, target = _persona_answers()
    ps = questionnaires.persona_bfi10_scores(ans)
    h = _toy_humans()
    ref = _toy_humans(150, seed=7).assign(participant=lambda d: "vp" + d.participant)
    res = humans.persona_vs_human(
        ps, h, "gender", "male", "female", sd_reference=ref, n_boot=400, seed=1
    )
    r = res.table
    hg = humans.human_group_gaps(h, "gender", "male", "female", n_boot=0).table
    hg = hg.set_index("dimension")
    for row in r.itertuples():
        gap = target["male"][row.dimension] - target["female"][row.dimension]
        sd = ref[ref.dimension == row.dimension].score.std(ddof=1)
        assert row.persona_gap == pytest.approx(gap, abs=1e-12)
        assert row.persona_d == pytest.approx(gap / sd, abs=1e-12)
        assert row.human_d == pytest.approx(hg.loc[row.dimension, "d"], abs=1e-12)
        assert row.d_difference == pytest.approx(row.persona_d - row.human_d, abs=1e-12)
        assert row.d_difference_ci_low <= row.d_difference <= row.d_difference_ci_high
        assert row.sign_agree == (np.sign(row.persona_d) == np.sign(row.human_d))
        assert row.human_ci_low < row.human_d < row.human_ci_high
        # one run per persona: the persona CI reflects only the SD reference's sampling
        assert row.persona_ci_low <= row.persona_d <= row.persona_ci_high
        assert 0 <= row.sign_agree_share <= 1
    a = r.set_index("dimension")
    assert (
        a.loc["Agreeableness", "sign_agree"] and a.loc["Agreeableness", "d_difference"] < 0
    )  # -1.5 vs ~ -0.5: the personas exaggerate
    assert "different instruments" in res.note
    # without an SD reference: needs several runs per persona
    with pytest.raises(ValueError, match="fewer than 2 runs"):
        humans.persona_vs_human(ps, h, "gender", "male", "female", n_boot=0)
    ans3, _ = _persona_answers(runs=3)
    ps3 = questionnaires.persona_bfi10_scores(ans3)
    assert ps3.run.nunique() == 6
    r3 = humans.persona_vs_human(ps3, h, "gender", "male", "female", n_boot=200, seed=2)
    r3 = r3.table.set_index("dimension")
    m = ps3[(ps3.gender == "male") & (ps3.dimension == "Openness")].score.to_numpy()
    f = ps3[(ps3.gender == "female") & (ps3.dimension == "Openness")].score.to_numpy()
    sp = np.sqrt((2 * m.var(ddof=1) + 2 * f.var(ddof=1)) / 4)
    assert r3.loc["Openness", "persona_d"] == pytest.approx((m.mean() - f.mean()) / sp, abs=1e-12)


def test_paper_reference_and_beside_paper():
    t = humans.paper_persona_reference()
    assert t[["group_a", "group_b", "dimension", "llm_gap", "human_gap"]].values.tolist() == [
        ["male", "female", "Conformity", 0.51, 0.02],
        ["male", "female", "Tradition", 0.58, -0.11],
        ["left", "right", "Hedonism", 0.74, 0.03],
    ]
    assert (t.model == "GPT-4o").all() and t.source.str.contains("Han et al").all()
    assert set(t.dimension) <= set(schema.PVQ_VALUES)
    mine = pd.DataFrame(
        {
            "family": "pvq",
            "dimension": ["Tradition", "Hedonism"],
            "group_a": ["male", "right"],
            "group_b": ["female", "left"],
            "llm_gap": [0.3, -0.2],
            "human_gap": [0.1, 0.05],
        }
    )
    b = humans.beside_paper(mine).set_index("dimension")
    assert b.loc["Tradition", "your_llm_gap"] == 0.3 and b.loc[
        "Tradition", "your_gap_difference"
    ] == pytest.approx(0.2)
    assert b.loc["Hedonism", "your_llm_gap"] == pytest.approx(
        0.2
    )  # right - left flipped to left - right
    assert np.isnan(b.loc["Conformity", "your_llm_gap"])
    assert b.loc["Tradition", "paper_gap_difference"] == pytest.approx(0.58 + 0.11)
    assert b.loc["Hedonism", "paper_gap_difference"] == pytest.approx(0.74 - 0.03)


# --------------------------------------------------------------------------- with the real data


def test_persona_vs_sapa_and_cli(pkg, bfi_scores, tmp_path):
    ans, _ = _persona_answers()
    path = tmp_path / "answers.csv"
    ans.to_csv(path, index=False)
    res = human_studies.compare_with_humans(ans, "sapa-bfi", "gender", n_boot=300, seed=0)
    r = res.table.set_index("dimension")
    hg = humans.human_group_gaps(bfi_scores, "gender", n_boot=0).table.set_index("dimension")
    np.testing.assert_allclose(r.human_d, hg.loc[r.index, "d"], atol=1e-12)
    # hand personas: A male < female as in people; O male < female, against people's +0.1
    assert r.loc["Agreeableness", "sign_agree"] and not r.loc["Openness", "sign_agree"]
    out = tmp_path / "cmp"
    cli = CliRunner().invoke(
        app,
        [
            "personas",
            "compare",
            str(path),
            "--human",
            "sapa-bfi",
            "--group-col",
            "gender",
            "--out",
            str(out),
            "--n-boot",
            "300",
        ],
    )
    assert cli.exit_code == 0, cli.output
    got = pd.read_csv(out / "persona_vs_human.csv").set_index("dimension")
    np.testing.assert_allclose(got.persona_d, r.persona_d, atol=1e-12)
    np.testing.assert_allclose(got.d_difference_ci_low, r.d_difference_ci_low, atol=1e-12)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["parameters"]["human"] == "sapa-bfi" and "answers" in prov["inputs"]
    assert {"persona_bfi10_scores.csv", "human_group_gaps.csv"} <= {p.name for p in out.iterdir()}


def test_cli_humans_writes_table_and_provenance(pkg, bfi_scores, tmp_path):
    out = tmp_path / "h"
    res = CliRunner().invoke(
        app,
        [
            "personas",
            "humans",
            "--source",
            "sapa-bfi",
            "--group",
            "gender",
            "--out",
            str(out),
            "--n-boot",
            "500",
        ],
    )
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "human_group_gaps.csv")
    assert list(t.columns[:9]) == humans.HUMAN_GAP_COLUMNS
    ref = humans.human_group_gaps(bfi_scores, "gender", n_boot=500, seed=0).table
    np.testing.assert_allclose(t.d, ref.d, atol=1e-12)
    np.testing.assert_allclose(t.ci_low, ref.ci_low, atol=1e-12)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["command"] == "personas humans" and prov["parameters"]["group"] == "gender"
    assert any(k.endswith("Rdata.rdb") for k in prov["inputs"])
    age = CliRunner().invoke(
        app, ["personas", "humans", "--group", "age", "--out", str(tmp_path / "a"), "--n-boot", "0"]
    )
    assert age.exit_code == 0, age.output
    a = pd.read_csv(tmp_path / "a" / "human_group_gaps.csv")
    assert a.group_a.unique().tolist() == ["18-29", "30-44", "45-59"]


# --------------------------------------------------------------------------- without the data


def _says_install(msg: str):
    assert all(s in msg for s in INSTALL), msg


@pytest.mark.parametrize(
    "call",
    [
        lambda p: pt.find_psychtools(p),
        lambda p: pt.read_psychtools("bfi", p),
        lambda p: pt.read_bfi(p),
        lambda p: pt.read_spi(p),
        lambda p: pt.spi_keys(p),
        lambda p: pt.bfi_keys(p),
        lambda p: pt.sapa_scores("sapa-bfi", p),
        lambda p: pt.sapa_scores("sapa-spi", p),
        lambda p: human_studies.human_gaps_study("sapa-bfi", "gender", None, path=p),
        lambda p: human_studies.compare_with_humans(
            _persona_answers()[0], "sapa-bfi", path=p, sd_reference=None
        ),
    ],
)
def test_wrong_path_says_what_to_install(tmp_path, call):
    wrong = tmp_path / "no-R-library-here"
    with pytest.raises(pt.PsychToolsNotFoundError) as exc:
        call(wrong)
    _says_install(str(exc.value))
    assert str(wrong) in str(exc.value)
    assert isinstance(exc.value, ValueError)  # a DataFormatError of vp_stats.errors


def test_env_var_and_auto_detection_failures(tmp_path, monkeypatch):
    monkeypatch.setenv(pt.ENV_VAR, str(tmp_path / "nothing"))
    with pytest.raises(pt.PsychToolsNotFoundError, match=r"\$VP_PSYCHTOOLS") as exc:
        pt.read_bfi()
    _says_install(str(exc.value))
    monkeypatch.delenv(pt.ENV_VAR)
    monkeypatch.setattr(
        pt, "_auto_find", lambda: (None, ("Rscript (not on PATH)", "/usr/lib/R/site-library"))
    )
    with pytest.raises(pt.PsychToolsNotFoundError, match="R package not found") as exc:
        pt.sapa_scores()
    _says_install(str(exc.value))
    # a folder that is some other R package is not psychTools
    other = tmp_path / "lib" / "psych"
    (other / "data").mkdir(parents=True)
    (other / "DESCRIPTION").write_text("Package: psych\n")
    with pytest.raises(pt.PsychToolsNotFoundError):
        pt.find_psychtools(tmp_path / "lib")


def test_cli_wrong_path_one_line(tmp_path):
    ans, _ = _persona_answers()
    p = tmp_path / "a.csv"
    ans.to_csv(p, index=False)
    wrong = str(tmp_path / "nope")
    for args in (
        ["personas", "humans", "--out", str(tmp_path / "o"), "--psychtools", wrong],
        [
            "personas",
            "compare",
            str(p),
            "--human",
            "sapa-bfi",
            "--out",
            str(tmp_path / "o2"),
            "--psychtools",
            wrong,
            "--sd-reference",
            "personas",
        ],
    ):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, res.output
        _says_install(res.output)
        assert "Traceback" not in res.output
    bad = CliRunner().invoke(
        app, ["personas", "humans", "--group", "race", "--out", str(tmp_path / "o3")]
    )
    assert bad.exit_code == 2 and "--group must be one of" in bad.output


def test_copied_layout_with_rda_files(pkg, tmp_path):
    """A psychTools folder of .rda files (a source layout) is read by pyreadr directly."""
    import subprocess

    lib = tmp_path / "lib" / "psychTools"
    (lib / "data").mkdir(parents=True)
    (lib / "DESCRIPTION").write_text("Package: psychTools\nVersion: 0.0-test\n")
    rda = lib / "data" / "bfi.rda"
    r = subprocess.run(
        ["Rscript", "-e", f"bfi <- psychTools::bfi; save(bfi, file = '{rda}')"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"Rscript could not write an .rda: {r.stderr[-300:]}")
    a = pt.read_bfi(tmp_path / "lib")
    b = pt.read_bfi()
    pd.testing.assert_frame_equal(a.drop(columns="participant"), b.drop(columns="participant"))
    assert pt.psychtools_version(tmp_path / "lib") == "0.0-test"
