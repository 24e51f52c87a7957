"""Test doubles and helpers shared by the gateway tests.

Upstream behaviour comes from real sockets: a closed local port for "TorchServe
is down", and a tiny threaded HTTP server that answers like TorchServe (or
sleeps past the timeout) for pass-through and timeout cases.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image


def image_bytes(fmt: str = "PNG") -> bytes:
    """A small white image with a black bar, encoded in ``fmt``."""
    image = Image.new("RGB", (48, 16), "white")
    image.paste((0, 0, 0), (4, 6, 44, 10))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def free_port() -> int:
    """A local port nobody listens on (bound briefly by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Canned:
    status: int
    # bytes are sent as-is, a callable gets the request body and returns the
    # answer (per-request answers, e.g. one per PDF page), anything else is JSON.
    body: Any
    delay_s: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    content_type: str | None
    body: bytes

    def forwarded(self) -> tuple[bytes, str]:
        """The image bytes and mode of a prediction request the gateway sent (JSON, as the handler reads it)."""
        assert self.content_type == "application/json"
        sent = json.loads(self.body)
        assert set(sent) == {"image", "mode"}
        return base64.b64decode(sent["image"], validate=True), sent["mode"]


@dataclass
class FakeTorchServe:
    """A real HTTP server on a free local port that answers like TorchServe would.

    Unknown paths get TorchServe's own 404 JSON. ``delay_s`` waits on an event
    that teardown sets, so a "slow" answer never outlives its test.
    """

    routes: dict[tuple[str, str], Canned] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, method: str, path: str, status: int, body: Any, delay_s: float = 0.0) -> None:
        self.routes[(method, path)] = Canned(status, body, delay_s)

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def _reply(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.received.append(Received(method, self.path, self.headers.get("Content-Type"), body))
                canned = fake.routes.get(
                    (method, self.path),
                    Canned(404, {"code": 404, "type": "ModelNotFoundException", "message": "Model not found"}),
                )
                if canned.delay_s:
                    fake.release.wait(canned.delay_s)
                answer = canned.body(body) if callable(canned.body) else canned.body
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                try:
                    self.send_response(canned.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the gateway gave up waiting (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Non-daemon handler threads are joined by server_close(): no thread outlives the test.
        self.server.daemon_threads = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body
