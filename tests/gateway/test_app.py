"""Contract tests for the gateway (images; PDFs are in test_pdf.py): every error path is caused for real.

Upstream behaviour comes from real sockets (see tests/gateway/fakes.py). The
real TorchServe is covered by the integration tests.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.config import ConfigError, Settings, load_settings
from tests.gateway.fakes import FakeTorchServe, assert_error, b64, image_bytes

OCR = "/api/v1/ocr"

RESULT = {
    "text": "Hello 2024",
    "confidence": 0.91,
    "char_probs": [0.9, 0.95, 0.88, 0.97, 0.93, 0.9, 0.92, 0.89, 0.94, 0.9],
    "timings": {"preprocess_ms": 1.5, "inference_ms": 12.25, "postprocess_ms": 0.5},
    "model": {"name": "crnn_ocr", "charset": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ "},
}


# --- probes and static UI ---------------------------------------------------


def test_healthz_answers_without_upstream(dead_client: FlaskClient) -> None:
    response = dead_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_index_and_static_files_are_served(dead_client: FlaskClient) -> None:
    index = dead_client.get("/")
    assert index.status_code == 200
    assert index.mimetype == "text/html"
    html = index.get_data(as_text=True)
    for element_id in (
        "file-input",
        "drop-zone",
        "preview",
        "result-text",
        "result-confidence",
        "error",
        "copy-button",
        "history",
    ):
        assert f'id="{element_id}"' in html
    for path, mimetypes in (
        ("/static/app.js", ("text/javascript", "application/javascript")),
        ("/static/style.css", ("text/css",)),
    ):
        response = dead_client.get(path)
        assert response.status_code == 200
        assert response.mimetype in mimetypes
        response.close()
    index.close()


def test_readyz_ready_when_a_worker_is_ready(client: FlaskClient, upstream: FakeTorchServe) -> None:
    workers = [{"id": "9000", "status": "UNLOADING"}, {"id": "9001", "status": "READY"}]
    upstream.answer("GET", "/models/crnn_ocr", 200, [{"modelName": "crnn_ocr", "workers": workers}])
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


@pytest.mark.parametrize(
    "status, body",
    [
        (200, [{"modelName": "crnn_ocr", "workers": []}]),
        (200, [{"modelName": "crnn_ocr", "workers": [{"status": "UNLOADING"}]}]),
        (200, {"unexpected": "shape"}),
        (404, {"code": 404, "type": "ModelNotFoundException", "message": "Model not found: crnn_ocr"}),
        (500, b"not json"),
    ],
)
def test_readyz_not_ready(client: FlaskClient, upstream: FakeTorchServe, status: int, body: Any) -> None:
    upstream.answer("GET", "/models/crnn_ocr", status, body)
    assert_error(client.get("/readyz"), 503, "model_unavailable")


def test_readyz_unreachable_management_api(dead_client: FlaskClient) -> None:
    assert_error(dead_client.get("/readyz"), 503, "model_unavailable")


# --- routing errors ---------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/nope"), ("POST", "/api/v1/nope"), ("GET", "/static/missing.js")])
def test_unknown_path_is_json_404(dead_client: FlaskClient, method: str, path: str) -> None:
    assert_error(dead_client.open(path, method=method), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_json_405(dead_client: FlaskClient, method: str) -> None:
    response = dead_client.open(OCR, method=method)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


# --- request validation -----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": json.dumps({"image": "x"})},  # no Content-Type at all
        {"data": json.dumps({"image": "x"}), "content_type": "text/plain"},
        {"data": {"image": "x"}},  # form-encoded
    ],
)
def test_non_json_content_type_is_415(dead_client: FlaskClient, kwargs: dict[str, Any]) -> None:
    assert_error(dead_client.post(OCR, **kwargs), 415, "unsupported_media_type")


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe\x00", b"", b"[1, 2]", b'"image"', b"null", b"42"])
def test_malformed_json_or_not_an_object_is_invalid_json(dead_client: FlaskClient, body: bytes) -> None:
    assert_error(dead_client.post(OCR, data=body, content_type="application/json"), 400, "invalid_json")


@pytest.mark.parametrize("size, status, code", [(900, 400, "invalid_base64"), (5000, 413, "payload_too_large")])
def test_a_chunked_body_has_the_same_limit(make_app: Callable[..., Flask], size: int, status: int, code: str) -> None:
    """A body sent in chunks (no Content-Length) is refused past the limit like any other; it used to
    be cut at the limit and then read as invalid JSON."""
    client = make_app(OCR_MAX_BODY_BYTES=1000).test_client()
    body = json.dumps({"image": "!" * (size - 20)}).encode()
    response = client.post(
        OCR,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn says of a chunked body
    )
    assert_error(response, status, code)


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deeply_nested_json_is_invalid_json(dead_client: FlaskClient, opening: bytes) -> None:
    """A few KB of nested brackets exhaust the JSON parser's stack: a 400, not a 500 with a traceback."""
    body = opening * 100_000
    response = dead_client.post(OCR, data=body, content_type="application/json")
    assert_error(response, 400, "invalid_json")
    assert "nests too deeply" in response.get_json()["message"]


