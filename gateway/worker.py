"""Gunicorn's threaded worker, with two changes:

- the errors gunicorn raises itself (a malformed request line, an over-long URI or header, a broken
  chunked body) are answered in the gateway's JSON error shape instead of gunicorn's HTML page, so
  that clients see one error format from every layer;
- slow clients are shed: a thread reads a request at the client's pace, so clients dribbling their
  requests would hold every thread and stop all traffic, health probes included. Each request must
  arrive within ``OCR_CLIENT_GRACE_S`` plus one second per ``OCR_CLIENT_MIN_BYTES_PER_S`` bytes
  received (``gateway.config``); a slower one is answered 408 ``request_timeout`` and its thread is
  freed.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

from gateway.config import load_settings

# Gunicorn's statuses for what it refuses before the app sees a request, as stable codes.
CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error``'s contract, answered as ``{"error", "message"}``. ``mesg`` (which
    may quote the request) stays in gunicorn's log; the client gets the reason."""
    body = json.dumps({"error": CODES.get(status_int, "bad_request"), "message": f"{reason}."}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class ClientTooSlow(NoMoreData, TimeoutError):
    """A request that did not keep pace. Gunicorn drops the connection quietly (``NoMoreData``) while
    it reads the head; the app answers 408 while it reads the body (``TimeoutError``)."""


class PacedSocket:
    """A client socket whose reads must keep pace with a deadline: ``grace_s`` from the start of each
    request plus one second per ``min_rate`` bytes received. Everything else is the socket's."""

    def __init__(self, sock: socket.socket, grace_s: float, min_rate: int) -> None:
        self._sock, self._grace_s, self._min_rate = sock, grace_s, min_rate
        self.new_request()

    def new_request(self) -> None:
        self._started, self._received, self.in_app, self.too_slow = time.monotonic(), 0, False, False

    def recv(self, size: int, *flags: int) -> bytes:
        left = self._started + self._grace_s + self._received / self._min_rate - time.monotonic()
        if left <= 0:
            self.too_slow = True
            raise ClientTooSlow()
        prior = self._sock.gettimeout()  # None (blocking), or a bound gunicorn set itself
        self._sock.settimeout(left if prior is None else min(prior, left))
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            if prior is not None and prior < left:
                raise  # gunicorn's own bound, not ours
            self.too_slow = True
            raise ClientTooSlow() from None
        finally:
            self._sock.settimeout(prior)
        self._received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class JsonErrorWorker(ThreadWorker):
    def init_process(self) -> None:
        # Gunicorn's error path calls ``util.write_error``; in this worker process that is ours.
        util.write_error = write_json_error
        settings = load_settings()
        self.client_pace = settings.client_grace_s, settings.client_min_rate
        super().init_process()

    def handle(self, conn: Any) -> Any:
        """One request on ``conn`` (gunicorn's connection), read at a pace it must keep."""
        if not isinstance(conn.sock, PacedSocket):
            conn.sock = PacedSocket(conn.sock, *self.client_pace)
        conn.sock.new_request()
        outcome = super().handle(conn)
        if conn.sock.too_slow and not conn.sock.in_app:
            # Too slow while gunicorn read the head: nobody has answered yet.
            self.log.info("shed a client too slow to send its request: %s", conn.client)
            write_json_error(conn.sock, 408, "Request Timeout", "")
        return outcome

    def handle_request(self, req: Any, conn: Any) -> Any:
        conn.sock.in_app = True  # the head has arrived; the app answers from here on
        return super().handle_request(req, conn)
