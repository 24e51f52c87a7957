"""Typed API errors: each class carries its stable ``error`` code and HTTP status.

Every error the gateway answers has the JSON shape
``{"error": "<code>", "message": "<human readable>"}``. Validation code and the
TorchServe client raise these; one error handler in :mod:`gateway.app` turns
them into responses, so the code/status table lives here and nowhere else.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base class; subclasses set ``code``, ``status``, a default message and any headers the
    answer carries."""

    code = "internal_error"
    status = 500
    default_message = "Internal server error."
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


# --- request validation (raised by the gateway itself) ---------------------


class InvalidJson(ApiError):
    code, status = "invalid_json", 400
    default_message = "The request body must be a JSON object."


class InvalidBody(ApiError):
    code, status = "invalid_body", 400
    default_message = "The request body could not be read (broken chunked encoding, or a connection cut short)."


class RequestTimeout(ApiError):
    code, status = "request_timeout", 408
    default_message = "The request arrived too slowly; send it again over a faster connection."


class MissingImage(ApiError):
    code, status = "missing_image", 400
    default_message = 'The JSON body must have a non-empty string field "image".'


class InvalidBase64(ApiError):
    code, status = "invalid_base64", 400
    default_message = 'The "image" field is not valid base64 (or a base64 data URL).'


class InvalidImage(ApiError):
    """Raised by the gateway's magic-number sniffing or passed on from the handler."""

    code, status = "invalid_image", 400
    default_message = "The data is not an image that can be read (PNG, JPEG, BMP, WebP, GIF or TIFF)."


class ImageTooLarge(ApiError):
    """The handler's pixel limit; always 400 here, whatever status the handler used."""

    code, status = "image_too_large", 400
    default_message = "The image has too many pixels."


class InvalidMode(ApiError):
    """Raised by the gateway's own check or passed on from the handler."""

    code, status = "invalid_mode", 400
    default_message = 'The "mode" field must be "auto", "line" or "page".'


class InvalidPdfSource(ApiError):
    code, status = "invalid_pdf_source", 400
    default_message = 'The optional "pdf_source" field must be "auto" or "ocr".'


class InvalidPreviews(ApiError):
    code, status = "invalid_previews", 400
    default_message = 'The optional "previews" field must be true or false.'


class InvalidFilename(ApiError):
    code, status = "invalid_filename", 400
    default_message = 'The optional "filename" field must be a string.'


class InvalidPdf(ApiError):
    code, status = "invalid_pdf", 400
    default_message = "The data is not a PDF that can be read."


class TooManyPages(ApiError):
    code, status = "too_many_pages", 400
    default_message = "The PDF has more pages than one request may have."


class TooManyLines(ApiError):
    """Passed on from the handler: an image with more text lines than one request may read."""

    code, status = "too_many_lines", 400
    default_message = "The image has more text lines than one request may read; send it in parts."


class PageTimeout(ApiError):
    """Passed on from the handler: a page not read within its share of the batch's time."""

    code, status = "page_timeout", 504
    default_message = "The page could not be read in the time one request may take."


class PayloadTooLarge(ApiError):
    code, status = "payload_too_large", 413
    default_message = "The request body is too large."


# --- upstream (raised by gateway.torchserve) --------------------------------


class ModelUnavailable(ApiError):
    """Retryable: TorchServe restarts a dead worker in a second or two, and comes back up on its own."""

    code, status = "model_unavailable", 503
    default_message = "The OCR model is not available right now; try again shortly."
    headers = {"Retry-After": "2"}


class UpstreamTimeout(ApiError):
    code, status = "upstream_timeout", 504
    default_message = "The OCR model did not answer in time."


class UpstreamError(ApiError):
    code, status = "upstream_error", 502
    default_message = "The OCR model returned an unexpected answer."