@pytest.mark.parametrize("path", ["/", "/healthz", OCR])
def test_security_headers_on_every_answer(dead_client: FlaskClient, path: str) -> None:
    response = dead_client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # Results are never cached; the UI's files may be.
    assert (response.headers.get("Cache-Control") == "no-store") == path.startswith("/api/")
    response.close()  # the UI's page is streamed from its file


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"picture": "aGk="},
        {"image": None},
        {"image": ""},
        {"image": "  \n "},
        {"image": 123},
        {"image": ["aGk="]},
        {"image": "data:image/png;base64,"},
    ],
)
def test_missing_or_empty_image_field(dead_client: FlaskClient, payload: dict[str, Any]) -> None:
    assert_error(dead_client.post(OCR, json=payload), 400, "missing_image")


@pytest.mark.parametrize(
    "value",
    [
        "abc",  # bad length / padding
        "!!!!",
        "aGVsbG8=aGVsbG8=",  # data after padding
        "aGVs*bG8=",
        "aGVsbG8_LQ==",  # URL-safe alphabet is not accepted
        "Zm9vYmFy\u00e9",  # non-ASCII
        "data:image/png,aGVsbG8=",  # data URL that is not base64
        "data:image/png;base64",  # no comma, no data
    ],
)
def test_invalid_base64(dead_client: FlaskClient, value: str) -> None:
    assert_error(dead_client.post(OCR, json={"image": value}), 400, "invalid_base64")


def test_non_image_bytes_rejected_before_upstream(client: FlaskClient, upstream: FakeTorchServe) -> None:
    body = assert_error(client.post(OCR, json={"image": b64(b"just some text, not a picture")}), 400, "invalid_image")
    assert "PNG" in body["message"]
    assert upstream.received == []


def test_body_over_configured_limit_is_413(make_app: Callable[..., Flask], dead_url: str) -> None:
    body = json.dumps({"image": b64(image_bytes())}).encode()
    small = make_app(OCR_TORCHSERVE_URL=dead_url, OCR_MAX_BODY_BYTES=len(body) - 1).test_client()
    assert_error(small.post(OCR, data=body, content_type="application/json"), 413, "payload_too_large")
    # At exactly the limit the request gets past the gateway (and finds TorchServe down).
    exact = make_app(OCR_TORCHSERVE_URL=dead_url, OCR_MAX_BODY_BYTES=len(body)).test_client()
    assert_error(exact.post(OCR, data=body, content_type="application/json"), 503, "model_unavailable")


