"""One vocabulary for the tables, enforced on every public signature of the package.

Human tables name their unit ``participant``; LLM tables ``model`` (and ``persona``); then
``item``, ``rating``, ``family``, ``dimension`` and ``score`` everywhere. Column-name parameters
carry exactly these names (pingouin-style ``data=`` plus ``participant=``, ``item=`` ...). The
scan reads the source (``ast``), so a new public function with another spelling fails here.

Columns too: every pandera contract of :mod:`vp_stats.tables` and the tables of the public
functions that build their own columns (run on tiny inputs) use no other spelling
(:data:`BANNED_COLUMNS`: ``respondent``, ``trait``, ``answer``, ``n_respondents`` ...). A file
may still say ``respondent`` or ``answer`` in its header: the readers map it on reading.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: other spellings of the vocabulary's concepts -> the one spelling
BANNED = {
    "participant_col": "participant",
    "participants_col": "participant",
    "respondent": "participant",
    "respondents": "participant",
    "respondent_col": "participant",
    "rater": "participant",
    "rater_col": "participant",
    "unit": "participant, model or persona",
    "unit_col": "participant, model or persona",
    "persona_unit_col": "persona",
    "human_unit_col": "participant",
    "self_unit": "participant or model",
    "profile_unit": "participant or model",
    "model_col": "model",
    "persona_col": "persona",
    "persona_id_col": "persona",
    "item_col": "item",
    "items_col": "item",
    "answer_col": "rating",
    "rating_col": "rating",
    "ratings_col": "rating",
    "response_col": "rating",
    "value_col": "rating or score",
    "choice": "rating",
    "trait": "dimension",
    "trait_col": "dimension",
    "dimension_col": "dimension",
    "dim": "dimension",
    "dim_col": "dimension",
    "family_col": "family",
    "score_col": "score",
    "scores_col": "score",
    "group_col": "group",
}


def public_signatures(root: Path):
    """``(file, line, function, parameter)`` of every public function and method of the package.

    The command line's options (``vp_stats/cli``) are its own spelling and are not scanned.
    """
    for path in sorted((root / "vp_stats").rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[1] == "cli" or any(
            p.startswith("_") and p != "__init__.py" for p in rel.parts
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = list(tree.body)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                nodes += node.body
        for fn in nodes:
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if fn.name.startswith("_") and fn.name != "__init__":
                continue
            a = fn.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
                yield rel.as_posix(), fn.lineno, fn.name, arg.arg


def test_no_public_signature_spells_the_vocabulary_otherwise():
    bad = [
        f"{f}:{line} {fn}({arg}): use {BANNED[arg]}"
        for f, line, fn, arg in public_signatures(ROOT)
        if arg in BANNED
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["respondent", "trait", "unit_col"])
def test_the_scan_finds_a_banned_spelling(tmp_path, name):
    pkg = tmp_path / "vp_stats" / "stats"
    pkg.mkdir(parents=True)
    (pkg / "example.py").write_text(f"def statistic(data, {name}='x'):\n    return data\n")
    found = [arg for *_, arg in public_signatures(tmp_path)]
    assert found == ["data", name]


# ----------------------------------------------------------------------------- table columns

#: column spellings no contract and no returned table may use -> the one spelling
BANNED_COLUMNS = {
    **{k: v for k, v in BANNED.items() if not k.endswith("_col")},
    "respondent_id": "participant",
    "n_respondents": "n_participants",
    "answer": "rating",
    "response": "rating",
    "traits": "dimension",
}


def banned_columns(where: str, columns) -> list[str]:
    """``"where: column -> use ..."`` for each banned spelling among ``columns``."""
    return [
        f"{where}: column {c!r} -> use {BANNED_COLUMNS[c]}"
        for c in map(str, columns)
        if c in BANNED_COLUMNS
    ]


def contract_columns(module):
    """``(name, columns)`` of every pandera contract (model or schema) a module defines."""
    import pandera.pandas as pa

    for name, obj in vars(module).items():
        if (
            isinstance(obj, type)
            and issubclass(obj, pa.DataFrameModel)
            and obj is not pa.DataFrameModel
        ):
            yield name, list(obj.to_schema().columns)
        elif isinstance(obj, pa.DataFrameSchema):
            yield name, list(obj.columns)


def test_no_contract_spells_a_column_otherwise():
    from vp_stats import tables

    found = dict(contract_columns(tables))
    assert {"Ratings", "SvoAnswers", "PersonaAnswers", "EssFile", "EssScores"} <= set(found)
    bad = [m for name, cols in found.items() for m in banned_columns(f"tables.{name}", cols)]
    assert not bad, "\n".join(bad)


def _tiny_outputs(tmp_path):
    """The tables of public functions that build their own columns, run on tiny inputs."""
    import numpy as np
    import pandas as pd

    from vp_stats.instruments import bfi, pvq, svo
    from vp_stats.io import compass as io_compass
    from vp_stats.io import ess as io_ess
    from vp_stats.io import svo as io_svo
    from vp_stats.io import tables as io_tables
    from vp_stats.llm import questionnaires
    from vp_stats.stats import llm_psychometrics, reliability

    pvq_ans = pd.DataFrame(
        {"persona_id": np.repeat(["p", "q"], 21), "item": np.tile(np.arange(1, 22), 2)}
    ).assign(rating=lambda d: 1.0 + (d.index % 6), parse_ok=True)
    bfi_ans = pd.DataFrame(
        {"model": "m", "persona_id": "p", "item": range(1, 11), "rating": [2.0, 4] * 5}
    )
    people = pvq_ans.rename(columns={"persona_id": "participant"})[
        ["participant", "item", "rating"]
    ]
    x = np.array([[1, 2, 1], [2, 2, 3], [3, 4, 3], [4, 4, 5], [5, 3, 5]], dtype=float)
    (tmp_path / "svo.csv").write_text("respondent,item,choice\nr1,1,A\nr1,2,B\n")
    (tmp_path / "sheet.csv").write_text("respondent,item,answer\nr1,1,4\n")
    (tmp_path / "w.csv").write_text("dimension,weight\nPower,1\n")
    io_ess.synthetic_ess(n=3, seed=0).to_csv(tmp_path / "ess.csv", index=False)
    self_report = questionnaires.score_llm_pvq21(pvq_ans, "expected")
    profiles = self_report.rename(columns={"persona_id": "model", "score": "centered_mean"})
    yield "score_llm_pvq21(expected)", self_report
    yield "score_llm_pvq21(mode)", questionnaires.score_llm_pvq21(pvq_ans, "mode")
    yield "score_llm_bfi10", questionnaires.score_llm_bfi10(bfi_ans)
    yield "persona_bfi10_scores", questionnaires.persona_bfi10_scores(bfi_ans)
    yield "score_pvq21", pvq.score_pvq21(people)
    yield "score_bfi10", bfi.score_bfi10(people[people.item <= 10].assign(rating=3))
    yield "svo.score_answers", svo.score_answers(io_svo.read_answers(tmp_path / "svo.csv"))
    yield "io.svo.read_answers", io_svo.read_answers(tmp_path / "svo.csv")
    yield "read_questionnaire_answers", io_tables.read_questionnaire_answers(tmp_path / "sheet.csv")
    yield "read_weights_file", io_compass.read_weights_file(tmp_path / "w.csv")
    yield "load_ess", io_ess.load_ess(tmp_path / "ess.csv")
    yield "cronbach_alpha", reliability.cronbach_alpha(x)
    yield "split_half", reliability.split_half(x)
    yield "paired_scores", llm_psychometrics.paired_scores(self_report, profiles).table


def test_no_returned_table_spells_a_column_otherwise(tmp_path):
    outputs = dict(_tiny_outputs(tmp_path))
    assert len(outputs) == 14
    bad = [m for name, t in outputs.items() for m in banned_columns(name, t.columns)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["respondent", "trait", "n_respondents", "answer"])
def test_the_column_scan_finds_a_banned_spelling(name):
    import pandas as pd
    import pandera.pandas as pa

    module = type("m", (), {})()
    module.Wrong = pa.DataFrameSchema({"participant": pa.Column(str), name: pa.Column(float)})
    assert [n for n, cols in contract_columns(module) if banned_columns(n, cols)] == ["Wrong"]
    assert banned_columns("f", pd.DataFrame(columns=["persona_id", name]).columns) == [
        f"f: column {name!r} -> use {BANNED_COLUMNS[name]}"
    ]
