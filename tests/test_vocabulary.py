"""One vocabulary for the tables, enforced on every public signature of the package.

Human tables name their unit ``participant``; LLM tables ``model`` (and ``persona``); then
``item``, ``rating``, ``family``, ``dimension`` and ``score`` everywhere. Column-name parameters
carry exactly these names (pingouin-style ``data=`` plus ``participant=``, ``item=`` ...). The
scan reads the source (``ast``), so a new public function with another spelling fails here.
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
