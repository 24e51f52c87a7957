"""Edge validation of the ``image`` field: base64 / data URL decoding and format sniffing.

The field carries an image or a PDF; :mod:`gateway.pdf` decides which.

Checking magic numbers here lets the gateway reject obvious non-images with a
clear ``invalid_image`` error without a round trip to TorchServe. The handler
still decodes the image for real and has the final word.
"""

from __future__ import annotations

from gateway.errors import InvalidBase64, InvalidImage, MissingImage
from model.inference import contract


def decode_image_field(value: object) -> bytes:
    """Decode the request's ``image`` field (plain base64 or a base64 data URL) to raw bytes, as the
    handler does (``model.inference.contract.decode_image_field``), with the gateway's error types."""
    try:
        return contract.decode_image_field(value)
    except contract.InputError as err:
        raise (MissingImage if err.code == MissingImage.code else InvalidBase64)(err.message) from None


def data_url_media_type(value: object) -> str | None:
    """The lower-cased media type of a data URL (``data:application/pdf;base64,...``), else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:5].lower() != "data:":
        return None
    return text[5:].partition(",")[0].partition(";")[0].strip().lower() or None


# Leading magic numbers; WebP ("RIFF....WEBP") needs two checks and is handled below.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"BM", "bmp"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def sniff_image_format(data: bytes) -> str | None:
    """Return ``"png"``, ``"jpeg"``, ``"bmp"``, ``"webp"``, ``"gif"``, ``"tiff"`` or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for prefix, name in _SIGNATURES:
        if data.startswith(prefix):
            return name
    return None


def require_image(data: bytes) -> str:
    """Return the sniffed format or raise :class:`InvalidImage`."""
    kind = sniff_image_format(data)
    if kind is None:
        raise InvalidImage()
    return kind