# --- upstream behaviour -----------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"])
def test_success_passes_result_through_and_forwards_image_as_json(
    client: FlaskClient, upstream: FakeTorchServe, fmt: str
) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 200, RESULT)
    raw = image_bytes(fmt)
    response = client.post(OCR, json={"image": b64(raw)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == RESULT
    [sent] = upstream.received
    assert (sent.method, sent.path) == ("POST", "/predictions/crnn_ocr")
    assert sent.forwarded() == (raw, "auto")


def test_page_result_with_lines_passes_through(client: FlaskClient, upstream: FakeTorchServe) -> None:
    line = {
        "text": "Hello",
        "confidence": 0.9,
        "box": [[1, 2], [30, 2], [30, 12], [1, 12]],
        "angle": 0.0,
        "vertical": False,
    }
    page = {**RESULT, "text": "Hello", "lines": [line], "mode": "page", "rotation": 0, "width": 48, "height": 16}
    upstream.answer("POST", "/predictions/crnn_ocr", 200, page)
    response = client.post(OCR, json={"image": b64(image_bytes()), "mode": "page"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == page


@pytest.mark.parametrize(
    "payload, mode",
    [
        ({}, "auto"),
        ({"mode": None}, "auto"),
        ({"mode": "auto"}, "auto"),
        ({"mode": "line"}, "line"),
        ({"mode": "page"}, "page"),
    ],
)
def test_mode_is_forwarded(client: FlaskClient, upstream: FakeTorchServe, payload: dict[str, Any], mode: str) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 200, RESULT)
    # A file name that is not a PDF's changes nothing for an image.
    response = client.post(OCR, json={"image": b64(image_bytes()), "filename": "line.png", **payload})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert upstream.received[0].forwarded()[1] == mode


@pytest.mark.parametrize("mode", ["Page", "lines", "", " auto", 1, True, ["page"], {"mode": "page"}])
def test_invalid_mode_rejected_before_upstream(client: FlaskClient, upstream: FakeTorchServe, mode: Any) -> None:
    body = assert_error(client.post(OCR, json={"image": b64(image_bytes()), "mode": mode}), 400, "invalid_mode")
    assert "auto, line, page" in body["message"]
    assert upstream.received == []


@pytest.mark.parametrize("filename", [1, True, ["a.pdf"], {"name": "a.pdf"}])
def test_filename_must_be_a_string(client: FlaskClient, upstream: FakeTorchServe, filename: Any) -> None:
    assert_error(client.post(OCR, json={"image": b64(image_bytes()), "filename": filename}), 400, "invalid_filename")
    assert upstream.received == []


@pytest.mark.parametrize(
    "encode",
    [
        lambda raw: "data:image/png;base64," + b64(raw),
        lambda raw: "DATA:image/png;BASE64," + b64(raw),
        lambda raw: base64.encodebytes(raw).decode("ascii"),  # wrapped every 76 chars
        lambda raw: "  \r\n" + " ".join(b64(raw)[i : i + 10] for i in range(0, len(b64(raw)), 10)) + "\n",
    ],
    ids=["data-url", "data-url-upper", "line-wrapped", "spaced"],
)
def test_data_urls_and_whitespace_are_accepted(
    client: FlaskClient, upstream: FakeTorchServe, encode: Callable[[bytes], str]
) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 200, RESULT)
    raw = image_bytes()
    response = client.post(OCR, json={"image": encode(raw)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert upstream.received[0].forwarded() == (raw, "auto")


def test_model_name_setting_picks_the_upstream_path(make_app: Callable[..., Flask], upstream: FakeTorchServe) -> None:
    upstream.answer("POST", "/predictions/other_ocr", 200, RESULT)
    client = make_app(OCR_TORCHSERVE_URL=upstream.url + "/", OCR_MODEL_NAME="other_ocr").test_client()
    assert client.post(OCR, json={"image": b64(image_bytes())}).status_code == 200
    assert upstream.received[0].path == "/predictions/other_ocr"


@pytest.mark.parametrize(
    "status, code",
    [
        (400, "invalid_image"),
        (400, "image_too_large"),
        (413, "image_too_large"),
        (400, "invalid_mode"),
        (400, "too_many_lines"),
    ],
)
def test_handler_rejections_pass_through_as_400(
    client: FlaskClient, upstream: FakeTorchServe, status: int, code: str
) -> None:
    message = f"handler says {code}"
    upstream.answer("POST", "/predictions/crnn_ocr", status, {"error": code, "message": message})
    body = assert_error(client.post(OCR, json={"image": b64(image_bytes())}), 400, code)
    assert body["message"] == message


def test_a_page_past_its_deadline_is_504_page_timeout(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 504, {"error": "page_timeout", "message": "too slow"})
    assert_error(client.post(OCR, json={"image": b64(image_bytes())}), 504, "page_timeout")


@pytest.mark.parametrize(
    "status, body, expected_status, expected_code",
    [
        (404, {"code": 404, "type": "ModelNotFoundException", "message": "Model not found"}, 503, "model_unavailable"),
        (503, {"code": 503, "type": "ServiceUnavailableException", "message": "No worker"}, 503, "model_unavailable"),
        (413, {"code": 413, "type": "RequestEntityTooLarge", "message": "too big"}, 413, "payload_too_large"),
        (500, {"code": 500, "type": "InternalServerException", "message": "boom"}, 502, "upstream_error"),
        (507, {"code": 507, "type": "InternalServerException", "message": "Worker died."}, 503, "model_unavailable"),
        # What TorchServe answers the rest of a batch lost with its worker (seen under load).
        (500, {"code": 500, "type": "InternalServerException", "message": "Worker died."}, 503, "model_unavailable"),
        (400, {"code": 400, "type": "BadRequestException", "message": "?"}, 502, "upstream_error"),
        (200, b"<html>not json</html>", 502, "upstream_error"),
        (200, {"confidence": 0.5}, 502, "upstream_error"),
        (200, [RESULT], 502, "upstream_error"),
        (200, {**RESULT, "confidence": True}, 502, "upstream_error"),
        (200, {**RESULT, "lines": {}}, 502, "upstream_error"),
        (200, {**RESULT, "lines": ["Hello 2024"]}, 502, "upstream_error"),
    ],
)
def test_torchserve_answers_map_to_stable_errors(
    client: FlaskClient,
    upstream: FakeTorchServe,
    status: int,
    body: Any,
    expected_status: int,
    expected_code: str,
) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", status, body)
    response = client.post(OCR, json={"image": b64(image_bytes())})
    answer = assert_error(response, expected_status, expected_code)
    # TorchServe's internal messages stay in the gateway log.
    assert "boom" not in answer["message"]
    # Only an unavailable model is worth retrying, and the answer says when.
    assert ("Retry-After" in response.headers) == (expected_status == 503)


def test_unreachable_torchserve_is_503(dead_client: FlaskClient) -> None:
    assert_error(dead_client.post(OCR, json={"image": b64(image_bytes())}), 503, "model_unavailable")


def test_slow_torchserve_is_504(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 200, RESULT, delay_s=10)
    started = time.monotonic()
    assert_error(client.post(OCR, json={"image": b64(image_bytes())}), 504, "upstream_timeout")
    assert time.monotonic() - started < 5  # the 0.3 s timeout fired, not the fake's 10 s sleep


# --- unexpected failures and logging ----------------------------------------


def test_unexpected_exception_is_500_without_details(
    make_app: Callable[..., Flask], dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(OCR_TORCHSERVE_URL=dead_url)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="gateway"):
        response = app.test_client().get("/boom")
    body = assert_error(response, 500, "internal_error")
    assert "secret" not in json.dumps(body) and "Traceback" not in response.get_data(as_text=True)
    assert any(record.exc_info and "secret internal detail" in str(record.exc_info[1]) for record in caplog.records)


def test_each_request_is_logged(dead_client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        dead_client.post(OCR, json={})
    assert any("POST /api/v1/ocr -> 400" in record.getMessage() for record in caplog.records)


# --- settings ---------------------------------------------------------------


def test_settings_defaults() -> None:
    assert load_settings({}) == Settings(
        torchserve_url="http://127.0.0.1:8080",
        management_url="http://127.0.0.1:8081",
        model_name="crnn_ocr",
        max_body_bytes=15 * 1024 * 1024,
        upstream_timeout_s=30.0,
        ready_timeout_s=2.0,
        pdf_max_pages=20,
        pdf_max_side=3500,
        pdf_timeout_s=50.0,
    )


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_TORCHSERVE_URL", "http://ts:9080/")
    monkeypatch.setenv("OCR_MANAGEMENT_URL", "http://ts:9081")
    monkeypatch.setenv("OCR_MODEL_NAME", "crnn_v2")
    monkeypatch.setenv("OCR_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("OCR_UPSTREAM_TIMEOUT_S", "2.5")
    monkeypatch.setenv("OCR_READY_TIMEOUT_S", "0.5")
    monkeypatch.setenv("OCR_MAX_PDF_PAGES", "5")
    monkeypatch.setenv("OCR_PDF_MAX_SIDE", "2000")
    monkeypatch.setenv("OCR_PDF_TIMEOUT_S", "20")
    settings = load_settings()
    assert settings == Settings("http://ts:9080", "http://ts:9081", "crnn_v2", 1000, 2.5, 0.5, 5, 2000, 20.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model_name = "x"  # type: ignore[misc]


def test_test_config_overrides_environment(monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., Flask]) -> None:
    monkeypatch.setenv("OCR_MAX_BODY_BYTES", "1000")
    app = make_app(OCR_MAX_BODY_BYTES=2000)
    assert app.config["OCR_SETTINGS"].max_body_bytes == 2000
    assert app.config["MAX_CONTENT_LENGTH"] == 2000


@pytest.mark.parametrize(
    "env",
    [
        {"OCR_MAX_BODY_BYTES": "lots"},
        {"OCR_MAX_BODY_BYTES": "0"},
        {"OCR_MAX_BODY_BYTES": "1.5"},
        {"OCR_UPSTREAM_TIMEOUT_S": "-1"},
        {"OCR_READY_TIMEOUT_S": "soon"},
        {"OCR_TORCHSERVE_URL": "  "},
        {"OCR_MAX_PDF_PAGES": "0"},
        {"OCR_PDF_MAX_SIDE": "big"},
        {"OCR_PDF_TIMEOUT_S": "-5"},
    ],
)
def test_bad_settings_fail_at_start_up(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        load_settings(env)


class DropsFirstConnections:
    """A real local server that closes its first ``drops`` connections without a word (as a
    restarted TorchServe drops a kept-alive connection), then answers every request with ``answer``."""

    def __init__(self, drops: int, answer: dict[str, Any]) -> None:
        self.drops, self.connections = drops, 0
        body = json.dumps(answer).encode()
        self.reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        self.reply += f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.recv(1 << 20)
                if self.connections > self.drops:
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("drops, status", [(1, 200), (2, 503)])
def test_a_dropped_connection_is_tried_once_more(make_app: Callable[..., Flask], drops: int, status: int) -> None:
    server = DropsFirstConnections(drops, RESULT)
    try:
        client = make_app(OCR_TORCHSERVE_URL=server.url).test_client()
        response = client.post(OCR, json={"image": b64(image_bytes())})
        assert response.status_code == status, response.get_data(as_text=True)
        assert server.connections == 2  # one retry, never more
    finally:
        server.close()


def test_metrics_count_requests_by_route_and_status(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", "/predictions/crnn_ocr", 200, RESULT)
    assert client.post(OCR, json={"image": b64(image_bytes())}).status_code == 200
    assert client.post(OCR, json={"image": "%%%"}).status_code == 400
    client.get("/no/such/page").close()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ocr_gateway_requests_total{route="/api/v1/ocr",status="200"} 1.0' in text
    assert 'ocr_gateway_requests_total{route="/api/v1/ocr",status="400"} 1.0' in text
    assert 'ocr_gateway_requests_total{route="unmatched",status="404"} 1.0' in text
    assert 'ocr_gateway_request_seconds_count{route="/api/v1/ocr"} 2.0' in text
    # The scrape itself is in flight while it is answered; nothing else is.
    assert "ocr_gateway_in_flight 1.0" in text
