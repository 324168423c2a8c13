"""Deadlines that measure the server, not the queue: against a server that answers one request at
a time (tests/fault_server.py with ``slots=1``), requests sent four at a time wait for a slot
outside their deadline, a timed-out request is retried with backoff, and a server that reports
its slots (llama.cpp's ``/props``) is never sent more requests than it serves."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from vp_stats.llm import runner
from vp_stats.llm.openai_backend import OpenAIBackend
from vp_stats.llm.retry import ServerSlots

pytest.importorskip("openai")

from fault_server import ENV, FaultServer, ok_body  # noqa: E402  (tests/ is on sys.path)

SERVICE = 0.5  # seconds the one-slot server works on each request
TIMEOUT = 1.2  # request deadline: more than one request's work, less than three queued ones


def _one_slot(report_slots=False, max_requests=40):
    def script(n, h):
        time.sleep(SERVICE)
        h.send(200, ok_body())

    return FaultServer(
        script, max_requests=max_requests, max_seconds=60, slots=1, report_slots=report_slots
    )


def _jobs(n):
    return pd.DataFrame({"prompt": [f"prompt number {i}" for i in range(n)]})


def test_a_one_slot_server_with_concurrency_4_answers_every_prompt():
    """Four requests at once: the third would wait 2 x 0.5 s in the server's queue and the fourth
    1.5 s, past the 1.2 s deadline, so a deadline counted from sending fails them (the earlier
    fixed deadline failed both, see the report of issue 23). Here the timed-out requests narrow
    the backend's slots to the server's one and are retried: every prompt is answered."""
    with _one_slot() as srv:
        be = OpenAIBackend(
            model="m",
            base_url=srv.url,
            concurrency=4,
            timeout=TIMEOUT,
            retries=5,
            backoff_base=0.2,
        )
        out = runner.run(_jobs(8), be, mode="text", progress=False)
    assert out.parse_ok.all() and out.error.isna().all(), out.error.tolist()
    assert be.slots.limit == 1 and be.server_slots is None  # learnt from timeouts, not /props
    # the queue was real: some request waited longer than the deadline from the first send
    assert max(end for _, end in srv.served) - srv.times[0] > TIMEOUT
    # answers served one at a time: no overlap between served requests
    spans = sorted(srv.served)
    assert all(spans[i][1] <= spans[i + 1][0] + 0.05 for i in range(len(spans) - 1))


def test_reported_slots_cap_the_requests_in_flight():
    """A server that reports ``total_slots: 1`` at /props gets one request at a time from the
    start: no request times out, none is sent twice."""
    with _one_slot(report_slots=True) as srv:
        be = OpenAIBackend(model="m", base_url=srv.url, concurrency=4, timeout=TIMEOUT, retries=0)
        out = runner.run(_jobs(5), be, mode="text", progress=False)
    assert out.parse_ok.all(), out.error.tolist()
    assert srv.props_asked == 1 and be.server_slots == 1 and be.slots.limit == 1
    assert srv.n == 5 and srv.dropped == 0  # each prompt sent once


def test_a_timed_out_request_is_retried_with_backoff_before_it_fails():
    def script(n, h):
        if n == 0:
            h.hang()  # the first attempt never answers
        else:
            h.send(200, ok_body())

    with FaultServer(script, max_seconds=30) as srv:
        be = OpenAIBackend(model="m", base_url=srv.url, concurrency=1, timeout=1.0, retries=2)
        out = runner.run(_jobs(1), be, mode="text", progress=False)
    assert out.parse_ok.all() and srv.n == 2
    assert srv.times[1] - srv.times[0] >= 1.0  # the second attempt after the first's deadline


def test_cli_run_llm_concurrency_4_against_a_one_slot_server(tmp_path):
    with _one_slot() as srv:
        done = subprocess.run(
            [
                sys.executable, "-m", "vp_stats.cli", "run-llm",
                "--backend", "openai", "--model", "m", "--base-url", srv.url,
                "--api-key-env", "VP_FAULT_KEY", "--mode", "text",
                "--items", "3", "--variants", "v1",
                "--concurrency", "4", "--timeout", str(TIMEOUT), "--retries", "5",
                "--no-progress", "--out", str(tmp_path / "o"),
            ],
            env=ENV, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    answers = pd.read_csv(tmp_path / "o" / "answers.csv")
    assert answers.error.isna().all() and len(answers) >= 3


def test_server_slots_wait_outside_and_narrow_when_crowded():
    import threading

    slots = ServerSlots(2)
    order = []
    with slots.slot() as a:
        assert not a.crowded()
        with slots.slot() as b:
            assert b.crowded() and a.crowded()

            def third():
                with slots.slot():
                    order.append("third")

            t = threading.Thread(target=third)
            t.start()
            time.sleep(0.2)
            assert order == []  # both slots taken: it waits
        t.join(5)
    assert order == ["third"]
    assert slots.narrow() == 1 and slots.narrow() == 1 and slots.report(3) == 1
