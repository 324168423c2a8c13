"""Sphinx extension: the command-line reference, one page per command, from the commands themselves.

At ``builder-inited`` it walks the click command tree of the typer app
(:func:`typer.main.get_command`) and writes ``docs/cli/index.rst`` plus one page per command and
command group (``docs/cli/vp-stats-personas-compare.rst``, ...) with the usage line, the help
text and every option and argument as ``--help`` shows them (names, metavar, help, default,
``[required]``). Nothing is typed by hand, so the reference cannot drift from the command line.

Why not sphinx-click: typer vendors its own copy of click (``typer._click``), whose classes are
not :mod:`click`'s, and sphinx-click checks ``isinstance(obj, click.Command)``; walking the tree
with the command objects' own methods (``list_commands``, ``get_params``, ``get_help_record``)
needs neither that package nor network.

Pages are rewritten only when their text changes, so incremental builds stay incremental. The
folder is generated (``docs/.gitignore``).
"""

from __future__ import annotations

import re
from pathlib import Path

#: characters with a meaning in reStructuredText inline markup, escaped in help texts
_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def _escape(text: str) -> str:
    r"""Help text as plain reStructuredText: markup characters escaped, click's ``\b`` dropped."""
    lines = [ln for ln in text.splitlines() if ln.strip() != "\b"]
    return _RST_SPECIAL.sub(r"\\\1", "\n".join(lines))


def _paragraphs(text: str) -> list[str]:
    """Help text split into paragraphs, each on one line (click rewraps them too)."""
    paras = re.split(r"\n\s*\n", text.strip())
    return [" ".join(p.split()) for p in paras if p.strip()]


def _heading(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def _slug(path: list[str]) -> str:
    return "-".join(path)


def _walk(cmd, ctx, path: list[str]):
    """Yield (path, command, context) for a command and, recursively, its subcommands."""
    yield path, cmd, ctx
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            sub_ctx = sub.context_class(sub, info_name=name, parent=ctx)
            yield from _walk(sub, sub_ctx, [*path, name])


def _page(path: list[str], cmd, ctx) -> str:
    title = " ".join(path)
    out = [f".. _cli-{_slug(path)}:\n", _heading(f"``{title}``")]
    paras = _paragraphs(cmd.help or "")
    if paras:
        out.append(_escape(paras[0]) + "\n")
    out += [".. code-block:: text\n", "   " + cmd.get_usage(ctx).strip() + "\n"]
    for para in paras[1:]:
        out.append(_escape(para) + "\n")
    if hasattr(cmd, "list_commands"):
        subs = [n for n in cmd.list_commands(ctx) if not cmd.get_command(ctx, n).hidden]
        out.append(_heading("Commands", "-"))
        for name in subs:
            sub = cmd.get_command(ctx, name)
            short = _paragraphs(sub.help or "")[:1]
            line = f"* :ref:`{title} {name} <cli-{_slug([*path, name])}>`"
            out.append(line + (f": {_escape(short[0])}" if short else ""))
        out.append("")
        out.append(".. toctree::\n   :hidden:\n")
        out += [f"   {_slug([*path, name])}" for name in subs]
        out.append("")
    records = []
    for param in cmd.get_params(ctx):
        rec = param.get_help_record(ctx)
        if rec is not None:
            kind = "Arguments" if param.param_type_name == "argument" else "Options"
            records.append((kind, rec))
    for kind in ("Arguments", "Options"):
        rows = [rec for k, rec in records if k == kind]
        if not rows:
            continue
        out.append(_heading(kind, "-"))
        for names, help_text in rows:
            out.append(f"``{names}``")
            out.append("   " + (_escape(" ".join(help_text.split())) or "(no description)"))
            out.append("")
    out.append(f"The same text in a terminal: ``{title} --help``.\n")
    return "\n".join(out)


def _index(pages: list[list[str]], root_help: str) -> str:
    out = [
        ".. _cli:\n",
        _heading("Command-line reference"),
        _escape(_paragraphs(root_help)[0]) + "\n" if root_help else "",
        "One page per command, generated at every docs build from the commands themselves "
        "(their usage line, help text and options as ``vp-stats COMMAND --help`` prints them). "
        "``python -m vp_stats`` is the same program as ``vp-stats``.\n",
    ]
    for path in pages[1:]:
        depth = len(path) - 2
        out.append("   " * depth + f"* :ref:`{' '.join(path)} <cli-{_slug(path)}>`")
    out += ["", ".. toctree::", "   :hidden:", ""]
    out += [f"   {_slug(p)}" for p in pages if len(p) == 2]
    out.append("")
    return "\n".join(out)


def write_pages(out_dir: Path) -> list[Path]:
    """Write the reference into ``out_dir``; return the pages (index first)."""
    import typer

    from vp_stats.cli import app

    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="vp-stats", terminal_width=100)
    found = list(_walk(root, ctx, ["vp-stats"]))
    texts = {"index.rst": _index([p for p, _, _ in found], root.help or "")}
    for path, cmd, cctx in found[1:]:
        texts[f"{_slug(path)}.rst"] = _page(path, cmd, cctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in set(p.name for p in out_dir.glob("*.rst")) - set(texts):
        (out_dir / stale).unlink()
    written = []
    for name, text in texts.items():
        target = out_dir / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _on_builder_inited(app) -> None:
    write_pages(Path(app.srcdir) / "cli")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
