"""Flask application factory: JSON OCR API, health probes and the static web UI."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, send_from_directory
from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, UnsupportedMediaType

from gateway.config import load_settings
from gateway.errors import (
    ApiError,
    InvalidBody,
    InvalidFilename,
    InvalidJson,
    InvalidMode,
    InvalidPdfSource,
    InvalidPreviews,
    RequestTimeout,
)
from gateway.imagedata import data_url_media_type, decode_image_field, require_image
from gateway.metrics import GatewayMetrics
from gateway.pdf import PDF_SOURCES, is_pdf, read_pdf
from gateway.torchserve import TorchServeClient
from model.inference.contract import MODES

logger = logging.getLogger(__name__)

# The UI is plain static files next to the package; resolved from this file so
# the gateway works from any working directory.
WEBUI_DIR = Path(__file__).resolve().parent.parent / "webui"

# Stable codes for errors Flask/Werkzeug raise themselves (routing, body limit).
_HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

api = Blueprint("api", __name__, url_prefix="/api/v1")
probes = Blueprint("probes", __name__)
ui = Blueprint("ui", __name__)


def _metrics() -> GatewayMetrics:
    metrics: GatewayMetrics = current_app.extensions["metrics"]
    return metrics


def _client() -> TorchServeClient:
    client: TorchServeClient = current_app.extensions["torchserve"]
    return client


@api.post("/ocr")
def ocr() -> Response:
    """Read the text of ``{"image": "<base64 or data URL>", "mode": ..., "filename": ...}``.

    The image may be a PDF: every page is then read and the answers combined.
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the request with Content-Type: application/json.")
    # Parse by hand rather than request.get_json() so "not JSON" and "JSON but
    # not an object" both get our own error code instead of Werkzeug's 400 page.
    # Reading the body here is also where MAX_CONTENT_LENGTH raises 413.
    raw = _read_body()
    try:
        payload = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidJson("The request body is not valid JSON.") from None
    except RecursionError:  # a few KB of nested brackets exhaust the parser's stack
        raise InvalidJson("The request body nests too deeply.") from None
    if not isinstance(payload, dict):
        raise InvalidJson()

    mode = _mode_field(payload.get("mode"))
    filename = _filename_field(payload.get("filename"))
    pdf_source = _pdf_source_field(payload.get("pdf_source"))
    previews = _previews_field(payload.get("previews"))
    data = decode_image_field(payload.get("image"))

    if is_pdf(data, filename, data_url_media_type(payload.get("image"))):
        # Pages are whole pages unless the caller says otherwise.
        settings = current_app.config["OCR_SETTINGS"]
        result = read_pdf(data, mode or "page", _client(), settings, pdf_source, previews)
        for page in result["pages"]:
            _metrics().pdf_pages.labels(page["source"]).inc()
        logger.info(
            "ocr: %d-byte PDF, %d pages -> %d chars, confidence %.3f",
            len(data),
            len(result["pages"]),
            len(result["text"]),
            result["confidence"],
        )
        return jsonify(result)

    kind = require_image(data)
    result = _client().recognise(data, mode or "auto")
    logger.info(
        "ocr: %d-byte %s image -> %d chars, confidence %.3f",
        len(data),
        kind,
        len(result["text"]),
        result["confidence"],
    )
    return jsonify(result)


def _read_body() -> bytes:
    """The whole body, refused (413) past MAX_CONTENT_LENGTH whether it came with a length or chunked
    (Werkzeug cuts a chunked body at the limit, which then read as invalid JSON); a body that cannot
    be read (broken chunks, a connection cut short) is the client's 400, not our 500."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    parts, size = [], 0
    try:
        while size <= limit and (part := request.stream.read(limit + 1 - size)):
            parts.append(part)
            size += len(part)
    except HTTPException as exc:
        # Werkzeug turns a failed read of a sized body into ClientDisconnected, the failure kept as
        # its context: a client too slow to send (gateway/worker.py) is told so.
        if isinstance(exc.__context__, TimeoutError):
            raise RequestTimeout() from None
        raise
    except TimeoutError:  # the same, for a chunked body (read without Werkzeug's wrapper)
        raise RequestTimeout() from None
    except Exception as exc:  # the server's own parser errors (gunicorn's, in production)
        logger.warning("unreadable request body: %s", exc)
        raise InvalidBody() from None
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(parts)


def _mode_field(value: object) -> str | None:
    """The requested reading mode, or None when absent (null counts as absent)."""
    if value is None:
        return None
    if value not in MODES:
        raise InvalidMode(f'The "mode" field must be one of {", ".join(MODES)}; got {json.dumps(value)[:40]}.')
    return str(value)


def _pdf_source_field(value: object) -> str:
    """Where a PDF's text comes from: "auto" (absent or null) or "ocr"."""
    if value is None:
        return "auto"
    if value not in PDF_SOURCES:
        raise InvalidPdfSource(
            f'The "pdf_source" field must be one of {", ".join(PDF_SOURCES)}; got {json.dumps(value)[:40]}.'
        )
    return str(value)


