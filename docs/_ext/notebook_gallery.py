"""Sphinx extension: the notebooks of ``notebooks/`` as a gallery, rendered with their figures.

At ``builder-inited`` every ``notebooks/*.ipynb`` gets an executed copy in ``docs/notebooks/``
(generated, ``docs/.gitignore``), which myst-nb renders with ``nb_execution_mode = "off"``. The
executed copy is, in this order:

1. the cache ``docs/_build/.notebook_cache/<name>-<digest>.ipynb``
   (:func:`vp_stats.studies.notebooks.cached_copy`; ``<digest>`` is the SHA-256 of the
   notebook's cells, :func:`vp_stats.studies.notebooks.cells_digest`, so an edited notebook is
   not taken from an older copy). The notebook tests (``tests/studies/test_notebooks.py``)
   store there every notebook they executed whose figures passed their check, and so does this
   extension for the notebooks it executes (:func:`vp_stats.studies.notebooks.store_executed`,
   one definition of the key for both);
2. the copy ``make reproduce`` executed (``reports/notebooks/<name>.ipynb``) when its cells are
   the notebook's cells;
3. otherwise the notebook executed now, as ``vp-stats reproduce`` executes it
   (:func:`vp_stats.studies.notebooks.execute_notebooks`: the inline backend, IPC kernel
   transport), with ``VP_FIGURES_DIR`` and ``VP_PROCESSED_DIR`` in ``docs/_build`` so a docs
   build writes nothing into the checkout, and stored in the cache.

Which notebooks may be executed at build time is ``VP_DOCS_EXECUTE``: ``no-model`` (the default
of ``make docs``: every notebook whose code runs no language model, :func:`runs_a_model`;
together a few minutes), ``all`` (also 03 and 04, which run the local model: several minutes
each), ``none``, comma-separated names (``01-item-validation,06-validate-your-own-items``), or
``cached`` (what ``make test`` uses, after its notebook tests have filled the cache): nothing is
executed and a notebook without an executed copy is a build warning, so an error under ``-W``.
Otherwise a notebook that is neither cached, reproduced nor executed is rendered without
outputs under a note saying how to get its figures, and one whose execution fails is rendered
without outputs under a warning box naming the error (not cached, so the next build tries
again; not a build error, so that a standalone ``make docs`` stays buildable: the notebook
test fails on it).

The gallery page (``docs/notebooks/index.rst``) shows each notebook's first figure as a thumbnail
linking to the rendered notebook.

After the build, ``_ext/site_check.py`` checks that every notebook's page shows the images of
the copy it was rendered from.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from sphinx.util import logging

from vp_stats.studies import notebooks as vnb

logger = logging.getLogger(__name__)

#: what each notebook shows, for the gallery (the notebook's own title is its page title)
BLURBS = {
    "01-item-validation": "Item validation against the raters' PVQ-21 and BFI-10 scores; the "
    "published tables reproduced row by row; reliability and circumplex of the selected items.",
    "02-llm-value-profiles": "Value profiles of the released models: heatmaps, the headline "
    "ranking, robustness to prompt variants, option order and selection threshold.",
    "03-demographic-personas": "Personas compared with the human raters at item, population "
    "and group level.",
    "04-svo-hvae": "Social Value Orientation (HVAE): the SVO ring, value rationality and "
    "answer consistency.",
    "05-value-compass": "Value Compass: models ranked by weighted composites of their value "
    "profiles.",
    "06-validate-your-own-items": "Validating a study of your own, end to end, on synthetic "
    "data with known ground truth.",
    "07-measurement-across-groups": "Measurement invariance and differential item functioning "
    "across groups.",
}


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _with_ids(nb: dict, name: str) -> dict:
    """Give every cell an id (nbformat 4.5), as nbformat will require (the stored notebooks have
    none), and drop the widget state."""
    nb = copy.deepcopy(nb)
    # progress-bar widgets would need the widget JavaScript from a CDN on a static page: drop
    # their state; the pages show the bars' text (conf.py: the widget view mime is not rendered)
    nb["metadata"].pop("widgets", None)
    nb["nbformat_minor"] = max(5, nb.get("nbformat_minor", 0))
    for i, cell in enumerate(nb["cells"]):
        cell.setdefault("id", f"{name[:40]}-{i}")
    return nb


def _has_outputs(nb: dict) -> bool:
    return any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


#: code that runs a language model: such a notebook takes minutes (3 to 10 each on 2 busy cores)
RUNS_A_MODEL = re.compile(r"LlamaCppBackend|vp_stats\.llm\.local")


def runs_a_model(nb: dict) -> bool:
    """Whether the notebook's code runs a language model (the embedded local one)."""
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return bool(RUNS_A_MODEL.search(code))


