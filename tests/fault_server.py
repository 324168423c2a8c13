"""A real HTTP server on 127.0.0.1 that answers LLM requests by a script (fault injection).

Shared by the LLM fault tests, the run-file tests and the cache-merge tests: http.server in a
thread answers a few requests as scripted (429 with Retry-After, 500/503, a hang, a slow drip,
malformed JSON, empty choices, a 404 echoing the API key), then stops itself. With ``slots=n``
it serves at most n requests at a time, as llama.cpp's server does: the others wait in a queue
(dropped if their client leaves first), and ``report_slots`` answers llama.cpp's ``GET /props``
with ``total_slots``.
"""

from __future__ import annotations

import http.server
import json
import os
import select
import socket
import threading
import time

KEY = "sk-fault-" + "5e1f0a9b3c7d2468" * 2
ENV = {**os.environ, "VP_FAULT_KEY": KEY, "VP_LLAMA_THREADS": "1"}


def ok_body(content="like me", choices=True):
    ch = (
        [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ]
        if choices
        else []
    )
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": ch,
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        }
    ).encode()


class FaultServer:
    """A scripted chat-completions endpoint: ``script(n, handler)`` answers request number ``n``
    (0-based).

    Bounded: it serves at most ``max_requests`` requests and at most ``max_seconds``, then stops
    itself; a hanging or dripping handler ends when the server stops.
    """

    def __init__(self, script, max_requests=20, max_seconds=60.0, slots=None, report_slots=False):
        self.script, self.max_requests, self.max_seconds = script, max_requests, max_seconds
        self.times: list[float] = []
        self.bodies: list[dict] = []
        self.stop = threading.Event()
        self.slots = threading.Semaphore(slots) if slots else None
        self.n_slots, self.report_slots = slots, report_slots
        self.served: list[tuple[float, float]] = []  # (slot taken, answered) per served request
        self.dropped = 0  # queued requests whose client left before a slot was free
        self.props_asked = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    n = len(outer.times)
                    outer.times.append(time.monotonic())
                    outer.bodies.append(json.loads(body or b"{}"))
                if n >= outer.max_requests:
                    outer.stop.set()
                    self.send(
                        500, b'{"error": {"message": "fault server: request budget used up"}}'
                    )
                    return
                if outer.slots is None:
                    outer.script(n, self)
                    return
                while not outer.slots.acquire(timeout=0.05):  # queued for a slot
                    if self.client_left() or outer.stop.is_set():
                        with lock:
                            outer.dropped += 1
                        return
                t0 = time.monotonic()
                try:
                    outer.script(n, self)
                finally:
                    outer.slots.release()
                    with lock:
                        outer.served.append((t0, time.monotonic()))

            def do_GET(self):  # noqa: N802
                if self.path.split("?")[0].rstrip("/").endswith("/props") and outer.report_slots:
                    with lock:
                        outer.props_asked += 1
                    self.send(200, json.dumps({"total_slots": outer.n_slots}).encode())
                else:
                    self.send(404, b'{"error": {"message": "not found"}}')

            def client_left(self) -> bool:
                """Whether the client closed its connection (llama.cpp drops such queued tasks)."""
                try:
                    if not select.select([self.connection], [], [], 0)[0]:
                        return False
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def send(self, status, body, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def echo_key(self, status, headers=()):
                auth = self.headers.get("Authorization", "")
                self.send(
                    status,
                    json.dumps({"error": {"message": f"refused for {auth}", "type": "x"}}).encode(),
                    headers,
                )

            def hang(self):
                outer.stop.wait(outer.max_seconds)

            def drip(self, body, every=0.4):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(len(body)):
                    if outer.stop.wait(every):
                        return
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, *a):
                pass

        lock = threading.Lock()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.srv.timeout = 0.2
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        t_end = time.monotonic() + self.max_seconds
        while not self.stop.is_set() and time.monotonic() < t_end:
            self.srv.handle_request()
        self.stop.set()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        self.srv.server_close()

    @property
    def n(self):
        return len(self.times)
