"""Sphinx extension: after an html build, check that the built site has its generated parts.

At ``build-finished`` (:func:`problems`):

* every notebook of ``notebooks/`` has its page ``notebooks/<name>.html``, every ``<img>`` there
  points to an existing file, and the page shows at least as many images as the copy it was
  rendered from (``docs/notebooks/<name>.ipynb``, written by ``_ext/notebook_gallery.py``) has
  image outputs (:func:`vp_stats.studies.notebooks.image_outputs`);
* every command and command group of ``vp-stats`` has its page ``cli/<vp-stats-...>.html``
  naming it (the commands walked as ``_ext/cli_reference.py`` walks them).

Each problem is a build warning, so ``make docs`` (``-W``) fails on it, and since the check runs
inside the build it always sees the site that build wrote (``make test`` builds the docs after
its tests). A notebook rendered without outputs (under a note or warning box) has no image
outputs and passes here; ``VP_DOCS_EXECUTE=cached`` (``make test``) makes it a warning of its
own in the gallery.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sphinx.util import logging

from vp_stats.studies import notebooks as vnb

logger = logging.getLogger(__name__)

#: the source file of an ``<img>`` tag
IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]+)\"")


def notebook_problems(html_dir: Path, srcdir: Path) -> list[str]:
    """What is wrong with the notebook pages: one line per problem, none if all is well.

    Parameters
    ----------
    html_dir : pathlib.Path
        The built site (``docs/_build/html``).
    srcdir : pathlib.Path
        The docs sources (``docs/``); the notebooks are those of ``srcdir.parent/notebooks``.
    """
    problems = []
    for source in sorted((srcdir.parent / "notebooks").glob("*.ipynb")):
        name = source.stem
        rendered = srcdir / "notebooks" / source.name
        page = html_dir / "notebooks" / f"{name}.html"
        if not rendered.is_file():
            problems.append(f"notebook {name}: no rendered copy {rendered}")
            continue
        if not page.is_file():
            problems.append(f"notebook {name}: no page {page}")
            continue
        nb = json.loads(rendered.read_text(encoding="utf-8"))
        expected = sum(vnb.image_outputs(c) for c in nb["cells"] if c["cell_type"] == "code")
        images = IMG_SRC.findall(page.read_text(encoding="utf-8"))
        missing = [s for s in images if not (page.parent / s).resolve().is_file()]
        if missing:
            problems.append(f"notebook {name}: images whose file is missing: {missing}")
        shown = len(images) - len(missing)
        if shown < expected:
            problems.append(
                f"notebook {name}: the page shows {shown} images, the executed notebook has "
                f"{expected} image outputs"
            )
    return problems


def command_problems(html_dir: Path) -> list[str]:
    """The commands of ``vp-stats`` without a built page naming them, one line each."""
    problems = []
    for path, _, _ in commands()[1:]:
        page = html_dir / "cli" / f"{'-'.join(path)}.html"
        if not page.is_file() or " ".join(path) not in page.read_text(encoding="utf-8"):
            problems.append(f"command {' '.join(path)}: no page {page} naming it")
    return problems


def commands() -> list:
    """Every command and command group of ``vp-stats`` as (path, command, context), root first,
    walked by ``_ext/cli_reference.py``'s walker (the one that writes the pages)."""
    import cli_reference
    import typer

    from vp_stats.cli import app

    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="vp-stats")
    return list(cli_reference._walk(root, ctx, ["vp-stats"]))


def problems(html_dir: Path, srcdir: Path) -> list[str]:
    """Every problem of the built site (:func:`notebook_problems`, :func:`command_problems`)."""
    return notebook_problems(html_dir, srcdir) + command_problems(html_dir)


def _check_build(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    for problem in problems(Path(app.outdir), Path(app.srcdir)):
        logger.warning("built site: %s", problem)


def setup(app):
    app.connect("build-finished", _check_build)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
