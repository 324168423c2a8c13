"""The docs site's generated parts: the command-line reference (one page per command, from the
commands themselves) and the notebook gallery (executed copies with their figures).

The generators are tested directly (fast, no Sphinx build); the built site is checked where
``make docs`` has built it (``make test`` builds the docs before it runs pytest, so in CI the
checks of the built site always run)."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import pytest
import typer

from vp_stats.cli import app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import cli_reference  # noqa: E402
import notebook_gallery  # noqa: E402

BUILD = ROOT / "docs" / "_build" / "html"
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _commands():
    """Every command path of the typer app, walked with click's own methods."""
    root = typer.main.get_command(app)
    out, todo = [], [(root, root.context_class(root, info_name="vp-stats"), ["vp-stats"])]
    while todo:
        cmd, ctx, path = todo.pop()
        out.append((path, cmd, ctx))
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                sub_ctx = sub.context_class(sub, info_name=name, parent=ctx)
                todo.append((sub, sub_ctx, [*path, name]))
    return out


def test_cli_reference_has_one_page_per_command_with_every_option(tmp_path):
    pages = cli_reference.write_pages(tmp_path)
    commands = _commands()
    assert len(commands) > 25
    assert {p.name for p in pages} == {"index.rst"} | {
        "-".join(path) + ".rst" for path, _, _ in commands if len(path) > 1
    }
    for path, cmd, ctx in commands[1:]:
        text = (tmp_path / ("-".join(path) + ".rst")).read_text()
        assert text.splitlines()[2] == f"``{' '.join(path)}``"
        assert cmd.get_usage(ctx).strip() in text
        for param in cmd.get_params(ctx):
            rec = param.get_help_record(ctx)
            if rec is not None:
                assert f"``{rec[0]}``" in text, (path, rec[0])


def test_cli_reference_escapes_markup():
    assert cli_reference._escape("a *b* `c` x_ [d] |e|") == r"a \*b\* \`c\` x\_ \[d\] \|e\|"


def _notebook(source: str, outputs=None) -> dict:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": outputs or []}
    cell["execution_count"] = None
    md = {"cell_type": "markdown", "metadata": {}, "source": "# A title"}
    return {"cells": [md, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}


def test_gallery_takes_the_reproduced_copy_else_a_note(tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    (root / "reports" / "notebooks").mkdir(parents=True)
    src = root / "docs"
    src.mkdir()
    for name in ("01-a", "02-b"):
        (root / "notebooks" / f"{name}.ipynb").write_text(json.dumps(_notebook("x = 1")))
    png = {"output_type": "display_data", "metadata": {}}
    png["data"] = {"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure>"}
    executed = _notebook("x = 1", [png])
    (root / "reports" / "notebooks" / "01-a.ipynb").write_text(json.dumps(executed))
    # an executed copy of an older version of 02-b must not be used
    old = _notebook("x = 2", [png])
    (root / "reports" / "notebooks" / "02-b.ipynb").write_text(json.dumps(old))
    monkeypatch.setenv("VP_DOCS_EXECUTE", "none")

    names = notebook_gallery.build_gallery(src, root, tmp_path / "build")

    assert names == ["01-a", "02-b"]
    a = json.loads((src / "notebooks" / "01-a.ipynb").read_text())
    b = json.loads((src / "notebooks" / "02-b.ipynb").read_text())
    assert a["cells"][1]["outputs"][0]["data"]["image/png"]
    assert all(c["id"] for c in a["cells"]) and a["nbformat_minor"] >= 5
    assert "without its outputs" in b["cells"][1]["source"]
    assert not any(c.get("outputs") for c in b["cells"])
    assert (src / "notebooks" / "_thumbs" / "01-a.png").read_bytes() == PNG
    assert not (src / "notebooks" / "_thumbs" / "02-b.png").exists()
    index = (src / "notebooks" / "index.rst").read_text()
    assert ".. image:: _thumbs/01-a.png" in index and ":doc:`02-b`" in index


def test_gallery_knows_which_notebooks_run_a_model():
    runs = {
        p.stem
        for p in (ROOT / "notebooks").glob("*.ipynb")
        if notebook_gallery.runs_a_model(json.loads(p.read_text(encoding="utf-8")))
    }
    assert {"03-demographic-personas", "04-svo-hvae"} <= runs
    assert "01-item-validation" not in runs and "06-validate-your-own-items" not in runs


def test_gallery_hash_follows_the_cells():
    one, two = _notebook("x = 1"), _notebook("x = 2")
    assert notebook_gallery._cells_hash(one) != notebook_gallery._cells_hash(two)
    with_out = _notebook("x = 1", [{"output_type": "stream", "name": "stdout", "text": "1"}])
    assert notebook_gallery._cells_hash(one) == notebook_gallery._cells_hash(with_out)


built = pytest.mark.skipif(
    not (BUILD / "index.html").exists(), reason="docs not built (make docs; make test builds them)"
)


@built
def test_built_site_has_a_page_per_command():
    for path, _, _ in _commands()[1:]:
        page = BUILD / "cli" / ("-".join(path) + ".html")
        assert page.exists(), page
        assert " ".join(path) in page.read_text(encoding="utf-8")


@built
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_built_site_renders_each_notebook_with_its_images(name):
    html = (BUILD / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
    assert "failed to execute in this docs build" not in html, f"{name} failed to execute"
    if "without its outputs" in html:
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert notebook_gallery.runs_a_model(nb), f"{name} runs no model, yet was not executed"
        pytest.skip(f"{name} runs a model: executed by make docs VP_DOCS_EXECUTE=all only")
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert images, f"{name}: no PNG image on the rendered page"
    for src in images:
        assert (BUILD / "notebooks" / src).resolve().exists(), src
