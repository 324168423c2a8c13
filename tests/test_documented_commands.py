"""Every ``vp-stats ...`` command line shown in README.md, docs/*.rst and the notebooks' markdown
exists as shown: each subcommand and option it names is the command line's own (click
introspection of the typer app, the options parsed by click itself), and the small offline ones
run. Documentation cannot drift from the command line without this test failing."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vp_stats.cli import app

ROOT = Path(__file__).resolve().parent.parent

#: Words standing for values in the documentation (``--out DIR``, ``ANSWERS.csv``, ``...``).
PLACEHOLDER = re.compile(r"^(\.\.\.|…|[A-Z][A-Z0-9_]*(\.[a-z]+)?|COMMAND)$")


def _spans(text: str) -> list[str]:
    """Inline code spans (``x`` in rst, `x` in markdown, possibly over two lines) and code lines."""
    fence = r"```[a-z]*\n(.*?)```"
    blocks = re.findall(fence, text, flags=re.S)
    blocks += re.findall(r"::\n\n((?:[ \t]+.*\n|\n)+)", text)
    text = re.sub(fence, "", text, flags=re.S)
    out = re.findall(r"``(.+?)``", text, flags=re.S)
    out += re.findall(r"`([^`]+?)`", re.sub(r"``.+?``", "", text, flags=re.S))
    for block in blocks:
        out += re.sub(r"\\\n\s*", " ", block).splitlines()  # shell line continuations joined
    return out


def _commands(text: str) -> list[str]:
    cmds = []
    for span in _spans(text):
        span = " ".join(span.split())
        for m in re.finditer(r"(?:^|[\s=(])(vp-stats\s[^#`]*)", span):
            cmd = m.group(1).strip().rstrip(").,;")
            cmds.append(cmd)
    return cmds


def _documented() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]:
        found += [(path.name, c) for c in _commands(path.read_text(encoding="utf-8"))]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        md = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        found += [(nb.name, c) for c in _commands(md)]
    return sorted(set(found))


DOCUMENTED = _documented()


def _expand(cmd: str) -> list[list[str]]:
    """``structure efa|cfa`` -> two commands; tokens after ``vp-stats``."""
    words = shlex.split(cmd)[1:]
    out = [[]]
    for w in words:
        alts = w.split("|") if "|" in w and not w.startswith("-") else [w]
        out = [o + [a] for o in out for a in alts]
    return out


def _resolve(words: list[str]):
    """The click command the words name (typer's own click: duck-typed), its path, the rest."""
    cmd = typer.main.get_command(app)
    path = []
    while hasattr(cmd, "list_commands") and words:
        if words[0].startswith("-"):  # the group's own flags (vp-stats -v COMMAND)
            flags = {"--help"} | {
                o
                for p in cmd.params
                if getattr(p, "is_flag", False) or getattr(p, "count", False)
                for o in p.opts
            }
            assert words[0] in flags, f"no option {words[0]!r} of {' '.join(['vp-stats', *path])}"
            words = words[1:]
            continue
        if PLACEHOLDER.match(words[0]):  # vp-stats COMMAND --help
            return cmd, path, []
        sub = cmd.get_command(cmd.context_class(cmd), words[0])
        assert sub is not None, f"no command {' '.join([*path, words[0]])!r}"
        path.append(words[0])
        cmd, words = sub, words[1:]
    return cmd, path, words


def test_commands_are_found():
    names = {c for _, c in DOCUMENTED}
    assert len(DOCUMENTED) > 30
    assert any(c.startswith("vp-stats personas compare") for c in names)
    assert any(c.startswith("vp-stats validate --out") for c in names)


@pytest.mark.parametrize(("where", "line"), DOCUMENTED, ids=[f"{w}:{c}" for w, c in DOCUMENTED])
def test_documented_command_exists(where, line):
    for words in _expand(line):
        cmd, path, rest = _resolve(words)
        if not rest:
            continue  # a command named without its options
        # placeholders stand for values: give click a value where the documentation has a word
        # for one, and drop the lone "..." that stands for the rest of a command line
        args = []
        for w in rest:
            if w in ("...", "…") and not (args and args[-1].startswith("-")):
                continue  # the rest of a command line
            args.append("x" if PLACEHOLDER.match(w) else w)
        ctx = cmd.context_class(cmd, info_name=" ".join(["vp-stats", *path]))
        parser = cmd.make_parser(ctx)
        try:
            _, extra, _ = parser.parse_args(args=list(args))
        except Exception as exc:  # noqa: BLE001 - click's UsageError (typer vendors click)
            if not hasattr(exc, "format_message"):
                raise
            pytest.fail(f"{where}: {line!r}: {exc.format_message()}")
        n_args = sum(
            1 if p.nargs == 1 else 10**6 for p in cmd.params if p.param_type_name == "argument"
        )
        assert len(extra) <= n_args, f"{where}: {line!r}: unexpected argument(s) {extra}"


#: Documented command lines that are small and offline: run them (DIR -> a temporary folder).
RUN = [
    "vp-stats validate --out DIR",
    "vp-stats score --out DIR",
    "vp-stats personas humans --source sapa-bfi --group gender --out DIR",
]


@pytest.mark.parametrize("line", RUN)
def test_small_documented_commands_run(tmp_path, line):
    assert any(c == line or c.startswith(line + " ") for _, c in DOCUMENTED) or line in {
        c.replace("data/processed", "DIR") for _, c in DOCUMENTED
    }, f"{line!r} is no longer documented"
    if "sapa" in line:
        from vp_stats.io import psychtools

        try:
            psychtools.find_psychtools()
        except Exception as exc:  # noqa: BLE001 - psychTools absent: nothing to run
            pytest.skip(f"psychTools not installed: {exc}")
    args = [str(tmp_path) if w == "DIR" else w for w in shlex.split(line)[1:]]
    if args[0] == "validate":
        args += ["--n-boot", "0"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert any(tmp_path.iterdir())