def _previews_field(value: object) -> bool:
    """Whether a PDF's pages come with previews: true, or false (absent or null)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    raise InvalidPreviews()


def _filename_field(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidFilename()


@probes.get("/healthz")
def healthz() -> Response:
    """Liveness: the gateway process answers; deliberately no upstream call."""
    return jsonify(status="ok")


@probes.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of the gateway (TorchServe serves the model's on its own metrics port)."""
    return Response(_metrics().render(), mimetype=CONTENT_TYPE_LATEST)


@probes.get("/readyz")
def readyz() -> Response:
    """Readiness: at least one model worker is READY in TorchServe."""
    if _client().is_ready():
        return jsonify(status="ready")
    return _error_response("model_unavailable", 503, "The OCR model has no ready worker.")


@ui.get("/")
def index() -> Response:
    return send_from_directory(current_app.static_folder or WEBUI_DIR, "index.html")


def _error_response(code: str, status: int, message: str) -> Response:
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def _handle_api_error(exc: ApiError) -> Response:
    response = _error_response(exc.code, exc.status, exc.message)
    response.headers.update(exc.headers)
    return response


def _handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_ERROR_CODES.get(status, exc.name.lower().replace(" ", "_"))
    message = exc.description or exc.name
    if isinstance(exc, RequestEntityTooLarge):
        message = f"The request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    response = _error_response(code, status, message)
    # Keep Werkzeug's extra headers (e.g. Allow on 405); the body type is ours.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _handle_unexpected(exc: Exception) -> Response:
    # The traceback goes to the log only; clients get a stable, bland answer.
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _error_response("internal_error", 500, "Internal server error.")


def _start_timer() -> None:
    g.started = time.perf_counter()
    _metrics().in_flight.inc()
    g.in_flight = True


def _count(response: Response) -> Response:
    # The route's pattern, not the path: unknown paths would make a label value each.
    route = request.url_rule.rule if request.url_rule else "unmatched"
    metrics = _metrics()
    metrics.requests.labels(route, str(response.status_code)).inc()
    metrics.latency.labels(route).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    return response


def _leave(_: BaseException | None) -> None:
    # After the answer whatever happened, so the gauge cannot drift.
    if g.pop("in_flight", False):
        _metrics().in_flight.dec()


# Sent with every answer. The web UI is static files from this origin (no inline script or style);
# its previews and its .txt/.json downloads are data: and blob: URLs it makes itself. Nothing may
# frame it or sniff a type the server did not say.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    # OCR results are the caller's documents: no shared or browser cache keeps them.
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _log_request(response: Response) -> Response:
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    logger.info("%s %s -> %d (%.1f ms)", request.method, request.path, response.status_code, elapsed_ms)
    return response


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the gateway app.

    ``test_config`` overrides environment variables of the same name
    (``OCR_TORCHSERVE_URL``, ``OCR_MAX_BODY_BYTES``, ...) and may also hold
    plain Flask settings such as ``TESTING``.
    """
    overrides = dict(test_config or {})
    settings = load_settings({**os.environ, **overrides})

    # Static UI files are served under /static only, so unknown API paths and
    # methods still get proper 404/405 answers instead of hitting a catch-all.
    app = Flask(__name__, static_folder=str(WEBUI_DIR), static_url_path="/static")
    app.config.from_mapping(OCR_SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.config.update(overrides)
    app.extensions["torchserve"] = TorchServeClient(settings)
    app.extensions["metrics"] = GatewayMetrics()

    app.register_blueprint(api)
    app.register_blueprint(probes)
    app.register_blueprint(ui)

    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    app.before_request(_start_timer)
    app.after_request(_secure)
    app.after_request(_count)
    app.after_request(_log_request)
    app.teardown_request(_leave)
    return app
