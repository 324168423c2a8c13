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
