"""Gateway settings, read once from environment variables into a frozen dataclass.

Only :func:`load_settings` knows the variable names and defaults, so the app
factory, the tests and the docs share one table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

_Number = TypeVar("_Number", int, float)


class ConfigError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the gateway needs to know about its upstream and its limits.

    ``max_body_bytes`` bounds the whole JSON request (base64 inflates the image
    by about 4/3), not the decoded image; the handler applies its own pixel limit.

    PDFs: at most ``pdf_max_pages`` pages, each rendered with its long side at
    most ``pdf_max_side`` pixels, and all pages read within ``pdf_timeout_s``
    (a longer PDF is answered 504).
    """

    torchserve_url: str = "http://127.0.0.1:8080"
    management_url: str = "http://127.0.0.1:8081"
    model_name: str = "crnn_ocr"
    max_body_bytes: int = 15 * 1024 * 1024
    upstream_timeout_s: float = 30.0
    ready_timeout_s: float = 2.0
    pdf_max_pages: int = 20
    pdf_max_side: int = 3500
    pdf_timeout_s: float = 50.0
    # The largest request TorchServe accepts: its max_request_size in config.properties.
    upstream_max_bytes: int = 16 * 1024 * 1024
    # TorchServe's key file (key_file.json in its working directory) when its token authorisation is
    # on; empty: send no keys.
    torchserve_key_file: str = ""
    # Address space of the process that renders one PDF: a few KB of nested forms can make PDFium
    # take any amount of memory, and this is where it stops (rendering and encoding an A4 photo page
    # at 200 dpi raised a process's peak by about 50 MB).
    pdf_max_memory_mb: int = 1536
    # A request (line, headers, body) must arrive within this many seconds, plus one second for every
    # ``client_min_rate`` bytes received: a client dribbling its request holds one of the gateway's
    # threads, and enough of them would hold them all. Apache's mod_reqtimeout defaults (20 s, 500
    # B/s): a 15 MiB body over a 1 Mbit/s uplink still arrives.
    client_grace_s: float = 20.0
    client_min_rate: int = 500


def _text(env: Mapping[str, object], key: str, default: str) -> str:
    value = str(env.get(key, default)).strip()
    if not value:
        raise ConfigError(f"{key} must not be empty")
    return value


def _positive(env: Mapping[str, object], key: str, default: _Number, kind: Callable[[str], _Number]) -> _Number:
    raw = env.get(key)
    if raw is None:
        return default
    try:
        value = kind(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{key} must be a {kind.__name__}, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{key} must be positive, got {raw!r}")
    return value


def load_settings(env: Mapping[str, object] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (``os.environ`` when omitted).

    Values may be strings (real environment) or numbers (test configs).
    Raises :class:`ConfigError` on unusable values so a bad deployment fails at
    start-up rather than on the first request.
    """
    if env is None:
        env = os.environ
    defaults = Settings()
    return Settings(
        # Trailing slashes would give "//predictions" paths, which TorchServe rejects.
        torchserve_url=_text(env, "OCR_TORCHSERVE_URL", defaults.torchserve_url).rstrip("/"),
        management_url=_text(env, "OCR_MANAGEMENT_URL", defaults.management_url).rstrip("/"),
        model_name=_text(env, "OCR_MODEL_NAME", defaults.model_name),
        max_body_bytes=_positive(env, "OCR_MAX_BODY_BYTES", defaults.max_body_bytes, int),
        upstream_timeout_s=_positive(env, "OCR_UPSTREAM_TIMEOUT_S", defaults.upstream_timeout_s, float),
        ready_timeout_s=_positive(env, "OCR_READY_TIMEOUT_S", defaults.ready_timeout_s, float),
        pdf_max_pages=_positive(env, "OCR_MAX_PDF_PAGES", defaults.pdf_max_pages, int),
        pdf_max_side=_positive(env, "OCR_PDF_MAX_SIDE", defaults.pdf_max_side, int),
        pdf_timeout_s=_positive(env, "OCR_PDF_TIMEOUT_S", defaults.pdf_timeout_s, float),
        upstream_max_bytes=_positive(env, "OCR_UPSTREAM_MAX_BYTES", defaults.upstream_max_bytes, int),
        pdf_max_memory_mb=_positive(env, "OCR_PDF_MAX_MEMORY_MB", defaults.pdf_max_memory_mb, int),
        client_grace_s=_positive(env, "OCR_CLIENT_GRACE_S", defaults.client_grace_s, float),
        client_min_rate=_positive(env, "OCR_CLIENT_MIN_BYTES_PER_S", defaults.client_min_rate, int),
        torchserve_key_file=str(env.get("OCR_TORCHSERVE_KEY_FILE", defaults.torchserve_key_file)).strip(),
    )