#: the values of VP_DOCS_EXECUTE besides comma-separated notebook names
MODES = ("no-model", "all", "none", "cached")


def _mode() -> str:
    spec = os.environ.get("VP_DOCS_EXECUTE", "no-model").strip()
    return spec or "none"


def _selected(name: str, nb: dict) -> bool:
    spec = _mode()
    if spec == "all":
        return True
    if spec == "no-model":
        return not runs_a_model(nb)
    if spec in ("none", "cached"):
        return False
    return name in {s.strip() for s in spec.split(",")}


def _why_not_executed(nb: dict) -> str:
    spec = _mode()
    if spec == "cached":
        return (
            "no executed copy was found: `make test` renders the copies its notebook tests "
            "(`tests/studies/test_notebooks.py`) executed, and this notebook's test failed or "
            "did not run"
        )
    if spec == "no-model" and runs_a_model(nb):
        return "it runs a language model and was not executed for this build"
    return f"it was not executed for this build (`VP_DOCS_EXECUTE={spec}`)"


def _execute(name: str, root: Path, work: Path) -> dict:
    from vp_stats.studies import notebooks as vnb

    out = Path(tempfile.mkdtemp(dir=work))
    env = vnb.kernel_env(
        VP_FIGURES_DIR=str(work / "figures"), VP_PROCESSED_DIR=str(work / "processed")
    )
    try:
        for _, seconds in vnb.execute_notebooks([name], root=root, out_dir=out, env=env):
            logger.info("notebook %s executed in %.0f s", name, seconds)
        return _read(out / f"{name}.ipynb")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _unexecuted(nb: dict, why: str) -> dict:
    nb = copy.deepcopy(nb)
    note = (
        f"```{{note}}\nThis page shows the notebook without its outputs: {why}. "
        "`make docs VP_DOCS_EXECUTE=all` executes it once (the notebooks that run the local "
        "model take several minutes) and caches it in `docs/_build/.notebook_cache` for later "
        "builds; `make lab` runs it interactively.\n```"
    )
    title = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(title, {"cell_type": "markdown", "metadata": {}, "source": note})
    return nb


def _failed(nb: dict, exc: Exception) -> dict:
    nb = copy.deepcopy(nb)
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # IPython's colour codes
    errors = [ln for ln in text.splitlines() if re.match(r"\w*(Error|Exception)\b.*:", ln)]
    first = errors[-1] if errors else type(exc).__name__
    note = (
        "```{warning}\nThis notebook failed to execute in this docs build, so it is shown "
        f"without outputs. The error: `{first.strip()[:300].replace('`', '')}`. The notebook "
        "test (`tests/studies/test_notebooks.py`) reports the failing cell.\n```"
    )
    title = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(title, {"cell_type": "markdown", "metadata": {}, "source": note})
    return nb


def _first_png(nb: dict) -> bytes | None:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                return base64.b64decode("".join(png) if isinstance(png, list) else png)
    return None


