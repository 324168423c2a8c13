"""reproduce's forked step: the child's result, its warnings, and the fallback to this process."""

from __future__ import annotations

import os
import warnings

import pytest

from vp_stats.studies.released import _Forked

forks = pytest.mark.skipif(
    not hasattr(os, "fork") or len(os.sched_getaffinity(0)) < 2, reason="needs fork and 2 cores"
)


@forks
def test_the_step_runs_in_a_child_and_comes_back():
    f = _Forked(os.getpid)
    assert f.pid is not None
    assert f.result() not in (None, os.getpid())  # computed in the child


@forks
def test_the_childs_warnings_are_raised_here():
    def make():
        warnings.warn("from the child", UserWarning, stacklevel=1)
        return 7

    with pytest.warns(UserWarning, match="from the child"):
        assert _Forked(make).result() == 7


@forks
def test_a_failing_child_is_rerun_here_and_raises_here():
    parent = os.getpid()

    def make():
        if os.getpid() != parent:
            raise RuntimeError("child only")
        raise ValueError("bad input, named as the step names it")

    with pytest.raises(ValueError, match="bad input"):
        _Forked(make).result()


@forks
def test_discard_reaps_an_uncollected_child():
    f = _Forked(lambda: __import__("time").sleep(30))
    pid = f.pid
    f.discard()
    assert f.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_without_parallel_the_step_runs_here():
    f = _Forked(os.getpid, parallel=False)
    assert f.pid is None and f.result() == os.getpid()
