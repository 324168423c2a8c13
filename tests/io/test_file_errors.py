"""Every file error names its file, and outputs are as readable as the user's umask says:
a corrupt psychTools data file, bad ``run-llm --items`` files, a write that fails (a full disk, a
size limit) and the mode of atomically written outputs."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from vp_stats.errors import DataFormatError
from vp_stats.io import psychtools as pt
from vp_stats.io.tables import write_csv, write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*args, umask=None, cwd=None):
    code = "import os, sys; from vp_stats.cli import main; sys.argv = ['vp-stats', *sys.argv[1:]]"
    if umask is not None:
        code += f"; os.umask({umask})"
    return subprocess.run(
        [sys.executable, "-c", code + "; main()", *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


# ----------------------------------------------------------------------------- psychTools


def _fake_psychtools(tmp_path, content: bytes, name="bfi.rda") -> Path:
    pkg = tmp_path / "psychTools"
    (pkg / "data").mkdir(parents=True)
    (pkg / "DESCRIPTION").write_text("Package: psychTools\nVersion: 0\n")
    (pkg / "data" / name).write_bytes(content)
    return pkg


@pytest.mark.parametrize(
    "content",
    [
        os.urandom(64) + b"\x00" * 200,  # not R data at all
        gzip.compress(b"RDX3\nX\n\x00\x00\x00\x03")[:18],  # a truncated gzip stream
        b"",  # empty
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_a_corrupt_psychtools_file_is_a_clear_error_naming_it(tmp_path, content):
    pkg = _fake_psychtools(tmp_path, content)
    pt._read_cached.cache_clear()
    with pytest.raises(DataFormatError) as err:
        pt.read_bfi(pkg)
    msg = str(err.value)
    assert msg.startswith(f"{pkg / 'data' / 'bfi.rda'}: file level, field 'bfi': ")
    assert "corrupt or not R data" in msg and "psychTools" in msg
    done = _cli(
        "personas", "humans", "--source", "sapa-bfi", "--group", "gender",
        "--psychtools", pkg, "--out", tmp_path / "out", "--n-boot", "0",
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(pkg / "data" / "bfi.rda") in done.stderr and "corrupt or not R data" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- --items files


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "file is empty, expected a CSV table with a header line"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        (b"portrait_id,option_id\nx,1\n", "is not an integer id"),
        (b'portrait_id,option_id\n1,1\n"a\n', "not a valid CSV table"),
        (None, "is a folder, expected a CSV file"),
    ],
    ids=["empty", "binary", "text-ids", "broken-quote", "folder"],
)
def test_run_llm_items_file_errors_name_the_file(tmp_path, content, message):
    items = tmp_path / "items.csv"
    if content is None:
        items.mkdir()
    else:
        items.write_bytes(content)
    done = _cli(
        "run-llm", "--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
        "--items", items, "--variants", "v1", "--no-progress", "--out", tmp_path / "out",
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{items}" in done.stderr and message in done.stderr, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- writing outputs


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_mode_the_umask_implies(tmp_path, umask, mode):
    code = textwrap.dedent(
        f"""
        import os, pandas as pd
        from vp_stats.io.tables import write_csv, write_json, write_text
        os.umask({umask})
        write_csv(pd.DataFrame({{"a": [1]}}), "t.csv")
        write_json({{"a": 1}}, "t.json")
        write_text("x", "t.txt")
        open("plain.txt", "w").close()
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from vp_stats.io.figures import save_figure
        from vp_stats.io.pivot import write_matrix
        save_figure(plt.subplots()[1], "fig.png")
        write_matrix(pd.DataFrame({{"a": [1.0]}}, index=pd.Index(["p"], name="participant")),
                     "wide.rds")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=ENV, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for name in ("t.csv", "t.json", "t.txt", "plain.txt", "fig.png", "wide.rds"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*"))


def test_run_llm_outputs_follow_the_umask(tmp_path):
    pytest.importorskip("openai")
    from fault_server import ENV as FAULT_ENV
    from fault_server import FaultServer, ok_body

    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        out = tmp_path / f"out{umask:o}"
        with FaultServer(lambda n, h: h.send(200, ok_body())) as srv:
            done = subprocess.run(
                [
                    sys.executable, "-c",
                    f"import os, sys; os.umask({umask}); from vp_stats.cli import main; "
                    "sys.argv = ['vp-stats', *sys.argv[1:]]; main()",
                    "run-llm", "--backend", "openai", "--model", "m", "--base-url", srv.url,
                    "--api-key-env", "VP_FAULT_KEY", "--mode", "text", "--items", "1",
                    "--variants", "v1", "--no-progress", "--out", str(out),
                ],
                env={**FAULT_ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        written = [f for f in out.iterdir() if f.suffix in (".csv", ".json")]
        assert {"answers.csv", "provenance.json"} <= {f.name for f in written}
        for f in written:
            assert stat.S_IMODE(f.stat().st_mode) == mode, (umask, f.name)


def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path):
    """A write that the kernel refuses part-way (here: the process's file size limit, EFBIG; a full
    disk, ENOSPC, takes the same path) is an OSError naming the output; the earlier file is kept
    byte for byte and no temporary file stays."""
    target = tmp_path / "answers.csv"
    target.write_text("old,content\n1,2\n")
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        import pandas as pd
        from vp_stats.io.tables import write_csv
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_csv(pd.DataFrame({{"a": range(100000)}}), {str(target)!r})
        except OSError as exc:
            print(exc.errno, exc.filename, exc.strerror, sep="|")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    errno_, filename, strerror = done.stdout.strip().split("|")
    assert int(errno_) == 27 and filename == str(target)  # EFBIG
    assert strerror == "cannot write the file: File too large"
    assert target.read_text() == "old,content\n1,2\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_atomic_writers_still_write(tmp_path):
    write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "a.csv")
    write_json({"b": 1}, tmp_path / "b.json")
    write_text("c", tmp_path / "c.txt")
    assert (tmp_path / "a.csv").read_text() == "a\n1\n2\n"
    assert (tmp_path / "c.txt").read_text() == "c"
