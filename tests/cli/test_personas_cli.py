"""``vp-stats personas run`` and ``personas compare`` end to end against a real HTTP endpoint
(tests/fault_server.py answering every prompt with one of the six answer phrases): the printed
summary (fidelity against its noise floor, largest gaps, the true failure count), the profile
table's failure counts, and the user messages of a wrong comparison."""

from __future__ import annotations

import pandas as pd
import pytest
from fault_server import KEY, FaultServer, ok_body  # tests/ is on sys.path (conftest)
from typer.testing import CliRunner

from vp_stats.cli import app
from vp_stats.llm.backends import PHRASES

runner = CliRunner()


def _phrases(n, h):
    h.send(200, ok_body(PHRASES[(n * 7) % 6]))


@pytest.fixture(scope="module")
def persona_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("personas")
    with FaultServer(_phrases, max_requests=200) as srv:
        res = runner.invoke(
            app,
            [
                "personas",
                "run",
                "--grid",
                "notebook",
                "--n-per-value",
                "1",
                "--backend",
                "openai",
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--api-key-env",
                "VP_FAULT_KEY",
                "--mode",
                "text",
                "--retries",
                "0",
                "--concurrency",
                "2",
                "--n-boot",
                "50",
                "--out",
                str(out),
            ],
            env={"VP_FAULT_KEY": KEY},
        )
    return out, res


def test_personas_run_prints_its_result(persona_run):
    out, res = persona_run
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(out / "answers.csv")
    assert ans.parse_ok.all()
    text = res.output
    assert "fidelity over" in text and "model side from answer histogram" in text
    assert "noise floor" in text and "split-half" in text and "baseline" in text
    assert "largest item gaps" in text
    assert f"answers: {len(ans)}, failed or unparsed: 0" in text
    for name in ("fidelity.csv", "fidelity_summary.csv", "item_comparison.csv"):
        assert (out / name).exists()
    s = pd.read_csv(out / "fidelity_summary.csv")
    assert set(s.level) == {"all", "source", "persona"}
    # the profiles count the items asked without an answer, not the items never asked
    prof = pd.read_csv(out / "profiles.csv")
    assert (prof.n_failed == 0).all() and (prof.n_not_asked > 0).any()