def _title(nb: dict, name: str) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def build_gallery(srcdir: Path, root: Path) -> dict[str, str]:
    """Write the executed copies, thumbnails and the gallery page.

    Returns each notebook's name and where its rendered copy came from: ``"cache"``,
    ``"reproduced"``, ``"executed"`` (now), ``"failed"`` (executed now, with an error) or
    ``"not executed"``.
    """
    out_dir = srcdir / "notebooks"
    thumbs = out_dir / "_thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    cache = vnb.gallery_cache_dir(root)
    work = cache.parent / ".notebook_work"
    sources = sorted(p for p in (root / "notebooks").glob("*.ipynb"))
    entries, origin = [], {}
    for path in sources:
        name = path.stem
        nb = _read(path)
        cached = vnb.cached_copy(name, nb, cache)
        reproduced = root / "reports" / "notebooks" / path.name
        if cached.exists():
            executed, origin[name] = _read(cached), "cache"
        elif (
            reproduced.exists()
            and vnb.cells_digest(_read(reproduced)) == vnb.cells_digest(nb)
            and _has_outputs(_read(reproduced))
        ):
            executed, origin[name] = _read(reproduced), "reproduced"
            logger.info("notebook %s: the copy make reproduce executed", name)
        elif _selected(name, nb):
            t0 = time.perf_counter()
            work.mkdir(parents=True, exist_ok=True)
            try:
                executed = _execute(name, root, work)
            except Exception as exc:  # noqa: BLE001 - nbclient's CellExecutionError and kin
                # not a build error: tests/studies/test_notebooks.py fails on it, and the page says
                # so; the docs of every other page stay buildable
                logger.info("notebook %s failed to execute: %s", name, str(exc)[:2000])
                executed, origin[name] = _failed(nb, exc), "failed"
            else:
                vnb.store_executed(name, executed, cache)
                origin[name] = "executed"
                logger.info("notebook %s: %.0f s", name, time.perf_counter() - t0)
        else:
            executed, origin[name] = _unexecuted(nb, _why_not_executed(nb)), "not executed"
        executed = _with_ids(executed, name)
        _write_if_changed(out_dir / path.name, json.dumps(executed, indent=1).encode())
        png = _first_png(executed)
        if png:
            _write_if_changed(thumbs / f"{name}.png", png)
        elif (thumbs / f"{name}.png").exists():
            (thumbs / f"{name}.png").unlink()
        entries.append((name, _title(executed, name), png is not None))
    for stale in out_dir.glob("*.ipynb"):
        if stale.stem not in origin:
            stale.unlink()
    _write_if_changed(out_dir / "index.rst", _index(entries).encode())
    return origin


def _index(entries) -> str:
    lines = [
        ".. _gallery:",
        "",
        "Notebook gallery",
        "================",
        "",
        "The notebooks of ``notebooks/`` (``make lab`` opens them in JupyterLab), rendered with "
        "their outputs and figures. The docs build renders the copies ``make reproduce`` "
        "executed (``reports/notebooks/``) and executes the others once, caching them in "
        "``docs/_build/.notebook_cache`` until a notebook changes. Each figure is also saved as "
        "PNG and SVG by the notebook (``reports/figures/``); :doc:`../reproduce` maps them to "
        "the paper.",
        "",
    ]
    for name, title, has_thumb in entries:
        lines += [f"{title}", "-" * len(title), ""]
        if has_thumb:
            lines += [
                f".. image:: _thumbs/{name}.png",
                "   :width: 360px",
                f"   :alt: first figure of {name}",
                f"   :target: {name}.html",
                "",
            ]
        lines += [f":doc:`{name}`: {BLURBS.get(name, '')}", ""]
    lines += [".. toctree::", "   :hidden:", ""]
    lines += [f"   {name}" for name, _, _ in entries]
    lines.append("")
    return "\n".join(lines)


def _on_builder_inited(app) -> None:
    srcdir = Path(app.srcdir)
    origin = build_gallery(srcdir, srcdir.parent)
    mode = _mode()
    unknown = [n.strip() for n in mode.split(",") if n.strip() and n.strip() not in origin]
    if mode not in MODES and unknown:
        logger.warning(
            "notebook gallery: VP_DOCS_EXECUTE=%s: %s is neither one of %s nor a notebook",
            mode,
            ", ".join(unknown),
            ", ".join(MODES),
        )
    if mode == "cached":
        for name, came in origin.items():
            if came != "cache" and came != "reproduced":
                logger.warning(
                    "notebook gallery: %s has no executed copy in %s (VP_DOCS_EXECUTE=cached: "
                    "its test in tests/studies/test_notebooks.py failed or did not run)",
                    name,
                    vnb.gallery_cache_dir(srcdir.parent),
                )


def setup(app):
    app.setup_extension("myst_nb")
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
