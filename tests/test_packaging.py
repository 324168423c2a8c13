"""Project hygiene: environment.yml in step with pyproject.toml; no upstream data committed."""

import hashlib
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(req: str) -> str:
    return re.split(r"[<>=!\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    return re.sub(r"\s+", "", req.strip().lower().replace("_", "-"))


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): _spec(r) for r in py["dependencies"]}
    for extra in py["optional-dependencies"].values():
        wanted.update({_name(r): _spec(r) for r in extra})
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for r in dep["pip"]:
                if not r.startswith("-e"):
                    have[_name(r)] = _spec(r)
        elif _name(dep) not in ("python", "pip"):
            have[_name(dep)] = _spec(dep)
    assert have == wanted


def test_no_upstream_data_file_is_tracked():
    sums = ROOT.parent / "shared" / "data" / "valueportrait" / "SHA256SUMS"
    registry = ROOT / "vp_stats" / "data" / "registry.txt"
    upstream = {
        line.split()[1].removeprefix("sha256:")
        for line in registry.read_text().splitlines()
        if line and not line.startswith("#")
    }
    if sums.exists():
        upstream |= {line.split()[0] for line in sums.read_text().splitlines() if line.strip()}
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in upstream, (
                f"{path} is an upstream data file"
            )


def test_flat_api_and_all_in_every_module():
    import ast

    import vp_stats as vp

    for name in vp.__all__:
        assert getattr(vp, name) is not None, name
    missing = []
    for path in (ROOT / "vp_stats").rglob("*.py"):
        if (
            path.name in ("__main__.py", "conftest.py")
            or path.name.startswith("_")
            and path.name != "__init__.py"
        ):
            continue
        tree = ast.parse(path.read_text())
        if not any(
            isinstance(n, ast.Assign)
            and any(getattr(t, "id", None) == "__all__" for t in n.targets)
            for n in tree.body
        ):
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"modules without __all__: {missing}"
