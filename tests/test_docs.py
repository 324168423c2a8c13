"""The docs site's generated parts: the command-line reference (one page per command, from the
commands themselves), the notebook gallery (executed copies with their figures) and the check of
the built site.

The generators are tested directly (fast, no Sphinx build). The built site is checked by the
build itself: ``docs/_ext/site_check.py`` runs at Sphinx's ``build-finished`` and turns every
command without a page and every notebook page with fewer images than its executed copy has
image outputs into a warning, an error under ``-W`` (``make docs``; ``make test`` builds the
docs after pytest, so a pytest test of the built site would see the previous build). Here the
check is run on good and broken sites, and once through sphinx-build, to show that it fails.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vp_stats.cli import app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import cli_reference  # noqa: E402
import notebook_gallery  # noqa: E402
import site_check  # noqa: E402

from vp_stats.studies import notebooks as vnb  # noqa: E402

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

    origin = notebook_gallery.build_gallery(src, root)

    assert origin == {"01-a": "reproduced", "02-b": "not executed"}
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


def _png_output() -> dict:
    out = {"output_type": "display_data", "metadata": {}}
    out["data"] = {"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure>"}
    return out


def test_gallery_renders_the_copy_the_notebook_tests_stored(tmp_path, monkeypatch):
    """The notebook tests store what they executed (nbformat: sources as strings); the gallery
    reads the notebook as JSON (sources as lists of lines) and finds it under the same key."""
    nbformat = pytest.importorskip("nbformat")
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    src = root / "docs"
    src.mkdir()
    for name in ("03-model", "04-other"):
        nb = _notebook("import os\nx = 1\n")
        nb["cells"][1]["source"] = ["import os\n", "x = 1\n"]  # as Jupyter saves it
        (root / "notebooks" / f"{name}.ipynb").write_text(json.dumps(nb))
    executed = nbformat.read(root / "notebooks" / "03-model.ipynb", as_version=4)
    executed.cells[1].outputs = [nbformat.from_dict(_png_output())]
    kept = vnb.store_executed("03-model", executed, vnb.gallery_cache_dir(root))
    assert kept.parent == root / "docs" / "_build" / ".notebook_cache"
    monkeypatch.setenv("VP_DOCS_EXECUTE", "cached")

    origin = notebook_gallery.build_gallery(src, root)

    assert origin == {"03-model": "cache", "04-other": "not executed"}
    shown = json.loads((src / "notebooks" / "03-model.ipynb").read_text())
    assert vnb.image_outputs(shown["cells"][1]) == 1
    other = json.loads((src / "notebooks" / "04-other.ipynb").read_text())
    assert "no executed copy was found" in other["cells"][1]["source"]


def test_notebook_digest_is_the_same_however_the_notebook_is_read():
    nbformat = pytest.importorskip("nbformat")
    for name in NOTEBOOKS:
        path = ROOT / "notebooks" / f"{name}.ipynb"
        as_json = json.loads(path.read_text(encoding="utf-8"))
        assert vnb.cells_digest(as_json) == vnb.cells_digest(nbformat.read(path, as_version=4))


def test_store_executed_replaces_only_the_older_copies_of_its_notebook(tmp_path):
    one, two = _notebook("x = 1"), _notebook("x = 2", [_png_output()])
    old = vnb.store_executed("01-a", one, tmp_path)
    neighbour = vnb.store_executed("01-a-b", one, tmp_path)  # a name that starts like 01-a
    new = vnb.store_executed("01-a", two, tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted([neighbour, new]) and old != new
    assert json.loads(new.read_text()) == two
    assert new == vnb.cached_copy("01-a", _notebook("x = 2"), tmp_path)  # outputs not in the key


def test_gallery_hash_follows_the_cells():
    one, two = _notebook("x = 1"), _notebook("x = 2")
    assert vnb.cells_digest(one) != vnb.cells_digest(two)
    with_out = _notebook("x = 1", [{"output_type": "stream", "name": "stdout", "text": "1"}])
    assert vnb.cells_digest(one) == vnb.cells_digest(with_out)


def _site(tmp_path, images_on_page: int, image_outputs: int):
    """A checkout with one notebook, its rendered copy and its built page."""
    root = tmp_path / "checkout"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "01-a.ipynb").write_text(json.dumps(_notebook("x = 1")))
    (root / "docs" / "notebooks").mkdir(parents=True)
    rendered = _notebook("x = 1", [_png_output() for _ in range(image_outputs)])
    (root / "docs" / "notebooks" / "01-a.ipynb").write_text(json.dumps(rendered))
    html = root / "docs" / "_build" / "html"
    (html / "notebooks").mkdir(parents=True)
    (html / "_images").mkdir()
    tags = []
    for i in range(images_on_page):
        (html / "_images" / f"{i}.png").write_bytes(PNG)
        tags.append(f'<img alt="x" src="../_images/{i}.png" />')
    (html / "notebooks" / "01-a.html").write_text("<html>" + "\n".join(tags) + "</html>")
    return html, root / "docs"


@pytest.mark.parametrize(("on_page", "outputs", "ok"), [(2, 2, True), (3, 2, True), (1, 2, False)])
def test_site_check_counts_the_images_of_each_notebook_page(tmp_path, on_page, outputs, ok):
    html, srcdir = _site(tmp_path, on_page, outputs)
    problems = site_check.notebook_problems(html, srcdir)
    assert problems == ([] if ok else [f"notebook 01-a: {SHORT}"]), problems


SHORT = "the page shows 1 images, the executed notebook has 2 image outputs"


def test_site_check_finds_missing_image_files_pages_and_copies(tmp_path):
    html, srcdir = _site(tmp_path, 2, 2)
    (html / "_images" / "1.png").unlink()
    assert [p.split(": ", 1)[1] for p in site_check.notebook_problems(html, srcdir)] == [
        "images whose file is missing: ['../_images/1.png']",
        SHORT,
    ]
    (html / "notebooks" / "01-a.html").unlink()
    assert site_check.notebook_problems(html, srcdir) == [
        f"notebook 01-a: no page {html / 'notebooks' / '01-a.html'}"
    ]
    (srcdir / "notebooks" / "01-a.ipynb").unlink()
    assert site_check.notebook_problems(html, srcdir)[0].startswith("notebook 01-a: no rendered")


def test_site_check_wants_a_page_per_command(tmp_path):
    (tmp_path / "cli").mkdir()
    for path, _, _ in _commands()[1:]:
        page = tmp_path / "cli" / ("-".join(path) + ".html")
        page.write_text(f"<h1>{' '.join(path)}</h1>")
    assert site_check.command_problems(tmp_path) == []
    (tmp_path / "cli" / "vp-stats-validate.html").unlink()
    (tmp_path / "cli" / "vp-stats-score.html").write_text("<h1>another command</h1>")
    assert sorted(site_check.command_problems(tmp_path)) == [
        f"command vp-stats {c}: no page {tmp_path / 'cli' / f'vp-stats-{c}.html'} naming it"
        for c in ("score", "validate")
    ]


def test_site_check_fails_a_sphinx_build_with_warnings_as_errors(tmp_path):
    """The check runs inside sphinx-build (build-finished) and -W turns its warnings into a
    failed build: here a site without command pages and without the notebook's page."""
    _, srcdir = _site(tmp_path, 0, 1)
    (srcdir / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'docs' / '_ext')!r})\n"
        'extensions = ["site_check"]\nexclude_patterns = ["_build", "notebooks"]\n'
    )
    (srcdir / "index.rst").write_text("Title\n=====\n\nText.\n")
    out = tmp_path / "out"
    args = ["-W", "--keep-going", "-q", "-b", "html", str(srcdir), str(out)]
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 1, run.stderr
    assert f"built site: notebook 01-a: no page {out / 'notebooks' / '01-a.html'}" in run.stderr
    assert "built site: command vp-stats validate: no page" in run.stderr
