"""The output-folder lock is the cross-platform ``filelock`` one: held by another process it
refuses a run, and it is free again when that process dies (also killed, not only on exit)."""

import inspect
import subprocess
import sys

import pytest

from vp_stats.errors import DataFormatError
from vp_stats.io import tables as tio

HOLD = (
    "import sys; from vp_stats.io.tables import locked_out_dir\n"
    "with locked_out_dir(sys.argv[1]):\n"
    "    print('held', flush=True); sys.stdin.read()\n"
)


def test_a_lock_held_by_another_process_refuses_and_dies_with_it(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataFormatError, match="another vp-stats run is writing"):
            with tio.locked_out_dir(tmp_path):
                pass
    finally:
        holder.kill()  # no clean exit: the system drops the lock
        holder.wait()
    with tio.locked_out_dir(tmp_path) as out:
        assert out == tmp_path


def test_the_lock_needs_no_unix_only_module():
    assert "fcntl" not in inspect.getsource(tio.locked_out_dir)
