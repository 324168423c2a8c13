"""``vp-stats run-llm`` as a user runs it: a subprocess against an OpenAI-compatible URL.

Shared by the redaction tests (``tests/test_redaction.py``) and the LLM fault tests
(``tests/llm/test_llm_faults.py``); imported by name (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import subprocess
import sys
import time

from fault_server import ENV


def run_llm(url, out, *extra, items=1, key_env="VP_FAULT_KEY"):
    """Run ``run-llm`` in text mode on ``items`` items and variant v1; the finished process.

    ``extra`` are more options (``--retries 0`` ...); ``key_env`` names the environment variable
    holding the API key (None: none given, e.g. when the key is in the URL). The environment is
    :data:`fault_server.ENV`; ``done.elapsed`` is the wall time in seconds.
    """
    cmd = [
        sys.executable,
        "-m",
        "vp_stats.cli",
        "run-llm",
        "--backend",
        "openai",
        "--model",
        "m",
        "--base-url",
        url,
        *(["--api-key-env", key_env] if key_env else []),
        "--mode",
        "text",
        "--items",
        str(items),
        "--variants",
        "v1",
        "--no-progress",
        "--out",
        str(out),
        *map(str, extra),
    ]
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    done.elapsed = time.monotonic() - t0
    return done
