"""A real llama.cpp server (llama-cpp-python's OpenAI-compatible one) on 127.0.0.1 for HTTP tests.

Shared by ``tests/llm/test_runner.py`` and ``tests/llm/test_personas_server.py``; imported by name
(``tests/`` is on ``sys.path``). The server loads the weights into plain CPU buffers, as the local
backend does (:func:`vp_stats.llm.local.plain_cpu_weights`), runs one thread, and is ready when
``/v1/models`` answers (it has no ``/health``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

_SERVE = (
    "import runpy\nfrom vp_stats.llm.local import plain_cpu_weights\n"
    "with plain_cpu_weights():\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(model_path, log_path: Path, secret: str, start_timeout: float = 120.0):
    """Serve ``model_path``; yield ``{"url", "secret", "log"}``, stop the server on exit.

    ``log`` is the open server log (stdout and stderr). A server that exits or does not answer
    within ``start_timeout`` seconds fails the test with the end of its log.
    """
    port = free_port()
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SERVE,
            "--model",
            str(model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--api_key",
            secret,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + start_timeout
    try:
        while True:
            try:
                req = urllib.request.Request(
                    url + "/models", headers={"Authorization": f"Bearer {secret}"}
                )
                urllib.request.urlopen(req, timeout=2)
                break
            except Exception:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail(f"llama_cpp.server did not start: {log.read()[-2000:]}")
                time.sleep(0.5)
        yield {"url": url, "secret": secret, "log": log}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