def test_personas_compare_prints_its_result(persona_run, tmp_path):
    out, _ = persona_run
    res = runner.invoke(
        app, ["personas", "compare", str(out / "answers.csv"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "fidelity over" in res.output and "failed or unparsed: 0" in res.output
    assert (tmp_path / "compare_fidelity_summary.csv").exists()


def test_personas_compare_human_on_value_portrait_answers_is_one_clear_error(persona_run, tmp_path):
    out, _ = persona_run
    res = runner.invoke(
        app,
        [
            "personas",
            "compare",
            str(out / "answers.csv"),
            "--human",
            "sapa-bfi",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "np.int64" not in res.output and "Traceback" not in res.output
    assert "Value Portrait items" in res.output and "BFI-10" in res.output


def test_personas_run_values_grid_writes_steerability_and_its_figure(tmp_path):
    with FaultServer(_phrases, max_requests=400) as srv:
        res = runner.invoke(
            app,
            [
                "personas",
                "run",
                "--grid",
                "values",
                "--n-per-value",
                "1",
                "--backend",
                "openai",
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--api-key-env",
                "VP_FAULT_KEY",
                "--mode",
                "text",
                "--retries",
                "0",
                "--concurrency",
                "2",
                "--n-boot",
                "50",
                "--out",
                str(tmp_path),
            ],
            env={"VP_FAULT_KEY": KEY},
        )
    assert res.exit_code == 0, res.output
    assert (
        "steerability:" in res.output and "of 20 personas closest to their own group" in res.output
    )
    st = pd.read_csv(tmp_path / "steerability.csv")
    assert st.persona_id.nunique() == 20 and st.group.nunique() == 20
    assert st.groupby("persona_id").own.sum().eq(1).all()
    assert (tmp_path / "steerability.png").stat().st_size > 10_000
    assert (tmp_path / "item_level.png").exists()


def _run(args, out, max_requests=200):
    with FaultServer(_phrases, max_requests=max_requests) as srv:
        return runner.invoke(
            app,
            [
                "personas",
                "run",
                *args,
                "--n-per-value",
                "1",
                "--backend",
                "openai",
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--api-key-env",
                "VP_FAULT_KEY",
                "--mode",
                "text",
                "--retries",
                "0",
                "--n-boot",
                "20",
                "--out",
                str(out),
            ],
            env={"VP_FAULT_KEY": KEY},
        )


def test_personas_run_from_a_persona_file(tmp_path):
    f = tmp_path / "personas.csv"
    f.write_text(
        "gender,country,backstory\n"
        "female,Germany,\n"
        ",,I grew up on a farm and still get up at five.\n"
        "male,,I teach chemistry.\n"
    )
    res = _run(["--personas", str(f)], tmp_path / "out")
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(tmp_path / "out" / "answers.csv")
    prompts = set(ans.system_prompt.dropna())
    assert prompts == {
        "**Your Profile**: Your gender is female. Your country is Germany.",
        "I grew up on a farm and still get up at five.",
        "**Your Profile**: Your gender is male. I teach chemistry.",
    }
    assert ans.persona_id.nunique() == 4  # three personas and the plain model
    assert "fidelity over" in res.output
    # a bad persona file: one line naming file, row and problem, exit 2
    f.write_text("gender,country\nfemale,Germany\n,\n")
    bad = _run(["--personas", str(f)], tmp_path / "out2")
    assert bad.exit_code == 2
    assert "personas.csv: row 2 (line 3)" in bad.output and "Traceback" not in bad.output


def test_personas_run_sample_from_sapa(tmp_path):
    from vp_stats.io import psychtools

    try:
        people = psychtools.read_bfi()
    except Exception as exc:  # noqa: BLE001 - psychTools absent
        pytest.skip(f"psychTools not installed: {exc}")
    res = _run(["--sample-from", "sapa-bfi", "--n", "6", "--seed", "3"], tmp_path)
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(tmp_path / "answers.csv")
    drawn = ans[ans.persona_id != "plain"].drop_duplicates("persona_id")
    assert 1 <= len(drawn) <= 6
    real = set(
        people[["gender", "age_band", "education"]].dropna().itertuples(index=False, name=None)
    )
    for r in drawn.itertuples():
        assert (r.gender, r.age, r.education) in real  # every persona is a real respondent's
        assert r.system_prompt.startswith("**Your Profile**: Your gender is ")


@pytest.mark.llm
@pytest.mark.slow
def test_personas_run_persona_file_on_the_local_model(tmp_path, monkeypatch):
    """The real SmolLM2 in logprobs mode: the comparison uses its exact answer probabilities."""
    monkeypatch.setenv("VP_LLAMA_THREADS", "1")
    f = tmp_path / "personas.csv"
    f.write_text("gender,backstory\nfemale,\n,I am a retired farmer.\n")
    res = runner.invoke(
        app,
        [
            "personas",
            "run",
            "--personas",
            str(f),
            "--n-per-value",
            "1",
            "--backend",
            "local",
            "--n-boot",
            "50",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "model side from answer probabilities" in res.output
    assert "failed or unparsed: 0" in res.output
    fid = pd.read_csv(tmp_path / "out" / "fidelity.csv")
    assert (fid.distribution_from == "probabilities").all()
    assert (fid.w1 > fid.floor_w1).mean() > 0.5  # a 135M model is not a perfect sampler


@pytest.mark.llm
@pytest.mark.slow
def test_personas_run_sample_from_sapa_on_the_local_model(tmp_path, monkeypatch):
    from vp_stats.io import psychtools

    try:
        psychtools.find_psychtools()
    except Exception as exc:  # noqa: BLE001 - psychTools absent
        pytest.skip(f"psychTools not installed: {exc}")
    monkeypatch.setenv("VP_LLAMA_THREADS", "1")
    res = runner.invoke(
        app,
        [
            "personas",
            "run",
            "--sample-from",
            "sapa-bfi",
            "--n",
            "2",
            "--seed",
            "1",
            "--n-per-value",
            "1",
            "--backend",
            "local",
            "--n-boot",
            "50",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "model side from answer probabilities" in res.output
    ans = pd.read_csv(tmp_path / "answers.csv")
    drawn = ans[ans.persona_id != "plain"]
    assert drawn.system_prompt.str.startswith("**Your Profile**: Your gender is ").all()
    assert drawn[["gender", "age", "education"]].notna().all().all()


def _psychtools_or_skip():
    from vp_stats.io import psychtools

    try:
        psychtools.find_psychtools()
    except Exception as exc:  # noqa: BLE001 - psychTools absent
        pytest.skip(f"psychTools not installed: {exc}")


def _scale_server(scale):
    def answer(n, h):
        h.send(200, ok_body(scale[(n * 7) % len(scale)]))

    return answer


def _run_instrument(args, out, scale, max_requests=400):
    with FaultServer(_scale_server(scale), max_requests=max_requests) as srv:
        return runner.invoke(
            app,
            [
                "personas",
                "run",
                *args,
                "--backend",
                "openai",
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--api-key-env",
                "VP_FAULT_KEY",
                "--mode",
                "text",
                "--retries",
                "0",
                "--n-boot",
                "20",
                "--out",
                str(out),
            ],
            env={"VP_FAULT_KEY": KEY},
        )


def test_personas_run_ipip_on_a_silicon_sample_and_compare_with_sapa(tmp_path):
    """--instrument ipip puts SAPA's 25 items (texts from psychTools) to a silicon sample on
    SAPA's own 6-point scale; the run and `personas compare --human sapa-bfi` compare the
    answer distributions with the SAPA respondents overall and by gender, age band, education."""
    _psychtools_or_skip()
    from vp_stats.io import psychtools
    from vp_stats.llm.questionnaires import IPIP_SCALE

    out = tmp_path / "run"
    res = _run_instrument(
        ["--instrument", "ipip", "--sample-from", "sapa-bfi", "--n", "8", "--seed", "2"],
        out,
        IPIP_SCALE,
    )
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(out / "answers.csv")
    n_personas = ans.persona_id.nunique()  # the drawn profiles and the plain model
    assert len(ans) == 25 * n_personas and ans.parse_ok.all()
    assert set(ans["item"]) == set(psychtools.BFI_ITEMS)
    # the item text is psychTools' and the answer is on the SAPA scale
    a1 = ans[ans["item"] == "A1"].iloc[0]
    text = a1.raw_text
    assert IPIP_SCALE.index(text) + 1 == a1.rating
    fid = pd.read_csv(out / "fidelity.csv")
    assert len(fid) == 25 and set(fid.source) == set(psychtools.BFI_KEYS)
    assert (fid.n_human > 2000).all()  # all SAPA respondents who answered the item
    sp = pd.read_csv(out / "steerability_personas.csv")
    assert set(sp.attribute) == {"gender", "age", "education"}
    st = pd.read_csv(out / "steerability.csv")
    assert set(st.query("attribute == 'gender'").group) == {"male", "female"}
    assert (out / "steerability_gender.png").exists()
    assert "fidelity over 25 items" in res.output and "steerability by gender" in res.output
    pattern = pd.read_csv(out / "structure.csv")  # pattern correspondence of the silicon sample
    assert set(pattern.dimension) == {*psychtools.BFI_KEYS, "all items"}
    assert (pattern.n_human.dropna() == 2800).all()
    assert "pattern correspondence (" in res.output and "Tucker congruence" in res.output
    assert f"answers: {len(ans)}, failed or unparsed: 0" in res.output

    cmp_out = tmp_path / "cmp"
    res2 = runner.invoke(
        app,
        [
            "personas",
            "compare",
            str(out / "answers.csv"),
            "--human",
            "sapa-bfi",
            "--group",
            "gender",
            "--n-boot",
            "20",
            "--out",
            str(cmp_out),
        ],
    )
    assert res2.exit_code == 0, res2.output
    c = pd.read_csv(cmp_out / "compare_steerability_personas.csv")
    assert set(c.attribute) == {"gender"}
    exact = ["item", "n_model", "n_human", "w1", "js_distance", "mean_model", "mean_human"]
    pd.testing.assert_frame_equal(
        pd.read_csv(cmp_out / "compare_fidelity.csv")[exact], fid[exact], rtol=1e-9
    )
    assert (cmp_out / "compare_steerability_gender.png").exists()


def test_personas_run_bfi10_then_compare_with_sapa_group_gaps(tmp_path):
    """--instrument bfi10 writes persona BFI-10 answers (items 1..10, the BFI's 5-point scale)
    that `personas compare --human sapa-bfi` scores and sets against SAPA's group gaps."""
    _psychtools_or_skip()
    from vp_stats.llm.questionnaires import BFI10_SCALE

    out = tmp_path / "run"
    res = _run_instrument(["--instrument", "bfi10", "--grid", "notebook"], out, BFI10_SCALE)
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(out / "answers.csv")
    assert set(ans["item"]) == set(range(1, 11)) and len(ans) == 10 * 5 and ans.parse_ok.all()
    assert ans.rating.between(1, 5).all()
    scores = pd.read_csv(out / "scores.csv")
    assert scores.persona_id.nunique() == 5 and scores.dimension.nunique() == 5
    assert "bfi10 mean scores over personas" in res.output
    res2 = runner.invoke(
        app,
        [
            "personas",
            "compare",
            str(out / "answers.csv"),
            "--human",
            "sapa-bfi",
            "--group",
            "gender",
            "--group-a",
            "male",
            "--group-b",
            "female",
            "--n-boot",
            "20",
            "--out",
            str(tmp_path / "cmp"),
        ],
    )
    assert res2.exit_code == 0, res2.output
    t = pd.read_csv(tmp_path / "cmp" / "persona_vs_human.csv")
    assert len(t) == 5 and t.human_d.notna().all()


def test_personas_run_rejects_an_unknown_instrument(tmp_path):
    res = runner.invoke(app, ["personas", "run", "--instrument", "tipi", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--instrument must be one of" in res.output


@pytest.mark.llm
@pytest.mark.slow
def test_personas_run_ipip_on_the_local_model(tmp_path, monkeypatch):
    """The real SmolLM2 on SAPA's IPIP items under two drawn personas, in logprobs mode: the
    answers carry the exact p_1..p_6 over SAPA's six answers, and the fidelity uses them."""
    _psychtools_or_skip()
    monkeypatch.setenv("VP_LLAMA_THREADS", "1")
    res = runner.invoke(
        app,
        [
            "personas",
            "run",
            "--instrument",
            "ipip",
            "--sample-from",
            "sapa-bfi",
            "--n",
            "2",
            "--seed",
            "1",
            "--backend",
            "local",
            "--n-boot",
            "50",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "model side from answer probabilities" in res.output
    assert "failed or unparsed: 0" in res.output
    ans = pd.read_csv(tmp_path / "answers.csv")
    p = ans[[f"p_{k}" for k in range(1, 7)]]
    assert len(ans) == 25 * ans.persona_id.nunique() and p.notna().all().all()
    assert (p.sum(axis=1) - 1).abs().max() < 1e-6
    fid = pd.read_csv(tmp_path / "fidelity.csv")
    assert (fid.distribution_from == "probabilities").all() and len(fid) == 25
    assert (tmp_path / "steerability_gender.png").exists()


@pytest.mark.parametrize(
    ("steering", "female_prompt"),
    [
        ("qa", "Question: What is your gender?\nAnswer: female\n\nI teach chemistry."),
        (
            "bio",
            "Below you will be asked to provide a short description of yourself and then "
            "answer some questions.\n\nDescription: I am female. I teach chemistry.",
        ),
        (
            "portray",
            "Answer the following questions as if your gender is female. I teach chemistry.",
        ),
    ],
)
def test_personas_run_steering_formats_write_their_prompts(tmp_path, steering, female_prompt):
    """--steering qa|bio|portray rewrites every persona's description (OpinionQA's QA, BIO and
    PORTRAY contexts); the prompt sent is the one stored with the answers."""
    from vp_stats.llm.questionnaires import BFI10_SCALE

    f = tmp_path / "personas.csv"
    f.write_text("gender,age,backstory\nfemale,,I teach chemistry.\nmale,18-29,\n")
    res = _run_instrument(
        ["--personas", str(f), "--instrument", "bfi10", "--steering", steering],
        tmp_path / "out",
        BFI10_SCALE,
    )
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(tmp_path / "out" / "answers.csv")
    prompts = ans.drop_duplicates("persona_id").set_index("gender").system_prompt
    assert prompts["female"] == female_prompt
    male = {
        "qa": "Question: What is your gender?\nAnswer: male\n\n"
        "Question: What is your age group?\nAnswer: 18-29",
        "bio": "Description: I am male. My age group is 18-29.",
        "portray": "Answer the following questions as if your gender is male and your age "
        "group is 18-29.",
    }[steering]
    assert prompts["male"].endswith(male)
    assert ans.persona_id.str.endswith(f"-{steering}").sum() == 20  # 2 personas x 10 items


def test_personas_run_steering_is_refused_for_the_values_grid(tmp_path):
    res = runner.invoke(
        app,
        [
            "personas",
            "run",
            "--grid",
            "values",
            "--steering",
            "qa",
            "--backend",
            "openai",
            "--base-url",
            "http://127.0.0.1:9",
            "--model",
            "m",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2 and "values grid" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--instrument", "bfi10", "--items", "2,11"],
            "--items: bfi10 has no item '11'; its items: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
        ),
        (["--items", "many"], "--items: expected 'all', a number or a CSV file"),
        (["--grid", "notebook", "--group-col", "gender"], "--group-col goes with --sample-from"),
    ],
)
def test_personas_run_item_and_group_options_fail_in_one_line(tmp_path, args, message):
    """Wrong --items or --group-col: one line naming what is wrong, exit 2, nothing run."""
    res = runner.invoke(
        app,
        ["personas", "run", *args, "--backend", "local", "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o" / "answers.csv").exists()


def test_personas_run_silicon_sample_by_chosen_columns(tmp_path):
    """--sample-from sapa-spi --group-col sex,health: personas drawn on spi's own columns with
    psychTools' labels; the spi sample has no IPIP items, so the ipip run compares with bfi, which
    has no health column: one clear error. On bfi's columns the comparison groups by them."""
    _psychtools_or_skip()
    from vp_stats.io import psychtools
    from vp_stats.llm.questionnaires import IPIP_SCALE

    out = tmp_path / "bfi"
    res = _run_instrument(
        ["--instrument", "ipip", "--items", "A1,C1,E1", "--no-plain", "--sample-from",
         "sapa-bfi", "--n", "12", "--seed", "3", "--group-col", "education", "--group-col", "age"],
        out,
        IPIP_SCALE,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    ans = pd.read_csv(out / "answers.csv")
    assert "plain" not in set(ans.persona_id) and set(ans["item"]) == {"A1", "C1", "E1"}
    labels = psychtools.sapa_groups("sapa-bfi", ["education", "age"])
    assert set(ans["education"].dropna()) <= set(labels["education"].dropna())
    assert set(ans["age"].dropna()) <= set(labels["age"].dropna())  # quartile bands, not 18-29
    assert "gender" not in ans.columns
    st = pd.read_csv(out / "steerability.csv")
    assert set(st["attribute"]) == {"education", "age"}
    assert set(st.query("attribute == 'age'")["group"]) == set(labels["age"].dropna())
    assert "steerability by education" in res.output and "steerability by age" in res.output

    res = _run_instrument(
        ["--instrument", "ipip", "--items", "A1", "--sample-from", "sapa-spi", "--n", "3",
         "--group-col", "sex,health"],
        tmp_path / "spi",
        IPIP_SCALE,
    )  # fmt: skip
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "--group-col sex: sapa-bfi has no such column" in res.output
    assert "compared with sapa-bfi" in res.output
    assert not (tmp_path / "spi" / "answers.csv").exists()  # refused before any prompt
