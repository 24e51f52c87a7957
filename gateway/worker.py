"""Gunicorn's threaded worker, answering the errors gunicorn raises itself (a malformed request line,
an over-long URI or header, a broken chunked body) in the gateway's JSON error shape instead of
gunicorn's HTML page, so that clients see one error format from every layer."""

from __future__ import annotations

import json
import socket

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

# Gunicorn's statuses for what it refuses before the app sees a request, as stable codes.
CODES = {
    400: "bad_request",
    403: "forbidden",
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


class JsonErrorWorker(ThreadWorker):
    def init_process(self) -> None:
        # Gunicorn's error path calls ``util.write_error``; in this worker process that is ours.
        util.write_error = write_json_error
        super().init_process()
