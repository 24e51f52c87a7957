"""The one module that talks to TorchServe (inference and management APIs).

Every upstream failure becomes a typed :class:`gateway.errors.ApiError`, so the
Flask layer never sees ``requests`` exceptions or TorchServe's own error JSON.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any
from urllib.parse import quote

import requests

from gateway.config import Settings
from gateway.errors import (
    ApiError,
    ImageTooLarge,
    InvalidImage,
    InvalidMode,
    ModelUnavailable,
    PageTimeout,
    PayloadTooLarge,
    TooManyLines,
    UpstreamError,
    UpstreamTimeout,
)
from gateway.tokens import TorchServeKeys, refused
from model.inference.contract import is_result

logger = logging.getLogger(__name__)
# Connections kept open to TorchServe per gateway process: more than its threads (gunicorn.conf.py).
POOL_SIZE = 32
# TorchServe's message for requests lost with their worker.
WORKER_DIED = "Worker died."

# Error codes the handler itself may answer with; anything else from upstream
# is TorchServe's own error JSON and is mapped by status instead.
_HANDLER_ERRORS: dict[str, type[ApiError]] = {
    "invalid_image": InvalidImage,
    "image_too_large": ImageTooLarge,
    "invalid_mode": InvalidMode,
    "too_many_lines": TooManyLines,
    "page_timeout": PageTimeout,
}


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _snippet(response: requests.Response) -> str:
    """A short piece of an upstream body for logs (never for clients)."""
    return response.text[:300].replace("\n", " ")


class TorchServeClient:
    """Client for one model on one TorchServe instance.

    A single ``requests.Session`` keeps connections to TorchServe alive between
    requests. Creating it opens no connection, so building the client in the app
    factory is cheap; call :meth:`close` when done (tests do, to avoid leaking
    sockets).
    """

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        model = quote(settings.model_name, safe="")
        self.predict_url = f"{settings.torchserve_url}/predictions/{model}"
        self.model_url = f"{settings.management_url}/models/{model}"
        self.timeout_s = settings.upstream_timeout_s
        self.ready_timeout_s = settings.ready_timeout_s
        self.session = session or _pooled_session()
        self.keys = TorchServeKeys(
            settings.torchserve_key_file, settings.management_url, self.session, self.ready_timeout_s
        )

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, url: str, kind: str, **options: Any) -> requests.Response:
        """One request with TorchServe's ``kind`` key; sent once more with a renewed key if refused."""
        response = self.session.request(method, url, headers=self.keys.headers(kind), **options)
        if refused(response) and self.keys.renew(kind):
            response = self.session.request(method, url, headers=self.keys.headers(kind), **options)
        return response

    def recognise(self, image_bytes: bytes, mode: str = "auto", timeout_s: float | None = None) -> dict[str, Any]:
        """Send one image and its reading mode to the model; return the handler's JSON object.

        The body is the handler's JSON form ``{"image": <base64>, "mode": ...}``
        (raw bytes could not carry the mode). The result has at least ``text``
        (str) and ``confidence`` (number), and ``lines`` is a list of objects when
        present; the other documented fields are passed on untouched.
        ``timeout_s`` shortens the configured timeout (a PDF's remaining time).
        Raises an :class:`ApiError` subclass on any failure.
        """
        timeout = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        payload = {"image": base64.b64encode(image_bytes).decode("ascii"), "mode": mode}
        started = time.monotonic()
        try:
            try:
                response = self._send("POST", self.predict_url, "inference", json=payload, timeout=timeout)
            except requests.ConnectionError as exc:
                if isinstance(exc, requests.ConnectTimeout):
                    raise
                # Sent once more, on a new connection: a kept-alive connection that TorchServe closed
                # (a restart, an idle timeout) fails the first request put on it. Reading is free of
                # side effects, so a second try is safe; a second failure means TorchServe is down.
                logger.info("TorchServe connection failed (%s); trying once more", exc)
                left = max(0.1, timeout - (time.monotonic() - started))
                response = self._send("POST", self.predict_url, "inference", json=payload, timeout=left)
        # Timeout first: ConnectTimeout is also a ConnectionError, and a model
        # that is slow to answer is a different problem from one that is down.
        except requests.Timeout as exc:
            logger.warning("TorchServe timed out after %.1f s: %s", timeout, exc)
            raise UpstreamTimeout() from exc
        except requests.ConnectionError as exc:
            logger.warning("TorchServe unreachable at %s: %s", self.predict_url, exc)
            raise ModelUnavailable() from exc
        except requests.RequestException as exc:
            logger.error("TorchServe request failed: %s", exc)
            raise UpstreamError() from exc

        body = _json_or_none(response)
        if response.status_code == 200:
            if is_result(body):
                return body
            logger.error("TorchServe answered 200 without the documented result shape: %s", _snippet(response))
            raise UpstreamError()

        # The handler's own rejections carry a stable code and a user-facing message.
        if isinstance(body, dict) and body.get("error") in _HANDLER_ERRORS:
            message = body.get("message")
            raise _HANDLER_ERRORS[body["error"]](message if isinstance(message, str) and message else None)

        status = response.status_code
        logger.warning("TorchServe answered %d: %s", status, _snippet(response))
        if status in (404, 503):
            # 404: model not registered; 503: no worker ready.
            raise ModelUnavailable()
        if status == 507 or (isinstance(body, dict) and body.get("message") == WORKER_DIED):
            # The request was lost with its worker, which TorchServe restarts; the same request may
            # well succeed (the gateway does not resend it: one that killed its worker could kill the
            # next). TorchServe says so with 507, or with 500 for the requests of a batch it was
            # still handing to the worker.
            raise ModelUnavailable("The OCR worker stopped while reading this image; send it again.")
        if status == 413:
            raise PayloadTooLarge("The image is larger than the OCR service accepts.")
        if status in (408, 504):
            raise UpstreamTimeout()
        raise UpstreamError()

    def is_ready(self) -> bool:
        """True when the model has at least one worker with status READY.

        Any failure (unreachable, unknown model, odd JSON) means "not ready":
        readiness probes want a yes/no answer, and the reason is logged.
        """
        try:
            response = self._send("GET", self.model_url, "management", timeout=self.ready_timeout_s)
        except requests.RequestException as exc:
            logger.info("Management API unreachable at %s: %s", self.model_url, exc)
            return False
        if response.status_code != 200:
            logger.info("Management API answered %d: %s", response.status_code, _snippet(response))
            return False
        body = _json_or_none(response)
        if not isinstance(body, list):
            logger.warning("Management API answered unexpected JSON: %s", _snippet(response))
            return False
        return any(
            isinstance(worker, dict) and worker.get("status") == "READY"
            for model in body
            if isinstance(model, dict)
            for worker in model.get("workers") or []
        )


def _pooled_session() -> requests.Session:
    """A session keeping up to ``POOL_SIZE`` connections to TorchServe open: every gateway thread can
    hold one (requests' default keeps ten and opens, then drops, a new one for each thread past that)."""
    session = requests.Session()
    # TorchServe is ours and near: no proxy from the environment applies, nor a .netrc. Looking for
    # them walked the whole environment and the file system on every request (a fifth of the
    # gateway's CPU per line).
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
